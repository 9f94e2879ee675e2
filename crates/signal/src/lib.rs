//! # confab-signal — signaling adapters and the transports they ride on
//!
//! A [`SignalingAdapter`] is a codec plus a small state machine: it turns Confab's
//! protocol-neutral [`SignalOut`](confab_core::SignalOut) into wire frames and wire frames into
//! [`SignalIn`](confab_core::SignalIn). It owns no socket; a [`Transport`] carries its frames.
//! The adapter also says which PeerConnection [`Topology`] its SFU needs.
//!
//! Adapters: [`native`] (Confab's own versioned JSON over WebSocket). [`whip`] holds what WHIP and
//! WHEP share (the embedded server serves both, Confab's client speaks both). [`janus`] speaks
//! Janus' VideoRoom and TextRoom. [`peerjs`] makes a mesh room out of a PeerJS server.

#![forbid(unsafe_code)]

pub mod adapter;
pub mod janus;
pub mod native;
pub mod peerjs;
pub mod stable_hash;
pub mod transport;
pub mod whip;

pub use adapter::{AdapterError, SignalingAdapter, Topology};
pub use transport::{Transport, TransportError, WebSocketTransport};
