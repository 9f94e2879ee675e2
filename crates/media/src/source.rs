//! The source traits that real devices and synthetic generators both implement.
//!
//! A source is a blocking, self-paced producer: `next_frame` returns when the next frame is due.
//! [`crate::pipeline`] runs each source on its own thread.

use crate::frame::{AudioFrame, VideoFrame};
use std::time::Duration;

/// A capture device or generator failed. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// No such device. Retrying helps only after the device is plugged in.
    #[error("no {kind} found")]
    NotFound {
        /// "camera" or "microphone".
        kind: &'static str,
    },
    /// Another app holds the device. Retrying may help once it lets go.
    #[error("the {kind} is in use by another app")]
    Busy {
        /// "camera" or "microphone".
        kind: &'static str,
    },
    /// The requested format cannot be produced. Retrying with the same format cannot help.
    #[error("unsupported format: {reason}")]
    UnsupportedFormat {
        /// What was wrong.
        reason: String,
    },
    /// The device stopped delivering. Retrying (reopening) may help.
    #[error("the {kind} stopped delivering frames")]
    Stopped {
        /// "camera" or "microphone".
        kind: &'static str,
    },
}

/// Something that produces raw video frames at its own pace.
pub trait VideoSource: Send {
    /// Time between frames.
    fn frame_interval(&self) -> Duration;
    /// Frame size in pixels.
    fn size(&self) -> (usize, usize);
    /// Blocks until the next frame is due and returns it.
    fn next_frame(&mut self) -> Result<VideoFrame, SourceError>;
}

/// Something that produces 20 ms PCM frames at its own pace.
pub trait AudioSource: Send {
    /// Blocks until the next 20 ms frame is due and returns it.
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError>;
}
