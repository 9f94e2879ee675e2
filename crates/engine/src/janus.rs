//! A call in a Janus room ([`Topology::PublisherSubscriber`](confab_signal::Topology)): one
//! WebSocket to the Janus API, driven by [`JanusDialect`], and three media connections — we
//! publish on one, receive everyone on another, and chat over a data channel on the third
//! (TextRoom). The [`Room`] keeps participants and the per-conversation chat state exactly as
//! in a call on Confab's own server; the dialect translates between it and Janus.
//!
//! Private messages go as TextRoom whispers to their one recipient: Janus delivers them to
//! that user name alone, and its receipt marks them delivered. (They are not sealed: other
//! Janus clients could not open them. The Janus server itself can read them, as it can read
//! everything in its rooms.) Identities are not proven on Janus: a participant's identity is
//! its user name, which any client may claim while its owner is away.
//!
//! A connection Janus hangs up is made anew (recorded as a `MediaReconnected` recovery once the
//! new one connects), and Janus' `slowlink` on our publication lowers our video send rate.
//!
//! Not handled yet: getting back in after the WebSocket drops (the call ends `ConnectionLost`;
//! Janus' `claim` could resume the session), ICE restarts of the media connections, and telling
//! others about mute (muting stops sending; VideoRoom is not told).

use crate::api::{CallCommand, CallError, CallEvent, CallSnapshot, Recovery};
use crate::call::{unix_millis, CallConfig};
use crate::identity::Identity;
use crate::media_out::MediaSink;
use crate::record::CallRecord;
use crate::room_call::{join_command, send_chat, send_private, SnapshotParts, Traffic};
use crate::room_events::{relay, Presence};
use crate::send::{track_id, Outgoing};
use confab_core::link::JanusLink;
use confab_core::{
    LeaveReason, MediaKind, Output, PeerSlot, Room, RoomCommand, RoomEvent, SendOrder, SessionDescription,
    SignalOut,
};
use confab_media::rate::RateSignal;
use confab_rtc::{PeerConfig, PeerEvent, PeerSession, PeerState};
use confab_signal::janus::wire::{JANUS_PROTOCOL, MAX_JANUS_FRAME_BYTES};
use confab_signal::janus::{JanusDialect, JanusOutput};
use confab_signal::{Transport, WebSocketTransport};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

/// How long connecting to the Janus server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The data channel TextRoom talks on (Janus answers on this label whatever we open).
const CHAT_LABEL: &str = "JanusDataChannel";

type PeerEvents = mpsc::UnboundedSender<(PeerSlot, u64, PeerEvent)>;

struct JanusCall {
    record: CallRecord,
    dialect: JanusDialect,
    transport: WebSocketTransport,
    room: Room,
    name: String,
    peers: HashMap<PeerSlot, (u64, Arc<PeerSession>)>,
    /// Counts media connections; tags their events.
    generation: u64,
    peer_config: PeerConfig,
    peer_tx: PeerEvents,
    outgoing: Outgoing,
    media_out: Option<Arc<dyn MediaSink>>,
    presence: Presence,
    joined_ms: Option<u64>,
    send_order: SendOrder,
    traffic: Traffic,
    /// Connections Janus hung up, and since when; recovered when their replacement connects.
    hung_up: HashMap<PeerSlot, Instant>,
    leaving: bool,
}

