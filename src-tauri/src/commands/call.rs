//! The call: join, leave, mute, and the tiles' pictures.

use crate::commands::links::check_link;
use crate::commands::settings::settings_dir;
use crate::error::UiError;
use crate::events::{forward, UiEvent};
use crate::settings::{self, Settings};
use crate::state::AppState;
use crate::tiles::{encode_frame, TileStats};
use confab_core::{MediaKind, ParticipantId};
use confab_engine::{Call, CallCommand, CallConfig};
use confab_media::pattern::TestPattern;
use confab_media::tone::Tone;
use confab_media::{AudioSource, VideoSource};
use serde::Deserialize;
use std::time::Duration;
use tauri::ipc::{Channel, Response};
use tauri::{AppHandle, Runtime, State};

/// How long a tile's `next_frame` waits for a new picture before answering "none yet".
const FRAME_WAIT: Duration = Duration::from_millis(500);

/// Which source feeds a medium.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SourceChoice {
    /// The synthetic test pattern or tone.
    Synthetic,
    /// Join without this medium.
    None,
}

/// What the pre-join screen hands over.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    /// The meeting link.
    pub link: String,
    /// Display name.
    pub name: String,
    /// Video source.
    pub camera: SourceChoice,
    /// Audio source.
    pub microphone: SourceChoice,
}

fn video_source(choice: SourceChoice) -> Result<Option<Box<dyn VideoSource>>, UiError> {
    match choice {
        SourceChoice::None => Ok(None),
        SourceChoice::Synthetic => TestPattern::new(1280, 720, 30)
            .map(|p| Some(Box::new(p) as Box<dyn VideoSource>))
            .map_err(|e| UiError::new("video_failed", format!("The test pattern could not start: {e}."))),
    }
}

fn audio_source(choice: SourceChoice) -> Option<Box<dyn AudioSource>> {
    match choice {
        SourceChoice::None => None,
        SourceChoice::Synthetic => Some(Box::new(Tone::new(440.0))),
    }
}

/// Joins the meeting behind `link`; progress and everything after arrive on `events`.
#[tauri::command]
pub async fn join<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    request: JoinRequest,
    events: Channel<UiEvent>,
) -> Result<(), UiError> {
    let (link, _) = check_link(&request.link)?;
    let name = request.name.trim().to_owned();
    if name.is_empty() {
        return Err(UiError::new("no_name", "Enter the name others will see."));
    }
    let mut call = state.call.lock().await;
    if call.is_some() {
        return Err(UiError::new(
            "already_in_call",
            "You are already in a call; leave it first.",
        ));
    }
    remember_name(&app, &state, &name);
    let config = CallConfig {
        link,
        name,
        video: video_source(request.camera)?,
        audio: audio_source(request.microphone),
        peer: None,
        identity: None,
        video_out: Some(state.tiles.clone()),
    };
    let (started, call_events) = Call::start(config);
    tokio::spawn(forward(
        call_events,
        started.control(),
        events,
        state.tiles.clone(),
    ));
    *call = Some(started);
    Ok(())
}

fn remember_name<R: Runtime>(app: &AppHandle<R>, state: &AppState, name: &str) {
    let Some(dir) = settings_dir(app, state) else {
        return;
    };
    let settings = Settings {
        display_name: Some(name.to_owned()),
    };
    if let Err(e) = settings::save(&dir, &settings) {
        tracing::warn!(error = %e, "could not remember the display name");
    }
}

/// Leaves the call (the events channel reports `ended`, and its forwarder clears the tiles).
#[tauri::command]
pub async fn leave(state: State<'_, AppState>) -> Result<(), UiError> {
    let call = state.call.lock().await.take().ok_or_else(UiError::not_in_call)?;
    call.leave().await;
    Ok(())
}

/// Mutes or unmutes our camera or microphone.
#[tauri::command]
pub async fn set_muted(state: State<'_, AppState>, media: MediaKind, muted: bool) -> Result<(), UiError> {
    let call = state.call.lock().await;
    let call = call.as_ref().ok_or_else(UiError::not_in_call)?;
    call.command(CallCommand::SetMuted { kind: media, muted });
    Ok(())
}

/// The next picture for `participant`'s tile after the one numbered `after`, as raw bytes
/// (header and I420 planes, see [`crate::tiles::FRAME_HEADER_LEN`]); empty if none came in time.
#[tauri::command]
pub async fn next_frame(
    state: State<'_, AppState>,
    participant: String,
    after: u64,
) -> Result<Response, UiError> {
    let participant = ParticipantId::new(participant)
        .map_err(|e| UiError::new("bad_participant", format!("No such participant: {e}.")))?;
    let bytes = match state.tiles.next(&participant, after, FRAME_WAIT).await {
        Some((sequence, frame)) => encode_frame(sequence, &frame),
        None => Vec::new(),
    };
    Ok(Response::new(bytes))
}

/// Pictures decoded, handed to the UI and skipped, per tile.
#[tauri::command]
pub fn tile_stats(state: State<'_, AppState>) -> Vec<TileStats> {
    state.tiles.stats()
}
