//! # confab-desktop — the Tauri shell
//!
//! A thin layer between the web UI (`ui/`) and [`confab_engine`]: commands grouped by domain
//! ([`commands`]) turn the UI's requests into engine calls and map errors to [`UiError`];
//! call events reach the UI over a [`tauri::ipc::Channel`] ([`events`]); decoded video reaches
//! it as raw pixels pulled by each tile at the size it shows them ([`tiles`]) over a loopback
//! WebSocket ([`picture_socket`]), never as JSON,
//! and decoded sound goes to the speaker ([`playout`]); without a GPU the window is drawn
//! without OpenGL compositing ([`compositing`]). Our own camera and microphone, the self-view and the level
//! meter are `local_media`'s; devices plugged in or out are noticed by `device_watch`. Links clicked or
//! launched while the app runs are handed to it by `handover`. The UI renders what it
//! is told and decides nothing about routing or privacy.
//!
//! [`app`] puts the app together on any runtime's builder, so command tests run it on Tauri's mock runtime
//! without a window; [`run`] starts the real one.

#![forbid(unsafe_code)]

pub mod commands;
pub mod compositing;
mod device_watch;
mod error;
mod events;
mod handover;
mod local_media;
mod meeting;
mod options;
mod picture_socket;
mod playout;
mod settings;
mod state;
mod tiles;

pub use error::UiError;
pub use options::LaunchOptions;
pub use state::AppState;

/// Adds the app's state and every command to `builder` (the real one, or Tauri's mock builder
/// in tests).
pub fn app<R: tauri::Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    builder.manage(state).invoke_handler(tauri::generate_handler![
        commands::links::parse_link,
        commands::links::launch_link,
        commands::links::start_meeting,
        commands::call::join,
        commands::call::leave,
        commands::call::set_muted,
        commands::call::picture_socket,
        commands::call::tile_stats,
        commands::chat::send_chat,
        commands::devices::list_devices,
        commands::devices::start_preview,
        commands::devices::stop_preview,
        commands::devices::mic_level,
        commands::devices::switch_device,
        commands::settings::load_settings,
    ])
}

/// Starts the desktop app with the process's command line; returns when the last window closes.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    compositing::choose();
    let options = match LaunchOptions::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("confab: {message}");
            std::process::exit(2);
        }
    };
    let builder = handover::plugins(tauri::Builder::default());
    let result = app(builder, AppState::new(options))
        .setup(|app| {
            handover::setup(app.handle());
            device_watch::start(app.handle().clone());
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("confab: the app could not start: {e}");
        std::process::exit(1);
    }
}
