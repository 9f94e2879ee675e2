//! The room actor: one task per room owns its members, their PeerSessions, the published tracks
//! and the negotiation state. Connections, HTTP requests and PeerSession callbacks only send
//! [`RoomInput`]s. Members who came over WHIP or WHEP rather than signaling live in [`streams`].

mod streams;

pub(crate) use streams::{StreamError, StreamJoined, StreamJoiner, StreamRole};

use crate::forward::Fanout;
use crate::media_path::MediaPath;
use crate::member_link::{MemberLink, Outbox, RESUME_GRACE};
use crate::TakeoverPolicy;
use confab_core::{
    ConversationId, Envelope, IdentityId, LeaveReason, MediaKind, MessageId, ParticipantId, ParticipantInfo,
    RoomName, SdpKind, Secret, SessionDescription, SignalErrorCode, TrackId, TrackInfo,
};
use confab_rtc::{ForwardTrack, PeerConfig, PeerEvent, PeerSession, RemoteTrack};
use confab_signal::native::wire::{ClientMessage, ServerMessage};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Most participants one room admits.
pub(crate) const MAX_PARTICIPANTS: usize = 16;
/// Fewest milliseconds between two keyframe requests relayed to one publisher track.
const PLI_INTERVAL: Duration = Duration::from_millis(300);

/// What a room actor is told.
pub(crate) enum RoomInput {
    Join {
        joiner: Joiner,
        out: Outbox,
        reply: oneshot::Sender<Result<ParticipantId, SignalErrorCode>>,
    },
    Resume {
        resumer: Resumer,
        out: Outbox,
        reply: oneshot::Sender<Result<u64, SignalErrorCode>>,
    },
    /// A message from a member's connection, with its number if it has one.
    Client(ParticipantId, Option<u64>, ClientMessage),
    Ping(ParticipantId, u64),
    /// The member's connection numbered by the epoch ended.
    Leave(ParticipantId, u64, LeaveReason),
    /// A detached member's grace period (for the connection numbered by the epoch) is over.
    GraceOver(ParticipantId, u64),
    Peer(ParticipantId, PeerEvent),
    /// Time to look whether this member's media path needs an ICE restart.
    CheckMediaPath(ParticipantId),
    /// Someone publishes (WHIP) or watches (WHEP) over HTTP.
    StreamJoin {
        joiner: StreamJoiner,
        reply: oneshot::Sender<Result<StreamJoined, StreamError>>,
    },
    /// Trickled candidates for the HTTP member holding `resource`.
    StreamCandidates {
        resource: String,
        ufrag: Option<String>,
        candidates: Vec<confab_core::IceCandidate>,
        reply: oneshot::Sender<Result<(), StreamError>>,
    },
    /// The HTTP member holding `resource` ends its session.
    StreamLeave {
        resource: String,
        reply: oneshot::Sender<Result<(), StreamError>>,
    },
    Shutdown,
}

/// Who is asking to join, as their join message says.
pub(crate) struct Joiner {
    pub name: String,
    pub identity: IdentityId,
    pub proof: Secret,
    pub key: String,
}

/// Who asks to carry a session on, as their resume message says.
pub(crate) struct Resumer {
    pub participant: ParticipantId,
    pub secret: String,
    pub received: u64,
}

/// What the server keeps of an identity proof: enough to check the next one, not to reuse it.
fn proof_digest(proof: &Secret) -> [u8; 32] {
    Sha256::digest(proof.expose().as_bytes()).into()
}

type Registry = Arc<Mutex<HashMap<RoomName, mpsc::UnboundedSender<RoomInput>>>>;

/// All rooms of one server.
#[derive(Clone)]
pub(crate) struct Rooms {
    registry: Registry,
    peer: PeerConfig,
    takeover: TakeoverPolicy,
}

/// A joined participant's connection's handle on its room.
pub(crate) struct MemberHandle {
    room: mpsc::UnboundedSender<RoomInput>,
    id: ParticipantId,
    epoch: u64,
}

impl MemberHandle {
    pub(crate) fn send(&self, seq: Option<u64>, message: ClientMessage) {
        let _ = self.room.send(RoomInput::Client(self.id.clone(), seq, message));
    }

