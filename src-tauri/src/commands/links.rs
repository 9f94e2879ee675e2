//! Links: checking a pasted link, the link the app was opened with, and starting a meeting on
//! this computer.

use crate::error::UiError;
use crate::meeting::Meeting;
use crate::state::AppState;
use confab_core::JoinLink;
use serde::Serialize;
use tauri::State;

/// What a link points at, to show before joining.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    /// Which kind of server (`confab` for Confab's own, `whip`, `whep`, `janus`).
    pub adapter: &'static str,
    /// The server's address.
    pub server: String,
    /// The room.
    pub room: String,
    /// The link with its secrets hidden, for display.
    pub redacted: String,
}

/// A meeting served by this app.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MeetingView {
    /// The link others open.
    pub link: String,
    /// Whether only this computer can join.
    pub local_only: bool,
}

/// Checks a link the user pasted or clicked.
pub fn check_link(text: &str) -> Result<(JoinLink, LinkView), UiError> {
    let link = JoinLink::parse(text).map_err(|e| UiError::new("bad_link", capitalised(&e.to_string())))?;
    let view = match &link {
        JoinLink::Native(native) => LinkView {
            adapter: "confab",
            server: format!("{}:{}", native.host, native.port),
            room: native.room.as_str().to_owned(),
            redacted: link.redacted(),
        },
        JoinLink::Stream(stream) => {
            let (adapter, endpoint) = match (&stream.publish, &stream.watch) {
                (Some(publish), _) => ("whip", publish),
                (None, Some(watch)) => ("whep", watch),
                (None, None) => unreachable!("a stream link names at least one endpoint"),
            };
            let port = endpoint.port().map(|p| format!(":{p}")).unwrap_or_default();
            LinkView {
                adapter,
                server: format!("{}{port}", endpoint.host_str().unwrap_or_default()),
                room: endpoint.path().to_owned(),
                redacted: link.redacted(),
            }
        }
        JoinLink::Janus(janus) => LinkView {
            adapter: "janus",
            server: host_and_port(&janus.server),
            room: janus.room.to_string(),
            redacted: link.redacted(),
        },
        JoinLink::PeerJs(peerjs) => LinkView {
            adapter: "peerjs",
            server: host_and_port(&peerjs.server),
            room: peerjs.room.clone(),
            redacted: link.redacted(),
        },
    };
    Ok((link, view))
}

fn host_and_port(server: &tauri::Url) -> String {
    let port = server.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}{port}", server.host_str().unwrap_or_default())
}

fn capitalised(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| {
        format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        )
    })
}

/// Checks a link; the UI shows the sentence of a bad one.
#[tauri::command]
pub fn parse_link(text: String) -> Result<LinkView, UiError> {
    check_link(&text).map(|(_, view)| view)
}

/// The link the app was opened with (once; later calls return nothing).
#[tauri::command]
pub fn launch_link(state: State<'_, AppState>) -> Option<String> {
    state.take_pending_link()
}

/// Starts the embedded room server (once) and returns its link.
#[tauri::command]
pub async fn start_meeting(state: State<'_, AppState>) -> Result<MeetingView, UiError> {
    let mut meeting = state.meeting.lock().await;
    if meeting.is_none() {
        *meeting = Some(Meeting::start(state.options.meeting_address).await?);
    }
    let meeting = meeting
        .as_ref()
        .ok_or_else(|| UiError::new("meeting_failed", "The meeting stopped."))?;
    Ok(MeetingView {
        link: meeting.link.clone(),
        local_only: meeting.local_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_shows_server_and_room_but_not_its_token() {
        let view = parse_link("confab://10.0.0.2:7878/standup?token=s3cret".into()).unwrap();
        assert_eq!(view.server, "10.0.0.2:7878");
        assert_eq!(view.room, "standup");
        assert!(!view.redacted.contains("s3cret"));
    }

    #[test]
    fn a_bad_link_says_why_in_a_sentence() {
        let error = parse_link("https://example.org/x".into()).unwrap_err();
        assert_eq!(error.code, "bad_link");
        assert_eq!(
            error.message,
            "Confab cannot open 'https:' links; expected confab://, whip+https://, whep+https://, \
             janus+wss:// or peerjs+https://."
        );
    }

    #[test]
    fn a_whip_link_shows_its_server_and_path_but_not_its_token() {
        let view = parse_link("whip+https://sfu.example/whip/live#token=s3cret".into()).unwrap();
        assert_eq!(view.adapter, "whip");
        assert_eq!(view.server, "sfu.example");
        assert_eq!(view.room, "/whip/live");
        assert!(!view.redacted.contains("s3cret"));
    }

    #[test]
    fn a_janus_link_shows_its_server_and_room_but_not_its_pin() {
        let view = parse_link("janus+ws://10.0.0.2:8188/#room=1234&pin=s3cret".into()).unwrap();
        assert_eq!(view.adapter, "janus");
        assert_eq!(view.server, "10.0.0.2:8188");
        assert_eq!(view.room, "1234");
        assert!(!view.redacted.contains("s3cret"));
    }

    #[test]
    fn a_peerjs_link_shows_its_server_and_room() {
        let view = parse_link("peerjs+http://10.0.0.2:9000/#room=standup".into()).unwrap();
        assert_eq!(view.adapter, "peerjs");
        assert_eq!(view.server, "10.0.0.2:9000");
        assert_eq!(view.room, "standup");
    }
}
