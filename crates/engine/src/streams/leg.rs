//! One stream of a WHIP/WHEP call: its media connection and its session on the server. A leg is
//! opened by POSTing an offer, trickles candidates by PATCH, restarts ICE by PATCH (or is opened
//! anew when the server does not restart in place), and DELETEs its session when it closes.

use crate::api::CallError;
use crate::send::track_id;
use confab_core::{IceCandidate, IceServer, MediaKind, SdpKind, SessionDescription};
use confab_rtc::{LocalMediaTrack, PeerConfig, PeerEvent, PeerSession, RtcError};
use confab_signal::whip::client::{Restart, StreamClient, StreamSession};
use confab_signal::whip::sdpfrag;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::sync::Arc;
use tokio::sync::mpsc;
use url::Url;

/// What a leg does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// WHIP: send our camera and microphone.
    Publish,
    /// WHEP: receive one stream.
    Watch,
}

impl Role {
    pub(super) fn protocol(self) -> &'static str {
        match self {
            Role::Publish => "WHIP",
            Role::Watch => "WHEP",
        }
    }
}

/// Our tracks on a publishing leg.
#[derive(Default)]
pub(super) struct Published {
    pub video: Option<Arc<LocalMediaTrack>>,
    pub audio: Option<Arc<LocalMediaTrack>>,
}

/// An open leg.
pub(super) struct Leg {
    pub peer: Arc<PeerSession>,
    session: StreamSession,
    /// The ICE credentials our candidates belong to (they change with a restart).
    credentials: (String, String),
    /// Candidates gathered but not yet sent.
    unsent: Vec<IceCandidate>,
    /// The mid of our offer's first section, which carries the bundle: where candidates that
    /// name no section belong.
    bundle_mid: String,
    /// STUN/TURN servers from the server's `Link` headers, used from the next gathering on.
    ice_servers: Vec<IceServer>,
}

/// Peer events of a leg, tagged with the leg's generation so a replaced leg's last words are
/// not mistaken for its successor's.
pub(super) type LegEvents = mpsc::UnboundedSender<(Role, u64, PeerEvent)>;

impl Leg {
    /// Opens a leg: a media connection with our tracks (publishing) or receivers (watching),
    /// its offer POSTed to `endpoint`, the answer applied. Media sockets bind as `binding`
    /// says, or else on the interface that reaches the endpoint.
    #[allow(clippy::too_many_arguments)] // one leg's whole setup, each argument distinct
    pub async fn open(
        role: Role,
        endpoint: &Url,
        client: &StreamClient,
        sends: &[MediaKind],
        stream: &str,
        binding: Option<&PeerConfig>,
        ice_servers: &[IceServer],
        generation: u64,
        events: &LegEvents,
    ) -> Result<(Self, Published), CallError> {
        let bound = match binding {
            Some(binding) => binding.clone(),
            None => PeerConfig::bound_to(route_to(endpoint).await),
        };
        let config = PeerConfig {
            ice_servers: ice_servers.to_vec(),
            ..bound
        };
        let (peer, mut peer_events) = PeerSession::new(&config).await?;
        let peer = Arc::new(peer);
        let forward = events.clone();
        tokio::spawn(async move {
            while let Some(event) = peer_events.recv().await {
                if forward.send((role, generation, event)).is_err() {
                    return;
                }
            }
        });
        let published = match Self::prepare(role, &peer, sends, stream).await {
            Ok(published) => published,
            Err(e) => {
                peer.close().await;
                return Err(e);
            }
        };
        match Self::negotiate(role, endpoint, client, peer.clone()).await {
            Ok(leg) => Ok((leg, published)),
            Err(e) => {
                peer.close().await;
                Err(e)
            }
        }
    }

    async fn prepare(
        role: Role,
        peer: &PeerSession,
        sends: &[MediaKind],
        stream: &str,
    ) -> Result<Published, CallError> {
        let mut published = Published::default();
        for kind in [MediaKind::Video, MediaKind::Audio] {
            match role {
                Role::Watch => peer.add_receiver(kind).await?,
                Role::Publish if sends.contains(&kind) => {
                    let track = Some(peer.add_media_track(stream, track_id(kind), kind).await?);
                    match kind {
                        MediaKind::Video => published.video = track,
                        MediaKind::Audio => published.audio = track,
                    }
                }
                Role::Publish => {}
            }
        }
        Ok(published)
    }

