//! The room state machine: who is here, what they publish, what is muted, who left and why.
//!
//! Inputs: [`Room::handle_command`] (from the local user), [`Room::handle_signal`] (decoded
//! by an adapter), [`Room::handle_timeout`] (the driver's timer fired). Outputs: drain
//! [`Room::poll_output`] until it returns [`Output::Timeout`], which carries the next instant the
//! room wants `handle_timeout` (or `None`). No clock is read here; every input takes `now`.

use crate::chat::{Chat, ChatMessage, ConversationId};
use crate::ids::{MessageId, ParticipantId, RoomName, TrackId};
use crate::link::Secret;
use crate::signal::{
    IceCandidate, ParticipantInfo, PeerSlot, SessionDescription, SignalErrorCode, SignalIn, SignalOut,
    TrackInfo,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a join may take before it is given up.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a participant (or we) left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LeaveReason {
    /// They hung up.
    Hangup,
    /// Their connection was lost.
    ConnectionLost,
    /// The server shut down or closed the room.
    ServerShutdown,
    /// The server refused or removed them because of an error.
    Refused,
}

/// Something the room could not do. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoomError {
    /// A command that needs a joined room came before the join finished. Retry after joining.
    #[error("not in a room yet")]
    NotJoined,
    /// `Join` while already joining or joined. Retrying cannot help.
    #[error("already in a room")]
    AlreadyJoined,
    /// The named track is not ours. Retrying cannot help.
    #[error("no such local track: {0}")]
    UnknownTrack(TrackId),
    /// The server did not admit us in time. Retrying may help if the server was busy.
    #[error("the server did not answer the join within {} s", JOIN_TIMEOUT.as_secs())]
    JoinTimedOut,
    /// The server refused the join. Whether retrying helps depends on the code.
    #[error("{}", code.user_message())]
    Refused {
        /// The server's code.
        code: SignalErrorCode,
    },
}

/// One participant as the room sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Display name.
    pub name: String,
    /// Published tracks.
    pub tracks: BTreeMap<TrackId, TrackInfo>,
    /// `Some` once they have left; they stay listed so history keeps their name.
    pub left: Option<LeaveReason>,
}

/// A command from the local user.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RoomCommand {
    /// Join `room` as `name`.
    Join {
        /// The room.
        room: RoomName,
        /// Our display name.
        name: String,
        /// The room's token.
        token: Secret,
    },
    /// Publish a local track.
    Publish(TrackInfo),
    /// Mute or unmute a local track.
    Mute {
        /// The track.
        track: TrackId,
        /// New state.
        muted: bool,
    },
    /// Send a public chat message.
    SendChat {
        /// The text.
        text: String,
    },
    /// Send our SDP for one of our PeerConnections.
    SendDescription(PeerSlot, SessionDescription),
    /// Send one of our ICE candidates.
    SendCandidate(PeerSlot, IceCandidate),
    /// Leave the room.
    Leave,
}

/// Something that happened in the room, for the UI or the report. Small deltas with ids.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// We were admitted.
    Joined {
        /// Our session id.
        local: ParticipantId,
    },
    /// Someone joined (also emitted for everyone present when we join).
    ParticipantJoined(ParticipantId),
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
    /// Someone muted or unmuted a track.
    TrackMuted {
        /// Publisher.
        participant: ParticipantId,
        /// Track.
        track: TrackId,
        /// New state.
        muted: bool,
    },
    /// A chat message arrived (duplicates are never reported twice).
    ChatReceived(ChatMessage),
    /// The server reported a problem that did not end the call.
    ServerError {
        /// Code.
        code: SignalErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// We are out of the room.
    Left {
        /// Why.
        reason: LeaveReason,
        /// The error behind it, if any.
        error: Option<RoomError>,
    },
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this through the signaling adapter.
    Signal(SignalOut),
    /// Apply the remote SDP to that PeerConnection.
    RemoteDescription(PeerSlot, SessionDescription),
    /// Add a remote ICE candidate to that PeerConnection.
    RemoteCandidate(PeerSlot, IceCandidate),
    /// Tell the user.
    Event(RoomEvent),
    /// Nothing more for now; wake the room at this instant (if any).
    Timeout(Option<Instant>),
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Joining { deadline: Instant },
    Joined { local: ParticipantId },
    Left,
}

