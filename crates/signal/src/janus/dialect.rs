//! The Janus dialect as a state machine: no I/O, no clock of its own. The call driver feeds it
//! what arrives (Janus API frames, TextRoom data channel frames, our connections' descriptions
//! and candidates, the room's requests) and carries out what it asks for ([`JanusOutput`]).
//!
//! One Janus session holds three handles:
//!
//! - **publisher** (VideoRoom): joins the room with our feed id and display name, publishes
//!   our offer and takes Janus' answer ([`PeerSlot::Publisher`]);
//! - **subscriber** (VideoRoom, multistream): attached once someone publishes; one
//!   connection receives every publisher ([`PeerSlot::Subscriber`]). Janus offers, we answer
//!   with `start`; newcomers are added with `update`, one negotiation at a time, and Janus
//!   itself retires the streams of publishers that leave (the first newcomer after a departure
//!   gets a fresh subscriber handle and connection instead: see `subscription_stale`);
//! - **chat** (TextRoom, [`PeerSlot::Chat`]): Janus offers a data channel; over it we join the
//!   room with our feed id as user name, so VideoRoom publishers and TextRoom users that are
//!   the same person are one participant. Public messages go to the room, private ones are
//!   whispers to exactly one user name; Janus' `sent` reply is the delivery receipt.
//!
//! The room learns it has joined once both the VideoRoom and the TextRoom have let us in. A
//! Janus participant's identity is `janus-` and its user name: Confab clients choose their feed
//! id from their own identity ([`feed_for`]), so they keep their private conversations when
//! they come back. Keepalives go out every [`KEEPALIVE_EVERY`], well within Janus' 60 s session
//! timeout.

use super::wire::{
    core_error, feed_of, textroom_error, videoroom_error, ApiMessage, Feed, TextRoomMessage, VideoRoomData,
};
use crate::adapter::AdapterError;
use crate::stable_hash::fnv1a;
use confab_core::chat::{ChatMessage, ConversationId, PrivateMembers};
use confab_core::link::JanusLink;
use confab_core::{
    IceCandidate, IdentityId, LeaveReason, MediaKind, MessageId, ParticipantId, ParticipantInfo, PeerSlot,
    SdpKind, SessionDescription, SignalErrorCode, SignalIn, TrackInfo,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How often the session is kept alive (Janus drops sessions silent for 60 s).
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(25);

/// What the dialect asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum JanusOutput {
    /// Send a frame on the Janus API connection.
    Server(String),
    /// Send a frame on the TextRoom data channel.
    Channel(String),
    /// Tell the room (participants, chat, receipts, errors).
    Signal(SignalIn),
    /// Apply Janus' description to one of our connections (answer an offer).
    Description(PeerSlot, SessionDescription),
    /// Add Janus' candidate to one of our connections.
    Candidate(PeerSlot, IceCandidate),
    /// Janus closed one of our media connections, which is to be made again: a subscription or
    /// chat connection by the dialect (after a `Close`, a new offer follows), a publication by
    /// the caller. (A subscription to nobody is only closed: no `HungUp`.)
    HungUp(PeerSlot, String),
    /// Janus is missing many of the packets we publish (its `slowlink`): send less.
    SendingCongested,
    /// Close one of our media connections: its handle is gone, and a new one will offer anew.
    Close(PeerSlot),
    /// The Janus session is gone (timed out or unknown to the server); the call cannot go on
    /// in it.
    SessionLost(String),
}

/// Our feed id in every Janus room, from our identity: the same identity always gets the same
/// feed (and so the same TextRoom user name and Janus identity), below 2^53 so JavaScript clients
/// read it exactly.
pub fn feed_for(identity: &IdentityId) -> u64 {
    (fnv1a(identity.as_str()) & ((1 << 53) - 1)).max(1)
}

/// The Confab identity of a Janus participant.
pub fn identity_of(participant: &ParticipantId) -> IdentityId {
    IdentityId::new(format!("janus-{participant}"))
        .or_else(|_| IdentityId::new(format!("janus-{:x}", fnv1a(participant.as_str()))))
        .unwrap_or_else(|_| unreachable!("a hex number makes a valid identity"))
}