/// Runs a call in a Janus room until the user leaves or the session is lost.
pub(crate) async fn run(
    link: JanusLink,
    config: CallConfig,
    mut commands: mpsc::UnboundedReceiver<CallCommand>,
    events: mpsc::UnboundedSender<CallEvent>,
) -> CallSnapshot {
    let started = Instant::now();
    let mut record = CallRecord::new(started, events);
    let connecting = WebSocketTransport::connect_with(
        link.server.as_str(),
        Some(JANUS_PROTOCOL),
        MAX_JANUS_FRAME_BYTES,
        CONNECT_TIMEOUT,
    );
    let transport = match connecting.await {
        Ok(transport) => transport,
        Err(e) => {
            record.end(LeaveReason::ConnectionLost, Some(e.into()));
            return CallSnapshot::failed(LeaveReason::ConnectionLost, record.errors);
        }
    };
    let identity = config.identity.unwrap_or_else(Identity::generate);
    let dialect = JanusDialect::new(&link, &config.name, &identity.id);
    let (problems, mut problem_rx) = mpsc::unbounded_channel();
    let (peer_tx, mut peer_rx) = mpsc::unbounded_channel();
    let mut call = JanusCall {
        record,
        room: Room::new(dialect.local_identity(), String::new()),
        dialect,
        peer_config: config
            .peer
            .unwrap_or_else(|| PeerConfig::bound_to(transport.local_ip())),
        transport,
        name: config.name,
        peers: HashMap::new(),
        generation: 0,
        peer_tx,
        outgoing: Outgoing::new(config.video, config.audio, &config.muted, problems),
        media_out: config.media_out,
        presence: Presence::default(),
        joined_ms: None,
        send_order: SendOrder::default(),
        traffic: Traffic::default(),
        hung_up: HashMap::new(),
        leaving: false,
    };
    call.join();
    let mut wake = call.drain().await;
    while call.record.ended.is_none() {
        let next = [wake, call.dialect.poll_timeout()].into_iter().flatten().min();
        let deadline = tokio::time::Instant::from_std(
            next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)),
        );
        tokio::select! {
            frame = call.transport.recv() => match frame {
                Some(Ok(frame)) => {
                    if let Err(e) = call.dialect.handle_server(&frame) {
                        call.record.problem(e.into());
                    }
                }
                Some(Err(e)) => {
                    call.record.problem(e.into());
                    call.room.handle_disconnect(Instant::now());
                }
                None => call.room.handle_disconnect(Instant::now()),
            },
            Some((slot, generation, event)) = peer_rx.recv() => call.peer_event(slot, generation, event).await,
            Some(problem) = problem_rx.recv() => call.record.local_problem(problem),
            command = commands.recv() => call.command(command).await,
            () = sleep_until(deadline) => {
                let now = Instant::now();
                call.room.handle_timeout(now);
                call.dialect.handle_timeout(now);
            }
        }
        wake = call.drain().await;
    }
    call.shut_down().await;
    call.snapshot()
}

impl JanusCall {
    /// Puts the room in its joining state; the dialect is already on its way in (the room's
    /// join request becomes the TextRoom join). Janus knows no Confab room name, token or proof:
    /// the room is named after our feed and the PIN or API token travel in the dialect.
    fn join(&mut self) {
        let join = join_command(&self.dialect.local(), &self.name);
        let _ = self.room.handle_command(Instant::now(), join);
    }

    async fn command(&mut self, command: Option<CallCommand>) {
        match command {
            Some(CallCommand::SendChat { conversation, text }) => {
                send_chat(
                    &mut self.room,
                    &mut self.record,
                    &mut self.send_order,
                    conversation,
                    text,
                );
            }
            Some(CallCommand::SetMuted { kind, muted }) => self.set_muted(kind, muted),
            Some(command @ (CallCommand::ReplaceSource(_) | CallCommand::CloseSource(_))) => {
                if let Err(e) = self.outgoing.device_command(command) {
                    self.record.problem(e);
                }
            }
            Some(CallCommand::Snapshot(reply)) => {
                self.traffic
                    .refresh(self.peers.values().map(|(_, p)| p.as_ref()))
                    .await;
                let _ = reply.send(self.snapshot());
            }
            Some(CallCommand::Leave) | None => {
                self.leaving = true;
                let _ = self.room.handle_command(Instant::now(), RoomCommand::Leave);
            }
        }
    }

