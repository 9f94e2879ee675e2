//! [`PeerSession`]: one PeerConnection, its tracks, negotiation, events, stats and close.

use crate::bundle::unify_bundled_credentials;
use crate::codecs::media_setup;
use crate::endings::Endings;
use crate::error::{setup, RtcError};
use crate::feedback::{is_keyframe_request, send_feedback, SendFeedback};
use crate::forwarding::{ForwardSlot, SlotLabel};
use crate::remote_close::watch_remote_close;
use crate::track::{stream_track, to_rtc_kind, ForwardTrack, LocalMediaTrack, RemoteTrack};
use bytes::BytesMut;
use confab_core::{IceCandidate, IceServer, MediaKind, SdpKind, SessionDescription, TrackId};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::{RTCConfiguration, RTCConfigurationBuilder, RTCOfferOptions};
use rtc::peer_connection::transport::RTCIceServer;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceCandidateInit,
    RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription,
    StatsSelector,
};
use webrtc::rtp_transceiver::{RtpSender, RtpTransceiver};

/// How a PeerSession binds its sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// UDP addresses to gather host candidates on, e.g. `127.0.0.1:0`. Name explicit addresses:
    /// a wildcard binds per interface and skips loopback.
    pub udp_addrs: Vec<String>,
    /// STUN and TURN servers to gather candidates through (none: host candidates only).
    pub ice_servers: Vec<IceServer>,
}

impl PeerConfig {
    /// Host candidates on `ip` only, any free port.
    pub fn bound_to(ip: std::net::IpAddr) -> Self {
        Self {
            udp_addrs: vec![std::net::SocketAddr::new(ip, 0).to_string()],
            ice_servers: Vec::new(),
        }
    }
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self::bound_to(std::net::Ipv4Addr::LOCALHOST.into())
    }
}

/// Connection state, as Confab reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerState {
    /// ICE/DTLS in progress.
    Connecting,
    /// Media can flow.
    Connected,
    /// Connectivity lost; may come back.
    Disconnected,
    /// Connectivity failed for good.
    Failed,
    /// Closed.
    Closed,
}

/// Something that happened on a PeerSession. Sent by library callbacks; handled by the owner.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerEvent {
    /// A local ICE candidate to trickle to the other side.
    LocalCandidate(IceCandidate),
    /// The connection state changed.
    StateChanged(PeerState),
    /// The remote side started sending a track.
    TrackReceived(RemoteTrack),
    /// The remote side asked one of our tracks for a keyframe (PLI/FIR).
    KeyframeRequested(TrackId),
    /// The remote side reported on the video we send (loss, or its bandwidth estimate).
    SendFeedback(SendFeedback),
    /// A data channel opened.
    DataChannelOpened(String),
    /// The other side closed the connection: its DTLS close_notify arrived (which also ends the
    /// SCTP association and every data channel). Sent at most once, and not for our own close.
    RemoteClosed,
    /// A data channel message arrived.
    DataMessage {
        /// The channel's label.
        label: String,
        /// The payload.
        data: Vec<u8>,
    },
}

/// Transport counters for one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Bytes sent over the selected candidate pair.
    pub bytes_sent: u64,
    /// Bytes received over the selected candidate pair.
    pub bytes_received: u64,
}

pub(crate) type Events = mpsc::UnboundedSender<PeerEvent>;

type DataChannels = Arc<Mutex<HashMap<String, Arc<dyn DataChannel>>>>;

/// What the library's callbacks and the session's watchers share.
pub(crate) struct Callbacks {
    /// Data channels by label, ours and those the other side opened, to send on.
    pub(crate) data_channels: DataChannels,
    pub(crate) events: Events,
    pub(crate) endings: Arc<Endings>,
    /// Woken when a data channel ends.
    pub(crate) closing: Arc<Notify>,
    /// Whether the latest round of candidate gathering is complete.
    pub(crate) gathered: watch::Sender<bool>,
}

fn convert_state(state: RTCPeerConnectionState) -> Option<PeerState> {
    Some(match state {
        RTCPeerConnectionState::New | RTCPeerConnectionState::Connecting => PeerState::Connecting,
        RTCPeerConnectionState::Connected => PeerState::Connected,
        RTCPeerConnectionState::Disconnected => PeerState::Disconnected,
        RTCPeerConnectionState::Failed => PeerState::Failed,
        RTCPeerConnectionState::Closed => PeerState::Closed,
        _ => return None,
    })
}

