//! The native wire protocol, version 1. Every frame is one JSON object: `{"v":1,"type":…,…}`.
//!
//! | direction | `type` | fields |
//! | --- | --- | --- |
//! | client → server | `join` | `room`, `token`, `name`, `identity`, `proof`, `key` |
//! | client → server | `resume` | `room`, `token`, `participant`, `secret`, `received` |
//! | both | `sdp` | `kind` (`offer`/`answer`), `sdp` |
//! | both | `candidate` | `candidate`, `sdp_mid`, `sdp_mline_index` |
//! | client → server | `publish` | `track` {`id`,`kind`,`muted`} |
//! | client → server | `mute` | `track`, `muted` |
//! | client → server | `chat` | `id`, `conversation` (`public` only), `text` |
//! | client → server | `private_chat` | `id`, `envelopes` [{`to`,`nonce`,`ciphertext`}] |
//! | client → server | `chat_ack` | `id`, `to` |
//! | client → server | `leave` | |
//! | client → server | `ping` | `received` |
//! | server → client | `welcome` | `participant_id`, `participants`, `resume` |
//! | server → client | `resumed` | `received` |
//! | server → client | `participant_joined` | `participant` |
//! | server → client | `participant_left` | `id`, `reason` |
//! | server → client | `track_published` | `participant`, `track` |
//! | server → client | `track_muted` | `participant`, `track`, `muted` |
//! | server → client | `chat` | `id`, `from`, `from_identity`, `from_name`, `conversation`, `text` |
//! | server → client | `private_chat` | `id`, `from`, `envelope` (the recipient's copy only) |
//! | server → client | `chat_ack` | `id`, `from` |
//! | server → client | `chat_rejected` | `id`, `code`, `message` |
//! | server → client | `replaced` | |
//! | server → client | `pong` | `received` |
//! | server → client | `error` | `code`, `message` |
//!
//! Private messages are sealed by the sender for each recipient; the server sees only
//! recipients and ciphertext, and routes each envelope to the one participant it names.
//!
//! An identity's `proof` is a secret only its owner knows. Joining with an identity that is
//! already present takes over that session if the proof matches (the old session gets
//! `replaced`), and is refused with `identity_taken` otherwise. A client pings every few seconds
//! and the server answers `pong`; either side treats a long silence as a lost connection.
//!
//! Nothing is lost when the connection drops. After `join`, each side numbers the messages it
//! sends (`seq` beside `v`, from 1; `ping`, `pong`, `leave`, `resume`, `resumed` and errors
//! about the connection itself carry none) and keeps them until the other side has
//! acknowledged them: `ping.received` and `pong.received` name the highest number each side has
//! processed. `welcome.resume` is a secret for this session. A client whose connection dropped
//! opens a new one and sends `resume` with it and its own `received`; within the server's grace
//! period the session carries on as if nothing happened (nobody sees it leave): the server
//! answers `resumed` with its `received`, and each side sends again what the other has not
//! processed, under the same numbers, so that duplicates are recognised and dropped. Otherwise
//! the server answers `session_expired` and the client joins afresh on the same connection.
//!
//! Decoding is strict and bounded: frames over [`MAX_FRAME_BYTES`], bad JSON, a wrong `v`, an
//! unknown `type` or a malformed known message each give a distinct [`SignalErrorCode`].

use confab_core::{
    ConversationId, Envelope, IdentityId, LeaveReason, MessageId, ParticipantId, ParticipantInfo, RoomName,
    SdpKind, SignalErrorCode, TrackId, TrackInfo,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Protocol version spoken here.
pub const VERSION: u32 = 1;
/// Largest frame either side accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// A frame that could not be decoded: the code to report and a short reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WireError {
    /// The code to report to the peer.
    pub code: SignalErrorCode,
    /// A short reason (no secrets, no chat text).
    pub message: String,
}

