//! The desktop app end to end, driven as a person would (Xvfb + tauri-driver + WebKitWebDriver):
//! two synthetic participants are in a room on a real embedded server; the app opens the room's
//! link from its command line; its pre-join preview shows the test pattern and the level meter
//! moves with the test tone; it joins, shows both participants' moving pictures and its own,
//! marks one of them speaking, sends a public and a private message (the test checks who
//! received which), reads a private reply, mutes (the others are told), and leaves (the others
//! see it). Screenshots of pre-join, call and chat are kept in the test's target folder, or in
//! `docs/screenshots` with `CONFAB_UPDATE_SCREENSHOTS=1`. A second test starts the app with no
//! camera and no sound card (this machine's state; the test's home has no `.asoundrc`): the
//! pre-join screen says so in sentences and the app joins for chat.

mod support;

use confab_core::{ConversationId, LeaveReason, MediaKind, PrivateMembers};
use confab_engine::{Call, CallCommand, CallEvent, CallSnapshot};
use confab_tests::{join_synthetic, wait_for, wait_joined, TestServer};
use std::path::PathBuf;
use std::time::Duration;
use support::picture::{bars_problem, Picture};
use support::App;
use tokio::sync::mpsc::UnboundedReceiver;

/// One app at a time: two WebKit processes drawing video on two cores would measure the machine.
static ONE_APP: std::sync::Mutex<()> = std::sync::Mutex::new(());

const SHORT: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(40);

fn screenshot_dir() -> PathBuf {
    let dir = if std::env::var_os("CONFAB_UPDATE_SCREENSHOTS").is_some() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("desktop-e2e")
    };
    std::fs::create_dir_all(&dir).expect("a folder for screenshots");
    dir
}

fn keep(name: &str, png: &[u8]) {
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).expect("write a screenshot");
    eprintln!("screenshot: {}", path.display());
}

async fn snapshot(call: &Call) -> CallSnapshot {
    call.snapshot()
        .await
        .expect("the participant is still in the call")
}

async fn chat_texts(call: &Call) -> Vec<(String, bool)> {
    snapshot(call)
        .await
        .chat
        .iter()
        .map(|m| {
            (
                m.text.clone(),
                matches!(m.conversation, ConversationId::Private(_)),
            )
        })
        .collect()
}

/// Waits for a participant's event while the blocking WebDriver calls run on this thread.
fn wait_event<T>(
    runtime: &tokio::runtime::Runtime,
    events: &mut UnboundedReceiver<CallEvent>,
    what: &str,
    pick: impl FnMut(&CallEvent) -> Option<T>,
) -> T {
    runtime.block_on(wait_for(events, LONG, what, pick))
}

