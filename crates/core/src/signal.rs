//! The protocol-neutral signaling vocabulary.
//!
//! Every adapter (native, and later Janus, WHIP/WHEP, PeerJS) decodes its wire dialect into
//! [`SignalIn`] and encodes [`SignalOut`] into it. These types carry only what the room and the
//! call driver need; wire details (transaction ids, handle ids, versions) stay in the adapter.

use crate::chat::ChatMessage;
use crate::ids::{IdentityId, MessageId, ParticipantId, RoomName, TrackId};
use crate::link::Secret;
use crate::room::LeaveReason;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// An Opus audio track.
    Audio,
    /// An H.264 video track.
    Video,
}

impl MediaKind {
    /// The id of a track of this kind after `earlier` others of the same kind: `video`, then
    /// `video-2`, `video-3`, … (for tracks whose sender named none, e.g. over WHIP).
    pub fn nth_track_id(self, earlier: usize) -> TrackId {
        let base = match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        };
        let name = match earlier {
            0 => base.to_owned(),
            n => format!("{base}-{}", n + 1),
        };
        TrackId::new(name).unwrap_or_else(|_| unreachable!("a kind and a number make a valid track id"))
    }
}

/// One published track as the room knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// The track's id, unique within its publisher.
    pub id: TrackId,
    /// Audio or video.
    pub kind: MediaKind,
    /// Whether the publisher has muted it.
    pub muted: bool,
}

/// A participant as announced by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// Their session id.
    pub id: ParticipantId,
    /// Their stable identity.
    pub identity: IdentityId,
    /// Their per-session public key for sealed private messages (base64, 32 bytes).
    pub key: String,
    /// Their display name.
    pub name: String,
    /// Tracks they publish.
    pub tracks: Vec<TrackInfo>,
}

/// Offer or answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpKind {
    /// An SDP offer.
    Offer,
    /// An SDP answer.
    Answer,
}

/// An SDP offer or answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    /// Offer or answer.
    pub kind: SdpKind,
    /// The SDP text.
    pub sdp: String,
}

impl fmt::Debug for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SDP carries ICE passwords and DTLS fingerprints; show its size only.
        write!(f, "SessionDescription({:?}, {} bytes)", self.kind, self.sdp.len())
    }
}

/// Which of a call's PeerConnections an SDP or candidate belongs to. Adapters pick the layout
/// (`Topology` in confab-signal): the native server uses one `Main`
/// connection; Janus and LiveKit a `Publisher` and a `Subscriber` (and Janus a `Chat` for its
/// TextRoom); WHIP/WHEP one `Stream` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerSlot {
    /// The only connection (native server).
    Main,
    /// The connection that carries what we publish.
    Publisher,
    /// The connection that carries what we receive.
    Subscriber,
    /// One connection per published or watched stream.
    Stream(u16),
    /// A connection that carries chat over a data channel (Janus TextRoom).
    Chat,
}

/// A trickled ICE candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    /// The `candidate:` attribute text.
    pub candidate: String,
    /// The m-line's `mid`, if known.
    pub sdp_mid: Option<String>,
    /// The m-line index, if known.
    pub sdp_mline_index: Option<u16>,
}

/// A STUN or TURN server a media connection may use (a WHIP server names them in `Link` headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URL.
    pub url: String,
    /// TURN user name.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<crate::link::Secret>,
}

/// One recipient's sealed copy of a private message. Only that recipient can open it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The recipient's session.
    pub to: ParticipantId,
    /// The nonce, base64.
    pub nonce: String,
    /// The sealed payload, base64.
    pub ciphertext: String,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Envelope(to {}, {} bytes)", self.to, self.ciphertext.len())
    }
}

/// Someone a private message goes to, with what sealing it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Their current session.
    pub participant: ParticipantId,
    /// Their stable identity.
    pub identity: IdentityId,
    /// Their session's public key (base64).
    pub key: String,
}

/// A private message ready to be sealed, one copy per recipient, by whoever holds our key.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivateDraft {
    /// The message (its conversation names every member).
    pub message: ChatMessage,
    /// Everyone it goes to: every member but us, each present now.
    pub recipients: Vec<Recipient>,
}

/// Error codes a server (or an adapter on its behalf) reports. Stable strings on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignalErrorCode {
    /// The frame was not valid JSON / not valid for the protocol.
    BadMessage,
    /// The message type is unknown.
    UnknownMessage,
    /// The message is not allowed in the current state (e.g. chat before join).
    WrongState,
    /// The frame exceeded the size limit.
    TooLarge,
    /// The join token was refused.
    BadToken,
    /// The protocol version is not supported.
    UnsupportedVersion,
    /// A named participant is not in the room.
    UnknownParticipant,
    /// The room is full.
    RoomFull,
    /// Negotiating media failed on the server.
    MediaFailed,
    /// The server is shutting down.
    ServerShutdown,
    /// Someone with our identity is already in the room and we could not prove it is us (or
    /// the server does not allow taking over).
    IdentityTaken,
    /// The room named by the link does not exist on the server.
    RoomNotFound,
    /// The session to resume is gone (it waited too long for us) or cannot be resumed; join
    /// afresh instead.
    SessionExpired,
}

