//! The [`Call`] task: owns the room, the adapter, the transport and the PeerSession.

use crate::api::{CallCommand, CallError, CallEvent, CallSnapshot, RemoteSnapshot, SentSnapshot};
use crate::receive::{receive_track, RemoteStats};
use crate::seal::SessionKeys;
use crate::send::LocalMedia;
use confab_core::{
    ChatMessage, IdentityId, JoinLink, LeaveReason, MediaKind, MessageId, Output, ParticipantId, PeerSlot,
    Room, RoomCommand, RoomEvent, SignalIn, SignalOut, TrackId, TrackInfo,
};
use confab_media::pipeline::MediaError;
use confab_media::{AudioSource, VideoSource};
use confab_rtc::{LocalMediaTrack, PeerConfig, PeerEvent, PeerSession, PeerState};
use confab_signal::native::NativeAdapter;
use confab_signal::{SignalingAdapter, Transport, WebSocketTransport};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::sleep_until;

/// How long connecting to the signaling server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a far-future timer sleeps when the room wants no wake-up.
const IDLE: Duration = Duration::from_secs(3600);

/// What a call needs to start.
pub struct CallConfig {
    /// Where to join.
    pub link: JoinLink,
    /// Our display name.
    pub name: String,
    /// Camera or synthetic video; `None` joins without video.
    pub video: Option<Box<dyn VideoSource>>,
    /// Microphone or synthetic audio; `None` joins without audio.
    pub audio: Option<Box<dyn AudioSource>>,
    /// Where media sockets bind; `None` binds the local address the signaling connection uses,
    /// which is the interface that reaches the server.
    pub peer: Option<PeerConfig>,
    /// Our stable identity; `None` makes a fresh one for this call.
    pub identity: Option<IdentityId>,
}

/// A running call. Drop the handle's command sender (or send `Leave`) to end it.
pub struct Call {
    commands: mpsc::UnboundedSender<CallCommand>,
    task: JoinHandle<CallSnapshot>,
}

