//! Muting stops a medium for everyone and tells them; unmuting resumes with intact pictures.

use confab_core::MediaKind;
use confab_engine::{Call, CallCommand, CallEvent, RemoteSnapshot};
use confab_tests::{join_synthetic, wait_for, wait_joined, TestServer};
use std::time::Duration;

async fn view_of(call: &Call, name: &str) -> RemoteSnapshot {
    let snapshot = call.snapshot().await.expect("call running");
    snapshot
        .participants
        .into_iter()
        .find(|p| p.name == name)
        .expect("participant")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_stops_media_and_is_announced_and_unmute_resumes_cleanly() {
    let server = TestServer::start().await;
    let link = server.link("mute");
    let (alice, mut alice_events) = join_synthetic(&link, "Alice", (320, 240), 440.0);
    let (bob, mut bob_events) = join_synthetic(&link, "Bob", (320, 240), 550.0);
    let alice_id = wait_joined(&mut alice_events).await;
    wait_joined(&mut bob_events).await;
    wait_for(
        &mut bob_events,
        Duration::from_secs(20),
        "Alice's first frame",
        |e| matches!(e, CallEvent::FirstFrameDecoded(id) if *id == alice_id).then_some(()),
    )
    .await;

    for kind in [MediaKind::Video, MediaKind::Audio] {
        alice.command(CallCommand::SetMuted { kind, muted: true });
        let announced = wait_for(
            &mut bob_events,
            Duration::from_secs(2),
            "the mute notice",
            |e| match e {
                CallEvent::TrackMuted {
                    participant,
                    kind: k,
                    muted,
                } if *participant == alice_id && *k == kind => Some(*muted),
                _ => None,
            },
        )
        .await;
        assert!(announced);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let muted_at = view_of(&bob, "Alice").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still_muted = view_of(&bob, "Alice").await;
    assert!(
        still_muted.frames_decoded <= muted_at.frames_decoded + 2,
        "video kept flowing: {muted_at:?} -> {still_muted:?}"
    );
    assert!(
        still_muted.audio_frames_decoded <= muted_at.audio_frames_decoded + 5,
        "audio kept flowing"
    );

    alice.command(CallCommand::SetMuted {
        kind: MediaKind::Video,
        muted: false,
    });
    alice.command(CallCommand::SetMuted {
        kind: MediaKind::Audio,
        muted: false,
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resumed = view_of(&bob, "Alice").await;
    assert!(
        resumed.frames_decoded >= still_muted.frames_decoded + 30,
        "video did not resume: {resumed:?}"
    );
    assert!(
        resumed.audio_frames_decoded >= still_muted.audio_frames_decoded + 50,
        "audio did not resume"
    );
    assert_eq!(resumed.frames_corrupt, 0);
    assert_eq!(
        resumed.decode_errors, 0,
        "resuming decoded against a missing reference"
    );

    let alice_final = alice.leave().await;
    // Bob sent ~6 s of Opus (32 kbit/s) plus the near-static pattern (~35 kbit/s); Alice sent
    // less, having been muted for 2.5 s of it.
    let (sent, received) = alice_final.media_bytes;
    assert!(
        received > 30_000 && sent > 10_000 && received > sent,
        "{:?}",
        alice_final.media_bytes
    );
    let bob_final = bob.leave().await;
    assert!(alice_final.errors.is_empty() && bob_final.errors.is_empty());
    server.stop().await;
}
