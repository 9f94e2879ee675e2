//! Where decoded remote media goes besides the counters: the desktop shell's tiles and
//! speaker, a recorder. The engine calls the sink on each remote track's decoder thread, so a
//! sink must return quickly (keep the latest picture, queue a little sound, drop the rest) and
//! never block.

use confab_core::ParticipantId;
use confab_media::{AudioFrame, VideoFrame};

/// Receives every decoded remote frame.
pub trait MediaSink: Send + Sync {
    /// One decoded picture from `participant`, in display order.
    fn show(&self, participant: &ParticipantId, frame: &VideoFrame);
    /// 20 ms of decoded sound from `participant`, in playout order. A sink that only shows
    /// pictures (a video recorder, a test probe) leaves it as is.
    fn hear(&self, _participant: &ParticipantId, _frame: &AudioFrame) {}
}
