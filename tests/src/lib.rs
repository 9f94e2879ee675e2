//! Helpers shared by the end-to-end tests in `tests/tests/`: an in-process server on loopback
//! and engine clients with synthetic media. Every wait is bounded and says what it waited for.

#![forbid(unsafe_code)]

pub mod aiortc;
pub mod chromium;
pub mod close_probe;
pub mod http;
pub mod janus;
pub mod janus_admin;
pub mod netns;
pub mod peerjs;
pub mod pictures;
pub mod support;

pub use pictures::PictureProbe;

use confab_core::link::NativeLink;
use confab_core::{
    ConversationId, JoinLink, LeaveReason, MediaKind, ParticipantId, PrivateMembers, RoomName,
};
use confab_engine::{Call, CallCommand, CallConfig, CallEvent, CallSnapshot, Identity, RemoteSnapshot};
use confab_media::pattern::TestPattern;
use confab_media::tone::Tone;
use confab_rtc::PeerConfig;
use confab_server::{Server, TakeoverPolicy};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// A server running in this process on `127.0.0.1:0`.
pub struct TestServer {
    /// The server (for minting links).
    pub server: Server,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts a server.
    pub async fn start() -> Self {
        Self::start_with(TakeoverPolicy::default()).await
    }

    /// Starts a server with this policy for a second session of an identity.
    pub async fn start_with(takeover: TakeoverPolicy) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let server = Server::with_takeover(&listener, takeover).expect("server");
        let (stop, stopped) = oneshot::channel::<()>();
        let running = server.clone();
        let task = tokio::spawn(async move {
            let _ = running
                .run(listener, async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            server,
            stop: Some(stop),
            task,
        }
    }

    /// A link to `room`.
    pub fn link(&self, room: &str) -> JoinLink {
        self.server.link_for(&RoomName::new(room).expect("room name"))
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
    }
}

/// The embedded server's link inside `link`.
pub fn native(link: &JoinLink) -> &NativeLink {
    match link {
        JoinLink::Native(native) => native,
        other => panic!("expected a link to the embedded server, got {other:?}"),
    }
}

/// The server's HTTP address and the room's join token (the WHIP/WHEP bearer token), from a
/// link to a room on it.
pub fn endpoint(link: &JoinLink) -> (SocketAddr, String) {
    let native = native(link);
    let address = format!("{}:{}", native.host, native.port)
        .parse()
        .expect("the test server listens on an IP address");
    (address, native.token.expose().to_owned())
}

/// Joins `link` as `name` with a synthetic pattern and tone.
pub fn join_synthetic(
    link: &JoinLink,
    name: &str,
    size: (usize, usize),
    tone_hz: f32,
) -> (Call, mpsc::UnboundedReceiver<CallEvent>) {
    Call::start(synthetic_config(link, name, size, tone_hz))
}

/// Like [`join_synthetic`] (with a 550 Hz tone), with every decoded remote picture also shown
/// to `probe`.
pub fn join_synthetic_probing(
    link: &JoinLink,
    name: &str,
    size: (usize, usize),
    probe: std::sync::Arc<PictureProbe>,
) -> (Call, mpsc::UnboundedReceiver<CallEvent>) {
    Call::start(CallConfig {
        media_out: Some(probe),
        ..synthetic_config(link, name, size, 550.0)
    })
}

/// A call config with a synthetic pattern of `size` and a tone, media on loopback.
pub fn synthetic_config(link: &JoinLink, name: &str, size: (usize, usize), tone_hz: f32) -> CallConfig {
    CallConfig {
        link: link.clone(),
        name: name.to_owned(),
        video: Some(Box::new(
            TestPattern::new(size.0, size.1, 30).expect("pattern size"),
        )),
        audio: Some(Box::new(Tone::new(tone_hz))),
        muted: Vec::new(),
        peer: Some(PeerConfig::default()),
        identity: None,
        media_out: None,
    }
}

/// Joins `link` as `name` without audio or video (chat-only participants).
pub fn join_chat_only(link: &JoinLink, name: &str) -> (Call, mpsc::UnboundedReceiver<CallEvent>) {
    join_chat_only_as(link, name, None)
}

/// Like [`join_chat_only`], as a given identity (`None`: a fresh one).
pub fn join_chat_only_as(
    link: &JoinLink,
    name: &str,
    identity: Option<Identity>,
) -> (Call, mpsc::UnboundedReceiver<CallEvent>) {
    Call::start(CallConfig {
        link: link.clone(),
        name: name.to_owned(),
        video: None,
        audio: None,
        muted: Vec::new(),
        peer: Some(PeerConfig::default()),
        identity,
        media_out: None,
    })
}

/// Waits for the first event `pick` accepts, failing after `within` with `what`.
pub async fn wait_for<T>(
    events: &mut mpsc::UnboundedReceiver<CallEvent>,
    within: Duration,
    what: &str,
    mut pick: impl FnMut(&CallEvent) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(within, async {
        while let Some(event) = events.recv().await {
            if let Some(found) = pick(&event) {
                return Some(found);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(found)) => found,
        Ok(None) => panic!("call ended while waiting for {what}"),
        Err(_) => panic!("gave up after {within:?} waiting for {what}"),
    }
}

/// For [`wait_for`]: the event showing `who`'s video (anyone's with `None`) turned off
/// (`muted`) or on; gives whose it was.
pub fn video_turned(
    who: Option<&ParticipantId>,
    muted: bool,
) -> impl Fn(&CallEvent) -> Option<ParticipantId> {
    let who = who.cloned();
    move |e| match e {
        CallEvent::TrackMuted {
            participant,
            kind: MediaKind::Video,
            muted: now,
        } if *now == muted && who.as_ref().is_none_or(|who| who == participant) => Some(participant.clone()),
        _ => None,
    }
}

/// Waits until someone other than `known` joins and returns their id.
pub async fn wait_for_newcomer(
    events: &mut mpsc::UnboundedReceiver<CallEvent>,
    within: Duration,
    what: &str,
    known: &[&ParticipantId],
) -> ParticipantId {
    wait_for(events, within, what, |e| match e {
        CallEvent::ParticipantJoined(id) if !known.contains(&id) => Some(id.clone()),
        _ => None,
    })
    .await
}

/// Waits until `who` leaves and returns why.
pub async fn wait_for_departure(
    events: &mut mpsc::UnboundedReceiver<CallEvent>,
    within: Duration,
    what: &str,
    who: &ParticipantId,
) -> LeaveReason {
    wait_for(events, within, what, |e| match e {
        CallEvent::ParticipantLeft { id, reason } if id == who => Some(*reason),
        _ => None,
    })
    .await
}

/// Waits until `Joined` and returns our id.
pub async fn wait_joined(events: &mut mpsc::UnboundedReceiver<CallEvent>) -> ParticipantId {
    wait_for(events, Duration::from_secs(10), "the join", |e| match e {
        CallEvent::Joined { local } => Some(local.clone()),
        CallEvent::Ended { error, .. } => panic!("join failed: {error:?}"),
        _ => None,
    })
    .await
}

/// Waits until `call` has decoded at least `frames` of `who`'s video and returns what it saw.
pub async fn decoded(call: &Call, who: &ParticipantId, frames: u64) -> RemoteSnapshot {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let view = call.snapshot().await.expect("a running call");
        let seen = view.participants.iter().find(|p| &p.id == who).cloned();
        match seen {
            Some(seen) if seen.frames_decoded >= frames => return seen,
            _ if tokio::time::Instant::now() > deadline => panic!("too little of {who} decoded: {view:?}"),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Waits for the next chat message received and returns its conversation and text.
pub async fn received_text(
    events: &mut mpsc::UnboundedReceiver<CallEvent>,
    what: &str,
) -> (ConversationId, String) {
    wait_for(events, Duration::from_secs(5), what, |e| match e {
        CallEvent::ChatReceived(m) => Some((m.conversation.clone(), m.text.clone())),
        _ => None,
    })
    .await
}

/// Sends `text` to `conversation`.
pub fn say(call: &Call, conversation: &ConversationId, text: &str) {
    call.command(CallCommand::SendChat {
        conversation: conversation.clone(),
        text: text.into(),
    });
}

/// Alice and Bob chat in public and in private: Alice's public message and her private one
/// reach Bob (the private one in their private conversation, and marked delivered at Alice), and
/// Bob's private reply reaches Alice. Returns their private conversation.
pub async fn public_and_private_chat(
    alice: &Call,
    alice_events: &mut mpsc::UnboundedReceiver<CallEvent>,
    bob: &Call,
    bob_events: &mut mpsc::UnboundedReceiver<CallEvent>,
    bob_id: &ParticipantId,
) -> ConversationId {
    let alice_view = alice.snapshot().await.expect("Alice's call");
    let bob_seen = alice_view
        .participants
        .iter()
        .find(|p| &p.id == bob_id)
        .expect("Bob");
    let alice_identity = alice_view.identity.clone().expect("Alice's identity");
    let members = PrivateMembers::new([alice_identity, bob_seen.identity.clone()]).expect("two members");
    let private = ConversationId::Private(members);
    say(alice, &ConversationId::Public, "hello everyone");
    assert_eq!(
        received_text(bob_events, "Alice's public message").await,
        (ConversationId::Public, "hello everyone".into())
    );
    say(alice, &private, "for Bob only");
    assert_eq!(
        received_text(bob_events, "Alice's private message").await,
        (private.clone(), "for Bob only".into())
    );
    wait_for(
        alice_events,
        Duration::from_secs(5),
        "the private message's receipt",
        |e| matches!(e, CallEvent::ChatDelivered { .. }).then_some(()),
    )
    .await;
    say(bob, &private, "got it");
    assert_eq!(
        received_text(alice_events, "Bob's private reply").await,
        (private.clone(), "got it".into())
    );
    private
}

/// Carol, who joined after Alice and Bob began talking privately, hears what Bob says in public
/// from now on and nothing of what Alice says to Bob in `private` (which Bob does get). Returns
/// Carol's picture of the call.
pub async fn latecomer_hears_only_public(
    alice: &Call,
    bob: &Call,
    bob_events: &mut mpsc::UnboundedReceiver<CallEvent>,
    carol: &Call,
    carol_events: &mut mpsc::UnboundedReceiver<CallEvent>,
    private: &ConversationId,
) -> CallSnapshot {
    say(alice, private, "Carol cannot read this");
    say(bob, &ConversationId::Public, "welcome Carol");
    assert_eq!(
        received_text(carol_events, "Bob's welcome").await,
        (ConversationId::Public, "welcome Carol".into())
    );
    assert_eq!(
        received_text(bob_events, "Alice's second private message").await,
        (private.clone(), "Carol cannot read this".into())
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let carol_view = carol.snapshot().await.expect("Carol's call");
    let carol_texts: Vec<&str> = carol_view.chat.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(carol_texts, ["welcome Carol"], "{carol_view:?}");
    carol_view
}