impl Call {
    /// Starts joining. Events arrive on the returned receiver.
    pub fn start(config: CallConfig) -> (Self, mpsc::UnboundedReceiver<CallEvent>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(config, command_rx, events));
        (Self { commands, task }, event_rx)
    }

    /// Sends a command (ignored once the call is over).
    pub fn command(&self, command: CallCommand) {
        let _ = self.commands.send(command);
    }

    /// The whole picture now.
    pub async fn snapshot(&self) -> Option<CallSnapshot> {
        let (tx, rx) = oneshot::channel();
        self.command(CallCommand::Snapshot(tx));
        rx.await.ok()
    }

    /// Leaves and returns the final picture.
    pub async fn leave(self) -> CallSnapshot {
        self.command(CallCommand::Leave);
        self.finished().await
    }

    /// Waits for the call to end by itself and returns the final picture.
    pub async fn finished(self) -> CallSnapshot {
        let Call { commands, task } = self;
        let snapshot = task.await.unwrap_or_else(|_| {
            CallSnapshot::failed(
                LeaveReason::ConnectionLost,
                vec!["the call task stopped unexpectedly".into()],
            )
        });
        drop(commands);
        snapshot
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SentTotals {
    frames_sent: u64,
    encode_ms_per_frame: f64,
    frames_dropped_before_send: u64,
}

/// A fresh random identity, for a call that was given none.
fn fresh_identity() -> IdentityId {
    let id = IdentityId::new(format!("id-{:016x}", rand::random::<u64>()));
    id.unwrap_or_else(|_| unreachable!("a hex string is a valid identity"))
}

/// A fresh random message id: unique for our identity across sessions, so a retry after a
/// reconnect is recognised as the same message.
fn fresh_message_id() -> MessageId {
    let id = MessageId::new(format!("m-{:016x}", rand::random::<u64>()));
    id.unwrap_or_else(|_| unreachable!("a hex string is a valid message id"))
}

struct Driver {
    started: Instant,
    room: Room,
    keys: SessionKeys,
    adapter: NativeAdapter,
    transport: WebSocketTransport,
    events: mpsc::UnboundedSender<CallEvent>,
    peer: Option<Arc<PeerSession>>,
    video_source: Option<Box<dyn VideoSource>>,
    audio_source: Option<Box<dyn AudioSource>>,
    peer_config: PeerConfig,
    media: Option<LocalMedia>,
    problems: mpsc::UnboundedSender<MediaError>,
    local: Option<ParticipantId>,
    remote: HashMap<ParticipantId, Arc<RemoteStats>>,
    left_ms: HashMap<ParticipantId, u64>,
    joined_ms: Option<u64>,
    errors: Vec<String>,
    ended: Option<LeaveReason>,
    /// Sending counters, frozen when local media stops.
    sent_totals: SentTotals,
    /// Media bytes (sent, received), refreshed before each snapshot and at the end.
    media_bytes: (u64, u64),
}

async fn run(
    config: CallConfig,
    mut commands: mpsc::UnboundedReceiver<CallCommand>,
    events: mpsc::UnboundedSender<CallEvent>,
) -> CallSnapshot {
    let started = Instant::now();
    let JoinLink::Native(link) = &config.link;
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
    let peer_config = config.peer.unwrap_or_else(|| PeerConfig {
        udp_addrs: vec![std::net::SocketAddr::new(transport.local_ip(), 0).to_string()],
    });
    let (problems, mut problem_rx) = mpsc::unbounded_channel();
    let identity = config.identity.unwrap_or_else(fresh_identity);
    let keys = SessionKeys::generate();
    let mut driver = Driver {
        started,
        room: Room::new(identity, keys.public().to_owned()),
        keys,
        adapter: NativeAdapter,
        transport,
        events,
        peer: None,
        video_source: config.video,
        audio_source: config.audio,
        peer_config,
        media: None,
        problems,
        local: None,
        remote: HashMap::new(),
        left_ms: HashMap::new(),
        joined_ms: None,
        errors: Vec::new(),
        ended: None,
        sent_totals: SentTotals::default(),
        media_bytes: (0, 0),
    };
    let join = RoomCommand::Join {
        room: link.room.clone(),
        name: config.name,
        token: link.token.clone(),
    };
    let _ = driver.room.handle_command(Instant::now(), join);
    let (peer_tx, mut peer_rx) = mpsc::unbounded_channel::<PeerEvent>();
    let mut wake = driver.drain(&peer_tx).await;
    while driver.ended.is_none() {
        let next = [wake, driver.adapter.poll_timeout()].into_iter().flatten().min();
        let deadline = tokio::time::Instant::from_std(next.unwrap_or_else(|| Instant::now() + IDLE));
        tokio::select! {
            frame = driver.transport.recv() => match frame {
                Some(Ok(frame)) => driver.frame(&frame),
                Some(Err(e)) => {
                    driver.problem(e.into());
                    driver.room.handle_disconnect(Instant::now());
                }
                None => driver.room.handle_disconnect(Instant::now()),
            },
            Some(event) = peer_rx.recv() => driver.peer_event(event).await,
            Some(problem) = problem_rx.recv() => driver.problem(problem.into()),
            command = commands.recv() => match command {
                Some(CallCommand::SendChat { conversation, text }) => {
                    let send = RoomCommand::SendChat { id: fresh_message_id(), conversation, text };
                    if let Err(e) = driver.room.handle_command(Instant::now(), send) {
                        driver.problem(e.into());
                    }
                }
                Some(CallCommand::SetMuted { kind, muted }) => driver.set_muted(kind, muted),
                Some(CallCommand::Snapshot(reply)) => {
                    driver.refresh_media_bytes().await;
                    let _ = reply.send(driver.snapshot());
                }
                Some(CallCommand::Leave) | None => {
                    let _ = driver.room.handle_command(Instant::now(), RoomCommand::Leave);
                }
            },
            () = sleep_until(deadline) => driver.timeout(Instant::now()).await,
        }
        wake = driver.drain(&peer_tx).await;
    }
    driver.shut_down().await;
    driver.snapshot()
}

impl Driver {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn problem(&mut self, error: CallError) {
        tracing::warn!(error = %error, "call problem");
        self.errors.push(error.to_string());
        let _ = self.events.send(CallEvent::Problem(error));
    }

    /// A timer fired: the room's (join deadline) or the adapter's (keepalives).
    async fn timeout(&mut self, now: Instant) {
        self.room.handle_timeout(now);
        for frame in self.adapter.handle_timeout(now) {
            if let Err(e) = self.transport.send(frame).await {
                self.problem(e.into());
                self.room.handle_disconnect(now);
                return;
            }
        }
    }

    fn frame(&mut self, frame: &str) {
        match self.adapter.decode(frame) {
            Ok(signals) => {
                for signal in signals {
                    self.room.handle_signal(Instant::now(), signal);
                }
            }
            Err(e) => self.problem(e.into()),
        }
    }

    /// Carries out everything the room asked for; returns when it next wants a wake-up.
    async fn drain(&mut self, peer_tx: &mpsc::UnboundedSender<PeerEvent>) -> Option<Instant> {
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
                        Err(e) => self.problem(e.into()),
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
                        self.problem(e.into());
                    }
                },
                Output::Unseal { id, from, envelope } => match self.keys.open(&id, &from, &envelope) {
                    Ok(message) => self.room.handle_signal(Instant::now(), SignalIn::Chat(message)),
                    Err(e) => self.problem(e.into()),
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
            self.problem(unsupported.into());
            return None;
        }
        self.peer.clone()
    }

    async fn send_signal(&mut self, out: SignalOut) {
        match self.adapter.encode(out) {
            Ok(frames) => {
                for frame in frames {
                    if let Err(e) = self.transport.send(frame).await {
                        self.problem(e.into());
                        self.room.handle_disconnect(Instant::now());
                        return;
                    }
                }
            }
            Err(e) => self.problem(e.into()),
        }
    }

    async fn room_event(&mut self, event: RoomEvent, peer_tx: &mpsc::UnboundedSender<PeerEvent>) {
        let out = match event {
            RoomEvent::Joined { local } => {
                self.joined_ms = Some(self.elapsed_ms());
                self.local = Some(local.clone());
                if let Err(e) = self.start_media(&local, peer_tx).await {
                    self.problem(e);
                }
                Some(CallEvent::Joined { local })
            }
            RoomEvent::ParticipantJoined(id) => {
                self.remote.entry(id.clone()).or_default();
                Some(CallEvent::ParticipantJoined(id))
            }
            RoomEvent::ParticipantLeft { id, reason } => {
                self.left_ms.insert(id.clone(), self.elapsed_ms());
                Some(CallEvent::ParticipantLeft { id, reason })
            }
            RoomEvent::ChatReceived(message) => Some(CallEvent::ChatReceived(message)),
            RoomEvent::ChatDelivered { id, to } => Some(CallEvent::ChatDelivered { id, to }),
            RoomEvent::ChatNotDelivered { id, reason } => Some(CallEvent::ChatNotDelivered { id, reason }),
            RoomEvent::ChatRefused { from, error } => {
                self.problem(CallError::ChatRefused { from, error });
                None
            }
            RoomEvent::ServerError { code, message } => {
                tracing::warn!(?code, %message, "server reported an error");
                self.errors.push(format!("{} ({message})", code.user_message()));
                None
            }
            RoomEvent::Left { reason, error } => {
                self.ended = Some(reason);
                if let Some(e) = &error {
                    self.errors.push(e.to_string());
                }
                Some(CallEvent::Ended {
                    reason,
                    error: error.map(CallError::from),
                })
            }
            RoomEvent::TrackMuted {
                participant,
                track,
                muted,
            } => {
                let kind = self
                    .room
                    .participants()
                    .get(&participant)
                    .and_then(|p| p.tracks.get(&track))
                    .map(|t| t.kind);
                kind.map(|kind| CallEvent::TrackMuted {
                    participant,
                    kind,
                    muted,
                })
            }
            RoomEvent::TrackPublished { .. } => None,
            _ => None,
        };
        if let Some(event) = out {
            let _ = self.events.send(event);
        }
    }

    /// Creates the PeerSession, publishes our tracks, starts capture and sends the offer.
    async fn start_media(
        &mut self,
        local: &ParticipantId,
        peer_tx: &mpsc::UnboundedSender<PeerEvent>,
    ) -> Result<(), CallError> {
        let (peer, mut peer_events) = PeerSession::new(&self.peer_config).await?;
        let forward = peer_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = peer_events.recv().await {
                if forward.send(event).is_err() {
                    return;
                }
            }
        });
        let peer = Arc::new(peer);
        let (video_source, audio_source) = (self.video_source.take(), self.audio_source.take());
        let video = match video_source {
            Some(source) => Some((
                source,
                self.add_track(&peer, local, "cam", MediaKind::Video).await?,
            )),
            None => None,
        };
        let audio = match audio_source {
            Some(source) => Some((
                source,
                self.add_track(&peer, local, "mic", MediaKind::Audio).await?,
            )),
            None => None,
        };
        // Ask to receive even when we send nothing, so the first offer is never empty.
        if video.is_none() {
            peer.add_receiver(MediaKind::Video).await?;
        }
        if audio.is_none() {
            peer.add_receiver(MediaKind::Audio).await?;
        }
        let offer = peer.create_offer().await?;
        self.peer = Some(peer);
        let _ = self.room.handle_command(
            Instant::now(),
            RoomCommand::SendDescription(PeerSlot::Main, offer),
        );
        let problems = self.problems.clone();
        self.media = Some(LocalMedia::start(video, audio, problems));
        Ok(())
    }

    async fn add_track(
        &mut self,
        peer: &PeerSession,
        local: &ParticipantId,
        name: &str,
        kind: MediaKind,
    ) -> Result<Arc<LocalMediaTrack>, CallError> {
        let id = TrackId::new(name).map_err(|_| CallError::Rtc(confab_rtc::RtcError::Setup(name.into())))?;
        let track = peer.add_media_track(local.as_str(), id.clone(), kind).await?;
        let info = TrackInfo {
            id,
            kind,
            muted: false,
        };
        let _ = self
            .room
            .handle_command(Instant::now(), RoomCommand::Publish(info));
        Ok(track)
    }

    async fn peer_event(&mut self, event: PeerEvent) {
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
                let stats = self.remote.entry(participant.clone()).or_default().clone();
                tokio::spawn(receive_track(
                    track,
                    participant,
                    stats,
                    self.started,
                    self.events.clone(),
                ));
            }
            PeerEvent::KeyframeRequested(_) => {
                if let Some(video) = self.media.as_ref().and_then(|m| m.video.as_ref()) {
                    video.request_keyframe();
                }
            }
            PeerEvent::StateChanged(PeerState::Failed) => {
                self.problem(CallError::Rtc(confab_rtc::RtcError::NotConnected));
            }
            _ => {}
        }
    }

    fn set_muted(&mut self, kind: MediaKind, muted: bool) {
        let track = self
            .room
            .local_tracks()
            .values()
            .find(|t| t.kind == kind)
            .map(|t| t.id.clone());
        let Some(track) = track else {
            let missing = TrackId::new(if kind == MediaKind::Video { "cam" } else { "mic" });
            if let Ok(missing) = missing {
                self.problem(CallError::Room(confab_core::RoomError::UnknownTrack(missing)));
            }
            return;
        };
        if let Err(e) = self
            .room
            .handle_command(Instant::now(), RoomCommand::Mute { track, muted })
        {
            self.problem(e.into());
        }
        if let Some(media) = &self.media {
            match kind {
                MediaKind::Video => media.video.iter().for_each(|v| v.set_paused(muted)),
                MediaKind::Audio => media.audio.iter().for_each(|a| a.set_paused(muted)),
            }
        }
    }

    async fn refresh_media_bytes(&mut self) {
        if let Some(peer) = &self.peer {
            let stats = peer.stats().await;
            self.media_bytes = (stats.bytes_sent, stats.bytes_received);
        }
    }

    async fn shut_down(&mut self) {
        self.refresh_media_bytes().await;
        self.transport.close().await;
        self.sent_totals = self.sent_totals();
        self.media = None;
        if let Some(peer) = self.peer.take() {
            peer.close().await;
        }
    }

    fn sent_totals(&self) -> SentTotals {
        let Some(media) = &self.media else {
            return self.sent_totals;
        };
        let video = media.video.as_ref();
        SentTotals {
            frames_sent: media.frames_sent.load(std::sync::atomic::Ordering::Relaxed),
            encode_ms_per_frame: video.map_or(0.0, |v| v.stats().mean_ms()),
            frames_dropped_before_send: media.video_frames_dropped(),
        }
    }

    fn snapshot(&self) -> CallSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let participants = self
            .room
            .participants()
            .iter()
            .map(|(id, p)| {
                let stats = self.remote.get(id).cloned().unwrap_or_default();
                RemoteSnapshot {
                    id: id.clone(),
                    identity: p.identity.clone(),
                    name: p.name.clone(),
                    first_frame_ms: stats.first_frame_ms(),
                    frames_decoded: stats.frames_decoded.load(Relaxed),
                    frames_corrupt: stats.frames_corrupt.load(Relaxed),
                    frames_expected: stats.frames_expected(),
                    decode_errors: stats.decode_errors.load(Relaxed),
                    frames_dropped_before_decode: stats.frames_dropped_before_decode.load(Relaxed),
                    frames_lost: stats.frames_lost.load(Relaxed),
                    frames_skipped_awaiting_keyframe: stats.frames_skipped_awaiting_keyframe.load(Relaxed),
                    audio_frames_decoded: stats.audio_frames_decoded.load(Relaxed),
                    audio_frames_audible: stats.audio_frames_audible.load(Relaxed),
                    left: p.left,
                    left_ms: self.left_ms.get(id).copied(),
                }
            })
            .collect();
        let totals = self.sent_totals();
        let chat = self.room.chat();
        let me = self.room.identity();
        let all = chat.conversations().flat_map(|c| chat.messages(c));
        let (own, received): (Vec<&ChatMessage>, Vec<&ChatMessage>) =
            all.partition(|m| m.from_identity == *me);
        let sent = own
            .into_iter()
            .filter_map(|m| {
                let delivery = chat.delivery(&m.id)?;
                Some(SentSnapshot {
                    id: m.id.clone(),
                    conversation: m.conversation.clone(),
                    delivery: delivery.iter().map(|(i, s)| (i.clone(), s.clone())).collect(),
                })
            })
            .collect();
        CallSnapshot {
            local: self.local.clone(),
            identity: Some(me.clone()),
            joined_ms: self.joined_ms,
            participants,
            chat: received.into_iter().cloned().collect(),
            sent,
            frames_sent: totals.frames_sent,
            frames_dropped_before_send: totals.frames_dropped_before_send,
            media_bytes: self.media_bytes,
            encode_ms_per_frame: totals.encode_ms_per_frame,
            errors: self.errors.clone(),
            ended: self.ended,
        }
    }
}