impl SignalErrorCode {
    /// Whether the session is over after this error (the server closes the connection).
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            Self::BadToken
                | Self::RoomNotFound
                | Self::UnsupportedVersion
                | Self::RoomFull
                | Self::ServerShutdown
                | Self::IdentityTaken
        )
    }

    /// A sentence a user can act on.
    pub fn user_message(self) -> &'static str {
        match self {
            Self::BadToken => "The server refused this link's token; ask the host for a fresh link.",
            Self::UnsupportedVersion => "This server speaks a different Confab version; update Confab.",
            Self::RoomFull => "The room is full; try again later.",
            Self::RoomNotFound => "This meeting does not exist on the server; check the link with the host.",
            Self::ServerShutdown => "The meeting server shut down.",
            Self::IdentityTaken => {
                "Someone is already in this meeting under your identity and the server would not let this \
                 session take over; leave the other session first."
            }
            Self::UnknownParticipant => "That participant is no longer in the room.",
            Self::SessionExpired => {
                "You were away too long to pick up where you left off; joining the meeting again."
            }
            Self::MediaFailed => "The server could not set up audio and video for this call.",
            Self::BadMessage | Self::UnknownMessage | Self::WrongState | Self::TooLarge => {
                "The server rejected a message from this client; this is a bug in Confab."
            }
        }
    }
}

/// What arrives from the signaling server, in Confab's terms.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SignalIn {
    /// We were admitted: our own id and everyone already present.
    Joined {
        /// Our session id.
        local: ParticipantId,
        /// Participants already present (not including us).
        participants: Vec<ParticipantInfo>,
    },
    /// Someone joined.
    ParticipantJoined(ParticipantInfo),
    /// Someone left.
    ParticipantLeft {
        /// Who left.
        id: ParticipantId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone published a track.
    TrackPublished {
        /// The publisher.
        participant: ParticipantId,
        /// The track.
        track: TrackInfo,
    },
    /// Someone muted or unmuted a track.
    TrackMuted {
        /// The publisher.
        participant: ParticipantId,
        /// The track.
        track: TrackId,
        /// New mute state.
        muted: bool,
    },
    /// A public chat message, or a private one already opened and verified.
    Chat(ChatMessage),
    /// A sealed private message; whoever holds our secret key opens it into [`SignalIn::Chat`].
    SealedChat {
        /// The message id.
        id: MessageId,
        /// The sender's session (stamped by the server).
        from: ParticipantId,
        /// Our copy.
        envelope: Envelope,
    },
    /// A recipient acknowledged one of our private messages.
    ChatAck {
        /// Which message.
        id: MessageId,
        /// Who received it.
        from: ParticipantId,
    },
    /// The server refused to deliver one of our private messages.
    ChatRejected {
        /// Which message.
        id: MessageId,
        /// Why, as a code.
        code: SignalErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// The remote side's SDP for one of our PeerConnections.
    Description(PeerSlot, SessionDescription),
    /// A remote ICE candidate for one of our PeerConnections.
    Candidate(PeerSlot, IceCandidate),
    /// Another session of our identity took our place; this one is over.
    Replaced,
    /// The server reported an error.
    Error {
        /// Machine-readable code.
        code: SignalErrorCode,
        /// The server's explanation.
        message: String,
    },
}

/// What we ask the signaling server to do, in Confab's terms.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SignalOut {
    /// Ask to join a room.
    Join {
        /// The room.
        room: RoomName,
        /// Our display name.
        name: String,
        /// The room's token.
        token: Secret,
        /// Our stable identity.
        identity: IdentityId,
        /// The secret that proves the identity is ours.
        proof: Secret,
        /// Our session's public key (base64).
        key: String,
    },
    /// Our SDP for one of our PeerConnections.
    Description(PeerSlot, SessionDescription),
    /// One of our ICE candidates.
    Candidate(PeerSlot, IceCandidate),
    /// Announce a track we publish.
    Publish(TrackInfo),
    /// Mute or unmute one of our tracks.
    Mute {
        /// Which track.
        track: TrackId,
        /// New state.
        muted: bool,
    },
    /// Send a public chat message.
    Chat(ChatMessage),
    /// Send a private message, one sealed envelope per recipient.
    SealedChat {
        /// The message id.
        id: MessageId,
        /// One per recipient, each naming its recipient.
        envelopes: Vec<Envelope>,
    },
    /// Acknowledge a private message to its sender.
    ChatAck {
        /// Which message.
        id: MessageId,
        /// The sender's session.
        to: ParticipantId,
    },
    /// We are leaving.
    Leave,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_tracks_are_numbered_within_their_kind() {
        let names: Vec<String> = [
            (MediaKind::Video, 0),
            (MediaKind::Video, 1),
            (MediaKind::Audio, 0),
        ]
        .into_iter()
        .map(|(kind, earlier)| kind.nth_track_id(earlier).to_string())
        .collect();
        assert_eq!(names, ["video", "video-2", "audio"]);
    }
}
