//! The commands the UI may call, one file per domain. Each converts the UI's request, asks the
//! engine (or the app state), and maps failures to [`crate::UiError`].

pub mod call;
pub mod chat;
pub mod devices;
pub mod links;
pub mod settings;
