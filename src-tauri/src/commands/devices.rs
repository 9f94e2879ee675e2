//! Capture devices the pre-join screen offers.

use serde::Serialize;

/// One selectable source.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// What `join` takes to pick it.
    pub id: &'static str,
    /// What the user sees.
    pub label: &'static str,
}

/// Everything the pickers offer, and sentences about what is missing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DevicesView {
    /// Video sources.
    pub cameras: Vec<DeviceView>,
    /// Audio sources.
    pub microphones: Vec<DeviceView>,
    /// What the user should know (no camera found, ...).
    pub notes: Vec<String>,
}

/// The sources a call can use now.
#[tauri::command]
pub fn list_devices() -> DevicesView {
    DevicesView {
        cameras: vec![DeviceView {
            id: "synthetic",
            label: "Test pattern",
        }],
        microphones: vec![DeviceView {
            id: "synthetic",
            label: "Test tone",
        }],
        notes: vec![
            "This build does not capture cameras or microphones yet: the test pattern and test tone stand in for them."
                .into(),
        ],
    }
}
