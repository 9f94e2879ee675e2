//! The call: join, leave, mute, and the tiles' pictures.

use crate::commands::devices;
use crate::commands::links::check_link;
use crate::commands::settings::settings_dir;
use crate::error::UiError;
use crate::events::{forward, UiEvent};
use crate::local_media::{self, SourceChoice};
use crate::playout::Playout;
use crate::settings::{self, Settings};
use crate::state::AppState;
use crate::tiles::{encode_frame, unprepared_frame, FrameShape, TileStats, SELF_VIEW};
use confab_core::{MediaKind, ParticipantId};
use confab_engine::{Call, CallCommand, CallConfig};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tauri::ipc::{Channel, Response};
use tauri::{AppHandle, Runtime, State};

/// How long a tile's `next_frame` waits for a new picture before answering "none yet".
const FRAME_WAIT: Duration = Duration::from_millis(500);

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
    /// Where remote sound plays: `"device:<id>"`, or `"none"` (also when absent).
    #[serde(default = "no_speaker")]
    pub speaker: SourceChoice,
}

fn no_speaker() -> SourceChoice {
    SourceChoice::None
}

/// What joining opened.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinAnswer {
    /// Sentences about devices that would not open.
    pub notices: Vec<String>,
    /// The camera in use; `"none"` when video is off (asked for, or the camera would not open).
    pub camera: SourceChoice,
    /// The microphone in use; `"none"` when off (asked for, or the microphone would not open).
    pub microphone: SourceChoice,
}

/// Joins the meeting behind `link`; progress and everything after arrive on `events`. Video
/// and sound are always offered: a medium with no device (off, or one that would not open)
/// starts muted, so a device opened later in the call ([`super::devices::switch_device`], then
/// unmuting) goes out without a rejoin.
#[tauri::command]
pub async fn join<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    request: JoinRequest,
    events: Channel<UiEvent>,
) -> Result<JoinAnswer, UiError> {
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
    devices::stop(&state).await;
    let (tiles, level, mixer) = (state.tiles.clone(), state.mic_level.clone(), state.mixer.clone());
    let JoinRequest {
        camera,
        microphone,
        speaker,
        ..
    } = request;
    let (sources, speaker) = tokio::task::spawn_blocking({
        let (camera, microphone) = (camera.clone(), microphone.clone());
        move || {
            let sources = local_media::open(&camera, &microphone, &tiles, &level);
            (sources, local_media::open_speaker(&speaker, mixer))
        }
    })
    .await
    .map_err(|_| UiError::new("devices_failed", "The camera and microphone could not be opened."))?;
    let mut notices = sources.notices;
    match speaker {
        Ok(speaker) => *state.speaker.lock().unwrap_or_else(PoisonError::into_inner) = speaker,
        Err(e) => notices.push(format!(
            "{} You will not hear the others.",
            local_media::sentence(&e)
        )),
    }
    let playout = Playout {
        tiles: state.tiles.clone(),
        mixer: state.mixer.clone(),
    };
    let in_use = |choice: SourceChoice, opened: bool| if opened { choice } else { SourceChoice::None };
    let answer = JoinAnswer {
        camera: in_use(camera, sources.video.is_some()),
        microphone: in_use(microphone, sources.audio.is_some()),
        notices,
    };
    let muted = [
        sources.video.is_none().then_some(MediaKind::Video),
        sources.audio.is_none().then_some(MediaKind::Audio),
    ];
    let config = CallConfig {
        link,
        name,
        video: sources.video,
        audio: sources.audio,
        muted: muted.into_iter().flatten().collect(),
        peer: None,
        identity: None,
        media_out: Some(Arc::new(playout)),
    };
    let (started, call_events) = Call::start(config);
    tokio::spawn(forward(call_events, started.control(), events, app.clone()));
    *call = Some(started);
    Ok(answer)
}

fn remember_name<R: Runtime>(app: &AppHandle<R>, state: &AppState, name: &str) {
    let Some(dir) = settings_dir(app, state) else {
        return;
    };
    // Keep what else the file says (a drawing choice made by hand).
    let settings = Settings {
        display_name: Some(name.to_owned()),
        ..settings::load(&dir).settings
    };
    if let Err(e) = settings::save(&dir, &settings) {
        tracing::warn!(error = %e, "could not remember the display name");
    }
}

/// Leaves the call (the events channel reports `ended`, and its forwarder clears the tiles and
/// closes the speaker).
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

/// The next picture for `participant`'s tile ([`SELF_VIEW`]: our own) after the one numbered
/// `after`, as raw bytes shaped as the tile asks (header, then I420 planes or RGBA pixels at
/// the tile's size, see [`crate::tiles::encode_frame`]); empty if none came in time.
#[tauri::command]
pub async fn next_frame(
    state: State<'_, AppState>,
    participant: String,
    after: u64,
    shape: Option<FrameShape>,
) -> Result<Response, UiError> {
    let participant = if participant == SELF_VIEW {
        None
    } else {
        Some(
            ParticipantId::new(participant)
                .map_err(|e| UiError::new("bad_participant", format!("No such participant: {e}.")))?,
        )
    };
    let Some((sequence, frame)) = state.tiles.next(participant.as_ref(), after, FRAME_WAIT).await else {
        return Ok(Response::new(Vec::new()));
    };
    // Scaling and converting take a millisecond or two of CPU: off the async workers.
    let shape = shape.unwrap_or_default();
    let encoded = tokio::task::spawn_blocking(move || encode_frame(sequence, &frame, shape)).await;
    let bytes = match encoded {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            // The tile keeps its last picture and asks for the one after this.
            tracing::warn!(error = %e, "a picture could not be prepared for its tile");
            unprepared_frame(sequence)
        }
        Err(e) => {
            return Err(UiError::new(
                "internal",
                format!("Preparing a picture failed: {e}."),
            ))
        }
    };
    Ok(Response::new(bytes))
}

/// Pictures decoded, handed to the UI and skipped, per tile.
#[tauri::command]
pub fn tile_stats(state: State<'_, AppState>) -> Vec<TileStats> {
    state.tiles.stats()
}
