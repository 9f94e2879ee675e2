//! A speaker through cpal playing the [`Mixer`]: the device's callback pulls as many mono
//! samples as it needs from the mix and writes each to every channel.

use super::audio::{self, device_error, Direction};
use crate::mixer::Mixer;
use crate::SourceError;
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
    T: SizedSample + FromSample<i16>,
{
    let channels = usize::from(config.channels).max(1);
    let mut mono = Vec::new();
    device
        .build_output_stream::<T, _, _>(
            *config,
            move |out: &mut [T], _| {
                mono.resize(out.len() / channels, 0);
                mixer.pull(&mut mono);
                for (frame, &sample) in out.chunks_exact_mut(channels).zip(&mono) {
                    frame.fill(T::from_sample_(sample));
                }
            },
            |e| tracing::warn!(error = %e, "the speaker reported a problem"),
            None,
        )
        .map_err(|e| device_error(Direction::Output, &e))
}
