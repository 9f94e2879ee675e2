//! # confab-core — the room as pure state
//!
//! This crate owns Confab's protocol-neutral state: ID newtypes, join links, the room state
//! machine (participants, their tracks, mute state, leave reasons) and chat conversations.
//!
//! The rule that keeps it testable: **no I/O, no clock, no async runtime.** Time comes in as a
//! `now: Instant` argument. Inputs go in through `Room::handle_*` methods; outputs come out of
//! [`Room::poll_output`], which the driver drains until it returns [`Output::Timeout`] (the
//! next instant the room wants to be woken, if any). Signaling adapters translate their wire
//! dialect into [`SignalIn`] / [`SignalOut`]; the room never sees a socket.

#![forbid(unsafe_code)]

pub mod chat;
pub mod ids;
pub mod link;
pub mod room;
pub mod signal;

pub use chat::{Chat, ChatError, ChatMessage, ConversationId, DeliveryState, PrivateMembers, SendOrder};
pub use ids::{IdError, IdentityId, MessageId, ParticipantId, RoomName, TrackId};
pub use link::{JoinLink, LinkError, Secret};
pub use room::{LeaveReason, Output, Participant, Room, RoomCommand, RoomError, RoomEvent};
pub use signal::{
    Envelope, IceCandidate, IceServer, MediaKind, ParticipantInfo, PeerSlot, PrivateDraft, Recipient,
    SdpKind, SessionDescription, SignalErrorCode, SignalIn, SignalOut, TrackInfo,
};
