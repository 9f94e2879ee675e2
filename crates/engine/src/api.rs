//! The engine's public vocabulary: commands in, events out, snapshots on demand, typed errors.

use crate::seal::SealError;
use confab_core::{
    ChatError, ChatMessage, ConversationId, DeliveryState, IdentityId, LeaveReason, LinkError, MediaKind,
    MessageId, ParticipantId, RoomError,
};
use confab_media::pipeline::MediaError;
use confab_media::{AudioSource, SourceError, VideoSource};
use confab_rtc::RtcError;
use confab_signal::whip::client::StreamError;
use confab_signal::{AdapterError, TransportError};
use serde::Serialize;
use tokio::sync::oneshot;

/// A call failed or degraded. Each variant says whether retrying can help.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The link cannot be used. Retrying the same link cannot help.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The server could not be reached or the connection dropped. Retrying may help.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The room refused or ended the call. See the inner error.
    #[error(transparent)]
    Room(#[from] RoomError),
    /// A WHIP/WHEP endpoint refused or could not be reached. See the inner error.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The server sent something this client could not understand. The call goes on.
    #[error("the server sent a message this client could not read: {0}")]
    Signal(#[from] AdapterError),
    /// Audio or video setup failed; the call goes on without that medium.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The media connection failed. Rejoining may help.
    #[error(transparent)]
    Rtc(#[from] RtcError),
    /// A private message could not be sealed or opened; it was shown to nobody.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// An incoming chat message was refused; it was shown to nobody.
    #[error("refused a chat message from {from}: {error}")]
    ChatRefused {
        /// The sender's session.
        from: ParticipantId,
        /// Why.
        error: ChatError,
    },
}

/// Something the user asked for.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallCommand {
    /// Send a chat message: public, or private to exactly the members of a conversation.
    SendChat {
        /// Public, or the private conversation's members (including us).
        conversation: ConversationId,
        /// The text.
        text: String,
    },
    /// Mute or unmute our audio or video. A muted medium sends nothing; others are told.
    SetMuted {
        /// Audio or video.
        kind: MediaKind,
        /// New state.
        muted: bool,
    },
    /// Capture from another camera or microphone from now on (the user picked one, or the
    /// old one was unplugged). Tracks, mute state and peers stay; only a medium the call sends
    /// can be replaced.
    ReplaceSource(LocalSource),
    /// Stop capturing this medium and let its device go (video stopped: the camera's light goes
    /// off). The medium stays offered; mute it too, so others see it off. A later
    /// `ReplaceSource` captures again.
    CloseSource(MediaKind),
    /// Leave the call.
    Leave,
    /// Report the whole picture.
    Snapshot(oneshot::Sender<CallSnapshot>),
}

/// A camera or microphone to capture from.
pub enum LocalSource {
    /// Pictures.
    Video(Box<dyn VideoSource>),
    /// Sound.
    Audio(Box<dyn AudioSource>),
}

impl LocalSource {
    /// Which medium it feeds.
    pub fn kind(&self) -> MediaKind {
        match self {
            Self::Video(_) => MediaKind::Video,
            Self::Audio(_) => MediaKind::Audio,
        }
    }
}

impl std::fmt::Debug for LocalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalSource({:?})", self.kind())
    }
}

/// Something that happened in the call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CallEvent {
    /// We are in the room.
    Joined {
        /// Our session id.
        local: ParticipantId,
    },
    /// Someone joined.
    ParticipantJoined(ParticipantId),
    /// Someone left.
    ParticipantLeft {
        /// Who.
        id: ParticipantId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone muted or unmuted a track.
    TrackMuted {
        /// Publisher.
        participant: ParticipantId,
        /// Audio or video.
        kind: MediaKind,
        /// New state.
        muted: bool,
    },
    /// The first picture from a participant was decoded.
    FirstFrameDecoded(ParticipantId),
    /// A chat message arrived.
    ChatReceived(ChatMessage),
    /// We sent a chat message; it belongs in its conversation as shown here.
    ChatSent(ChatMessage),
    /// A recipient acknowledged one of our private messages.
    ChatDelivered {
        /// Which message.
        id: MessageId,
        /// Who.
        to: IdentityId,
    },
    /// One of our private messages will not be delivered.
    ChatNotDelivered {
        /// Which message.
        id: MessageId,
        /// Why.
        reason: String,
    },
    /// The connection was lost and this is attempt `attempt` to get back in. `Joined` follows
    /// when it succeeds; `Ended` if it never does.
    Reconnecting {
        /// 1 for the first attempt after a loss.
        attempt: u32,
    },
    /// Media stopped arriving: the media connection lost its path while signaling still
    /// works. The server restarts ICE; `MediaRestored` follows when media flows again, or
    /// `Reconnecting` if the call has to rejoin in full.
    MediaInterrupted,
    /// Media flows again on the same connection after `MediaInterrupted`.
    MediaRestored,
    /// Our camera or microphone stopped delivering (unplugged, taken by another app). Nothing
    /// of that medium is sent until [`CallCommand::ReplaceSource`]; the call goes on.
    SourceLost {
        /// Which medium.
        kind: MediaKind,
        /// What the device did.
        error: SourceError,
    },
    /// Something went wrong but the call goes on.
    Problem(CallError),
    /// The call is over.
    Ended {
        /// Why.
        reason: LeaveReason,
        /// The error behind it, if any.
        error: Option<CallError>,
    },
}

