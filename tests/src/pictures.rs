//! A [`MediaSink`] for tests that receive video from third-party senders, whose pictures carry
//! no Confab test-pattern stamp: it keeps, per participant, the size of the latest decoded
//! picture and how many different pictures arrived (a moving source keeps changing them).

use confab_core::ParticipantId;
use confab_engine::{MediaSink, VideoFrame};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};

/// The latest picture size and the hashes of the distinct pictures of one participant.
type Seen = ((usize, usize), HashSet<u64>);

/// Sizes and distinct pictures seen, per participant.
#[derive(Default)]
pub struct PictureProbe {
    seen: Mutex<HashMap<ParticipantId, Seen>>,
}

impl MediaSink for PictureProbe {
    fn show(&self, participant: &ParticipantId, frame: &VideoFrame) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        frame.data[..frame.width * frame.height].hash(&mut hasher);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = seen.entry(participant.clone()).or_default();
        entry.0 = (frame.width, frame.height);
        entry.1.insert(hasher.finish());
    }
}

impl PictureProbe {
    /// The latest picture size from `participant` and how many different pictures came.
    pub fn of(&self, participant: &ParticipantId) -> Option<((usize, usize), usize)> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(participant)
            .map(|(size, pictures)| (*size, pictures.len()))
    }
}