/// The room state machine. See the module docs for the input/output rule.
#[derive(Debug)]
pub struct Room {
    phase: Phase,
    name: String,
    participants: BTreeMap<ParticipantId, Participant>,
    local_tracks: BTreeMap<TrackId, TrackInfo>,
    chat: Chat,
    next_message: u64,
    outputs: VecDeque<Output>,
}

impl Default for Room {
    fn default() -> Self {
        Self::new()
    }
}

impl Room {
    /// A room we have not joined yet.
    pub fn new() -> Self {
        Self {
            phase: Phase::Idle,
            name: String::new(),
            participants: BTreeMap::new(),
            local_tracks: BTreeMap::new(),
            chat: Chat::default(),
            next_message: 1,
            outputs: VecDeque::new(),
        }
    }

    /// Our session id, once joined.
    pub fn local_id(&self) -> Option<&ParticipantId> {
        match &self.phase {
            Phase::Joined { local } => Some(local),
            _ => None,
        }
    }

    /// Our display name.
    pub fn local_name(&self) -> &str {
        &self.name
    }

    /// Whether we are in the room.
    pub fn is_joined(&self) -> bool {
        matches!(self.phase, Phase::Joined { .. })
    }

    /// Whether we have left (or never got in).
    pub fn has_left(&self) -> bool {
        self.phase == Phase::Left
    }

    /// Everyone we have seen, present or left.
    pub fn participants(&self) -> &BTreeMap<ParticipantId, Participant> {
        &self.participants
    }

    /// Our published tracks.
    pub fn local_tracks(&self) -> &BTreeMap<TrackId, TrackInfo> {
        &self.local_tracks
    }

    /// Chat history.
    pub fn chat(&self) -> &Chat {
        &self.chat
    }

    /// Applies a local command.
    pub fn handle_command(&mut self, now: Instant, command: RoomCommand) -> Result<(), RoomError> {
        match command {
            RoomCommand::Join { room, name, token } => {
                if self.phase != Phase::Idle {
                    return Err(RoomError::AlreadyJoined);
                }
                self.name = name.clone();
                self.phase = Phase::Joining {
                    deadline: now + JOIN_TIMEOUT,
                };
                self.signal(SignalOut::Join { room, name, token });
            }
            RoomCommand::Publish(track) => {
                self.local_tracks.insert(track.id.clone(), track.clone());
                if self.is_joined() {
                    self.signal(SignalOut::Publish(track));
                }
            }
            RoomCommand::Mute { track, muted } => {
                let info = self
                    .local_tracks
                    .get_mut(&track)
                    .ok_or_else(|| RoomError::UnknownTrack(track.clone()))?;
                info.muted = muted;
                if self.is_joined() {
                    self.signal(SignalOut::Mute { track, muted });
                }
            }
            RoomCommand::SendChat { text } => {
                let local = self.local_id().ok_or(RoomError::NotJoined)?.clone();
                let id =
                    MessageId::new(format!("m{}", self.next_message)).map_err(|_| RoomError::NotJoined)?;
                self.next_message += 1;
                let message = ChatMessage {
                    id,
                    from: local,
                    from_name: self.name.clone(),
                    conversation: ConversationId::Public,
                    text,
                };
                self.chat.record_sent(message.clone());
                self.signal(SignalOut::Chat(message));
            }
            RoomCommand::SendDescription(slot, desc) => {
                self.require_in_room()?;
                self.signal(SignalOut::Description(slot, desc));
            }
            RoomCommand::SendCandidate(slot, candidate) => {
                self.require_in_room()?;
                self.signal(SignalOut::Candidate(slot, candidate));
            }
            RoomCommand::Leave => {
                if matches!(self.phase, Phase::Joining { .. } | Phase::Joined { .. }) {
                    self.signal(SignalOut::Leave);
                }
                self.finish(LeaveReason::Hangup, None);
            }
        }
        Ok(())
    }