#[test]
fn a_person_joins_sees_both_pictures_chats_privately_mutes_and_leaves() {
    let _one_app = ONE_APP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(TestServer::start());
    let link = server.link("e2e");
    let ((ada, mut ada_events), (bo, mut bo_events)) = runtime.block_on(async {
        let ada = join_synthetic(&link, "Ada", (640, 360), 440.0);
        let bo = join_synthetic(&link, "Bo", (640, 360), 660.0);
        (ada, bo)
    });
    runtime.block_on(wait_joined(&mut ada_events));
    runtime.block_on(wait_joined(&mut bo_events));

    let settings = tempdir("settings");
    let app = App::launch(
        PathBuf::from(env!("CARGO_BIN_EXE_confab")).as_path(),
        &[
            "--settings-dir".into(),
            settings.display().to_string(),
            link.to_string(),
        ],
    );

    // Pre-join: the link from the command line is open; name and sources are chosen here.
    let name = app.wait_for("#name-input", LONG);
    app.type_into(&name, "Cleo");
    app.select("#camera-select", "synthetic");
    app.select("#mic-select", "synthetic");
    // The preview shows what the camera sends and the meter moves with the tone.
    let preview = app.wait_for("#preview:not(.no-picture)", LONG);
    std::thread::sleep(Duration::from_millis(500));
    let png = app.screenshot();
    if let Some(problem) = bars_problem(&Picture::from_png(&png).crop(app.rect(&preview))) {
        keep("failed-prejoin.png", &png);
        panic!("the preview does not show the test pattern: {problem}");
    }
    wait_until(LONG, "the microphone meter to move", || {
        app.script("return Number(document.getElementById('mic-meter').dataset.level ?? 0)")
            .as_f64()
            .is_some_and(|level| level > 0.1)
    });
    keep("prejoin.png", &app.screenshot());
    app.click_css("#join-button", SHORT);

    // Both remote tiles show the moving test pattern, and our own tile what we send.
    let tiles = app.wait_for_count(".tile:not(.self):not(.no-picture)", 2, LONG);
    let own = app.wait_for(".tile.self:not(.no-picture)", LONG);
    let cleo_snapshot = runtime
        .block_on(snapshot(&ada))
        .participants
        .into_iter()
        .find(|p| p.name == "Cleo")
        .expect("Ada sees Cleo");
    let cleo = cleo_snapshot.id.clone();
    std::thread::sleep(Duration::from_secs(2));
    // WebKitWebDriver's element screenshots can leave canvases black; the window's shows what
    // a person sees, so each tile is cut out of that.
    for tile in &tiles {
        let area = app.rect(tile);
        let first = Picture::from_png(&app.screenshot()).crop(area);
        std::thread::sleep(Duration::from_millis(700));
        let png = app.screenshot();
        let second = Picture::from_png(&png).crop(area);
        assert!(
            first.width >= 200,
            "the tile is too small to check: {}x{}",
            first.width,
            first.height
        );
        if let Some(problem) = bars_problem(&second) {
            keep("failed-call.png", &png);
            panic!("a tile does not show the test pattern: {problem}");
        }
        let changed = first.changed_share(&second);
        assert!(
            changed > 0.002,
            "a tile's picture did not move in 700 ms ({:.3}% changed)",
            changed * 100.0
        );
    }
    let png = app.screenshot();
    if let Some(problem) = bars_problem(&Picture::from_png(&png).crop(app.rect(&own))) {
        keep("failed-call.png", &png);
        panic!("the self-view does not show the test pattern: {problem}");
    }
    // Ada and Bo send tones: the mix names one of them as speaking.
    app.wait_for(".tile.speaking:not(.self)", LONG);
    keep("call.png", &app.screenshot());

    // Chat: one public message, one private to Ada; a private reply from Ada.
    let input = app.wait_for("#chat-input", SHORT);
    app.type_into(&input, "hello everyone");
    app.click_css("#chat-send", SHORT);
    let ada_identity = runtime.block_on(snapshot(&ada)).identity.expect("Ada's identity");
    app.click_css(&format!(".private-chat[data-identity=\"{ada_identity}\"]"), SHORT);
    let input = app.wait_for("#chat-input", SHORT);
    app.type_into(&input, "just between us, Ada");
    app.click_css("#chat-send", SHORT);
    wait_event(
        &runtime,
        &mut ada_events,
        "Cleo's private message at Ada",
        |e| match e {
            CallEvent::ChatReceived(m) if m.text == "just between us, Ada" => Some(()),
            _ => None,
        },
    );
    wait_event(
        &runtime,
        &mut bo_events,
        "Cleo's public message at Bo",
        |e| match e {
            CallEvent::ChatReceived(m) if m.text == "hello everyone" => Some(()),
            _ => None,
        },
    );
    let at_ada = runtime.block_on(chat_texts(&ada));
    let at_bo = runtime.block_on(chat_texts(&bo));
    assert!(
        at_ada.contains(&("hello everyone".into(), false)),
        "Ada got: {at_ada:?}"
    );
    assert!(
        at_ada.contains(&("just between us, Ada".into(), true)),
        "Ada got: {at_ada:?}"
    );
    assert_eq!(
        at_bo,
        vec![("hello everyone".to_owned(), false)],
        "Bo must get the public message only"
    );
    app.wait_for_text(".line.own .delivery", "delivered", SHORT);
    app.wait_for_text(".line.own .private-mark", "private to Ada", SHORT);

    let members = PrivateMembers::new([ada_identity.clone(), cleo_snapshot.identity]).expect("two members");
    ada.command(CallCommand::SendChat {
        conversation: ConversationId::Private(members),
        text: "only you see this, Cleo".into(),
    });
    app.wait_for_text(".line:not(.own) .private-mark", "private to you", LONG);
    keep("chat.png", &app.screenshot());

    // Mute: the others are told.
    app.click_css("#toggle-mic", SHORT);
    wait_event(&runtime, &mut bo_events, "Cleo's mute at Bo", |e| match e {
        CallEvent::TrackMuted {
            participant,
            kind: MediaKind::Audio,
            muted: true,
        } if *participant == cleo => Some(()),
        _ => None,
    });
    app.wait_for_text("#toggle-mic", "Unmute", SHORT);
    // The devices joined with are what the call's pickers show (to switch mid-call).
    assert_eq!(
        app.script("return ['#call-camera', '#call-mic'].map(s => document.querySelector(s).value)"),
        serde_json::json!(["synthetic", "synthetic"])
    );

    // Stop video lets the camera go and the others see it off; Start video brings it back.
    app.click_css("#toggle-camera", SHORT);
    wait_event(
        &runtime,
        &mut bo_events,
        "Cleo's video off at Bo",
        confab_tests::video_turned(Some(&cleo), true),
    );
    app.wait_for_text("#toggle-camera", "Start video", SHORT);
    app.click_css("#toggle-camera", SHORT);
    wait_event(
        &runtime,
        &mut bo_events,
        "Cleo's video on at Bo",
        confab_tests::video_turned(Some(&cleo), false),
    );
    app.wait_for_text("#toggle-camera", "Stop video", SHORT);
    let decoded_by_bo = |snapshot: CallSnapshot| {
        let cleo_at_bo = snapshot.participants.into_iter().find(|p| p.id == cleo);
        cleo_at_bo.map_or(0, |p| p.frames_decoded)
    };
    let restarted = decoded_by_bo(runtime.block_on(snapshot(&bo)));
    std::thread::sleep(Duration::from_secs(1));
    let after = decoded_by_bo(runtime.block_on(snapshot(&bo)));
    assert!(
        after >= restarted + 10,
        "Bo sees Cleo's video again: {restarted} -> {after}"
    );

    // Leave: the others see it, the app says so.
    app.click_css("#leave", SHORT);
    wait_event(&runtime, &mut ada_events, "Cleo leaving", |e| match e {
        CallEvent::ParticipantLeft {
            id,
            reason: LeaveReason::Hangup,
        } if *id == cleo => Some(()),
        _ => None,
    });
    app.wait_for_text("#banner.ended", "You left the call.", SHORT);
    assert!(
        std::fs::read_to_string(settings.join("settings.json"))
            .expect("settings saved")
            .contains("Cleo"),
        "the display name is remembered"
    );
    drop(app);
    runtime.block_on(async {
        ada.leave().await;
        bo.leave().await;
        server.stop().await;
    });
    let _ = std::fs::remove_dir_all(settings);
}

