//! A call over WHIP and WHEP ([`Topology::PeerPerStream`](confab_signal::Topology)): one media
//! connection per stream, each set up by an HTTP exchange ([`leg`]). Publishing sends our camera
//! and microphone to the WHIP endpoint; watching receives the WHEP endpoint's stream, which shows
//! as one remote participant. Behind these endpoints there is no room: nobody else's presence,
//! mute state or chat. Asking to chat is answered with a problem that says so.
//!
//! When a leg's media path goes down, the call restarts ICE by PATCH, again every
//! [`RESTART_EVERY`] while it stays down; a server that does not restart in place (or a restart
//! that fails) gets the stream published or watched anew, retried every [`RETRY_EVERY`]. A
//! stream down for [`RECONNECT_FOR`] ends the call.

use crate::api::{CallCommand, CallError, CallEvent, CallSnapshot, Recovery};
use crate::call::{CallConfig, RECONNECT_FOR};
use crate::media_out::MediaSink;
use crate::receive::{receive_track, RemoteStats};
use crate::record::CallRecord;
use crate::send::Outgoing;
use confab_core::link::StreamLink;
use confab_core::{IceServer, IdentityId, LeaveReason, ParticipantId};
use confab_rtc::{PeerConfig, PeerEvent, PeerState};
use confab_signal::whip::client::{StreamClient, StreamError};
use confab_signal::AdapterError;
use leg::{Leg, LegEvents, Role};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use url::Url;

mod leg;

/// How long to wait between attempts to open a leg anew.
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// How long a restarted ICE session may check before it is restarted again. Checks on a path
/// that is still down fail for good after a few seconds; a later restart starts them afresh
/// once the path may be back.
const RESTART_EVERY: Duration = Duration::from_secs(4);

/// One stream of the call and its state.
struct Slot {
    role: Role,
    endpoint: Url,
    leg: Option<Leg>,
    /// Counts the legs opened for this stream; tags their events.
    generation: u64,
    /// When its media path went down (cleared once it is back).
    down_since: Option<Instant>,
    /// While its path is down: when to try again (restart ICE, or open it anew if it has no leg).
    retry_at: Option<Instant>,
    /// STUN/TURN servers the server named; a new leg starts with them.
    ice_servers: Vec<IceServer>,
}

struct StreamCall {
    /// Start, problems told, recoveries and the ending.
    record: CallRecord,
    client: StreamClient,
    slots: Vec<Slot>,
    leg_events: LegEvents,
    local: ParticipantId,
    /// The watched stream, as a participant.
    watched: ParticipantId,
    watched_name: String,
    watched_stats: Arc<RemoteStats>,
    watched_left_ms: Option<u64>,
    media_out: Option<Arc<dyn MediaSink>>,
    /// Where media sockets bind (`None`: the interface that reaches each endpoint).
    binding: Option<PeerConfig>,
    outgoing: Outgoing,
    joined_ms: Option<u64>,
    /// ICE restarts of legs already closed.
    closed_ice_restarts: u32,
    media_bytes: (u64, u64),
    closed_media_bytes: (u64, u64),
}

