//! The aiortc test peers (`tests/peers/*.py`): a second, independent WebRTC stack, run from the
//! venv `scripts/install-deps.sh` makes (pinned by `tests/peers/requirements.txt`).

use confab_engine::VideoFrame;
use confab_media::pattern::inspect;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Runs `script` (in `tests/peers`) with `args`, with the venv's Python, to its end and returns
/// the JSON line it printed. Panics with its error output if it fails.
pub async fn run(script: &str, args: &[&str]) -> Value {
    let venv = std::env::var_os("CONFAB_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/confab/venv")))
        .expect("HOME or CONFAB_VENV is set");
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-deps.sh (it makes the aiortc venv)",
        python.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("peers")
        .join(script);
    let mut command = std::process::Command::new(python);
    command
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The script ends by itself after the seconds it is given; `timeout` bounds a hang.
    let output = tokio::task::spawn_blocking(move || {
        let mut bounded = std::process::Command::new("timeout");
        bounded
            .arg("60")
            .arg(command.get_program())
            .args(command.get_args());
        bounded.stdout(Stdio::piped()).stderr(Stdio::piped()).output()
    })
    .await
    .expect("aiortc runner")
    .expect("start aiortc");
    assert!(
        output.status.success(),
        "aiortc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("aiortc prints one JSON line")
}

/// A file for a script to write its last decoded picture to.
pub fn picture_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("confab-{name}-{}.i420", std::process::id()))
}

/// Reads (and removes) the last picture a script decoded, of `size`, and checks it is Confab's
/// test pattern intact; returns its frame stamp. Panics if it is not.
pub fn last_picture_stamp(file: &Path, size: (usize, usize)) -> u32 {
    let data = std::fs::read(file).expect("aiortc wrote its last picture");
    let _ = std::fs::remove_file(file);
    let picture = VideoFrame {
        width: size.0,
        height: size.1,
        data,
    };
    inspect(&picture)
        .expect("aiortc's last picture is Confab's intact test pattern")
        .frame_number
}
