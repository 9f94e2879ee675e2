//! PeerJS' JSON as Confab reads and writes it: the server's messages (`OPEN`, `ID-TAKEN`,
//! `ERROR`, and `OFFER`/`ANSWER`/`CANDIDATE`/`LEAVE`/`EXPIRE` relayed from other peers), the
//! frames we send it, and the messages Confab peers exchange on their data connection.
//!
//! The server relays `{type, src, dst, payload}`; the payload of a relayed message is whatever
//! the other client wrote, so it is read as strictly as an untrusted peer deserves: a message
//! without the fields Confab needs is a typed error, fields Confab does not use are ignored.

use crate::adapter::AdapterError;
use confab_core::{
    IceCandidate, MessageId, SdpKind, SessionDescription, SignalErrorCode, TrackId, TrackInfo,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The largest frame read from the server (an offer with every candidate stays well below).
pub const MAX_PEERJS_FRAME_BYTES: usize = 64 * 1024;

/// The largest message read from a data connection.
pub const MAX_CHANNEL_MESSAGE_BYTES: usize = 64 * 1024;

/// Which of a PeerJS pair's two connections: PeerJS makes one for media (`MediaConnection`)
/// and one for data (`DataConnection`), each its own PeerConnection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// Audio and video.
    Media,
    /// The data channel Confab chats on.
    Data,
}

impl Lane {
    /// PeerJS' name for the connection type, and the prefix of its connection ids.
    fn wire(self) -> (&'static str, &'static str) {
        match self {
            Lane::Media => ("media", "mc_"),
            Lane::Data => ("data", "dc_"),
        }
    }

    /// A connection id for a new connection of this lane (`mc_…`, `dc_…`, as PeerJS makes them).
    pub fn connection_id(self, unique: &str) -> String {
        format!("{}{unique}", self.wire().1)
    }
}

/// One message from the PeerJS server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// Our id is registered.
    Open,
    /// Another client holds our id (with another token).
    IdTaken,
    /// The server refused us (bad key, too many clients, …); it closes the socket next.
    Error(String),
    /// A peer offers a connection.
    Offer {
        /// The peer.
        src: String,
        /// Media or data.
        lane: Lane,
        /// The connection's id, chosen by the peer.
        connection: String,
        /// The offer.
        sdp: SessionDescription,
        /// The display name the peer sent along, if any (`metadata.name`).
        name: Option<String>,
    },
    /// A peer answers a connection we offered.
    Answer {
        /// The peer.
        src: String,
        /// The connection's id.
        connection: String,
        /// The answer.
        sdp: SessionDescription,
    },
    /// A peer trickles a candidate.
    Candidate {
        /// The peer.
        src: String,
        /// The connection's id.
        connection: String,
        /// The candidate.
        candidate: IceCandidate,
    },
    /// A peer left (or the server could not reach it).
    Leave {
        /// The peer.
        src: String,
    },
    /// What we sent to a peer expired undelivered: the peer is not connected to the server.
    Expire {
        /// The peer.
        src: String,
    },
    /// Something Confab does not use (`HEARTBEAT` echoes, types from later servers).
    Other,
}

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    payload: Value,
}

#[derive(Deserialize)]
struct DescriptionPayload {
    sdp: WireSdp,
    #[serde(rename = "type")]
    lane: Option<String>,
    #[serde(rename = "connectionId")]
    connection: String,
    #[serde(default)]
    metadata: Value,
}

#[derive(Deserialize)]
struct WireSdp {
    #[serde(rename = "type")]
    kind: String,
    sdp: String,
}

#[derive(Deserialize)]
struct CandidatePayload {
    candidate: WireCandidate,
    #[serde(rename = "connectionId")]
    connection: String,
}

#[derive(Deserialize)]
struct WireCandidate {
    candidate: String,
    #[serde(rename = "sdpMid", default)]
    sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex", default)]
    sdp_mline_index: Option<u16>,
}

