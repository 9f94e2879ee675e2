//! A call in a mesh room over a PeerJS server: one WebSocket to the server, driven by
//! [`PeerJsMesh`], and two connections to every other participant (media, and data for chat),
//! made in [`connections`]. The [`Room`] keeps participants and the per-conversation chat state
//! exactly as in a call on Confab's own server.
//!
//! Media and chat flow peer to peer, so losing the server loses no call: we reconnect with the
//! same id and token in the background (backing off), and only newcomers have to wait for us.
//! Private messages go to their recipients' data connections alone (encrypted by each
//! connection's DTLS; the server never sees them). Identities are not proven on PeerJS: a
//! participant's identity is its peer id, which any client may claim while its owner is away.

mod connections;

use crate::api::{CallCommand, CallError, CallEvent, CallSnapshot, Recovery};
use crate::call::reconnect::backoff;
use crate::call::CallConfig;
use crate::identity::Identity;
use crate::media_out::MediaSink;
use crate::record::CallRecord;
use crate::room_call::{join_command, send_chat, send_private, SnapshotParts, Traffic};
use crate::room_events::{relay, track_muted, Presence};
use crate::send::{track_id, Outgoing};
use confab_core::link::PeerJsLink;
use confab_core::{
    LeaveReason, MediaKind, Output, ParticipantId, Room, RoomCommand, RoomEvent, SendOrder, SignalOut,
};
use confab_rtc::{LocalMediaTrack, PeerConfig, PeerEvent, PeerSession, PeerState};
use confab_signal::peerjs::wire::MAX_PEERJS_FRAME_BYTES;
use confab_signal::peerjs::{identity_of, list_peers, peer_id_for, socket_url, Lane, MeshOutput, PeerJsMesh};
use confab_signal::{Transport, TransportError, WebSocketTransport};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

/// How long connecting to the PeerJS server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One of our connections: to which peer, and which of its two.
type ConnectionKey = (ParticipantId, Lane);

type PeerEvents = mpsc::UnboundedSender<(ConnectionKey, u64, PeerEvent)>;

/// A connection to a peer.
struct PeerConnection {
    /// Tags its events (a replaced connection's late events are dropped).
    generation: u64,
    session: Arc<PeerSession>,
    /// The data channel to send on, once open.
    label: Option<String>,
    /// The tracks we feed on it.
    tracks: Vec<Arc<LocalMediaTrack>>,
}

/// The server connection: up, or down since a moment with the next attempt due.
enum Server {
    Up(Box<WebSocketTransport>),
    Down {
        since: Instant,
        attempt: u32,
        next: Instant,
    },
}

struct PeerJsCall {
    record: CallRecord,
    link: PeerJsLink,
    token: String,
    mesh: PeerJsMesh,
    server: Server,
    room: Room,
    name: String,
    peers: HashMap<ConnectionKey, PeerConnection>,
    generation: u64,
    peer_config: PeerConfig,
    peer_tx: PeerEvents,
    outgoing: Outgoing,
    media_out: Option<Arc<dyn MediaSink>>,
    presence: Presence,
    joined_ms: Option<u64>,
    send_order: SendOrder,
    traffic: Traffic,
    leaving: bool,
}

