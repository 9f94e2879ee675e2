//! Where decoded remote video goes besides the counters: the desktop shell's tiles, a
//! recorder. The engine calls the sink on each remote track's decoder thread, so a sink must
//! return quickly (keep the latest frame, drop the rest) and never block.

use confab_core::ParticipantId;
use confab_media::VideoFrame;

/// Receives every decoded remote video frame.
pub trait VideoSink: Send + Sync {
    /// One decoded picture from `participant`, in display order.
    fn show(&self, participant: &ParticipantId, frame: &VideoFrame);
}
