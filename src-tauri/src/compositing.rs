//! How the webview puts the window together. WebKitGTK (Linux) composites the page with
//! OpenGL; on a machine without a GPU that OpenGL is Mesa's software rasteriser, and the tiles
//! benchmark measured it costing more than everything else the app does (one 720p tile: the web
//! process at ~1.5 cores for 16 pictures a second, against all 30 for half of that or less with
//! compositing off; `docs/benchmarks.md`). So where Linux shows no GPU render node, the app
//! turns WebKit's compositing off before the webview starts — unless
//! `WEBKIT_DISABLE_COMPOSITING_MODE` is already set, which is the user's own choice (`0` keeps
//! OpenGL compositing). Other platforms' webviews decide for themselves.

#[cfg(target_os = "linux")]
use std::path::Path;

/// WebKitGTK's switch: set and not `0` turns compositing off.
pub const COMPOSITING_SWITCH: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Chooses before the webview exists. Call first thing, before any thread is started (it may
/// set an environment variable).
pub fn choose() {
    #[cfg(target_os = "linux")]
    if std::env::var_os(COMPOSITING_SWITCH).is_none() && !has_render_node(Path::new("/dev/dri")) {
        tracing::info!(
            "no GPU render node in /dev/dri: the window is drawn without OpenGL compositing \
             (set {COMPOSITING_SWITCH}=0 to compose with OpenGL anyway)"
        );
        std::env::set_var(COMPOSITING_SWITCH, "1");
    }
}

/// Whether `dir` holds a DRM render node (`renderD128`, …): a GPU OpenGL can draw on.
#[cfg(target_os = "linux")]
fn has_render_node(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
        })
        .unwrap_or(false)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_render_node_is_a_gpu_and_a_missing_folder_is_none() {
        let dir = std::env::temp_dir().join(format!("confab-dri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("card0"), "").unwrap();
        assert!(!has_render_node(&dir), "a display card alone renders nothing");
        std::fs::write(dir.join("renderD128"), "").unwrap();
        assert!(has_render_node(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!has_render_node(&dir));
    }
}
