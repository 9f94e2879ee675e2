//! Devices: what the pickers offer (real cameras, microphones and speakers, plus the synthetic
//! sources), the pre-join preview that moves the self-view and the level meter, the meter's
//! reading, and another device picked during a call.

use crate::error::UiError;
use crate::local_media::{self, Preview, SourceChoice};
use crate::state::AppState;
use confab_core::MediaKind;
use confab_engine::{CallCommand, LocalSource};
use confab_media::devices::speaker::Speaker;
use confab_media::devices::{DeviceInfo, DeviceList, Listing};
use serde::{Deserialize, Serialize};
use std::sync::PoisonError;
use tauri::State;

/// One entry of a picker.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// The picker's value: `"synthetic"` or `"device:<id>"` (what `join` takes).
    pub id: String,
    /// What the user sees.
    pub label: String,
}

/// Everything the pickers offer, and sentences about what is missing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DevicesView {
    /// Video sources: cameras first, then the test pattern.
    pub cameras: Vec<DeviceView>,
    /// Audio sources: microphones first, then the test tone.
    pub microphones: Vec<DeviceView>,
    /// Where remote sound plays.
    pub speakers: Vec<DeviceView>,
    /// What the user should know (no camera found, ...).
    pub notes: Vec<String>,
}

impl DevicesView {
    /// The pickers for what the OS reported.
    pub fn of(list: DeviceList) -> Self {
        let mut notes = Vec::new();
        let mut cameras = real(list.cameras, "camera", &mut notes);
        let mut microphones = real(list.microphones, "microphone", &mut notes);
        let speakers = real(list.speakers, "speaker", &mut notes);
        if cameras.is_empty() {
            notes.push("No camera found: others will see your name instead of your video. Plug one in, or send the test pattern.".into());
        }
        if microphones.is_empty() {
            notes.push("No microphone found: others will not hear you, but chat works. Plug one in, or send the test tone.".into());
        }
        if speakers.is_empty() {
            notes.push(
                "No speaker found: you will not hear the others; their video and chat still work.".into(),
            );
        }
        cameras.push(synthetic("Test pattern"));
        microphones.push(synthetic("Test tone"));
        Self {
            cameras,
            microphones,
            speakers,
            notes,
        }
    }
}

/// Devices of one kind as picker entries; the ALSA `null` device (silence, nowhere) is not one.
fn real(listing: Listing, kind: &str, notes: &mut Vec<String>) -> Vec<DeviceView> {
    match listing {
        Ok(devices) => devices
            .into_iter()
            .filter(|d| !d.id.ends_with(":null"))
            .map(|DeviceInfo { id, label }| DeviceView {
                id: format!("device:{id}"),
                label,
            })
            .collect(),
        Err(reason) => {
            notes.push(format!("The {kind}s could not be listed ({reason})."));
            Vec::new()
        }
    }
}

fn synthetic(label: &str) -> DeviceView {
    DeviceView {
        id: "synthetic".into(),
        label: label.into(),
    }
}

/// The sources a call can use now (asks the OS, off the UI's thread).
#[tauri::command]
pub async fn list_devices() -> DevicesView {
    let list = tokio::task::spawn_blocking(confab_media::devices::list).await;
    DevicesView::of(list.unwrap_or_else(|_| DeviceList {
        cameras: Err("the device query failed".into()),
        microphones: Err("the device query failed".into()),
        speakers: Err("the device query failed".into()),
    }))
}

/// Starts (or restarts with new choices) the pre-join preview; returns sentences about devices
/// that would not open.
#[tauri::command]
pub async fn start_preview(
    state: State<'_, AppState>,
    camera: SourceChoice,
    microphone: SourceChoice,
) -> Result<Vec<String>, UiError> {
    if state.call.lock().await.is_some() {
        return Err(UiError::new(
            "already_in_call",
            "The preview is for before a call.",
        ));
    }
    let (tiles, level) = (state.tiles.clone(), state.mic_level.clone());
    stop(&state).await;
    let preview = tokio::task::spawn_blocking(move || {
        let sources = local_media::open(&camera, &microphone, &tiles, &level);
        let notices = sources.notices.clone();
        (Preview::start(sources), notices)
    })
    .await;
    let (preview, notices) =
        preview.map_err(|_| UiError::new("preview_failed", "The preview could not start."))?;
    *state.preview.lock().unwrap_or_else(PoisonError::into_inner) = Some(preview);
    Ok(notices)
}

/// Stops the pre-join preview and lets go of its devices.
#[tauri::command]
pub async fn stop_preview(state: State<'_, AppState>) -> Result<(), UiError> {
    stop(&state).await;
    Ok(())
}

/// Stops the preview (joining the device threads off the async runtime).
pub(crate) async fn stop(state: &AppState) {
    let preview = state
        .preview
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(preview) = preview {
        let _ = tokio::task::spawn_blocking(move || drop(preview)).await;
    }
    state.forget_own_media();
}