impl WireError {
    fn new(code: SignalErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Ask to join.
    Join {
        /// Room name.
        room: RoomName,
        /// Join token.
        token: String,
        /// Display name.
        name: String,
        /// Stable identity.
        identity: IdentityId,
        /// Proof that the identity is ours (a secret; base64 of 32 bytes).
        proof: String,
        /// Session public key for sealed private messages (base64).
        key: String,
    },
    /// SDP offer or answer.
    Sdp {
        /// Offer or answer.
        kind: SdpKind,
        /// SDP text.
        sdp: String,
    },
    /// ICE candidate.
    Candidate {
        /// Candidate attribute.
        candidate: String,
        /// m-line mid.
        sdp_mid: Option<String>,
        /// m-line index.
        sdp_mline_index: Option<u16>,
    },
    /// Announce a published track.
    Publish {
        /// The track.
        track: TrackInfo,
    },
    /// Mute or unmute a track.
    Mute {
        /// The track.
        track: TrackId,
        /// New state.
        muted: bool,
    },
    /// A chat message.
    Chat {
        /// Sender-chosen id.
        id: MessageId,
        /// Sender's order stamp.
        order: u64,
        /// Conversation.
        conversation: ConversationId,
        /// Text.
        text: String,
    },
    /// A sealed private message: one envelope per recipient.
    PrivateChat {
        /// Sender-chosen id.
        id: MessageId,
        /// Sealed copies, each naming its recipient.
        envelopes: Vec<Envelope>,
    },
    /// Acknowledge a private message to its sender.
    ChatAck {
        /// Which message.
        id: MessageId,
        /// The sender's session.
        to: ParticipantId,
    },
    /// Carry on a session whose connection dropped.
    Resume {
        /// Room name.
        room: RoomName,
        /// Join token.
        token: String,
        /// The session to carry on.
        participant: ParticipantId,
        /// The session's resume secret, from its `welcome`.
        secret: String,
        /// The highest server `seq` this client processed.
        received: u64,
    },
    /// Leaving.
    Leave {},
    /// Keepalive; the server answers `pong`.
    Ping {
        /// The highest server `seq` this client processed (0: none yet).
        #[serde(default)]
        received: u64,
    },
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// Admitted.
    Welcome {
        /// Our id.
        participant_id: ParticipantId,
        /// Everyone else present.
        participants: Vec<ParticipantInfo>,
        /// A secret that lets this session be resumed on a new connection (base64).
        resume: String,
    },
    /// The session carries on on this connection (answer to `resume`).
    Resumed {
        /// The highest client `seq` the server processed.
        received: u64,
    },
    /// Someone joined.
    ParticipantJoined {
        /// Who.
        participant: ParticipantInfo,
    },
    /// Someone left.
    ParticipantLeft {
        /// Who.
        id: ParticipantId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone published a track.
    TrackPublished {
        /// Publisher.
        participant: ParticipantId,
        /// Track.
        track: TrackInfo,
    },
    /// Someone muted or unmuted.
    TrackMuted {
        /// Publisher.
        participant: ParticipantId,
        /// Track.
        track: TrackId,
        /// New state.
        muted: bool,
    },
    /// SDP offer or answer.
    Sdp {
        /// Offer or answer.
        kind: SdpKind,
        /// SDP text.
        sdp: String,
    },
    /// ICE candidate.
    Candidate {
        /// Candidate attribute.
        candidate: String,
        /// m-line mid.
        sdp_mid: Option<String>,
        /// m-line index.
        sdp_mline_index: Option<u16>,
    },
    /// A chat message.
    Chat {
        /// Sender-chosen id.
        id: MessageId,
        /// Sender (set by the server).
        from: ParticipantId,
        /// Sender's stable identity (set by the server).
        from_identity: IdentityId,
        /// Sender's display name.
        from_name: String,
        /// Sender's order stamp.
        order: u64,
        /// Conversation.
        conversation: ConversationId,
        /// Text.
        text: String,
    },
    /// A sealed private message: this recipient's copy only.
    PrivateChat {
        /// Sender-chosen id.
        id: MessageId,
        /// Sender (set by the server).
        from: ParticipantId,
        /// This recipient's copy.
        envelope: Envelope,
    },
    /// A recipient acknowledged a private message.
    ChatAck {
        /// Which message.
        id: MessageId,
        /// Who received it.
        from: ParticipantId,
    },
    /// The server refused to deliver a private message; nobody received it.
    ChatRejected {
        /// Which message.
        id: MessageId,
        /// Why, as a code.
        code: SignalErrorCode,
        /// Why, in words.
        message: String,
    },
    /// Another session of this identity took over; this connection is closed next.
    Replaced {},
    /// Answer to `ping`.
    Pong {
        /// The highest client `seq` the server processed (0: none yet).
        #[serde(default)]
        received: u64,
    },
    /// Something went wrong.
    Error {
        /// Machine-readable code.
        code: SignalErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

const CLIENT_TYPES: &[&str] = &[
    "join",
    "sdp",
    "candidate",
    "publish",
    "mute",
    "chat",
    "private_chat",
    "chat_ack",
    "resume",
    "leave",
    "ping",
];
const SERVER_TYPES: &[&str] = &[
    "welcome",
    "resumed",
    "participant_joined",
    "participant_left",
    "track_published",
    "track_muted",
    "sdp",
    "candidate",
    "chat",
    "private_chat",
    "chat_ack",
    "chat_rejected",
    "replaced",
    "pong",
    "error",
];

/// A decoded message and its number in the sender's sequence, if it carries one.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbered<T> {
    /// The sender's number for it (`None` for frames outside the sequence).
    pub seq: Option<u64>,
    /// The message.
    pub message: T,
}

fn decode<T: DeserializeOwned>(frame: &str, known: &[&str]) -> Result<Numbered<T>, WireError> {
    if frame.len() > MAX_FRAME_BYTES {
        return Err(WireError::new(
            SignalErrorCode::TooLarge,
            format!("frame of {} bytes exceeds {MAX_FRAME_BYTES}", frame.len()),
        ));
    }
    let mut value: serde_json::Value = serde_json::from_str(frame)
        .map_err(|_| WireError::new(SignalErrorCode::BadMessage, "frame is not valid JSON"))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| WireError::new(SignalErrorCode::BadMessage, "frame is not a JSON object"))?;
    match object.remove("v").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(WireError::new(
                SignalErrorCode::UnsupportedVersion,
                format!("protocol version {v} is not supported (this side speaks {VERSION})"),
            ))
        }
        None => {
            return Err(WireError::new(
                SignalErrorCode::BadMessage,
                "frame has no version",
            ))
        }
    }
    let seq =
        match object.remove("seq") {
            None => None,
            Some(seq) => Some(seq.as_u64().filter(|&n| n > 0).ok_or_else(|| {
                WireError::new(SignalErrorCode::BadMessage, "seq must be a positive integer")
            })?),
        };
    let kind = object
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or_else(|| WireError::new(SignalErrorCode::BadMessage, "frame has no type"))?;
    if !known.contains(&kind) {
        let shown: String = kind.chars().take(32).collect();
        return Err(WireError::new(
            SignalErrorCode::UnknownMessage,
            format!("unknown message type '{shown}'"),
        ));
    }
    let kind = kind.to_owned();
    // serde's own message can quote field values (chat text, tokens), so it is not passed on.
    let message = serde_json::from_value(value).map_err(|_| {
        WireError::new(
            SignalErrorCode::BadMessage,
            format!("malformed '{kind}' message: a field is missing, unknown or of the wrong type"),
        )
    })?;
    Ok(Numbered { seq, message })
}

