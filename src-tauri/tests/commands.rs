//! Every command through Tauri's mock runtime (no window, no WebKit): the same handlers and
//! state the app uses, called as the UI calls them, against a real embedded server.

use confab_desktop::{app, AppState, LaunchOptions};
use confab_tests::{join_synthetic, wait_joined, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{WebviewWindow, WebviewWindowBuilder};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::Message;

fn window(options: LaunchOptions) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = app(mock_builder(), AppState::new(options))
        .build(mock_context(noop_assets()))
        .expect("the app builds on the mock runtime");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("a mock window");
    (app, window)
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<InvokeResponseBody, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("a url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
}

fn json_of(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Value {
    match invoke(window, cmd, args) {
        Ok(body) => body.deserialize().expect("a JSON reply"),
        Err(error) => panic!("{cmd} failed: {error}"),
    }
}

fn error_code(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> String {
    let error = invoke(window, cmd, args).expect_err("the command should fail");
    error["code"].as_str().unwrap_or_default().to_owned()
}

fn loopback() -> LaunchOptions {
    LaunchOptions {
        meeting_address: Some("127.0.0.1".parse().expect("an address")),
        settings_dir: Some(std::env::temp_dir().join(format!("confab-commands-{}", std::process::id()))),
        ..LaunchOptions::default()
    }
}

#[test]
fn links_are_checked_and_the_launch_link_is_handed_over_once() {
    let (_app, window) = window(LaunchOptions {
        link: Some("confab://127.0.0.1:7/room?token=t".into()),
        ..loopback()
    });
    let view = json_of(
        &window,
        "parse_link",
        json!({"text": "confab://h:9/standup?token=abc"}),
    );
    assert_eq!(view["room"], "standup");
    assert_eq!(view["server"], "h:9");
    assert_eq!(
        error_code(&window, "parse_link", json!({"text": "hello"})),
        "bad_link"
    );
    assert_eq!(
        json_of(&window, "launch_link", json!({})),
        json!("confab://127.0.0.1:7/room?token=t")
    );
    assert_eq!(json_of(&window, "launch_link", json!({})), Value::Null);
}

#[test]
fn devices_and_settings_answer_without_a_call() {
    let (_app, window) = window(loopback());
    let devices = json_of(&window, "list_devices", json!({}));
    let cameras = devices["cameras"].as_array().expect("a camera list");
    assert_eq!(
        cameras.last().map(|c| &c["id"]),
        Some(&json!("synthetic")),
        "{devices}"
    );
    assert!(devices["speakers"].is_array(), "{devices}");
    let settings = json_of(&window, "load_settings", json!({}));
    assert!(settings["settings"].is_object(), "{settings}");
}

/// Opens `participant`'s tile on the picture socket as the UI does and waits (20 s at most)
/// for its first picture; returns the picture's size and byte length.
fn first_picture(window: &WebviewWindow<MockRuntime>, participant: &str) -> (u32, u32, usize) {
    picture_shaped(window, participant, json!({}))
}

/// The picture socket's tile for `participant` (the address comes from `picture_socket`, as the
/// UI gets it), reading with a 20 s limit.
fn open_tile(window: &WebviewWindow<MockRuntime>, participant: &str) -> PictureTile {
    let base = json_of(window, "picture_socket", json!({}));
    let url = format!("{}/{participant}", base.as_str().expect("an address"));
    let (tile, _) = tungstenite::connect(url).expect("the picture socket takes a tile");
    if let MaybeTlsStream::Plain(tcp) = tile.get_ref() {
        tcp.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("a read limit");
    }
    tile
}

type PictureTile = tungstenite::WebSocket<MaybeTlsStream<std::net::TcpStream>>;

/// [`first_picture`] asked for as a tile of `shape` asks (`{}`: as decoded).
fn picture_shaped(window: &WebviewWindow<MockRuntime>, participant: &str, shape: Value) -> (u32, u32, usize) {
    let picture = ask(&mut open_tile(window, participant), 0, shape);
    (picture.width, picture.height, picture.bytes)
}

/// What the picture socket answered: the picture's number, size and byte length.
struct Answer {
    sequence: u64,
    width: u32,
    height: u32,
    bytes: usize,
}

/// Asks `tile` for the first picture after number `after`, shaped as `shape` says.
fn ask(tile: &mut PictureTile, after: u64, mut shape: Value) -> Answer {
    shape["after"] = json!(after);
    tile.send(Message::text(shape.to_string())).expect("an ask sent");
    loop {
        match tile.read() {
            Ok(Message::Binary(bytes)) => {
                let number =
                    |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
                return Answer {
                    sequence: u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes")),
                    width: number(8),
                    height: number(12),
                    bytes: bytes.len(),
                };
            }
            Ok(_) => {}
            Err(e) => panic!("no picture reached the tile in 20 s: {e}"),
        }
    }
}

#[test]
fn the_picture_socket_shows_nothing_without_its_token_or_to_a_garbled_ask() {
    let (_app, window) = window(loopback());
    let base = json_of(&window, "picture_socket", json!({}));
    let base = base.as_str().expect("an address");
    assert!(base.starts_with("ws://127.0.0.1:"), "{base}");
    let (address, _token) = base.rsplit_once('/').expect("a token");
    match tungstenite::connect(format!("{address}/{}/~self", "0".repeat(32))) {
        Err(tungstenite::Error::Http(refusal)) => assert_eq!(refusal.status(), 403),
        other => panic!("a wrong token must be refused, got {other:?}"),
    }

    let mut tile = open_tile(&window, "~self");
    tile.send(Message::text("{\"after\": \"soon\"}"))
        .expect("an ask sent");
    match tile.read() {
        Ok(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Policy),
        other => panic!("a garbled ask must close the tile, got {other:?}"),
    }
}

#[test]
fn the_preview_shows_our_picture_and_level_and_a_missing_device_is_a_sentence() {
    let (_app, window) = window(loopback());
    let synthetic = json!({"camera": "synthetic", "microphone": "synthetic"});
    assert_eq!(json_of(&window, "start_preview", synthetic), json!([]));
    assert_eq!(first_picture(&window, "~self").0, 1280);
    let deadline = Instant::now() + Duration::from_secs(10);
    while json_of(&window, "mic_level", json!({})).as_f64().unwrap_or(0.0) < 0.1 {
        assert!(Instant::now() < deadline, "the meter never showed the test tone");
        std::thread::sleep(Duration::from_millis(50));
    }
    json_of(&window, "stop_preview", json!({}));
    assert_eq!(json_of(&window, "mic_level", json!({})), json!(0.0));

    let missing = json!({"camera": "device:no-such-camera", "microphone": "none"});
    let notices = json_of(&window, "start_preview", missing);
    assert!(
        notices[0].as_str().is_some_and(|n| n.contains("camera is off")),
        "{notices}"
    );
    let unknown = json!({"camera": "webcam", "microphone": "none"});
    assert!(
        invoke(&window, "start_preview", unknown).is_err(),
        "an unknown source is refused"
    );
    json_of(&window, "stop_preview", json!({}));
}

#[test]
fn commands_that_need_a_call_say_so() {
    let (_app, window) = window(loopback());
    assert_eq!(error_code(&window, "leave", json!({})), "not_in_call");
    assert_eq!(
        error_code(&window, "set_muted", json!({"media": "audio", "muted": true})),
        "not_in_call"
    );
    let public = json!({"conversation": {"kind": "public"}, "text": "hi"});
    assert_eq!(error_code(&window, "send_chat", public), "not_in_call");
    let camera = json!({"role": "camera", "choice": "synthetic"});
    assert_eq!(error_code(&window, "switch_device", camera), "not_in_call");
    let lonely = json!({"conversation": {"kind": "private", "members": ["me"]}, "text": "hi"});
    assert_eq!(error_code(&window, "send_chat", lonely), "bad_conversation");
}

#[test]
fn a_meeting_on_this_computer_is_started_once_and_can_be_joined() {
    let (_app, window) = window(loopback());
    let first = json_of(&window, "start_meeting", json!({}));
    let again = json_of(&window, "start_meeting", json!({}));
    assert_eq!(first, again, "one meeting per app");
    let link = first["link"].as_str().expect("a link");
    assert!(link.starts_with("confab://127.0.0.1:"), "{link}");
    assert_eq!(first["localOnly"], true);
    json_of(&window, "parse_link", json!({ "text": link }));
}

#[test]
fn a_joined_call_takes_commands_and_hands_pictures_to_the_tiles() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(TestServer::start());
    let link = server.link("commands");
    let (ada, mut ada_events) = runtime.block_on(async { join_synthetic(&link, "Ada", (320, 180), 440.0) });
    let ada_id = runtime.block_on(wait_joined(&mut ada_events));

    let (_app, window) = window(loopback());
    // A camera that is not there: the call goes on with the camera off, and says so.
    let request = json!({"link": link.to_string(), "name": "Cleo", "camera": "device:gone",
        "microphone": "synthetic", "speaker": "none"});
    let join = json!({"request": request.clone(), "events": "__CHANNEL__:1"});
    let answer = json_of(&window, "join", join.clone());
    assert!(
        answer["notices"][0]
            .as_str()
            .is_some_and(|n| n.contains("camera is off")),
        "{answer}"
    );
    assert_eq!(
        (&answer["camera"], &answer["microphone"]),
        (&json!("none"), &json!("synthetic"))
    );
    assert_eq!(error_code(&window, "join", join), "already_in_call");
    let wait = Duration::from_secs(10);
    let cleo_id = runtime.block_on(confab_tests::wait_for(
        &mut ada_events,
        wait,
        "Cleo's camera off",
        confab_tests::video_turned(None, true),
    ));

    assert_eq!(
        first_picture(&window, ada_id.as_str()),
        (320, 180, 16 + 320 * 180 * 3 / 2)
    );
    let stats = json_of(&window, "tile_stats", json!({}));
    assert!(stats[0]["decoded"].as_u64().unwrap_or(0) >= 1, "{stats}");
    // A small tile drawing on a 2D canvas gets a small RGBA picture of the same shape, then,
    // asking again on the same socket, a newer one.
    let small_tile = json!({"maxWidth": 160, "maxHeight": 160, "pixels": "rgba"});
    let mut tile = open_tile(&window, ada_id.as_str());
    let first = ask(&mut tile, 0, small_tile.clone());
    assert_eq!(
        (first.width, first.height, first.bytes),
        (160, 90, 16 + 160 * 90 * 4)
    );
    let next = ask(&mut tile, first.sequence, small_tile);
    assert!(
        next.sequence > first.sequence,
        "{} after {}",
        next.sequence,
        first.sequence
    );

    // A camera picked in the call (then unmuted) reaches Ada without a rejoin; "none" turns
    // it off again.
    json_of(
        &window,
        "switch_device",
        json!({"role": "camera", "choice": "synthetic"}),
    );
    json_of(&window, "set_muted", json!({"media": "video", "muted": false}));
    runtime.block_on(confab_tests::wait_for(
        &mut ada_events,
        wait,
        "Cleo's camera on",
        confab_tests::video_turned(Some(&cleo_id), false),
    ));
    let seen = runtime.block_on(confab_tests::decoded(&ada, &cleo_id, 10));
    assert_eq!((seen.frames_corrupt, seen.decode_errors), (0, 0), "{seen:?}");
    json_of(
        &window,
        "switch_device",
        json!({"role": "camera", "choice": "none"}),
    );
    runtime.block_on(confab_tests::wait_for(
        &mut ada_events,
        wait,
        "Cleo's camera off again",
        confab_tests::video_turned(Some(&cleo_id), true),
    ));

    // Another device mid-call: one that is not there is a sentence and the call keeps the old
    // one; an existing one is taken.
    let gone = invoke(
        &window,
        "switch_device",
        json!({"role": "microphone", "choice": "device:gone"}),
    )
    .expect_err("a microphone that is not there");
    assert_eq!(gone["code"], "device_unavailable", "{gone}");
    assert!(
        gone["message"].as_str().is_some_and(|m| m.contains("microphone")),
        "{gone}"
    );
    json_of(
        &window,
        "switch_device",
        json!({"role": "microphone", "choice": "synthetic"}),
    );
    json_of(
        &window,
        "switch_device",
        json!({"role": "speaker", "choice": "none"}),
    );

    json_of(&window, "set_muted", json!({"media": "audio", "muted": true}));
    json_of(
        &window,
        "send_chat",
        json!({"conversation": {"kind": "public"}, "text": "hi Ada"}),
    );
    runtime.block_on(confab_tests::wait_for(
        &mut ada_events,
        Duration::from_secs(10),
        "Cleo's message",
        |e| matches!(e, confab_engine::CallEvent::ChatReceived(m) if m.text == "hi Ada").then_some(()),
    ));
    json_of(&window, "leave", json!({}));
    assert_eq!(error_code(&window, "leave", json!({})), "not_in_call");
    runtime.block_on(async {
        ada.leave().await;
        server.stop().await;
    });
}