#[test]
fn with_no_camera_and_no_sound_card_the_app_says_so_and_joins_for_chat() {
    let _one_app = ONE_APP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(TestServer::start());
    let link = server.link("quiet");
    let (ada, mut ada_events) = runtime.block_on(async { join_synthetic(&link, "Ada", (320, 180), 440.0) });
    runtime.block_on(wait_joined(&mut ada_events));
    let settings = tempdir("quiet-settings");
    // The test's surroundings give the app no `.asoundrc` and this machine has no /dev/video*
    // nor /dev/snd: no camera, no microphone, no speaker.
    let app = App::launch(
        PathBuf::from(env!("CARGO_BIN_EXE_confab")).as_path(),
        &[
            "--settings-dir".into(),
            settings.display().to_string(),
            link.to_string(),
        ],
    );
    app.wait_for("#prejoin", LONG);
    app.wait_for_count("#device-notes li", 3, LONG);
    let notes = app.texts("#device-notes li");
    for sentence in ["No camera found: ", "No microphone found: ", "No speaker found: "] {
        assert!(
            notes.iter().any(|n| n.starts_with(sentence)),
            "{sentence}… missing from {notes:?}"
        );
    }
    assert_eq!(
        app.texts("#camera-select option"),
        vec!["Test pattern".to_owned(), "Off".to_owned()],
        "only the synthetic source and Off are offered"
    );
    assert_eq!(app.texts("#speaker-select option"), vec!["Off".to_owned()]);
    app.join_without_devices("Quinn");
    app.wait_for(".tile:not(.self):not(.no-picture)", LONG);
    let input = app.wait_for("#chat-input", SHORT);
    app.type_into(&input, "no devices here");
    app.click_css("#chat-send", SHORT);
    wait_event(&runtime, &mut ada_events, "Quinn's message at Ada", |e| match e {
        CallEvent::ChatReceived(m) if m.text == "no devices here" => Some(()),
        _ => None,
    });
    assert!(
        app.find_all(".error").is_empty(),
        "no error is shown: {}",
        app.page_text()
    );
    drop(app);
    runtime.block_on(async {
        ada.leave().await;
        server.stop().await;
    });
    let _ = std::fs::remove_dir_all(settings);
}

/// Polls `done` every 100 ms until it holds; fails the test after `within`.
fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}
