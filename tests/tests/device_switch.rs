//! Devices change during a call: a camera that stops is reported to its owner (and only the
//! picture stops, the call goes on); another camera picked mid-call reaches the others at its
//! own size, decoded cleanly, without a rejoin; a camera switched on after joining with it off
//! does the same (others saw it off until then), and stopping it again lets the camera go and
//! stops the pictures; a medium the call does not send cannot be replaced.

use confab_core::{MediaKind, RoomError};
use confab_engine::{CallCommand, CallConfig, CallError, CallEvent, LocalSource};
use confab_media::pattern::TestPattern;
use confab_media::{SourceError, VideoFrame, VideoSource};
use confab_tests::{
    decoded, join_chat_only, join_synthetic_probing, synthetic_config, video_turned, wait_for, wait_joined,
    PictureProbe, TestServer,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A camera that is unplugged after `frames` pictures.
struct UnpluggedAfter {
    camera: TestPattern,
    frames: usize,
}

impl VideoSource for UnpluggedAfter {
    fn frame_interval(&self) -> Duration {
        self.camera.frame_interval()
    }
    fn size(&self) -> (usize, usize) {
        self.camera.size()
    }
    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        self.frames = self
            .frames
            .checked_sub(1)
            .ok_or(SourceError::Stopped { kind: "camera" })?;
        self.camera.next_frame()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_camera_is_reported_and_another_one_picked_mid_call_reaches_the_others() {
    let server = TestServer::start().await;
    let link = server.link("switch");
    let (alice, mut alice_events) = confab_engine::Call::start(CallConfig {
        video: Some(Box::new(UnpluggedAfter {
            camera: TestPattern::new(320, 240, 30).unwrap(),
            frames: 90,
        })),
        ..synthetic_config(&link, "Alice", (320, 240), 440.0)
    });
    let probe = Arc::new(PictureProbe::default());
    let (bob, mut bob_events) = join_synthetic_probing(&link, "Bob", (320, 240), probe.clone());
    let alice_id = wait_joined(&mut alice_events).await;
    wait_joined(&mut bob_events).await;

    let lost = wait_for(
        &mut alice_events,
        Duration::from_secs(20),
        "Alice told her camera stopped",
        |e| match e {
            CallEvent::SourceLost { kind, error } => Some((*kind, error.clone())),
            _ => None,
        },
    )
    .await;
    assert_eq!(lost, (MediaKind::Video, SourceError::Stopped { kind: "camera" }));
    let (size_before, _) = probe.of(&alice_id).expect("Bob saw Alice's first camera");
    assert_eq!(size_before, (320, 240));

    alice.command(CallCommand::ReplaceSource(LocalSource::Video(Box::new(
        TestPattern::new(160, 120, 30).unwrap(),
    ))));
    let deadline = Instant::now() + Duration::from_secs(10);
    while probe.of(&alice_id).map(|(size, _)| size) != Some((160, 120)) {
        assert!(Instant::now() < deadline, "Bob never saw Alice's new camera");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let switched = bob.snapshot().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = bob.snapshot().await.unwrap();
    let view = |s: &confab_engine::CallSnapshot| {
        s.participants
            .iter()
            .find(|p| p.id == alice_id)
            .cloned()
            .expect("Alice in Bob's view")
    };
    let (at_switch, after) = (view(&switched), view(&later));
    assert!(
        after.frames_decoded >= at_switch.frames_decoded + 20,
        "the new camera's pictures keep coming: {at_switch:?} -> {after:?}"
    );
    assert_eq!((after.frames_corrupt, after.decode_errors), (0, 0), "{after:?}");
    assert!(after.left.is_none(), "nobody left");

    let alice_final = alice.leave().await;
    assert_eq!(
        alice_final.errors,
        ["the camera stopped delivering frames"],
        "the lost camera is Alice's only error"
    );
    bob.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_medium_the_call_does_not_send_cannot_be_replaced() {
    let server = TestServer::start().await;
    let link = server.link("no-mic");
    let (carol, mut events) = join_chat_only(&link, "Carol");
    wait_joined(&mut events).await;
    carol.command(CallCommand::ReplaceSource(LocalSource::Audio(Box::new(
        confab_media::tone::Tone::new(440.0),
    ))));
    let refused = wait_for(&mut events, Duration::from_secs(5), "the refusal", |e| match e {
        CallEvent::Problem(CallError::Room(RoomError::UnknownTrack(track))) => Some(track.clone()),
        _ => None,
    })
    .await;
    assert_eq!(refused.as_str(), "mic");
    carol.leave().await;
    server.stop().await;
}

/// A camera that notes when it is let go (its light would go off).
struct NotingClose {
    camera: TestPattern,
    closed: Arc<AtomicBool>,
}

impl VideoSource for NotingClose {
    fn frame_interval(&self) -> Duration {
        self.camera.frame_interval()
    }
    fn size(&self) -> (usize, usize) {
        self.camera.size()
    }
    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        self.camera.next_frame()
    }
}

impl Drop for NotingClose {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_switched_on_after_joining_with_it_off_reaches_the_others_without_a_rejoin() {
    let server = TestServer::start().await;
    let link = server.link("camera-later");
    let (alice, mut alice_events) = confab_engine::Call::start(CallConfig {
        video: None,
        muted: vec![MediaKind::Video],
        ..synthetic_config(&link, "Alice", (320, 240), 440.0)
    });
    let alice_id = wait_joined(&mut alice_events).await;
    let probe = Arc::new(PictureProbe::default());
    let (bob, mut bob_events) = join_synthetic_probing(&link, "Bob", (320, 240), probe.clone());
    wait_joined(&mut bob_events).await;
    wait_for(
        &mut bob_events,
        Duration::from_secs(10),
        "Alice's camera shown off",
        video_turned(Some(&alice_id), true),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        probe.of(&alice_id).is_none(),
        "no picture while Alice's camera is off"
    );

    let closed = Arc::new(AtomicBool::new(false));
    alice.command(CallCommand::ReplaceSource(LocalSource::Video(Box::new(
        NotingClose {
            camera: TestPattern::new(160, 120, 15).unwrap(),
            closed: closed.clone(),
        },
    ))));
    alice.command(CallCommand::SetMuted {
        kind: MediaKind::Video,
        muted: false,
    });
    wait_for(
        &mut bob_events,
        Duration::from_secs(10),
        "Alice's camera shown on",
        video_turned(Some(&alice_id), false),
    )
    .await;
    let after = decoded(&bob, &alice_id, 20).await;
    assert_eq!(probe.of(&alice_id).map(|(size, _)| size), Some((160, 120)));
    assert_eq!((after.frames_corrupt, after.decode_errors), (0, 0), "{after:?}");
    assert!(after.left.is_none(), "Alice never left and came back");

    // She stops her video again: the camera is let go, and Bob sees it off.
    alice.command(CallCommand::SetMuted {
        kind: MediaKind::Video,
        muted: true,
    });
    alice.command(CallCommand::CloseSource(MediaKind::Video));
    wait_for(
        &mut bob_events,
        Duration::from_secs(10),
        "Alice's camera shown off again",
        video_turned(Some(&alice_id), true),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(2);
    while !closed.load(Ordering::Relaxed) {
        assert!(Instant::now() < deadline, "Alice's camera was never let go");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = decoded(&bob, &alice_id, 0).await.frames_decoded;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        decoded(&bob, &alice_id, 0).await.frames_decoded,
        stopped,
        "no pictures once stopped"
    );

    let alice_final = alice.leave().await;
    assert!(alice_final.errors.is_empty(), "{:?}", alice_final.errors);
    bob.leave().await;
    server.stop().await;
}
