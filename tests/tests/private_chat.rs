//! Private chat over the embedded server with real clients: it reaches exactly its recipients,
//! a participant who joins later sees none of it, a reply to someone who left fails loudly and
//! reaches nobody, and no log line anywhere carries private plaintext.

use confab_core::{ConversationId, DeliveryState, IdentityId, ParticipantId, PrivateMembers, RoomError};
use confab_engine::{Call, CallCommand, CallError, CallEvent, CallSnapshot};
use confab_tests::{join_chat_only, wait_for, wait_joined, TestServer};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const WAIT: Duration = Duration::from_secs(5);

/// Everything every layer logs at TRACE in this process (server and clients alike).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_trace_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    captured
}

async fn identity_of(call: &Call) -> IdentityId {
    call.snapshot()
        .await
        .and_then(|s| s.identity)
        .expect("a running call knows its identity")
}

fn private(members: &[&IdentityId]) -> ConversationId {
    ConversationId::Private(PrivateMembers::new(members.iter().map(|m| (*m).clone())).expect("two members"))
}

fn say(call: &Call, conversation: &ConversationId, text: &str) {
    call.command(CallCommand::SendChat {
        conversation: conversation.clone(),
        text: text.to_owned(),
    });
}

async fn received(events: &mut UnboundedReceiver<CallEvent>, what: &str) -> confab_core::ChatMessage {
    wait_for(events, WAIT, what, |e| match e {
        CallEvent::ChatReceived(m) => Some(m.clone()),
        _ => None,
    })
    .await
}

async fn delivered(events: &mut UnboundedReceiver<CallEvent>, to: &IdentityId) {
    wait_for(events, WAIT, "a delivery acknowledgement", |e| {
        matches!(e, CallEvent::ChatDelivered { to: t, .. } if t == to).then_some(())
    })
    .await;
}