/// Runs a call in a PeerJS mesh room until the user leaves or the room refuses us.
pub(crate) async fn run(
    link: PeerJsLink,
    config: CallConfig,
    mut commands: mpsc::UnboundedReceiver<CallCommand>,
    events: mpsc::UnboundedSender<CallEvent>,
) -> CallSnapshot {
    let started = Instant::now();
    let mut record = CallRecord::new(started, events);
    let identity = config.identity.unwrap_or_else(Identity::generate);
    let local = peer_id_for(&link.room, &identity.id);
    let token = format!("{:016x}", rand::random::<u64>());
    let transport = match connect(&link, &local, &token).await {
        Ok(transport) => transport,
        Err(e) => {
            record.end(LeaveReason::ConnectionLost, Some(e.into()));
            return CallSnapshot::failed(LeaveReason::ConnectionLost, record.errors);
        }
    };
    let (problems, mut problem_rx) = mpsc::unbounded_channel();
    let outgoing = Outgoing::new(config.video, config.audio, &config.muted, problems);
    let mesh = PeerJsMesh::new(
        &link.room,
        local.clone(),
        &config.name,
        outgoing.tracks(),
        rand::random(),
        started,
    );
    let (peer_tx, mut peer_rx) = mpsc::unbounded_channel();
    let mut call = PeerJsCall {
        record,
        room: Room::new(identity_of(&local), String::new()),
        link,
        token,
        mesh,
        peer_config: config
            .peer
            .unwrap_or_else(|| PeerConfig::bound_to(transport.local_ip())),
        server: Server::Up(Box::new(transport)),
        name: config.name,
        peers: HashMap::new(),
        generation: 0,
        peer_tx,
        outgoing,
        media_out: config.media_out,
        presence: Presence::default(),
        joined_ms: None,
        send_order: SendOrder::default(),
        traffic: Traffic::default(),
        leaving: false,
    };
    call.join();
    let mut wake = call.drain().await;
    while call.record.ended.is_none() {
        let reconnect = match call.server {
            Server::Down { next, .. } => Some(next),
            Server::Up(_) => None,
        };
        let next = [wake, call.mesh.poll_timeout(), reconnect]
            .into_iter()
            .flatten()
            .min();
        let deadline = tokio::time::Instant::from_std(
            next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)),
        );
        tokio::select! {
            frame = next_frame(&mut call.server) => match frame {
                Some(Ok(frame)) => {
                    if let Err(e) = call.mesh.handle_server(&frame) {
                        call.record.problem(e.into());
                    }
                }
                Some(Err(e)) => call.server_lost(Some(e)),
                None => call.server_lost(None),
            },
            Some((key, generation, event)) = peer_rx.recv() => call.peer_event(key, generation, event).await,
            Some(problem) = problem_rx.recv() => call.record.local_problem(problem),
            command = commands.recv() => call.command(command).await,
            () = sleep_until(deadline) => {
                let now = Instant::now();
                call.room.handle_timeout(now);
                call.mesh.handle_timeout(now);
                call.reconnect_if_due(now).await;
            }
        }
        wake = call.drain().await;
    }
    call.shut_down().await;
    call.snapshot()
}

async fn connect(
    link: &PeerJsLink,
    local: &ParticipantId,
    token: &str,
) -> Result<WebSocketTransport, TransportError> {
    let url = socket_url(link, local, token);
    WebSocketTransport::connect_with(url.as_str(), None, MAX_PEERJS_FRAME_BYTES, CONNECT_TIMEOUT).await
}

/// The server's next frame; never, while it is down.
async fn next_frame(server: &mut Server) -> Option<Result<String, TransportError>> {
    match server {
        Server::Up(transport) => transport.recv().await,
        Server::Down { .. } => std::future::pending().await,
    }
}

