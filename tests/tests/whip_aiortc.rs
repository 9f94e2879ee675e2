//! aiortc — a second, independent WebRTC stack — publishing into a Confab room over WHIP and
//! watching one over WHEP (`tests/peers/aiortc_whip.py`). As offerer aiortc gives every media
//! section its own ICE credentials, which the server must join under BUNDLE; the pictures must
//! come through intact both ways.

use confab_tests::aiortc::{last_picture_stamp, picture_file};
use confab_tests::{
    endpoint, join_synthetic, join_synthetic_probing, wait_for_departure, wait_for_newcomer, wait_joined,
    PictureProbe, TestServer,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const SIZE: (usize, usize) = (320, 240);

async fn aiortc(args: &[&str]) -> Value {
    confab_tests::aiortc::run("aiortc_whip.py", args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiortc_publishes_over_whip_with_per_section_ice_credentials() {
    let server = TestServer::start().await;
    let link = server.link("ingest");
    let (address, token) = endpoint(&link);
    let probe = Arc::new(PictureProbe::default());
    let (bob, mut bob_events) = join_synthetic_probing(&link, "Bob", SIZE, probe.clone());
    wait_joined(&mut bob_events).await;

    let url = format!("http://{address}/whip/ingest");
    let publisher = tokio::spawn(async move { aiortc(&["publish", &url, &token, "6"]).await });
    let stream = wait_for_newcomer(&mut bob_events, Duration::from_secs(15), "aiortc to join", &[]).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let snapshot = bob.snapshot().await.expect("call running");
    let seen = snapshot
        .participants
        .iter()
        .find(|p| p.id == stream)
        .expect("the stream in Bob's view");
    assert_eq!(seen.name, "WHIP stream");
    assert!(
        seen.frames_decoded >= 60,
        "Bob decoded too little of aiortc: {seen:?}"
    );
    assert_eq!(seen.decode_errors, 0, "{seen:?}");
    assert!(
        seen.audio_frames_audible >= 25,
        "Bob barely heard aiortc's tone: {seen:?}"
    );
    let (size, pictures) = probe.of(&stream).expect("pictures from aiortc");
    assert_eq!(size, SIZE, "the picture arrives at the size aiortc sent");
    assert!(
        pictures >= 30,
        "aiortc's moving square changed only {pictures} times"
    );

    assert_eq!(publisher.await.expect("aiortc task")["published"], true);
    wait_for_departure(
        &mut bob_events,
        Duration::from_secs(10),
        "aiortc to leave",
        &stream,
    )
    .await;
    bob.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiortc_watches_over_whep_and_decodes_the_confab_pattern_intact() {
    let server = TestServer::start().await;
    let link = server.link("broadcast");
    let (address, token) = endpoint(&link);
    let (alice, mut alice_events) = join_synthetic(&link, "Alice", SIZE, 440.0);
    wait_joined(&mut alice_events).await;

    let frame_file = picture_file("whep-frame");
    let url = format!("http://{address}/whep/broadcast?name=aiortc");
    let watched = {
        let frame_file = frame_file.to_string_lossy().into_owned();
        tokio::spawn(async move { aiortc(&["watch", &url, &token, "5", &frame_file]).await })
    };
    let watcher = wait_for_newcomer(
        &mut alice_events,
        Duration::from_secs(15),
        "the watcher to join",
        &[],
    )
    .await;
    let seen = watched.await.expect("aiortc task");
    assert!(
        seen["frames"].as_u64().unwrap_or(0) >= 60,
        "aiortc decoded too little: {seen}"
    );
    assert!(
        seen["audio_frames"].as_u64().unwrap_or(0) >= 100,
        "aiortc got too little audio: {seen}"
    );
    assert_eq!(
        (seen["width"].as_u64(), seen["height"].as_u64()),
        (Some(SIZE.0 as u64), Some(SIZE.1 as u64)),
        "{seen}"
    );
    // The last picture aiortc decoded is Alice's test pattern, stamp and all.
    assert!(last_picture_stamp(&frame_file, SIZE) > 0);

    wait_for_departure(
        &mut alice_events,
        Duration::from_secs(10),
        "the watcher to leave",
        &watcher,
    )
    .await;
    alice.leave().await;
    server.stop().await;
}