fn bad(what: &str) -> AdapterError {
    AdapterError::Protocol {
        code: SignalErrorCode::BadMessage,
        message: format!("the PeerJS server sent {what}"),
    }
}

/// Reads one frame from the PeerJS server.
pub fn parse_server(text: &str) -> Result<ServerMessage, AdapterError> {
    if text.len() > MAX_PEERJS_FRAME_BYTES {
        return Err(AdapterError::Protocol {
            code: SignalErrorCode::TooLarge,
            message: format!("the PeerJS server sent a message of {} bytes", text.len()),
        });
    }
    let frame: Frame = serde_json::from_str(text).map_err(|_| bad("a message that is not PeerJS JSON"))?;
    let src = || {
        frame
            .src
            .clone()
            .ok_or_else(|| bad(format!("{} without src", frame.kind).as_str()))
    };
    let payload = |what: &str| bad(&format!("{} with a payload Confab cannot read", what));
    Ok(match frame.kind.as_str() {
        "OPEN" => ServerMessage::Open,
        "ID-TAKEN" => ServerMessage::IdTaken,
        "ERROR" => ServerMessage::Error(
            frame.payload["msg"]
                .as_str()
                .unwrap_or("no reason given")
                .to_owned(),
        ),
        "OFFER" | "ANSWER" => {
            let body: DescriptionPayload =
                serde_json::from_value(frame.payload.clone()).map_err(|_| payload(&frame.kind))?;
            let kind = match (frame.kind.as_str(), body.sdp.kind.as_str()) {
                ("OFFER", "offer") => SdpKind::Offer,
                ("ANSWER", "answer") => SdpKind::Answer,
                _ => return Err(payload(&frame.kind)),
            };
            let sdp = SessionDescription {
                kind,
                sdp: body.sdp.sdp,
            };
            if kind == SdpKind::Answer {
                return Ok(ServerMessage::Answer {
                    src: src()?,
                    connection: body.connection,
                    sdp,
                });
            }
            let lane = match body.lane.as_deref() {
                Some("media") => Lane::Media,
                Some("data") => Lane::Data,
                _ => return Err(payload("OFFER")),
            };
            ServerMessage::Offer {
                src: src()?,
                lane,
                connection: body.connection,
                sdp,
                name: body.metadata["name"].as_str().map(str::to_owned),
            }
        }
        "CANDIDATE" => {
            let body: CandidatePayload =
                serde_json::from_value(frame.payload.clone()).map_err(|_| payload("CANDIDATE"))?;
            ServerMessage::Candidate {
                src: src()?,
                connection: body.connection,
                candidate: IceCandidate {
                    candidate: body.candidate.candidate,
                    sdp_mid: body.candidate.sdp_mid,
                    sdp_mline_index: body.candidate.sdp_mline_index,
                },
            }
        }
        "LEAVE" => ServerMessage::Leave { src: src()? },
        "EXPIRE" => ServerMessage::Expire { src: src()? },
        _ => ServerMessage::Other,
    })
}

/// Confab's error for the server's `ERROR` message (the server's own wording goes with it).
pub fn server_error(message: &str) -> SignalErrorCode {
    if message.contains("Invalid key") {
        SignalErrorCode::BadToken
    } else if message.contains("concurrent user limit") {
        SignalErrorCode::RoomFull
    } else {
        SignalErrorCode::BadMessage
    }
}

/// The heartbeat the server needs every few seconds to keep us registered.
pub fn heartbeat() -> String {
    json!({"type": "HEARTBEAT"}).to_string()
}

/// Tells `dst` we are leaving (it closes its connections to us).
pub fn leave(dst: &str) -> String {
    json!({"type": "LEAVE", "dst": dst}).to_string()
}