    pub(crate) fn ping(&self, received: u64) {
        let _ = self.room.send(RoomInput::Ping(self.id.clone(), received));
    }

    /// This connection ended: a `Hangup` leaves at once; a lost connection leaves the session
    /// waiting for a resume.
    pub(crate) fn leave(self, reason: LeaveReason) {
        let _ = self.room.send(RoomInput::Leave(self.id, self.epoch, reason));
    }
}

impl Rooms {
    pub(crate) fn new(peer: PeerConfig, takeover: TakeoverPolicy) -> Self {
        Self {
            registry: Arc::new(Mutex::new(HashMap::new())),
            peer,
            takeover,
        }
    }

    /// Sends `input` to `room`'s actor, starting the room if needed. Sent under the registry
    /// lock: an actor only retires while holding it with an empty queue, so the input is never
    /// lost. `None` if the server is shutting down.
    fn send_creating(&self, room: RoomName, input: RoomInput) -> Option<mpsc::UnboundedSender<RoomInput>> {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = registry
            .entry(room.clone())
            .or_insert_with(|| {
                RoomActor::spawn(room, self.peer.clone(), self.takeover, self.registry.clone())
            })
            .clone();
        sender.send(input).ok()?;
        Some(sender)
    }

    /// Sends `input` to `room`'s actor if the room exists.
    fn send_existing(&self, room: &RoomName, input: RoomInput) -> Option<mpsc::UnboundedSender<RoomInput>> {
        let sender = self
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(room)
            .cloned()?;
        sender.send(input).ok()?;
        Some(sender)
    }

    /// Joins `room` (creating it if needed).
    pub(crate) async fn join(
        &self,
        room: RoomName,
        joiner: Joiner,
        out: Outbox,
    ) -> Result<MemberHandle, SignalErrorCode> {
        let (reply, answer) = oneshot::channel();
        let sender = self
            .send_creating(room, RoomInput::Join { joiner, out, reply })
            .ok_or(SignalErrorCode::ServerShutdown)?;
        let id = answer.await.map_err(|_| SignalErrorCode::ServerShutdown)??;
        Ok(MemberHandle {
            room: sender,
            id,
            epoch: 0,
        })
    }

    /// Publishes or watches over HTTP in `room` (creating it if needed).
    pub(crate) async fn stream_join(
        &self,
        room: RoomName,
        joiner: StreamJoiner,
    ) -> Result<StreamJoined, StreamError> {
        let (reply, answer) = oneshot::channel();
        self.send_creating(room, RoomInput::StreamJoin { joiner, reply })
            .ok_or(StreamError::MediaFailed)?;
        answer.await.map_err(|_| StreamError::MediaFailed)?
    }

    /// Hands trickled candidates to the HTTP session `resource` of `room`.
    pub(crate) async fn stream_candidates(
        &self,
        room: &RoomName,
        resource: String,
        ufrag: Option<String>,
        candidates: Vec<confab_core::IceCandidate>,
    ) -> Result<(), StreamError> {
        let (reply, answer) = oneshot::channel();
        let input = RoomInput::StreamCandidates {
            resource,
            ufrag,
            candidates,
            reply,
        };
        self.send_existing(room, input).ok_or(StreamError::NotFound)?;
        answer.await.map_err(|_| StreamError::NotFound)?
    }

    /// Ends the HTTP session `resource` of `room`.
    pub(crate) async fn stream_leave(&self, room: &RoomName, resource: String) -> Result<(), StreamError> {
        let (reply, answer) = oneshot::channel();
        self.send_existing(room, RoomInput::StreamLeave { resource, reply })
            .ok_or(StreamError::NotFound)?;
        answer.await.map_err(|_| StreamError::NotFound)?
    }

    /// Carries a session of `room` on over a new connection, if it still waits for one.
    pub(crate) async fn resume(
        &self,
        room: &RoomName,
        resumer: Resumer,
        out: Outbox,
    ) -> Result<MemberHandle, SignalErrorCode> {
        let id = resumer.participant.clone();
        let (reply, answer) = oneshot::channel();
        let sender = self
            .send_existing(room, RoomInput::Resume { resumer, out, reply })
            .ok_or(SignalErrorCode::SessionExpired)?;
        let epoch = answer.await.map_err(|_| SignalErrorCode::SessionExpired)??;
        Ok(MemberHandle {
            room: sender,
            id,
            epoch,
        })
    }

