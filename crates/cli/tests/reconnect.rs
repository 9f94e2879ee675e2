//! Reconnect through real outages: Carol (`confab-cli join`) runs in a network namespace made
//! by this test; Dave (an in-process engine) and the server are on the host end of its veth
//! pair. The path is cut for 2 s, 5 s, 20 s and 40 s. The connections ride out the short cuts;
//! after 20 s Carol's client has given the server up and the server has noticed her gone, and
//! she resumes her session (nobody sees her leave); 40 s outlasts the server's grace, and she
//! rejoins in full. After each cut Dave must decode Carol's video again (the time to the first
//! new frame is printed), and Carol's report must hold every chat message — from before,
//! during (but for the longest) and after the cuts — exactly once, in order.

mod common;

use common::outage::{
    chat_of, first_new_frame, next_frame_from, say, sessions_seen, start_carol, start_dave, stop_carol,
};
use common::{read_report, Scratch, Serve};
use confab_core::{ConversationId, JoinLink, PrivateMembers};
use confab_engine::Identity;
use confab_tests::netns::{TestNet, HOST_ADDR};
use std::process::Stdio;
use std::time::Duration;

const CUTS: [u64; 4] = [2, 5, 20, 40];
/// The cut that outlasts the server's grace: chat sent during it is not for Carol's next session.
const LONGEST: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_resumes_after_20_second_and_rejoins_after_40_second_outages_with_chat_intact() {
    let net = TestNet::create();
    let serve = Serve::start_with(
        &["outage"],
        &["--listen", &format!("{HOST_ADDR}:0")],
        Stdio::null(),
    );
    let link = JoinLink::parse(&serve.links[0]).expect("link");
    let scratch = Scratch::new("outage");
    let carol = Identity::load_or_create(&scratch.file("carol.identity")).expect("identity file");

    let (dave, _dave_events) = start_dave(&link, None);
    let carol_process = start_carol(
        &net.namespace,
        &serve.links[0],
        &scratch.file("carol.identity"),
        &scratch.file("carol.json"),
        &[],
    );

    next_frame_from(&dave, &carol.id, 0).await;
    let dave_identity = dave.snapshot().await.and_then(|s| s.identity).expect("identity");
    let private =
        ConversationId::Private(PrivateMembers::new([dave_identity, carol.id.clone()]).expect("two members"));
    say(&dave, &ConversationId::Public, "before the outages");
    say(&dave, &private, "private, before");
    tokio::time::sleep(Duration::from_secs(1)).await;

    for seconds in CUTS {
        net.cut();
        tokio::time::sleep(Duration::from_secs(seconds / 2)).await;
        if seconds != LONGEST {
            say(&dave, &ConversationId::Public, &format!("during {seconds} s"));
            say(&dave, &private, &format!("private, during {seconds} s"));
        }
        tokio::time::sleep(Duration::from_secs(seconds - seconds / 2)).await;
        net.restore();
        first_new_frame(&dave, &carol.id, &format!("outage {seconds:>2} s")).await;
        say(&dave, &ConversationId::Public, &format!("after {seconds} s"));
        say(&dave, &private, &format!("private, after {seconds} s"));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    let carols = sessions_seen(&dave, &carol.id).await;
    assert_eq!(
        carols.len(),
        2,
        "Carol's one rejoin is her second session: {carols:?}"
    );
    assert_eq!(carols[0].left, Some(confab_core::LeaveReason::ConnectionLost));
    assert_eq!(carols[1].left, None);
    stop_carol(carol_process);
    dave.leave().await;

    let report = read_report(&scratch.file("carol.json"));
    let chat = chat_of(&report);
    // The report lists chat conversation by conversation, each in order.
    let mut expected = Vec::new();
    for (kind, prefix) in [("public", ""), ("private", "private, ")] {
        let line = |text: String| (kind.to_owned(), format!("{prefix}{text}"));
        expected.push(if kind == "public" {
            (kind.to_owned(), "before the outages".to_owned())
        } else {
            (kind.to_owned(), "private, before".to_owned())
        });
        for seconds in CUTS {
            if seconds != LONGEST {
                expected.push(line(format!("during {seconds} s")));
            }
            expected.push(line(format!("after {seconds} s")));
        }
    }
    assert_eq!(chat, expected, "Carol's chat after four outages");
    assert_eq!(report["ended"], "hangup");
    let reconnections = report["reconnections"].as_array().expect("reconnections");
    eprintln!("Carol's reconnections: {reconnections:?}");
    let how = |kind: &str| reconnections.iter().filter(|r| r["how"] == kind).count();
    assert_eq!(how("resumed"), 1, "the 20 s cut is resumed");
    assert_eq!(how("rejoined"), 1, "the 40 s cut outlasts the server's grace");
    assert_eq!(
        how("resumed") + how("rejoined") + how("media_path_restored"),
        reconnections.len()
    );
    drop(net);
    confab_tests::support::verified(
        "native",
        "Confab embedded server (this repository)",
        &[(
            confab_tests::support::Capability::Reconnect,
            "yes (resume, or rejoin as the same identity)",
        )],
    );
}
