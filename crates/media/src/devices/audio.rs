//! What microphones and speakers share on cpal: finding a device by id, listing them, agreeing
//! a stream (48 kHz, or the nearest rate the device has), turning cpal's errors into
//! [`SourceError`]s, and the thread that keeps a stream alive (cpal streams are not `Send` on
//! every platform, so each lives on its own thread until its owner lets go).

use super::DeviceInfo;
use crate::{SourceError, AUDIO_SAMPLE_RATE};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{Device, ErrorKind, SampleFormat, StreamConfig, SupportedStreamConfigRange};
use crossbeam_channel::Sender;

/// The lowest device rate taken (converted up to 48 kHz): below it there is no speech left.
const MIN_DEVICE_RATE: u32 = 8_000;

/// Which way a device's sound goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// A microphone.
    Input,
    /// A speaker.
    Output,
}

impl Direction {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::Input => "microphone",
            Self::Output => "speaker",
        }
    }
}

/// The devices sound can come from (`Input`) or go to (`Output`).
pub(crate) fn list(direction: Direction) -> Result<Vec<DeviceInfo>, String> {
    let host = cpal::default_host();
    let devices = match direction {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    }
    .map_err(|e| e.to_string())?;
    Ok(devices
        .into_iter()
        .filter_map(|device| {
            let id = device.id().ok()?.to_string();
            let label = device
                .description()
                .map_or_else(|_| id.clone(), |d| d.name().to_owned());
            Some(DeviceInfo { id, label })
        })
        .collect())
}

/// Device `id`, or the system's default one when `id` is `None`.
pub(crate) fn find(direction: Direction, id: Option<&str>) -> Result<Device, SourceError> {
    let host = cpal::default_host();
    let not_found = SourceError::NotFound {
        kind: direction.kind(),
    };
    match id {
        None => match direction {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        }
        .ok_or(not_found),
        Some(id) => {
            let id = id.parse().map_err(|_| not_found.clone())?;
            host.device_by_id(&id).ok_or(not_found)
        }
    }
}

/// The stream to open on the device: f32 or i16 samples, fewest channels, at 48 kHz where the
/// device offers it and otherwise at its rate nearest to 48 kHz (the caller converts, see
/// [`super::resample`]); an error saying what the device offers instead if none will do.
pub(crate) fn stream_config(
    device: &Device,
    direction: Direction,
) -> Result<(StreamConfig, SampleFormat), SourceError> {
    let ranges: Vec<SupportedStreamConfigRange> = match direction {
        Direction::Input => device.supported_input_configs().map(|r| r.collect()),
        Direction::Output => device.supported_output_configs().map(|r| r.collect()),
    }
    .map_err(|e| device_error(direction, &e))?;
    ranges
        .iter()
        .filter(|r| matches!(r.sample_format(), SampleFormat::F32 | SampleFormat::I16))
        .map(|r| {
            let rate = AUDIO_SAMPLE_RATE.clamp(r.min_sample_rate(), r.max_sample_rate());
            (r, rate)
        })
        .filter(|&(_, rate)| rate >= MIN_DEVICE_RATE)
        .min_by_key(|&(r, rate)| {
            (
                rate.abs_diff(AUDIO_SAMPLE_RATE),
                r.channels(),
                r.sample_format() != SampleFormat::F32,
            )
        })
        .map(|(r, rate)| {
            let config = r.with_sample_rate(rate);
            (config.config(), config.sample_format())
        })
        .ok_or_else(|| SourceError::UnsupportedFormat {
            reason: format!(
                "the {} offers no stream with 16-bit or float samples at 8 kHz or more",
                direction.kind()
            ),
        })
}

/// A cpal error as what it means to the user.
pub(crate) fn device_error(direction: Direction, error: &cpal::Error) -> SourceError {
    let kind = direction.kind();
    match error.kind() {
        ErrorKind::DeviceBusy => SourceError::Busy { kind },
        ErrorKind::DeviceNotAvailable | ErrorKind::HostUnavailable => SourceError::NotFound { kind },
        _ => SourceError::UnsupportedFormat {
            reason: error.to_string(),
        },
    }
}

/// Builds a stream on a thread of its own, starts it and keeps it until the returned sender is
/// dropped. Returns once the stream plays, or with the reason it could not.
pub(crate) fn run_stream(
    direction: Direction,
    name: &str,
    build: impl FnOnce() -> Result<cpal::Stream, SourceError> + Send + 'static,
) -> Result<Sender<()>, SourceError> {
    let (started_tx, started_rx) = crossbeam_channel::bounded(1);
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let stopped = SourceError::Stopped {
        kind: direction.kind(),
    };
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let stream = build().and_then(|stream| {
                stream.play().map_err(|e| device_error(direction, &e))?;
                Ok(stream)
            });
            match stream {
                Ok(stream) => {
                    let _ = started_tx.send(Ok(()));
                    // Blocks until the owner drops its sender.
                    let _ = stop_rx.recv();
                    drop(stream);
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                }
            }
        })
        .map_err(|_| stopped.clone())?;
    started_rx.recv().map_err(|_| stopped)??;
    Ok(stop_tx)
}
