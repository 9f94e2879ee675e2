//! The room state machine: who is here, what they publish, what is muted, who left and why.
//!
//! Inputs: [`Room::handle_command`] (from the local user), [`Room::handle_signal`] (decoded
//! by an adapter), [`Room::handle_timeout`] (the driver's timer fired). Outputs: drain
//! [`Room::poll_output`] until it returns [`Output::Timeout`], which carries the next instant the
//! room wants `handle_timeout` (or `None`). No clock is read here; every input takes `now`.

use crate::chat::{Chat, ChatError, ChatMessage, ConversationId};
use crate::ids::{IdentityId, MessageId, ParticipantId, RoomName, TrackId};
use crate::link::Secret;
use crate::signal::{
    Envelope, IceCandidate, ParticipantInfo, PeerSlot, PrivateDraft, Recipient, SessionDescription,
    SignalErrorCode, SignalIn, SignalOut, TrackInfo,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a join may take before it is given up.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a participant (or we) left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LeaveReason {
    /// They hung up.
    Hangup,
    /// Their connection was lost.
    ConnectionLost,
    /// The server shut down or closed the room.
    ServerShutdown,
    /// The server refused or removed them because of an error.
    Refused,
    /// The same identity joined again (another device or window, or a reconnect) and this
    /// session was replaced by the new one.
    Replaced,
}

/// Something the room could not do. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoomError {
    /// A command that needs a joined room came before the join finished. Retry after joining.
    #[error("not in a room yet")]
    NotJoined,
    /// `Join` while already joining or joined. Retrying cannot help.
    #[error("already in a room")]
    AlreadyJoined,
    /// The named track is not ours. Retrying cannot help.
    #[error("no such local track: {0}")]
    UnknownTrack(TrackId),
    /// A private message names a conversation we are not a member of. Retrying cannot help.
    #[error("you are not a member of that private conversation")]
    NotAMember,
    /// A private message's recipients are not all in the room; nothing was sent to anyone.
    /// Retrying helps once they are back.
    #[error("not delivered: {} not in the room", .0.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(", "))]
    RecipientsAbsent(Vec<IdentityId>),
    /// The server did not admit us in time. Retrying may help if the server was busy.
    #[error("the server did not answer the join within {} s", JOIN_TIMEOUT.as_secs())]
    JoinTimedOut,
    /// Our identity joined the room again from another session, which took over this one.
    /// Retrying would take the place back from that session.
    #[error("You joined this meeting from another device or window, so this one has left.")]
    Replaced,
    /// The server refused the join. Whether retrying helps depends on the code.
    #[error("{}", code.user_message())]
    Refused {
        /// The server's code.
        code: SignalErrorCode,
    },
}

/// One participant as the room sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Display name.
    pub name: String,
    /// Stable identity.
    pub identity: IdentityId,
    /// This session's public key for sealed private messages (base64).
    pub key: String,
    /// Published tracks.
    pub tracks: BTreeMap<TrackId, TrackInfo>,
    /// `Some` once they have left; they stay listed so history keeps their name.
    pub left: Option<LeaveReason>,
    /// Order of arrival, to pick the newest session of an identity.
    arrival: u64,
}

/// A command from the local user.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RoomCommand {
    /// Join `room` as `name`.
    Join {
        /// The room.
        room: RoomName,
        /// Our display name.
        name: String,
        /// The room's token.
        token: Secret,
        /// Proof of our identity: lets this session take over an older one of ours.
        proof: Secret,
    },
    /// Publish a local track.
    Publish(TrackInfo),
    /// Mute or unmute a local track.
    Mute {
        /// The track.
        track: TrackId,
        /// New state.
        muted: bool,
    },
    /// Send a chat message. A private one goes to every other member, each of whom must be
    /// present; otherwise nothing is sent and the message is recorded as not delivered.
    SendChat {
        /// Chosen by the caller; unique for our identity across sessions.
        id: MessageId,
        /// The caller's order stamp for it ([`crate::SendOrder`]).
        order: u64,
        /// Public, or the private conversation's members (including us).
        conversation: ConversationId,
        /// The text.
        text: String,
    },
    /// One of our private messages could not be sealed; record it as not delivered.
    ChatFailed {
        /// Which message.
        id: MessageId,
        /// Why.
        reason: String,
    },
    /// Send our SDP for one of our PeerConnections.
    SendDescription(PeerSlot, SessionDescription),
    /// Send one of our ICE candidates.
    SendCandidate(PeerSlot, IceCandidate),
    /// Leave the room.
    Leave,
}

