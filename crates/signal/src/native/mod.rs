//! The native adapter: Confab's own versioned JSON protocol over WebSocket.
//!
//! [`wire`] defines the messages (shared with the embedded server); [`NativeAdapter`] maps them
//! to and from Confab's signal vocabulary.

mod adapter;
mod sent_log;
pub mod wire;

pub use adapter::{NativeAdapter, PING_INTERVAL};
