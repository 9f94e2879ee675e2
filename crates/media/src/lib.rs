//! # confab-media — sources, test patterns and codecs, on plain OS threads
//!
//! What this crate owns:
//! - [`VideoFrame`] (I420) and [`AudioFrame`] (48 kHz mono PCM), the currency between stages;
//! - the [`VideoSource`] / [`AudioSource`] traits that real capture and synthetic sources both
//!   implement, and the synthetic ones: [`pattern::TestPattern`] (colour bars, a moving box and a
//!   machine-readable stamp with frame number and capture time that survives H.264) and
//!   [`tone::Tone`];
//! - H.264 (openh264) and Opus codecs, and the threads that run them ([`pipeline`]);
//! - the video send rate, moved by what receivers report ([`rate`]);
//! - decoded pictures scaled to the size they are shown at and converted to RGBA ([`fit`]);
//! - real devices ([`devices`]: nokhwa cameras, cpal microphones and speakers) and the mix of
//!   remote audio a speaker plays ([`mixer`]).
//!
//! No async runtime here: each device and each codec runs on its own OS thread and hands frames on
//! over a bounded [`queue`] that drops the oldest frame when full and counts what it dropped.

pub mod devices;
pub mod fit;
pub mod frame;
pub mod h264;
pub mod mixer;
pub mod opus_codec;
pub mod pattern;
pub mod pipeline;
pub mod queue;
pub mod rate;
pub mod source;
pub mod tone;

pub use frame::{AudioFrame, EncodedAudio, EncodedVideo, VideoFrame};
pub use source::{AudioSource, SourceError, VideoSource};

/// Audio sample rate used throughout Confab (Opus' native rate).
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;
/// Samples per audio frame: 20 ms at 48 kHz.
pub const AUDIO_FRAME_SAMPLES: usize = 960;