    /// Applies a message decoded by the signaling adapter.
    pub fn handle_signal(&mut self, _now: Instant, signal: SignalIn) {
        match signal {
            SignalIn::Joined { local, participants } => {
                if !matches!(self.phase, Phase::Joining { .. }) {
                    return;
                }
                self.phase = Phase::Joined { local: local.clone() };
                self.event(RoomEvent::Joined { local });
                for track in self.local_tracks.values().cloned().collect::<Vec<_>>() {
                    self.signal(SignalOut::Publish(track));
                }
                for info in participants {
                    self.add_participant(info);
                }
            }
            SignalIn::ParticipantJoined(info) => self.add_participant(info),
            SignalIn::ParticipantLeft { id, reason } => {
                if let Some(p) = self.participants.get_mut(&id) {
                    if p.left.is_none() {
                        p.left = Some(reason);
                        self.event(RoomEvent::ParticipantLeft { id, reason });
                    }
                }
            }
            SignalIn::TrackPublished { participant, track } => {
                if let Some(p) = self.participants.get_mut(&participant) {
                    p.tracks.insert(track.id.clone(), track.clone());
                    self.event(RoomEvent::TrackPublished { participant, track });
                }
            }
            SignalIn::TrackMuted {
                participant,
                track,
                muted,
            } => {
                if let Some(info) = self
                    .participants
                    .get_mut(&participant)
                    .and_then(|p| p.tracks.get_mut(&track))
                {
                    info.muted = muted;
                    self.event(RoomEvent::TrackMuted {
                        participant,
                        track,
                        muted,
                    });
                }
            }
            SignalIn::Chat(message) => {
                if self.chat.receive(message.clone()) {
                    self.event(RoomEvent::ChatReceived(message));
                }
            }
            SignalIn::Description(slot, desc) => {
                if !self.has_left() {
                    self.outputs.push_back(Output::RemoteDescription(slot, desc));
                }
            }
            SignalIn::Candidate(slot, candidate) => {
                if !self.has_left() {
                    self.outputs.push_back(Output::RemoteCandidate(slot, candidate));
                }
            }
            SignalIn::Error { code, message } => {
                let joining = matches!(self.phase, Phase::Joining { .. });
                if code.is_fatal() || joining && code == SignalErrorCode::WrongState {
                    let reason = if code == SignalErrorCode::ServerShutdown {
                        LeaveReason::ServerShutdown
                    } else {
                        LeaveReason::Refused
                    };
                    self.finish(reason, Some(RoomError::Refused { code }));
                } else {
                    self.event(RoomEvent::ServerError { code, message });
                }
            }
        }
    }

    /// The signaling connection is gone; the call is over.
    pub fn handle_disconnect(&mut self, _now: Instant) {
        if !self.has_left() {
            self.finish(LeaveReason::ConnectionLost, None);
        }
    }