/// What an in-call picker changes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeviceRole {
    /// What we send as video.
    Camera,
    /// What we send as sound.
    Microphone,
    /// Where the others are heard.
    Speaker,
}

/// Uses another camera, microphone or speaker in the call we are in, from now on (the others
/// keep seeing and hearing us without a rejoin). A device that will not open is an error with a
/// sentence, and the call keeps what it had. `"none"` turns the camera or microphone off: it is
/// muted and let go (the camera's light goes off) until another is picked; unmuting after a pick
/// is the caller's.
#[tauri::command]
pub async fn switch_device(
    state: State<'_, AppState>,
    role: DeviceRole,
    choice: SourceChoice,
) -> Result<(), UiError> {
    // A camera can take a while to open: leave, mute and chat do not wait for it.
    let call = state
        .call
        .lock()
        .await
        .as_ref()
        .map(|call| call.control())
        .ok_or_else(UiError::not_in_call)?;
    let _in_order = state.device_switch.lock().await;
    let kind = match role {
        DeviceRole::Camera => Some(MediaKind::Video),
        DeviceRole::Microphone => Some(MediaKind::Audio),
        DeviceRole::Speaker => None,
    };
    if let (SourceChoice::None, Some(kind)) = (&choice, kind) {
        call.command(CallCommand::SetMuted { kind, muted: true });
        call.command(CallCommand::CloseSource(kind));
        if kind == MediaKind::Audio {
            state.mic_level.set(0.0);
        }
        return Ok(());
    }
    let (tiles, level, mixer) = (state.tiles.clone(), state.mic_level.clone(), state.mixer.clone());
    let opened = tokio::task::spawn_blocking(move || match role {
        DeviceRole::Camera => local_media::open_camera(&choice, &tiles)
            .map(|source| source.map(|s| Switched::Source(LocalSource::Video(s)))),
        DeviceRole::Microphone => local_media::open_microphone(&choice, &level)
            .map(|source| source.map(|s| Switched::Source(LocalSource::Audio(s)))),
        DeviceRole::Speaker => local_media::open_speaker(&choice, mixer).map(|s| Some(Switched::Speaker(s))),
    })
    .await
    .map_err(|_| UiError::new("devices_failed", "The device could not be opened."))?
    .map_err(|e| UiError::new("device_unavailable", local_media::sentence(&e)))?;
    match opened {
        Some(Switched::Source(source)) => call.command(CallCommand::ReplaceSource(source)),
        Some(Switched::Speaker(speaker)) => {
            // The old speaker's stream stops as it is dropped.
            *state.speaker.lock().unwrap_or_else(PoisonError::into_inner) = speaker;
        }
        None => {}
    }
    Ok(())
}

/// A device opened for the call.
enum Switched {
    Source(LocalSource),
    Speaker(Option<Speaker>),
}

/// The microphone's level now (RMS, 0 to 1), for the meter.
#[tauri::command]
pub fn mic_level(state: State<'_, AppState>) -> f32 {
    state.mic_level.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, label: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            label: label.into(),
        }
    }

    #[test]
    fn no_devices_means_a_sentence_for_each_and_the_synthetic_sources_stay() {
        let view = DevicesView::of(DeviceList {
            cameras: Ok(vec![]),
            microphones: Ok(vec![device("alsa:null", "Discard all samples")]),
            speakers: Err("ALSA is missing".into()),
        });
        assert_eq!(view.cameras, vec![synthetic("Test pattern")]);
        assert_eq!(
            view.microphones,
            vec![synthetic("Test tone")],
            "ALSA's null device is not a microphone"
        );
        assert!(view.speakers.is_empty());
        assert_eq!(view.notes.len(), 4, "{:?}", view.notes);
        assert!(view.notes.iter().any(|n| n.starts_with("No camera found")));
        assert!(view.notes.iter().any(|n| n.starts_with("No microphone found")));
        assert!(view
            .notes
            .iter()
            .any(|n| n.contains("speakers could not be listed (ALSA is missing)")));
    }

    #[test]
    fn real_devices_come_first_and_are_picked_by_their_id() {
        let view = DevicesView::of(DeviceList {
            cameras: Ok(vec![device("0", "USB Camera")]),
            microphones: Ok(vec![device("alsa:default", "default")]),
            speakers: Ok(vec![device("alsa:default", "default")]),
        });
        assert_eq!(view.cameras[0].id, "device:0");
        assert_eq!(view.cameras[0].label, "USB Camera");
        assert_eq!(view.cameras[1].id, "synthetic");
        assert_eq!(view.microphones[0].id, "device:alsa:default");
        assert_eq!(view.speakers.len(), 1);
        assert!(view.notes.is_empty(), "{:?}", view.notes);
    }
}
