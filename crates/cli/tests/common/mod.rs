//! Helpers for tests that run `confab-cli` processes: a `serve` child that prints its links,
//! `join` children, and their JSON reports.

#![allow(dead_code)] // each test file uses its own subset

pub mod outage;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_confab-cli");

/// A `confab-cli serve` child, killed when dropped.
pub struct Serve {
    pub child: Child,
    pub links: Vec<String>,
}

impl Serve {
    /// Serves `rooms` on a free loopback port.
    pub fn start(rooms: &[&str]) -> Self {
        Self::start_with(rooms, &["--listen", "127.0.0.1:0"], Stdio::null())
    }

    /// Serves `rooms` with extra `serve` arguments, its log going to `stderr`.
    pub fn start_with(rooms: &[&str], args: &[&str], stderr: Stdio) -> Self {
        let mut command = Command::new(BIN);
        command.arg("serve").args(args);
        for room in rooms {
            command.args(["--room", room]);
        }
        let mut child = command
            .env("RUST_LOG", "trace")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let count = rooms.len().max(1);
        let links = (0..count)
            .map(|_| lines.next().expect("a link line").expect("utf-8"))
            .collect();
        Self { child, links }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch folder for reports and identity files, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("confab-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("scratch folder");
        Self(path)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads a `join --report FILE` report.
pub fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("report {}: {e}", path.display()));
    serde_json::from_str(&text).expect("report is JSON")
}

/// The report's entries for the participant named `name` (one per session they had).
pub fn sessions_of<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    report["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter(|p| p["name"] == name)
        .collect()
}
