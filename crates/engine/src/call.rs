//! The [`Call`] task: owns the room, the adapter, the transport and the PeerSession, and gets
//! back into the room when the connection is lost.
//!
//! Reconnecting: a lost signaling connection (closed, failed, or a server silent for
//! [`SERVER_SILENCE_LIMIT`] although we ping it) or a failed media connection after we were in
//! the room starts attempts with jittered exponential backoff for up to [`RECONNECT_FOR`]. Each
//! attempt opens a new signaling connection and joins again as the same identity with its
//! proof, so the server hands us our place back even if it has not noticed the old session die
//! (takeover). The chat history, delivery state, published tracks and mute state carry over;
//! capture and encoding keep running and switch to the new media connection.

use crate::api::{CallCommand, CallError, CallEvent, CallSnapshot, Recovery};
use crate::identity::Identity;
use crate::media_out::MediaSink;
use crate::record::CallRecord;
use crate::room_events::{relay, track_muted, Presence};
use crate::seal::SessionKeys;
use crate::send::{track_id, Outgoing};
use confab_core::link::NativeLink;
use confab_core::{
    ConversationId, JoinLink, LeaveReason, MediaKind, MessageId, Output, ParticipantId, PeerSlot, Room,
    RoomCommand, RoomEvent, SendOrder, SignalIn, SignalOut,
};
use confab_media::{AudioSource, VideoSource};
use confab_rtc::{LocalMediaTrack, PeerConfig, PeerEvent, PeerSession, PeerState};
use confab_signal::native::{NativeAdapter, PING_INTERVAL};
use confab_signal::{SignalingAdapter, Transport, TransportError, WebSocketTransport};
use media_path::{MediaPathWatch, PathChange};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::sleep_until;

mod media_path;
pub(crate) mod reconnect;
pub(crate) mod snapshot;

/// How long connecting to the signaling server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a far-future timer sleeps when the room wants no wake-up.
const IDLE: Duration = Duration::from_secs(3600);
/// The server answers every ping; this long without a frame means the connection is gone.
pub const SERVER_SILENCE_LIMIT: Duration = PING_INTERVAL.saturating_mul(4);
/// How long to keep trying to get back into the room after losing the connection.
pub const RECONNECT_FOR: Duration = Duration::from_secs(60);
/// The wait before the first reconnect attempt; it doubles per attempt up to
/// [`BACKOFF_LONGEST`], each wait jittered by ±25% so many clients do not retry in step.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_LONGEST: Duration = Duration::from_secs(4);

/// What a call needs to start.
pub struct CallConfig {
    /// Where to join.
    pub link: JoinLink,
    /// Our display name.
    pub name: String,
    /// Camera or synthetic video; `None` joins without video (unless `muted` lists it).
    pub video: Option<Box<dyn VideoSource>>,
    /// Microphone or synthetic audio; `None` joins without audio (unless `muted` lists it).
    pub audio: Option<Box<dyn AudioSource>>,
    /// Media that start muted. A muted medium with no source is still offered to the room
    /// (others see it muted), so a camera or microphone switched on later
    /// ([`CallCommand::ReplaceSource`], then unmuting) goes out without renegotiating.
    pub muted: Vec<MediaKind>,
    /// Where media sockets bind; `None` binds the local address the signaling connection uses,
    /// which is the interface that reaches the server.
    pub peer: Option<PeerConfig>,
    /// Our stable identity and its proof; `None` makes a fresh one for this call.
    pub identity: Option<Identity>,
    /// Where decoded remote pictures go (the desktop's tiles); `None` only counts them.
    pub media_out: Option<Arc<dyn MediaSink>>,
}

/// A running call. Drop the handle's command sender (or send `Leave`) to end it.
pub struct Call {
    control: CallControl,
    task: JoinHandle<CallSnapshot>,
}

/// A cloneable way to send commands to a running call and read its picture, for consumers
/// whose event loop does not own the [`Call`] (the desktop's event forwarder).
#[derive(Clone)]
pub struct CallControl {
    commands: mpsc::UnboundedSender<CallCommand>,
}

impl CallControl {
    /// Sends a command (ignored once the call is over).
    pub fn command(&self, command: CallCommand) {
        let _ = self.commands.send(command);
    }

