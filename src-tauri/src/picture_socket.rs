//! The picture socket: a WebSocket on loopback that carries decoded pictures from [`Tiles`] to
//! the UI's tiles.
//!
//! Why not a command: WebKitGTK hands a custom-protocol answer (how Tauri's `invoke` replies)
//! to the web page 8 KiB at a time, one message between processes per piece, so a 4-tile call
//! spent more of a core passing pictures than decoding them (`docs/benchmarks.md`). A WebSocket
//! message arrives in one piece.
//!
//! Each tile opens `ws://127.0.0.1:PORT/TOKEN/PARTICIPANT` ([`SELF_VIEW`] for our own picture)
//! and pulls: it sends a [`PictureAsk`] as JSON text (the picture it drew last and the shape it
//! wants) and gets one binary message back, as soon as a newer picture exists, laid out by
//! [`encode_frame`]. A tile that draws slowly skips pictures instead of queueing them. The token
//! is random per run and only the UI is told it, so no other program or web page on this
//! computer can watch the call.

use crate::tiles::{encode_frame, unprepared_frame, FrameShape, Tiles, SELF_VIEW};
use confab_core::ParticipantId;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

/// The longest message a tile may send (an ask is a few dozen bytes of JSON).
const ASK_LIMIT: usize = 1024;
/// How long a connection may take to become a tile, and a tile to take a picture.
const PATIENCE: Duration = Duration::from_secs(10);
/// Connections served at once: a call shows far fewer tiles, and whatever else opens
/// connections here cannot use up the app's descriptors.
const MOST_CONNECTIONS: usize = 64;

/// What a tile sends for its next picture.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct PictureAsk {
    /// The number of the picture the tile drew last (0: none yet).
    after: u64,
    /// How the tile wants it.
    #[serde(flatten)]
    shape: FrameShape,
}

/// The listening socket, running until the app exits.
pub struct PictureSocket {
    url: String,
}

impl PictureSocket {
    /// Listens on a free loopback port and serves `tiles` to whoever knows the token.
    pub async fn start(tiles: Arc<Tiles>) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let token: Arc<str> = format!("{:032x}", rand::random::<u128>()).into();
        let url = format!("ws://{}/{token}", listener.local_addr()?);
        let room = Arc::new(Semaphore::new(MOST_CONNECTIONS));
        tokio::spawn(async move {
            loop {
                let Ok(place) = room.clone().acquire_owned().await else {
                    return; // never closed
                };
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let (token, tiles) = (token.clone(), tiles.clone());
                        tokio::spawn(async move {
                            serve_tile(stream, token, tiles).await;
                            drop(place);
                        });
                    }
                    Err(e) => {
                        // Out of descriptors, most likely: try again shortly rather than spin.
                        tracing::warn!(error = %e, "the picture socket could not take a tile");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(Self { url })
    }

    /// `ws://127.0.0.1:PORT/TOKEN`: a tile adds `/PARTICIPANT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Whose pictures the path `/TOKEN/PARTICIPANT` asks for (`None`: ours), if the token is right.
fn tile_of(path: &str, token: &str) -> Result<Option<ParticipantId>, StatusCode> {
    let (given, participant) = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .ok_or(StatusCode::NOT_FOUND)?;
    if !same_secret(given.as_bytes(), token.as_bytes()) {
        return Err(StatusCode::FORBIDDEN);
    }
    if participant == SELF_VIEW {
        return Ok(None);
    }
    ParticipantId::new(participant)
        .map(Some)
        .map_err(|_| StatusCode::NOT_FOUND)
}

/// Compares without stopping at the first difference, so timing tells nothing of the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Answers one tile's asks until it goes away.
async fn serve_tile(stream: TcpStream, token: Arc<str>, tiles: Arc<Tiles>) {
    // Pictures are sent whole as soon as they are ready.
    let _ = stream.set_nodelay(true);
    let mut whose = None;
    // The refusal's type is the handshake's (tungstenite's), large or not.
    #[allow(clippy::result_large_err)]
    let check = |request: &Request, response: Response| match tile_of(request.uri().path(), &token) {
        Ok(participant) => {
            whose = Some(participant);
            Ok(response)
        }
        Err(status) => {
            let mut refusal = ErrorResponse::new(Some(status.to_string()));
            *refusal.status_mut() = status;
            Err(refusal)
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(ASK_LIMIT))
        .max_frame_size(Some(ASK_LIMIT));
    let accepting = tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config));
    let (Ok(Ok(socket)), Some(participant)) = (tokio::time::timeout(PATIENCE, accepting).await, whose) else {
        return; // not a tile of ours, or too slow to become one
    };
    let (mut to_tile, mut from_tile) = socket.split();
    let mut ask: Option<PictureAsk> = None;
    loop {
        let (tiles, participant, after) = (&*tiles, participant.as_ref(), ask.map(|a| a.after));
        let newer = async move {
            match after {
                Some(after) => tiles.next(participant, after).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = from_tile.next() => match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<PictureAsk>(&text) {
                    Ok(asked) => ask = Some(asked),
                    Err(e) => {
                        tracing::warn!(error = %e, "a tile asked for a picture in a way we do not read");
                        let reason = format!("not a picture ask: {e}");
                        let close = CloseFrame { code: CloseCode::Policy, reason: reason.into() };
                        let _ = to_tile.send(Message::Close(Some(close))).await;
                        return;
                    }
                },
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {} // pings are answered by the socket itself
            },
            (sequence, frame) = newer => {
                let shape = ask.take().map(|a| a.shape).unwrap_or_default();
                // Scaling and converting take a millisecond or two of CPU: off the async workers.
                let prepared = tokio::task::spawn_blocking(move || encode_frame(sequence, &frame, shape)).await;
                let bytes = match prepared {
                    Ok(Ok(bytes)) => bytes,
                    failed => {
                        // The tile keeps its last picture and asks for the one after this.
                        tracing::warn!(?failed, "a picture could not be prepared for its tile");
                        unprepared_frame(sequence)
                    }
                };
                // A tile that stops reading is let go rather than waited for.
                let sent = tokio::time::timeout(PATIENCE, to_tile.send(Message::Binary(bytes.into()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_names_the_token_then_whose_pictures_it_wants() {
        assert_eq!(tile_of("/secret/~self", "secret"), Ok(None));
        assert_eq!(
            tile_of("/secret/alice", "secret"),
            Ok(Some(ParticipantId::new("alice").unwrap()))
        );
        assert_eq!(tile_of("/guess/alice", "secret"), Err(StatusCode::FORBIDDEN));
        assert_eq!(tile_of("/secre/alice", "secret"), Err(StatusCode::FORBIDDEN));
        assert_eq!(tile_of("/secret", "secret"), Err(StatusCode::NOT_FOUND));
        assert_eq!(tile_of("/secret/a%20b", "secret"), Err(StatusCode::NOT_FOUND));
    }

    #[test]
    fn an_ask_names_the_last_picture_and_the_shape() {
        let ask: PictureAsk =
            serde_json::from_str(r#"{"after":7,"maxWidth":400,"maxHeight":224,"pixels":"rgba"}"#).unwrap();
        assert_eq!(ask.after, 7);
        assert_eq!((ask.shape.max_width, ask.shape.max_height), (400, 224));
        assert_eq!(ask.shape.pixels, crate::tiles::Pixels::Rgba);
        let bare: PictureAsk = serde_json::from_str(r#"{"after":0}"#).unwrap();
        assert_eq!(bare.shape, FrameShape::default());
        assert!(serde_json::from_str::<PictureAsk>(r#"{"after":-1}"#).is_err());
    }
}
