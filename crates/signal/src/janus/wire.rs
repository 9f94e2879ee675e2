//! Janus' JSON as Confab reads it: messages from the Janus API (WebSocket, subprotocol
//! `janus-protocol`) and from the TextRoom data channel, and the error codes Janus uses, mapped
//! onto Confab's. Requests are built where they are sent ([`super::dialect`]).
//!
//! Reading is lenient about fields Confab does not use (Janus adds them freely between
//! versions) and strict about the ones it does: a message without them is a typed error.
//! Feed ids may be numbers or, on a server with `string_ids`, strings; both read as text.

use crate::adapter::AdapterError;
use confab_core::{IceCandidate, SdpKind, SessionDescription, SignalErrorCode};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The largest frame read from Janus (a subscriber offer for a full room stays well below).
pub const MAX_JANUS_FRAME_BYTES: usize = 256 * 1024;

/// The WebSocket subprotocol of the Janus API.
pub const JANUS_PROTOCOL: &str = "janus-protocol";

/// One message from the Janus API.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiMessage {
    /// A request succeeded; `id` is the new session's or handle's id where there is one.
    Success {
        /// The request's transaction.
        transaction: String,
        /// `data.id` (create, attach).
        id: Option<u64>,
    },
    /// A request was accepted; its result follows as an event.
    Ack,
    /// A plugin spoke on one of our handles.
    Event {
        /// The handle.
        sender: u64,
        /// `plugindata.data`.
        data: Value,
        /// The SDP that came with it.
        jsep: Option<SessionDescription>,
    },
    /// Janus trickled a candidate on a handle (`None`: it has no more).
    Trickle {
        /// The handle.
        sender: u64,
        /// The candidate.
        candidate: Option<IceCandidate>,
    },
    /// A handle's media connection is up.
    WebrtcUp {
        /// The handle.
        sender: u64,
    },
    /// Janus sees loss on a handle's media.
    SlowLink {
        /// The handle.
        sender: u64,
        /// Whether the loss is on what Janus sends to us (`true`) or what it receives.
        uplink: bool,
        /// Packets lost in the last second.
        lost: u64,
    },
    /// Janus closed a handle's media connection.
    Hangup {
        /// The handle.
        sender: u64,
        /// Janus' reason ("ICE failed", "DTLS alert", …).
        reason: String,
    },
    /// The session timed out on the server.
    Timeout,
    /// A request failed.
    Error {
        /// The request's transaction, if it had one.
        transaction: Option<String>,
        /// Janus' error code.
        code: u32,
        /// Janus' reason.
        reason: String,
    },
    /// Something Confab does not act on (`media`, `detached`, …).
    Other,
}

#[derive(Deserialize)]
struct RawApi {
    janus: String,
    transaction: Option<String>,
    sender: Option<u64>,
    data: Option<IdData>,
    plugindata: Option<PluginData>,
    jsep: Option<RawJsep>,
    candidate: Option<RawCandidate>,
    uplink: Option<bool>,
    lost: Option<u64>,
    reason: Option<String>,
    error: Option<RawError>,
}

#[derive(Deserialize)]
struct IdData {
    id: Option<u64>,
}

#[derive(Deserialize)]
struct PluginData {
    data: Value,
}

#[derive(Deserialize)]
struct RawJsep {
    #[serde(rename = "type")]
    kind: String,
    sdp: String,
}

#[derive(Deserialize)]
struct RawCandidate {
    candidate: Option<String>,
    #[serde(rename = "sdpMid")]
    sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex")]
    sdp_mline_index: Option<u16>,
    completed: Option<bool>,
}

#[derive(Deserialize)]
struct RawError {
    code: u32,
    reason: Option<String>,
}

fn bad(message: impl Into<String>) -> AdapterError {
    AdapterError::Protocol {
        code: SignalErrorCode::BadMessage,
        message: message.into(),
    }
}

