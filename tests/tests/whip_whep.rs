//! The embedded server's WHIP and WHEP endpoints, used by a real browser through a third-party
//! client library (`whip-whep`, by the WHIP specification's author, from npm) and poked with
//! malformed requests.
//!
//! - A browser publishes its camera over WHIP (trickling its candidates by PATCH); a Confab
//!   participant decodes the picture at the browser's size, sees the stream join under the name
//!   it gave and leave when it stops.
//! - A browser watches the room over WHEP: it decodes a Confab participant's video at the
//!   size sent and receives the audio, keeps playing when that participant leaves and another
//!   takes over, and the participants see the watcher in the room.
//! - Requests without the token, with the wrong type or a broken offer are refused with a status
//!   and a sentence; nothing joins.

use confab_core::{LeaveReason, ParticipantId};
use confab_engine::{Call, CallSnapshot};
use confab_tests::chromium::Chromium;
use confab_tests::http::{request, Reply};
use confab_tests::{
    endpoint, join_synthetic, join_synthetic_probing, wait_for_departure, wait_for_newcomer, wait_joined,
    PictureProbe, TestServer,
};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const SIZE: (usize, usize) = (320, 240);

/// One browser test at a time: a browser, its encoder and two Confab encoders fill this
/// machine's two cores, and two such tests at once starve each other's pictures.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The source of one of the `whip-whep` package's modules (installed by install-deps.sh).
fn client_library(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("peers/node_modules/whip-whep")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run scripts/install-deps.sh (npm ci in tests/peers)",
            path.display()
        )
    })
}

/// JavaScript that imports `file` of `whip-whep` as a module and lets only loopback candidates
/// out of the page (TESTBED.md: the test's signaling passes on loopback candidates only).
fn page_setup(file: &str) -> String {
    let source = serde_json::to_string(&client_library(file)).expect("quote the module");
    format!(
        r#"
        const blob = new Blob([{source}], {{ type: "text/javascript" }});
        const module = await import(URL.createObjectURL(blob));
        const sendFetch = window.fetch.bind(window);
        window.fetch = (url, init = {{}}) => {{
            if (init.method === "PATCH" && typeof init.body === "string") {{
                init.body = init.body.split("\r\n")
                    .filter(l => !l.startsWith("a=candidate:") || l.includes(" 127.0.0.1 "))
                    .join("\r\n");
            }}
            return sendFetch(url, init);
        }};
        "#
    )
}