fn texts(snapshot: &CallSnapshot) -> Vec<(ConversationId, String)> {
    snapshot
        .chat
        .iter()
        .map(|m| (m.conversation.clone(), m.text.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_messages_reach_exactly_their_recipients_and_never_widen() {
    let logs = capture_trace_logs();
    let server = TestServer::start().await;
    let link = server.link("private");
    let (alice, mut alice_events) = join_chat_only(&link, "Alice");
    let (bob, mut bob_events) = join_chat_only(&link, "Bob");
    wait_joined(&mut alice_events).await;
    let bob_session = wait_joined(&mut bob_events).await;
    // Joins race: Alice may only now learn that Bob is here. Sending earlier would be refused.
    wait_for(&mut alice_events, WAIT, "Alice to see Bob", |e| {
        matches!(e, CallEvent::ParticipantJoined(id) if *id == bob_session).then_some(())
    })
    .await;
    let (alice_id, bob_id) = (identity_of(&alice).await, identity_of(&bob).await);
    let alice_bob = private(&[&alice_id, &bob_id]);

    // Scenario 1: Alice and Bob talk privately; Carol joins mid-conversation.
    say(&alice, &alice_bob, "first secret from Alice");
    let got = received(&mut bob_events, "Bob to receive the first secret").await;
    assert_eq!(
        (got.conversation.clone(), got.text.as_str()),
        (alice_bob.clone(), "first secret from Alice")
    );
    assert_eq!(got.from_identity, alice_id, "Bob can tell who sent it");
    delivered(&mut alice_events, &bob_id).await;

    let (carol, mut carol_events) = join_chat_only(&link, "Carol");
    let carol_session: ParticipantId = wait_joined(&mut carol_events).await;
    wait_for(&mut alice_events, WAIT, "Alice to see Carol", |e| {
        matches!(e, CallEvent::ParticipantJoined(id) if *id == carol_session).then_some(())
    })
    .await;
    say(&alice, &alice_bob, "second secret from Alice");
    say(&bob, &alice_bob, "secret reply from Bob");
    say(&carol, &ConversationId::Public, "hello everyone, Carol here");
    let (mut got_secret, mut reply_acked) = (false, false);
    wait_for(
        &mut bob_events,
        WAIT,
        "the second secret and the ack of Bob's reply",
        |e| {
            match e {
                CallEvent::ChatReceived(m) => got_secret |= m.text == "second secret from Alice",
                CallEvent::ChatDelivered { to, .. } => reply_acked |= *to == alice_id,
                _ => {}
            }
            (got_secret && reply_acked).then_some(())
        },
    )
    .await;
    delivered(&mut alice_events, &bob_id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Scenario 2: the sender leaves; the recipient replies privately.
    let alice_final = alice.leave().await;
    wait_for(&mut bob_events, WAIT, "Bob to see Alice leave", |e| {
        matches!(e, CallEvent::ParticipantLeft { .. }).then_some(())
    })
    .await;
    say(&bob, &alice_bob, "are you still there, Alice?");
    let refused = wait_for(&mut bob_events, WAIT, "Bob's reply to be refused", |e| match e {
        CallEvent::Problem(CallError::Room(RoomError::RecipientsAbsent(absent))) => Some(absent.clone()),
        _ => None,
    })
    .await;
    assert_eq!(refused, vec![alice_id.clone()]);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let bob_final = bob.leave().await;
    let carol_final = carol.leave().await;

    // Carol saw only the public message; nothing private reached her, as private or public.
    assert_eq!(
        texts(&carol_final),
        vec![] as Vec<(ConversationId, String)>,
        "Carol received: {:?}",
        texts(&carol_final)
    );
    assert!(carol_final.errors.is_empty(), "{:?}", carol_final.errors);
    // Bob: both secrets from Alice exactly once, plus Carol's public message.
    let mut bob_texts = texts(&bob_final);
    bob_texts.sort();
    let mut expected = vec![
        (alice_bob.clone(), "first secret from Alice".to_owned()),
        (alice_bob.clone(), "second secret from Alice".to_owned()),
        (ConversationId::Public, "hello everyone, Carol here".to_owned()),
    ];
    expected.sort();
    assert_eq!(bob_texts, expected);
    // Alice's order stamps crossed the sealed hop: Bob holds her secrets in sending order.
    let from_alice: Vec<(u64, &str)> = bob_final
        .chat
        .iter()
        .filter(|m| m.from_identity == alice_id)
        .map(|m| (m.order, m.text.as_str()))
        .collect();
    assert_eq!(
        from_alice.iter().map(|(_, text)| *text).collect::<Vec<_>>(),
        ["first secret from Alice", "second secret from Alice"]
    );
    assert!(from_alice[0].0 < from_alice[1].0, "{from_alice:?}");
    // Alice: Bob's reply, and Carol's public message.
    assert!(texts(&alice_final).contains(&(alice_bob.clone(), "secret reply from Bob".to_owned())));
    // Delivery state: Alice's messages delivered; Bob's last reply recorded as not delivered.
    assert!(alice_final
        .sent
        .iter()
        .all(|s| s.delivery == vec![(bob_id.clone(), DeliveryState::Delivered)]));
    let last = bob_final.sent.last().expect("Bob's reply is in his history");
    assert!(
        matches!(last.delivery[0].1, DeliveryState::NotDelivered(_)),
        "{last:?}"
    );
    server.stop().await;

    let logs = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("utf-8 logs");
    assert!(
        logs.lines().count() > 200,
        "TRACE logging captured almost nothing"
    );
    for secret in [
        "first secret",
        "second secret",
        "secret reply",
        "are you still there",
    ] {
        assert!(
            !logs.contains(secret),
            "private plaintext '{secret}' appears in the logs"
        );
    }
    confab_tests::support::verified(
        "native",
        "Confab embedded server (this repository)",
        &[(
            confab_tests::support::Capability::PrivateChat,
            "yes, sealed end to end",
        )],
    );
}
