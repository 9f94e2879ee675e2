//! What the app remembers between runs, in `settings.json` in the app's config folder: the
//! display name, and how video is drawn (`videoDrawing`, for a machine where the automatic
//! choice draws badly; set by hand). A missing file is a first run; an unreadable one is
//! reported and replaced.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FILE_NAME: &str = "settings.json";

/// Remembered choices.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The display name used last time.
    #[serde(default)]
    pub display_name: Option<String>,
    /// How tiles draw video: `"auto"` (the default), `"webgl"` or `"canvas"`; the UI reads it.
    #[serde(default)]
    pub video_drawing: VideoDrawing,
}

/// How the UI's tiles draw video (see `ui/src/video.ts`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum VideoDrawing {
    /// The app decides.
    #[default]
    Auto,
    /// I420 planes drawn by a WebGL shader.
    Webgl,
    /// RGBA pixels made by the app, put on a 2D canvas.
    Canvas,
}

/// Settings as loaded, with a sentence if the file could not be read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LoadedSettings {
    /// The settings (defaults if the file was missing or unreadable).
    pub settings: Settings,
    /// Why the saved settings were not used, if they were not.
    pub problem: Option<String>,
}

fn file_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Reads the settings kept in `dir`.
pub fn load(dir: &Path) -> LoadedSettings {
    let path = file_in(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return LoadedSettings {
                settings: Settings::default(),
                problem: None,
            }
        }
        Err(e) => return unusable(&path, &e.to_string()),
    };
    match serde_json::from_str(&text) {
        Ok(settings) => LoadedSettings {
            settings,
            problem: None,
        },
        Err(e) => unusable(&path, &e.to_string()),
    }
}

fn unusable(path: &Path, why: &str) -> LoadedSettings {
    LoadedSettings {
        settings: Settings::default(),
        problem: Some(format!(
            "Your saved settings in {} could not be read ({why}); defaults are used and the file will be rewritten.",
            path.display()
        )),
    }
}

/// Writes `settings` into `dir` (created if missing).
pub fn save(dir: &Path, settings: &Settings) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(settings).map_err(std::io::Error::other)?;
    std::fs::write(file_in(dir), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("confab-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_name_is_remembered() {
        let dir = temp_dir("remember");
        assert_eq!(load(&dir).settings, Settings::default());
        let settings = Settings {
            display_name: Some("Ada".into()),
            video_drawing: VideoDrawing::Canvas,
        };
        save(&dir, &settings).unwrap();
        assert_eq!(
            load(&dir),
            LoadedSettings {
                settings,
                problem: None
            }
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_without_a_drawing_choice_lets_the_app_decide() {
        let dir = temp_dir("older");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(FILE_NAME), r#"{"displayName":"Bo"}"#).unwrap();
        assert_eq!(load(&dir).settings.video_drawing, VideoDrawing::Auto);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_file_gives_defaults_and_a_sentence() {
        let dir = temp_dir("damaged");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(FILE_NAME), "{not json").unwrap();
        let loaded = load(&dir);
        assert_eq!(loaded.settings, Settings::default());
        assert!(loaded.problem.unwrap().contains("could not be read"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