/// What we know about one remote participant.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteSnapshot {
    /// Session id.
    pub id: ParticipantId,
    /// Stable identity.
    pub identity: IdentityId,
    /// Display name.
    pub name: String,
    /// Milliseconds from the join call to their first decoded frame.
    pub first_frame_ms: Option<u64>,
    /// Video frames decoded.
    pub frames_decoded: u64,
    /// Decoded frames whose test-pattern stamp, bars or box did not check out.
    pub frames_corrupt: u64,
    /// Frames the sender stamped between the first and last one we decoded.
    pub frames_expected: u64,
    /// Access units the decoder rejected.
    pub decode_errors: u64,
    /// Access units dropped because the decoder fell behind (drop-oldest queue).
    pub frames_dropped_before_decode: u64,
    /// Frames lost in transit (an RTP sequence gap).
    pub frames_lost: u64,
    /// The longest wait between two decoded video frames, ms (a freeze, or a reconnect).
    pub longest_gap_ms: u64,
    /// Whole frames received but not decoded while waiting for a keyframe after a loss.
    pub frames_skipped_awaiting_keyframe: u64,
    /// Audio frames decoded.
    pub audio_frames_decoded: u64,
    /// Audio frames with an audible signal.
    pub audio_frames_audible: u64,
    /// How they left, if they did.
    pub left: Option<LeaveReason>,
    /// Milliseconds from the join call to when we learned they left.
    pub left_ms: Option<u64>,
}

/// The whole picture of a call at one moment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallSnapshot {
    /// Our session id, once joined.
    pub local: Option<ParticipantId>,
    /// Milliseconds from the join call to being admitted.
    pub joined_ms: Option<u64>,
    /// Everyone we have seen.
    pub participants: Vec<RemoteSnapshot>,
    /// Our stable identity.
    pub identity: Option<IdentityId>,
    /// Every chat message received (not our own), conversation by conversation.
    pub chat: Vec<ChatMessage>,
    /// Our private messages and where each stands with each recipient.
    pub sent: Vec<SentSnapshot>,
    /// Video frames we sent.
    pub frames_sent: u64,
    /// Captured frames dropped before reaching the network because the encoder or the network
    /// writer fell behind (drop-oldest queues).
    pub frames_dropped_before_send: u64,
    /// Bytes sent and received over the media connection.
    pub media_bytes: (u64, u64),
    /// Mean encode time per frame, milliseconds.
    pub encode_ms_per_frame: f64,
    /// The bitrate our video is encoded at now (bits per second; 0 before any camera): lowered
    /// when receivers report loss, raised again once it stops.
    pub video_send_bitrate_bps: u32,
    /// User-facing sentences for everything that went wrong.
    pub errors: Vec<String>,
    /// Each time the connection was lost and we got back in.
    pub reconnections: Vec<Reconnection>,
    /// ICE restarts the server made on our media connections.
    pub ice_restarts: u32,
    /// How the call ended, if it has.
    pub ended: Option<LeaveReason>,
}

/// One lost connection that was recovered.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Reconnection {
    /// Milliseconds from the join call to noticing the loss.
    pub lost_ms: u64,
    /// Milliseconds from the join call to being back.
    pub rejoined_ms: u64,
    /// How the call got back.
    pub how: Recovery,
}

/// How a lost connection was recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    /// Signaling was lost and the session carried on over a new signaling connection within
    /// the server's grace period: nobody saw us leave, nothing sent either way was lost, and
    /// the media connection stayed.
    Resumed,
    /// Signaling was lost for longer than the server waits: a new session joined as the same
    /// identity (others saw us leave and come back) and a new media connection was made.
    Rejoined,
    /// Only the media path was lost, and the same media connection came back (the server
    /// restarted ICE, or the path simply returned); nobody saw us leave.
    MediaPathRestored,
    /// The server closed one of our media connections and a new one replaced it (Janus hanging
    /// up a publication, subscription or chat connection); nobody saw us leave (a participant
    /// who only chats is seen to leave Janus' TextRoom and come back).
    MediaReconnected,
}

/// One of our private messages and its delivery state per recipient.
#[derive(Debug, Clone, Serialize)]
pub struct SentSnapshot {
    /// Message id.
    pub id: MessageId,
    /// Its conversation.
    pub conversation: ConversationId,
    /// Per recipient identity.
    pub delivery: Vec<(IdentityId, DeliveryState)>,
}

impl CallSnapshot {
    /// The picture of a call that ended before it got anywhere.
    pub(crate) fn failed(reason: LeaveReason, errors: Vec<String>) -> Self {
        Self {
            errors,
            ended: Some(reason),
            ..Self::default()
        }
    }
}