    /// The whole picture now; `None` once the call is over.
    pub async fn snapshot(&self) -> Option<CallSnapshot> {
        let (tx, rx) = oneshot::channel();
        self.command(CallCommand::Snapshot(tx));
        rx.await.ok()
    }
}

impl Call {
    /// Starts joining. Events arrive on the returned receiver.
    pub fn start(config: CallConfig) -> (Self, mpsc::UnboundedReceiver<CallEvent>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            match config.link.clone() {
                JoinLink::Native(link) => run(link, config, command_rx, events).await,
                JoinLink::Stream(link) => crate::streams::run(link, config, command_rx, events).await,
                JoinLink::Janus(link) => crate::janus::run(link, config, command_rx, events).await,
                JoinLink::PeerJs(link) => crate::peerjs::run(link, config, command_rx, events).await,
            }
        });
        let control = CallControl { commands };
        (Self { control, task }, event_rx)
    }

    /// Sends a command (ignored once the call is over).
    pub fn command(&self, command: CallCommand) {
        self.control.command(command);
    }

    /// The whole picture now.
    pub async fn snapshot(&self) -> Option<CallSnapshot> {
        self.control.snapshot().await
    }

    /// Another handle for commands and snapshots.
    pub fn control(&self) -> CallControl {
        self.control.clone()
    }

    /// Leaves and returns the final picture.
    pub async fn leave(self) -> CallSnapshot {
        self.command(CallCommand::Leave);
        self.finished().await
    }

    /// Waits for the call to end by itself and returns the final picture.
    pub async fn finished(self) -> CallSnapshot {
        let Call { control, task } = self;
        let snapshot = task.await.unwrap_or_else(|_| {
            CallSnapshot::failed(
                LeaveReason::ConnectionLost,
                vec!["the call task stopped unexpectedly".into()],
            )
        });
        drop(control);
        snapshot
    }
}

/// The room command for a message the user wrote now: a fresh id and the next order stamp.
pub(crate) fn new_chat(order: &mut SendOrder, conversation: ConversationId, text: String) -> RoomCommand {
    RoomCommand::SendChat {
        id: fresh_message_id(),
        order: order.next(unix_millis()),
        conversation,
        text,
    }
}

/// A fresh random message id: unique for our identity across sessions, so a retry after a
/// reconnect is recognised as the same message.
fn fresh_message_id() -> MessageId {
    let id = MessageId::new(format!("m-{:016x}", rand::random::<u64>()));
    id.unwrap_or_else(|_| unreachable!("a hex string is a valid message id"))
}

/// Milliseconds since the Unix epoch by the wall clock (0 if it reads before 1970).
pub(crate) fn unix_millis() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Peer events tagged with the media connection they came from, so a closed connection's last
/// words are not mistaken for the current one's.
type PeerEvents = mpsc::UnboundedSender<(u64, PeerEvent)>;

struct Driver {
    /// Start, problems told, recoveries and the ending.
    record: CallRecord,
    link: NativeLink,
    name: String,
    identity: Identity,
    room: Room,
    keys: SessionKeys,
    adapter: NativeAdapter,
    transport: WebSocketTransport,
    /// When the server last sent anything.
    last_heard: Instant,
    peer: Option<Arc<PeerSession>>,
    /// Counts media connections; tags their events.
    peer_generation: u64,
    /// Our camera and microphone (started at the first join, running until the call ends).
    outgoing: Outgoing,
    peer_config: Option<PeerConfig>,
    media_out: Option<Arc<dyn MediaSink>>,
    local: Option<ParticipantId>,
    presence: Presence,
    joined_ms: Option<u64>,
    /// The user asked to leave.
    leaving: bool,
    /// The connection is lost and we should get back in.
    lost: bool,
    /// When the current loss began (cleared once back in the room).
    lost_since: Option<Instant>,
    /// Whether the current media connection's path is down.
    media_path: MediaPathWatch,
    /// ICE restarts of media connections already closed.
    closed_ice_restarts: u32,
    /// Chat sent while reconnecting, sent once we are back.
    queued_chat: Vec<RoomCommand>,
    /// Order stamps for the chat we send.
    send_order: SendOrder,
    /// Media bytes (sent, received) of media connections already closed.
    closed_media_bytes: (u64, u64),
    /// Media bytes (sent, received) in all, refreshed before each snapshot and at the end.
    media_bytes: (u64, u64),
}

