//! A speaker through cpal playing the [`Mixer`]: the device's callback pulls as many mono
//! samples as it needs from the mix (converted from 48 kHz if the device runs at another rate)
//! and writes each to every channel.

use super::audio::{self, device_error, Direction};
use super::resample::RateConverter;
use crate::mixer::Mixer;
use crate::{SourceError, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use cpal::traits::DeviceTrait;
use cpal::{FromSample, SampleFormat, SizedSample};
use crossbeam_channel::Sender;
use std::sync::Arc;

/// Remote audio playing on a speaker until this is dropped.
pub struct Speaker {
    _stop: Sender<()>,
}

impl Speaker {
    /// Plays `mixer` on speaker `id` (from [`super::list`]), or the default one.
    pub fn open(id: Option<&str>, mixer: Arc<Mixer>) -> Result<Self, SourceError> {
        let device = audio::find(Direction::Output, id)?;
        let (config, format) = audio::stream_config(&device, Direction::Output)?;
        let stop = audio::run_stream(Direction::Output, "speaker", move || match format {
            SampleFormat::I16 => build::<i16>(&device, &config, mixer),
            _ => build::<f32>(&device, &config, mixer),
        })?;
        Ok(Self { _stop: stop })
    }
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mixer: Arc<Mixer>,
) -> Result<cpal::Stream, SourceError>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels).max(1);
    let mut feed = SpeakerFeed::new(mixer, config.sample_rate)?;
    let mut mono = Vec::new();
    device
        .build_output_stream::<T, _, _>(
            *config,
            move |out: &mut [T], _| {
                mono.resize(out.len() / channels, 0.0);
                feed.fill(&mut mono);
                for (frame, &sample) in out.chunks_exact_mut(channels).zip(&mono) {
                    frame.fill(T::from_sample_(sample));
                }
            },
            |e| tracing::warn!(error = %e, "the speaker reported a problem"),
            None,
        )
        .map_err(|e| device_error(Direction::Output, &e))
}

/// The mix as the device's rate wants it: straight through at 48 kHz, converted 20 ms at a
/// time otherwise.
struct SpeakerFeed {
    mixer: Arc<Mixer>,
    /// One pull from the mixer.
    mix: Vec<i16>,
    /// For a device not at 48 kHz: the converter, room for a step of the mix as floats, and
    /// converted sound not yet played.
    converter: Option<(RateConverter, Vec<f32>, Vec<f32>)>,
}

impl SpeakerFeed {
    /// Plays `mixer` on a device running at `rate` Hz.
    fn new(mixer: Arc<Mixer>, rate: u32) -> Result<Self, SourceError> {
        let converter = match rate {
            AUDIO_SAMPLE_RATE => None,
            _ => Some((
                RateConverter::new(AUDIO_SAMPLE_RATE, rate)?,
                Vec::with_capacity(AUDIO_FRAME_SAMPLES),
                Vec::with_capacity(8192),
            )),
        };
        // Room for a generous callback up front, so the sound thread does not allocate.
        Ok(Self {
            mixer,
            mix: Vec::with_capacity(8192),
            converter,
        })
    }

    /// Fills `out` (mono, at the device's rate) from the mix.
    fn fill(&mut self, out: &mut [f32]) {
        let Some((converter, step, ready)) = &mut self.converter else {
            self.mix.resize(out.len(), 0);
            self.mixer.pull(&mut self.mix);
            for (o, &m) in out.iter_mut().zip(&self.mix) {
                *o = f32::from_sample_(m);
            }
            return;
        };
        while ready.len() < out.len() {
            self.mix.resize(AUDIO_FRAME_SAMPLES, 0);
            self.mixer.pull(&mut self.mix);
            step.clear();
            step.extend(self.mix.iter().map(|&m| f32::from_sample_(m)));
            converter.convert(step, ready);
        }
        let wanted = out.len();
        for (o, sample) in out.iter_mut().zip(ready.drain(..wanted)) {
            *o = sample;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::resample::tests::{frequency, largest_jump, tone};
    use super::*;
    use crate::AudioFrame;

    #[test]
    fn a_44_1_khz_speaker_plays_the_mix_at_its_pitch_and_pace() {
        let mixer = Arc::new(Mixer::default());
        let mut feed = SpeakerFeed::new(mixer.clone(), 44_100).unwrap();
        // Two seconds of a 1 kHz tone at 48 kHz, at 0.305 of full scale, arriving 20 ms at a time.
        let sent: Vec<i16> = tone(1_000.0, 48_000, 100 * AUDIO_FRAME_SAMPLES)
            .iter()
            .map(|s| (s * 20_000.0) as i16)
            .collect();
        let mut played = Vec::new();
        let mut buffer = vec![0.0f32; 882]; // 20 ms at 44.1 kHz
        for samples in sent.chunks(AUDIO_FRAME_SAMPLES) {
            mixer.push(
                "alice",
                &AudioFrame {
                    samples: samples.to_vec(),
                },
            );
            feed.fill(&mut buffer);
            played.extend_from_slice(&buffer);
        }
        let settled = &played[played.len() / 2..];
        let pitch = frequency(settled, 44_100);
        assert!((990.0..1_010.0).contains(&pitch), "{pitch} Hz");
        let peak = settled.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((0.28..0.33).contains(&peak), "peak {peak}");
        // No click between steps: a 0.305 sine at 1 kHz moves at most 0.044 a 44.1 kHz sample.
        let jump = largest_jump(settled);
        assert!(jump < 0.05, "a jump of {jump}");
    }
}
