//! Links reaching the running app as they do on a desktop: the app registers `confab://` with
//! the OS (its own XDG folders here), and a second `confab LINK` — what the OS runs when a link
//! is clicked — hands its link to the running app and exits. Not in a call, the link's pre-join
//! screen opens; in a call, the app offers to leave for it and leaves only when asked.

mod support;

use confab_engine::CallEvent;
use confab_tests::{join_chat_only, wait_for, wait_joined, TestServer};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::surroundings::wait_until_exists;
use support::App;

const SHORT: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(30);

fn confab() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_confab"))
}

/// Starts `confab LINK` beside the running app; it must hand over the link and exit at once.
fn launch_again(app: &App, link: &str) {
    let status = app.surroundings.run_to_end(&confab(), &[link.to_owned()], LONG);
    assert!(
        status.success(),
        "the second launch should hand over its link and exit cleanly: {status}"
    );
}

/// Waits for the app's registration of `confab://` and checks the OS would run this binary.
fn assert_registered(app: &App) {
    let desktop_file = app
        .surroundings
        .data_home()
        .join("applications/confab-handler.desktop");
    wait_until_exists(&desktop_file, LONG, "desktop entry registering confab://");
    let entry = std::fs::read_to_string(&desktop_file).expect("the desktop entry");
    assert!(entry.contains("MimeType=x-scheme-handler/confab"), "{entry}");
    assert!(
        entry.contains(&format!("Exec=\"{}\" %u", confab().display())),
        "{entry}"
    );
    let mut query = Command::new("xdg-mime");
    query.args(["query", "default", "x-scheme-handler/confab"]);
    let handler = app
        .surroundings
        .apply(&mut query)
        .output()
        .expect("xdg-mime (apt-get install xdg-utils)");
    assert_eq!(
        String::from_utf8_lossy(&handler.stdout).trim(),
        "confab-handler.desktop",
        "xdg-mime does not name Confab as the confab:// handler"
    );
}

#[test]
fn a_clicked_link_reaches_the_running_app_once_and_never_ends_a_call_unasked() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(TestServer::start());
    let (first, second) = (server.link("first-room"), server.link("second-room"));
    let (eve, mut eve_events) = runtime.block_on(async { join_chat_only(&first, "Eve") });
    runtime.block_on(wait_joined(&mut eve_events));

    let settings = std::env::temp_dir().join(format!("confab-links-settings-{}", std::process::id()));
    let app = App::launch(
        &confab(),
        &["--settings-dir".into(), settings.display().to_string()],
    );
    app.wait_for("#new-meeting", LONG);
    assert_registered(&app);

    // Not in a call: the link opens its pre-join screen.
    launch_again(&app, &first.to_string());
    app.wait_for_text("h2", "Join first-room", SHORT);
    app.join_without_devices("Dee");
    app.wait_for("#leave", LONG);
    let dee = runtime.block_on(wait_for(&mut eve_events, LONG, "Dee joining", |e| match e {
        CallEvent::ParticipantJoined(id) => Some(id.clone()),
        _ => None,
    }));

    // In a call: the link is offered; staying keeps the call.
    launch_again(&app, &second.to_string());
    app.wait_for_text(
        "#incoming-link span",
        "A link to the room “second-room” was opened. ",
        SHORT,
    );
    app.click_css("#incoming-stay", SHORT);
    assert_eq!(
        app.script("return document.getElementById('incoming-link').hidden"),
        true,
        "the offer goes away"
    );
    assert!(!app.find_all("#leave").is_empty(), "still in the call");

    // Asked to, the app leaves (Eve sees it) and opens the new link.
    launch_again(&app, &second.to_string());
    app.click_css("#incoming-open", SHORT);
    app.wait_for_text("h2", "Join second-room", SHORT);
    runtime.block_on(wait_for(&mut eve_events, LONG, "Dee leaving", |e| {
        matches!(e, CallEvent::ParticipantLeft { id, .. } if *id == dee).then_some(())
    }));

    drop(app);
    runtime.block_on(async {
        eve.leave().await;
        server.stop().await;
    });
    let _ = std::fs::remove_dir_all(settings);
}
