//! Remote media on its way out of the call: pictures to the [`Tiles`], sound to the [`Mixer`]
//! the speaker plays. The engine hands both over on its decoder threads.

use crate::tiles::Tiles;
use confab_core::ParticipantId;
use confab_engine::{AudioFrame, MediaSink, VideoFrame};
use confab_media::mixer::Mixer;
use std::sync::Arc;

/// The call's [`MediaSink`].
pub struct Playout {
    /// Latest picture per participant.
    pub tiles: Arc<Tiles>,
    /// Everyone's sound, mixed.
    pub mixer: Arc<Mixer>,
}

impl MediaSink for Playout {
    fn show(&self, participant: &ParticipantId, frame: &VideoFrame) {
        self.tiles.show(Some(participant), frame);
    }

    fn hear(&self, participant: &ParticipantId, frame: &AudioFrame) {
        self.mixer.push(participant.as_str(), frame);
    }
}
