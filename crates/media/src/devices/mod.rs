//! Real devices: cameras ([`camera`], nokhwa), microphones and speakers ([`microphone`],
//! [`speaker`], cpal), what this computer has now ([`list`]) and the conversion of camera pixels
//! to I420 ([`convert`]). Each device runs on its own thread; failures are [`crate::SourceError`]s
//! saying what the user can do.

mod audio;
pub mod camera;
pub mod convert;
pub mod microphone;
mod resample;
pub mod speaker;

use std::sync::atomic::{AtomicU32, Ordering};

/// One device as a picker shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceInfo {
    /// What `open` takes to pick it again (stable while it stays plugged in).
    pub id: String,
    /// Its name, for people.
    pub label: String,
}

/// The devices of one kind, or why they could not be listed.
pub type Listing = Result<Vec<DeviceInfo>, String>;

/// Every device this computer has now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    /// Cameras.
    pub cameras: Listing,
    /// Microphones.
    pub microphones: Listing,
    /// Speakers.
    pub speakers: Listing,
}

/// Asks the OS for every camera, microphone and speaker (a few milliseconds; call it again to
/// notice devices plugged in or out).
pub fn list() -> DeviceList {
    DeviceList {
        cameras: camera::list(),
        microphones: audio::list(audio::Direction::Input),
        speakers: audio::list(audio::Direction::Output),
    }
}

/// A sound level (RMS, 0.0 to 1.0) written by a device thread and read by the UI.
#[derive(Debug, Default)]
pub struct Level(AtomicU32);

impl Level {
    /// Stores the latest level.
    pub fn set(&self, rms: f32) {
        self.0.store(rms.to_bits(), Ordering::Relaxed);
    }

    /// The latest level.
    pub fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
}
