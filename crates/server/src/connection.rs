//! One WebSocket connection: decode frames, answer protocol errors to this client only, and hand
//! valid messages to the room actor. A connection that breaks the protocol gets an error frame
//! with a code and keeps its place; only a refused token or version ends it. A connection either
//! joins as a new member or resumes one whose earlier connection dropped.

use crate::member_link::Outgoing;
use crate::room::{Joiner, MemberHandle, Resumer, Rooms};
use crate::tokens::ServerSecret;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use confab_core::{LeaveReason, RoomName, Secret, SignalErrorCode};
use confab_signal::native::wire::{ClientMessage, Numbered, ServerMessage, MAX_FRAME_BYTES};
use confab_signal::native::PING_INTERVAL;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames larger than this are cut off by the WebSocket layer itself; between
/// [`MAX_FRAME_BYTES`] and this the decoder answers `too_large` and the session goes on.
const SOCKET_LIMIT: usize = 16 * MAX_FRAME_BYTES;
const MAX_NAME_CHARS: usize = 64;
/// A client that sends nothing (not even its pings) for this long is taken to be gone.
const SILENCE_LIMIT: Duration = PING_INTERVAL.saturating_mul(5);

/// What every request handler of the server shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) secret: Arc<ServerSecret>,
    pub(crate) rooms: Rooms,
}

/// Signaling on `GET /ws`, and the WHIP/WHEP endpoints.
pub(crate) fn router(secret: Arc<ServerSecret>, rooms: Rooms) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .merge(crate::whip::routes())
        .with_state(AppState { secret, rooms })
}

async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(SOCKET_LIMIT)
        .max_frame_size(SOCKET_LIMIT)
        .on_upgrade(move |socket| serve(socket, state))
}

/// A session public key or identity proof: base64 of 32 bytes is 44 characters. The server only
/// checks the shape; whoever uses the bytes checks them.
fn is_base64_of_32_bytes(key: &str) -> bool {
    key.len() == 44
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

pub(crate) fn valid_name(name: &str) -> Option<String> {
    let name = name.trim();
    let ok =
        !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

async fn serve(socket: WebSocket, state: AppState) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            let fatal = match &frame.message {
                ServerMessage::Error { code, .. } => code.is_fatal(),
                ServerMessage::Replaced {} => true,
                _ => false,
            };
            if sink.send(Message::Text(frame.encode().into())).await.is_err() || fatal {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let say = |message: ServerMessage| {
        let _ = out.send(Outgoing { seq: None, message });
    };
    let reject = |code: SignalErrorCode, message: &str| say(ServerMessage::error(code, message.to_owned()));
    let refused_token = |room: &RoomName, token: &str| {
        let refused = !state.secret.admits(room, token);
        if refused {
            reject(
                SignalErrorCode::BadToken,
                "this link's token is not valid for this room",
            );
        }
        refused
    };
    let mut member: Option<MemberHandle> = None;
    let mut reason = LeaveReason::ConnectionLost;
    loop {
        let frame = match tokio::time::timeout(SILENCE_LIMIT, stream.next()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                tracing::info!("a client went silent; closing its connection");
                break;
            }
        };
        let text = match frame {
            Ok(Message::Text(text)) => text,
            Ok(Message::Binary(_)) => {
                reject(
                    SignalErrorCode::BadMessage,
                    "binary frames are not part of the protocol",
                );
                continue;
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let Numbered { seq, message } = match ClientMessage::decode(text.as_str()) {
            Ok(numbered) => numbered,
            Err(e) => {
                tracing::debug!(code = ?e.code, "rejected a frame");
                reject(e.code, &e.message);
                if e.code.is_fatal() {
                    break;
                }
                continue;
            }
        };
        match (message, &member) {
            (
                ClientMessage::Join {
                    room,
                    token,
                    name,
                    identity,
                    proof,
                    key,
                },
                None,
            ) => {
                if refused_token(&room, &token) {
                    break;
                }
                let Some(name) = valid_name(&name) else {
                    reject(
                        SignalErrorCode::BadMessage,
                        "the display name must be 1 to 64 printable characters",
                    );
                    continue;
                };
                if !is_base64_of_32_bytes(&key) || !is_base64_of_32_bytes(&proof) {
                    reject(
                        SignalErrorCode::BadMessage,
                        "the session key and identity proof must each be 32 bytes of base64",
                    );
                    continue;
                }
                let joiner = Joiner {
                    name,
                    identity,
                    proof: Secret::new(proof),
                    key,
                };
                match state.rooms.join(room, joiner, out.clone()).await {
                    Ok(handle) => member = Some(handle),
                    Err(code) => {
                        reject(code, code.user_message());
                        break;
                    }
                }
            }
            (
                ClientMessage::Resume {
                    room,
                    token,
                    participant,
                    secret,
                    received,
                },
                None,
            ) => {
                if refused_token(&room, &token) {
                    break;
                }
                let resumer = Resumer {
                    participant,
                    secret,
                    received,
                };
                match state.rooms.resume(&room, resumer, out.clone()).await {
                    Ok(handle) => member = Some(handle),
                    // Not fatal: the client joins afresh on this connection.
                    Err(code) => reject(code, code.user_message()),
                }
            }
            (ClientMessage::Join { .. } | ClientMessage::Resume { .. }, Some(_)) => {
                reject(SignalErrorCode::WrongState, "already joined")
            }
            (ClientMessage::Ping { received }, Some(handle)) => handle.ping(received),
            (ClientMessage::Ping { .. }, None) => say(ServerMessage::Pong { received: 0 }),
            (ClientMessage::Leave {}, _) => {
                reason = LeaveReason::Hangup;
                break;
            }
            (_, None) => reject(SignalErrorCode::WrongState, "join a room first"),
            (message, Some(handle)) => handle.send(seq, message),
        }
    }
    if let Some(handle) = member {
        handle.leave(reason);
    }
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}