fn parse_json<'a, T: Deserialize<'a>>(frame: &'a str, what: &str) -> Result<T, AdapterError> {
    if frame.len() > MAX_JANUS_FRAME_BYTES {
        return Err(AdapterError::Protocol {
            code: SignalErrorCode::TooLarge,
            message: format!("a {what} frame of {} bytes is over the limit", frame.len()),
        });
    }
    serde_json::from_str(frame).map_err(|e| bad(format!("unreadable {what} frame: {e}")))
}

impl ApiMessage {
    /// Reads one frame from the Janus API.
    pub fn parse(frame: &str) -> Result<Self, AdapterError> {
        let raw: RawApi = parse_json(frame, "Janus API")?;
        let sender = || {
            raw.sender
                .ok_or_else(|| bad(format!("a Janus '{}' without its handle", raw.janus)))
        };
        Ok(match raw.janus.as_str() {
            "success" => ApiMessage::Success {
                transaction: raw
                    .transaction
                    .clone()
                    .ok_or_else(|| bad("a Janus success without a transaction"))?,
                id: raw.data.as_ref().and_then(|d| d.id),
            },
            "ack" => ApiMessage::Ack,
            "event" => ApiMessage::Event {
                sender: sender()?,
                data: raw.plugindata.map(|p| p.data).unwrap_or(Value::Null),
                jsep: raw.jsep.map(RawJsep::into_description).transpose()?,
            },
            "trickle" => {
                let candidate = raw
                    .candidate
                    .ok_or_else(|| bad("a Janus trickle without a candidate"))?;
                ApiMessage::Trickle {
                    sender: sender()?,
                    candidate: candidate.into_candidate(),
                }
            }
            "webrtcup" => ApiMessage::WebrtcUp { sender: sender()? },
            "slowlink" => ApiMessage::SlowLink {
                sender: sender()?,
                uplink: raw.uplink.unwrap_or(false),
                lost: raw.lost.unwrap_or(0),
            },
            "hangup" => ApiMessage::Hangup {
                sender: sender()?,
                reason: raw.reason.unwrap_or_default(),
            },
            "timeout" => ApiMessage::Timeout,
            "error" => {
                let error = raw.error.ok_or_else(|| bad("a Janus error without its error"))?;
                ApiMessage::Error {
                    transaction: raw.transaction,
                    code: error.code,
                    reason: error.reason.unwrap_or_default(),
                }
            }
            _ => ApiMessage::Other,
        })
    }
}

impl RawJsep {
    fn into_description(self) -> Result<SessionDescription, AdapterError> {
        let kind = match self.kind.as_str() {
            "offer" => SdpKind::Offer,
            "answer" => SdpKind::Answer,
            other => return Err(bad(format!("a Janus jsep of type '{other}'"))),
        };
        Ok(SessionDescription { kind, sdp: self.sdp })
    }
}

impl RawCandidate {
    fn into_candidate(self) -> Option<IceCandidate> {
        if self.completed == Some(true) {
            return None;
        }
        Some(IceCandidate {
            candidate: self.candidate?,
            sdp_mid: self.sdp_mid,
            sdp_mline_index: self.sdp_mline_index,
        })
    }
}

/// A feed id: a number, or text on a server with `string_ids`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(from = "FeedText")]
pub struct Feed(pub String);

#[derive(Deserialize)]
#[serde(untagged)]
enum FeedText {
    Number(u64),
    Text(String),
}

impl From<FeedText> for Feed {
    fn from(value: FeedText) -> Self {
        match value {
            FeedText::Number(n) => Feed(n.to_string()),
            FeedText::Text(t) => Feed(t),
        }
    }
}

/// What a VideoRoom handle said (`plugindata.data`). Fields Confab does not use are skipped.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VideoRoomData {
    /// `joined`, `event`, `attached`, `updated`, `updating`, …
    pub videoroom: String,
    /// Our publisher id (`joined`).
    pub id: Option<Feed>,
    /// The id that ties our subscriptions to our publisher (`joined`).
    pub private_id: Option<u64>,
    /// Publishers present or newly publishing.
    pub publishers: Vec<Publisher>,
    /// A subscription's streams (`attached`, `updated`).
    pub streams: Option<Vec<SubscribedStream>>,
    /// A publisher that stopped publishing (or `"ok"` for our own).
    pub unpublished: Option<Value>,
    /// A participant that left (or `"ok"` for ourselves).
    pub leaving: Option<Value>,
    /// A participant the room's owner removed.
    pub kicked: Option<Value>,
    /// The plugin's error code, if this is an error.
    pub error_code: Option<u32>,
    /// The plugin's error text.
    pub error: Option<String>,
}

