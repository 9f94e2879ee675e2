//! Confab on a real Janus when things go wrong on the media path (Janus in a network namespace,
//! `confab_tests::janus`): a connection Janus hangs up — as it does when ICE or DTLS fails on
//! its side — is made again without anyone seeing us leave, and a narrow uplink lowers the
//! rate we send video at until it fits, so the picture keeps arriving.

use confab_core::{ConversationId, JoinLink};
use confab_engine::{Call, CallConfig, CallEvent, Recovery};
use confab_media::h264::VideoEncoderConfig;
use confab_media::pattern::TestPattern;
use confab_tests::janus::{join, join_with, verified_on_janus, Janus, ROOM};
use confab_tests::janus_admin::{hang_up, JanusConnection};
use confab_tests::netns::TestNet;
use confab_tests::support::Capability::Reconnect;
use confab_tests::{
    decoded, public_and_private_chat, say, synthetic_config, wait_for, wait_for_newcomer, wait_joined,
};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// The test network's addresses are fixed: one test at a time makes it.
static ONE_NETWORK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn janus_link(janus: &Janus) -> JoinLink {
    JoinLink::parse(&format!("janus+{}/#room={ROOM}", janus.websocket_url())).expect("a Janus link")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_janus_hangs_up_are_made_again_and_the_call_goes_on() {
    let _network = ONE_NETWORK.lock().await;
    let net = TestNet::create_with_media_link();
    let janus = Janus::start(&net);
    let link = janus_link(&janus);
    let (alice, mut alice_events) = join(&link, "Alice", Some((320, 240)));
    let alice_id = wait_joined(&mut alice_events).await;
    let (bob, mut bob_events) = join(&link, "Bob", Some((352, 288)));
    let bob_id = wait_joined(&mut bob_events).await;
    wait_for_newcomer(&mut alice_events, Duration::from_secs(10), "Bob", &[]).await;
    wait_for_newcomer(&mut bob_events, Duration::from_secs(10), "Alice", &[]).await;
    decoded(&bob, &alice_id, 30).await;
    let at_alice = decoded(&alice, &bob_id, 30).await.frames_decoded;

    // Janus drops Alice's subscription: a new one brings Bob's picture back to her.
    hang_up(alice_id.as_str(), JanusConnection::Subscriber).await;
    let seen = decoded(&alice, &bob_id, at_alice + 60).await;
    assert_eq!(seen.frames_corrupt, 0, "{seen:?}");

    // Janus drops Alice's chat connection (which takes her out of the TextRoom): she joins it
    // again, and what she says — sent at once, before she is back — reaches Bob.
    hang_up(alice_id.as_str(), JanusConnection::Chat).await;
    say(&alice, &ConversationId::Public, "still here?");
    let across = wait_for(
        &mut bob_events,
        Duration::from_secs(15),
        "Alice's message across the chat reconnection",
        |e| match e {
            CallEvent::ChatReceived(m) => Some((m.conversation.clone(), m.text.clone())),
            _ => None,
        },
    )
    .await;
    assert_eq!(across, (ConversationId::Public, "still here?".into()));
    public_and_private_chat(&alice, &mut alice_events, &bob, &mut bob_events, &bob_id).await;

    // Janus drops Alice's publication: she publishes again and Bob sees her again.
    let at_bob = decoded(&bob, &alice_id, 0).await.frames_decoded;
    hang_up(alice_id.as_str(), JanusConnection::Publisher).await;
    let seen = decoded(&bob, &alice_id, at_bob + 60).await;
    assert_eq!(seen.frames_corrupt, 0, "{seen:?}");

    // Nobody saw anyone leave; Alice's report shows three connections made again, no error.
    let alice_view = alice.snapshot().await.expect("Alice's call");
    let bob_view = bob.snapshot().await.expect("Bob's call");
    for (view, other) in [(&alice_view, &bob_id), (&bob_view, &alice_id)] {
        let seen = view
            .participants
            .iter()
            .find(|p| &p.id == other)
            .expect("the other");
        assert_eq!(seen.left_ms, None, "{view:?}");
    }
    let how: Vec<Recovery> = alice_view.reconnections.iter().map(|r| r.how).collect();
    assert_eq!(how, [Recovery::MediaReconnected; 3], "{alice_view:?}");
    bob.leave().await;
    janus.leave_without_problems(alice).await;
    verified_on_janus(&[(
        Reconnect,
        "partly (connections Janus hangs up are made again; a lost WebSocket ends the call)",
    )]);
}

/// Joins with 640x360 video whose grain makes it cost what a camera's picture does (the plain
/// pattern compresses to a few dozen kbit/s).
fn join_grainy(link: &JoinLink, name: &str) -> (Call, UnboundedReceiver<CallEvent>) {
    let (width, height) = (640, 360);
    join_with(CallConfig {
        video: Some(Box::new(
            TestPattern::new(width, height, 30)
                .expect("a pattern")
                .with_grain(),
        )),
        ..synthetic_config(link, name, (width, height), 440.0)
    })
}

/// Waits up to 30 s for the rate `call` encodes its video at to be `what` (`wanted`); returns
/// the rate and how long it took.
async fn wait_for_rate(call: &Call, wanted: impl Fn(u32) -> bool, what: &str) -> (u32, Duration) {
    let started = tokio::time::Instant::now();
    loop {
        let rate = call
            .snapshot()
            .await
            .expect("a running call")
            .video_send_bitrate_bps;
        if wanted(rate) {
            return (rate, started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the video rate is still {rate} bit/s, not {what}, 30 s on"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_uplink_lowers_the_send_rate_until_the_picture_gets_through() {
    let _network = ONE_NETWORK.lock().await;
    let net = TestNet::create_with_media_link();
    let janus = Janus::start(&net);
    let link = janus_link(&janus);
    let (alice, mut alice_events) = join_grainy(&link, "Alice");
    let alice_id = wait_joined(&mut alice_events).await;
    let (bob, mut bob_events) = join_grainy(&link, "Bob");
    wait_joined(&mut bob_events).await;
    wait_for_newcomer(&mut bob_events, Duration::from_secs(10), "Alice", &[]).await;
    decoded(&bob, &alice_id, 30).await;
    let start_rate = VideoEncoderConfig::for_size(640, 360, 30).bitrate_bps;

    // Both publish about 480 kbit/s of video; the uplink to Janus now carries 500 kbit/s in all.
    net.narrow_media(500);
    let (lowered, lowering) =
        wait_for_rate(&alice, |rate| rate * 2 < start_rate, "below half its start").await;
    // At the lowered rate Bob keeps decoding Alice: 60 more frames, none corrupt.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = decoded(&bob, &alice_id, 0).await;
    let after = decoded(&bob, &alice_id, before.frames_decoded + 60).await;
    assert_eq!(after.frames_corrupt, before.frames_corrupt, "{after:?}");

    // The uplink widens again: the rate climbs back.
    net.widen_media();
    let (recovered, recovering) = wait_for_rate(
        &alice,
        |rate| rate > lowered * 3 / 2,
        "1.5 times the lowered rate",
    )
    .await;
    eprintln!("| Alice's video rate | kbit/s | after |");
    eprintln!("| --- | --- | --- |");
    eprintln!("| start (640x360, 30 fps) | {} | |", start_rate / 1000);
    eprintln!(
        "| uplink narrowed to 500 kbit/s | {} | {lowering:.1?} |",
        lowered / 1000
    );
    eprintln!("| uplink widened | {} | {recovering:.1?} |", recovered / 1000);
    bob.leave().await;
    janus.leave_without_problems(alice).await;
}
