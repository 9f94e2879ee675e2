//! Confab publishing over WHIP to a real third-party WHIP server: simple-whip-server in front of
//! Janus, both in a network namespace the test makes (`confab_tests::janus`). What Confab sends
//! is watched by aiortc subscribing to the Janus VideoRoom (`tests/peers/aiortc_janus.py`), so
//! the check is end to end through two other implementations. The media link is cut mid-stream:
//! Confab restarts ICE by PATCH and the stream carries on in the same session.

use confab_core::JoinLink;
use confab_engine::{Call, CallConfig, PeerConfig, Recovery};
use confab_tests::aiortc::{last_picture_stamp, picture_file};
use confab_tests::janus::{Janus, WhipServer, ROOM};
use confab_tests::netns::{TestNet, MEDIA_HOST_ADDR};
use confab_tests::support::Capability::{Publish, Reconnect};
use confab_tests::support::{debian_version, verified};
use confab_tests::{synthetic_config, wait_joined};
use std::time::Duration;

const SIZE: (usize, usize) = (320, 240);
/// How long aiortc watches.
const WATCH_SECONDS: u64 = 30;
/// When the media link is cut, and for how long (longer than ICE's 5 s to notice).
const CUT_AFTER: Duration = Duration::from_secs(5);
const CUT_FOR: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confab_publishes_through_simple_whip_server_into_janus_and_restarts_ice_in_place() {
    let net = TestNet::create_with_media_link();
    let janus = Janus::start(&net);
    let whip = WhipServer::start(&net, &janus);
    let endpoint = whip.create_endpoint("confab", "s3cret").await;

    let link = JoinLink::parse(&format!("whip+{endpoint}#token=s3cret")).expect("a WHIP link");
    let (confab, mut events) = Call::start(CallConfig {
        peer: Some(PeerConfig::bound_to(MEDIA_HOST_ADDR.parse().expect("an address"))),
        ..synthetic_config(&link, "ignored", SIZE, 440.0)
    });
    wait_joined(&mut events).await;
    assert!(whip.is_publishing("confab").await, "{}", whip.log());

    let picture = picture_file("janus-subscriber");
    let watcher = {
        let (url, picture) = (janus.websocket_url(), picture.to_string_lossy().into_owned());
        let args = [
            url,
            ROOM.to_string(),
            MEDIA_HOST_ADDR.to_owned(),
            WATCH_SECONDS.to_string(),
            picture,
        ];
        tokio::spawn(async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            confab_tests::aiortc::run("aiortc_janus.py", &args).await
        })
    };
    tokio::time::sleep(CUT_AFTER).await;
    net.cut_media();
    tokio::time::sleep(CUT_FOR).await;
    net.restore_media();
    let seen = watcher.await.expect("the aiortc subscriber");

    // aiortc decoded Confab's pattern through Janus before the cut and again after it.
    let per_second: Vec<u64> = seen["frames_per_second"]
        .as_array()
        .expect("frames per second")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    let before: u64 = per_second.iter().take(4).sum();
    // Audio comes back with the path; aiortc shows video again only some seconds later,
    // although Confab answers Janus' keyframe requests every 2 s (cause not found yet).
    let restored = usize::try_from((CUT_AFTER + CUT_FOR).as_secs()).expect("seconds");
    let after: u64 = per_second.iter().skip(restored).sum();
    assert!(before >= 60, "too little through Janus before the cut: {seen}");
    if after < 30 {
        let snapshot = confab.snapshot().await;
        panic!(
            "the stream did not come back after the cut: {seen}\n{snapshot:?}\n{}",
            whip.log()
        );
    }
    let audio = seen["audio_frames"].as_u64().unwrap_or(0);
    let audio_expected = 50 * (WATCH_SECONDS - CUT_FOR.as_secs());
    assert!(
        audio * 10 >= audio_expected * 8,
        "audio did not come back with the path: {seen}"
    );
    assert_eq!(seen["publisher"], "WHIP Publisher 1234", "{seen}");
    assert_eq!(
        (seen["width"].as_u64(), seen["height"].as_u64()),
        (Some(320), Some(240)),
        "{seen}"
    );
    assert!(last_picture_stamp(&picture, SIZE) > 0);

    // The path came back by an ICE restart in the same WHIP session, not a new one.
    let snapshot = confab.snapshot().await.expect("the call");
    assert!(snapshot.ice_restarts >= 1, "{snapshot:?}");
    let hows: Vec<Recovery> = snapshot.reconnections.iter().map(|r| r.how).collect();
    assert_eq!(
        hows,
        [Recovery::MediaPathRestored],
        "{snapshot:?}\n{}",
        whip.log()
    );
    assert!(whip.log().contains("ICE restart"), "{}", whip.log());

    // Leaving DELETEs the session: the endpoint is free again at once.
    confab.leave().await;
    assert!(!whip.is_publishing("confab").await, "{}", whip.log());
    let server = format!(
        "simple-whip-server {} + Janus {} (Debian)",
        debian_version("simple-whip-server"),
        debian_version("janus")
    );
    verified(
        "WHIP/WHEP client",
        &server,
        &[(Publish, "yes (WHIP)"), (Reconnect, "yes (ICE restart by PATCH)")],
    );
}