/// Someone publishing in a VideoRoom.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Publisher {
    /// Their feed id.
    pub id: Feed,
    /// Their display name.
    #[serde(default)]
    pub display: Option<String>,
    /// What they send.
    #[serde(default)]
    pub streams: Vec<PublishedStream>,
}

/// One stream a publisher sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PublishedStream {
    /// `audio`, `video` or `data`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the publisher stopped sending it.
    #[serde(default)]
    pub disabled: bool,
}

/// One stream of a subscription.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SubscribedStream {
    /// Its mid in the subscriber connection.
    pub mid: String,
    /// The publisher it comes from (absent once that publisher left).
    #[serde(default)]
    pub feed_id: Option<Feed>,
}

impl VideoRoomData {
    /// Reads a VideoRoom handle's `plugindata.data`.
    pub fn parse(data: &Value) -> Result<Self, AdapterError> {
        Self::deserialize(data).map_err(|e| bad(format!("unreadable VideoRoom message: {e}")))
    }
}

/// `"ok"` (about ourselves) or a feed id (about someone else), as in `leaving`/`unpublished`.
pub fn feed_of(value: &Value) -> Option<Feed> {
    match value {
        Value::Number(n) => n.as_u64().map(|n| Feed(n.to_string())),
        Value::String(s) if s != "ok" => Some(Feed(s.clone())),
        _ => None,
    }
}

/// One message on the TextRoom data channel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TextRoomMessage {
    /// `success`, `error`, `join`, `leave`, `message`, `kicked`, `destroyed`, `announcement`.
    pub textroom: String,
    /// Our request's transaction (replies only).
    pub transaction: Option<String>,
    /// Who joined or left.
    pub username: Option<String>,
    /// Their display name.
    pub display: Option<String>,
    /// Who sent a message.
    pub from: Option<String>,
    /// The message.
    pub text: Option<String>,
    /// Whether the message was whispered to us alone.
    pub whisper: bool,
    /// Everyone already present (the reply to our join).
    pub participants: Option<Vec<Chatter>>,
    /// Which whisper recipients it reached (the reply to a whisper).
    pub sent: Option<BTreeMap<String, bool>>,
    /// The error code, if this is an error.
    pub error_code: Option<u32>,
    /// The error text.
    pub error: Option<String>,
}

/// Someone in a TextRoom.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Chatter {
    /// Their user name (unique in the room).
    pub username: String,
    /// Their display name.
    #[serde(default)]
    pub display: Option<String>,
}

impl TextRoomMessage {
    /// Reads one frame from the TextRoom data channel.
    pub fn parse(frame: &str) -> Result<Self, AdapterError> {
        parse_json(frame, "TextRoom")
    }
}

/// Janus core error codes mapped onto Confab's: what a user can do about them.
pub fn core_error(code: u32) -> SignalErrorCode {
    match code {
        403 | 470 => SignalErrorCode::BadToken,
        458 => SignalErrorCode::SessionExpired,
        459 => SignalErrorCode::MediaFailed,
        472 => SignalErrorCode::ServerShutdown,
        405 | 460 | 461 => SignalErrorCode::MediaFailed,
        _ => SignalErrorCode::BadMessage,
    }
}

/// VideoRoom error codes mapped onto Confab's.
pub fn videoroom_error(code: u32) -> SignalErrorCode {
    match code {
        426 => SignalErrorCode::RoomNotFound,
        433 => SignalErrorCode::BadToken,
        436 => SignalErrorCode::IdentityTaken,
        432 => SignalErrorCode::RoomFull,
        428 => SignalErrorCode::UnknownParticipant,
        431 | 437 => SignalErrorCode::MediaFailed,
        _ => SignalErrorCode::BadMessage,
    }
}