/// Runs a call in a room on Confab's own server.
async fn run(
    link: NativeLink,
    config: CallConfig,
    mut commands: mpsc::UnboundedReceiver<CallCommand>,
    events: mpsc::UnboundedSender<CallEvent>,
) -> CallSnapshot {
    let started = Instant::now();
    let transport = match WebSocketTransport::connect(&link.websocket_url(), CONNECT_TIMEOUT).await {
        Ok(transport) => transport,
        Err(e) => {
            let error = CallError::from(e);
            let message = error.to_string();
            let _ = events.send(CallEvent::Ended {
                reason: LeaveReason::ConnectionLost,
                error: Some(error),
            });
            return CallSnapshot::failed(LeaveReason::ConnectionLost, vec![message]);
        }
    };
    let (problems, mut problem_rx) = mpsc::unbounded_channel();
    let identity = config.identity.unwrap_or_else(Identity::generate);
    let keys = SessionKeys::generate();
    let mut driver = Driver {
        record: CallRecord::new(started, events),
        link,
        name: config.name,
        room: Room::new(identity.id.clone(), keys.public().to_owned()),
        identity,
        keys,
        adapter: NativeAdapter::new(started),
        transport,
        last_heard: started,
        peer: None,
        peer_generation: 0,
        outgoing: Outgoing::new(config.video, config.audio, &config.muted, problems),
        peer_config: config.peer,
        media_out: config.media_out,
        local: None,
        presence: Presence::default(),
        joined_ms: None,
        leaving: false,
        lost: false,
        lost_since: None,
        media_path: MediaPathWatch::default(),
        closed_ice_restarts: 0,
        queued_chat: Vec::new(),
        send_order: SendOrder::default(),
        closed_media_bytes: (0, 0),
        media_bytes: (0, 0),
    };
    driver.join();
    let (peer_tx, mut peer_rx) = mpsc::unbounded_channel::<(u64, PeerEvent)>();
    let mut wake = driver.drain(&peer_tx).await;
    while driver.record.ended.is_none() {
        if driver.lost {
            driver.reconnect(&mut commands).await;
            wake = driver.drain(&peer_tx).await;
            continue;
        }
        let silence = (!driver.room.has_left()).then_some(driver.last_heard + SERVER_SILENCE_LIMIT);
        let next = [
            wake,
            driver.adapter.poll_timeout(),
            silence,
            driver.media_path.deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        let deadline = tokio::time::Instant::from_std(next.unwrap_or_else(|| Instant::now() + IDLE));
        tokio::select! {
            frame = driver.transport.recv() => match frame {
                Some(Ok(frame)) => driver.frame(&frame),
                Some(Err(e)) => {
                    driver.record.problem(e.into());
                    driver.signaling_lost(Instant::now());
                }
                None => driver.signaling_lost(Instant::now()),
            },
            Some((generation, event)) = peer_rx.recv() => driver.peer_event(generation, event),
            Some(problem) = problem_rx.recv() => driver.record.local_problem(problem),
            command = commands.recv() => driver.command(command).await,
            () = sleep_until(deadline) => driver.timeout(Instant::now()).await,
        }
        wake = driver.drain(&peer_tx).await;
    }
    driver.shut_down().await;
    driver.snapshot()
}

impl Driver {
    /// Asks the room to join (again), as our identity, with this session's key.
    fn join(&mut self) {
        let join = RoomCommand::Join {
            room: self.link.room.clone(),
            name: self.name.clone(),
            token: self.link.token.clone(),
            proof: self.identity.proof.clone(),
        };
        let _ = self.room.handle_command(Instant::now(), join);
    }

    async fn command(&mut self, command: Option<CallCommand>) {
        match command {
            Some(CallCommand::SendChat { conversation, text }) => {
                let send = new_chat(&mut self.send_order, conversation, text);
                if self.reconnecting() {
                    self.queued_chat.push(send);
                } else if let Err(e) = self.room.handle_command(Instant::now(), send) {
                    self.record.problem(e.into());
                }
            }
            Some(CallCommand::SetMuted { kind, muted }) => self.set_muted(kind, muted),
            Some(command @ (CallCommand::ReplaceSource(_) | CallCommand::CloseSource(_))) => {
                if let Err(e) = self.outgoing.device_command(command) {
                    self.record.problem(e);
                }
            }
            Some(CallCommand::Snapshot(reply)) => {
                self.refresh_media_bytes().await;
                let _ = reply.send(self.snapshot());
            }
            Some(CallCommand::Leave) | None => {
                self.leaving = true;
                if self.reconnecting() {
                    self.record.end(LeaveReason::Hangup, None);
                } else {
                    let _ = self.room.handle_command(Instant::now(), RoomCommand::Leave);
                }
            }
        }
    }

    /// Whether we were in the room and are trying to get back.
    fn reconnecting(&self) -> bool {
        self.lost_since.is_some()
    }

    /// A timer fired: the room's (join deadline), the adapter's (keepalives), or the silence
    /// limit.
    async fn timeout(&mut self, now: Instant) {
        self.room.handle_timeout(now);
        if !self.room.has_left() && now >= self.last_heard + SERVER_SILENCE_LIMIT {
            let silent = TransportError::Lost(format!(
                "the server has not answered for {} s",
                SERVER_SILENCE_LIMIT.as_secs()
            ));
            self.record.problem(silent.into());
            self.signaling_lost(now);
            return;
        }
        if self.media_path.deadline().is_some_and(|deadline| now >= deadline) {
            self.media_path.reset();
            self.record
                .problem(CallError::Rtc(confab_rtc::RtcError::NotConnected));
            self.room.handle_disconnect(now);
            return;
        }
        for frame in self.adapter.handle_timeout(now) {
            if let Err(e) = self.transport.send(frame).await {
                self.record.problem(e.into());
                self.signaling_lost(now);
                return;
            }
        }
    }

    /// The signaling connection is gone. A session in the room waits to be resumed on a new
    /// connection: the room, the media connection and every unacknowledged message stay as they
    /// are (see [`reconnect`]). Otherwise the room is over, and reconnecting joins afresh.
    fn signaling_lost(&mut self, now: Instant) {
        if self.lost || self.reconnecting() {
            return;
        }
        if self.room.is_joined() && !self.leaving {
            self.lost = true;
            self.lost_since = Some(now);
        } else {
            self.room.handle_disconnect(now);
        }
    }

    /// Sends the chat the user wrote while the call was getting back in.
    fn send_queued_chat(&mut self) {
        for send in std::mem::take(&mut self.queued_chat) {
            if let Err(e) = self.room.handle_command(Instant::now(), send) {
                self.record.problem(e.into());
            }
        }
    }

    fn frame(&mut self, frame: &str) {
        self.last_heard = Instant::now();
        match self.adapter.decode(frame) {
            Ok(signals) => {
                for signal in signals {
                    self.room.handle_signal(Instant::now(), signal);
                }
            }
            Err(e) => self.record.problem(e.into()),
        }
    }

    /// Carries out everything the room asked for; returns when it next wants a wake-up.
    async fn drain(&mut self, peer_tx: &PeerEvents) -> Option<Instant> {
        loop {
            match self.room.poll_output() {
                Output::Timeout(at) => return at,
                Output::Signal(out) => self.send_signal(out).await,
                Output::RemoteDescription(slot, desc) => {
                    let Some(peer) = self.peer_for(slot) else { continue };
                    match peer.apply_remote(desc).await {
                        Ok(Some(answer)) => {
                            let send = RoomCommand::SendDescription(slot, answer);
                            let _ = self.room.handle_command(Instant::now(), send);
                        }
                        Ok(None) => {}
                        Err(e) => self.record.problem(e.into()),
                    }
                }
                Output::RemoteCandidate(slot, candidate) => {
                    if let Some(peer) = self.peer_for(slot) {
                        if let Err(e) = peer.add_remote_candidate(candidate).await {
                            tracing::debug!(error = %e, "ignored a remote candidate");
                        }
                    }
                }
                Output::Seal(draft) => match self.keys.seal(&draft) {
                    Ok(envelopes) => {
                        let id = draft.message.id;
                        self.send_signal(SignalOut::SealedChat { id, envelopes }).await;
                    }
                    Err(e) => {
                        let reason = e.to_string();
                        let _ = self.room.handle_command(
                            Instant::now(),
                            RoomCommand::ChatFailed {
                                id: draft.message.id,
                                reason,
                            },
                        );
                        self.record.problem(e.into());
                    }
                },
                Output::Unseal { id, from, envelope } => match self.keys.open(&id, &from, &envelope) {
                    Ok(message) => self.room.handle_signal(Instant::now(), SignalIn::Chat(message)),
                    Err(e) => self.record.problem(e.into()),
                },
                Output::Event(event) => self.room_event(event, peer_tx).await,
            }
        }
    }

    /// The PeerSession for `slot`. This driver runs the single-connection topology of the native
    /// adapter; a signal for another slot is a server bug, reported and skipped.
    fn peer_for(&mut self, slot: PeerSlot) -> Option<Arc<PeerSession>> {
        if slot != PeerSlot::Main {
            let unsupported = confab_signal::AdapterError::Unsupported("use more than one media connection");
            self.record.problem(unsupported.into());
            return None;
        }
        self.peer.clone()
    }

    async fn send_signal(&mut self, out: SignalOut) {
        if self.room.has_left() && !matches!(out, SignalOut::Leave) {
            return;
        }
        match self.adapter.encode(out) {
            Ok(frames) => {
                for frame in frames {
                    if let Err(e) = self.transport.send(frame).await {
                        self.record.problem(e.into());
                        self.signaling_lost(Instant::now());
                        return;
                    }
                }
            }
            Err(e) => self.record.problem(e.into()),
        }
    }

    async fn room_event(&mut self, event: RoomEvent, peer_tx: &PeerEvents) {
        let Some(event) = relay(&mut self.record, &mut self.presence, event) else {
            return;
        };
        let out = match event {
            RoomEvent::Joined { local } => {
                let now_ms = self.record.elapsed_ms();
                self.joined_ms.get_or_insert(now_ms);
                if let Some(lost) = self.lost_since.take() {
                    self.record.recovered(lost, Recovery::Rejoined);
                }
                self.local = Some(local.clone());
                if let Err(e) = self.connect_media(&local, peer_tx).await {
                    self.record.problem(e);
                }
                self.send_queued_chat();
                Some(CallEvent::Joined { local })
            }
            RoomEvent::Left { reason, error } => {
                // While getting back in, our own old session may still hold our identity on a
                // server that does not allow takeover; it lets go once it notices.
                let old_session_in_the_way = self.reconnecting()
                    && error
                        == Some(confab_core::RoomError::Refused {
                            code: confab_core::SignalErrorCode::IdentityTaken,
                        });
                let recoverable = (reason == LeaveReason::ConnectionLost || old_session_in_the_way)
                    && self.joined_ms.is_some()
                    && !self.leaving;
                if recoverable {
                    if let Some(e) = error {
                        self.record.problem(e.into());
                    }
                    self.lost = true;
                } else {
                    self.record.end(reason, error.map(CallError::from));
                }
                None
            }
            RoomEvent::TrackMuted {
                participant,
                track,
                muted,
            } => track_muted(&self.room, participant, &track, muted),
            _ => None,
        };
        if let Some(event) = out {
            self.record.send(event);
        }
    }

    /// Creates this session's PeerSession, publishes our tracks on it, points local media at
    /// them (starting capture on the first join) and sends the offer.
    async fn connect_media(&mut self, local: &ParticipantId, peer_tx: &PeerEvents) -> Result<(), CallError> {
        let config = self
            .peer_config
            .clone()
            .unwrap_or_else(|| PeerConfig::bound_to(self.transport.local_ip()));
        let (peer, mut peer_events) = PeerSession::new(&config).await?;
        self.peer_generation += 1;
        let generation = self.peer_generation;
        let forward = peer_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = peer_events.recv().await {
                if forward.send((generation, event)).is_err() {
                    return;
                }
            }
        });
        let peer = Arc::new(peer);
        let video = self.publish(&peer, local, MediaKind::Video).await?;
        let audio = self.publish(&peer, local, MediaKind::Audio).await?;
        let offer = peer.create_offer().await?;
        self.peer = Some(peer);
        let _ = self.room.handle_command(
            Instant::now(),
            RoomCommand::SendDescription(PeerSlot::Main, offer),
        );
        if let Some(media) = self.outgoing.start() {
            media.attach(video, audio);
        }
        Ok(())
    }

    /// Adds and announces our track of `kind`, if we send that medium; otherwise asks to
    /// receive it, so the offer is never empty.
    async fn publish(
        &mut self,
        peer: &PeerSession,
        local: &ParticipantId,
        kind: MediaKind,
    ) -> Result<Option<Arc<LocalMediaTrack>>, CallError> {
        let Some(info) = self.outgoing.track(kind) else {
            peer.add_receiver(kind).await?;
            return Ok(None);
        };
        let track = peer
            .add_media_track(local.as_str(), info.id.clone(), kind)
            .await?;
        let _ = self
            .room
            .handle_command(Instant::now(), RoomCommand::Publish(info));
        Ok(Some(track))
    }

    fn peer_event(&mut self, generation: u64, event: PeerEvent) {
        if generation != self.peer_generation || self.peer.is_none() {
            return;
        }
        match event {
            PeerEvent::LocalCandidate(candidate) => {
                let send = RoomCommand::SendCandidate(PeerSlot::Main, candidate);
                let _ = self.room.handle_command(Instant::now(), send);
            }
            PeerEvent::TrackReceived(track) => {
                let Ok(participant) = ParticipantId::new(track.stream_id()) else {
                    tracing::warn!("ignored a remote track with an invalid stream id");
                    return;
                };
                self.presence
                    .receive(track, participant, &self.record, self.media_out.clone());
            }
            PeerEvent::KeyframeRequested(_) => {
                self.outgoing.media().iter().for_each(|m| m.request_keyframe())
            }
            PeerEvent::SendFeedback(feedback) => {
                self.outgoing.media().iter().for_each(|m| m.feedback(feedback))
            }
            PeerEvent::StateChanged(state) => self.media_path_changed(state),
            _ => {}
        }
    }

    /// The media connection's path went down or came back. While signaling works the server
    /// restarts ICE, so the call waits (see [`MediaPathWatch`]); [`Driver::timeout`] rejoins if
    /// the wait runs out.
    fn media_path_changed(&mut self, state: PeerState) {
        let now = Instant::now();
        match self.media_path.state_changed(state, now) {
            PathChange::Interrupted => {
                tracing::info!("the media path is down; waiting for it to come back");
                self.record.send(CallEvent::MediaInterrupted);
            }
            PathChange::Restored(since) => {
                self.record.recovered(since, Recovery::MediaPathRestored);
                tracing::info!(down_ms = ?now.duration_since(since), "the media path is back");
                self.record.send(CallEvent::MediaRestored);
            }
            PathChange::None => {}
        }
    }

    fn set_muted(&mut self, kind: MediaKind, muted: bool) {
        if let Err(e) = self.outgoing.set_muted(kind, muted) {
            return self.record.problem(e);
        }
        if self.room.local_tracks().contains_key(&track_id(kind)) {
            let mute = RoomCommand::Mute {
                track: track_id(kind),
                muted,
            };
            if let Err(e) = self.room.handle_command(Instant::now(), mute) {
                self.record.problem(e.into());
            }
        }
    }

    async fn refresh_media_bytes(&mut self) {
        let (mut sent, mut received) = self.closed_media_bytes;
        if let Some(peer) = &self.peer {
            let stats = peer.stats().await;
            sent += stats.bytes_sent;
            received += stats.bytes_received;
        }
        self.media_bytes = (sent, received);
    }

    async fn shut_down(&mut self) {
        self.refresh_media_bytes().await;
        self.transport.close().await;
        self.outgoing.stop();
        if let Some(peer) = self.peer.take() {
            self.closed_ice_restarts += peer.ice_restarts();
            peer.close().await;
        }
    }
}
