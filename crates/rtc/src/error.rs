//! Errors of the WebRTC layer.

/// A PeerConnection operation failed. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcError {
    /// The PeerConnection could not be created (e.g. no address to bind). Retrying cannot help
    /// until the network configuration changes.
    #[error("could not set up a media connection: {0}")]
    Setup(String),
    /// The remote SDP was malformed or incompatible. Retrying the same SDP cannot help.
    #[error("the other side's media description was not acceptable: {0}")]
    BadRemoteDescription(String),
    /// The other side wants one network transport per media section (differing ICE credentials
    /// and no BUNDLE); Confab carries everything over one. Retrying the same offer cannot help.
    #[error(
        "the other side offered a separate network connection for each media stream (no BUNDLE); \
         Confab needs them bundled into one: turn on BUNDLE (max-bundle) in that client"
    )]
    UnbundledTransports,
    /// Creating or applying our own SDP failed. Retrying cannot help.
    #[error("could not describe our media: {0}")]
    LocalDescription(String),
    /// A remote ICE candidate was malformed. Skipping it is fine; the call can go on.
    #[error("ignored a malformed network candidate: {0}")]
    BadCandidate(String),
    /// A media packet from the network was malformed. It is dropped; the call goes on.
    #[error("dropped a malformed media packet: {0}")]
    BadPacket(String),
    /// Media cannot flow on this track yet (negotiation unfinished) or any more (closed).
    /// Retrying after negotiation completes helps.
    #[error("the media track is not connected")]
    NotConnected,
    /// The session is closed. Retrying cannot help.
    #[error("the media connection is closed")]
    Closed,
}

pub(crate) fn setup(e: impl std::fmt::Display) -> RtcError {
    RtcError::Setup(e.to_string())
}