/// Something that happened in the room, for the UI or the report. Small deltas with ids.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// We were admitted.
    Joined {
        /// Our session id.
        local: ParticipantId,
    },
    /// Someone joined (also emitted for everyone present when we join).
    ParticipantJoined(ParticipantId),
    /// Someone left.
    ParticipantLeft {
        /// Who.
        id: ParticipantId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone published a track.
    TrackPublished {
        /// Publisher.
        participant: ParticipantId,
        /// Track.
        track: TrackInfo,
    },
    /// Someone muted or unmuted a track.
    TrackMuted {
        /// Publisher.
        participant: ParticipantId,
        /// Track.
        track: TrackId,
        /// New state.
        muted: bool,
    },
    /// A chat message arrived (duplicates are never reported twice).
    ChatReceived(ChatMessage),
    /// We sent a chat message (so our own words show in the conversation, as the room recorded
    /// them). A private one that cannot be delivered is followed by `ChatNotDelivered`.
    ChatSent(ChatMessage),
    /// A recipient acknowledged one of our private messages.
    ChatDelivered {
        /// Which message.
        id: MessageId,
        /// Who.
        to: IdentityId,
    },
    /// One of our private messages will not be delivered.
    ChatNotDelivered {
        /// Which message.
        id: MessageId,
        /// Why.
        reason: String,
    },
    /// An incoming chat message was refused and shown to nobody.
    ChatRefused {
        /// The sender's session.
        from: ParticipantId,
        /// Why.
        error: ChatError,
    },
    /// The server reported a problem that did not end the call.
    ServerError {
        /// Code.
        code: SignalErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// We are out of the room.
    Left {
        /// Why.
        reason: LeaveReason,
        /// The error behind it, if any.
        error: Option<RoomError>,
    },
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this through the signaling adapter.
    Signal(SignalOut),
    /// Apply the remote SDP to that PeerConnection.
    RemoteDescription(PeerSlot, SessionDescription),
    /// Add a remote ICE candidate to that PeerConnection.
    RemoteCandidate(PeerSlot, IceCandidate),
    /// Seal this private message for each recipient, then send it as [`SignalOut::SealedChat`].
    Seal(PrivateDraft),
    /// Open this sealed message with our secret key and the sender's public key, then hand the
    /// result back as [`SignalIn::Chat`] (or drop it if it does not open).
    Unseal {
        /// Message id.
        id: MessageId,
        /// The sender, with their announced identity and key.
        from: Recipient,
        /// Our copy.
        envelope: Envelope,
    },
    /// Tell the user.
    Event(RoomEvent),
    /// Nothing more for now; wake the room at this instant (if any).
    Timeout(Option<Instant>),
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Joining { deadline: Instant },
    Joined { local: ParticipantId },
    Left,
}

/// The room state machine. See the module docs for the input/output rule.
#[derive(Debug)]
pub struct Room {
    phase: Phase,
    name: String,
    participants: BTreeMap<ParticipantId, Participant>,
    local_tracks: BTreeMap<TrackId, TrackInfo>,
    chat: Chat,
    identity: IdentityId,
    key: String,
    arrivals: u64,
    outputs: VecDeque<Output>,
}

impl Room {
    /// A room we have not joined yet, as `identity` with this session's public `key` (base64).
    pub fn new(identity: IdentityId, key: String) -> Self {
        Self::resume(identity, key, Chat::default())
    }

    /// Like [`Room::new`], keeping the chat history of an earlier session of the same identity.
    pub fn resume(identity: IdentityId, key: String, chat: Chat) -> Self {
        Self {
            phase: Phase::Idle,
            name: String::new(),
            participants: BTreeMap::new(),
            local_tracks: BTreeMap::new(),
            chat,
            identity,
            key,
            arrivals: 0,
            outputs: VecDeque::new(),
        }
    }

    /// Our stable identity.
    pub fn identity(&self) -> &IdentityId {
        &self.identity
    }

    /// Hands the chat history over (to a later session of the same identity).
    pub fn into_chat(self) -> Chat {
        self.chat
    }

    /// Our session id, once joined.
    pub fn local_id(&self) -> Option<&ParticipantId> {
        match &self.phase {
            Phase::Joined { local } => Some(local),
            _ => None,
        }
    }

    /// Whether we are in the room.
    pub fn is_joined(&self) -> bool {
        matches!(self.phase, Phase::Joined { .. })
    }

    /// Whether we have left (or never got in).
    pub fn has_left(&self) -> bool {
        self.phase == Phase::Left
    }

    /// Everyone we have seen, present or left.
    pub fn participants(&self) -> &BTreeMap<ParticipantId, Participant> {
        &self.participants
    }

    /// Our published tracks.
    pub fn local_tracks(&self) -> &BTreeMap<TrackId, TrackInfo> {
        &self.local_tracks
    }

    /// Chat history.
    pub fn chat(&self) -> &Chat {
        &self.chat
    }

    /// Applies a local command.
    pub fn handle_command(&mut self, now: Instant, command: RoomCommand) -> Result<(), RoomError> {
        match command {
            RoomCommand::Join {
                room,
                name,
                token,
                proof,
            } => {
                if self.phase != Phase::Idle {
                    return Err(RoomError::AlreadyJoined);
                }
                self.name = name.clone();
                self.phase = Phase::Joining {
                    deadline: now + JOIN_TIMEOUT,
                };
                let (identity, key) = (self.identity.clone(), self.key.clone());
                self.signal(SignalOut::Join {
                    room,
                    name,
                    token,
                    identity,
                    proof,
                    key,
                });
            }
            RoomCommand::Publish(track) => {
                self.local_tracks.insert(track.id.clone(), track.clone());
                if self.is_joined() {
                    self.signal(SignalOut::Publish(track));
                }
            }
            RoomCommand::Mute { track, muted } => {
                let info = self
                    .local_tracks
                    .get_mut(&track)
                    .ok_or_else(|| RoomError::UnknownTrack(track.clone()))?;
                info.muted = muted;
                if self.is_joined() {
                    self.signal(SignalOut::Mute { track, muted });
                }
            }
            RoomCommand::SendChat {
                id,
                order,
                conversation,
                text,
            } => {
                let local = self.local_id().ok_or(RoomError::NotJoined)?.clone();
                let message = ChatMessage {
                    id,
                    from: local,
                    from_identity: self.identity.clone(),
                    from_name: self.name.clone(),
                    order,
                    conversation,
                    text,
                };
                self.send_chat(message)?;
            }
            RoomCommand::ChatFailed { id, reason } => {
                self.chat.mark_not_delivered(&id, &reason);
                self.event(RoomEvent::ChatNotDelivered { id, reason });
            }
            RoomCommand::SendDescription(slot, desc) => {
                self.require_in_room()?;
                self.signal(SignalOut::Description(slot, desc));
            }
            RoomCommand::SendCandidate(slot, candidate) => {
                self.require_in_room()?;
                self.signal(SignalOut::Candidate(slot, candidate));
            }
            RoomCommand::Leave => {
                if matches!(self.phase, Phase::Joining { .. } | Phase::Joined { .. }) {
                    self.signal(SignalOut::Leave);
                }
                self.finish(LeaveReason::Hangup, None);
            }
        }
        Ok(())
    }

    /// Applies a message decoded by the signaling adapter.
    pub fn handle_signal(&mut self, _now: Instant, signal: SignalIn) {
        match signal {
            SignalIn::Joined { local, participants } => {
                if !matches!(self.phase, Phase::Joining { .. }) {
                    return;
                }
                self.phase = Phase::Joined { local: local.clone() };
                self.event(RoomEvent::Joined { local });
                for track in self.local_tracks.values().cloned().collect::<Vec<_>>() {
                    self.signal(SignalOut::Publish(track));
                }
                for info in participants {
                    self.add_participant(info);
                }
                self.resend_unacknowledged();
            }
            SignalIn::ParticipantJoined(info) => self.add_participant(info),
            SignalIn::ParticipantLeft { id, reason } => {
                if let Some(p) = self.participants.get_mut(&id) {
                    if p.left.is_none() {
                        p.left = Some(reason);
                        self.event(RoomEvent::ParticipantLeft { id, reason });
                    }
                }
            }
            SignalIn::TrackPublished { participant, track } => {
                if let Some(p) = self.participants.get_mut(&participant) {
                    p.tracks.insert(track.id.clone(), track.clone());
                    self.event(RoomEvent::TrackPublished { participant, track });
                }
            }
            SignalIn::TrackMuted {
                participant,
                track,
                muted,
            } => {
                if let Some(info) = self
                    .participants
                    .get_mut(&participant)
                    .and_then(|p| p.tracks.get_mut(&track))
                {
                    info.muted = muted;
                    self.event(RoomEvent::TrackMuted {
                        participant,
                        track,
                        muted,
                    });
                }
            }
            SignalIn::Chat(message) => self.receive_chat(message),
            SignalIn::SealedChat { id, from, envelope } => {
                // Only a present participant's announced key can open it; anything else is
                // shown to nobody.
                match self.present(&from) {
                    Some(sender) => self.outputs.push_back(Output::Unseal {
                        id,
                        from: sender,
                        envelope,
                    }),
                    None => self.event(RoomEvent::ChatRefused {
                        from,
                        error: ChatError::NotAMember,
                    }),
                }
            }
            SignalIn::ChatAck { id, from } => {
                if let Some(identity) = self.participants.get(&from).map(|p| p.identity.clone()) {
                    if self.chat.mark_delivered(&id, &identity) {
                        self.event(RoomEvent::ChatDelivered { id, to: identity });
                    }
                }
            }
            SignalIn::ChatRejected { id, code, message } => {
                let reason = format!("{} ({message})", code.user_message());
                self.chat.mark_not_delivered(&id, &reason);
                self.event(RoomEvent::ChatNotDelivered { id, reason });
            }
            SignalIn::Description(slot, desc) => {
                if !self.has_left() {
                    self.outputs.push_back(Output::RemoteDescription(slot, desc));
                }
            }
            SignalIn::Candidate(slot, candidate) => {
                if !self.has_left() {
                    self.outputs.push_back(Output::RemoteCandidate(slot, candidate));
                }
            }
            SignalIn::Replaced => {
                if !self.has_left() {
                    self.finish(LeaveReason::Replaced, Some(RoomError::Replaced));
                }
            }
            SignalIn::Error { code, message } => {
                let joining = matches!(self.phase, Phase::Joining { .. });
                if code.is_fatal() || joining && code == SignalErrorCode::WrongState {
                    let reason = if code == SignalErrorCode::ServerShutdown {
                        LeaveReason::ServerShutdown
                    } else {
                        LeaveReason::Refused
                    };
                    self.finish(reason, Some(RoomError::Refused { code }));
                } else {
                    self.event(RoomEvent::ServerError { code, message });
                }
            }
        }
    }

    /// The signaling connection is gone; the call is over.
    pub fn handle_disconnect(&mut self, _now: Instant) {
        if !self.has_left() {
            self.finish(LeaveReason::ConnectionLost, None);
        }
    }

    /// The driver's timer fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Phase::Joining { deadline } = self.phase {
            if now >= deadline {
                self.finish(LeaveReason::ConnectionLost, Some(RoomError::JoinTimedOut));
            }
        }
    }

    /// The next output; drain until [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Output {
        let wake = match self.phase {
            Phase::Joining { deadline } => Some(deadline),
            _ => None,
        };
        self.outputs.pop_front().unwrap_or(Output::Timeout(wake))
    }

    fn require_in_room(&self) -> Result<(), RoomError> {
        match self.phase {
            Phase::Joining { .. } | Phase::Joined { .. } => Ok(()),
            _ => Err(RoomError::NotJoined),
        }
    }

    /// A present participant, as a recipient (identity and key).
    fn present(&self, id: &ParticipantId) -> Option<Recipient> {
        let p = self.participants.get(id).filter(|p| p.left.is_none())?;
        Some(Recipient {
            participant: id.clone(),
            identity: p.identity.clone(),
            key: p.key.clone(),
        })
    }

    /// The present session of `identity`, if any (the most recent one).
    fn present_identity(&self, identity: &IdentityId) -> Option<Recipient> {
        let (id, _) = self
            .participants
            .iter()
            .filter(|(_, p)| p.left.is_none() && p.identity == *identity)
            .max_by_key(|(_, p)| p.arrival)?;
        self.present(id)
    }

    fn send_chat(&mut self, message: ChatMessage) -> Result<(), RoomError> {
        let members = match &message.conversation {
            ConversationId::Public => {
                self.chat.record_sent(message.clone(), []);
                self.event(RoomEvent::ChatSent(message.clone()));
                self.signal(SignalOut::Chat(message));
                return Ok(());
            }
            ConversationId::Private(members) => members.clone(),
        };
        if !members.contains(&self.identity) {
            return Err(RoomError::NotAMember);
        }
        let others: Vec<IdentityId> = members.iter().filter(|m| **m != self.identity).cloned().collect();
        let sessions: Vec<Option<Recipient>> = others.iter().map(|i| self.present_identity(i)).collect();
        let absent: Vec<IdentityId> = others
            .iter()
            .zip(&sessions)
            .filter(|(_, session)| session.is_none())
            .map(|(identity, _)| identity.clone())
            .collect();
        if !absent.is_empty() {
            let error = RoomError::RecipientsAbsent(absent);
            let (id, reason) = (message.id.clone(), error.to_string());
            self.event(RoomEvent::ChatSent(message.clone()));
            self.chat.record_undeliverable(message, others, &reason);
            self.event(RoomEvent::ChatNotDelivered { id, reason });
            return Err(error);
        }
        let recipients = sessions.into_iter().flatten().collect();
        self.chat.record_sent(message.clone(), others);
        self.event(RoomEvent::ChatSent(message.clone()));
        self.outputs
            .push_back(Output::Seal(PrivateDraft { message, recipients }));
        Ok(())
    }

    /// Back in the room after a reconnect: private messages that went out before the connection
    /// was lost but were never acknowledged are sealed again, under their own ids, for the
    /// recipients' sessions now present (a recipient that did get the first copy drops the
    /// second as a duplicate and acknowledges again). A recipient no longer here is marked not
    /// delivered: the message may or may not have reached them, and nobody can tell now.
    fn resend_unacknowledged(&mut self) {
        for (message, waiting) in self.chat.unacknowledged() {
            let mut recipients = Vec::new();
            for identity in waiting {
                match self.present_identity(&identity) {
                    Some(session) => recipients.push(session),
                    None => self.chat.mark_not_delivered_to(
                        &message.id,
                        &identity,
                        "they left before acknowledging it, while we were reconnecting",
                    ),
                }
            }
            if !recipients.is_empty() {
                self.outputs
                    .push_back(Output::Seal(PrivateDraft { message, recipients }));
            }
        }
    }

    fn receive_chat(&mut self, message: ChatMessage) {
        let from = message.from.clone();
        let announced = self.participants.get(&from).map(|p| p.identity.clone());
        if announced.as_ref() != Some(&message.from_identity) {
            return self.event(RoomEvent::ChatRefused {
                from,
                error: ChatError::NotAMember,
            });
        }
        let private = matches!(message.conversation, ConversationId::Private(_));
        let id = message.id.clone();
        match self.chat.receive(&self.identity, message.clone()) {
            Ok(fresh) => {
                if private {
                    // Acknowledge duplicates too: the sender may be retrying a lost ack.
                    self.signal(SignalOut::ChatAck { id, to: from });
                }
                if fresh {
                    self.event(RoomEvent::ChatReceived(message));
                }
            }
            Err(error) => self.event(RoomEvent::ChatRefused { from, error }),
        }
    }

    /// Adds someone who arrived. A participant id seen before counts again only if its
    /// participant had left (servers whose ids outlive a session, such as Janus' feed ids).
    fn add_participant(&mut self, info: ParticipantInfo) {
        let present = self.participants.get(&info.id).is_some_and(|p| p.left.is_none());
        if Some(&info.id) == self.local_id() || present {
            return;
        }
        let id = info.id.clone();
        let tracks: BTreeMap<_, _> = info.tracks.into_iter().map(|t| (t.id.clone(), t)).collect();
        self.arrivals += 1;
        self.participants.insert(
            id.clone(),
            Participant {
                name: info.name,
                identity: info.identity,
                key: info.key,
                tracks: tracks.clone(),
                left: None,
                arrival: self.arrivals,
            },
        );
        self.event(RoomEvent::ParticipantJoined(id.clone()));
        for track in tracks.into_values() {
            self.event(RoomEvent::TrackPublished {
                participant: id.clone(),
                track,
            });
        }
    }

    fn finish(&mut self, reason: LeaveReason, error: Option<RoomError>) {
        if self.phase == Phase::Left {
            return;
        }
        self.phase = Phase::Left;
        self.event(RoomEvent::Left { reason, error });
    }

    fn signal(&mut self, out: SignalOut) {
        self.outputs.push_back(Output::Signal(out));
    }

    fn event(&mut self, event: RoomEvent) {
        self.outputs.push_back(Output::Event(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::MediaKind;

    fn pid(s: &str) -> ParticipantId {
        ParticipantId::new(s).unwrap()
    }

    fn identity(s: &str) -> IdentityId {
        IdentityId::new(s).unwrap()
    }

    fn new_room() -> Room {
        Room::new(identity("id-me"), "key-me".into())
    }

    fn info(id: &str, name: &str) -> ParticipantInfo {
        ParticipantInfo {
            id: pid(id),
            identity: identity(&format!("id-{id}")),
            key: format!("key-{id}"),
            name: name.into(),
            tracks: vec![],
        }
    }

    fn join_command(token: &str) -> RoomCommand {
        RoomCommand::Join {
            room: RoomName::new("r").unwrap(),
            name: "me".into(),
            token: Secret::new(token),
            proof: Secret::new("proof"),
        }
    }

    fn drain(room: &mut Room) -> Vec<Output> {
        let mut out = Vec::new();
        loop {
            match room.poll_output() {
                Output::Timeout(_) => return out,
                o => out.push(o),
            }
        }
    }

    fn joined_room(now: Instant) -> Room {
        let mut room = new_room();
        room.handle_command(now, join_command("t")).unwrap();
        room.handle_signal(
            now,
            SignalIn::Joined {
                local: pid("me"),
                participants: vec![ParticipantInfo {
                    tracks: vec![TrackInfo {
                        id: TrackId::new("v").unwrap(),
                        kind: MediaKind::Video,
                        muted: false,
                    }],
                    ..info("a", "Alice")
                }],
            },
        );
        room
    }

    #[test]
    fn join_sends_join_then_reports_everyone_present() {
        let now = Instant::now();
        let mut room = joined_room(now);
        let out = drain(&mut room);
        assert!(matches!(out[0], Output::Signal(SignalOut::Join { .. })));
        assert_eq!(out[1], Output::Event(RoomEvent::Joined { local: pid("me") }));
        assert_eq!(out[2], Output::Event(RoomEvent::ParticipantJoined(pid("a"))));
        assert!(matches!(out[3], Output::Event(RoomEvent::TrackPublished { .. })));
        assert_eq!(room.participants()[&pid("a")].name, "Alice");
    }

    #[test]
    fn join_times_out_without_an_answer() {
        let now = Instant::now();
        let mut room = new_room();
        room.handle_command(now, join_command("t")).unwrap();
        let _ = drain(&mut room);
        assert_eq!(room.poll_output(), Output::Timeout(Some(now + JOIN_TIMEOUT)));
        room.handle_timeout(now + JOIN_TIMEOUT);
        assert_eq!(
            drain(&mut room),
            vec![Output::Event(RoomEvent::Left {
                reason: LeaveReason::ConnectionLost,
                error: Some(RoomError::JoinTimedOut)
            })]
        );
    }

    #[test]
    fn leave_is_reported_once_and_participant_stays_listed() {
        let now = Instant::now();
        let mut room = joined_room(now);
        let _ = drain(&mut room);
        for _ in 0..2 {
            room.handle_signal(
                now,
                SignalIn::ParticipantLeft {
                    id: pid("a"),
                    reason: LeaveReason::Hangup,
                },
            );
        }
        assert_eq!(drain(&mut room).len(), 1);
        assert_eq!(room.participants()[&pid("a")].left, Some(LeaveReason::Hangup));
    }

    #[test]
    fn someone_who_left_and_comes_back_under_the_same_id_is_present_again() {
        let now = Instant::now();
        let mut room = joined_room(now);
        let left = SignalIn::ParticipantLeft {
            id: pid("a"),
            reason: LeaveReason::Hangup,
        };
        room.handle_signal(now, left);
        let _ = drain(&mut room);
        room.handle_signal(now, SignalIn::ParticipantJoined(info("a", "Alice again")));
        room.handle_signal(now, SignalIn::ParticipantJoined(info("a", "Alice twice")));
        let joined: Vec<Output> = drain(&mut room)
            .into_iter()
            .filter(|o| matches!(o, Output::Event(RoomEvent::ParticipantJoined(_))))
            .collect();
        assert_eq!(joined.len(), 1, "announced once: {joined:?}");
        let alice = &room.participants()[&pid("a")];
        assert_eq!((alice.left, alice.name.as_str()), (None, "Alice again"));
    }

    #[test]
    fn chat_before_join_is_refused_and_duplicates_are_dropped() {
        let now = Instant::now();
        let mut fresh = new_room();
        assert_eq!(
            fresh.handle_command(now, send("m0", ConversationId::Public)),
            Err(RoomError::NotJoined)
        );
        let mut room = joined_room(now);
        let _ = drain(&mut room);
        let msg = from_a("m1", ConversationId::Public);
        room.handle_signal(now, SignalIn::Chat(msg.clone()));
        room.handle_signal(now, SignalIn::Chat(msg));
        assert_eq!(drain(&mut room).len(), 1);
    }

    fn send(id: &str, conversation: ConversationId) -> RoomCommand {
        RoomCommand::SendChat {
            id: MessageId::new(id).unwrap(),
            order: 1,
            conversation,
            text: "words".into(),
        }
    }

    fn from_a(id: &str, conversation: ConversationId) -> ChatMessage {
        ChatMessage {
            id: MessageId::new(id).unwrap(),
            from: pid("a"),
            from_identity: identity("id-a"),
            from_name: "Alice".into(),
            order: 1,
            conversation,
            text: "hi".into(),
        }
    }

    fn private(members: &[&str]) -> ConversationId {
        ConversationId::Private(
            crate::chat::PrivateMembers::new(members.iter().map(|m| identity(m))).unwrap(),
        )
    }

    #[test]
    fn a_private_message_is_sealed_for_its_recipients_only() {
        let now = Instant::now();
        let mut room = joined_room(now);
        room.handle_signal(now, SignalIn::ParticipantJoined(info("c", "Carol")));
        let _ = drain(&mut room);
        room.handle_command(now, send("m1", private(&["id-me", "id-a"])))
            .unwrap();
        let out = drain(&mut room);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            matches!(&out[0], Output::Event(RoomEvent::ChatSent(m)) if m.id.as_str() == "m1"),
            "our own message is reported for our side of the conversation: {out:?}"
        );
        let Output::Seal(draft) = &out[1] else {
            panic!("{out:?}")
        };
        let to: Vec<_> = draft.recipients.iter().map(|r| r.participant.clone()).collect();
        assert_eq!(
            to,
            vec![pid("a")],
            "Carol joined mid-conversation and is not a recipient"
        );
        assert_eq!(draft.recipients[0].key, "key-a");
        let states = room.chat().delivery(&MessageId::new("m1").unwrap()).unwrap();
        assert_eq!(states[&identity("id-a")], crate::chat::DeliveryState::Pending);
    }

    #[test]
    fn an_absent_recipient_means_nothing_is_sent_to_anyone() {
        let now = Instant::now();
        let mut room = joined_room(now);
        room.handle_signal(now, SignalIn::ParticipantJoined(info("c", "Carol")));
        room.handle_signal(
            now,
            SignalIn::ParticipantLeft {
                id: pid("a"),
                reason: LeaveReason::Hangup,
            },
        );
        let _ = drain(&mut room);
        let result = room.handle_command(now, send("m2", private(&["id-me", "id-a"])));
        assert_eq!(result, Err(RoomError::RecipientsAbsent(vec![identity("id-a")])));
        let out = drain(&mut room);
        assert!(
            matches!(
                out.as_slice(),
                [
                    Output::Event(RoomEvent::ChatSent(_)),
                    Output::Event(RoomEvent::ChatNotDelivered { .. })
                ]
            ),
            "no signal, no seal, no broadcast; only our own view of it: {out:?}"
        );
        let conversation = private(&["id-me", "id-a"]);
        assert_eq!(room.chat().messages(&conversation).len(), 1, "history keeps it");
        let states = room.chat().delivery(&MessageId::new("m2").unwrap()).unwrap();
        assert!(matches!(
            states[&identity("id-a")],
            crate::chat::DeliveryState::NotDelivered(_)
        ));
        assert!(room.chat().messages(&ConversationId::Public).is_empty());
        assert_eq!(
            room.handle_command(now, send("m3", private(&["id-a", "id-c"]))),
            Err(RoomError::NotAMember)
        );
    }

    /// Rejoins a room carrying `old`'s chat, with `present` in it.
    fn rejoined(now: Instant, old: Room, present: Vec<ParticipantInfo>) -> Room {
        let mut room = Room::resume(identity("id-me"), "key-me2".into(), old.into_chat());
        room.handle_command(now, join_command("t")).unwrap();
        room.handle_signal(
            now,
            SignalIn::Joined {
                local: pid("me2"),
                participants: present,
            },
        );
        room
    }

    #[test]
    fn an_unacknowledged_private_message_is_sent_again_after_a_rejoin() {
        let now = Instant::now();
        let mut room = joined_room(now);
        room.handle_command(now, send("m1", private(&["id-me", "id-a"])))
            .unwrap();
        room.handle_disconnect(now);
        // Alice is back too, on a new session with a new key.
        let alice_again = ParticipantInfo {
            id: pid("a2"),
            key: "key-a2".into(),
            ..info("a", "Alice")
        };
        let mut room = rejoined(now, room, vec![alice_again]);
        let out = drain(&mut room);
        let drafts: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Seal(draft) => Some(draft),
                _ => None,
            })
            .collect();
        assert_eq!(drafts.len(), 1, "{out:?}");
        assert_eq!(
            drafts[0].message.id.as_str(),
            "m1",
            "same id, so a duplicate is dropped"
        );
        let to: Vec<_> = drafts[0]
            .recipients
            .iter()
            .map(|r| (r.participant.clone(), r.key.clone()))
            .collect();
        assert_eq!(to, vec![(pid("a2"), "key-a2".to_owned())]);
        assert!(
            out.iter()
                .all(|o| !matches!(o, Output::Signal(SignalOut::Chat(_)))),
            "never a broadcast"
        );
        // Her acknowledgement settles it; a second rejoin sends nothing more.
        room.handle_signal(
            now,
            SignalIn::ChatAck {
                id: MessageId::new("m1").unwrap(),
                from: pid("a2"),
            },
        );
        let states = room.chat().delivery(&MessageId::new("m1").unwrap()).unwrap();
        assert_eq!(states[&identity("id-a")], crate::chat::DeliveryState::Delivered);
        let mut again = rejoined(now, room, vec![info("a", "Alice")]);
        assert!(drain(&mut again).iter().all(|o| !matches!(o, Output::Seal(_))));
    }

    #[test]
    fn an_unacknowledged_message_to_someone_who_left_meanwhile_is_marked_not_delivered() {
        let now = Instant::now();
        let mut room = joined_room(now);
        room.handle_command(now, send("m1", private(&["id-me", "id-a"])))
            .unwrap();
        room.handle_disconnect(now);
        let mut room = rejoined(now, room, vec![info("c", "Carol")]);
        let out = drain(&mut room);
        assert!(out.iter().all(|o| !matches!(o, Output::Seal(_))), "{out:?}");
        assert!(
            out.iter()
                .all(|o| !matches!(o, Output::Signal(SignalOut::Chat(_)))),
            "Carol gets nothing"
        );
        let states = room.chat().delivery(&MessageId::new("m1").unwrap()).unwrap();
        assert!(matches!(
            states[&identity("id-a")],
            crate::chat::DeliveryState::NotDelivered(_)
        ));
    }

    #[test]
    fn a_returning_identity_gets_the_message_on_its_new_session() {
        let now = Instant::now();
        let mut room = joined_room(now);
        room.handle_signal(
            now,
            SignalIn::ParticipantLeft {
                id: pid("a"),
                reason: LeaveReason::ConnectionLost,
            },
        );
        room.handle_signal(
            now,
            SignalIn::ParticipantJoined(ParticipantInfo {
                id: pid("a2"),
                ..info("a", "Alice")
            }),
        );
        let _ = drain(&mut room);
        room.handle_command(now, send("m4", private(&["id-me", "id-a"])))
            .unwrap();
        let Some(Output::Seal(draft)) = drain(&mut room)
            .into_iter()
            .find(|o| matches!(o, Output::Seal(_)))
        else {
            panic!("expected a seal")
        };
        assert_eq!(draft.recipients[0].participant, pid("a2"));
    }

    #[test]
    fn incoming_private_messages_are_unsealed_checked_acknowledged_once_shown() {
        let now = Instant::now();
        let mut room = joined_room(now);
        let _ = drain(&mut room);
        let envelope = Envelope {
            to: pid("me"),
            nonce: "n".into(),
            ciphertext: "c".into(),
        };
        room.handle_signal(
            now,
            SignalIn::SealedChat {
                id: MessageId::new("x").unwrap(),
                from: pid("a"),
                envelope: envelope.clone(),
            },
        );
        assert!(
            matches!(room.poll_output(), Output::Unseal { from: Recipient { ref key, .. }, .. } if key == "key-a")
        );
        room.handle_signal(
            now,
            SignalIn::SealedChat {
                id: MessageId::new("y").unwrap(),
                from: pid("zz"),
                envelope,
            },
        );
        assert!(matches!(
            room.poll_output(),
            Output::Event(RoomEvent::ChatRefused { .. })
        ));

        let opened = from_a("x", private(&["id-a", "id-me"]));
        room.handle_signal(now, SignalIn::Chat(opened.clone()));
        room.handle_signal(now, SignalIn::Chat(opened));
        let out = drain(&mut room);
        let acks = out
            .iter()
            .filter(|o| matches!(o, Output::Signal(SignalOut::ChatAck { .. })))
            .count();
        let shown = out
            .iter()
            .filter(|o| matches!(o, Output::Event(RoomEvent::ChatReceived(_))))
            .count();
        assert_eq!((acks, shown), (2, 1), "{out:?}");

        let mut forged = from_a("z", private(&["id-a", "id-me"]));
        forged.from_identity = identity("id-c");
        room.handle_signal(now, SignalIn::Chat(forged));
        let misrouted = from_a("w", private(&["id-a", "id-c"]));
        room.handle_signal(now, SignalIn::Chat(misrouted));
        let out = drain(&mut room);
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|o| matches!(o, Output::Event(RoomEvent::ChatRefused { .. }))));
        assert_eq!(room.chat().conversations().count(), 1);
    }

    #[test]
    fn acks_and_rejections_update_delivery() {
        let now = Instant::now();
        let mut room = joined_room(now);
        room.handle_signal(now, SignalIn::ParticipantJoined(info("c", "Carol")));
        room.handle_command(now, send("m5", private(&["id-me", "id-a", "id-c"])))
            .unwrap();
        let _ = drain(&mut room);
        let id = MessageId::new("m5").unwrap();
        room.handle_signal(
            now,
            SignalIn::ChatAck {
                id: id.clone(),
                from: pid("a"),
            },
        );
        assert_eq!(
            room.poll_output(),
            Output::Event(RoomEvent::ChatDelivered {
                id: id.clone(),
                to: identity("id-a")
            })
        );
        room.handle_signal(
            now,
            SignalIn::ChatRejected {
                id: id.clone(),
                code: SignalErrorCode::UnknownParticipant,
                message: "c left".into(),
            },
        );
        assert!(matches!(
            room.poll_output(),
            Output::Event(RoomEvent::ChatNotDelivered { .. })
        ));
        let states = room.chat().delivery(&id).unwrap();
        assert_eq!(states[&identity("id-a")], crate::chat::DeliveryState::Delivered);
        assert!(matches!(
            states[&identity("id-c")],
            crate::chat::DeliveryState::NotDelivered(_)
        ));
    }

    #[test]
    fn fatal_error_while_joining_ends_the_call_with_a_typed_error() {
        let now = Instant::now();
        let mut room = new_room();
        room.handle_command(now, join_command("bad")).unwrap();
        let _ = drain(&mut room);
        room.handle_signal(
            now,
            SignalIn::Error {
                code: SignalErrorCode::BadToken,
                message: "no".into(),
            },
        );
        assert_eq!(
            drain(&mut room),
            vec![Output::Event(RoomEvent::Left {
                reason: LeaveReason::Refused,
                error: Some(RoomError::Refused {
                    code: SignalErrorCode::BadToken
                })
            })]
        );
    }

    #[test]
    fn being_replaced_ends_the_call_once_and_says_why() {
        let now = Instant::now();
        let mut room = joined_room(now);
        let _ = drain(&mut room);
        room.handle_signal(now, SignalIn::Replaced);
        room.handle_signal(now, SignalIn::Replaced);
        assert_eq!(
            drain(&mut room),
            vec![Output::Event(RoomEvent::Left {
                reason: LeaveReason::Replaced,
                error: Some(RoomError::Replaced)
            })]
        );
        assert!(RoomError::Replaced.to_string().contains("another device"));
    }

    #[test]
    fn tracks_published_before_join_are_announced_after() {
        let now = Instant::now();
        let mut room = new_room();
        let track = TrackInfo {
            id: TrackId::new("cam").unwrap(),
            kind: MediaKind::Video,
            muted: false,
        };
        room.handle_command(now, RoomCommand::Publish(track.clone()))
            .unwrap();
        let _ = drain(&mut room);
        let mut room2 = joined_room(now);
        room2
            .handle_command(now, RoomCommand::Publish(track.clone()))
            .unwrap();
        assert!(drain(&mut room2).contains(&Output::Signal(SignalOut::Publish(track))));
    }
}
