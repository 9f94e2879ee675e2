//! What the outage tests share: Dave, an in-process engine on the host, watches Carol, a
//! `confab-cli join` in the test's network namespace, and times how long her video takes to
//! come back after a cut.

use super::BIN;
use confab_core::{ConversationId, IdentityId, JoinLink};
use confab_engine::{Call, CallCommand, CallConfig, CallEvent, PeerConfig, RemoteSnapshot};
use confab_media::pattern::TestPattern;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// How long the call may take to show Carol again after a cut ends.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// Starts Dave: 320x240 synthetic video at 15 fps, no audio, media bound to `media_ip` if given.
pub fn start_dave(link: &JoinLink, media_ip: Option<&str>) -> (Call, UnboundedReceiver<CallEvent>) {
    Call::start(CallConfig {
        link: link.clone(),
        name: "Dave".into(),
        video: Some(Box::new(TestPattern::new(320, 240, 15).expect("pattern"))),
        audio: None,
        muted: Vec::new(),
        peer: media_ip.map(|ip| PeerConfig::bound_to(ip.parse().expect("the test names an IP address"))),
        identity: None,
        media_out: None,
    })
}

/// Starts Carol inside `namespace` with the identity in `identity_file`, reporting to
/// `report`; `extra` goes on her command line.
pub fn start_carol(
    namespace: &str,
    link: &str,
    identity_file: &Path,
    report: &Path,
    extra: &[&str],
) -> Child {
    Command::new("ip")
        .args(["netns", "exec", namespace, BIN, "join", link, "--name", "Carol"])
        .args(["--size", "320x240", "--fps", "15", "--audio", "none"])
        .args(extra)
        .arg("--identity-file")
        .arg(identity_file)
        .arg("--report")
        .arg(report)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start Carol in the namespace")
}

/// Ends Carol with SIGTERM (a clean leave) and checks she exited well.
pub fn stop_carol(mut carol: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &carol.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(
        carol.wait().expect("Carol exits").success(),
        "Carol's join failed"
    );
}

/// Every session of `identity` that Dave has seen, in order.
pub async fn sessions_seen(dave: &Call, identity: &IdentityId) -> Vec<RemoteSnapshot> {
    let snapshot = dave.snapshot().await.expect("Dave's call is running");
    snapshot
        .participants
        .into_iter()
        .filter(|p| p.identity == *identity)
        .collect()
}

/// Frames Dave has decoded from any session of `identity`.
pub async fn frames_from(dave: &Call, identity: &IdentityId) -> u64 {
    sessions_seen(dave, identity)
        .await
        .iter()
        .map(|p| p.frames_decoded)
        .sum()
}

/// Waits until Dave decodes a frame from `identity` beyond `after`; returns how long it took.
pub async fn next_frame_from(dave: &Call, identity: &IdentityId, after: u64) -> Duration {
    let start = Instant::now();
    while frames_from(dave, identity).await <= after {
        assert!(
            start.elapsed() < RECOVERY_LIMIT,
            "no new frame from Carol within {RECOVERY_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

/// Called when a cut ends: waits until Dave decodes a frame from `identity` newer than any he
/// had when the path came back, prints how long that took (labelled `cut`) and returns it.
pub async fn first_new_frame(dave: &Call, identity: &IdentityId, cut: &str) -> Duration {
    let before = frames_from(dave, identity).await;
    let recovery = next_frame_from(dave, identity, before).await;
    eprintln!(
        "{cut}: first new frame from Carol {} ms after the path came back",
        recovery.as_millis()
    );
    recovery
}

/// Dave sends `text` to `conversation`.
pub fn say(dave: &Call, conversation: &ConversationId, text: &str) {
    dave.command(CallCommand::SendChat {
        conversation: conversation.clone(),
        text: text.into(),
    });
}

/// Carol's received chat from her report, as (`public` or `private`, text), in report order.
pub fn chat_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["chat"]
        .as_array()
        .expect("chat")
        .iter()
        .map(|m| {
            let kind = if m["conversation"] == "public" {
                "public"
            } else {
                "private"
            };
            (kind.to_owned(), m["text"].as_str().expect("text").to_owned())
        })
        .collect()
}