    /// Carries out what the dialect and the room asked for until neither has anything left;
    /// returns when the room next wants a wake-up.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            if let Some(output) = self.dialect.poll_output() {
                self.dialect_output(output).await;
                continue;
            }
            match self.room.poll_output() {
                Output::Timeout(at) => return at,
                Output::Signal(out) => self.room_signal(out),
                Output::Seal(draft) => {
                    send_private(&mut self.room, &mut self.record, draft, |message, to| {
                        self.dialect.send_private(message, to)
                    })
                }
                Output::Event(event) => self.room_event(event).await,
                // Janus' descriptions, candidates and chat do not pass through the room.
                Output::RemoteDescription(..) | Output::RemoteCandidate(..) | Output::Unseal { .. } => {}
            }
        }
    }

    fn room_signal(&mut self, out: SignalOut) {
        match out {
            SignalOut::Join { .. } => self.dialect.join_room(),
            SignalOut::Chat(message) => self.dialect.send_public(&message),
            SignalOut::Leave => self.dialect.leave(),
            // Tracks are announced by publishing; receipts come from Janus.
            _ => {}
        }
    }

    async fn dialect_output(&mut self, output: JanusOutput) {
        match output {
            JanusOutput::Server(frame) => {
                if let Err(e) = self.transport.send(frame).await {
                    self.record.problem(e.into());
                    self.room.handle_disconnect(Instant::now());
                }
            }
            JanusOutput::Channel(frame) => {
                let Some((_, chat)) = self.peers.get(&PeerSlot::Chat) else {
                    return;
                };
                // Not the user's problem: a message Janus does not confirm is sent again on the
                // chat connection that replaces a failed one.
                if let Err(e) = chat.send_text(CHAT_LABEL, &frame).await {
                    tracing::info!(error = %e, "a TextRoom frame did not go out");
                }
            }
            JanusOutput::Signal(signal) => self.room.handle_signal(Instant::now(), signal),
            JanusOutput::Description(slot, description) => {
                if let Err(e) = self.remote_description(slot, description).await {
                    self.record.problem(e);
                    if slot == PeerSlot::Subscriber {
                        self.dialect.subscription_failed();
                    }
                }
            }
            JanusOutput::Candidate(slot, candidate) => {
                if let Some((_, peer)) = self.peers.get(&slot) {
                    if let Err(e) = peer.add_remote_candidate(candidate).await {
                        tracing::debug!(error = %e, "ignored a candidate from Janus");
                    }
                }
            }
            JanusOutput::HungUp(slot, reason) => self.hung_up(slot, &reason).await,
            JanusOutput::SendingCongested => {
                if let Some(media) = self.outgoing.media() {
                    media.rate_signal(RateSignal::Congested);
                }
            }
            JanusOutput::Close(slot) => {
                if let Some((_, peer)) = self.peers.remove(&slot) {
                    self.traffic.close(&peer).await;
                }
            }
            JanusOutput::SessionLost(why) => {
                self.record
                    .problem(confab_signal::TransportError::Lost(why).into());
                self.room.handle_disconnect(Instant::now());
            }
        }
    }

    /// Applies Janus' description; Janus' offers (subscriber, chat) are answered at once, on a
    /// connection made for them if there is none yet.
    async fn remote_description(
        &mut self,
        slot: PeerSlot,
        description: SessionDescription,
    ) -> Result<(), CallError> {
        let peer = match self.peers.get(&slot) {
            Some((_, peer)) => peer.clone(),
            None => self.new_peer(slot).await?,
        };
        if let Some(answer) = peer.apply_remote(description).await? {
            self.dialect.local_description(slot, answer);
            if slot == PeerSlot::Chat {
                peer.open_data_channel(CHAT_LABEL).await?;
            }
        }
        Ok(())
    }

    async fn new_peer(&mut self, slot: PeerSlot) -> Result<Arc<PeerSession>, CallError> {
        let (peer, mut peer_events) = PeerSession::new(&self.peer_config).await?;
        self.generation += 1;
        let generation = self.generation;
        let forward = self.peer_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = peer_events.recv().await {
                if forward.send((slot, generation, event)).is_err() {
                    return;
                }
            }
        });
        let peer = Arc::new(peer);
        if let Some((_, old)) = self.peers.insert(slot, (generation, peer.clone())) {
            self.traffic.close(&old).await;
        }
        Ok(peer)
    }

    /// Publishes our camera and microphone on a new publisher connection (starting capture the
    /// first time).
    async fn publish(&mut self) -> Result<(), CallError> {
        if self.outgoing.kinds().is_empty() {
            return Ok(()); // chat only: nothing to publish
        }
        let peer = self.new_peer(PeerSlot::Publisher).await?;
        let stream = self.dialect.local();
        let mut tracks = HashMap::new();
        for kind in [MediaKind::Video, MediaKind::Audio] {
            if self.outgoing.sends(kind) {
                tracks.insert(
                    kind,
                    peer.add_media_track(stream.as_str(), track_id(kind), kind)
                        .await?,
                );
            }
        }
        let offer = peer.create_offer().await?;
        self.dialect.local_description(PeerSlot::Publisher, offer);
        if let Some(media) = self.outgoing.start() {
            media.attach(tracks.remove(&MediaKind::Video), tracks.remove(&MediaKind::Audio));
        }
        Ok(())
    }

    /// Janus closed one of our connections. Our publication is made again here; the dialect
    /// makes a subscription or chat connection again itself.
    async fn hung_up(&mut self, slot: PeerSlot, reason: &str) {
        if self.leaving || self.room.has_left() {
            return;
        }
        tracing::warn!(?slot, %reason, "Janus closed a media connection; making it again");
        self.hung_up.entry(slot).or_insert_with(Instant::now);
        if slot == PeerSlot::Publisher {
            if let Err(e) = self.publish().await {
                self.record.problem(e);
            }
        }
    }

    async fn peer_event(&mut self, slot: PeerSlot, generation: u64, event: PeerEvent) {
        if self
            .peers
            .get(&slot)
            .is_none_or(|(current, _)| *current != generation)
        {
            return;
        }
        match event {
            PeerEvent::LocalCandidate(candidate) => self.dialect.local_candidate(slot, candidate),
            PeerEvent::TrackReceived(track) => {
                let Some(participant) = self.dialect.sender_of_track(track.track_id()) else {
                    tracing::warn!("ignored a track Janus sent for nobody in the room");
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
            PeerEvent::DataChannelOpened(label) if slot == PeerSlot::Chat && label == CHAT_LABEL => {
                self.dialect.chat_channel_opened();
            }
            PeerEvent::DataMessage { data, .. } if slot == PeerSlot::Chat => {
                let frame = String::from_utf8_lossy(&data);
                if let Err(e) = self.dialect.handle_channel(&frame, unix_millis()) {
                    self.record.problem(e.into());
                }
            }
            PeerEvent::StateChanged(
                state @ (PeerState::Disconnected | PeerState::Failed | PeerState::Connected),
            ) => {
                tracing::info!(?slot, ?state, "a Janus media connection changed state");
                if state == PeerState::Connected {
                    if let Some(since) = self.hung_up.remove(&slot) {
                        self.record.recovered(since, Recovery::MediaReconnected);
                    }
                }
            }
            _ => {}
        }
    }

    async fn room_event(&mut self, event: RoomEvent) {
        match relay(&mut self.record, &mut self.presence, event) {
            Some(RoomEvent::Joined { local }) => {
                self.joined_ms = Some(self.record.elapsed_ms());
                if let Err(e) = self.publish().await {
                    self.record.problem(e);
                }
                self.record.send(CallEvent::Joined { local });
            }
            Some(RoomEvent::Left { reason, error }) => self.record.end(reason, error.map(CallError::from)),
            // Janus announces no mute state (see the module docs).
            _ => {}
        }
    }

    fn set_muted(&mut self, kind: MediaKind, muted: bool) {
        if let Err(e) = self.outgoing.set_muted(kind, muted) {
            self.record.problem(e);
        }
    }

    async fn shut_down(&mut self) {
        self.traffic
            .refresh(self.peers.values().map(|(_, p)| p.as_ref()))
            .await;
        self.transport.close().await;
        self.outgoing.stop();
        for (_, (_, peer)) in std::mem::take(&mut self.peers) {
            self.traffic.close(&peer).await;
        }
    }

    fn snapshot(&self) -> CallSnapshot {
        let parts = SnapshotParts {
            record: &self.record,
            room: &self.room,
            presence: &self.presence,
            local: &self.dialect.local(),
            joined_ms: self.joined_ms,
            outgoing: &self.outgoing,
            traffic: &self.traffic,
        };
        parts.snapshot(self.peers.values().map(|(_, p)| p.as_ref()))
    }
}
