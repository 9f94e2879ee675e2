//! `confab`: the desktop app. Everything is in the library so tests can build the same app.

#![forbid(unsafe_code)]
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    confab_desktop::run();
}