/// Runs a WHIP/WHEP call until the user leaves or no stream can be kept up.
pub(crate) async fn run(
    link: StreamLink,
    config: CallConfig,
    mut commands: mpsc::UnboundedReceiver<CallCommand>,
    events: mpsc::UnboundedSender<CallEvent>,
) -> CallSnapshot {
    let started = Instant::now();
    let client = match StreamClient::new(link.token.clone()) {
        Ok(client) => client,
        Err(e) => return failed(&events, e.into()),
    };
    let (problems, mut problem_rx) = mpsc::unbounded_channel();
    let (leg_events, mut leg_rx) = mpsc::unbounded_channel();
    let slot = |role, endpoint: Url| Slot {
        role,
        endpoint,
        leg: None,
        generation: 0,
        down_since: None,
        retry_at: None,
        ice_servers: Vec::new(),
    };
    let slots = [
        (Role::Publish, link.publish.clone()),
        (Role::Watch, link.watch.clone()),
    ]
    .into_iter()
    .filter_map(|(role, endpoint)| endpoint.map(|e| slot(role, e)))
    .collect();
    let mut call = StreamCall {
        record: CallRecord::new(started, events),
        client,
        slots,
        leg_events,
        local: fixed_id("local"),
        watched: fixed_id("stream"),
        watched_name: link.watch.as_ref().map_or_else(String::new, stream_name),
        watched_stats: Arc::default(),
        watched_left_ms: None,
        media_out: config.media_out,
        binding: config.peer,
        outgoing: Outgoing::new(config.video, config.audio, &config.muted, problems),
        joined_ms: None,
        closed_ice_restarts: 0,
        media_bytes: (0, 0),
        closed_media_bytes: (0, 0),
    };
    if let Err(error) = call.open_all().await {
        call.shut_down().await;
        let snapshot = call.snapshot();
        return failed_with(&call.record.events, error, snapshot);
    }
    while call.record.ended.is_none() {
        let next = call
            .slots
            .iter()
            .filter_map(|s| s.retry_at.or(s.down_since.map(|d| d + RECONNECT_FOR)))
            .min();
        let deadline = tokio::time::Instant::from_std(
            next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)),
        );
        tokio::select! {
            Some((role, generation, event)) = leg_rx.recv() => call.leg_event(role, generation, event).await,
            Some(problem) = problem_rx.recv() => call.record.local_problem(problem),
            command = commands.recv() => call.command(command).await,
            () = tokio::time::sleep_until(deadline) => call.timeout(Instant::now()).await,
        }
    }
    call.shut_down().await;
    call.snapshot()
}

/// A call that never got going, before anything was set up.
fn failed(events: &mpsc::UnboundedSender<CallEvent>, error: CallError) -> CallSnapshot {
    let snapshot = CallSnapshot::failed(LeaveReason::ConnectionLost, Vec::new());
    failed_with(events, error, snapshot)
}

/// Ends a call that never got going: `snapshot` (what it had so far) and the event say why.
/// A refusal by the server is `Refused`; not reaching it (or a full one) is `ConnectionLost`.
fn failed_with(
    events: &mpsc::UnboundedSender<CallEvent>,
    error: CallError,
    mut snapshot: CallSnapshot,
) -> CallSnapshot {
    let reason = match &error {
        CallError::Stream(StreamError::Unreachable { .. } | StreamError::Busy) => LeaveReason::ConnectionLost,
        CallError::Stream(_) => LeaveReason::Refused,
        _ => LeaveReason::ConnectionLost,
    };
    snapshot.errors.push(error.to_string());
    snapshot.ended = Some(reason);
    let _ = events.send(CallEvent::Ended {
        reason,
        error: Some(error),
    });
    snapshot
}

fn fixed_id(text: &str) -> ParticipantId {
    ParticipantId::new(text).unwrap_or_else(|_| unreachable!("a short ASCII word is a valid id"))
}

/// How a watched stream is named: its server and path.
fn stream_name(endpoint: &Url) -> String {
    format!("{}{}", endpoint.host_str().unwrap_or("stream"), endpoint.path())
}

impl StreamCall {
    /// Opens every stream; the call is joined once they all are. Any failure ends the call
    /// before it starts (a link that cannot publish should not silently only watch).
    async fn open_all(&mut self) -> Result<(), CallError> {
        for index in 0..self.slots.len() {
            self.open(index).await?;
        }
        self.joined_ms = Some(self.record.elapsed_ms());
        self.record.send(CallEvent::Joined {
            local: self.local.clone(),
        });
        if self.slots.iter().any(|s| s.role == Role::Watch) {
            self.record
                .send(CallEvent::ParticipantJoined(self.watched.clone()));
        }
        Ok(())
    }

