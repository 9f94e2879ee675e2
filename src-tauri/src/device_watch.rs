//! Devices plugged in or out while the app runs: the OS's list is read again every
//! [`EVERY`] on a thread of its own, and when it changed the UI gets a `devices-changed` event
//! carrying the new pickers (the pre-join screen redraws them, keeping what was chosen if it is
//! still there).

use crate::commands::devices::DevicesView;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Runtime};

/// How often the device list is read.
const EVERY: Duration = Duration::from_secs(2);

/// Watches for device changes until the app exits.
pub fn start<R: Runtime>(app: AppHandle<R>) {
    let watch = move || {
        let mut known = confab_media::devices::list();
        loop {
            std::thread::sleep(EVERY);
            let now = confab_media::devices::list();
            if now != known {
                tracing::info!("devices changed");
                if let Err(e) = app.emit("devices-changed", DevicesView::of(now.clone())) {
                    tracing::warn!(error = %e, "could not tell the UI about new devices");
                }
                known = now;
            }
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("device-watch".into())
        .spawn(watch)
    {
        tracing::warn!(error = %e, "devices plugged in later will not show until the app restarts");
    }
}
