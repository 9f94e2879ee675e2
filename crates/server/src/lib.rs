//! # confab-server — the embedded room server
//!
//! Serves Confab's native signaling on `GET /ws` and forwards media as an SFU: each participant
//! publishes once over its own PeerConnection, and the server adds every other participant's
//! tracks to it (renegotiating as people come and go), relays keyframe requests to the
//! publisher, and routes chat. Standard WHIP publishers and WHEP players join rooms over HTTP
//! ([`whip`]'s endpoints), with the room's join token as their bearer token.
//!
//! Rooms are created on demand: a room exists while someone is in it, and its join token is
//! derived from the server's secret ([`tokens`]), so [`Server::link_for`] can mint a link for any
//! room name. The server binds the listener it is given and stops when the caller's shutdown
//! future resolves (see [`Server::run`]). It is meant for one machine on a LAN; bigger rooms
//! belong on a real SFU through the signaling adapters.

#![forbid(unsafe_code)]

mod connection;
mod forward;
mod media_path;
mod member_link;
mod room;
pub mod tokens;
pub mod whip;

use confab_core::link::NativeLink;
use confab_core::{JoinLink, RoomName, Secret};
use confab_rtc::PeerConfig;
use room::Rooms;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The server could not start. Neither variant is helped by retrying unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The listener or the media address is a wildcard, which cannot go into a join link or
    /// an ICE candidate.
    #[error("use a concrete address that others can reach (for example 192.168.1.20), not {0}")]
    WildcardAddress(IpAddr),
    /// The listener failed.
    #[error("the server's network listener failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What happens when someone joins with an identity that is already in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TakeoverPolicy {
    /// The new session takes over if it proves the identity (same secret); the old session is
    /// told it was replaced. Without the proof the join is refused (`IdentityTaken`).
    #[default]
    AllowWithProof,
    /// The join is always refused (`IdentityTaken`) while the identity is present.
    Deny,
}

/// How a server behaves beyond its listener.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerOptions {
    /// A second session of an identity already in a room.
    pub takeover: TakeoverPolicy,
    /// The address media sockets bind; `None` uses the listener's. Set it when signaling and
    /// media should take different networks.
    pub media_ip: Option<IpAddr>,
}

/// A running (or ready to run) embedded room server.
#[derive(Clone)]
pub struct Server {
    address: SocketAddr,
    secret: Arc<tokens::ServerSecret>,
    rooms: Rooms,
}

impl Server {
    /// Prepares a server for `listener`. Media sockets bind the listener's IP.
    pub fn new(listener: &TcpListener) -> Result<Self, ServerError> {
        Self::with_takeover(listener, TakeoverPolicy::default())
    }

    /// Like [`Server::new`], with a policy for a second session of an identity.
    pub fn with_takeover(listener: &TcpListener, takeover: TakeoverPolicy) -> Result<Self, ServerError> {
        Self::with_options(
            listener,
            ServerOptions {
                takeover,
                ..ServerOptions::default()
            },
        )
    }

    /// Like [`Server::new`], with every option.
    pub fn with_options(listener: &TcpListener, options: ServerOptions) -> Result<Self, ServerError> {
        let address = listener.local_addr()?;
        let media_ip = options.media_ip.unwrap_or(address.ip());
        if let Some(wildcard) = [address.ip(), media_ip].into_iter().find(IpAddr::is_unspecified) {
            return Err(ServerError::WildcardAddress(wildcard));
        }
        let peer = PeerConfig::bound_to(media_ip);
        Ok(Self {
            address,
            secret: Arc::new(tokens::ServerSecret::random()),
            rooms: Rooms::new(peer, options.takeover),
        })
    }

    /// The join link for `room` on this server.
    pub fn link_for(&self, room: &RoomName) -> JoinLink {
        JoinLink::Native(NativeLink {
            host: self.address.ip().to_string(),
            port: self.address.port(),
            room: room.clone(),
            token: Secret::new(self.secret.token_for(room)),
        })
    }

    /// Serves until `shutdown` resolves, then tells every participant and closes their calls.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let rooms = self.rooms.clone();
        let app = connection::router(self.secret.clone(), self.rooms.clone());
        let served = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            rooms.shut_down().await;
        });
        served.await?;
        Ok(())
    }
}