    /// Tells every room to end its calls.
    pub(crate) async fn shut_down(&self) {
        let senders: Vec<_> = self
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for sender in &senders {
            let _ = sender.send(RoomInput::Shutdown);
        }
        for sender in senders {
            let _ = tokio::time::timeout(Duration::from_secs(2), sender.closed()).await;
        }
    }
}

enum Negotiation {
    /// Waiting for the client's first offer; `then_offer` if tracks were added meanwhile.
    AwaitingClientOffer {
        then_offer: bool,
    },
    Stable,
    /// Our offer is out; `again` if more changes came while waiting.
    AwaitingAnswer {
        again: bool,
    },
}

/// How a member reaches the room: over Confab's signaling, or by one HTTP offer/answer.
enum Via {
    Signaling(MemberLink),
    Http(streams::StreamMember),
}

struct Member {
    name: String,
    /// Joins so far in this room when this member joined: who has been here longest.
    arrival: u64,
    identity: IdentityId,
    proof: [u8; 32],
    key: String,
    via: Via,
    peer: Arc<PeerSession>,
    tracks: BTreeMap<TrackId, TrackInfo>,
    negotiation: Negotiation,
    media_path: MediaPath,
    /// Forward track id in this member's PeerConnection → (publisher, publisher's track id).
    forwards: HashMap<TrackId, (ParticipantId, TrackId, Arc<ForwardTrack>)>,
}

impl Member {
    /// Sends a signaling message; members who came over HTTP have no channel for them.
    fn send(&mut self, message: ServerMessage) {
        if let Via::Signaling(link) = &mut self.via {
            link.send(message);
        }
    }

    fn link(&mut self) -> Option<&mut MemberLink> {
        match &mut self.via {
            Via::Signaling(link) => Some(link),
            Via::Http(_) => None,
        }
    }

    /// Whether other members' tracks are added to this member's connection as they come
    /// (renegotiating): members on signaling yes, HTTP members never.
    fn follows_the_room(&self) -> bool {
        matches!(self.via, Via::Signaling(_))
    }

    fn info(&self, id: &ParticipantId) -> ParticipantInfo {
        ParticipantInfo {
            id: id.clone(),
            identity: self.identity.clone(),
            key: self.key.clone(),
            name: self.name.clone(),
            tracks: self.tracks.values().cloned().collect(),
        }
    }
}

struct Published {
    kind: MediaKind,
    remote: Arc<RemoteTrack>,
    fanout: Fanout,
    last_keyframe_request: Option<Instant>,
}

impl Published {
    /// Asks the publisher for a keyframe (RTCP PLI) without waiting for it to leave.
    fn request_keyframe(&mut self, now: Instant) {
        self.last_keyframe_request = Some(now);
        let remote = self.remote.clone();
        tokio::spawn(async move {
            let _ = remote.request_keyframe().await;
        });
    }
}

struct RoomActor {
    name: RoomName,
    peer_config: PeerConfig,
    takeover: TakeoverPolicy,
    registry: Registry,
    input: mpsc::UnboundedSender<RoomInput>,
    members: BTreeMap<ParticipantId, Member>,
    published: BTreeMap<(ParticipantId, TrackId), Published>,
    next_id: u64,
}

fn forward_id(publisher: &ParticipantId, track: &TrackId) -> Option<TrackId> {
    TrackId::new(format!("{publisher}.{track}")).ok()
}

