//! [`UiError`]: what a command tells the UI when it fails — a stable code to branch on and a
//! sentence to show.

use serde::Serialize;

/// A failed command, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct UiError {
    /// Stable machine-readable kind (`bad_link`, `not_in_call`, `already_in_call`, ...).
    pub code: &'static str,
    /// A sentence the user can act on.
    pub message: String,
}

impl UiError {
    /// An error with a code and a sentence.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A command that needs a call came while there is none.
    pub fn not_in_call() -> Self {
        Self::new("not_in_call", "You are not in a call.")
    }
}
