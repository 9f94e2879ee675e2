//! [`NativeAdapter`]: maps the native wire protocol to Confab's signal vocabulary.

use super::wire::{ClientMessage, ServerMessage};
use crate::adapter::{AdapterError, SignalingAdapter, Topology};
use confab_core::{ChatMessage, IceCandidate, PeerSlot, SessionDescription, SignalIn, SignalOut};
use std::time::{Duration, Instant};

/// How often the client pings. The server drops a connection silent for much longer than this,
/// and the client treats a server silent that long as gone.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);

/// The client side of Confab's native protocol: the codec plus the keepalive timer.
#[derive(Debug)]
pub struct NativeAdapter {
    next_ping: Instant,
}

impl NativeAdapter {
    /// An adapter for a connection opened at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            next_ping: now + PING_INTERVAL,
        }
    }
}

impl SignalingAdapter for NativeAdapter {
    fn topology(&self) -> Topology {
        Topology::SinglePeer
    }

    fn encode(&mut self, out: SignalOut) -> Result<Vec<String>, AdapterError> {
        let message = match out {
            SignalOut::Join {
                room,
                name,
                token,
                identity,
                proof,
                key,
            } => ClientMessage::Join {
                room,
                token: token.expose().to_owned(),
                name,
                identity,
                proof: proof.expose().to_owned(),
                key,
            },
            SignalOut::Description(PeerSlot::Main, SessionDescription { kind, sdp }) => {
                ClientMessage::Sdp { kind, sdp }
            }
            SignalOut::Candidate(PeerSlot::Main, c) => ClientMessage::Candidate {
                candidate: c.candidate,
                sdp_mid: c.sdp_mid,
                sdp_mline_index: c.sdp_mline_index,
            },
            SignalOut::Description(..) | SignalOut::Candidate(..) => {
                return Err(AdapterError::Unsupported("use more than one media connection"))
            }
            SignalOut::Publish(track) => ClientMessage::Publish { track },
            SignalOut::Mute { track, muted } => ClientMessage::Mute { track, muted },
            SignalOut::Chat(message) => ClientMessage::Chat {
                id: message.id,
                conversation: message.conversation,
                text: message.text,
            },
            SignalOut::SealedChat { id, envelopes } => ClientMessage::PrivateChat { id, envelopes },
            SignalOut::ChatAck { id, to } => ClientMessage::ChatAck { id, to },
            SignalOut::Leave => ClientMessage::Leave {},
            _ => return Err(AdapterError::Unsupported("carry this request")),
        };
        Ok(vec![message.encode()])
    }

    fn decode(&mut self, frame: &str) -> Result<Vec<SignalIn>, AdapterError> {
        let message = ServerMessage::decode(frame).map_err(|e| AdapterError::Protocol {
            code: e.code,
            message: e.message,
        })?;
        let signal = match message {
            ServerMessage::Welcome {
                participant_id,
                participants,
            } => SignalIn::Joined {
                local: participant_id,
                participants,
            },
            ServerMessage::ParticipantJoined { participant } => SignalIn::ParticipantJoined(participant),
            ServerMessage::ParticipantLeft { id, reason } => SignalIn::ParticipantLeft { id, reason },
            ServerMessage::TrackPublished { participant, track } => {
                SignalIn::TrackPublished { participant, track }
            }
            ServerMessage::TrackMuted {
                participant,
                track,
                muted,
            } => SignalIn::TrackMuted {
                participant,
                track,
                muted,
            },
            ServerMessage::Sdp { kind, sdp } => {
                SignalIn::Description(PeerSlot::Main, SessionDescription { kind, sdp })
            }
            ServerMessage::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => SignalIn::Candidate(
                PeerSlot::Main,
                IceCandidate {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                },
            ),
            ServerMessage::Chat {
                id,
                from,
                from_identity,
                from_name,
                conversation,
                text,
            } => SignalIn::Chat(ChatMessage {
                id,
                from,
                from_identity,
                from_name,
                conversation,
                text,
            }),
            ServerMessage::PrivateChat { id, from, envelope } => SignalIn::SealedChat { id, from, envelope },
            ServerMessage::ChatAck { id, from } => SignalIn::ChatAck { id, from },
            ServerMessage::ChatRejected { id, code, message } => SignalIn::ChatRejected { id, code, message },
            ServerMessage::Replaced {} => SignalIn::Replaced,
            ServerMessage::Pong {} => return Ok(Vec::new()),
            ServerMessage::Error { code, message } => SignalIn::Error { code, message },
        };
        Ok(vec![signal])
    }

    fn handle_timeout(&mut self, now: Instant) -> Vec<String> {
        if now < self.next_ping {
            return Vec::new();
        }
        self.next_ping = now + PING_INTERVAL;
        vec![ClientMessage::Ping {}.encode()]
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_ping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::{IdentityId, ParticipantId, RoomName, Secret, SignalErrorCode};

    #[test]
    fn join_carries_the_token_only_on_the_wire() {
        let mut adapter = NativeAdapter::new(Instant::now());
        let frames = adapter
            .encode(SignalOut::Join {
                room: RoomName::new("r").unwrap(),
                name: "Ann".into(),
                token: Secret::new("tok"),
                identity: IdentityId::new("ann").unwrap(),
                proof: Secret::new("proof"),
                key: "a2V5".into(),
            })
            .unwrap();
        assert!(frames[0].contains("\"token\":\"tok\""));
        assert!(frames[0].contains("\"identity\":\"ann\""));
    }

    #[test]
    fn server_frames_become_signals_and_garbage_becomes_typed_errors() {
        let mut adapter = NativeAdapter::new(Instant::now());
        let welcome = ServerMessage::Welcome {
            participant_id: ParticipantId::new("p1").unwrap(),
            participants: vec![],
        }
        .encode();
        assert_eq!(
            adapter.decode(&welcome).unwrap(),
            vec![SignalIn::Joined {
                local: ParticipantId::new("p1").unwrap(),
                participants: vec![]
            }]
        );
        assert_eq!(
            adapter.decode("not json").unwrap_err().code(),
            SignalErrorCode::BadMessage
        );
        assert_eq!(adapter.decode(&ServerMessage::Pong {}.encode()).unwrap(), vec![]);
        assert_eq!(
            adapter.decode(&ServerMessage::Replaced {}.encode()).unwrap(),
            vec![SignalIn::Replaced]
        );
    }

    #[test]
    fn pings_once_per_interval() {
        let start = Instant::now();
        let mut adapter = NativeAdapter::new(start);
        assert!(adapter.handle_timeout(start).is_empty());
        let due = adapter.poll_timeout().unwrap();
        assert_eq!(adapter.handle_timeout(due), vec![ClientMessage::Ping {}.encode()]);
        assert!(adapter.handle_timeout(due).is_empty());
        assert_eq!(adapter.poll_timeout(), Some(due + PING_INTERVAL));
    }
}
