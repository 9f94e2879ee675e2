//! Visitors come and go while one participant stays: each new visitor's video and audio reach
//! the resident intact, also when they travel in the slots (m-lines) earlier visitors left
//! behind, and each departure ends that visitor's tracks at the resident.

use confab_engine::CallEvent;
use confab_tests::{join_synthetic, wait_for, wait_joined, TestServer};
use std::time::Duration;

const SIZE: (usize, usize) = (160, 120);
const VISITS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_visitor_in_turn_is_seen_and_heard_by_the_resident() {
    let server = TestServer::start().await;
    let link = server.link("office-hours");
    let (resident, mut resident_events) = join_synthetic(&link, "Resident", SIZE, 440.0);
    wait_joined(&mut resident_events).await;

    let mut visitor_ids = Vec::new();
    for visit in 0..VISITS {
        let name = format!("Visitor {visit}");
        let (visitor, mut visitor_events) = join_synthetic(&link, &name, SIZE, 550.0);
        let id = wait_joined(&mut visitor_events).await;
        wait_for(
            &mut resident_events,
            Duration::from_secs(20),
            &format!("the resident's first frame from {name}"),
            |e| matches!(e, CallEvent::FirstFrameDecoded(from) if *from == id).then_some(()),
        )
        .await;
        // Let some seconds of media through before the visitor goes.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let report = visitor.leave().await;
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        wait_for(
            &mut resident_events,
            Duration::from_secs(2),
            &format!("the resident to see {name} leave"),
            |e| matches!(e, CallEvent::ParticipantLeft { id: left, .. } if *left == id).then_some(()),
        )
        .await;
        visitor_ids.push((name, id));
    }

    let report = resident.leave().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for (name, id) in &visitor_ids {
        let seen = report
            .participants
            .iter()
            .find(|p| p.id == *id)
            .unwrap_or_else(|| panic!("the resident never saw {name}"));
        assert!(
            seen.frames_decoded >= 40,
            "the resident decoded only {} frames of {name}",
            seen.frames_decoded
        );
        assert_eq!(seen.frames_corrupt, 0, "corrupt frames from {name}");
        assert!(
            seen.audio_frames_audible >= 50,
            "the resident barely heard {name}: {seen:?}"
        );
        assert!(seen.left.is_some(), "{name} not shown as left");
    }
    server.stop().await;
}
