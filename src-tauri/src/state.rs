//! [`AppState`]: what the app holds between commands — the call, the meeting it serves, the
//! tiles' latest pictures and the socket they are read from, the sound being played and
//! measured, the pre-join preview and the link it was started with.

use crate::local_media::Preview;
use crate::meeting::Meeting;
use crate::options::LaunchOptions;
use crate::picture_socket::PictureSocket;
use crate::tiles::Tiles;
use confab_engine::Call;
use confab_media::devices::speaker::Speaker;
use confab_media::devices::Level;
use confab_media::mixer::Mixer;
use std::sync::{Arc, Mutex, PoisonError};

/// Shared by every command (Tauri-managed state).
pub struct AppState {
    /// What the app was started with.
    pub options: LaunchOptions,
    /// The call we are in, if any.
    pub call: tokio::sync::Mutex<Option<Call>>,
    /// "New meeting on this computer": the embedded room server, once started.
    pub meeting: tokio::sync::Mutex<Option<Meeting>>,
    /// Latest decoded picture per remote participant, and our own.
    pub tiles: Arc<Tiles>,
    /// Where the UI's tiles read `tiles` from, once asked for.
    pub picture_socket: tokio::sync::OnceCell<PictureSocket>,
    /// Remote sound, mixed for the speaker (and who is speaking).
    pub mixer: Arc<Mixer>,
    /// The speaker playing `mixer` during a call.
    pub speaker: Mutex<Option<Speaker>>,
    /// Our microphone's level, for the meter.
    pub mic_level: Arc<Level>,
    /// The pre-join check's camera and microphone, while it runs.
    pub preview: Mutex<Option<Preview>>,
    /// Held while a device is switched in the call, so switches (and switching off) take
    /// effect in the order they were asked for, however long a camera takes to open.
    pub device_switch: tokio::sync::Mutex<()>,
    /// A link handed to the app (command line or OS) that the UI has not opened yet.
    pending_link: Mutex<Option<String>>,
}

impl AppState {
    /// The state of a freshly started app.
    pub fn new(options: LaunchOptions) -> Self {
        Self {
            pending_link: Mutex::new(options.link.clone()),
            options,
            call: tokio::sync::Mutex::new(None),
            meeting: tokio::sync::Mutex::new(None),
            tiles: Arc::new(Tiles::default()),
            picture_socket: tokio::sync::OnceCell::new(),
            mixer: Arc::new(Mixer::default()),
            speaker: Mutex::new(None),
            mic_level: Arc::new(Level::default()),
            preview: Mutex::new(None),
            device_switch: tokio::sync::Mutex::new(()),
        }
    }

    /// Clears the self-view and the meter (the preview or the call stopped our sources).
    pub fn forget_own_media(&self) {
        self.tiles.clear_own();
        self.mic_level.set(0.0);
    }

    /// A link handed over while the app runs replaces any not yet opened.
    pub fn set_pending_link(&self, link: String) {
        *self.pending_link.lock().unwrap_or_else(PoisonError::into_inner) = Some(link);
    }

    /// Takes the link waiting to be opened, if any.
    pub fn take_pending_link(&self) -> Option<String> {
        self.pending_link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}