async fn snapshot_of(call: &Call, id: &ParticipantId) -> (CallSnapshot, usize) {
    let snapshot = call.snapshot().await.expect("call running");
    let at = snapshot
        .participants
        .iter()
        .position(|p| p.id == *id)
        .expect("participant in the snapshot");
    (snapshot, at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_publishes_over_whip_and_confab_participants_see_it() {
    let _browser_turn = ONE_BROWSER.lock().await;
    let server = TestServer::start().await;
    let link = server.link("studio");
    let (address, token) = endpoint(&link);
    let probe = Arc::new(PictureProbe::default());
    let (bob, mut bob_events) = join_synthetic_probing(&link, "Bob", SIZE, probe.clone());
    wait_joined(&mut bob_events).await;

    let mut browser = Chromium::launch().await;
    let url = format!("http://{address}/whip/studio?name=Browser%20camera");
    browser
        .eval(&format!(
            r#"(async () => {{
                {setup}
                const camera = await navigator.mediaDevices.getUserMedia({{ video: {{ width: 640, height: 480 }} }});
                const pc = new RTCPeerConnection();
                pc.addTransceiver(camera.getVideoTracks()[0], {{ direction: "sendonly" }});
                window.whip = new module.WHIPClient();
                await window.whip.publish(pc, {url:?}, {token:?});
                return true;
            }})()"#,
            setup = page_setup("whip.js"),
        ))
        .await;

    let stream = wait_for_newcomer(
        &mut bob_events,
        Duration::from_secs(10),
        "the WHIP stream to join",
        &[],
    )
    .await;
    let mut decoded = false;
    for _ in 0..40 {
        let (snapshot, at) = snapshot_of(&bob, &stream).await;
        if snapshot.participants[at].frames_decoded > 0 {
            decoded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !decoded {
        let page = browser
            .eval(
                r#"(async () => {
                    const out = { state: window.whip.pc.connectionState, ice: window.whip.pc.iceConnectionState };
                    (await window.whip.pc.getStats()).forEach(r => {
                        if (r.type === "outbound-rtp") Object.assign(out, { sent: r.framesEncoded, keyframes: r.keyFramesEncoded, plis: r.pliCount, packets: r.packetsSent });
                        if (r.type === "candidate-pair" && r.nominated) out.pair = r.state;
                    });
                    return out;
                })()"#,
            )
            .await;
        let (snapshot, at) = snapshot_of(&bob, &stream).await;
        panic!(
            "Bob decoded no picture of the WHIP stream: {:?}; the browser: {page}",
            snapshot.participants[at]
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (snapshot, at) = snapshot_of(&bob, &stream).await;
    let seen = &snapshot.participants[at];
    assert_eq!(seen.name, "Browser camera");
    assert!(
        seen.frames_decoded >= 45,
        "Bob decoded only {} frames: {seen:?}",
        seen.frames_decoded
    );
    assert_eq!(seen.decode_errors, 0, "{seen:?}");
    let (size, pictures) = probe.of(&stream).expect("pictures from the stream");
    assert_eq!(
        size,
        (640, 480),
        "the picture arrives at the size the browser sent"
    );
    assert!(
        pictures >= 20,
        "the browser's moving picture changed only {pictures} times"
    );

    // Stopping deletes the session: Bob sees the stream leave.
    browser.eval("window.whip.stop().then(() => true)").await;
    let reason = wait_for_departure(
        &mut bob_events,
        Duration::from_secs(10),
        "the WHIP stream to leave",
        &stream,
    )
    .await;
    assert!(matches!(
        reason,
        LeaveReason::Hangup | LeaveReason::ConnectionLost
    ));
    bob.leave().await;
    server.stop().await;
}

/// The browser's inbound video and audio, from `getStats`.
const INBOUND_STATS: &str = r#"(async () => {
    const out = { frames: 0, width: 0, height: 0, audioPackets: 0 };
    (await window.pc.getStats()).forEach(r => {
        if (r.type !== "inbound-rtp") return;
        if (r.kind === "video") Object.assign(out, { frames: r.framesDecoded || 0, width: r.frameWidth || 0, height: r.frameHeight || 0 });
        if (r.kind === "audio") out.audioPackets = r.packetsReceived || 0;
    });
    return out;
})()"#;

async fn frames_in(browser: &mut Chromium) -> u64 {
    browser.eval(INBOUND_STATS).await["frames"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_watches_the_room_over_whep_and_keeps_playing_when_the_speaker_changes() {
    let _browser_turn = ONE_BROWSER.lock().await;
    let server = TestServer::start().await;
    let link = server.link("stage");
    let (address, token) = endpoint(&link);
    let (alice, mut alice_events) = join_synthetic(&link, "Alice", SIZE, 440.0);
    let alice_id = wait_joined(&mut alice_events).await;
    let (carol, mut carol_events) = join_synthetic(&link, "Carol", SIZE, 660.0);
    wait_joined(&mut carol_events).await;

    let mut browser = Chromium::launch().await;
    let url = format!("http://{address}/whep/stage");
    browser
        .eval(&format!(
            r#"(async () => {{
                {setup}
                const pc = new RTCPeerConnection();
                pc.addTransceiver("video", {{ direction: "recvonly" }});
                pc.addTransceiver("audio", {{ direction: "recvonly" }});
                window.pc = pc;
                window.whep = new module.WHEPClient();
                await window.whep.view(pc, {url:?}, {token:?});
                return true;
            }})()"#,
            setup = page_setup("whep.js"),
        ))
        .await;

    // The participants see who watches.
    let watcher = wait_for_newcomer(
        &mut carol_events,
        Duration::from_secs(10),
        "the watcher to join",
        &[&alice_id],
    )
    .await;
    let (snapshot, at) = snapshot_of(&carol, &watcher).await;
    assert_eq!(snapshot.participants[at].name, "WHEP viewer");

    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = browser.eval(INBOUND_STATS).await;
        if stats["frames"].as_u64().unwrap_or(0) >= 60 && stats["audioPackets"].as_u64().unwrap_or(0) >= 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        stats["frames"].as_u64().unwrap_or(0) >= 60,
        "the browser decoded too little: {stats}"
    );
    assert_eq!(
        (stats["width"].as_u64(), stats["height"].as_u64()),
        (Some(SIZE.0 as u64), Some(SIZE.1 as u64)),
        "the browser shows the picture at the size Alice sends: {stats}"
    );
    // Headless Chromium plays nothing out, so it counts audio packets its audio section
    // accepted (packets filed under the wrong section are not counted).
    assert!(
        stats["audioPackets"].as_u64().unwrap_or(0) >= 100,
        "the browser's audio section got too little: {stats}"
    );

    // Alice, the featured publisher, leaves: the player goes on with Carol's picture.
    alice.leave().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = frames_in(&mut browser).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = frames_in(&mut browser).await;
    assert!(
        after >= before + 45,
        "after Alice left the player decoded only {} more frames",
        after - before
    );

    browser.eval("window.whep.stop().then(() => true)").await;
    wait_for_departure(
        &mut carol_events,
        Duration::from_secs(10),
        "the watcher to leave",
        &watcher,
    )
    .await;
    carol.leave().await;
    server.stop().await;
}

