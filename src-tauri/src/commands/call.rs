//! The call: join, leave, mute, and the tiles' pictures.

use crate::commands::devices;
use crate::commands::links::check_link;
use crate::commands::settings::settings_dir;
use crate::error::UiError;
use crate::events::{forward, UiEvent};
use crate::local_media::{self, SourceChoice};
use crate::picture_socket::PictureSocket;
use crate::playout::Playout;
use crate::settings::{self, Settings};
use crate::state::AppState;
use crate::tiles::TileStats;
use confab_core::MediaKind;
use confab_engine::{Call, CallCommand, CallConfig};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, PoisonError};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

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

/// Where the tiles get their pictures: the picture socket's address, with its secret token
/// (see [`crate::picture_socket`]). The socket starts on the first ask and stays for the run.
#[tauri::command]
pub async fn picture_socket(state: State<'_, AppState>) -> Result<String, UiError> {
    let socket = state
        .picture_socket
        .get_or_try_init(|| PictureSocket::start(state.tiles.clone()))
        .await
        .map_err(|e| {
            UiError::new(
                "no_picture_socket",
                format!("Video cannot be shown: the app could not listen on this computer's loopback address ({e})."),
            )
        })?;
    Ok(socket.url().to_owned())
}

/// Pictures decoded, handed to the UI and skipped, per tile.
#[tauri::command]
pub fn tile_stats(state: State<'_, AppState>) -> Vec<TileStats> {
    state.tiles.stats()
}
