//! Our own camera, microphone and speaker: what the pickers' choices open (at join, for the
//! pre-join preview, and when another device is picked mid-call), the self-view and the level
//! meter they feed on the way to the encoders, and the preview that runs them before there is
//! a call.
//!
//! A device that cannot be opened (none plugged in, another app holds it) does not stop a
//! join: the call starts with that camera off or that microphone muted, and the user is told
//! in a sentence ([`open`]).
//! Mid-call, the device in use stays and the sentence is the switch's error.

use crate::tiles::Tiles;
use confab_media::devices::camera::Camera;
use confab_media::devices::microphone::Microphone;
use confab_media::devices::speaker::Speaker;
use confab_media::devices::Level;
use confab_media::mixer::Mixer;
use confab_media::pattern::TestPattern;
use confab_media::tone::{rms, Tone};
use confab_media::{AudioFrame, AudioSource, SourceError, VideoFrame, VideoSource};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The picture size and rate asked of cameras (and made by the test pattern).
const VIDEO_WANTED: (u32, u32, u32) = (1280, 720, 30);

/// What a picker chose: `"synthetic"`, `"none"` or `"device:<id>"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum SourceChoice {
    /// The test pattern or test tone.
    Synthetic,
    /// Nothing: this medium is off.
    None,
    /// A real device, by the id the device list gave.
    Device(String),
}

impl TryFrom<String> for SourceChoice {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "synthetic" => Ok(Self::Synthetic),
            "none" => Ok(Self::None),
            _ => value
                .strip_prefix("device:")
                .map(|id| Self::Device(id.to_owned()))
                .ok_or_else(|| format!("'{value}' is not a source this app knows")),
        }
    }
}

impl From<SourceChoice> for String {
    fn from(choice: SourceChoice) -> Self {
        match choice {
            SourceChoice::Synthetic => "synthetic".into(),
            SourceChoice::None => "none".into(),
            SourceChoice::Device(id) => format!("device:{id}"),
        }
    }
}

/// The sources a call starts with, and sentences about the ones it starts without.
pub struct LocalSources {
    /// Video for the encoder (showing itself in the self-view on the way).
    pub video: Option<Box<dyn VideoSource>>,
    /// Audio for the encoder (measured for the level meter on the way).
    pub audio: Option<Box<dyn AudioSource>>,
    /// What the user should know: a device that would not open, and what happens instead.
    pub notices: Vec<String>,
}

/// Opens what the pickers chose; a device that fails becomes a notice, not an error.
pub fn open(
    camera: &SourceChoice,
    microphone: &SourceChoice,
    tiles: &Arc<Tiles>,
    level: &Arc<Level>,
) -> LocalSources {
    let mut notices = Vec::new();
    let video = open_camera(camera, tiles).unwrap_or_else(|e| {
        notices.push(format!(
            "{} Your camera is off: pick another one to send video.",
            sentence(&e)
        ));
        None
    });
    let audio = open_microphone(microphone, level).unwrap_or_else(|e| {
        notices.push(format!(
            "{} You are muted: pick another microphone to be heard.",
            sentence(&e)
        ));
        None
    });
    LocalSources {
        video,
        audio,
        notices,
    }
}

/// The chosen camera (or test pattern), showing itself in the self-view on the way to the
/// encoder; `None` for "off".
pub fn open_camera(
    choice: &SourceChoice,
    tiles: &Arc<Tiles>,
) -> Result<Option<Box<dyn VideoSource>>, SourceError> {
    let (width, height, fps) = VIDEO_WANTED;
    let source: Box<dyn VideoSource> = match choice {
        SourceChoice::None => return Ok(None),
        SourceChoice::Synthetic => Box::new(TestPattern::new(width as usize, height as usize, fps)?),
        SourceChoice::Device(id) => Box::new(Camera::open(id, VIDEO_WANTED)?),
    };
    Ok(Some(Box::new(SelfView {
        source,
        tiles: tiles.clone(),
    })))
}

/// The chosen microphone (or test tone), measured for the meter on the way to the encoder;
/// `None` for "off".
pub fn open_microphone(
    choice: &SourceChoice,
    level: &Arc<Level>,
) -> Result<Option<Box<dyn AudioSource>>, SourceError> {
    let source: Box<dyn AudioSource> = match choice {
        SourceChoice::None => return Ok(None),
        SourceChoice::Synthetic => Box::new(Tone::new(440.0)),
        SourceChoice::Device(id) => Box::new(Microphone::open(Some(id))?),
    };
    Ok(Some(Box::new(Metered {
        source,
        level: level.clone(),
    })))
}