    async fn negotiate(
        role: Role,
        endpoint: &Url,
        client: &StreamClient,
        peer: Arc<PeerSession>,
    ) -> Result<Self, CallError> {
        let offer = peer.create_offer().await?;
        let credentials = credentials_of(&offer)?;
        let bundle_mid = offer
            .sdp
            .lines()
            .find_map(|l| l.trim_end().strip_prefix("a=mid:"))
            .unwrap_or("0")
            .to_owned();
        let created = client.create(endpoint, &offer.sdp).await?;
        if !created.ice_servers.is_empty() {
            tracing::info!(
                count = created.ice_servers.len(),
                "the stream server names ICE servers"
            );
            peer.set_ice_servers(&created.ice_servers).await?;
        }
        let answer = SessionDescription {
            kind: SdpKind::Answer,
            sdp: created.answer,
        };
        peer.apply_remote(answer).await?;
        tracing::info!(protocol = role.protocol(), session = %created.session.url(), "stream session created");
        Ok(Self {
            peer,
            session: created.session,
            credentials,
            unsent: Vec::new(),
            bundle_mid,
            ice_servers: created.ice_servers,
        })
    }

    /// The STUN/TURN servers the server named (a new leg to the same endpoint starts with them).
    pub fn ice_servers(&self) -> &[IceServer] {
        &self.ice_servers
    }

    /// Notes a local candidate; [`Leg::trickle`] sends it.
    pub fn gathered(&mut self, mut candidate: IceCandidate) {
        if candidate.sdp_mid.is_none() {
            candidate.sdp_mid = Some(self.bundle_mid.clone());
            candidate.sdp_mline_index = Some(0);
        }
        self.unsent.push(candidate);
    }

    /// PATCHes the candidates gathered since the last call.
    pub async fn trickle(&mut self, client: &StreamClient) -> Result<(), CallError> {
        if self.unsent.is_empty() {
            return Ok(());
        }
        let candidates = std::mem::take(&mut self.unsent);
        let (ufrag, pwd) = &self.credentials;
        let fragment = sdpfrag::compose(ufrag, pwd, &candidates, false);
        client.trickle(&mut self.session, fragment).await?;
        Ok(())
    }

    /// Restarts ICE in place: a new offer's credentials go to the server by PATCH, its new
    /// credentials and candidates come back. `Ok(false)`: the server does not restart in place.
    pub async fn restart_ice(&mut self, client: &StreamClient) -> Result<bool, CallError> {
        let offer = self.peer.create_ice_restart_offer().await?;
        self.credentials = credentials_of(&offer)?;
        self.unsent.clear();
        let (ufrag, pwd) = &self.credentials;
        let fragment = sdpfrag::compose(ufrag, pwd, &[], false);
        let Restart::Restarted(theirs) = client.restart(&mut self.session, fragment).await? else {
            return Ok(false);
        };
        let remote = self
            .peer
            .remote_description()
            .await
            .ok_or(confab_rtc::RtcError::NotConnected)?;
        let answer = SessionDescription {
            kind: SdpKind::Answer,
            sdp: sdpfrag::restarted(&remote, &theirs),
        };
        self.peer.apply_remote(answer).await?;
        Ok(true)
    }

    /// Ends the session on the server and closes the media connection.
    pub async fn close(self, client: &StreamClient) {
        if let Err(e) = client.delete(&self.session).await {
            tracing::info!(error = %e, "the stream server did not take our leaving");
        }
        self.peer.close().await;
    }
}

/// The ICE credentials of our own offer, which our candidates are gathered under.
fn credentials_of(offer: &SessionDescription) -> Result<(String, String), CallError> {
    sdpfrag::credentials(&offer.sdp)
        .ok_or_else(|| RtcError::LocalDescription("our offer has no ICE credentials".into()).into())
}

/// The local address of the interface that reaches `endpoint` (a UDP "connect" sends nothing;
/// it only asks the routing table). Resolving the name blocks, so it runs off the call task.
/// Loopback if the name does not resolve: the POST will then say why the server cannot be
/// reached.
async fn route_to(endpoint: &Url) -> IpAddr {
    let endpoint = endpoint.clone();
    let local = tokio::task::spawn_blocking(move || local_address_towards(&endpoint)).await;
    local.ok().flatten().unwrap_or(Ipv4Addr::LOCALHOST.into())
}

fn local_address_towards(endpoint: &Url) -> Option<IpAddr> {
    let target = endpoint.socket_addrs(|| None).ok()?.into_iter().next()?;
    let unspecified: IpAddr = if target.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let socket = UdpSocket::bind((unspecified, 0)).ok()?;
    socket.connect(target).ok()?;
    Some(socket.local_addr().ok()?.ip())
}
