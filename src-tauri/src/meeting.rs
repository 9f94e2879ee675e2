//! "New meeting on this computer": the embedded room server, run inside the app on this
//! computer's local-network address so others can open its link.

use crate::error::UiError;
use confab_core::link::DEFAULT_NATIVE_PORT;
use confab_core::RoomName;
use confab_server::Server;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running meeting server; dropping it closes the meeting for everyone.
pub struct Meeting {
    /// The join link others open.
    pub link: String,
    /// Whether only this computer can join (no local-network address was found).
    pub local_only: bool,
    _stop: oneshot::Sender<()>,
}

impl Meeting {
    /// Starts serving a fresh room on `address`, or on this computer's local-network address.
    pub async fn start(address: Option<IpAddr>) -> Result<Self, UiError> {
        let (ip, local_only) = match address {
            Some(ip) => (ip, ip.is_loopback()),
            None => match local_ip_address::local_ip() {
                Ok(ip) => (ip, false),
                Err(e) => {
                    tracing::warn!(error = %e, "no local-network address; the meeting is for this computer only");
                    (IpAddr::V4(Ipv4Addr::LOCALHOST), true)
                }
            },
        };
        let listener = match TcpListener::bind(SocketAddr::new(ip, DEFAULT_NATIVE_PORT)).await {
            Ok(listener) => listener,
            Err(_) => TcpListener::bind(SocketAddr::new(ip, 0)).await.map_err(|e| {
                UiError::new(
                    "meeting_failed",
                    format!("Could not start a meeting on {ip}: {e}."),
                )
            })?,
        };
        let server = Server::new(&listener)
            .map_err(|e| UiError::new("meeting_failed", format!("Could not start a meeting: {e}.")))?;
        let room = RoomName::new(format!("meeting-{:06x}", rand::random::<u32>() & 0xff_ffff))
            .map_err(|e| UiError::new("meeting_failed", format!("Could not name the meeting: {e}.")))?;
        let link = server.link_for(&room).to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = server.run(listener, shutdown).await {
                tracing::error!(error = %e, "the meeting server stopped");
            }
        });
        tracing::info!(%ip, "serving a meeting on this computer");
        Ok(Self {
            link,
            local_only,
            _stop: stop,
        })
    }
}