    /// Opens stream `index` (anew), starting capture on the first publish.
    async fn open(&mut self, index: usize) -> Result<(), CallError> {
        let slot = &mut self.slots[index];
        slot.generation += 1;
        let (role, endpoint, generation) = (slot.role, slot.endpoint.clone(), slot.generation);
        let opened = Leg::open(
            role,
            &endpoint,
            &self.client,
            self.outgoing.kinds(),
            self.local.as_str(),
            self.binding.as_ref(),
            &self.slots[index].ice_servers,
            generation,
            &self.leg_events,
        )
        .await;
        let (leg, published) = opened?;
        if role == Role::Publish {
            if let Some(media) = self.outgoing.start() {
                media.attach(published.video, published.audio);
            }
        }
        let slot = &mut self.slots[index];
        if !leg.ice_servers().is_empty() {
            slot.ice_servers = leg.ice_servers().to_vec();
        }
        slot.leg = Some(leg);
        Ok(())
    }

    async fn command(&mut self, command: Option<CallCommand>) {
        match command {
            Some(CallCommand::SendChat { .. }) => {
                self.record
                    .problem(AdapterError::Unsupported("carry chat (WHIP and WHEP carry media only)").into());
            }
            Some(command @ (CallCommand::ReplaceSource(_) | CallCommand::CloseSource(_))) => {
                if let Err(e) = self.outgoing.device_command(command) {
                    self.record.problem(e);
                }
            }
            Some(CallCommand::SetMuted { kind, muted }) => {
                if let Err(e) = self.outgoing.set_muted(kind, muted) {
                    self.record.problem(e);
                }
            }
            Some(CallCommand::Snapshot(reply)) => {
                self.refresh_media_bytes().await;
                let _ = reply.send(self.snapshot());
            }
            Some(CallCommand::Leave) | None => self.record.end(LeaveReason::Hangup, None),
        }
    }

