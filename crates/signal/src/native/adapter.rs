//! [`NativeAdapter`]: maps the native wire protocol to Confab's signal vocabulary.

use super::sent_log::SentLog;
use super::wire::{ClientMessage, Numbered, ServerMessage};
use crate::adapter::{AdapterError, SignalingAdapter, Topology};
use confab_core::{
    ChatMessage, IceCandidate, ParticipantId, PeerSlot, RoomName, Secret, SessionDescription,
    SignalErrorCode, SignalIn, SignalOut,
};
use std::time::{Duration, Instant};

/// How often the client pings. The server drops a connection silent for much longer than this,
/// and the client treats a server silent that long as gone.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);

/// The client side of Confab's native protocol: the codec, the keepalive timer, and what it
/// takes to resume the session on a new connection (see [`super::wire`]).
#[derive(Debug)]
pub struct NativeAdapter {
    next_ping: Instant,
    /// The highest server `seq` processed.
    received: u64,
    sent: SentLog,
    /// Our session and its resume secret, once welcomed.
    session: Option<(ParticipantId, Secret)>,
}

impl NativeAdapter {
    /// An adapter for a new session on a connection opened at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            next_ping: now + PING_INTERVAL,
            received: 0,
            sent: SentLog::default(),
            session: None,
        }
    }

    /// The frame that asks to carry this session on over a new connection opened at `now`,
    /// if there is a session that can be carried on.
    pub fn resume_request(&mut self, room: &RoomName, token: &Secret, now: Instant) -> Option<String> {
        let (participant, secret) = self.session.as_ref().filter(|_| self.sent.complete())?;
        self.next_ping = now + PING_INTERVAL;
        let resume = ClientMessage::Resume {
            room: room.clone(),
            token: token.expose().to_owned(),
            participant: participant.clone(),
            secret: secret.expose().to_owned(),
            received: self.received,
        };
        Some(resume.encode())
    }

    /// Reads the server's answer to [`NativeAdapter::resume_request`]: on `resumed`, the frames
    /// to send again (everything the server had not processed); otherwise why not — then the
    /// session is over and the client must join afresh.
    pub fn resume_answer(&mut self, frame: &str) -> Result<Vec<String>, SignalErrorCode> {
        match ServerMessage::decode(frame).map(|n| n.message) {
            Ok(ServerMessage::Resumed { received }) => Ok(self.sent.resend_after(received)),
            Ok(ServerMessage::Error { code, .. }) => Err(code),
            Ok(_) => Err(SignalErrorCode::WrongState),
            Err(e) => Err(e.code),
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
                order: message.order,
                conversation: message.conversation,
                text: message.text,
            },
            SignalOut::SealedChat { id, envelopes } => ClientMessage::PrivateChat { id, envelopes },
            SignalOut::ChatAck { id, to } => ClientMessage::ChatAck { id, to },
            SignalOut::Leave => ClientMessage::Leave {},
            _ => return Err(AdapterError::Unsupported("carry this request")),
        };
        let frame = match message {
            ClientMessage::Join { .. } | ClientMessage::Leave {} => message.encode(),
            _ => self.sent.number(&message),
        };
        Ok(vec![frame])
    }

    fn decode(&mut self, frame: &str) -> Result<Vec<SignalIn>, AdapterError> {
        let Numbered { seq, message } = ServerMessage::decode(frame).map_err(|e| AdapterError::Protocol {
            code: e.code,
            message: e.message,
        })?;
        if let Some(seq) = seq {
            if seq <= self.received {
                // Sent again after a resume, and already processed.
                return Ok(Vec::new());
            }
            self.received = seq;
        }
        let signal = match message {
            ServerMessage::Welcome {
                participant_id,
                participants,
                resume,
            } => {
                self.session = Some((participant_id.clone(), Secret::new(resume)));
                SignalIn::Joined {
                    local: participant_id,
                    participants,
                }
            }
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
                order,
                conversation,
                text,
            } => SignalIn::Chat(ChatMessage {
                id,
                from,
                from_identity,
                from_name,
                order,
                conversation,
                text,
            }),
            ServerMessage::PrivateChat { id, from, envelope } => SignalIn::SealedChat { id, from, envelope },
            ServerMessage::ChatAck { id, from } => SignalIn::ChatAck { id, from },
            ServerMessage::ChatRejected { id, code, message } => SignalIn::ChatRejected { id, code, message },
            ServerMessage::Replaced {} => SignalIn::Replaced,
            ServerMessage::Pong { received } => {
                self.sent.acknowledged(received);
                return Ok(Vec::new());
            }
            // Only ever an answer to `resume`, which `resume_answer` reads.
            ServerMessage::Resumed { .. } => return Ok(Vec::new()),
            ServerMessage::Error { code, message } => SignalIn::Error { code, message },
        };
        Ok(vec![signal])
    }

    fn handle_timeout(&mut self, now: Instant) -> Vec<String> {
        if now < self.next_ping {
            return Vec::new();
        }
        self.next_ping = now + PING_INTERVAL;
        vec![ClientMessage::Ping {
            received: self.received,
        }
        .encode()]
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_ping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::{IdentityId, TrackId};

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
            resume: "c2VjcmV0".into(),
        }
        .encode_numbered(1);
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
        assert_eq!(
            adapter
                .decode(&ServerMessage::Pong { received: 0 }.encode())
                .unwrap(),
            vec![]
        );
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
        assert_eq!(
            adapter.handle_timeout(due),
            vec![ClientMessage::Ping { received: 0 }.encode()]
        );
        assert!(adapter.handle_timeout(due).is_empty());
        assert_eq!(adapter.poll_timeout(), Some(due + PING_INTERVAL));
    }

    fn mute(adapter: &mut NativeAdapter) -> String {
        let out = SignalOut::Mute {
            track: TrackId::new("cam").unwrap(),
            muted: true,
        };
        adapter.encode(out).unwrap().remove(0)
    }

    #[test]
    fn a_resumed_session_sends_again_only_what_the_server_missed_and_drops_what_it_saw_twice() {
        let start = Instant::now();
        let mut adapter = NativeAdapter::new(start);
        let (room, token) = (RoomName::new("r").unwrap(), Secret::new("tok"));
        assert_eq!(
            adapter.resume_request(&room, &token, start),
            None,
            "nothing to resume yet"
        );
        let welcome = ServerMessage::Welcome {
            participant_id: ParticipantId::new("p1").unwrap(),
            participants: vec![],
            resume: "c2VjcmV0".into(),
        };
        adapter.decode(&welcome.encode_numbered(1)).unwrap();
        let left = ServerMessage::ParticipantLeft {
            id: ParticipantId::new("p2").unwrap(),
            reason: confab_core::LeaveReason::Hangup,
        };
        assert_eq!(adapter.decode(&left.encode_numbered(2)).unwrap().len(), 1);
        let sent: Vec<String> = (0..3).map(|_| mute(&mut adapter)).collect();
        adapter
            .decode(&ServerMessage::Pong { received: 1 }.encode())
            .unwrap();

        let request = adapter
            .resume_request(&room, &token, start)
            .expect("a session to resume");
        let request = ClientMessage::decode(&request).unwrap();
        assert_eq!(request.seq, None);
        match request.message {
            ClientMessage::Resume {
                participant,
                secret,
                received,
                ..
            } => assert_eq!(
                (participant.as_str(), secret.as_str(), received),
                ("p1", "c2VjcmV0", 2)
            ),
            other => panic!("expected resume, got {other:?}"),
        }
        let again = adapter
            .resume_answer(&ServerMessage::Resumed { received: 2 }.encode())
            .unwrap();
        assert_eq!(again, sent[2..], "only the message the server had not processed");
        assert_eq!(
            adapter.decode(&left.encode_numbered(2)).unwrap(),
            vec![],
            "a message sent again by the server is dropped"
        );
        assert_eq!(
            adapter.resume_answer(&ServerMessage::error(SignalErrorCode::SessionExpired, "gone").encode()),
            Err(SignalErrorCode::SessionExpired)
        );
    }
}
