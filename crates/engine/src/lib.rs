//! # confab-engine — the call driver
//!
//! [`Call`] is one tokio task that alone owns the [`Room`](confab_core::Room), the signaling
//! adapter and transport, and the PeerSession. It `select!`s over transport frames, peer events,
//! commands and the room's next timeout; the room decides, the task does the I/O. A WHIP/WHEP
//! link runs a different task ([`streams`]): one media connection per stream, each set up over
//! HTTP, and no room; a Janus link runs [`janus`]: three media connections (publish, receive,
//! chat) and the same room state machine. Media runs on [`confab_media`] threads; remote tracks are read by one small
//! task each ([`receive`]), which updates shared counters instead of flooding the call task.
//!
//! Consumers (the CLI, the desktop shell) send [`CallCommand`]s, read [`CallEvent`]s (small
//! deltas with ids) and ask for a [`CallSnapshot`] when they need the whole picture.

#![forbid(unsafe_code)]

mod api;
mod call;
mod identity;
mod janus;
mod media_out;
mod peerjs;
mod receive;
mod record;
mod room_call;
mod room_events;
mod seal;
mod send;
mod streams;

pub use api::{
    CallCommand, CallError, CallEvent, CallSnapshot, LocalSource, Reconnection, Recovery, RemoteSnapshot,
    SentSnapshot,
};
pub use call::{Call, CallConfig, CallControl, RECONNECT_FOR, SERVER_SILENCE_LIMIT};
/// Decoded pictures and sound handed to a [`MediaSink`].
pub use confab_media::{AudioFrame, VideoFrame};
/// Where a call's media sockets bind (see [`CallConfig::peer`]).
pub use confab_rtc::PeerConfig;
pub use identity::{Identity, IdentityError};
pub use media_out::MediaSink;
pub use seal::{SealError, SessionKeys};