    /// The slot whose current leg sent an event tagged `role` and `generation`, if still open.
    fn slot_of(&self, role: Role, generation: u64) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.role == role && s.generation == generation && s.leg.is_some())
    }

    async fn leg_event(&mut self, role: Role, generation: u64, event: PeerEvent) {
        let Some(index) = self.slot_of(role, generation) else {
            return;
        };
        match event {
            PeerEvent::LocalCandidate(candidate) => {
                let Some(leg) = self.slots[index].leg.as_mut() else {
                    return;
                };
                leg.gathered(candidate);
                if let Err(e) = leg.trickle(&self.client).await {
                    self.record.problem(e);
                }
            }
            PeerEvent::TrackReceived(track) => {
                tokio::spawn(receive_track(
                    track,
                    self.watched.clone(),
                    self.watched_stats.clone(),
                    self.record.started,
                    self.record.events.clone(),
                    self.media_out.clone(),
                ));
            }
            PeerEvent::KeyframeRequested(_) => {
                tracing::debug!("the stream server asked for a keyframe");
                self.outgoing.media().iter().for_each(|m| m.request_keyframe());
            }
            PeerEvent::SendFeedback(feedback) => {
                self.outgoing.media().iter().for_each(|m| m.feedback(feedback));
            }
            PeerEvent::StateChanged(state) => self.path_changed(index, state).await,
            PeerEvent::RemoteClosed => {
                tracing::info!(protocol = role.protocol(), "the stream server closed the stream");
                self.lose_leg(index).await;
                if role == Role::Watch {
                    self.watched_left_ms = Some(self.record.elapsed_ms());
                    let left = CallEvent::ParticipantLeft {
                        id: self.watched.clone(),
                        reason: LeaveReason::Hangup,
                    };
                    self.record.send(left);
                }
                if self.slots.iter().all(|s| s.leg.is_none()) {
                    self.record.end(LeaveReason::ServerShutdown, None);
                }
            }
            _ => {}
        }
    }

    /// A leg's media path went down or came back. Down: restart ICE in place, or open the
    /// stream anew if the server will not.
    async fn path_changed(&mut self, index: usize, state: PeerState) {
        let slot = &mut self.slots[index];
        match state {
            PeerState::Disconnected | PeerState::Failed if slot.down_since.is_none() => {
                slot.down_since = Some(Instant::now());
                tracing::info!(
                    protocol = slot.role.protocol(),
                    "the media path is down; restarting ICE"
                );
                self.record.send(CallEvent::MediaInterrupted);
                self.restart(index).await;
            }
            PeerState::Connected => {
                self.slots[index].retry_at = None;
                if let Some(since) = self.slots[index].down_since.take() {
                    self.record.recovered(since, Recovery::MediaPathRestored);
                    self.record.send(CallEvent::MediaRestored);
                }
            }
            _ => {}
        }
    }

    async fn restart(&mut self, index: usize) {
        let Some(leg) = self.slots[index].leg.as_mut() else {
            return;
        };
        match leg.restart_ice(&self.client).await {
            Ok(true) => self.slots[index].retry_at = Some(Instant::now() + RESTART_EVERY),
            Ok(false) => {
                tracing::info!("the stream server does not restart ICE in place; opening the stream anew");
                self.reopen(index).await;
            }
            Err(e) => {
                self.record.problem(e);
                self.reopen(index).await;
            }
        }
    }

    /// Closes stream `index`'s leg and opens it anew (or schedules that).
    async fn reopen(&mut self, index: usize) {
        let since = self.slots[index].down_since.unwrap_or_else(Instant::now);
        self.lose_leg(index).await;
        self.slots[index].down_since = Some(since);
        match self.open(index).await {
            Ok(()) => {
                self.slots[index].down_since = None;
                self.record.recovered(since, Recovery::Rejoined);
                self.record.send(CallEvent::MediaRestored);
            }
            Err(e) => {
                self.record.problem(e);
                self.slots[index].retry_at = Some(Instant::now() + RETRY_EVERY);
            }
        }
    }

    async fn lose_leg(&mut self, index: usize) {
        if let Some(leg) = self.slots[index].leg.take() {
            self.closed_ice_restarts += leg.peer.ice_restarts();
            let stats = leg.peer.stats().await;
            self.closed_media_bytes.0 += stats.bytes_sent;
            self.closed_media_bytes.1 += stats.bytes_received;
            leg.close(&self.client).await;
        }
    }

    /// Retries streams waiting to be opened anew; ends the call if one stayed down too long.
    async fn timeout(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.down_since.is_some_and(|since| now >= since + RECONNECT_FOR) {
                let gone = CallError::Rtc(confab_rtc::RtcError::NotConnected);
                return self.record.end(LeaveReason::ConnectionLost, Some(gone));
            }
            if slot.retry_at.is_some_and(|at| now >= at) {
                self.slots[index].retry_at = None;
                if self.slots[index].leg.is_some() {
                    self.restart(index).await;
                } else {
                    self.reopen(index).await;
                }
            }
        }
    }

    async fn refresh_media_bytes(&mut self) {
        let (mut sent, mut received) = self.closed_media_bytes;
        for leg in self.slots.iter().filter_map(|s| s.leg.as_ref()) {
            let stats = leg.peer.stats().await;
            sent += stats.bytes_sent;
            received += stats.bytes_received;
        }
        self.media_bytes = (sent, received);
    }

    async fn shut_down(&mut self) {
        self.refresh_media_bytes().await;
        for index in 0..self.slots.len() {
            self.lose_leg(index).await;
        }
        self.outgoing.stop();
    }

    fn snapshot(&self) -> CallSnapshot {
        let totals = self.outgoing.totals();
        let watching = self.slots.iter().any(|s| s.role == Role::Watch);
        let participants = watching
            .then(|| {
                let identity = IdentityId::new("whep").unwrap_or_else(|_| unreachable!("a valid id"));
                let left = self.watched_left_ms.map(|_| LeaveReason::Hangup);
                self.watched_stats.snapshot(
                    self.watched.clone(),
                    identity,
                    self.watched_name.clone(),
                    left,
                    self.watched_left_ms,
                )
            })
            .into_iter()
            .collect();
        let open_restarts: u32 = self
            .slots
            .iter()
            .filter_map(|s| s.leg.as_ref())
            .map(|l| l.peer.ice_restarts())
            .sum();
        CallSnapshot {
            local: self.joined_ms.map(|_| self.local.clone()),
            joined_ms: self.joined_ms,
            participants,
            ..self
                .record
                .snapshot(totals, self.media_bytes, self.closed_ice_restarts + open_restarts)
        }
    }
}
