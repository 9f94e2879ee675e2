//! The README's SFU support table, produced by the test run: a test that has just verified what
//! an adapter does against a real server records it here ([`verified`]), one file per call in
//! `tests/support-results/`, and `scripts/support-table.py` (run by `scripts/test.sh` after the
//! tests) writes the table into the README from those files. A capability nobody verified shows
//! as "no".

use serde::Serialize;
use std::path::PathBuf;
use std::process::Command;

/// A column of the support table.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Sending our camera and microphone.
    Publish,
    /// Receiving others' media.
    Subscribe,
    /// Public chat.
    Chat,
    /// Private chat.
    PrivateChat,
    /// Recovering from a lost connection or path.
    Reconnect,
}

#[derive(Serialize)]
struct Row<'a> {
    adapter: &'a str,
    server: &'a str,
    capabilities: Vec<(Capability, &'a str)>,
}

/// Records that `adapter` against `server` (with its version) did each capability, as the
/// given words ("yes", "yes (whispers)", …). Call only after the test's assertions passed.
pub fn verified(adapter: &str, server: &str, capabilities: &[(Capability, &str)]) {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support-results");
    std::fs::create_dir_all(&folder).expect("a folder for support results");
    let row = Row {
        adapter,
        server,
        capabilities: capabilities.to_vec(),
    };
    let text = serde_json::to_string_pretty(&row).expect("a row is JSON");
    let name: String = format!("{adapter}-{server}-{:?}", capabilities.first().map(|c| c.0))
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    std::fs::write(folder.join(format!("{name}.json")), text).expect("write a support result");
}

/// The version of a Debian package, installed or only known to apt (e.g. `1.1.2-1`).
pub fn debian_version(package: &str) -> String {
    let installed = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", package])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty());
    installed
        .or_else(|| {
            let shown = Command::new("apt-cache")
                .args(["show", "--no-all-versions", package])
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&shown.stdout).into_owned();
            text.lines()
                .find_map(|l| l.strip_prefix("Version: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("{package} is not known to apt; run scripts/install-deps.sh"))
}
