//! Transports carry an adapter's frames. [`WebSocketTransport`] is the one the native, Janus and
//! PeerJS dialects ride on.

use crate::native::wire::MAX_FRAME_BYTES;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The transport failed. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Could not reach the server. Retrying may help once the server is up or reachable.
    #[error("could not reach the meeting server at {address}: {reason}")]
    Connect {
        /// Where we tried, with any `token` in its query redacted.
        address: String,
        /// Why it failed.
        reason: String,
    },
    /// The connection dropped. Reconnecting may help.
    #[error("the connection to the meeting server was lost: {0}")]
    Lost(String),
}

/// A bidirectional, ordered channel of text frames.
#[async_trait::async_trait]
pub trait Transport: Send {
    /// Sends one frame.
    async fn send(&mut self, frame: String) -> Result<(), TransportError>;
    /// The next frame; `None` once the other side closed cleanly. Cancel-safe.
    async fn recv(&mut self) -> Option<Result<String, TransportError>>;
    /// Closes the connection politely.
    async fn close(&mut self);
}

/// A WebSocket client connection.
pub struct WebSocketTransport {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WebSocketTransport {
    /// Connects to a `ws://` URL of Confab's own server, giving up after `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, TransportError> {
        Self::connect_with(url, None, MAX_FRAME_BYTES * 2, timeout).await
    }

    /// Connects to a `ws://` or `wss://` URL asking for `subprotocol` (Janus wants
    /// `janus-protocol`), reading messages up to `max_message` bytes, giving up after `timeout`.
    pub async fn connect_with(
        url: &str,
        subprotocol: Option<&str>,
        max_message: usize,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let error = |reason: String| TransportError::Connect {
            address: without_secrets(url),
            reason,
        };
        // The WebRTC stack builds rustls with ring; wss:// uses it too (a second install is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut request = url.into_client_request().map_err(|e| error(e.to_string()))?;
        if let Some(protocol) = subprotocol {
            let value = HeaderValue::from_str(protocol).map_err(|e| error(e.to_string()))?;
            request.headers_mut().insert("Sec-WebSocket-Protocol", value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (socket, _) = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| error(format!("no answer within {} s", timeout.as_secs())))?
            .map_err(|e| error(e.to_string()))?;
        Ok(Self { socket })
    }

    /// The local IP address of the connection: the interface that reaches the server.
    pub fn local_ip(&self) -> std::net::IpAddr {
        let tcp = match self.socket.get_ref() {
            MaybeTlsStream::Plain(tcp) => Some(tcp),
            _ => None,
        };
        tcp.and_then(|t| t.local_addr().ok())
            .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), |a| a.ip())
    }
}

#[async_trait::async_trait]
impl Transport for WebSocketTransport {
    async fn send(&mut self, frame: String) -> Result<(), TransportError> {
        self.socket
            .send(Message::text(frame))
            .await
            .map_err(|e| TransportError::Lost(e.to_string()))
    }

    async fn recv(&mut self) -> Option<Result<String, TransportError>> {
        loop {
            match self.socket.next().await? {
                Ok(Message::Text(text)) => return Some(Ok(text.to_string())),
                Ok(Message::Close(_)) => return None,
                Ok(_) => {} // binary, ping, pong: not part of any text dialect
                Err(e) => return Some(Err(TransportError::Lost(e.to_string()))),
            }
        }
    }

    async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.close(None)).await;
    }
}

/// `url` with the value of a `token` query parameter (PeerJS puts its reconnect token there)
/// replaced by `<redacted>`.
fn without_secrets(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.split('?').next().unwrap_or_default().to_owned();
    };
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if pairs.iter().any(|(key, _)| key == "token") {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, if key == "token" { "<redacted>" } else { value });
        }
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_failed_connection_names_the_address_without_its_token() {
        // Port 9 on loopback (discard) has no WebSocket server: the connection is refused.
        let url = "ws://127.0.0.1:9/peerjs?key=peerjs&id=r-1&token=s3cret";
        let timeout = std::time::Duration::from_secs(2);
        let Err(error) = super::WebSocketTransport::connect_with(url, None, 1024, timeout).await else {
            panic!("nothing listens on port 9");
        };
        let shown = error.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("id=r-1"), "{shown}");
    }
}