/// Our offer or answer for connection `connection` of `lane` to `dst`. Offers carry our display
/// name as `metadata.name`; data offers the channel's options as PeerJS' `DataConnection` sets them.
pub fn description(dst: &str, lane: Lane, connection: &str, sdp: &SessionDescription, name: &str) -> String {
    let (lane_name, _) = lane.wire();
    let kind = match sdp.kind {
        SdpKind::Offer => "offer",
        SdpKind::Answer => "answer",
    };
    let mut payload = json!({
        "sdp": {"type": kind, "sdp": sdp.sdp},
        "type": lane_name,
        "connectionId": connection,
    });
    if sdp.kind == SdpKind::Offer {
        payload["metadata"] = json!({"name": name});
        if lane == Lane::Data {
            payload["label"] = json!(connection);
            payload["reliable"] = json!(true);
            payload["serialization"] = json!("json");
        }
    }
    let frame = if sdp.kind == SdpKind::Offer {
        "OFFER"
    } else {
        "ANSWER"
    };
    json!({"type": frame, "dst": dst, "payload": payload}).to_string()
}

/// One of our candidates for connection `connection` of `lane` to `dst`.
pub fn candidate(dst: &str, lane: Lane, connection: &str, candidate: &IceCandidate) -> String {
    let mut wire = json!({"candidate": candidate.candidate});
    if let Some(mid) = &candidate.sdp_mid {
        wire["sdpMid"] = json!(mid);
    }
    if let Some(index) = candidate.sdp_mline_index {
        wire["sdpMLineIndex"] = json!(index);
    }
    let payload = json!({"candidate": wire, "type": lane.wire().0, "connectionId": connection});
    json!({"type": "CANDIDATE", "dst": dst, "payload": payload}).to_string()
}

/// What Confab peers say on their data connection: JSON objects, sent as UTF-8 in binary
/// messages (PeerJS' `"json"` serialization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChannelMessage {
    /// Sent first, by both sides: who we are and what we send.
    Hello {
        /// Display name.
        name: String,
        /// Our tracks and whether each is muted.
        #[serde(default)]
        tracks: Vec<TrackInfo>,
    },
    /// A chat message: public, or private to the sender and the peers in `to`.
    Chat {
        /// The sender's message id.
        id: MessageId,
        /// The sender's order stamp.
        order: u64,
        /// The text.
        text: String,
        /// For a private message, every recipient's peer id (the conversation is the sender and
        /// these); empty for a public one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to: Vec<String>,
    },
    /// A private message arrived.
    Ack {
        /// Its id.
        id: MessageId,
    },
    /// One of the sender's tracks was muted or unmuted.
    Mute {
        /// The track.
        track: TrackId,
        /// Muted now?
        muted: bool,
    },
}

impl ChannelMessage {
    /// Reads one data-channel message.
    pub fn parse(data: &[u8]) -> Result<Self, AdapterError> {
        if data.len() > MAX_CHANNEL_MESSAGE_BYTES {
            return Err(AdapterError::Protocol {
                code: SignalErrorCode::TooLarge,
                message: format!("a peer sent a chat-channel message of {} bytes", data.len()),
            });
        }
        serde_json::from_slice(data).map_err(|_| AdapterError::Protocol {
            code: SignalErrorCode::BadMessage,
            message: "a peer sent a chat-channel message Confab cannot read".into(),
        })
    }