/// The chosen speaker, playing `mixer`; `None` when "none" (or the test tone) was chosen.
pub fn open_speaker(choice: &SourceChoice, mixer: Arc<Mixer>) -> Result<Option<Speaker>, SourceError> {
    match choice {
        SourceChoice::Device(id) => Speaker::open(Some(id), mixer).map(Some),
        _ => Ok(None),
    }
}

/// A device failure as the user reads it.
pub fn sentence(error: &SourceError) -> String {
    match error {
        SourceError::NotFound { kind } => format!("The {kind} is not plugged in any more."),
        SourceError::Busy { kind } => {
            format!("Another app is using the {kind}; close it and join again to use it here.")
        }
        SourceError::Stopped { kind } => format!("The {kind} stopped working."),
        SourceError::UnsupportedFormat { reason } => format!("The device could not be used: {reason}."),
        other => format!("The device could not be used: {other}."),
    }
}

/// A video source that shows each picture in our own tile before the encoder gets it.
struct SelfView {
    source: Box<dyn VideoSource>,
    tiles: Arc<Tiles>,
}

impl VideoSource for SelfView {
    fn frame_interval(&self) -> Duration {
        self.source.frame_interval()
    }

    fn size(&self) -> (usize, usize) {
        self.source.size()
    }

    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        let frame = self.source.next_frame()?;
        self.tiles.show(None, &frame);
        Ok(frame)
    }
}

/// An audio source whose level the meter shows.
struct Metered {
    source: Box<dyn AudioSource>,
    level: Arc<Level>,
}

impl AudioSource for Metered {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        let frame = self.source.next_frame()?;
        self.level.set(rms(&frame.samples));
        Ok(frame)
    }
}

/// The pre-join check: our sources running with nowhere to send to, so the self-view and the
/// level meter move. Stopped (and the devices let go) when dropped.
pub struct Preview {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Preview {
    /// Runs what `open` gave on threads of their own.
    pub fn start(sources: LocalSources) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        if let Some(mut video) = sources.video {
            threads.extend(run_until(&stop, "preview-video", move || {
                video.next_frame().is_ok()
            }));
        }
        if let Some(mut audio) = sources.audio {
            threads.extend(run_until(&stop, "preview-audio", move || {
                audio.next_frame().is_ok()
            }));
        }
        Self { stop, threads }
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Calls `step` on a new thread until it returns false or `stop` is set; `None` (logged) if the
/// OS would not start the thread, and that part of the preview stays still.
fn run_until(
    stop: &Arc<AtomicBool>,
    name: &str,
    mut step: impl FnMut() -> bool + Send + 'static,
) -> Option<JoinHandle<()>> {
    let stop = stop.clone();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || while !stop.load(Ordering::Relaxed) && step() {})
        .inspect_err(|e| tracing::warn!(error = %e, "{name} could not start"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(json: &str) -> Result<SourceChoice, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn pickers_values_name_a_source() {
        assert_eq!(choice("\"synthetic\"").unwrap(), SourceChoice::Synthetic);
        assert_eq!(choice("\"none\"").unwrap(), SourceChoice::None);
        assert_eq!(
            choice("\"device:alsa:hw:CARD=USB,DEV=0\"").unwrap(),
            SourceChoice::Device("alsa:hw:CARD=USB,DEV=0".into())
        );
        assert!(choice("\"webcam\"")
            .unwrap_err()
            .to_string()
            .contains("not a source"));
    }

    #[test]
    fn a_device_that_will_not_open_is_a_notice_and_the_rest_still_starts() {
        let tiles = Arc::new(Tiles::default());
        let level = Arc::new(Level::default());
        let camera = SourceChoice::Device("no-such-camera".into());
        let sources = open(&camera, &SourceChoice::Synthetic, &tiles, &level);
        assert!(sources.video.is_none());
        assert!(sources.audio.is_some());
        assert_eq!(sources.notices.len(), 1, "{:?}", sources.notices);
        assert!(
            sources.notices[0].contains("camera is off"),
            "{:?}",
            sources.notices
        );
    }

    #[test]
    fn the_preview_moves_the_self_view_and_the_meter() {
        let tiles = Arc::new(Tiles::default());
        let level = Arc::new(Level::default());
        let preview = Preview::start(open(
            &SourceChoice::Synthetic,
            &SourceChoice::Synthetic,
            &tiles,
            &level,
        ));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while (tiles.own_sequence() < 3 || level.get() == 0.0) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(preview);
        assert!(
            tiles.own_sequence() >= 3,
            "the self-view got {} pictures",
            tiles.own_sequence()
        );
        assert!(level.get() > 0.1, "the tone's level is {}", level.get());
    }
}
