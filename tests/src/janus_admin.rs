//! Janus' Admin API (WebSocket, `janus-admin-protocol`), which the test configuration turns on
//! inside the namespace: it finds a participant's handles and makes Janus hang one up, as it
//! does when a connection's ICE or DTLS fails.

use crate::janus::{ADMIN_SECRET, ADMIN_WS_PORT};
use crate::netns::INNER_ADDR;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Which of a participant's Janus connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JanusConnection {
    /// The VideoRoom publisher handle.
    Publisher,
    /// The VideoRoom subscriber handle.
    Subscriber,
    /// The TextRoom handle.
    Chat,
}

/// One Admin API request and Janus' reply to it; fails the test if Janus refuses it.
async fn admin(body: Value) -> Value {
    let reply = admin_reply(body.clone()).await;
    assert_eq!(reply["janus"], "success", "the Admin API refused {body}: {reply}");
    reply
}

/// One Admin API request and Janus' reply to it, whatever it is.
async fn admin_reply(mut body: Value) -> Value {
    let url = format!("ws://{INNER_ADDR}:{ADMIN_WS_PORT}");
    let mut request = url.into_client_request().expect("a request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "janus-admin-protocol".parse().expect("a header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("Janus' Admin API answers");
    body["transaction"] = json!("admin");
    body["admin_secret"] = json!(ADMIN_SECRET);
    socket
        .send(Message::text(body.to_string()))
        .await
        .expect("send to the Admin API");
    while let Some(frame) = socket.next().await {
        if let Ok(Message::Text(text)) = frame {
            return serde_json::from_str(&text).expect("JSON from Janus");
        }
    }
    panic!("the Admin API closed without answering {body}");
}

/// Has Janus hang up `which` connection of the participant publishing as `feed` (their
/// participant id on Janus) — the same as when that connection fails on the server.
pub async fn hang_up(feed: &str, which: JanusConnection) {
    let sessions = admin(json!({"janus": "list_sessions"})).await;
    for session in sessions["sessions"].as_array().into_iter().flatten() {
        let handles = admin(json!({"janus": "list_handles", "session_id": session})).await;
        let mut infos = Vec::new();
        for handle in handles["handles"].as_array().into_iter().flatten() {
            // A handle detached meanwhile (another participant's) is no longer there to ask.
            let info =
                admin_reply(json!({"janus": "handle_info", "session_id": session, "handle_id": handle}))
                    .await;
            if info["janus"] == "success" {
                infos.push((handle.clone(), info["info"].clone()));
            }
        }
        let theirs = infos.iter().any(|(_, info)| {
            info["plugin_specific"]["type"] == "publisher"
                && info["plugin_specific"]["id"]
                    .as_u64()
                    .map(|id| id.to_string())
                    .as_deref()
                    == Some(feed)
        });
        if !theirs {
            continue;
        }
        let wanted = |info: &Value| match which {
            JanusConnection::Publisher => info["plugin_specific"]["type"] == "publisher",
            JanusConnection::Subscriber => info["plugin_specific"]["type"] == "subscriber",
            JanusConnection::Chat => info["plugin"] == "janus.plugin.textroom",
        };
        let (handle, _) = infos
            .iter()
            .find(|(_, info)| wanted(info))
            .unwrap_or_else(|| panic!("{feed} has no {which:?} handle: {infos:?}"));
        admin(json!({"janus": "hangup_webrtc", "session_id": session, "handle_id": handle})).await;
        return;
    }
    panic!("no Janus session publishes as {feed}");
}
