//! Janus (VideoRoom for media, TextRoom for chat) over the Janus WebSocket API
//! ([`Topology::PublisherSubscriber`](crate::Topology)).
//!
//! [`wire`] reads Janus' JSON and maps its error codes onto Confab's; [`dialect`] is the
//! session's state machine. Janus' requests chain (a session, then handles, then joins, each
//! waiting for the last one's id) and chat rides a data channel rather than the WebSocket, so
//! the dialect has its own shape instead of [`SignalingAdapter`](crate::SignalingAdapter)'s
//! one-frame-in, frames-out codec: it queues what to send where, and the call driver carries
//! it out.

pub mod dialect;
pub mod wire;

pub use dialect::{feed_for, JanusDialect, JanusOutput};