    /// The driver's timer fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Phase::Joining { deadline } = self.phase {
            if now >= deadline {
                self.finish(LeaveReason::ConnectionLost, Some(RoomError::JoinTimedOut));
            }
        }
    }

    /// The next output; drain until [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Output {
        let wake = match self.phase {
            Phase::Joining { deadline } => Some(deadline),
            _ => None,
        };
        self.outputs.pop_front().unwrap_or(Output::Timeout(wake))
    }

    fn require_in_room(&self) -> Result<(), RoomError> {
        match self.phase {
            Phase::Joining { .. } | Phase::Joined { .. } => Ok(()),
            _ => Err(RoomError::NotJoined),
        }
    }

    fn add_participant(&mut self, info: ParticipantInfo) {
        if Some(&info.id) == self.local_id() || self.participants.contains_key(&info.id) {
            return;
        }
        let id = info.id.clone();
        let tracks: BTreeMap<_, _> = info.tracks.into_iter().map(|t| (t.id.clone(), t)).collect();
        self.participants.insert(
            id.clone(),
            Participant {
                name: info.name,
                tracks: tracks.clone(),
                left: None,
            },
        );
        self.event(RoomEvent::ParticipantJoined(id.clone()));
        for track in tracks.into_values() {
            self.event(RoomEvent::TrackPublished {
                participant: id.clone(),
                track,
            });
        }
    }

    fn finish(&mut self, reason: LeaveReason, error: Option<RoomError>) {
        if self.phase == Phase::Left {
            return;
        }
        self.phase = Phase::Left;
        self.event(RoomEvent::Left { reason, error });
    }

    fn signal(&mut self, out: SignalOut) {
        self.outputs.push_back(Output::Signal(out));
    }

    fn event(&mut self, event: RoomEvent) {
        self.outputs.push_back(Output::Event(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::MediaKind;

    fn pid(s: &str) -> ParticipantId {
        ParticipantId::new(s).unwrap()
    }

    fn join_command(token: &str) -> RoomCommand {
        RoomCommand::Join {
            room: RoomName::new("r").unwrap(),
            name: "me".into(),
            token: Secret::new(token),
        }
    }

    fn drain(room: &mut Room) -> Vec<Output> {
        let mut out = Vec::new();
        loop {
            match room.poll_output() {
                Output::Timeout(_) => return out,
                o => out.push(o),
            }
        }
    }

    fn joined_room(now: Instant) -> Room {
        let mut room = Room::new();
        room.handle_command(now, join_command("t")).unwrap();
        room.handle_signal(
            now,
            SignalIn::Joined {
                local: pid("me"),
                participants: vec![ParticipantInfo {
                    id: pid("a"),
                    name: "Alice".into(),
                    tracks: vec![TrackInfo {
                        id: TrackId::new("v").unwrap(),
                        kind: MediaKind::Video,
                        muted: false,
                    }],
                }],
            },
        );
        room
    }

    #[test]
    fn join_sends_join_then_reports_everyone_present() {
        let now = Instant::now();
        let mut room = joined_room(now);
        let out = drain(&mut room);
        assert!(matches!(out[0], Output::Signal(SignalOut::Join { .. })));
        assert_eq!(out[1], Output::Event(RoomEvent::Joined { local: pid("me") }));
        assert_eq!(out[2], Output::Event(RoomEvent::ParticipantJoined(pid("a"))));
        assert!(matches!(out[3], Output::Event(RoomEvent::TrackPublished { .. })));
        assert_eq!(room.participants()[&pid("a")].name, "Alice");
    }

    #[test]
    fn join_times_out_without_an_answer() {
        let now = Instant::now();
        let mut room = Room::new();
        room.handle_command(now, join_command("t")).unwrap();
        let _ = drain(&mut room);
        assert_eq!(room.poll_output(), Output::Timeout(Some(now + JOIN_TIMEOUT)));
        room.handle_timeout(now + JOIN_TIMEOUT);
        assert_eq!(
            drain(&mut room),
            vec![Output::Event(RoomEvent::Left {
                reason: LeaveReason::ConnectionLost,
                error: Some(RoomError::JoinTimedOut)
            })]
        );
    }

    #[test]
    fn leave_is_reported_once_and_participant_stays_listed() {
        let now = Instant::now();
        let mut room = joined_room(now);
        let _ = drain(&mut room);
        for _ in 0..2 {
            room.handle_signal(
                now,
                SignalIn::ParticipantLeft {
                    id: pid("a"),
                    reason: LeaveReason::Hangup,
                },
            );
        }
        assert_eq!(drain(&mut room).len(), 1);
        assert_eq!(room.participants()[&pid("a")].left, Some(LeaveReason::Hangup));
    }

    #[test]
    fn chat_before_join_is_refused_and_duplicates_are_dropped() {
        let now = Instant::now();
        let mut fresh = Room::new();
        assert_eq!(
            fresh.handle_command(now, RoomCommand::SendChat { text: "x".into() }),
            Err(RoomError::NotJoined)
        );
        let mut room = joined_room(now);
        let _ = drain(&mut room);
        let msg = ChatMessage {
            id: MessageId::new("m1").unwrap(),
            from: pid("a"),
            from_name: "Alice".into(),
            conversation: ConversationId::Public,
            text: "hi".into(),
        };
        room.handle_signal(now, SignalIn::Chat(msg.clone()));
        room.handle_signal(now, SignalIn::Chat(msg));
        assert_eq!(drain(&mut room).len(), 1);
    }

    #[test]
    fn fatal_error_while_joining_ends_the_call_with_a_typed_error() {
        let now = Instant::now();
        let mut room = Room::new();
        room.handle_command(now, join_command("bad")).unwrap();
        let _ = drain(&mut room);
        room.handle_signal(
            now,
            SignalIn::Error {
                code: SignalErrorCode::BadToken,
                message: "no".into(),
            },
        );
        assert_eq!(
            drain(&mut room),
            vec![Output::Event(RoomEvent::Left {
                reason: LeaveReason::Refused,
                error: Some(RoomError::Refused {
                    code: SignalErrorCode::BadToken
                })
            })]
        );
    }

    #[test]
    fn tracks_published_before_join_are_announced_after() {
        let now = Instant::now();
        let mut room = Room::new();
        let track = TrackInfo {
            id: TrackId::new("cam").unwrap(),
            kind: MediaKind::Video,
            muted: false,
        };
        room.handle_command(now, RoomCommand::Publish(track.clone()))
            .unwrap();
        let _ = drain(&mut room);
        let mut room2 = joined_room(now);
        room2
            .handle_command(now, RoomCommand::Publish(track.clone()))
            .unwrap();
        assert!(drain(&mut room2).contains(&Output::Signal(SignalOut::Publish(track))));
    }
}
