//! Links that reach the app from outside while it runs: `confab://` registered with the OS
//! (deep link), and a second launch handing its command line to the running app (single
//! instance). Either way the link waits in [`AppState`] and the UI is nudged with
//! [`OPEN_LINK_EVENT`] to take it, so a link that arrives before the UI listens is not lost and
//! one that arrives twice opens once.

use crate::options::LaunchOptions;
use crate::state::AppState;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

/// Tells the UI a link is waiting (`launch_link` takes it).
pub const OPEN_LINK_EVENT: &str = "open-link";

/// Adds the single-instance and deep-link plugins. Single instance goes first: a second launch
/// must hand over its link and exit before anything else starts.
pub fn plugins<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            second_launch(app, argv);
        }))
        .plugin(tauri_plugin_deep_link::init())
}

/// Listens for links the OS opens with us (macOS delivers them as events, not arguments) and
/// registers `confab://` with the OS where that is done at run time (Linux, Windows), off the
/// main thread: it runs desktop-database tools.
pub fn setup<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            hand_over(&handle, url.to_string());
        }
    });
    #[cfg(any(windows, target_os = "linux"))]
    {
        let handle = app.clone();
        std::thread::spawn(move || {
            match handle.deep_link().register_all() {
            Ok(()) => tracing::info!("confab:// links open this app"),
            Err(e) => tracing::warn!(
                "confab:// links will not open this app ({e}); install xdg-utils and desktop-file-utils, or paste links into the app"
            ),
        }
        });
    }
}

/// Another `confab` was started: bring our window forward and open its link, if it had one.
fn second_launch<R: Runtime>(app: &AppHandle<R>, argv: Vec<String>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
    match LaunchOptions::from_args(argv.into_iter().skip(1)) {
        Ok(LaunchOptions { link: Some(link), .. }) => hand_over(app, link),
        Ok(_) => {}
        Err(message) => tracing::warn!("a second launch's command line was not understood: {message}"),
    }
}

fn hand_over<R: Runtime>(app: &AppHandle<R>, link: String) {
    app.state::<AppState>().set_pending_link(link);
    if let Err(e) = app.emit(OPEN_LINK_EVENT, ()) {
        tracing::warn!("could not tell the UI about an opened link: {e}");
    }
}