const OFFER_WITHOUT_MEDIA: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

/// Two media sections with their own ICE credentials and no BUNDLE: one transport each.
const OFFER_WITHOUT_BUNDLE: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
    m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=sendonly\r\n\
    a=ice-ufrag:aaaa\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa\r\na=setup:actpass\r\n\
    a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
    a=rtpmap:111 opus/48000/2\r\n\
    m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 127.0.0.1\r\na=mid:1\r\na=sendonly\r\n\
    a=ice-ufrag:bbbb\r\na=ice-pwd:bbbbbbbbbbbbbbbbbbbbbb\r\na=setup:actpass\r\n\
    a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
    a=rtpmap:102 H264/90000\r\n";

async fn post_offer(address: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    request(address, "POST", path, headers, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_whip_requests_are_refused_with_a_reason_and_nobody_joins() {
    let server = TestServer::start().await;
    let link = server.link("guarded");
    let (address, token) = endpoint(&link);
    let (alice, mut alice_events) = join_synthetic(&link, "Alice", SIZE, 440.0);
    wait_joined(&mut alice_events).await;
    let bearer = format!("Bearer {token}");
    let sdp = ("Content-Type", "application/sdp");

    let preflight = request(address, "OPTIONS", "/whip/guarded", &[], "").await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("accept-post"), Some("application/sdp"));
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));

    // (what, headers, body, expected status, expected words of the reason)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("no token", vec![sdp], OFFER_WITHOUT_MEDIA, 401, "Bearer token"),
        (
            "another room's token",
            vec![sdp, ("Authorization", "Bearer 0123456789abcdef0123456789abcdef")],
            OFFER_WITHOUT_MEDIA,
            401,
            "not valid for this room",
        ),
        (
            "not SDP",
            vec![("Content-Type", "text/plain"), ("Authorization", &bearer)],
            OFFER_WITHOUT_MEDIA,
            415,
            "application/sdp",
        ),
        (
            "not an offer",
            vec![sdp, ("Authorization", &bearer)],
            "hello",
            400,
            "v=0",
        ),
        (
            "a broken offer",
            vec![sdp, ("Authorization", &bearer)],
            "v=0\r\nthis is not sdp\r\n",
            400,
            "media description was not acceptable",
        ),
        (
            "one transport per section (no BUNDLE)",
            vec![sdp, ("Authorization", &bearer)],
            OFFER_WITHOUT_BUNDLE,
            400,
            "turn on BUNDLE",
        ),
    ];
    for (what, headers, body, status, sentence) in cases {
        let reply = post_offer(address, "/whip/guarded", &headers, body).await;
        assert_eq!(reply.status, status, "{what}: {reply:?}");
        assert!(
            reply.body.contains(sentence),
            "{what}: the reason was '{}'",
            reply.body
        );
    }
    let too_long_name = format!("/whip/guarded?name={}", "x".repeat(65));
    let reply = post_offer(
        address,
        &too_long_name,
        &[sdp, ("Authorization", &bearer)],
        OFFER_WITHOUT_MEDIA,
    )
    .await;
    assert_eq!(reply.status, 400, "{reply:?}");

    let unknown = request(
        address,
        "DELETE",
        "/whip/guarded/0000",
        &[("Authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    let fragment = [
        ("Content-Type", "application/trickle-ice-sdpfrag"),
        ("Authorization", bearer.as_str()),
    ];
    let garbled = request(
        address,
        "PATCH",
        "/whip/guarded/0000",
        &fragment,
        "a=candidate:1 1 udp\r\n",
    )
    .await;
    assert_eq!(garbled.status, 400, "{garbled:?}");
    assert!(garbled.body.contains("line 1"), "{garbled:?}");

    // None of that let anyone in.
    let snapshot = alice.snapshot().await.expect("call running");
    assert!(snapshot.participants.is_empty(), "{:?}", snapshot.participants);
    alice.leave().await;
    server.stop().await;
}