impl RoomActor {
    fn spawn(
        name: RoomName,
        peer_config: PeerConfig,
        takeover: TakeoverPolicy,
        registry: Registry,
    ) -> mpsc::UnboundedSender<RoomInput> {
        let (input, rx) = mpsc::unbounded_channel();
        let actor = RoomActor {
            name,
            peer_config,
            takeover,
            registry,
            input: input.clone(),
            members: BTreeMap::new(),
            published: BTreeMap::new(),
            next_id: 1,
        };
        tokio::spawn(actor.run(rx));
        input
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<RoomInput>) {
        tracing::info!(room = %self.name, "room opened");
        while let Some(input) = rx.recv().await {
            match input {
                RoomInput::Join { joiner, out, reply } => {
                    let _ = reply.send(self.join(joiner, out).await);
                }
                RoomInput::Resume { resumer, out, reply } => {
                    let _ = reply.send(self.resume(resumer, out));
                }
                RoomInput::Client(id, seq, message) => self.client(&id, seq, message).await,
                RoomInput::Ping(id, received) => {
                    if let Some(link) = self.members.get_mut(&id).and_then(Member::link) {
                        link.ping(received);
                    }
                }
                RoomInput::Peer(id, event) => self.peer_event(&id, event).await,
                RoomInput::CheckMediaPath(id) => self.check_media_path(&id).await,
                RoomInput::StreamJoin { joiner, reply } => {
                    let _ = reply.send(self.stream_join(joiner).await);
                }
                RoomInput::StreamCandidates {
                    resource,
                    ufrag,
                    candidates,
                    reply,
                } => {
                    let _ = reply.send(self.stream_candidates(&resource, ufrag, candidates).await);
                }
                RoomInput::StreamLeave { resource, reply } => {
                    let _ = reply.send(self.stream_leave(&resource).await);
                }
                RoomInput::Leave(id, epoch, reason) => self.connection_ended(&id, epoch, reason).await,
                RoomInput::GraceOver(id, epoch) => {
                    if self
                        .members
                        .get_mut(&id)
                        .and_then(Member::link)
                        .is_some_and(|link| link.still_detached_since(epoch))
                    {
                        tracing::info!(room = %self.name, participant = %id, "a session was not resumed in time");
                        self.leave(&id, LeaveReason::ConnectionLost).await;
                    }
                }
                RoomInput::Shutdown => {
                    for member in self.members.values_mut() {
                        member.send(ServerMessage::error(
                            SignalErrorCode::ServerShutdown,
                            "the server is shutting down",
                        ));
                        member.peer.close().await;
                    }
                    self.members.clear();
                    self.published.clear();
                    break;
                }
            }
            if self.members.is_empty() && self.retire(&rx) {
                break;
            }
        }
        tracing::info!(room = %self.name, "room closed");
    }

    /// Removes this room from the registry if nothing is queued. Joins are sent under the same
    /// lock, so a join is either already queued (and we stay) or goes to a fresh actor.
    fn retire(&self, rx: &mpsc::UnboundedReceiver<RoomInput>) -> bool {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if !rx.is_empty() {
            return false;
        }
        if registry
            .get(&self.name)
            .is_some_and(|s| s.same_channel(&self.input))
        {
            registry.remove(&self.name);
        }
        true
    }

    async fn join(&mut self, joiner: Joiner, out: Outbox) -> Result<ParticipantId, SignalErrorCode> {
        self.take_over(&joiner).await?;
        if self.members.len() >= MAX_PARTICIPANTS {
            return Err(SignalErrorCode::RoomFull);
        }
        let (id, arrival) = self.next_participant_id().ok_or(SignalErrorCode::RoomFull)?;
        let peer = self.start_peer(&id).await.ok_or(SignalErrorCode::MediaFailed)?;
        let (link, resume) = MemberLink::new(out);
        let mut member = Member {
            name: joiner.name,
            arrival,
            identity: joiner.identity,
            proof: proof_digest(&joiner.proof),
            key: joiner.key,
            via: Via::Signaling(link),
            peer: Arc::new(peer),
            tracks: BTreeMap::new(),
            negotiation: Negotiation::AwaitingClientOffer { then_offer: false },
            media_path: MediaPath::default(),
            forwards: HashMap::new(),
        };
        let others: Vec<ParticipantInfo> = self.members.iter().map(|(pid, m)| m.info(pid)).collect();
        member.send(ServerMessage::Welcome {
            participant_id: id.clone(),
            participants: others,
            resume,
        });
        self.announce(&id, &member);
        let existing: Vec<_> = self
            .published
            .iter()
            .map(|((publisher, track), p)| (publisher.clone(), track.clone(), p.kind))
            .collect();
        for (publisher, track, kind) in existing {
            self.subscribe(&mut member, &publisher, &track, kind).await;
        }
        tracing::info!(room = %self.name, participant = %id, "participant joined");
        self.members.insert(id.clone(), member);
        Ok(id)
    }

