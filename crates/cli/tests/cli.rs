//! The `confab-cli` binary as scripts use it: `serve` prints links, `join` reports, and every
//! failure is one line on stderr with a non-zero status.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;

use common::{Serve, BIN};

fn join(link: &str, name: &str, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["join", link, "--name", name, "--size", "320x240"])
        .args(extra)
        .output()
        .expect("run join")
}

fn one_line_error(output: &std::process::Output) -> String {
    assert!(!output.status.success(), "expected failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| l.starts_with("confab-cli:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    lines[0].to_owned()
}

#[test]
fn serve_prints_a_link_per_room_and_two_joiners_report_each_other() {
    let serve = Serve::start(&["standup", "retro"]);
    assert!(serve.links[0].starts_with("confab://127.0.0.1:") && serve.links[0].contains("/standup?token="));
    assert!(serve.links[1].contains("/retro?token="));
    let link = serve.links[0].clone();
    // Alice is in first; Bob joins a second later, speaks, and leaves first.
    let first = std::thread::spawn(move || join(&link, "Alice", &["--duration", "6", "--report", "-"]));
    std::thread::sleep(Duration::from_secs(1));
    let bob = join(
        &serve.links[0],
        "Bob",
        &["--duration", "4", "--say", "hi from Bob", "--report", "-"],
    );
    let alice = first.join().expect("alice");
    let mut reports = Vec::new();
    for (me, them, output) in [("Alice", "Bob", &alice), ("Bob", "Alice", &bob)] {
        assert!(
            output.status.success(),
            "{me} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
        assert!(report["joined_ms"].as_u64().is_some(), "{me}: {report}");
        let peer = &report["participants"][0];
        assert_eq!(peer["name"], them);
        assert!(peer["first_frame_ms"].as_u64().is_some(), "{me}: {report}");
        assert!(
            peer["frames_decoded"].as_u64().unwrap_or(0) > 30,
            "{me}: {report}"
        );
        assert_eq!(peer["frames_corrupt"], 0);
        assert!(
            peer["audio_frames_decoded"].as_u64().unwrap_or(0) > 50,
            "{me}: {report}"
        );
        assert!(report["frames_sent"].as_u64().unwrap_or(0) > 30, "{me}: {report}");
        assert_eq!(report["errors"], serde_json::json!([]), "{me}: {report}");
        reports.push(report);
    }
    let (alice, bob) = (&reports[0], &reports[1]);
    assert_eq!(
        alice["chat"],
        serde_json::json!([{"from": "Bob", "conversation": "public", "text": "hi from Bob"}])
    );
    assert_eq!(
        bob["chat"],
        serde_json::json!([]),
        "Bob's own message is not reported back to him"
    );
    assert_eq!(
        alice["participants"][0]["left"],
        serde_json::json!({"left": true, "reason": "hangup"})
    );
    assert_eq!(bob["participants"][0]["left"]["left"], false);
}

#[test]
fn bad_link_unreachable_server_and_refused_token_are_one_line_errors() {
    let bad = one_line_error(&join("not a link", "Z", &[]));
    assert!(bad.contains("not a meeting link"), "{bad}");
    let unreachable = one_line_error(&join("confab://127.0.0.1:1/room?token=00", "Z", &[]));
    assert!(
        unreachable.contains("could not reach the meeting server"),
        "{unreachable}"
    );
    let serve = Serve::start(&["room"]);
    let forged = serve.links[0].split("token=").next().expect("link").to_owned()
        + "token=00112233445566778899aabbccddeeff";
    let refused = one_line_error(&join(&forged, "Z", &["--duration", "1"]));
    assert!(refused.contains("refused this link's token"), "{refused}");
    assert!(
        !refused.contains("00112233445566778899aabbccddeeff"),
        "token leaked into the error"
    );
}

#[test]
fn logs_never_contain_tokens_or_chat_text() {
    let server_log = std::env::temp_dir().join(format!("confab-serve-{}.log", std::process::id()));
    let file = std::fs::File::create(&server_log).expect("log file");
    let mut serve = Serve::start_with(&["quiet"], &["--listen", "127.0.0.1:0"], Stdio::from(file));
    let token = serve.links[0].split("token=").nth(1).expect("token").to_owned();
    let output = Command::new(BIN)
        .args([
            "join",
            &serve.links[0],
            "--name",
            "Logger",
            "--size",
            "320x240",
            "--duration",
            "1",
            "--say",
            "secret words",
        ])
        .env("RUST_LOG", "trace")
        .output()
        .expect("run join");
    assert!(output.status.success());
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.len() > 1000, "trace logging produced almost nothing");
    assert!(!logs.contains(&token), "token in logs");
    assert!(!logs.contains("secret words"), "chat text in logs");
    let _ = serve.child.kill();
    let _ = serve.child.wait();
    let server_logs = std::fs::read_to_string(&server_log).expect("server log");
    let _ = std::fs::remove_file(&server_log);
    assert!(
        server_logs.len() > 1000,
        "server trace logging produced almost nothing"
    );
    assert!(!server_logs.contains(&token), "token in server logs");
    assert!(!server_logs.contains("secret words"), "chat text in server logs");
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn sigterm_leaves_cleanly_and_a_server_shutdown_ends_the_call_with_a_reason() {
    let mut serve = Serve::start(&["term"]);
    let spawn_join = |name: &str| {
        Command::new(BIN)
            .args([
                "join",
                &serve.links[0],
                "--name",
                name,
                "--size",
                "320x240",
                "--report",
                "-",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn join")
    };
    let stays = spawn_join("Stays");
    let quits = spawn_join("Quits");
    std::thread::sleep(Duration::from_secs(3));
    terminate(&quits);
    let quits = quits.wait_with_output().expect("quits exits");
    assert!(quits.status.success(), "SIGTERM is a clean leave");
    let report: serde_json::Value = serde_json::from_slice(&quits.stdout).expect("report after SIGTERM");
    assert!(
        report["participants"][0]["frames_decoded"].as_u64().unwrap_or(0) > 10,
        "{report}"
    );

    std::thread::sleep(Duration::from_millis(500));
    terminate(&serve.child);
    let stays = stays
        .wait_with_output()
        .expect("stays exits when the server goes");
    assert!(stays.status.success(), "the join itself succeeded");
    let report: serde_json::Value = serde_json::from_slice(&stays.stdout).expect("report");
    assert_eq!(
        report["participants"][0]["left"],
        serde_json::json!({"left": true, "reason": "hangup"}),
        "{report}"
    );
    let errors = report["errors"].to_string();
    assert!(errors.contains("server shut down"), "{report}");
    assert!(
        serve.child.wait().expect("serve exits").success(),
        "serve exits cleanly on SIGTERM"
    );
}

#[test]
fn whispers_reach_only_their_recipient_and_undeliverable_ones_are_reported() {
    let serve = Serve::start(&["whisper"]);
    let link = serve.links[0].clone();
    let chat_only = ["--video", "none", "--audio", "none", "--report", "-"];
    let spawn = |name: &str, extra: &[&str]| {
        let (link, name) = (link.clone(), name.to_owned());
        let args: Vec<String> = chat_only.iter().chain(extra).map(|s| (*s).to_owned()).collect();
        std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            join(&link, &name, &args)
        })
    };
    let alice = spawn("Alice", &["--duration", "5"]);
    let carol = spawn("Carol", &["--duration", "5"]);
    std::thread::sleep(Duration::from_millis(800));
    let bob = spawn(
        "Bob",
        &[
            "--duration",
            "3",
            "--after",
            "1",
            "--whisper",
            "Alice=meet me at noon",
            "--whisper",
            "Dave=hello?",
        ],
    );
    let report = |output: std::process::Output| -> serde_json::Value {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON report")
    };
    let (alice, bob, carol) = (
        report(alice.join().expect("alice")),
        report(bob.join().expect("bob")),
        report(carol.join().expect("carol")),
    );
    assert_eq!(
        alice["chat"],
        serde_json::json!([{"from": "Bob", "conversation": {"private": ["Alice", "Bob"]}, "text": "meet me at noon"}])
    );
    assert_eq!(carol["chat"], serde_json::json!([]), "Carol got: {carol}");
    let errors = bob["errors"].to_string();
    assert!(errors.contains("whisper to Dave not sent"), "{bob}");
    assert!(
        !errors.contains("Alice"),
        "the whisper to Alice was acknowledged: {bob}"
    );
}