/// A Janus feed id or TextRoom user name as a participant id. Names Confab cannot use as an id
/// (spaces, too long), and names that look like a stand-in, get a stable stand-in `x.HASH`, so
/// two different names never become one participant (short of a 64-bit hash collision).
fn participant_of(name: &str) -> ParticipantId {
    ParticipantId::new(name)
        .ok()
        .filter(|_| !name.starts_with("x."))
        .or_else(|| ParticipantId::new(format!("x.{:016x}", fnv1a(name))).ok())
        .unwrap_or_else(|| unreachable!("a hex number makes a valid participant id"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Handle {
    Publisher,
    Subscriber,
    Chat,
}

impl Handle {
    fn slot(self) -> PeerSlot {
        match self {
            Handle::Publisher => PeerSlot::Publisher,
            Handle::Subscriber => PeerSlot::Subscriber,
            Handle::Chat => PeerSlot::Chat,
        }
    }

    /// The handle behind one of our connections (none for slots Janus calls do not use).
    fn of_slot(slot: PeerSlot) -> Option<Self> {
        [Handle::Publisher, Handle::Subscriber, Handle::Chat]
            .into_iter()
            .find(|h| h.slot() == slot)
    }

    fn plugin(self) -> &'static str {
        match self {
            Handle::Publisher | Handle::Subscriber => "janus.plugin.videoroom",
            Handle::Chat => "janus.plugin.textroom",
        }
    }
}

/// What a transaction was for.
#[derive(Debug, Clone)]
enum Pending {
    CreateSession,
    Attach(Handle),
    ChatJoin,
    /// A public message and its frame, sent again if the chat connection is made anew before
    /// Janus confirmed it.
    Public {
        frame: String,
    },
    /// A whisper and its frame, likewise.
    Whisper {
        id: MessageId,
        to: ParticipantId,
        frame: String,
    },
}

impl Pending {
    /// The chat frame to send again if Janus never confirmed it.
    fn unconfirmed_frame(&self) -> Option<&str> {
        match self {
            Pending::Public { frame } | Pending::Whisper { frame, .. } => Some(frame),
            _ => None,
        }
    }
}

/// Someone in the room: a VideoRoom publisher, a TextRoom user, or both.
#[derive(Debug, Clone, Default)]
struct Member {
    name: Option<String>,
    tracks: Vec<TrackInfo>,
    publishing: bool,
    chatting: bool,
}

/// A Janus session for one call.
pub struct JanusDialect {
    room: u64,
    pin: Option<String>,
    token: Option<String>,
    display: String,
    feed: Feed,
    session: Option<u64>,
    handles: HashMap<Handle, u64>,
    private_id: Option<u64>,
    transactions: HashMap<String, Pending>,
    next_transaction: u64,
    in_videoroom: bool,
    chat_open: bool,
    chat_joined: bool,
    /// TextRoom frames waiting for the chat connection to be joined again.
    held: Vec<String>,
    room_asked: bool,
    told_joined: bool,
    members: BTreeMap<ParticipantId, Member>,
    /// Names as Janus knows them (feed id or user name), for whispers.
    janus_names: HashMap<ParticipantId, String>,
    subscribed: BTreeSet<Feed>,
    to_subscribe: BTreeSet<Feed>,
    /// An offer from the subscriber handle is being answered, or a subscription request is
    /// waiting for Janus' offer.
    negotiating: bool,
    /// The feeds the subscription request under way asks for.
    requested: Vec<Feed>,
    /// Received tracks' ids (from the subscriber offer's `msid`) → the participant sending them.
    track_senders: HashMap<String, ParticipantId>,
    /// Someone we were subscribed to stopped publishing: Janus would hand their m-lines (and
    /// track ids) to the next publisher, and a WebRTC stack that saw those tracks end does not
    /// raise them again. The next subscription therefore starts on a fresh handle.
    subscription_stale: bool,
    received: u64,
    next_keepalive: Option<Instant>,
    outputs: VecDeque<JanusOutput>,
}

impl JanusDialect {
    /// Starts a session for `link`'s room, as `display` with feed id [`feed_for`] our identity.
    pub fn new(link: &JanusLink, display: &str, identity: &IdentityId) -> Self {
        let mut dialect = Self {
            room: link.room,
            pin: link.pin.as_ref().map(|p| p.expose().to_owned()),
            token: link.token.as_ref().map(|t| t.expose().to_owned()),
            display: display.to_owned(),
            feed: Feed(feed_for(identity).to_string()),
            session: None,
            handles: HashMap::new(),
            private_id: None,
            transactions: HashMap::new(),
            next_transaction: 0,
            in_videoroom: false,
            chat_open: false,
            chat_joined: false,
            held: Vec::new(),
            room_asked: false,
            told_joined: false,
            members: BTreeMap::new(),
            janus_names: HashMap::new(),
            subscribed: BTreeSet::new(),
            to_subscribe: BTreeSet::new(),
            negotiating: false,
            requested: Vec::new(),
            track_senders: HashMap::new(),
            subscription_stale: false,
            received: 0,
            next_keepalive: None,
            outputs: VecDeque::new(),
        };
        dialect.request(json!({"janus": "create"}), Some(Pending::CreateSession));
        dialect
    }

    /// Our participant id (our feed id).
    pub fn local(&self) -> ParticipantId {
        participant_of(&self.feed.0)
    }

    /// Our identity as other Janus participants see it.
    pub fn local_identity(&self) -> IdentityId {
        identity_of(&self.local())
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<JanusOutput> {
        self.outputs.pop_front()
    }

    /// When [`JanusDialect::handle_timeout`] next needs calling.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_keepalive
    }

    /// Sends a keepalive when one is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_keepalive.is_some_and(|due| now >= due) {
            self.next_keepalive = Some(now + KEEPALIVE_EVERY);
            self.request(json!({"janus": "keepalive"}), None);
        }
    }

    /// The participant a received track comes from, by the track id Janus gave it.
    pub fn sender_of_track(&self, track_id: &str) -> Option<ParticipantId> {
        self.track_senders.get(track_id).cloned()
    }

    /// The room asked to join: the TextRoom join goes out once the chat channel is open.
    pub fn join_room(&mut self) {
        self.room_asked = true;
        self.join_chat_if_ready();
    }

    /// The TextRoom data channel is open.
    pub fn chat_channel_opened(&mut self) {
        self.chat_open = true;
        self.join_chat_if_ready();
    }

    /// Our description for one of our connections: the publisher's offer, or an answer to
    /// Janus' offer on the subscriber or chat handle.
    pub fn local_description(&mut self, slot: PeerSlot, description: SessionDescription) {
        let Some(handle) = Handle::of_slot(slot) else {
            return;
        };
        let jsep = json!({"type": match description.kind {
            SdpKind::Offer => "offer",
            SdpKind::Answer => "answer",
        }, "sdp": description.sdp});
        let body = match handle {
            Handle::Publisher => json!({"request": "publish", "display": self.display}),
            Handle::Subscriber => {
                self.negotiating = false;
                self.requested.clear();
                json!({"request": "start"})
            }
            Handle::Chat => json!({"request": "ack"}),
        };
        self.message(handle, body, Some(jsep));
        if handle == Handle::Subscriber {
            self.subscribe_waiting();
        }
    }

    /// One of our candidates for one of our connections.
    pub fn local_candidate(&mut self, slot: PeerSlot, candidate: IceCandidate) {
        let Some(handle) = Handle::of_slot(slot).and_then(|h| self.handles.get(&h).copied()) else {
            return;
        };
        let mut candidate_json = json!({"candidate": candidate.candidate});
        if let Some(mid) = candidate.sdp_mid {
            candidate_json["sdpMid"] = json!(mid);
        }
        if let Some(index) = candidate.sdp_mline_index {
            candidate_json["sdpMLineIndex"] = json!(index);
        }
        let candidate = candidate_json;
        self.request(
            json!({"janus": "trickle", "handle_id": handle, "candidate": candidate}),
            None,
        );
    }

    /// Sends a public message to the room (asking Janus to confirm it, so that a message sent
    /// just as the chat connection failed is sent again on the new one).
    pub fn send_public(&mut self, message: &ChatMessage) {
        let transaction = self.transaction();
        let frame = json!({
            "textroom": "message", "transaction": transaction, "room": self.room,
            "text": message.text, "ack": true,
        })
        .to_string();
        let pending = Pending::Public { frame: frame.clone() };
        self.transactions.insert(transaction, pending);
        self.send_on_channel(frame);
    }

    /// Whispers a private message to its one recipient. TextRoom tells a whisper's recipient
    /// nothing about other recipients, so a conversation of three or more cannot be carried.
    pub fn send_private(&mut self, message: &ChatMessage, to: &[ParticipantId]) -> Result<(), AdapterError> {
        let [recipient] = to else {
            return Err(AdapterError::Unsupported(
                "carry a private conversation of more than two people (Janus TextRoom whispers to one person)",
            ));
        };
        let name = self
            .janus_names
            .get(recipient)
            .cloned()
            .unwrap_or_else(|| recipient.to_string());
        let transaction = self.transaction();
        let text = json!({
            "textroom": "message", "transaction": transaction, "room": self.room,
            "to": name, "text": message.text, "ack": true,
        })
        .to_string();
        self.transactions.insert(
            transaction,
            Pending::Whisper {
                id: message.id.clone(),
                to: recipient.clone(),
                frame: text.clone(),
            },
        );
        self.send_on_channel(text);
        Ok(())
    }

    /// Leaves both rooms, detaches every handle and destroys the session.
    pub fn leave(&mut self) {
        if self.chat_joined {
            let leave = json!({"textroom": "leave", "transaction": self.transaction(), "room": self.room});
            self.outputs.push_back(JanusOutput::Channel(leave.to_string()));
        }
        if self.in_videoroom {
            self.message(Handle::Publisher, json!({"request": "leave"}), None);
        }
        for handle in [Handle::Subscriber, Handle::Chat, Handle::Publisher] {
            if let Some(id) = self.handles.remove(&handle) {
                self.request(json!({"janus": "detach", "handle_id": id}), None);
            }
        }
        if self.session.is_some() {
            self.request(json!({"janus": "destroy"}), None);
        }
        self.session = None;
        self.next_keepalive = None;
    }

    /// A frame from the Janus API.
    pub fn handle_server(&mut self, frame: &str) -> Result<(), AdapterError> {
        match ApiMessage::parse(frame)? {
            ApiMessage::Success { transaction, id } => self.success(&transaction, id),
            ApiMessage::Event { sender, data, jsep } => match self.handle_named(sender) {
                Some(Handle::Chat) => self.chat_event(&data, jsep),
                Some(handle) => self.videoroom_event(handle, &data, jsep)?,
                None => {}
            },
            ApiMessage::Trickle { sender, candidate } => {
                if let (Some(handle), Some(candidate)) = (self.handle_named(sender), candidate) {
                    self.outputs
                        .push_back(JanusOutput::Candidate(handle.slot(), candidate));
                }
            }
            ApiMessage::Hangup { sender, reason } => {
                if let Some(handle) = self.handle_named(sender) {
                    let made_again = match handle {
                        Handle::Subscriber => self.subscribe_again(),
                        Handle::Chat => {
                            self.chat_again();
                            true
                        }
                        Handle::Publisher => true,
                    };
                    if made_again {
                        self.outputs.push_back(JanusOutput::HungUp(handle.slot(), reason));
                    }
                }
            }
            // `uplink: false` is Janus missing packets we send; on our publication that means
            // sending less. Loss on what Janus sends us is Janus' to handle.
            ApiMessage::SlowLink { sender, uplink, lost } => {
                tracing::info!(?sender, uplink, lost, "Janus reports loss on a media connection");
                if !uplink && self.handle_named(sender) == Some(Handle::Publisher) {
                    self.outputs.push_back(JanusOutput::SendingCongested);
                }
            }
            ApiMessage::Timeout => self.lose_session("the Janus server ended the session (it timed out)"),
            ApiMessage::Error {
                transaction,
                code,
                reason,
            } => self.api_error(transaction.as_deref(), code, &reason),
            ApiMessage::Ack | ApiMessage::WebrtcUp { .. } | ApiMessage::Other => {}
        }
        Ok(())
    }

    /// A frame from the TextRoom data channel; `received_ms` is the wall clock now (it orders
    /// the message among the sender's others).
    pub fn handle_channel(&mut self, frame: &str, received_ms: u64) -> Result<(), AdapterError> {
        let message = TextRoomMessage::parse(frame)?;
        let pending = message
            .transaction
            .as_ref()
            .and_then(|t| self.transactions.remove(t));
        match message.textroom.as_str() {
            "success" => match pending {
                Some(Pending::ChatJoin) => {
                    self.chat_joined = true;
                    let chatters = message.participants.unwrap_or_default();
                    let gone: Vec<ParticipantId> = self
                        .members
                        .iter()
                        .filter(|(_, m)| m.chatting)
                        .map(|(id, _)| id.clone())
                        .filter(|id| !chatters.iter().any(|c| participant_of(&c.username) == *id))
                        .collect();
                    for id in gone {
                        self.member_gone(&id, |member| member.chatting = false);
                    }
                    for chatter in chatters {
                        self.chatter_joined(&chatter.username, chatter.display);
                    }
                    self.tell_joined_if_ready();
                    for frame in std::mem::take(&mut self.held) {
                        self.outputs.push_back(JanusOutput::Channel(frame));
                    }
                }
                Some(Pending::Whisper { id, to, .. }) => {
                    let reached = message.sent.unwrap_or_default().values().any(|sent| *sent);
                    self.outputs.push_back(JanusOutput::Signal(if reached {
                        SignalIn::ChatAck { id, from: to }
                    } else {
                        SignalIn::ChatRejected {
                            id,
                            code: SignalErrorCode::UnknownParticipant,
                            message: "the recipient is no longer in the room".into(),
                        }
                    }));
                }
                _ => {}
            },
            "error" => {
                let code = textroom_error(message.error_code.unwrap_or_default());
                let text = message.error.unwrap_or_default();
                let signal = match pending {
                    Some(Pending::Whisper { id, .. }) => SignalIn::ChatRejected {
                        id,
                        code,
                        message: text,
                    },
                    _ => SignalIn::Error { code, message: text },
                };
                self.outputs.push_back(JanusOutput::Signal(signal));
            }
            "join" => {
                if let Some(username) = message.username {
                    self.chatter_joined(&username, message.display);
                }
            }
            "leave" | "kicked" => {
                if let Some(username) = message.username {
                    self.chatter_left(&username);
                }
            }
            "message" => self.chat_received(message, received_ms),
            "destroyed" => self.outputs.push_back(JanusOutput::Signal(SignalIn::Error {
                code: SignalErrorCode::ServerShutdown,
                message: "the room was closed on the server".into(),
            })),
            _ => {}
        }
        Ok(())
    }

    fn transaction(&mut self) -> String {
        self.next_transaction += 1;
        format!("c{}", self.next_transaction)
    }

    /// Sends a Janus API request on our session (with the API token, if any).
    fn request(&mut self, mut body: Value, pending: Option<Pending>) {
        let transaction = self.transaction();
        body["transaction"] = json!(transaction);
        if let Some(session) = self.session {
            body["session_id"] = json!(session);
        }
        if let Some(token) = &self.token {
            body["token"] = json!(token);
        }
        if let Some(pending) = pending {
            self.transactions.insert(transaction, pending);
        }
        self.outputs.push_back(JanusOutput::Server(body.to_string()));
    }

    /// Sends a plugin request on one of our handles.
    fn message(&mut self, handle: Handle, body: Value, jsep: Option<Value>) {
        let Some(&id) = self.handles.get(&handle) else {
            return;
        };
        let mut request = json!({"janus": "message", "handle_id": id, "body": body});
        if let Some(jsep) = jsep {
            request["jsep"] = jsep;
        }
        self.request(request, None);
    }

    fn attach(&mut self, handle: Handle) {
        self.request(
            json!({"janus": "attach", "plugin": handle.plugin()}),
            Some(Pending::Attach(handle)),
        );
    }

    fn handle_named(&self, id: u64) -> Option<Handle> {
        self.handles
            .iter()
            .find(|(_, &h)| h == id)
            .map(|(&handle, _)| handle)
    }

    fn success(&mut self, transaction: &str, id: Option<u64>) {
        match (self.transactions.remove(transaction), id) {
            (Some(Pending::CreateSession), Some(id)) => {
                self.session = Some(id);
                self.next_keepalive = Some(Instant::now() + KEEPALIVE_EVERY);
                self.attach(Handle::Publisher);
                self.attach(Handle::Chat);
            }
            (Some(Pending::Attach(handle)), Some(id)) => {
                self.handles.insert(handle, id);
                match handle {
                    Handle::Publisher => {
                        let mut join = json!({
                            "request": "join", "ptype": "publisher", "room": self.room,
                            "display": self.display, "id": self.feed.0.parse::<u64>().ok(),
                        });
                        if let Some(pin) = &self.pin {
                            join["pin"] = json!(pin);
                        }
                        self.message(Handle::Publisher, join, None);
                    }
                    Handle::Chat => self.message(Handle::Chat, json!({"request": "setup"}), None),
                    Handle::Subscriber => self.subscribe_waiting(),
                }
            }
            _ => {}
        }
    }

    fn api_error(&mut self, transaction: Option<&str>, code: u32, reason: &str) {
        if let Some(t) = transaction {
            self.transactions.remove(t);
        }
        let mapped = core_error(code);
        if mapped == SignalErrorCode::SessionExpired {
            return self.lose_session(&format!(
                "the Janus server no longer knows this session ({reason})"
            ));
        }
        let message = format!("Janus error {code}: {reason}");
        self.outputs.push_back(JanusOutput::Signal(SignalIn::Error {
            code: mapped,
            message,
        }));
    }

    fn lose_session(&mut self, why: &str) {
        self.session = None;
        self.handles.clear();
        self.next_keepalive = None;
        self.outputs.push_back(JanusOutput::SessionLost(why.to_owned()));
    }

    fn videoroom_event(
        &mut self,
        handle: Handle,
        data: &Value,
        jsep: Option<SessionDescription>,
    ) -> Result<(), AdapterError> {
        let room = VideoRoomData::parse(data)?;
        if let Some(code) = room.error_code {
            if handle == Handle::Subscriber {
                // Typically a feed that left before our request reached Janus (428), which
                // refuses the whole request: ask again for those still publishing.
                tracing::info!(code, error = ?room.error, "Janus refused a subscription request");
                self.subscription_failed();
                return Ok(());
            }
            let message = format!("Janus VideoRoom error {code}: {}", room.error.unwrap_or_default());
            let signal = SignalIn::Error {
                code: videoroom_error(code),
                message,
            };
            self.outputs.push_back(JanusOutput::Signal(signal));
            return Ok(());
        }
        if room.videoroom == "joined" && handle == Handle::Publisher {
            self.in_videoroom = true;
            self.private_id = room.private_id;
            self.tell_joined_if_ready();
        }
        for publisher in room.publishers {
            self.publisher_seen(publisher);
        }
        for gone in [&room.unpublished, &room.leaving, &room.kicked]
            .into_iter()
            .flatten()
        {
            if let Some(feed) = feed_of(gone) {
                self.publisher_gone(&feed, room.leaving.is_some() || room.kicked.is_some());
            }
        }
        if let Some(streams) = &room.streams {
            self.map_subscribed_streams(streams, jsep.as_ref());
        }
        if handle == Handle::Subscriber && room.videoroom == "updated" && jsep.is_none() {
            self.negotiating = false;
            self.subscribe_waiting();
        }
        if let Some(jsep) = jsep {
            self.outputs
                .push_back(JanusOutput::Description(handle.slot(), jsep));
        }
        Ok(())
    }

    fn chat_event(&mut self, data: &Value, jsep: Option<SessionDescription>) {
        if let Some(code) = data.get("error_code").and_then(Value::as_u64) {
            let message = data.get("error").and_then(Value::as_str).unwrap_or_default();
            let signal = SignalIn::Error {
                code: textroom_error(u32::try_from(code).unwrap_or_default()),
                message: format!("Janus TextRoom error {code}: {message}"),
            };
            self.outputs.push_back(JanusOutput::Signal(signal));
        }
        if let Some(jsep) = jsep {
            self.outputs
                .push_back(JanusOutput::Description(PeerSlot::Chat, jsep));
        }
    }

    /// Sends a TextRoom frame, or holds it while the chat connection is being made anew.
    fn send_on_channel(&mut self, frame: String) {
        if self.chat_joined {
            self.outputs.push_back(JanusOutput::Channel(frame));
        } else {
            self.held.push(frame);
        }
    }

    /// Janus hung up our subscription: everyone we received is asked for again, on a fresh
    /// handle and connection. Returns whether there is anyone to ask for.
    fn subscribe_again(&mut self) -> bool {
        self.negotiating = false;
        self.requested.clear();
        if self.subscribed.is_empty() && self.to_subscribe.is_empty() {
            // Nothing to receive yet: drop the dead connection; the next subscription starts
            // afresh.
            self.drop_subscription();
            self.subscription_stale = false;
            return false;
        }
        self.subscription_stale = true;
        let subscribed = std::mem::take(&mut self.subscribed);
        self.to_subscribe.extend(subscribed);
        self.subscribe_waiting();
        true
    }

    /// Detaches our subscriber handle and closes its connection; whoever it received is to be
    /// asked for again, on a fresh one.
    fn drop_subscription(&mut self) {
        self.detach(Handle::Subscriber);
        let still_publishing = std::mem::take(&mut self.subscribed);
        self.to_subscribe.extend(still_publishing);
        self.track_senders.clear();
    }

    /// Detaches `handle` (if we have it) and closes its connection.
    fn detach(&mut self, handle: Handle) {
        if let Some(id) = self.handles.remove(&handle) {
            self.request(json!({"janus": "detach", "handle_id": id}), None);
            self.outputs.push_back(JanusOutput::Close(handle.slot()));
        }
    }

    /// Janus hung up our chat connection, which also took us out of the TextRoom: a fresh
    /// handle and connection join it again. What is said meanwhile waits, and so does every
    /// message Janus had not confirmed (sent again with its transaction).
    fn chat_again(&mut self) {
        self.detach(Handle::Chat);
        self.chat_open = false;
        self.chat_joined = false;
        self.transactions
            .retain(|_, pending| !matches!(pending, Pending::ChatJoin));
        let mut unconfirmed: Vec<(u64, String)> = self
            .transactions
            .iter()
            .filter_map(|(transaction, pending)| {
                let number = transaction.trim_start_matches('c').parse().unwrap_or(u64::MAX);
                Some((number, pending.unconfirmed_frame()?.to_owned()))
            })
            .collect();
        unconfirmed.sort();
        // Everything held is unconfirmed too: the list replaces it.
        self.held = unconfirmed.into_iter().map(|(_, frame)| frame).collect();
        self.attach(Handle::Chat);
    }

    fn join_chat_if_ready(&mut self) {
        if !(self.room_asked && self.chat_open) || self.chat_joined {
            return;
        }
        let transaction = self.transaction();
        self.transactions.insert(transaction.clone(), Pending::ChatJoin);
        let mut join = json!({
            "textroom": "join", "transaction": transaction, "room": self.room,
            "username": self.feed.0, "display": self.display,
        });
        if let Some(pin) = &self.pin {
            join["pin"] = json!(pin);
        }
        self.outputs.push_back(JanusOutput::Channel(join.to_string()));
    }

    fn tell_joined_if_ready(&mut self) {
        if self.told_joined || !(self.in_videoroom && self.chat_joined) {
            return;
        }
        self.told_joined = true;
        let participants = self.members.iter().map(|(id, member)| info(id, member)).collect();
        let joined = SignalIn::Joined {
            local: self.local(),
            participants,
        };
        self.outputs.push_back(JanusOutput::Signal(joined));
    }

    /// Adds or updates a member; tells the room about someone new and their tracks.
    fn member_changed(&mut self, id: ParticipantId, change: impl FnOnce(&mut Member)) {
        let known = self.members.get(&id).is_some_and(|m| m.publishing || m.chatting);
        let member = self.members.entry(id.clone()).or_default();
        let tracks_before = member.tracks.len();
        change(member);
        let member = member.clone();
        if !self.told_joined {
            return;
        }
        if !known {
            let joined = SignalIn::ParticipantJoined(info(&id, &member));
            return self.outputs.push_back(JanusOutput::Signal(joined));
        }
        for track in member.tracks.iter().skip(tracks_before) {
            let published = SignalIn::TrackPublished {
                participant: id.clone(),
                track: track.clone(),
            };
            self.outputs.push_back(JanusOutput::Signal(published));
        }
    }

    /// A member stopped publishing or chatting; once they do neither, they left.
    fn member_gone(&mut self, id: &ParticipantId, change: impl FnOnce(&mut Member)) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        change(member);
        if member.publishing || member.chatting {
            return;
        }
        self.members.remove(id);
        if self.told_joined {
            let left = SignalIn::ParticipantLeft {
                id: id.clone(),
                reason: LeaveReason::Hangup,
            };
            self.outputs.push_back(JanusOutput::Signal(left));
        }
    }

    fn chatter_joined(&mut self, username: &str, display: Option<String>) {
        if username == self.feed.0 {
            return;
        }
        let id = participant_of(username);
        self.janus_names.insert(id.clone(), username.to_owned());
        self.member_changed(id, |member| {
            member.chatting = true;
            member.name = member.name.take().or(display);
        });
    }

    fn chatter_left(&mut self, username: &str) {
        self.member_gone(&participant_of(username), |member| member.chatting = false);
    }

    fn publisher_seen(&mut self, publisher: super::wire::Publisher) {
        if publisher.id == self.feed {
            return;
        }
        let kinds: Vec<MediaKind> = publisher
            .streams
            .iter()
            .filter(|s| !s.disabled)
            .filter_map(|s| match s.kind.as_str() {
                "audio" => Some(MediaKind::Audio),
                "video" => Some(MediaKind::Video),
                _ => None,
            })
            .collect();
        let tracks: Vec<TrackInfo> = [MediaKind::Video, MediaKind::Audio]
            .into_iter()
            .flat_map(|kind| {
                let count = kinds.iter().filter(|k| **k == kind).count();
                (0..count).map(move |n| TrackInfo {
                    id: kind.nth_track_id(n),
                    kind,
                    muted: false,
                })
            })
            .collect();
        let id = participant_of(&publisher.id.0);
        self.janus_names.insert(id.clone(), publisher.id.0.clone());
        self.member_changed(id, |member| {
            member.publishing = true;
            member.name = publisher.display.or(member.name.take());
            for track in tracks {
                if !member.tracks.iter().any(|t| t.id == track.id) {
                    member.tracks.push(track);
                }
            }
        });
        if !self.subscribed.contains(&publisher.id) {
            self.to_subscribe.insert(publisher.id);
            self.subscribe_waiting();
        }
    }

    fn publisher_gone(&mut self, feed: &Feed, left: bool) {
        self.subscription_stale |= self.subscribed.remove(feed);
        self.requested.retain(|f| f != feed);
        self.to_subscribe.remove(feed);
        self.member_gone(&participant_of(&feed.0), |member| {
            member.publishing = false;
            member.tracks.clear();
            if left {
                member.chatting = false;
            }
        });
    }

    /// Subscribes to publishers not yet subscribed, unless a negotiation is under way (then
    /// after it).
    fn subscribe_waiting(&mut self) {
        if self.negotiating || self.to_subscribe.is_empty() || !self.in_videoroom {
            return;
        }
        if std::mem::take(&mut self.subscription_stale) {
            self.drop_subscription();
        }
        let Some(_) = self.handles.get(&Handle::Subscriber) else {
            if !self
                .transactions
                .values()
                .any(|p| matches!(p, Pending::Attach(Handle::Subscriber)))
            {
                self.attach(Handle::Subscriber);
            }
            return;
        };
        let feeds: Vec<Feed> = std::mem::take(&mut self.to_subscribe).into_iter().collect();
        let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": feed_json(f)})).collect();
        let body = if self.subscribed.is_empty() {
            json!({
                "request": "join", "ptype": "subscriber", "room": self.room, "streams": streams,
                "private_id": self.private_id, "use_msid": false,
            })
        } else {
            json!({"request": "update", "subscribe": streams})
        };
        self.subscribed.extend(feeds.iter().cloned());
        self.requested = feeds;
        self.negotiating = true;
        self.message(Handle::Subscriber, body, None);
    }

    /// The subscription request or Janus' offer for it could not be completed: the feeds it
    /// asked for that still publish are asked for again, on a fresh subscription.
    pub fn subscription_failed(&mut self) {
        self.negotiating = false;
        for feed in std::mem::take(&mut self.requested) {
            if self.subscribed.remove(&feed) {
                self.to_subscribe.insert(feed);
            }
        }
        self.subscription_stale = true;
        self.subscribe_waiting();
    }

    /// Ties each received track (by the `msid` in Janus' offer) to the publisher behind its mid.
    fn map_subscribed_streams(
        &mut self,
        streams: &[super::wire::SubscribedStream],
        offer: Option<&SessionDescription>,
    ) {
        let Some(offer) = offer else { return };
        let tracks_by_mid = tracks_by_mid(&offer.sdp);
        for stream in streams {
            let (Some(feed), Some(track)) = (&stream.feed_id, tracks_by_mid.get(stream.mid.as_str())) else {
                continue;
            };
            self.track_senders
                .insert((*track).to_owned(), participant_of(&feed.0));
        }
    }

    fn chat_received(&mut self, message: TextRoomMessage, received_ms: u64) {
        let (Some(from), Some(text)) = (message.from, message.text) else {
            return;
        };
        // Our own public messages come back; history (and anything said before the room has
        // joined) arrives before the room knows who is there.
        if from == self.feed.0 || !self.told_joined {
            return;
        }
        let sender = participant_of(&from);
        let sender_identity = identity_of(&sender);
        let conversation = if message.whisper {
            match PrivateMembers::new([self.local_identity(), sender_identity.clone()]) {
                Ok(members) => ConversationId::Private(members),
                Err(_) => return,
            }
        } else {
            ConversationId::Public
        };
        self.received += 1;
        let id = MessageId::new(format!("j{}-{}", self.session.unwrap_or_default(), self.received))
            .unwrap_or_else(|_| unreachable!("digits make a valid message id"));
        let from_name = self
            .members
            .get(&sender)
            .and_then(|m| m.name.clone())
            .unwrap_or_else(|| from.clone());
        let message = ChatMessage {
            id,
            from: sender,
            from_identity: sender_identity,
            from_name,
            order: received_ms,
            conversation,
            text,
        };
        self.outputs
            .push_back(JanusOutput::Signal(SignalIn::Chat(message)));
    }
}

fn info(id: &ParticipantId, member: &Member) -> ParticipantInfo {
    ParticipantInfo {
        id: id.clone(),
        identity: identity_of(id),
        key: String::new(),
        name: member.name.clone().unwrap_or_else(|| id.to_string()),
        tracks: member.tracks.clone(),
    }
}

/// A feed id as Janus wants it back: a number where it is one.
fn feed_json(feed: &Feed) -> Value {
    feed.0.parse::<u64>().map_or_else(|_| json!(feed.0), |n| json!(n))
}

/// Each m-section's mid → the track id of its `a=msid:STREAM TRACK`.
fn tracks_by_mid(sdp: &str) -> HashMap<&str, &str> {
    let mut tracks = HashMap::new();
    for section in sdp.split("\nm=").skip(1) {
        let attribute = |name: &str| {
            section
                .lines()
                .find_map(|line| line.trim_end().strip_prefix(name))
        };
        let mid = attribute("a=mid:");
        let track = attribute("a=msid:").and_then(|msid| msid.split_whitespace().nth(1));
        if let (Some(mid), Some(track)) = (mid, track) {
            tracks.insert(mid, track);
        }
    }
    tracks
}

#[cfg(test)]
mod tests;
