//! Confab in a mesh room over a real PeerJS server (npm `peer`, started by the test on
//! loopback): Confab clients decode each other's video peer to peer, chat in public and in
//! private, a latecomer sees none of the private messages, mute is seen, the call goes on while
//! the server is down and everyone gets back on it, departures are noticed, and a taken id is
//! refused with a sentence. aiortc, as a PeerJS peer already in the room, answers Confab's
//! offers (audio, video and a data channel): pictures decoded both ways, chat both ways.

use confab_core::{ConversationId, JoinLink, LeaveReason, MediaKind};
use confab_engine::{Call, CallConfig, CallEvent, Identity};
use confab_signal::peerjs::peer_id_for;
use confab_tests::aiortc::{last_picture_stamp, picture_file};
use confab_tests::peerjs::PeerJsServer;
use confab_tests::support::verified;
use confab_tests::support::Capability::{Chat, PrivateChat, Publish, Reconnect, Subscribe};
use confab_tests::{
    decoded, join_chat_only, latecomer_hears_only_public, public_and_private_chat, received_text, say,
    synthetic_config, wait_for, wait_for_departure, wait_for_newcomer, wait_joined,
};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const ROOM: &str = "standup";
const ALICE: (usize, usize) = (320, 240);
const BOB: (usize, usize) = (352, 288);

fn room_link(server: &PeerJsServer) -> JoinLink {
    JoinLink::parse(&format!("peerjs+{}#room={ROOM}", server.base_url())).expect("a PeerJS link")
}

fn join(link: &JoinLink, name: &str, size: (usize, usize)) -> (Call, UnboundedReceiver<CallEvent>) {
    Call::start(synthetic_config(link, name, size, 440.0))
}

