//! The adapter seam every SFU dialect implements.

use confab_core::{SignalErrorCode, SignalIn, SignalOut};
use std::time::Instant;

/// Which PeerConnections a server dialect needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One PeerConnection carries everything; the server renegotiates to add remote tracks
    /// (Confab's embedded server).
    SinglePeer,
    /// One publishing PeerConnection and one subscribing PeerConnection (Janus, LiveKit).
    PublisherSubscriber,
    /// One PeerConnection per published or watched stream (WHIP/WHEP).
    PeerPerStream,
}

/// A frame could not be understood or produced. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The frame broke the protocol. The code says how; retrying the same frame cannot help,
    /// and the session can go on.
    #[error("{message}")]
    Protocol {
        /// What kind of violation.
        code: SignalErrorCode,
        /// Details (never contains secrets or chat text).
        message: String,
    },
    /// This dialect cannot express the request. Retrying cannot help.
    #[error("this server cannot {0}")]
    Unsupported(&'static str),
}

impl AdapterError {
    /// The error code to report.
    pub fn code(&self) -> SignalErrorCode {
        match self {
            AdapterError::Protocol { code, .. } => *code,
            AdapterError::Unsupported(_) => SignalErrorCode::UnknownMessage,
        }
    }
}

/// One SFU dialect: a codec plus whatever small state the dialect needs (no I/O, no clock).
pub trait SignalingAdapter: Send {
    /// The PeerConnection layout this dialect needs.
    fn topology(&self) -> Topology;

    /// Encodes an outgoing signal into zero or more wire frames.
    fn encode(&mut self, out: SignalOut) -> Result<Vec<String>, AdapterError>;

    /// Decodes one wire frame into zero or more incoming signals.
    fn decode(&mut self, frame: &str) -> Result<Vec<SignalIn>, AdapterError>;

    /// Frames the dialect must send by `now` (keepalives); empty for dialects without timers.
    fn handle_timeout(&mut self, _now: Instant) -> Vec<String> {
        Vec::new()
    }

    /// When [`SignalingAdapter::handle_timeout`] next needs calling.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
