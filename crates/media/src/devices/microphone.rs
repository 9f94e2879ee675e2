//! A microphone through cpal as an [`AudioSource`]: the device's callback folds every channel
//! into one, brings it to 48 kHz if the device runs at another rate, cuts 20 ms frames,
//! measures each frame's level for the meter and hands the frames over a drop-oldest queue.

use super::audio::{self, device_error, Direction};
use super::resample::RateConverter;
use super::Level;
use crate::queue::{drop_oldest, QueueReceiver, QueueSender};
use crate::tone::rms;
use crate::{AudioFrame, AudioSource, SourceError, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use cpal::traits::DeviceTrait;
use cpal::{FromSample, SampleFormat, SizedSample};
use crossbeam_channel::Sender;
use std::sync::Arc;
use std::time::Duration;

/// How long `next_frame` waits before saying the microphone stopped.
const FRAME_TIMEOUT: Duration = Duration::from_secs(2);
/// Frames held for a slow encoder before the oldest go (100 ms).
const QUEUED_FRAMES: usize = 5;

/// A microphone delivering 20 ms mono frames at 48 kHz.
pub struct Microphone {
    frames: QueueReceiver<AudioFrame>,
    level: Arc<Level>,
    /// Dropping it ends the capture thread and closes the device.
    _stop: Sender<()>,
}

impl Microphone {
    /// Opens microphone `id` (from [`super::list`]), or the default one.
    pub fn open(id: Option<&str>) -> Result<Self, SourceError> {
        let device = audio::find(Direction::Input, id)?;
        let (config, format) = audio::stream_config(&device, Direction::Input)?;
        let level = Arc::new(Level::default());
        let (frames_tx, frames) = drop_oldest(QUEUED_FRAMES);
        let cutter = FrameCutter::new(
            frames_tx,
            level.clone(),
            usize::from(config.channels),
            config.sample_rate,
        )?;
        let stop = audio::run_stream(Direction::Input, "microphone", move || match format {
            SampleFormat::I16 => build::<i16>(&device, &config, cutter),
            _ => build::<f32>(&device, &config, cutter),
        })?;
        Ok(Self {
            frames,
            level,
            _stop: stop,
        })
    }

    /// The level of what the microphone hears (for the meter), updated every 20 ms.
    pub fn level(&self) -> Arc<Level> {
        self.level.clone()
    }
}

impl AudioSource for Microphone {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        match self.frames.recv_timeout(FRAME_TIMEOUT) {
            Ok(Some(frame)) => Ok(frame),
            _ => Err(SourceError::Stopped { kind: "microphone" }),
        }
    }
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut cutter: FrameCutter,
) -> Result<cpal::Stream, SourceError>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    device
        .build_input_stream::<T, _, _>(
            *config,
            move |data: &[T], _| cutter.push(data),
            |e| tracing::warn!(error = %e, "the microphone reported a problem"),
            None,
        )
        .map_err(|e| device_error(Direction::Input, &e))
}

/// Turns a device's interleaved samples, in whatever pieces the callback brings them, into
/// 20 ms mono frames at 48 kHz.
struct FrameCutter {
    frames: QueueSender<AudioFrame>,
    level: Arc<Level>,
    channels: usize,
    /// The callback's piece folded to mono, at the device's rate.
    mono: Vec<f32>,
    /// For a device not at 48 kHz: the converter, and room for what it gives back.
    converter: Option<(RateConverter, Vec<f32>)>,
    pending: Vec<i16>,
}

impl FrameCutter {
    /// Cuts `channels`-channel sound at `rate` Hz.
    fn new(
        frames: QueueSender<AudioFrame>,
        level: Arc<Level>,
        channels: usize,
        rate: u32,
    ) -> Result<Self, SourceError> {
        // Room for a generous callback up front, so the sound thread does not allocate.
        let converter = match rate {
            AUDIO_SAMPLE_RATE => None,
            _ => Some((
                RateConverter::new(rate, AUDIO_SAMPLE_RATE)?,
                Vec::with_capacity(8192),
            )),
        };
        Ok(Self {
            frames,
            level,
            channels: channels.max(1),
            mono: Vec::with_capacity(8192),
            converter,
            pending: Vec::with_capacity(AUDIO_FRAME_SAMPLES),
        })
    }

    fn push<T: SizedSample>(&mut self, interleaved: &[T])
    where
        f32: FromSample<T>,
    {
        let channels = self.channels;
        self.mono.clear();
        self.mono
            .extend(interleaved.chunks_exact(channels).map(|samples| {
                let sum: f32 = samples.iter().map(|&s| f32::from_sample_(s)).sum();
                sum / channels as f32
            }));
        let at_48k = match &mut self.converter {
            Some((converter, converted)) => {
                converted.clear();
                converter.convert(&self.mono, converted);
                &converted[..]
            }
            None => &self.mono[..],
        };
        for &mono in at_48k {
            self.pending.push(i16::from_sample_(mono));
            if self.pending.len() == AUDIO_FRAME_SAMPLES {
                let samples = std::mem::replace(&mut self.pending, Vec::with_capacity(AUDIO_FRAME_SAMPLES));
                self.level.set(rms(&samples));
                let _ = self.frames.push(AudioFrame { samples });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::resample::tests::tone;
    use super::*;

    #[test]
    fn stereo_pieces_become_whole_mono_frames_with_their_level() {
        let (tx, rx) = drop_oldest(4);
        let level = Arc::new(Level::default());
        let mut cutter = FrameCutter::new(tx, level.clone(), 2, AUDIO_SAMPLE_RATE).unwrap();
        // 1.5 frames of stereo: left 0.5, right 0.0 → mono 0.25, in uneven pieces.
        let stereo: Vec<f32> = [0.5f32, 0.0].repeat(AUDIO_FRAME_SAMPLES * 3 / 2);
        let (first, rest) = stereo.split_at(333);
        cutter.push(first);
        assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(None));
        cutter.push(rest);
        let frame = rx.recv_timeout(Duration::ZERO).unwrap().unwrap();
        assert_eq!(frame.samples.len(), AUDIO_FRAME_SAMPLES);
        assert!(
            frame.samples.iter().all(|&s| (8190..=8193).contains(&s)),
            "{:?}",
            &frame.samples[..4]
        );
        assert!((level.get() - 0.25).abs() < 0.01, "{}", level.get());
        assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(None), "half a frame waits");
    }

    #[test]
    fn a_44_1_khz_microphone_gives_48_khz_frames_at_the_same_pace() {
        let (tx, rx) = drop_oldest(100);
        let mut cutter = FrameCutter::new(tx, Arc::new(Level::default()), 1, 44_100).unwrap();
        // One second of a loud tone, 10 ms a callback.
        for piece in tone(440.0, 44_100, 44_100).chunks(441) {
            cutter.push(piece);
        }
        let frames: Vec<AudioFrame> =
            std::iter::from_fn(|| rx.recv_timeout(Duration::ZERO).ok().flatten()).collect();
        // 50 frames a second, less the converter's start-up delay.
        assert!((47..=50).contains(&frames.len()), "{} frames", frames.len());
        let last = &frames[frames.len() - 1].samples;
        assert_eq!(last.len(), AUDIO_FRAME_SAMPLES);
        let rising = last.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
        assert!(
            (8..=10).contains(&rising),
            "440 Hz is ~8.8 cycles in 20 ms, got {rising}"
        );
    }
}