/// Asserts that the only problem a participant had was losing the server for a while.
fn only_the_outage(errors: &[String], server: &PeerJsServer) {
    assert!(
        errors
            .iter()
            .all(|e| e.contains("connection to the meeting server was lost")),
        "{errors:?}\n{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confab_clients_meet_in_a_peerjs_mesh_and_keep_talking_while_the_server_is_down() {
    let mut server = PeerJsServer::start();
    let link = room_link(&server);

    let (alice, mut alice_events) = join(&link, "Alice", ALICE);
    let alice_id = wait_joined(&mut alice_events).await;
    let (bob, mut bob_events) = join(&link, "Bob", BOB);
    let bob_id = wait_joined(&mut bob_events).await;
    let bob_seen = wait_for_newcomer(&mut alice_events, Duration::from_secs(10), "Bob", &[]).await;
    let alice_seen = wait_for_newcomer(&mut bob_events, Duration::from_secs(10), "Alice", &[]).await;
    assert_eq!((bob_seen, alice_seen), (bob_id.clone(), alice_id.clone()));

    // Each decodes the other's pattern, peer to peer: intact, at the size it was sent.
    for (viewer, who, name) in [(&alice, &bob_id, "Bob"), (&bob, &alice_id, "Alice")] {
        let seen = decoded(viewer, who, 60).await;
        assert_eq!((seen.frames_corrupt, seen.decode_errors), (0, 0), "{seen:?}");
        assert_eq!(seen.name, name);
    }

    // Public and private chat over the data connections.
    let private = public_and_private_chat(&alice, &mut alice_events, &bob, &mut bob_events, &bob_id).await;

    // Carol joins (chat only) and meets both; what is said in public from now on reaches her,
    // what is said in private does not.
    let (carol, mut carol_events) = join_chat_only(&link, "Carol");
    wait_joined(&mut carol_events).await;
    for _ in 0..2 {
        wait_for_newcomer(
            &mut carol_events,
            Duration::from_secs(10),
            "someone already there",
            &[],
        )
        .await;
    }
    wait_for_newcomer(&mut alice_events, Duration::from_secs(10), "Carol", &[&bob_id]).await;
    wait_for_newcomer(&mut bob_events, Duration::from_secs(10), "Carol", &[&alice_id]).await;
    latecomer_hears_only_public(&alice, &bob, &mut bob_events, &carol, &mut carol_events, &private).await;

    // Alice turns her camera off: Bob is told.
    alice.command(confab_engine::CallCommand::SetMuted {
        kind: MediaKind::Video,
        muted: true,
    });
    wait_for(
        &mut bob_events,
        Duration::from_secs(5),
        "Alice's camera off",
        |e| match e {
            CallEvent::TrackMuted {
                participant,
                kind: MediaKind::Video,
                muted: true,
            } if *participant == alice_id => Some(()),
            _ => None,
        },
    )
    .await;

    // The server goes away: the call does not. Bob's picture keeps arriving at Alice, chat still
    // flows, and once the server is back a newcomer finds everyone.
    server.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = decoded(&alice, &bob_id, 0).await.frames_decoded;
    say(&bob, &ConversationId::Public, "still here");
    assert_eq!(
        received_text(&mut carol_events, "a message while the server is down").await,
        (ConversationId::Public, "still here".into())
    );
    let during = decoded(&alice, &bob_id, before + 30).await;
    assert_eq!(during.frames_corrupt, 0, "{during:?}");
    server.resume();
    let (dan, mut dan_events) = join(&link, "Dan", BOB);
    let dan_id = wait_joined(&mut dan_events).await;
    for _ in 0..3 {
        wait_for_newcomer(
            &mut dan_events,
            Duration::from_secs(20),
            "everyone, back on the server",
            &[],
        )
        .await;
    }
    for viewer in [&alice, &bob] {
        let seen = decoded(viewer, &dan_id, 30).await;
        assert_eq!((seen.name.as_str(), seen.frames_corrupt), ("Dan", 0), "{seen:?}");
    }
    let alice_view = alice.snapshot().await.expect("Alice's call");
    assert!(
        !alice_view.reconnections.is_empty(),
        "Alice got back on the server: {alice_view:?}"
    );

    // Bob leaves: everyone sees him go, as having hung up.
    let bob_final = bob.leave().await;
    only_the_outage(&bob_final.errors, &server);
    for (events, who) in [(&mut alice_events, "Alice"), (&mut carol_events, "Carol")] {
        let reason = wait_for_departure(events, Duration::from_secs(5), who, &bob_id).await;
        assert_eq!(reason, LeaveReason::Hangup, "{who}");
    }
    dan.leave().await;
    let carol_final = carol.leave().await;
    only_the_outage(&carol_final.errors, &server);
    assert!(carol_final.participants.iter().any(|p| p.id == alice_id));
    let alice_final = alice.leave().await;
    only_the_outage(&alice_final.errors, &server);
    verified(
        "PeerJS mesh",
        &format!("PeerJS server {} (npm peer)", PeerJsServer::version()),
        &[
            (Publish, "yes (to each peer)"),
            (Subscribe, "yes (from each peer)"),
            (Chat, "yes (data channels, peer to peer)"),
            (PrivateChat, "yes (to the recipients' data channels alone)"),
            (
                Reconnect,
                "yes (the call goes on without the server; back with the same id and token)",
            ),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_someone_else_holds_is_refused_with_a_sentence() {
    let server = PeerJsServer::start();
    let link = room_link(&server);
    let eve = Identity::generate();
    let eve_id = peer_id_for(ROOM, &eve.id);
    let squatter = format!(
        "ws://127.0.0.1:{}/peerjs?key=peerjs&id={eve_id}&token=not-eves",
        server
            .base_url()
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .expect("a port")
    );
    let (_held, _) = tokio_tungstenite::connect_async(squatter.as_str())
        .await
        .expect("the squatter connects");
    server.wait_listed(eve_id.as_str()).await;
    let (call, mut events) = Call::start(CallConfig {
        identity: Some(eve),
        ..synthetic_config(&link, "Eve", ALICE, 440.0)
    });
    let error = wait_for(&mut events, Duration::from_secs(10), "the refusal", |e| match e {
        CallEvent::Ended { error, .. } => Some(error.as_ref().map(ToString::to_string).unwrap_or_default()),
        CallEvent::Joined { .. } => panic!("joined under a taken id"),
        _ => None,
    })
    .await;
    assert!(
        error.contains("already in this meeting under your identity"),
        "{error}"
    );
    drop(call);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiortc_answers_confab_offers_with_audio_video_and_chat() {
    let server = PeerJsServer::start();
    let link = room_link(&server);
    let aiortc_id = format!("{ROOM}-a10a10a10a10a10a");
    let frames = picture_file("peerjs-aiortc");
    let (base, file) = (server.base_url(), frames.to_string_lossy().into_owned());
    let args = [base.as_str(), aiortc_id.as_str(), "12", file.as_str()];
    let confab_side = async {
        server.wait_listed(&aiortc_id).await;
        let (alice, mut alice_events) = join(&link, "Alice", ALICE);
        wait_joined(&mut alice_events).await;
        let aiortc = wait_for_newcomer(&mut alice_events, Duration::from_secs(10), "aiortc", &[]).await;
        assert_eq!(aiortc.as_str(), aiortc_id);
        let seen = decoded(&alice, &aiortc, 60).await;
        assert_eq!(
            (seen.name.as_str(), seen.decode_errors),
            ("aiortc", 0),
            "{seen:?}"
        );
        say(&alice, &ConversationId::Public, "hello aiortc");
        let (conversation, text) = received_text(&mut alice_events, "aiortc's echo").await;
        assert_eq!(
            (conversation, text.as_str()),
            (ConversationId::Public, "echo: hello aiortc")
        );
        alice
    };
    let (heard, alice) = tokio::join!(confab_tests::aiortc::run("aiortc_peerjs.py", &args), confab_side);
    let alice_final = alice.leave().await;
    assert!(alice_final.errors.is_empty(), "{:?}", alice_final.errors);
    assert_eq!(heard["hello"], "Alice", "{heard}");
    assert_eq!(heard["chat"], serde_json::json!(["hello aiortc"]), "{heard}");
    assert!(heard["frames"].as_u64().unwrap_or(0) >= 60, "{heard}");
    assert!(heard["audio_frames"].as_u64().unwrap_or(0) > 0, "{heard}");
    assert_eq!(
        (heard["width"].as_u64(), heard["height"].as_u64()),
        (Some(320), Some(240)),
        "{heard}"
    );
    last_picture_stamp(&frames, ALICE);
}