    /// A fresh participant id, and the arrival number it stands for.
    fn next_participant_id(&mut self) -> Option<(ParticipantId, u64)> {
        let arrival = self.next_id;
        let id = ParticipantId::new(format!("p{arrival}")).ok()?;
        self.next_id += 1;
        Some((id, arrival))
    }

    /// A PeerConnection for member `id`, its events fed to this actor.
    async fn start_peer(&self, id: &ParticipantId) -> Option<PeerSession> {
        let (peer, mut events) = match PeerSession::new(&self.peer_config).await {
            Ok(started) => started,
            Err(e) => {
                tracing::warn!(error = %e, "could not create a PeerConnection for a joiner");
                return None;
            }
        };
        let input = self.input.clone();
        let event_owner = id.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if input.send(RoomInput::Peer(event_owner.clone(), event)).is_err() {
                    return;
                }
            }
        });
        Some(peer)
    }

    /// Tells everyone in the room that `member` (now `id`) arrived.
    fn announce(&mut self, id: &ParticipantId, member: &Member) {
        for other in self.members.values_mut() {
            other.send(ServerMessage::ParticipantJoined {
                participant: member.info(id),
            });
        }
    }

    /// If `joiner`'s identity is already here: with the matching proof (and a policy that
    /// allows it) the old session is told it was replaced and removed; otherwise the join is
    /// refused with `IdentityTaken`.
    async fn take_over(&mut self, joiner: &Joiner) -> Result<(), SignalErrorCode> {
        let Some((old, member)) = self
            .members
            .iter_mut()
            .find(|(_, m)| m.identity == joiner.identity)
        else {
            return Ok(());
        };
        let proven = member.proof == proof_digest(&joiner.proof);
        if self.takeover == TakeoverPolicy::Deny || !proven {
            tracing::info!(room = %self.name, participant = %old, proven, "refused a second session of an identity");
            return Err(SignalErrorCode::IdentityTaken);
        }
        member.send(ServerMessage::Replaced {});
        let old = old.clone();
        tracing::info!(room = %self.name, participant = %old, "a new session took over");
        self.leave(&old, LeaveReason::Replaced).await;
        Ok(())
    }

    /// Adds `publisher`'s `track` to `member`'s PeerConnection.
    async fn subscribe(
        &mut self,
        member: &mut Member,
        publisher: &ParticipantId,
        track: &TrackId,
        kind: MediaKind,
    ) {
        let Some(fid) = forward_id(publisher, track) else {
            return;
        };
        match member
            .peer
            .add_forward_track(publisher.as_str(), fid.clone(), kind)
            .await
        {
            Ok(forward) => {
                if let Some(published) = self.published.get(&(publisher.clone(), track.clone())) {
                    published.fanout.add(forward.clone());
                }
                member
                    .forwards
                    .insert(fid, (publisher.clone(), track.clone(), forward));
                Self::renegotiate(member).await;
            }
            Err(e) => tracing::warn!(error = %e, "could not add a forwarded track"),
        }
    }

    async fn renegotiate(member: &mut Member) {
        match &mut member.negotiation {
            Negotiation::AwaitingClientOffer { then_offer } => *then_offer = true,
            Negotiation::AwaitingAnswer { again } => *again = true,
            Negotiation::Stable => match Self::offer(member).await {
                Ok(offer) => {
                    member.send(ServerMessage::Sdp {
                        kind: offer.kind,
                        sdp: offer.sdp,
                    });
                    member.negotiation = Negotiation::AwaitingAnswer { again: false };
                }
                Err(e) => member.send(ServerMessage::error(SignalErrorCode::MediaFailed, e.to_string())),
            },
        }
    }

    /// An offer for `member`: one that restarts ICE if their media path asked for it.
    async fn offer(member: &mut Member) -> Result<SessionDescription, confab_rtc::RtcError> {
        if member.media_path.take_restart() {
            tracing::info!(
                restarts = member.peer.ice_restarts() + 1,
                "restarting ICE on a lost media path"
            );
            member.peer.create_ice_restart_offer().await
        } else {
            member.peer.create_offer().await
        }
    }

    /// Schedules a look at `id`'s media path after `after`.
    fn check_media_path_in(&self, id: &ParticipantId, after: Duration) {
        let (input, id) = (self.input.clone(), id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = input.send(RoomInput::CheckMediaPath(id));
        });
    }

    /// Restarts ICE for a member whose media path is still down, and looks again later.
    async fn check_media_path(&mut self, id: &ParticipantId) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        if let Some(again) = member.media_path.check_due() {
            Self::renegotiate(member).await;
            self.check_media_path_in(id, again);
        }
    }

    async fn client(&mut self, id: &ParticipantId, seq: Option<u64>, message: ClientMessage) {
        let Some(mut member) = self.members.remove(id) else {
            return;
        };
        if member.link().is_some_and(|link| link.accept(seq)) {
            self.client_message(id, &mut member, message).await;
        }
        self.members.insert(id.clone(), member);
    }

    async fn client_message(&mut self, id: &ParticipantId, member: &mut Member, message: ClientMessage) {
        match message {
            ClientMessage::Sdp { kind, sdp } => {
                self.description(member, SessionDescription { kind, sdp }).await
            }
            ClientMessage::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                let candidate = confab_core::IceCandidate {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                };
                if let Err(e) = member.peer.add_remote_candidate(candidate).await {
                    tracing::debug!(participant = %id, error = %e, "ignored a remote candidate");
                }
            }
            ClientMessage::Publish { track } => {
                member.tracks.insert(track.id.clone(), track.clone());
                self.broadcast_except(
                    id,
                    ServerMessage::TrackPublished {
                        participant: id.clone(),
                        track,
                    },
                );
            }
            ClientMessage::Mute { track, muted } => match member.tracks.get_mut(&track) {
                Some(info) => {
                    info.muted = muted;
                    self.broadcast_except(
                        id,
                        ServerMessage::TrackMuted {
                            participant: id.clone(),
                            track,
                            muted,
                        },
                    );
                }
                None => member.send(ServerMessage::error(
                    SignalErrorCode::BadMessage,
                    "mute names a track that was never published",
                )),
            },
            ClientMessage::Chat {
                id: message_id,
                order,
                conversation,
                text,
            } => match conversation {
                ConversationId::Public => self.broadcast_except(
                    id,
                    ServerMessage::Chat {
                        id: message_id,
                        from: id.clone(),
                        from_identity: member.identity.clone(),
                        from_name: member.name.clone(),
                        order,
                        conversation,
                        text,
                    },
                ),
                // A private message in plain text is refused, never broadcast.
                _ => member.send(ServerMessage::ChatRejected {
                    id: message_id,
                    code: SignalErrorCode::BadMessage,
                    message: "private messages must be sealed (private_chat)".into(),
                }),
            },
            ClientMessage::PrivateChat {
                id: message_id,
                envelopes,
            } => self.route_private(id, member, message_id, envelopes),
            ClientMessage::ChatAck { id: message_id, to } => {
                if let Some(sender) = self.members.get_mut(&to) {
                    sender.send(ServerMessage::ChatAck {
                        id: message_id,
                        from: id.clone(),
                    });
                }
            }
            ClientMessage::Join { .. }
            | ClientMessage::Resume { .. }
            | ClientMessage::Leave {}
            | ClientMessage::Ping { .. } => member.send(ServerMessage::error(
                SignalErrorCode::WrongState,
                "already joined",
            )),
        }
    }

    async fn description(&mut self, member: &mut Member, desc: SessionDescription) {
        let wrong_state = |what: &str| ServerMessage::error(SignalErrorCode::WrongState, what.to_owned());
        match (desc.kind, &member.negotiation) {
            (SdpKind::Offer, Negotiation::AwaitingAnswer { .. }) => {
                return member.send(wrong_state(
                    "an offer arrived while the server's offer is pending",
                ));
            }
            (SdpKind::Answer, Negotiation::AwaitingClientOffer { .. } | Negotiation::Stable) => {
                return member.send(wrong_state("an answer arrived but no offer is pending"));
            }
            _ => {}
        }
        let offer_after = match member.negotiation {
            Negotiation::AwaitingClientOffer { then_offer } => then_offer,
            Negotiation::AwaitingAnswer { again } => again,
            Negotiation::Stable => false,
        };
        match member.peer.apply_remote(desc).await {
            Ok(answer) => {
                if let Some(answer) = answer {
                    member.send(ServerMessage::Sdp {
                        kind: answer.kind,
                        sdp: answer.sdp,
                    });
                }
                member.negotiation = Negotiation::Stable;
                if offer_after {
                    Self::renegotiate(member).await;
                }
            }
            Err(e) => member.send(ServerMessage::error(SignalErrorCode::MediaFailed, e.to_string())),
        }
    }

    async fn peer_event(&mut self, id: &ParticipantId, event: PeerEvent) {
        match event {
            PeerEvent::LocalCandidate(c) => {
                if let Some(member) = self.members.get_mut(id) {
                    member.send(ServerMessage::Candidate {
                        candidate: c.candidate,
                        sdp_mid: c.sdp_mid,
                        sdp_mline_index: c.sdp_mline_index,
                    });
                }
            }
            PeerEvent::TrackReceived(remote) => self.track_received(id, remote).await,
            PeerEvent::KeyframeRequested(forward) => self.relay_keyframe_request(id, &forward),
            PeerEvent::StateChanged(state) => {
                if self.members.get(id).is_some_and(|m| !m.follows_the_room()) {
                    return self.stream_state_changed(id, state).await;
                }
                let check = self
                    .members
                    .get_mut(id)
                    .and_then(|m| m.media_path.state_changed(state));
                if let Some(after) = check {
                    self.check_media_path_in(id, after);
                }
            }
            // They closed their media connection without saying goodbye first.
            PeerEvent::RemoteClosed => self.leave(id, LeaveReason::ConnectionLost).await,
            _ => {}
        }
    }

    async fn track_received(&mut self, publisher: &ParticipantId, remote: RemoteTrack) {
        let kind = remote.kind();
        let Some(member) = self.members.get(publisher) else {
            return;
        };
        let track = match &member.via {
            Via::Signaling(_) => TrackId::new(remote.track_id()).ok(),
            Via::Http(stream) => stream.track_id(member, kind),
        };
        let Some(track) = track else {
            tracing::warn!(participant = %publisher, "ignored a track with an invalid id");
            return;
        };
        let key = (publisher.clone(), track.clone());
        if self.published.contains_key(&key) || !self.members.contains_key(publisher) {
            return;
        }
        let remote = Arc::new(remote);
        self.published.insert(
            key,
            Published {
                kind,
                fanout: Fanout::start(remote.clone()),
                remote,
                last_keyframe_request: None,
            },
        );
        self.stream_track_published(publisher, &track, kind);
        let subscribers: Vec<_> = self
            .members
            .iter()
            .filter(|(id, m)| *id != publisher && m.follows_the_room())
            .map(|(id, _)| id.clone())
            .collect();
        for subscriber in subscribers {
            if let Some(mut member) = self.members.remove(&subscriber) {
                self.subscribe(&mut member, publisher, &track, kind).await;
                self.members.insert(subscriber, member);
            }
        }
        self.feed_watchers();
    }

    fn relay_keyframe_request(&mut self, subscriber: &ParticipantId, forward: &TrackId) {
        let Some((publisher, track, _)) = self.members.get(subscriber).and_then(|m| m.forwards.get(forward))
        else {
            return;
        };
        let Some(published) = self.published.get_mut(&(publisher.clone(), track.clone())) else {
            return;
        };
        let now = Instant::now();
        if published
            .last_keyframe_request
            .is_some_and(|at| now - at < PLI_INTERVAL)
        {
            return;
        }
        published.request_keyframe(now);
    }

    /// Carries a member's session on over a new connection (see [`MemberLink::resume`]).
    fn resume(&mut self, resumer: Resumer, out: Outbox) -> Result<u64, SignalErrorCode> {
        let member = self
            .members
            .get_mut(&resumer.participant)
            .ok_or(SignalErrorCode::SessionExpired)?;
        let epoch = member.link().ok_or(SignalErrorCode::SessionExpired)?.resume(
            out,
            &resumer.secret,
            resumer.received,
        )?;
        tracing::info!(room = %self.name, participant = %resumer.participant, "session resumed");
        Ok(epoch)
    }

    /// A member's connection ended. Leaving is at once; a lost connection keeps the member's
    /// place for [`RESUME_GRACE`] (nobody is told) in case it resumes on a new one. The end of
    /// a connection that a resume already replaced changes nothing.
    async fn connection_ended(&mut self, id: &ParticipantId, epoch: u64, reason: LeaveReason) {
        let Some(link) = self.members.get_mut(id).and_then(Member::link) else {
            return;
        };
        if reason != LeaveReason::ConnectionLost {
            if link.epoch() == epoch {
                self.leave(id, reason).await;
            }
            return;
        }
        if link.detach(epoch) {
            tracing::info!(room = %self.name, participant = %id, "connection lost; keeping the session for a resume");
            let (input, id) = (self.input.clone(), id.clone());
            tokio::spawn(async move {
                tokio::time::sleep(RESUME_GRACE).await;
                let _ = input.send(RoomInput::GraceOver(id, epoch));
            });
        }
    }

    async fn leave(&mut self, id: &ParticipantId, reason: LeaveReason) {
        let Some(member) = self.members.remove(id) else {
            return;
        };
        let peer = member.peer.clone();
        tokio::spawn(async move { peer.close().await });
        // Stop forwarding what they published, and what was forwarded to them.
        self.published.retain(|(publisher, _), _| publisher != id);
        for (publisher, track, forward) in member.forwards.values() {
            if let Some(published) = self.published.get(&(publisher.clone(), track.clone())) {
                published.fanout.remove(forward);
            }
        }
        // Tell everyone first, then end the forwarded tracks in all their connections at once
        // (each says goodbye and waits for it to leave), then renegotiate the idle slots.
        let mut ended = Vec::new();
        for (subscriber, other) in &mut self.members {
            other.send(ServerMessage::ParticipantLeft {
                id: id.clone(),
                reason,
            });
            if !other.follows_the_room() {
                continue;
            }
            let gone: Vec<_> = other
                .forwards
                .extract_if(|_, (publisher, _, _)| publisher == id)
                .map(|(_, (_, _, forward))| forward)
                .collect();
            if !gone.is_empty() {
                ended.push((subscriber.clone(), other.peer.clone(), gone));
            }
        }
        let removals = ended
            .iter()
            .map(|(_, peer, gone)| peer.remove_forward_tracks(gone));
        for result in futures_util::future::join_all(removals).await {
            if let Err(e) = result {
                tracing::debug!(error = %e, "could not retire a forwarded track");
            }
        }
        for (subscriber, _, _) in ended {
            if let Some(other) = self.members.get_mut(&subscriber) {
                Self::renegotiate(other).await;
            }
        }
        self.feed_watchers();
        tracing::info!(room = %self.name, participant = %id, ?reason, "participant left");
    }

    /// Delivers each sealed envelope to the one participant it names, or — if any recipient is
    /// missing, repeated or the sender — delivers nothing and tells the sender why.
    fn route_private(
        &mut self,
        sender: &ParticipantId,
        member: &mut Member,
        message_id: MessageId,
        envelopes: Vec<Envelope>,
    ) {
        let mut seen = HashSet::new();
        let problem = if envelopes.is_empty() || envelopes.len() >= MAX_PARTICIPANTS {
            Some((
                SignalErrorCode::BadMessage,
                "a private message needs 1 to 15 recipients".to_owned(),
            ))
        } else {
            envelopes.iter().find_map(|e| {
                if e.to == *sender || !seen.insert(e.to.clone()) {
                    Some((
                        SignalErrorCode::BadMessage,
                        format!("recipient {} is repeated or the sender", e.to),
                    ))
                } else if !self.members.contains_key(&e.to) {
                    Some((
                        SignalErrorCode::UnknownParticipant,
                        format!("{} is not in the room", e.to),
                    ))
                } else {
                    None
                }
            })
        };
        if let Some((code, message)) = problem {
            return member.send(ServerMessage::ChatRejected {
                id: message_id,
                code,
                message,
            });
        }
        for envelope in envelopes {
            if let Some(recipient) = self.members.get_mut(&envelope.to) {
                recipient.send(ServerMessage::PrivateChat {
                    id: message_id.clone(),
                    from: sender.clone(),
                    envelope,
                });
            }
        }
    }

    fn broadcast_except(&mut self, sender: &ParticipantId, message: ServerMessage) {
        for (id, member) in &mut self.members {
            if id != sender {
                member.send(message.clone());
            }
        }
    }
}
