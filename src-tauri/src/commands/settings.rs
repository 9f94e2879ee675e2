//! Remembered settings (the display name).

use crate::settings::{self, LoadedSettings};
use crate::state::AppState;
use std::path::PathBuf;
use tauri::{AppHandle, Manager, Runtime, State};

/// Where settings live: `--settings-dir`, or the OS's config folder for the app.
pub fn settings_dir<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> Option<PathBuf> {
    state
        .options
        .settings_dir
        .clone()
        .or_else(|| app.path().app_config_dir().ok())
}

/// The remembered settings, with a sentence if they could not be read.
#[tauri::command]
pub fn load_settings<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> LoadedSettings {
    match settings_dir(&app, &state) {
        Some(dir) => settings::load(&dir),
        None => LoadedSettings {
            settings: settings::Settings::default(),
            problem: Some(
                "This system has no folder for app settings; your name will not be remembered.".into(),
            ),
        },
    }
}
