//! Confab as a WHIP/WHEP client (`whip+…`/`whep+…` links) against the embedded server's real
//! endpoints over loopback: what it publishes reaches a room member intact, what it watches is
//! the room's featured publisher decoded intact, leaving ends its sessions, and refusals end the
//! call with a sentence that says what to do.

use confab_core::{JoinLink, LeaveReason};
use confab_engine::{CallError, CallEvent};
use confab_signal::whip::client::StreamError;
use confab_tests::support::Capability::{Chat, Publish, Subscribe};
use confab_tests::{
    endpoint, join_synthetic, wait_for, wait_for_departure, wait_for_newcomer, wait_joined, TestServer,
};
use std::time::Duration;

const ALICE: (usize, usize) = (320, 240);
const CONFAB_STREAM: (usize, usize) = (640, 360);

fn stream_link(text: &str) -> JoinLink {
    let link = JoinLink::parse(text).expect("a stream link");
    assert!(matches!(link, JoinLink::Stream(_)), "{text}");
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confab_publishes_over_whip_and_watches_over_whep_in_one_link() {
    let server = TestServer::start().await;
    let room = server.link("studio");
    let (address, token) = endpoint(&room);
    let (alice, mut alice_events) = join_synthetic(&room, "Alice", ALICE, 440.0);
    wait_joined(&mut alice_events).await;

    let link = stream_link(&format!(
        "whip+http://{address}/whip/studio?name=Confab%20encoder#token={token}&whep=/whep/studio?name=Confab%20monitor"
    ));
    let (streamer, mut streamer_events) = join_synthetic(&link, "ignored", CONFAB_STREAM, 660.0);
    wait_joined(&mut streamer_events).await;
    let watched = wait_for_newcomer(
        &mut streamer_events,
        Duration::from_secs(5),
        "the watched stream",
        &[],
    )
    .await;

    // Alice sees the publisher and the monitor join, by the names in the link.
    let first = wait_for_newcomer(&mut alice_events, Duration::from_secs(10), "the encoder", &[]).await;
    let second = wait_for_newcomer(
        &mut alice_events,
        Duration::from_secs(10),
        "the monitor",
        &[&first],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;

    let alice_view = alice.snapshot().await.expect("Alice's call");
    let name_of = |id| {
        alice_view
            .participants
            .iter()
            .find(|p| &p.id == id)
            .expect("in Alice's view")
    };
    let (encoder, monitor) = if name_of(&first).name == "Confab encoder" {
        (name_of(&first), name_of(&second))
    } else {
        (name_of(&second), name_of(&first))
    };
    assert_eq!(encoder.name, "Confab encoder");
    assert_eq!(monitor.name, "Confab monitor");
    assert!(
        encoder.frames_decoded >= 60,
        "Alice decoded too little of the WHIP stream: {encoder:?}"
    );
    assert_eq!(
        (encoder.frames_corrupt, encoder.decode_errors),
        (0, 0),
        "{encoder:?}"
    );
    assert!(
        encoder.audio_frames_audible >= 50,
        "Alice barely heard the WHIP stream: {encoder:?}"
    );

    // The WHEP side shows Alice's pattern (the room's first publisher), intact, with her tone.
    let streamer_view = streamer.snapshot().await.expect("the streamer's call");
    assert_eq!(streamer_view.participants.len(), 1, "{streamer_view:?}");
    let stream = &streamer_view.participants[0];
    assert_eq!(stream.id, watched);
    assert_eq!(stream.name, format!("{}/whep/studio", address.ip()));
    assert!(
        stream.frames_decoded >= 60,
        "too little of the WHEP stream decoded: {stream:?}"
    );
    assert_eq!(
        (stream.frames_corrupt, stream.decode_errors),
        (0, 0),
        "{stream:?}"
    );
    assert!(
        stream.audio_frames_audible >= 50,
        "the WHEP stream's tone barely heard: {stream:?}"
    );
    assert!(streamer_view.frames_sent >= 60, "{streamer_view:?}");

    // Chat is not something WHIP carries: the user is told, the call goes on.
    streamer.command(confab_engine::CallCommand::SendChat {
        conversation: confab_core::ConversationId::Public,
        text: "hello?".into(),
    });
    let problem = wait_for(
        &mut streamer_events,
        Duration::from_secs(2),
        "the chat refusal",
        |e| match e {
            CallEvent::Problem(error) => Some(error.to_string()),
            _ => None,
        },
    )
    .await;
    assert!(problem.contains("chat"), "{problem}");

    // Leaving DELETEs both sessions: Alice sees both go at once, not after a timeout.
    let ended = streamer.leave().await;
    assert_eq!(ended.ended, Some(LeaveReason::Hangup));
    for who in [&first, &second] {
        wait_for_departure(
            &mut alice_events,
            Duration::from_secs(3),
            "the stream sessions to end",
            who,
        )
        .await;
    }
    alice.leave().await;
    server.stop().await;
    confab_tests::support::verified(
        "WHIP/WHEP client",
        "Confab embedded server (this repository)",
        &[
            (Publish, "yes (WHIP)"),
            (Subscribe, "yes (WHEP)"),
            (Chat, "no (not in WHIP/WHEP; the user is told)"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whep_watcher_follows_the_room_when_the_speaker_leaves() {
    let server = TestServer::start().await;
    let room = server.link("handover");
    let (address, token) = endpoint(&room);
    let (alice, mut alice_events) = join_synthetic(&room, "Alice", ALICE, 440.0);
    wait_joined(&mut alice_events).await;
    let (carol, mut carol_events) = join_synthetic(&room, "Carol", ALICE, 550.0);
    wait_joined(&mut carol_events).await;

    let link = stream_link(&format!("whep+http://{address}/whep/handover#token={token}"));
    let (viewer, mut viewer_events) = confab_tests::join_chat_only(&link, "viewer");
    wait_joined(&mut viewer_events).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = viewer.snapshot().await.expect("viewer").participants[0].frames_decoded;
    assert!(before >= 45, "too little decoded before the handover: {before}");

    alice.leave().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = viewer.snapshot().await.expect("viewer");
    let stream = &after.participants[0];
    assert!(
        stream.frames_decoded >= before + 45,
        "the stream froze when its speaker left: {before} then {stream:?}"
    );
    assert_eq!(stream.frames_corrupt, 0, "{stream:?}");
    assert_eq!(after.frames_sent, 0, "a watcher sends nothing");
    viewer.leave().await;
    carol.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_end_the_call_with_a_sentence_that_says_what_to_do() {
    let server = TestServer::start().await;
    let room = server.link("guarded");
    let (address, token) = endpoint(&room);
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("address").port()
    };
    let cases = [
        (
            format!("whip+http://{address}/whip/guarded#token=wrong"),
            StreamError::TokenRefused,
        ),
        (
            format!("whip+http://{address}/whip/guarded"),
            StreamError::TokenRefused,
        ),
        (
            format!("whep+http://{address}/nowhere#token={token}"),
            StreamError::NotFound(format!("http://{address}/nowhere")),
        ),
    ];
    for (text, expected) in cases {
        let (call, mut events) = join_synthetic(&stream_link(&text), "x", ALICE, 440.0);
        let error = wait_for(&mut events, Duration::from_secs(10), "the refusal", |e| match e {
            CallEvent::Ended { error, .. } => Some(error.clone()),
            CallEvent::Joined { .. } => panic!("{text} was let in"),
            _ => None,
        })
        .await;
        match error {
            Some(CallError::Stream(error)) => assert_eq!(error, expected, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
        let snapshot = call.finished().await;
        assert_eq!(snapshot.ended, Some(LeaveReason::Refused));
        assert_eq!(
            snapshot.errors.len(),
            1,
            "one sentence, not a cascade: {:?}",
            snapshot.errors
        );
    }

    let nobody = stream_link(&format!("whip+http://127.0.0.1:{closed_port}/whip/x#token=t"));
    let (call, _events) = join_synthetic(&nobody, "x", ALICE, 440.0);
    let snapshot = call.finished().await;
    assert_eq!(snapshot.ended, Some(LeaveReason::ConnectionLost));
    let sentence = &snapshot.errors[0];
    assert!(
        sentence.starts_with("could not reach the stream server"),
        "{sentence}"
    );
    assert!(!sentence.contains("#token"), "{sentence}");
    server.stop().await;
}