/// A new sample-fed track with a random SSRC.
fn media_track(
    stream: &str,
    id: &TrackId,
    kind: MediaKind,
) -> Result<(u32, Arc<TrackLocalStaticSample>), RtcError> {
    let ssrc = rand::random::<u32>();
    let track =
        TrackLocalStaticSample::new(Instant::now(), stream_track(stream, id, kind, ssrc)).map_err(setup)?;
    Ok((ssrc, Arc::new(track)))
}

fn spawn_data_channel_reader(channel: Arc<dyn DataChannel>, events: Events, closing: Arc<Notify>) {
    tokio::spawn(async move {
        let label = channel.label().await.unwrap_or_default();
        while let Some(event) = channel.poll().await {
            let sent = match event {
                DataChannelEvent::OnOpen => events.send(PeerEvent::DataChannelOpened(label.clone())),
                DataChannelEvent::OnMessage(message) => events.send(PeerEvent::DataMessage {
                    label: label.clone(),
                    data: message.data.to_vec(),
                }),
                DataChannelEvent::OnClose => break,
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
        // A channel we did not close ends when the peer closes it or the whole connection.
        closing.notify_one();
    });
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Callbacks {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.events.send(PeerEvent::LocalCandidate(IceCandidate {
                candidate: init.candidate,
                // The library says "no mid" with an empty one; a fragment or SDP cannot carry that.
                sdp_mid: init.sdp_mid.filter(|mid| !mid.is_empty()),
                sdp_mline_index: init.sdp_mline_index,
            }));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.gathered
            .send_replace(state == RTCIceGatheringState::Complete);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if let Some(state) = convert_state(state) {
            let _ = self.events.send(PeerEvent::StateChanged(state));
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let label = channel.label().await.unwrap_or_default();
        if let Ok(mut channels) = self.data_channels.lock() {
            channels.entry(label).or_insert_with(|| channel.clone());
        }
        spawn_data_channel_reader(channel, self.events.clone(), self.closing.clone());
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = match track.kind().await {
            RtpCodecKind::Audio => MediaKind::Audio,
            RtpCodecKind::Video => MediaKind::Video,
            _ => return,
        };
        let remote = RemoteTrack {
            end: self.endings.watch(),
            kind,
            stream_id: track.stream_id().await.to_string(),
            track_id: track.track_id().await.to_string(),
            ssrc: track.ssrcs().await.first().copied().unwrap_or_default(),
            track,
        };
        let _ = self.events.send(PeerEvent::TrackReceived(remote));
    }
}

#[derive(Clone)]
pub(crate) enum LocalTrack {
    Media(Arc<LocalMediaTrack>),
    Forward(Arc<ForwardTrack>),
}

impl LocalTrack {
    fn renegotiated(&self) {
        match self {
            LocalTrack::Media(t) => t.renegotiated(),
            LocalTrack::Forward(t) => t.renegotiated(),
        }
    }

    async fn say_goodbye(&self) {
        match self {
            LocalTrack::Media(t) => t.say_goodbye().await,
            LocalTrack::Forward(t) => t.say_goodbye().await,
        }
    }
}

/// How long [`PeerSession::close`] waits for its RTCP BYEs to leave before closing.
pub(crate) const GOODBYE_FLUSH: Duration = Duration::from_millis(20);

/// One WebRTC PeerConnection with Confab's codecs.
pub struct PeerSession {
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) events: Events,
    closed: Arc<AtomicBool>,
    closing: Arc<Notify>,
    pub(crate) endings: Arc<Endings>,
    pub(crate) local_tracks: Mutex<Vec<(LocalTrack, Arc<dyn RtpSender>)>>,
    /// SSRCs of the video we encode and send here, whose reception reports we pass on.
    sent_video: Arc<Mutex<Vec<u32>>>,
    pending_candidates: Mutex<Vec<IceCandidate>>,
    data_channels: DataChannels,
    pub(crate) forward_slots: Mutex<Vec<(Arc<ForwardTrack>, ForwardSlot)>>,
    pub(crate) idle_forwards: Mutex<Vec<ForwardSlot>>,
    ice_restarts: AtomicU32,
    gathered: watch::Receiver<bool>,
}

/// A connection configuration naming these STUN/TURN servers.
fn ice_configuration(servers: &[IceServer]) -> RTCConfiguration {
    let ice_servers = servers
        .iter()
        .map(|server| RTCIceServer {
            urls: vec![server.url.clone()],
            username: server.username.clone().unwrap_or_default(),
            credential: server
                .credential
                .as_ref()
                .map(|c| c.expose().to_owned())
                .unwrap_or_default(),
        })
        .collect();
    RTCConfigurationBuilder::new()
        .with_ice_servers(ice_servers)
        .build()
}

/// Longest wait for candidate gathering before a description goes out with what it has.
const GATHERING_LIMIT: Duration = Duration::from_secs(5);

/// The first ICE username fragment a description carries.
fn ice_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
}

impl PeerSession {
    /// Creates a session; its events arrive on the returned receiver.
    pub async fn new(config: &PeerConfig) -> Result<(Self, mpsc::UnboundedReceiver<PeerEvent>), RtcError> {
        let (events, rx) = mpsc::unbounded_channel();
        let closing = Arc::new(Notify::new());
        let endings = Arc::new(Endings::new());
        let (gathered_tx, gathered) = watch::channel(false);
        let data_channels = DataChannels::default();
        let callbacks = Arc::new(Callbacks {
            data_channels: data_channels.clone(),
            events: events.clone(),
            endings: endings.clone(),
            closing: closing.clone(),
            gathered: gathered_tx,
        });
        let pc = match Self::build(config, &callbacks, MulticastDnsMode::QueryOnly).await {
            Ok(pc) => pc,
            // No multicast route (a network namespace, some VPNs and containers): the mDNS
            // socket cannot exist, so go without resolving peers' `.local` candidates.
            Err(e) if e.to_string().contains("No such device") => {
                tracing::info!("no multicast route here; media connections will not resolve mDNS candidates");
                Self::build(config, &callbacks, MulticastDnsMode::Disabled).await?
            }
            Err(e) => return Err(e),
        };
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let closed = Arc::new(AtomicBool::new(false));
        watch_remote_close(Arc::downgrade(&pc), closed.clone(), callbacks);
        Ok((
            Self {
                pc,
                events,
                closed,
                closing,
                endings,
                local_tracks: Mutex::new(Vec::new()),
                sent_video: Arc::default(),
                pending_candidates: Mutex::new(Vec::new()),
                data_channels,
                forward_slots: Mutex::new(Vec::new()),
                idle_forwards: Mutex::new(Vec::new()),
                ice_restarts: AtomicU32::new(0),
                gathered,
            },
            rx,
        ))
    }

    async fn build(
        config: &PeerConfig,
        callbacks: &Arc<Callbacks>,
        mdns: MulticastDnsMode,
    ) -> Result<impl PeerConnection + 'static, RtcError> {
        let (engine, registry) = media_setup()?;
        let settings = SettingEngineBuilder::new().with_multicast_dns_mode(mdns).build();
        let configuration = ice_configuration(&config.ice_servers);
        PeerConnectionBuilder::new()
            .with_configuration(configuration)
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(callbacks.clone())
            .with_udp_addrs(config.udp_addrs.clone())
            .build()
            .await
            .map_err(setup)
    }

    /// Gathers through these STUN/TURN servers from the next gathering on (an ICE restart), as
    /// a browser's `setConfiguration` does; the current candidates stay.
    pub async fn set_ice_servers(&self, servers: &[IceServer]) -> Result<(), RtcError> {
        self.pc
            .set_configuration(ice_configuration(servers))
            .await
            .map_err(setup)
    }

    /// The remote description's SDP, once one is set.
    pub async fn remote_description(&self) -> Option<String> {
        self.pc.remote_description().await.map(|d| d.sdp)
    }

    pub(crate) async fn add_sendonly(
        &self,
        track: Arc<dyn TrackLocal>,
    ) -> Result<(Arc<dyn RtpSender>, Arc<dyn RtpTransceiver>), RtcError> {
        let transceiver = self
            .pc
            .add_transceiver_from_track(
                track,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    ..Default::default()
                }),
            )
            .await
            .map_err(setup)?;
        let sender = transceiver
            .sender()
            .await
            .map_err(setup)?
            .ok_or_else(|| RtcError::Setup("transceiver has no sender".into()))?;
        Ok((sender, transceiver))
    }

    /// Reads the RTCP that arrives for a local `track`: PLI/FIR become a keyframe request for
    /// whatever track `label` names at that moment (a recycled forwarding slot changes name; an
    /// idle one has none), a BYE riding in the same compound packet ends its remote source, and
    /// with `reports` set (tracks we encode for, not forwarded ones) reception reports and
    /// bandwidth estimates about our video become [`PeerEvent::SendFeedback`].
    pub(crate) fn watch_feedback(&self, label: SlotLabel, track: Arc<dyn TrackLocal>, reports: bool) {
        let (events, closed, endings) = (self.events.clone(), self.closed.clone(), self.endings.clone());
        let sent_video = reports.then(|| self.sent_video.clone());
        tokio::spawn(async move {
            while !closed.load(Ordering::Relaxed) {
                match track.poll().await {
                    Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                        endings.note_goodbyes(&packets);
                        let current = label
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .clone();
                        let requested = packets.iter().any(|p| is_keyframe_request(p.as_ref()));
                        let mut out: Vec<PeerEvent> = Vec::new();
                        if let (Some(id), true) = (current, requested) {
                            out.push(PeerEvent::KeyframeRequested(id));
                        }
                        if let Some(sent_video) = &sent_video {
                            let ours = sent_video
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            let feedback = send_feedback(&packets, |ssrc| ours.contains(&ssrc));
                            out.extend(feedback.into_iter().map(PeerEvent::SendFeedback));
                        }
                        if out.into_iter().any(|event| events.send(event).is_err()) {
                            return;
                        }
                    }
                    Some(_) => {}
                    // Not bound yet (negotiation pending) or unbound: look again shortly.
                    None => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
    }

    /// Adds a send-only track fed with encoded frames. `stream` groups tracks (the participant).
    pub async fn add_media_track(
        &self,
        stream: &str,
        id: TrackId,
        kind: MediaKind,
    ) -> Result<Arc<LocalMediaTrack>, RtcError> {
        let (ssrc, track) = media_track(stream, &id, kind)?;
        let (sender, _) = self.add_sendonly(track.clone()).await?;
        Ok(self.register_media_track(id, kind, ssrc, track, sender))
    }

    /// Adds a track fed with encoded frames that also receives what the other side sends in
    /// its section (a mesh peer's media connection, PeerJS-style). In an offer it makes a
    /// send-and-receive section; after [`Self::answer_sending`] applied an offer, it takes the
    /// offer's section of its kind.
    pub async fn add_two_way_track(
        &self,
        stream: &str,
        id: TrackId,
        kind: MediaKind,
    ) -> Result<Arc<LocalMediaTrack>, RtcError> {
        let (ssrc, track) = media_track(stream, &id, kind)?;
        let sender = self.pc.add_track(track.clone()).await.map_err(setup)?;
        Ok(self.register_media_track(id, kind, ssrc, track, sender))
    }

    /// Answers `offer` sending our `tracks` (as `stream`) in the offer's sections of their kinds;
    /// returns the answer (already applied, candidates to follow) and the tracks to feed.
    pub async fn answer_sending(
        &self,
        offer: SessionDescription,
        stream: &str,
        tracks: &[(TrackId, MediaKind)],
    ) -> Result<(SessionDescription, Vec<Arc<LocalMediaTrack>>), RtcError> {
        self.set_remote(offer).await?;
        let mut sending = Vec::new();
        for (id, kind) in tracks {
            sending.push(self.add_two_way_track(stream, id.clone(), *kind).await?);
        }
        Ok((self.answer().await?, sending))
    }

    fn register_media_track(
        &self,
        id: TrackId,
        kind: MediaKind,
        ssrc: u32,
        track: Arc<TrackLocalStaticSample>,
        sender: Arc<dyn RtpSender>,
    ) -> Arc<LocalMediaTrack> {
        let local = Arc::new(LocalMediaTrack::new(
            id.clone(),
            kind,
            ssrc,
            track.clone(),
            sender.clone(),
        ));
        if kind == MediaKind::Video {
            self.lock(&self.sent_video).push(ssrc);
        }
        self.watch_feedback(Arc::new(Mutex::new(Some(id))), track, true);
        self.lock_tracks()
            .push((LocalTrack::Media(local.clone()), sender));
        local
    }

    /// Adds a receive-only transceiver so an offer asks the other side for `kind`.
    pub async fn add_receiver(&self, kind: MediaKind) -> Result<(), RtcError> {
        self.pc
            .add_transceiver_from_kind(
                to_rtc_kind(kind),
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    ..Default::default()
                }),
            )
            .await
            .map(|_| ())
            .map_err(setup)
    }

    /// Opens a reliable, ordered data channel; its messages arrive as [`PeerEvent::DataMessage`].
    pub async fn open_data_channel(&self, label: &str) -> Result<(), RtcError> {
        let channel = self.pc.create_data_channel(label, None).await.map_err(setup)?;
        spawn_data_channel_reader(channel.clone(), self.events.clone(), self.closing.clone());
        self.data_channels
            .lock()
            .map_err(|_| RtcError::Closed)?
            .insert(label.to_owned(), channel);
        Ok(())
    }

    /// Sends binary data on a data channel (opened by either side).
    pub async fn send_data(&self, label: &str, data: &[u8]) -> Result<(), RtcError> {
        let channel = self.channel(label)?;
        channel
            .send(BytesMut::from(data))
            .await
            .map_err(|_| RtcError::NotConnected)
    }

    /// Sends a text message on a data channel (opened by either side; text-only protocols such as
    /// Janus TextRoom ignore binary messages).
    pub async fn send_text(&self, label: &str, text: &str) -> Result<(), RtcError> {
        let channel = self.channel(label)?;
        channel.send_text(text).await.map_err(|_| RtcError::NotConnected)
    }

    fn channel(&self, label: &str) -> Result<Arc<dyn DataChannel>, RtcError> {
        self.data_channels
            .lock()
            .map_err(|_| RtcError::Closed)?
            .get(label)
            .cloned()
            .ok_or(RtcError::NotConnected)
    }

    /// Creates an offer and applies it locally. Candidates follow as [`PeerEvent::LocalCandidate`].
    pub async fn create_offer(&self) -> Result<SessionDescription, RtcError> {
        self.offer(None).await
    }

    /// Creates an offer with fresh ICE credentials and applies it locally: both sides gather
    /// and check candidates anew, so a media path that stopped working is replaced by whatever
    /// path works now, while the DTLS session, the tracks and the data channels carry on.
    pub async fn create_ice_restart_offer(&self) -> Result<SessionDescription, RtcError> {
        let offer = self.offer(Some(RTCOfferOptions { ice_restart: true })).await?;
        self.ice_restarts.fetch_add(1, Ordering::Relaxed);
        Ok(offer)
    }

    /// The ICE username fragment of the remote description, if one is set.
    pub async fn remote_ice_ufrag(&self) -> Option<String> {
        let remote = self.pc.remote_description().await?;
        ice_ufrag(&remote.sdp).map(str::to_owned)
    }

    /// How many ICE restarts this connection went through, offered by either side.
    pub fn ice_restarts(&self) -> u32 {
        self.ice_restarts.load(Ordering::Relaxed)
    }

    async fn offer(&self, options: Option<RTCOfferOptions>) -> Result<SessionDescription, RtcError> {
        let local = |e: webrtc::error::Error| RtcError::LocalDescription(e.to_string());
        let offer = self.pc.create_offer(options).await.map_err(local)?;
        let sdp = offer.sdp.clone();
        self.pc.set_local_description(offer).await.map_err(local)?;
        Ok(SessionDescription {
            kind: SdpKind::Offer,
            sdp,
        })
    }

    /// Applies the remote SDP. For an offer, returns our answer (already applied locally).
    pub async fn apply_remote(
        &self,
        desc: SessionDescription,
    ) -> Result<Option<SessionDescription>, RtcError> {
        let kind = desc.kind;
        self.set_remote(desc).await?;
        let answer = match kind {
            SdpKind::Offer => Some(self.answer().await?),
            SdpKind::Answer => None,
        };
        for (track, _) in self.lock_tracks().iter() {
            track.renegotiated();
        }
        Ok(answer)
    }

    /// Answers an offer from a side that does not trickle (WHIP, WHEP): the answer goes out
    /// once candidate gathering is complete, with every candidate in it.
    pub async fn answer_whole(&self, offer: String) -> Result<SessionDescription, RtcError> {
        self.apply_remote(SessionDescription {
            kind: SdpKind::Offer,
            sdp: offer,
        })
        .await?;
        self.gathered_answer().await
    }

    /// The answer just applied locally, once gathering is complete (or [`GATHERING_LIMIT`]
    /// ran out), candidates included.
    pub(crate) async fn gathered_answer(&self) -> Result<SessionDescription, RtcError> {
        let mut gathered = self.gathered.clone();
        let _ = tokio::time::timeout(GATHERING_LIMIT, gathered.wait_for(|done| *done)).await;
        let local = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| RtcError::LocalDescription("no local description after answering".into()))?;
        Ok(SessionDescription {
            kind: SdpKind::Answer,
            sdp: local.sdp,
        })
    }

    /// Applies a remote description, bundled sections made to agree on ICE credentials first
    /// (see [`crate::bundle`]). Candidates that arrived early are added after it.
    pub(crate) async fn set_remote(&self, desc: SessionDescription) -> Result<(), RtcError> {
        let bad = |e: webrtc::error::Error| RtcError::BadRemoteDescription(e.to_string());
        let sdp = unify_bundled_credentials(&desc.sdp)?.into_owned();
        let remote = match desc.kind {
            SdpKind::Offer => RTCSessionDescription::offer(sdp),
            SdpKind::Answer => RTCSessionDescription::answer(sdp),
        }
        .map_err(bad)?;
        if desc.kind == SdpKind::Offer {
            let current = self.pc.remote_description().await;
            let old = current.as_ref().and_then(|d| ice_ufrag(&d.sdp));
            if old.is_some() && old != ice_ufrag(&remote.sdp) {
                self.ice_restarts.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.pc.set_remote_description(remote).await.map_err(bad)?;
        let pending = std::mem::take(&mut *self.pending_candidates.lock().map_err(|_| RtcError::Closed)?);
        for candidate in pending {
            self.add_ice(candidate).await?;
        }
        Ok(())
    }

    /// Creates an answer to the remote offer just set and applies it locally.
    pub(crate) async fn answer(&self) -> Result<SessionDescription, RtcError> {
        let local = |e: webrtc::error::Error| RtcError::LocalDescription(e.to_string());
        let answer = self.pc.create_answer(None).await.map_err(local)?;
        let sdp = answer.sdp.clone();
        self.pc.set_local_description(answer).await.map_err(local)?;
        Ok(SessionDescription {
            kind: SdpKind::Answer,
            sdp,
        })
    }

    /// Adds a remote candidate; queued until a remote description is set.
    pub async fn add_remote_candidate(&self, candidate: IceCandidate) -> Result<(), RtcError> {
        if self.pc.remote_description().await.is_none() {
            self.pending_candidates
                .lock()
                .map_err(|_| RtcError::Closed)?
                .push(candidate);
            return Ok(());
        }
        self.add_ice(candidate).await
    }

    async fn add_ice(&self, candidate: IceCandidate) -> Result<(), RtcError> {
        self.pc
            .add_ice_candidate(RTCIceCandidateInit {
                candidate: candidate.candidate,
                sdp_mid: candidate.sdp_mid,
                sdp_mline_index: candidate.sdp_mline_index,
                ..Default::default()
            })
            .await
            .map_err(|e| RtcError::BadCandidate(e.to_string()))
    }

    /// Transport byte counters (everything DTLS carried: media, RTCP and data channels).
    pub async fn stats(&self) -> PeerStats {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        report.transport().map_or_else(PeerStats::default, |t| PeerStats {
            bytes_sent: t.bytes_sent,
            bytes_received: t.bytes_received,
        })
    }

    /// Closes the connection (idempotent), in the order RFC 3550 and RFC 8831 ask: an RTCP BYE
    /// for every source we send, then the data channels, then the PeerConnection (SCTP
    /// shutdown, DTLS close_notify, sockets). Pending track reads end.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::Relaxed) {
            return;
        }
        let senders: Vec<LocalTrack> = self.lock_tracks().iter().map(|(t, _)| t.clone()).collect();
        for track in &senders {
            track.say_goodbye().await;
        }
        if !senders.is_empty() {
            // The BYEs are queued behind any media already handed to the connection; give the
            // driver a moment to put them on the wire before the transport goes away.
            tokio::time::sleep(GOODBYE_FLUSH).await;
        }
        let channels: Vec<_> = self
            .data_channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain()
            .map(|(_, channel)| channel)
            .collect();
        for channel in channels {
            let _ = channel.close().await;
        }
        if let Err(e) = self.pc.close().await {
            tracing::debug!(error = %e, "peer connection close reported an error");
        }
        self.endings.end_everything();
    }

    pub(crate) fn lock_tracks(&self) -> std::sync::MutexGuard<'_, Vec<(LocalTrack, Arc<dyn RtpSender>)>> {
        self.lock(&self.local_tracks)
    }

    pub(crate) fn lock<'a, T>(&self, mutex: &'a Mutex<T>) -> std::sync::MutexGuard<'a, T> {
        mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for PeerSession {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}
