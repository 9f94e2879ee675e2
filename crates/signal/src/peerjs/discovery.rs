//! Asking a PeerJS server who is connected: `GET {path}{key}/peers`, which the server answers
//! only when started with `--allow_discovery`. The room's members are found in the answer
//! ([`super::member_of_room`]).

use super::peers_url;
use crate::TransportError;
use confab_core::link::PeerJsLink;
use std::time::Duration;

/// How long the server may take to answer.
const LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest list read (some 40 000 peer ids).
const MAX_LIST_BYTES: usize = 2 * 1024 * 1024;

/// The ids of every peer connected to the server.
pub async fn list_peers(link: &PeerJsLink) -> Result<Vec<String>, TransportError> {
    let url = peers_url(link);
    let failed = |reason: String| TransportError::Connect {
        address: url.to_string(),
        reason,
    };
    // The WebRTC stack builds rustls with ring; use it for HTTPS too (a second install is a no-op).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(LIST_TIMEOUT)
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let response = http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(failed(
            "the server does not list its peers, so Confab cannot find the others in the room; \
             start it with --allow_discovery"
                .into(),
        ));
    }
    if !response.status().is_success() {
        return Err(failed(format!(
            "it answered {} to the list of peers",
            response.status()
        )));
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_LIST_BYTES {
            return Err(failed(format!(
                "its list of peers is longer than {MAX_LIST_BYTES} bytes"
            )));
        }
    }
    serde_json::from_slice(&body).map_err(|_| failed("its list of peers is not a JSON list of ids".into()))
}