impl PeerJsCall {
    /// Puts the room in its joining state; the mesh is already registering with the server.
    fn join(&mut self) {
        let join = join_command(self.mesh.local(), &self.name);
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
                    .refresh(self.peers.values().map(|c| c.session.as_ref()))
                    .await;
                let _ = reply.send(self.snapshot());
            }
            Some(CallCommand::Leave) | None => {
                self.leaving = true;
                let _ = self.room.handle_command(Instant::now(), RoomCommand::Leave);
            }
        }
    }

    /// Carries out what the mesh and the room asked for until neither has anything left;
    /// returns when the room next wants a wake-up.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            if let Some(output) = self.mesh.poll_output() {
                self.mesh_output(output).await;
                continue;
            }
            match self.room.poll_output() {
                Output::Timeout(at) => return at,
                Output::Signal(out) => self.room_signal(out),
                Output::Seal(draft) => {
                    send_private(&mut self.room, &mut self.record, draft, |message, to| {
                        self.mesh.send_private(message, to)
                    })
                }
                Output::Event(event) => self.room_event(event),
                // Descriptions, candidates and chat go peer to peer, not through the room.
                Output::RemoteDescription(..) | Output::RemoteCandidate(..) | Output::Unseal { .. } => {}
            }
        }
    }

    fn room_signal(&mut self, out: SignalOut) {
        match out {
            SignalOut::Chat(message) => self.mesh.send_public(&message),
            SignalOut::ChatAck { id, to } => self.mesh.send_ack(id, &to),
            SignalOut::Leave => self.mesh.leave(),
            // Joining is the mesh's registration; tracks and mute go in hellos and mute messages.
            _ => {}
        }
    }

    async fn mesh_output(&mut self, output: MeshOutput) {
        match output {
            MeshOutput::Server(frame) => self.send_to_server(frame).await,
            MeshOutput::ListPeers => match list_peers(&self.link).await {
                Ok(ids) => self.mesh.peers_listed(&ids),
                // Without the list we cannot find the room: fatal when joining, a problem later
                // (the ones already here stay connected).
                Err(e) if self.joined_ms.is_none() => {
                    self.record.end(LeaveReason::ConnectionLost, Some(e.into()))
                }
                Err(e) => self.record.problem(e.into()),
            },
            MeshOutput::Signal(signal) => self.room.handle_signal(Instant::now(), signal),
            MeshOutput::Offer {
                peer,
                lane,
                connection,
            } => {
                if let Err(e) = self.offer(&peer, lane, &connection).await {
                    self.connection_failed(&peer, e);
                }
            }
            MeshOutput::Answer(peer, lane, offer) => {
                if let Err(e) = self.answer(&peer, lane, offer).await {
                    self.connection_failed(&peer, e);
                }
            }
            MeshOutput::Remote(peer, lane, answer) => {
                if let Some(connection) = self.peers.get(&(peer.clone(), lane)) {
                    if let Err(e) = connection.session.apply_remote(answer).await {
                        self.connection_failed(&peer, e.into());
                    }
                }
            }
            MeshOutput::Candidate(peer, lane, candidate) => {
                if let Some(connection) = self.peers.get(&(peer, lane)) {
                    if let Err(e) = connection.session.add_remote_candidate(candidate).await {
                        tracing::debug!(error = %e, "ignored a candidate from a PeerJS peer");
                    }
                }
            }
            MeshOutput::Channel(peer, data) => {
                let connection = self.peers.get(&(peer, Lane::Data));
                let Some((session, label)) = connection.and_then(|c| Some((&c.session, c.label.as_ref()?)))
                else {
                    return tracing::debug!(
                        "dropped a chat-channel message for a peer without an open channel"
                    );
                };
                if let Err(e) = session.send_data(label, &data).await {
                    self.record.problem(e.into());
                }
            }
            MeshOutput::Close(peer, lane) => self.close(&(peer, lane)).await,
        }
    }

    async fn send_to_server(&mut self, frame: String) {
        let Server::Up(transport) = &mut self.server else {
            return tracing::debug!("dropped a frame for the PeerJS server while it is unreachable");
        };
        if let Err(e) = transport.send(frame).await {
            self.server_lost(Some(e));
        }
    }

    /// A connection could not be made: the peer is unreachable for us.
    fn connection_failed(&mut self, peer: &ParticipantId, error: CallError) {
        self.record.problem(error);
        self.mesh.connection_closed(peer);
    }

    /// The server connection dropped. Before we are in the room that ends the call; after, the
    /// call goes on peer to peer and we reconnect in the background.
    fn server_lost(&mut self, error: Option<TransportError>) {
        if self.leaving || self.room.has_left() || matches!(self.server, Server::Down { .. }) {
            return;
        }
        let error =
            error.unwrap_or_else(|| TransportError::Lost("the PeerJS server closed the connection".into()));
        if self.joined_ms.is_none() {
            return self.record.end(LeaveReason::ConnectionLost, Some(error.into()));
        }
        tracing::warn!(%error, "lost the PeerJS server; the call goes on and we reconnect");
        self.record.problem(error.into());
        self.mesh.server_lost();
        let now = Instant::now();
        self.server = Server::Down {
            since: now,
            attempt: 1,
            next: now + backoff(1),
        };
    }

    async fn reconnect_if_due(&mut self, now: Instant) {
        let Server::Down { since, attempt, next } = self.server else {
            return;
        };
        if now < next || self.leaving {
            return;
        }
        match connect(&self.link, self.mesh.local(), &self.token).await {
            Ok(transport) => {
                self.server = Server::Up(Box::new(transport));
                self.record.recovered(since, Recovery::Resumed);
                self.mesh.server_reconnected();
            }
            Err(e) => {
                tracing::info!(error = %e, attempt, "the PeerJS server is still unreachable");
                self.server = Server::Down {
                    since,
                    attempt: attempt + 1,
                    next: Instant::now() + backoff(attempt + 1),
                };
            }
        }
    }

    async fn peer_event(&mut self, key: ConnectionKey, generation: u64, event: PeerEvent) {
        let Some(connection) = self.peers.get_mut(&key).filter(|c| c.generation == generation) else {
            return;
        };
        let (peer, lane) = &key;
        match event {
            PeerEvent::LocalCandidate(candidate) => self.mesh.local_candidate(peer, *lane, &candidate),
            PeerEvent::TrackReceived(track) => {
                self.presence
                    .receive(track, peer.clone(), &self.record, self.media_out.clone());
            }
            PeerEvent::KeyframeRequested(_) => {
                self.outgoing.media().iter().for_each(|m| m.request_keyframe())
            }
            PeerEvent::SendFeedback(feedback) => {
                self.outgoing.media().iter().for_each(|m| m.feedback(feedback))
            }
            PeerEvent::DataChannelOpened(label) if *lane == Lane::Data => {
                connection.label = Some(label);
                self.mesh.channel_opened(peer);
            }
            PeerEvent::DataMessage { data, .. } if *lane == Lane::Data => {
                if let Err(e) = self.mesh.channel_message(peer, &data) {
                    self.record.problem(e.into());
                }
            }
            PeerEvent::StateChanged(PeerState::Failed | PeerState::Closed) | PeerEvent::RemoteClosed => {
                self.mesh.connection_closed(peer);
            }
            _ => {}
        }
    }

    fn room_event(&mut self, event: RoomEvent) {
        match relay(&mut self.record, &mut self.presence, event) {
            Some(RoomEvent::Joined { local }) => {
                self.joined_ms = Some(self.record.elapsed_ms());
                self.record.send(CallEvent::Joined { local });
            }
            Some(RoomEvent::Left { reason, error }) => self.record.end(reason, error.map(CallError::from)),
            Some(RoomEvent::TrackMuted {
                participant,
                track,
                muted,
            }) => {
                if let Some(event) = track_muted(&self.room, participant, &track, muted) {
                    self.record.send(event);
                }
            }
            _ => {}
        }
    }

    fn set_muted(&mut self, kind: MediaKind, muted: bool) {
        match self.outgoing.set_muted(kind, muted) {
            Ok(()) => self.mesh.set_muted(&track_id(kind), muted),
            Err(e) => self.record.problem(e),
        }
    }

    async fn shut_down(&mut self) {
        self.traffic
            .refresh(self.peers.values().map(|c| c.session.as_ref()))
            .await;
        if let Server::Up(transport) = &mut self.server {
            transport.close().await;
        }
        self.outgoing.stop();
        for key in self.peers.keys().cloned().collect::<Vec<_>>() {
            self.close(&key).await;
        }
    }

    fn snapshot(&self) -> CallSnapshot {
        let parts = SnapshotParts {
            record: &self.record,
            room: &self.room,
            presence: &self.presence,
            local: self.mesh.local(),
            joined_ms: self.joined_ms,
            outgoing: &self.outgoing,
            traffic: &self.traffic,
        };
        parts.snapshot(self.peers.values().map(|c| c.session.as_ref()))
    }
}
