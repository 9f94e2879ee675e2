//! The first vertical slice: three headless participants on the embedded server exchange real
//! H.264 video, Opus audio and public chat over real PeerConnections on loopback.

use confab_core::ConversationId;
use confab_engine::{CallCommand, CallEvent, CallSnapshot};
use confab_tests::support::Capability::{Chat, Publish, Subscribe};
use confab_tests::{join_synthetic, wait_for, wait_joined, TestServer};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const SIZE: (usize, usize) = (320, 240);

fn public(text: &str) -> CallCommand {
    CallCommand::SendChat {
        conversation: ConversationId::Public,
        text: text.to_owned(),
    }
}

fn check_media(viewer: &str, snapshot: &CallSnapshot, expected_names: &[&str]) {
    for name in expected_names {
        let remote = snapshot
            .participants
            .iter()
            .find(|p| p.name == *name)
            .unwrap_or_else(|| panic!("{viewer} never saw {name}"));
        assert!(
            remote.frames_expected >= 60,
            "{viewer} saw only {} frames of {name}",
            remote.frames_expected
        );
        assert!(
            remote.frames_decoded * 10 >= remote.frames_expected * 9,
            "{viewer} decoded {} of {} frames from {name}",
            remote.frames_decoded,
            remote.frames_expected
        );
        assert_eq!(
            remote.frames_corrupt, 0,
            "{viewer} got corrupt frames from {name}"
        );
        assert!(
            remote.audio_frames_audible >= 25,
            "{viewer} barely heard {name}: {remote:?}"
        );
    }
}

fn check_chat(viewer: &str, snapshot: &CallSnapshot, expected: &[(&str, &str)]) {
    let got: Vec<(String, String)> = snapshot
        .chat
        .iter()
        .map(|m| (m.from_name.clone(), m.text.clone()))
        .collect();
    for (from, text) in expected {
        let count = got.iter().filter(|(f, t)| f == from && t == text).count();
        assert_eq!(count, 1, "{viewer} received '{text}' from {from} {count} times");
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "{viewer} received unexpected messages: {got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_participants_see_hear_and_chat_and_notice_a_leave() {
    let server = TestServer::start().await;
    let link = server.link("standup");
    let (alice, mut alice_events) = join_synthetic(&link, "Alice", SIZE, 440.0);
    let (bob, mut bob_events) = join_synthetic(&link, "Bob", SIZE, 550.0);
    let (carol, mut carol_events) = join_synthetic(&link, "Carol", SIZE, 660.0);
    let carol_id = wait_joined(&mut carol_events).await;
    wait_joined(&mut alice_events).await;
    wait_joined(&mut bob_events).await;

    // Everyone decodes both others before chatting.
    for (who, events) in [
        ("Alice", &mut alice_events),
        ("Bob", &mut bob_events),
        ("Carol", &mut carol_events),
    ] {
        let mut seen = HashSet::new();
        wait_for(
            events,
            Duration::from_secs(20),
            &format!("{who}'s first frames"),
            |e| {
                if let CallEvent::FirstFrameDecoded(id) = e {
                    seen.insert(id.clone());
                }
                (seen.len() == 2).then_some(())
            },
        )
        .await;
    }
    alice.command(public("hello from Alice"));
    bob.command(public("hello from Bob"));
    carol.command(public("hello from Carol"));

    // Sustained delivery with everyone present: over a 4 s window each viewer decodes at least
    // 90% of the 30 fps each sender produces.
    let calls = [("Alice", &alice), ("Bob", &bob), ("Carol", &carol)];
    let mut before = Vec::new();
    for (who, call) in calls {
        before.push((who, Instant::now(), call.snapshot().await.expect("running")));
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    for ((who, call), (_, at, earlier)) in calls.into_iter().zip(before) {
        let later = call.snapshot().await.expect("running");
        let sent_meanwhile = 30.0 * at.elapsed().as_secs_f64();
        for remote in &later.participants {
            let start = earlier
                .participants
                .iter()
                .find(|p| p.id == remote.id)
                .map_or(0, |p| p.frames_decoded);
            let got = (remote.frames_decoded - start) as f64;
            assert!(
                got >= 0.9 * sent_meanwhile,
                "{who} decoded {got} of ~{sent_meanwhile:.0} frames from {}",
                remote.name
            );
        }
    }

    let carol_left_at = Instant::now();
    let carol_final = carol.leave().await;
    for (who, events) in [("Alice", &mut alice_events), ("Bob", &mut bob_events)] {
        wait_for(
            events,
            Duration::from_secs(1),
            &format!("{who} to see Carol leave"),
            |e| match e {
                CallEvent::ParticipantLeft { id, .. } if *id == carol_id => Some(()),
                _ => None,
            },
        )
        .await;
        assert!(carol_left_at.elapsed() <= Duration::from_secs(1));
    }

    let alice_final = alice.leave().await;
    let bob_final = bob.leave().await;
    check_media("Alice", &alice_final, &["Bob", "Carol"]);
    check_media("Bob", &bob_final, &["Alice", "Carol"]);
    check_media("Carol", &carol_final, &["Alice", "Bob"]);
    check_chat(
        "Alice",
        &alice_final,
        &[("Bob", "hello from Bob"), ("Carol", "hello from Carol")],
    );
    check_chat(
        "Bob",
        &bob_final,
        &[("Alice", "hello from Alice"), ("Carol", "hello from Carol")],
    );
    check_chat(
        "Carol",
        &carol_final,
        &[("Alice", "hello from Alice"), ("Bob", "hello from Bob")],
    );
    for (who, snapshot) in [
        ("Alice", &alice_final),
        ("Bob", &bob_final),
        ("Carol", &carol_final),
    ] {
        assert!(
            snapshot.errors.is_empty(),
            "{who} reported errors: {:?}",
            snapshot.errors
        );
        assert!(snapshot.joined_ms.is_some());
    }
    let carol_seen_by_alice = alice_final
        .participants
        .iter()
        .find(|p| p.name == "Carol")
        .expect("Carol");
    assert!(
        carol_seen_by_alice.left.is_some(),
        "Alice does not show Carol as left"
    );
    server.stop().await;
    confab_tests::support::verified(
        "native",
        "Confab embedded server (this repository)",
        &[(Publish, "yes"), (Subscribe, "yes"), (Chat, "yes")],
    );
}
