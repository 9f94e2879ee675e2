//! A synthetic microphone: a paced sine tone.

use crate::frame::AudioFrame;
use crate::source::{AudioSource, SourceError};
use crate::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use std::time::{Duration, Instant};

/// A sine tone at a fixed frequency and level, delivered in real time.
pub struct Tone {
    frequency: f32,
    amplitude: f32,
    phase: f32,
    next_due: Option<Instant>,
}

impl Tone {
    /// A tone of `frequency` Hz at about -12 dBFS.
    pub fn new(frequency: f32) -> Self {
        Self {
            frequency,
            amplitude: 0.25 * f32::from(i16::MAX),
            phase: 0.0,
            next_due: None,
        }
    }

    fn fill(&mut self) -> AudioFrame {
        let step = std::f32::consts::TAU * self.frequency / AUDIO_SAMPLE_RATE as f32;
        let samples = (0..AUDIO_FRAME_SAMPLES)
            .map(|_| {
                let s = (self.phase.sin() * self.amplitude) as i16;
                self.phase = (self.phase + step) % std::f32::consts::TAU;
                s
            })
            .collect();
        AudioFrame { samples }
    }
}

impl AudioSource for Tone {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        let due = *self.next_due.get_or_insert_with(Instant::now);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        self.next_due = Some(due + Duration::from_millis(20));
        Ok(self.fill())
    }
}

/// Root-mean-square level of a frame, 0.0 (silence) to 1.0 (full scale).
pub fn rms(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    ((sum / samples.len() as f64).sqrt() / f64::from(i16::MAX)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_is_audible_and_sized() {
        let mut tone = Tone::new(440.0);
        let frame = tone.fill();
        assert_eq!(frame.samples.len(), AUDIO_FRAME_SAMPLES);
        let level = rms(&frame.samples);
        assert!((0.15..0.2).contains(&level), "{level}");
    }
}
