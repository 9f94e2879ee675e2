//! Malformed or hostile signaling gets an error frame with a code; the server keeps serving the
//! room and the participants in it notice nothing.

use confab_core::{JoinLink, SignalErrorCode};
use confab_engine::{Call, CallEvent};
use confab_signal::native::wire::{ServerMessage, MAX_FRAME_BYTES};
use confab_tests::{join_synthetic, wait_for, wait_joined, TestServer};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(link: &JoinLink) -> Socket {
    let native = confab_tests::native(link);
    tokio_tungstenite::connect_async(native.websocket_url())
        .await
        .expect("connect")
        .0
}

async fn next_message(socket: &mut Socket) -> Option<ServerMessage> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("server answers")
        {
            Some(Ok(Message::Text(text))) => {
                return Some(ServerMessage::decode(&text).expect("valid server frame").message)
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Sends `frame` and returns the code of the error the server answers with.
async fn error_for(socket: &mut Socket, frame: String) -> SignalErrorCode {
    socket.send(Message::text(frame)).await.expect("send");
    loop {
        match next_message(socket).await {
            Some(ServerMessage::Error { code, .. }) => return code,
            Some(_) => {}
            None => panic!("connection closed without an error frame"),
        }
    }
}

fn join_frame(link: &JoinLink, token: Option<&str>, name: &str) -> String {
    let native = confab_tests::native(link);
    serde_json::json!({
        "v": 1, "type": "join", "room": native.room.as_str(),
        "token": token.unwrap_or(native.token.expose()), "name": name,
        "identity": format!("id-{name}"), "key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "proof": "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=",
    })
    .to_string()
}

async fn frames_from_others(call: &Call) -> u64 {
    let snapshot = call.snapshot().await.expect("call still running");
    snapshot.participants.iter().map(|p| p.frames_decoded).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_get_coded_errors_and_the_room_carries_on() {
    let server = TestServer::start().await;
    let link = server.link("ops");
    let (alice, mut alice_events) = join_synthetic(&link, "Alice", (320, 240), 440.0);
    let (bob, mut bob_events) = join_synthetic(&link, "Bob", (320, 240), 550.0);
    wait_joined(&mut alice_events).await;
    wait_joined(&mut bob_events).await;
    for events in [&mut alice_events, &mut bob_events] {
        wait_for(events, Duration::from_secs(20), "first frame", |e| {
            matches!(e, CallEvent::FirstFrameDecoded(_)).then_some(())
        })
        .await;
    }
    let before = (frames_from_others(&alice).await, frames_from_others(&bob).await);

    // An anonymous connection: every kind of bad frame gets its own code, and it stays open.
    let mut stranger = connect(&link).await;
    let chat = r#"{"v":1,"type":"chat","id":"m1","order":1,"conversation":"public","text":"hi"}"#;
    assert_eq!(
        error_for(&mut stranger, chat.into()).await,
        SignalErrorCode::WrongState
    );
    assert_eq!(
        error_for(&mut stranger, "{not json".into()).await,
        SignalErrorCode::BadMessage
    );
    assert_eq!(
        error_for(&mut stranger, r#"{"v":1,"type":"dance"}"#.into()).await,
        SignalErrorCode::UnknownMessage
    );
    let huge = format!(
        r#"{{"v":1,"type":"chat","id":"m2","order":2,"conversation":"public","text":"{}"}}"#,
        "x".repeat(MAX_FRAME_BYTES)
    );
    assert_eq!(error_for(&mut stranger, huge).await, SignalErrorCode::TooLarge);
    assert_eq!(
        error_for(&mut stranger, r#"{"v":1,"type":"join","room":"ops"}"#.into()).await,
        SignalErrorCode::BadMessage
    );
    let bad_key =
        join_frame(&link, None, "Mallory").replace("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "short");
    assert_eq!(
        error_for(&mut stranger, bad_key).await,
        SignalErrorCode::BadMessage
    );
    // A forged token ends that connection, and only that one.
    let forged = join_frame(&link, Some("00112233445566778899aabbccddeeff"), "Mallory");
    assert_eq!(error_for(&mut stranger, forged).await, SignalErrorCode::BadToken);
    assert!(
        next_message(&mut stranger).await.is_none(),
        "a refused connection is closed"
    );

    // A wrong protocol version is refused and closed.
    let mut old_client = connect(&link).await;
    assert_eq!(
        error_for(&mut old_client, r#"{"v":9,"type":"leave"}"#.into()).await,
        SignalErrorCode::UnsupportedVersion
    );

    // A joined client that misbehaves gets errors and keeps its seat.
    let mut mallory = connect(&link).await;
    mallory
        .send(Message::text(join_frame(&link, None, "Mallory")))
        .await
        .expect("send");
    assert!(matches!(
        next_message(&mut mallory).await,
        Some(ServerMessage::Welcome { .. })
    ));
    assert_eq!(
        error_for(&mut mallory, join_frame(&link, None, "Again")).await,
        SignalErrorCode::WrongState
    );
    let stray_answer = r#"{"v":1,"type":"sdp","kind":"answer","sdp":"v=0"}"#;
    assert_eq!(
        error_for(&mut mallory, stray_answer.into()).await,
        SignalErrorCode::WrongState
    );
    let bad_offer = r#"{"v":1,"type":"sdp","kind":"offer","sdp":"this is not sdp"}"#;
    assert_eq!(
        error_for(&mut mallory, bad_offer.into()).await,
        SignalErrorCode::MediaFailed
    );
    let mute = r#"{"v":1,"type":"mute","track":"nothing","muted":true}"#;
    assert_eq!(
        error_for(&mut mallory, mute.into()).await,
        SignalErrorCode::BadMessage
    );
    let private = r#"{"v":1,"type":"chat","id":"m3","order":3,"conversation":"secret","text":"x"}"#;
    assert_eq!(
        error_for(&mut mallory, private.into()).await,
        SignalErrorCode::BadMessage
    );
    let binary_answer = {
        mallory.send(Message::binary(vec![1, 2, 3])).await.expect("send");
        match next_message(&mut mallory).await {
            Some(ServerMessage::Error { code, .. }) => code,
            other => panic!("expected an error, got {other:?}"),
        }
    };
    assert_eq!(binary_answer, SignalErrorCode::BadMessage);
    drop(mallory);

    // Media kept flowing for the real participants, and they saw no errors and no junk chat.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = (frames_from_others(&alice).await, frames_from_others(&bob).await);
    assert!(
        after.0 >= before.0 + 30 && after.1 >= before.1 + 30,
        "media stalled: {before:?} -> {after:?}"
    );
    for (who, call) in [("Alice", alice), ("Bob", bob)] {
        let snapshot = call.leave().await;
        assert!(snapshot.errors.is_empty(), "{who} noticed: {:?}", snapshot.errors);
        assert!(
            snapshot.chat.is_empty(),
            "{who} received junk chat: {:?}",
            snapshot.chat
        );
        for remote in snapshot.participants.iter().filter(|p| p.name != "Mallory") {
            assert_eq!(remote.frames_corrupt, 0);
        }
    }
    server.stop().await;
}