fn encode<T: Serialize>(message: &T, seq: Option<u64>) -> String {
    let mut value = serde_json::to_value(message).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("v".into(), VERSION.into());
        if let Some(seq) = seq {
            object.insert("seq".into(), seq.into());
        }
    }
    value.to_string()
}

impl ClientMessage {
    /// Decodes a client frame.
    pub fn decode(frame: &str) -> Result<Numbered<Self>, WireError> {
        decode(frame, CLIENT_TYPES)
    }

    /// Encodes to a frame outside the sequence.
    pub fn encode(&self) -> String {
        encode(self, None)
    }

    /// Encodes to a frame numbered `seq`.
    pub fn encode_numbered(&self, seq: u64) -> String {
        encode(self, Some(seq))
    }
}

impl ServerMessage {
    /// Decodes a server frame.
    pub fn decode(frame: &str) -> Result<Numbered<Self>, WireError> {
        decode(frame, SERVER_TYPES)
    }

    /// Encodes to a frame outside the sequence.
    pub fn encode(&self) -> String {
        encode(self, None)
    }

    /// Encodes to a frame numbered `seq`.
    pub fn encode_numbered(&self, seq: u64) -> String {
        encode(self, Some(seq))
    }

    /// An error frame.
    pub fn error(code: SignalErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::MediaKind;

    #[test]
    fn messages_round_trip_with_version() {
        let msgs = vec![
            ClientMessage::Join {
                room: RoomName::new("r").unwrap(),
                token: "t".into(),
                name: "Ann".into(),
                identity: IdentityId::new("ann").unwrap(),
                proof: "cHJvb2Y=".into(),
                key: "a2V5".into(),
            },
            ClientMessage::Publish {
                track: TrackInfo {
                    id: TrackId::new("cam").unwrap(),
                    kind: MediaKind::Video,
                    muted: false,
                },
            },
            ClientMessage::Leave {},
        ];
        for m in msgs {
            let frame = m.encode();
            assert!(frame.contains("\"v\":1"), "{frame}");
            assert_eq!(ClientMessage::decode(&frame).map(|n| n.message), Ok(m));
        }
        let welcome = ServerMessage::Welcome {
            participant_id: ParticipantId::new("p1").unwrap(),
            participants: vec![],
            resume: "c2VjcmV0".into(),
        };
        let numbered = ServerMessage::decode(&welcome.encode_numbered(7)).unwrap();
        assert_eq!(
            numbered,
            Numbered {
                seq: Some(7),
                message: welcome
            }
        );
    }

    #[test]
    fn a_ping_without_received_still_decodes_and_a_bad_seq_is_refused() {
        let ping = ClientMessage::decode(r#"{"v":1,"type":"ping"}"#).unwrap();
        assert_eq!(ping.message, ClientMessage::Ping { received: 0 });
        assert_eq!(ping.seq, None);
        for bad in [r#""3""#, "0", "-1", "1.5"] {
            let frame = format!(r#"{{"v":1,"seq":{bad},"type":"leave"}}"#);
            assert_eq!(
                ClientMessage::decode(&frame).unwrap_err().code,
                SignalErrorCode::BadMessage,
                "{frame}"
            );
        }
    }

    #[test]
    fn each_kind_of_bad_frame_has_its_own_code() {
        let code = |f: &str| ClientMessage::decode(f).unwrap_err().code;
        assert_eq!(code("{nope"), SignalErrorCode::BadMessage);
        assert_eq!(code("[1]"), SignalErrorCode::BadMessage);
        assert_eq!(code(r#"{"type":"leave"}"#), SignalErrorCode::BadMessage);
        assert_eq!(
            code(r#"{"v":2,"type":"leave"}"#),
            SignalErrorCode::UnsupportedVersion
        );
        assert_eq!(code(r#"{"v":1,"type":"dance"}"#), SignalErrorCode::UnknownMessage);
        assert_eq!(
            code(r#"{"v":1,"type":"join","room":"a b"}"#),
            SignalErrorCode::BadMessage
        );
        let huge = format!(
            r#"{{"v":1,"type":"chat","text":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(code(&huge), SignalErrorCode::TooLarge);
    }

    #[test]
    fn malformed_message_errors_do_not_echo_values() {
        let err = ClientMessage::decode(
            r#"{"v":1,"type":"join","room":"r","token":"hunter2","name":7,"identity":"i","key":"k"}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, SignalErrorCode::BadMessage);
        assert!(!err.message.contains("hunter2"), "{}", err.message);
    }
}
