//! # confab-rtc — Confab's only door to the `webrtc` crate
//!
//! What it owns: [`PeerSession`], one WebRTC PeerConnection with Confab's codec set (H.264
//! constrained baseline, packetization-mode 1, and Opus), local tracks fed with encoded frames
//! ([`LocalMediaTrack`]) or with forwarded RTP ([`ForwardTrack`], for the SFU), remote tracks
//! ([`RemoteTrack`]) with depacketizing ([`FrameAssembler`]), keyframe requests in both
//! directions, what receivers report about our video ([`SendFeedback`]), a data channel, stats
//! and close.
//!
//! Nothing above this crate names a `webrtc`/`rtc` type. Library callbacks only send
//! [`PeerEvent`]s into a channel; the task that owns the session does the work.

#![forbid(unsafe_code)]

pub mod bundle;
mod codecs;
mod endings;
mod error;
mod feedback;
mod forwarding;
mod remote_close;
mod sequence;
mod session;
mod track;

pub use error::RtcError;
pub use feedback::SendFeedback;
pub use session::{PeerConfig, PeerEvent, PeerSession, PeerState, PeerStats};
pub use track::{
    AssembledFrame, Assembly, ForwardTrack, FrameAssembler, LocalMediaTrack, RemoteTrack, RtpPacket,
};
