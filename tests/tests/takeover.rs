//! Identity takeover over the wire: a second session of an identity that proves it takes the
//! first one's place (the first is told why, everyone else sees the swap, private chat follows
//! the identity); one that cannot prove it, or a server that denies takeover, gets a typed
//! `IdentityTaken` error while the first session carries on untouched.

use confab_core::{ConversationId, IdentityId, LeaveReason, PrivateMembers, RoomError, SignalErrorCode};
use confab_engine::{CallCommand, CallError, CallEvent, Identity};
use confab_server::TakeoverPolicy;
use confab_tests::{join_chat_only, join_chat_only_as, wait_for, wait_joined, TestServer};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const WAIT: Duration = Duration::from_secs(5);

async fn refusal(events: &mut UnboundedReceiver<CallEvent>) -> (LeaveReason, Option<CallError>) {
    wait_for(events, WAIT, "the call to end", |e| match e {
        CallEvent::Ended { reason, error } => Some((*reason, error.clone())),
        _ => None,
    })
    .await
}

fn private(a: &IdentityId, b: &IdentityId) -> ConversationId {
    ConversationId::Private(PrivateMembers::new([a.clone(), b.clone()]).expect("two members"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proven_second_session_takes_over_and_private_chat_follows_the_identity() {
    let server = TestServer::start().await;
    let link = server.link("takeover");
    let ann = Identity::generate();
    let (laptop, mut laptop_events) = join_chat_only_as(&link, "Ann", Some(ann.clone()));
    let laptop_id = wait_joined(&mut laptop_events).await;
    let (bob, mut bob_events) = join_chat_only(&link, "Bob");
    wait_joined(&mut bob_events).await;
    let bob_identity = bob.snapshot().await.and_then(|s| s.identity).expect("identity");
    let with_ann = private(&ann.id, &bob_identity);

    // Ann opens the same meeting on her phone, with the same identity and proof.
    let (phone, mut phone_events) = join_chat_only_as(&link, "Ann (phone)", Some(ann.clone()));
    let phone_id = wait_joined(&mut phone_events).await;
    assert_ne!(phone_id, laptop_id, "the new session has its own session id");

    let (reason, error) = refusal(&mut laptop_events).await;
    assert_eq!(reason, LeaveReason::Replaced);
    let error = error.expect("the replaced session is told why");
    assert!(matches!(error, CallError::Room(RoomError::Replaced)));
    assert!(error.to_string().contains("another device"), "{error}");

    wait_for(&mut bob_events, WAIT, "the laptop to be marked replaced", |e| {
        matches!(e, CallEvent::ParticipantLeft { id, reason: LeaveReason::Replaced } if *id == laptop_id)
            .then_some(())
    })
    .await;
    wait_for(&mut bob_events, WAIT, "the phone to join", |e| {
        matches!(e, CallEvent::ParticipantJoined(id) if *id == phone_id).then_some(())
    })
    .await;

    // Bob's private conversation with Ann now reaches her phone, and only her phone.
    bob.command(CallCommand::SendChat {
        conversation: with_ann.clone(),
        text: "still there?".into(),
    });
    let got = wait_for(&mut phone_events, WAIT, "Bob's private message", |e| match e {
        CallEvent::ChatReceived(m) => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (got.conversation, got.text.as_str()),
        (with_ann.clone(), "still there?")
    );
    wait_for(&mut bob_events, WAIT, "the phone's acknowledgement", |e| {
        matches!(e, CallEvent::ChatDelivered { to, .. } if *to == ann.id).then_some(())
    })
    .await;

    let laptop_report = laptop.finished().await;
    assert!(
        laptop_report.chat.is_empty(),
        "the replaced session received nothing more"
    );
    let bob_report = bob.leave().await;
    let anns: Vec<_> = bob_report
        .participants
        .iter()
        .filter(|p| p.identity == ann.id)
        .map(|p| (p.id.clone(), p.left))
        .collect();
    assert_eq!(
        anns,
        vec![(laptop_id, Some(LeaveReason::Replaced)), (phone_id, None)],
        "Bob saw one Ann replace the other"
    );
    phone.leave().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_proof_or_with_takeover_denied_the_second_session_is_refused() {
    for policy in [TakeoverPolicy::AllowWithProof, TakeoverPolicy::Deny] {
        let server = TestServer::start_with(policy).await;
        let link = server.link("taken");
        let ann = Identity::generate();
        let (first, mut first_events) = join_chat_only_as(&link, "Ann", Some(ann.clone()));
        wait_joined(&mut first_events).await;

        let claimant = match policy {
            // Someone who knows Ann's identity but not her secret.
            TakeoverPolicy::AllowWithProof => Identity {
                id: ann.id.clone(),
                proof: Identity::generate().proof,
            },
            // Ann herself, on a server that never lets a second session in.
            TakeoverPolicy::Deny => ann.clone(),
        };
        let (second, mut second_events) = join_chat_only_as(&link, "Ann?", Some(claimant));
        let (reason, error) = refusal(&mut second_events).await;
        assert_eq!(reason, LeaveReason::Refused, "{policy:?}");
        let error = error.expect("a typed error");
        assert!(
            matches!(
                error,
                CallError::Room(RoomError::Refused {
                    code: SignalErrorCode::IdentityTaken
                })
            ),
            "{policy:?}: {error:?}"
        );
        assert!(error.to_string().contains("already in this meeting"), "{error}");
        second.finished().await;

        // The first session never noticed.
        let snapshot = first.snapshot().await.expect("still running");
        assert_eq!(snapshot.ended, None, "{policy:?}");
        assert!(
            snapshot.participants.is_empty(),
            "{policy:?}: nobody else ever joined"
        );
        assert!(snapshot.errors.is_empty(), "{policy:?}: {:?}", snapshot.errors);
        first.leave().await;
        server.stop().await;
    }
}
