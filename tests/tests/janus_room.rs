//! Confab in a room on a real Janus (VideoRoom + TextRoom), started by the test in a network
//! namespace (`confab_tests::janus`): two Confab clients decode each other's video through
//! Janus, chat in public and in private (TextRoom whispers), and a third who joins later sees
//! the public conversation going on but none of the private one. When one publisher leaves and
//! another arrives, the newcomer is decoded in the subscriptions already running.

use confab_core::JoinLink;
use confab_tests::janus::{join, verified_on_janus, Janus, ROOM};
use confab_tests::netns::TestNet;
use confab_tests::support::Capability::{Chat, PrivateChat, Publish, Subscribe};
use confab_tests::{
    decoded, latecomer_hears_only_public, public_and_private_chat, wait_for_departure, wait_for_newcomer,
    wait_joined,
};
use std::time::Duration;

const ALICE: (usize, usize) = (320, 240);
const BOB: (usize, usize) = (352, 288);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_confab_clients_meet_in_a_janus_room_and_a_latecomer_sees_no_private_message() {
    let net = TestNet::create_with_media_link();
    let janus = Janus::start(&net);
    let link =
        JoinLink::parse(&format!("janus+{}/#room={ROOM}", janus.websocket_url())).expect("a Janus link");

    let (alice, mut alice_events) = join(&link, "Alice", Some(ALICE));
    let alice_id = wait_joined(&mut alice_events).await;
    let (bob, mut bob_events) = join(&link, "Bob", Some(BOB));
    let bob_id = wait_joined(&mut bob_events).await;
    let bob_seen = wait_for_newcomer(&mut alice_events, Duration::from_secs(10), "Bob", &[]).await;
    let alice_seen = wait_for_newcomer(&mut bob_events, Duration::from_secs(10), "Alice", &[]).await;
    assert_eq!((bob_seen, alice_seen), (bob_id.clone(), alice_id.clone()));

    // Each decodes the other's pattern through Janus: intact, at the size it was sent.
    let at_alice = decoded(&alice, &bob_id, 60).await;
    let at_bob = decoded(&bob, &alice_id, 60).await;
    for seen in [&at_alice, &at_bob] {
        assert_eq!((seen.frames_corrupt, seen.decode_errors), (0, 0), "{seen:?}");
    }
    assert_eq!(at_alice.name, "Bob");
    assert_eq!(at_bob.name, "Alice");

    // Public and private chat over TextRoom.
    let alice_view = alice.snapshot().await.expect("Alice's call");
    let (sent, received) = alice_view.media_bytes;
    assert!(
        sent > 10_000 && received > 10_000,
        "a call in progress reports what its connections carried: {alice_view:?}"
    );
    let private = public_and_private_chat(&alice, &mut alice_events, &bob, &mut bob_events, &bob_id).await;

    // Carol joins (chat only) and sees both; what is said from now on in public reaches her,
    // what is whispered does not.
    let (carol, mut carol_events) = join(&link, "Carol", None);
    wait_joined(&mut carol_events).await;
    for _ in 0..2 {
        wait_for_newcomer(
            &mut carol_events,
            Duration::from_secs(5),
            "someone already there",
            &[],
        )
        .await;
    }
    wait_for_newcomer(&mut alice_events, Duration::from_secs(10), "Carol", &[&bob_id]).await;
    let carol_view =
        latecomer_hears_only_public(&alice, &bob, &mut bob_events, &carol, &mut carol_events, &private).await;
    let names: Vec<&str> = carol_view.participants.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"Alice") && names.contains(&"Bob"), "{names:?}");

    // Bob leaves: the others see him go. Dan arrives with video: Janus gives him the places
    // Bob's streams had in Alice's and Carol's subscriptions, and both decode him.
    let bob_final = bob.leave().await;
    assert!(bob_final.errors.is_empty(), "{:?}", bob_final.errors);
    wait_for_departure(
        &mut alice_events,
        Duration::from_secs(5),
        "Bob's departure",
        &bob_id,
    )
    .await;
    let (dan, mut dan_events) = join(&link, "Dan", Some(BOB));
    let dan_id = wait_joined(&mut dan_events).await;
    for (viewer, who) in [(&alice, "Alice"), (&carol, "Carol")] {
        let seen = decoded(viewer, &dan_id, 60).await;
        assert_eq!(
            (seen.name.as_str(), seen.frames_corrupt),
            ("Dan", 0),
            "{who}: {seen:?}"
        );
    }
    dan.leave().await;
    carol.leave().await;
    janus.leave_without_problems(alice).await;
    verified_on_janus(&[
        (Publish, "yes"),
        (Subscribe, "yes (one multistream subscription)"),
        (Chat, "yes (TextRoom)"),
        (PrivateChat, "yes (whispers to one person)"),
    ]);
}