    /// The message as sent.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| unreachable!("a channel message always serializes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_offers_answers_and_candidates_are_read() {
        let offer = r#"{"type":"OFFER","src":"r-1","dst":"r-2","payload":{"sdp":{"type":"offer","sdp":"v=0"},
            "type":"data","connectionId":"dc_x","label":"dc_x","reliable":true,"metadata":{"name":"Ann"}}}"#;
        let Ok(ServerMessage::Offer {
            src,
            lane,
            connection,
            sdp,
            name,
        }) = parse_server(offer)
        else {
            panic!("an offer");
        };
        assert_eq!(
            (src.as_str(), lane, connection.as_str()),
            ("r-1", Lane::Data, "dc_x")
        );
        assert_eq!((sdp.kind, name.as_deref()), (SdpKind::Offer, Some("Ann")));
        let answer = r#"{"type":"ANSWER","src":"r-1","payload":{"sdp":{"type":"answer","sdp":"v=0"},"type":"media","connectionId":"mc_y"}}"#;
        assert!(matches!(parse_server(answer), Ok(ServerMessage::Answer { .. })));
        let candidate = r#"{"type":"CANDIDATE","src":"r-1","payload":{"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5 typ host","sdpMid":"0","sdpMLineIndex":0},"type":"media","connectionId":"mc_y"}}"#;
        let Ok(ServerMessage::Candidate { candidate, .. }) = parse_server(candidate) else {
            panic!("a candidate");
        };
        assert_eq!(
            (candidate.sdp_mid.as_deref(), candidate.sdp_mline_index),
            (Some("0"), Some(0))
        );
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        for frame in [
            "nope",
            r#"{"type":"OFFER","src":"r-1","payload":{}}"#,
            r#"{"type":"OFFER","src":"r-1","payload":{"sdp":{"type":"answer","sdp":""},"type":"media","connectionId":"c"}}"#,
            r#"{"type":"OFFER","src":"r-1","payload":{"sdp":{"type":"offer","sdp":""},"type":"screen","connectionId":"c"}}"#,
            r#"{"type":"LEAVE"}"#,
        ] {
            assert_eq!(
                parse_server(frame).map_err(|e| e.code()),
                Err(SignalErrorCode::BadMessage),
                "{frame}"
            );
        }
        let huge = format!(
            r#"{{"type":"OPEN","x":"{}"}}"#,
            "a".repeat(MAX_PEERJS_FRAME_BYTES)
        );
        assert_eq!(
            parse_server(&huge).map_err(|e| e.code()),
            Err(SignalErrorCode::TooLarge)
        );
        assert_eq!(parse_server(r#"{"type":"HEARTBEAT"}"#), Ok(ServerMessage::Other));
    }

    #[test]
    fn server_refusals_map_onto_confab_errors() {
        assert_eq!(
            parse_server(r#"{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}"#),
            Ok(ServerMessage::IdTaken)
        );
        assert_eq!(server_error("Invalid key provided"), SignalErrorCode::BadToken);
        assert_eq!(
            server_error("Server has reached its concurrent user limit"),
            SignalErrorCode::RoomFull
        );
    }

    #[test]
    fn our_offers_are_what_a_peerjs_client_expects() {
        let offer = SessionDescription {
            kind: SdpKind::Offer,
            sdp: "v=0".into(),
        };
        let frame: Value =
            serde_json::from_str(&description("r-2", Lane::Data, "dc_1", &offer, "Ann")).unwrap();
        assert_eq!(frame["type"], "OFFER");
        assert_eq!(frame["dst"], "r-2");
        let payload = &frame["payload"];
        assert_eq!(payload["sdp"], json!({"type": "offer", "sdp": "v=0"}));
        assert_eq!(
            (&payload["type"], &payload["connectionId"], &payload["label"]),
            (&json!("data"), &json!("dc_1"), &json!("dc_1"))
        );
        assert_eq!(
            (&payload["reliable"], &payload["serialization"]),
            (&json!(true), &json!("json"))
        );
        assert_eq!(payload["metadata"]["name"], "Ann");
    }

    #[test]
    fn channel_messages_round_trip() {
        let chat = ChannelMessage::Chat {
            id: MessageId::new("m1").unwrap(),
            order: 7,
            text: "hi".into(),
            to: vec!["r-2".into()],
        };
        assert_eq!(ChannelMessage::parse(&chat.to_bytes()), Ok(chat));
        assert!(ChannelMessage::parse(br#"{"type":"chat","text":"no id"}"#).is_err());
        assert!(ChannelMessage::parse(b"\"a bare string\"").is_err());
    }
}