/// TextRoom error codes mapped onto Confab's.
pub fn textroom_error(code: u32) -> SignalErrorCode {
    match code {
        417 => SignalErrorCode::RoomNotFound,
        419 => SignalErrorCode::BadToken,
        420 => SignalErrorCode::IdentityTaken,
        422 | 423 => SignalErrorCode::UnknownParticipant,
        _ => SignalErrorCode::BadMessage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_janus_api_messages() {
        let success = r#"{"janus":"success","transaction":"t1","data":{"id":4417}}"#;
        assert_eq!(
            ApiMessage::parse(success).unwrap(),
            ApiMessage::Success {
                transaction: "t1".into(),
                id: Some(4417)
            }
        );
        let event = r#"{"janus":"event","session_id":1,"sender":7,"transaction":"t2",
            "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"joined","id":55,
              "private_id":9,"publishers":[{"id":"abc","display":"Bob",
                "streams":[{"type":"audio","mindex":0,"mid":"0","codec":"opus"},
                           {"type":"video","mindex":1,"mid":"1","disabled":true}]}]}},
            "jsep":{"type":"answer","sdp":"v=0"}}"#;
        let ApiMessage::Event { sender, data, jsep } = ApiMessage::parse(event).unwrap() else {
            panic!("an event")
        };
        assert_eq!(sender, 7);
        assert_eq!(jsep.unwrap().kind, SdpKind::Answer);
        let room = VideoRoomData::parse(&data).unwrap();
        assert_eq!(room.id, Some(Feed("55".into())));
        assert_eq!(room.private_id, Some(9));
        assert_eq!(room.publishers[0].id, Feed("abc".into()));
        assert!(room.publishers[0].streams[1].disabled);
        let trickle = r#"{"janus":"trickle","sender":7,"candidate":{"completed":true}}"#;
        assert_eq!(
            ApiMessage::parse(trickle).unwrap(),
            ApiMessage::Trickle {
                sender: 7,
                candidate: None
            }
        );
        let error = r#"{"janus":"error","transaction":"t3","error":{"code":458,"reason":"No such session"}}"#;
        assert!(matches!(
            ApiMessage::parse(error).unwrap(),
            ApiMessage::Error { code: 458, .. }
        ));
        assert_eq!(
            ApiMessage::parse(r#"{"janus":"media","sender":7}"#).unwrap(),
            ApiMessage::Other
        );
    }

    #[test]
    fn broken_frames_are_typed_errors() {
        for frame in [
            "",
            "[]",
            r#"{"janus":"success"}"#,
            r#"{"janus":"event","plugindata":{"data":{}}}"#,
            r#"{"janus":"event","sender":1,"jsep":{"type":"pranswer","sdp":""}}"#,
            r#"{"janus":"error","transaction":"t"}"#,
        ] {
            assert!(ApiMessage::parse(frame).is_err(), "{frame}");
        }
        let huge = format!(r#"{{"janus":"ack","x":"{}"}}"#, "a".repeat(MAX_JANUS_FRAME_BYTES));
        assert_eq!(
            ApiMessage::parse(&huge).unwrap_err().code(),
            SignalErrorCode::TooLarge
        );
    }

    #[test]
    fn reads_textroom_messages() {
        let whisper = r#"{"textroom":"message","room":1234,"from":"55","date":"2026-11-21T10:00:00+0000",
            "text":"psst","whisper":true}"#;
        let message = TextRoomMessage::parse(whisper).unwrap();
        assert!(message.whisper);
        assert_eq!(message.text.as_deref(), Some("psst"));
        let reply = r#"{"textroom":"success","transaction":"t9","sent":{"55":true,"66":false}}"#;
        let sent = TextRoomMessage::parse(reply).unwrap().sent.unwrap();
        assert_eq!(sent.get("66"), Some(&false));
    }

    #[test]
    fn leaving_and_unpublished_name_a_feed_or_ourselves() {
        assert_eq!(feed_of(&serde_json::json!(55)), Some(Feed("55".into())));
        assert_eq!(feed_of(&serde_json::json!("ok")), None);
    }
}
