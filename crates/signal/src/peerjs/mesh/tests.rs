//! The mesh against a scripted PeerJS server and scripted peers (one layer: no sockets).

use super::*;
use crate::peerjs::peer_id_for;
use confab_core::{IdentityId, MediaKind, SdpKind};
use serde_json::{json, Value};

const ROOM: &str = "standup";

fn peer(name: &str) -> ParticipantId {
    peer_id_for(ROOM, &IdentityId::new(format!("id-{name}")).unwrap())
}

fn camera() -> TrackInfo {
    TrackInfo {
        id: TrackId::new("cam").unwrap(),
        kind: MediaKind::Video,
        muted: false,
    }
}

fn mesh(name: &str) -> PeerJsMesh {
    PeerJsMesh::new(ROOM, peer(name), name, vec![camera()], 0xabcd, Instant::now())
}

fn drain(mesh: &mut PeerJsMesh) -> Vec<MeshOutput> {
    std::iter::from_fn(|| mesh.poll_output()).collect()
}

fn frames(outputs: &[MeshOutput]) -> Vec<Value> {
    outputs
        .iter()
        .filter_map(|o| match o {
            MeshOutput::Server(frame) => Some(serde_json::from_str(frame).unwrap()),
            _ => None,
        })
        .collect()
}

fn sdp(kind: SdpKind) -> SessionDescription {
    SessionDescription {
        kind,
        sdp: "v=0".into(),
    }
}

fn offer_from(src: &ParticipantId, lane: &str, connection: &str) -> String {
    json!({"type": "OFFER", "src": src.as_str(), "payload": {"sdp": {"type": "offer", "sdp": "v=0"},
        "type": lane, "connectionId": connection, "metadata": {"name": "Bob"}}})
    .to_string()
}

fn channel(message: &ChannelMessage) -> Vec<u8> {
    message.to_bytes()
}

fn hello(name: &str) -> Vec<u8> {
    channel(&ChannelMessage::Hello {
        name: name.into(),
        tracks: vec![camera()],
    })
}

/// Alice, in the room with Bob (who offered to her) and both channels open and hellos said.
fn alice_with_bob() -> PeerJsMesh {
    let mut alice = mesh("alice");
    alice.handle_server(r#"{"type":"OPEN"}"#).unwrap();
    alice.peers_listed(&[alice.local().to_string()]);
    let bob = peer("bob");
    alice.handle_server(&offer_from(&bob, "data", "dc_b1")).unwrap();
    alice.handle_server(&offer_from(&bob, "media", "mc_b1")).unwrap();
    alice.channel_opened(&bob);
    alice.channel_message(&bob, &hello("Bob")).unwrap();
    drain(&mut alice);
    alice
}

#[test]
fn joining_offers_both_connections_to_each_member_of_the_room_only() {
    let mut alice = mesh("alice");
    assert!(
        drain(&mut alice).is_empty(),
        "nothing before the server registers us"
    );
    alice.handle_server(r#"{"type":"OPEN"}"#).unwrap();
    assert_eq!(drain(&mut alice), [MeshOutput::ListPeers]);
    let (bob, carol) = (peer("bob"), peer("carol"));
    let outsider = peer_id_for("other", &IdentityId::new("id-dan").unwrap());
    let listed = [
        bob.to_string(),
        alice.local().to_string(),
        outsider.to_string(),
        carol.to_string(),
        "standup".into(),
    ];
    alice.peers_listed(&listed);
    let outputs = drain(&mut alice);
    assert!(
        matches!(&outputs[0], MeshOutput::Signal(SignalIn::Joined { participants, .. }) if participants.is_empty())
    );
    let offers: Vec<(String, Lane, String)> = outputs[1..]
        .iter()
        .map(|o| match o {
            MeshOutput::Offer {
                peer,
                lane,
                connection,
            } => (peer.to_string(), *lane, connection.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(offers.len(), 4);
    let mut offered: Vec<_> = offers.iter().map(|(p, lane, _)| (p.clone(), *lane)).collect();
    offered.sort();
    let mut expected = vec![
        (bob.to_string(), Lane::Data),
        (bob.to_string(), Lane::Media),
        (carol.to_string(), Lane::Data),
        (carol.to_string(), Lane::Media),
    ];
    expected.sort();
    assert_eq!(offered, expected);
    assert!(offers
        .iter()
        .all(|(_, lane, id)| id.starts_with(if *lane == Lane::Data { "dc_" } else { "mc_" })));
    // A second list (after a reconnect) offers only to newcomers.
    alice.peers_listed(&listed);
    assert!(drain(&mut alice).is_empty());
}

#[test]
fn descriptions_and_candidates_travel_by_connection_id() {
    let mut alice = mesh("alice");
    alice.handle_server(r#"{"type":"OPEN"}"#).unwrap();
    let bob = peer("bob");
    alice.peers_listed(&[bob.to_string()]);
    let outputs = drain(&mut alice);
    let Some(MeshOutput::Offer { connection, .. }) = outputs.iter().find(|o| {
        matches!(
            o,
            MeshOutput::Offer {
                lane: Lane::Media,
                ..
            }
        )
    }) else {
        panic!("a media offer");
    };
    alice.local_description(&bob, Lane::Media, &sdp(SdpKind::Offer));
    let sent = frames(&drain(&mut alice));
    assert_eq!(sent[0]["type"], "OFFER");
    assert_eq!(sent[0]["dst"], bob.as_str());
    assert_eq!(sent[0]["payload"]["connectionId"], connection.as_str());
    assert_eq!(sent[0]["payload"]["metadata"]["name"], "alice");

    let answer = |id: &str| {
        json!({"type": "ANSWER", "src": bob.as_str(), "payload": {"sdp": {"type": "answer", "sdp": "v=0"},
            "type": "media", "connectionId": id}})
        .to_string()
    };
    alice.handle_server(&answer("mc_stale")).unwrap();
    assert!(
        drain(&mut alice).is_empty(),
        "an answer for another connection is ignored"
    );
    alice.handle_server(&answer(connection)).unwrap();
    assert_eq!(
        drain(&mut alice),
        [MeshOutput::Remote(bob.clone(), Lane::Media, sdp(SdpKind::Answer))]
    );
    alice.handle_server(&answer(connection)).unwrap();
    assert!(drain(&mut alice).is_empty(), "a second answer is ignored");

    let candidate = json!({"type": "CANDIDATE", "src": bob.as_str(), "payload": {"candidate":
        {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0},
        "type": "media", "connectionId": connection}});
    alice.handle_server(&candidate.to_string()).unwrap();
    assert!(matches!(&drain(&mut alice)[..], [MeshOutput::Candidate(p, Lane::Media, _)] if *p == bob));
}

#[test]
fn a_newcomer_offers_says_hello_and_becomes_a_participant() {
    let mut alice = mesh("alice");
    alice.handle_server(r#"{"type":"OPEN"}"#).unwrap();
    alice.peers_listed(&[]);
    drain(&mut alice);
    let bob = peer("bob");
    alice.handle_server(&offer_from(&bob, "data", "dc_b1")).unwrap();
    assert_eq!(
        drain(&mut alice),
        [MeshOutput::Answer(bob.clone(), Lane::Data, sdp(SdpKind::Offer))]
    );
    alice.local_description(&bob, Lane::Data, &sdp(SdpKind::Answer));
    let sent = frames(&drain(&mut alice));
    assert_eq!(
        (&sent[0]["type"], &sent[0]["payload"]["connectionId"]),
        (&json!("ANSWER"), &json!("dc_b1"))
    );
    alice.channel_opened(&bob);
    let outputs = drain(&mut alice);
    let [MeshOutput::Channel(to, said)] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    assert_eq!(
        (to, ChannelMessage::parse(said).unwrap()),
        (
            &bob,
            ChannelMessage::Hello {
                name: "alice".into(),
                tracks: vec![camera()]
            }
        )
    );
    alice.channel_message(&bob, &hello("Bob")).unwrap();
    let outputs = drain(&mut alice);
    let [MeshOutput::Signal(SignalIn::ParticipantJoined(info))] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    assert_eq!(
        (&info.id, info.name.as_str(), &info.tracks),
        (&bob, "Bob", &vec![camera()])
    );
    assert_eq!(info.identity, identity_of(&bob));
}

#[test]
fn when_both_offer_at_once_the_lower_id_wins() {
    let (alice_id, bob_id) = (peer("alice"), peer("bob"));
    let (low, high) = if alice_id < bob_id {
        ("alice", "bob")
    } else {
        ("bob", "alice")
    };
    for (me, other, mine_wins) in [(low, high, true), (high, low, false)] {
        let mut mesh = mesh(me);
        mesh.handle_server(r#"{"type":"OPEN"}"#).unwrap();
        mesh.peers_listed(&[peer(other).to_string()]);
        drain(&mut mesh);
        mesh.handle_server(&offer_from(&peer(other), "media", "mc_theirs"))
            .unwrap();
        let outputs = drain(&mut mesh);
        if mine_wins {
            assert!(outputs.is_empty(), "{me} keeps its own offer");
        } else {
            assert_eq!(
                outputs,
                [MeshOutput::Answer(peer(other), Lane::Media, sdp(SdpKind::Offer))]
            );
        }
    }
}

#[test]
fn chat_is_read_as_from_the_connections_peer() {
    let mut alice = alice_with_bob();
    let bob = peer("bob");
    let public = ChannelMessage::Chat {
        id: MessageId::new("m1").unwrap(),
        order: 1,
        text: "hi all".into(),
        to: vec![],
    };
    alice.channel_message(&bob, &channel(&public)).unwrap();
    let outputs = drain(&mut alice);
    let [MeshOutput::Signal(SignalIn::Chat(message))] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    assert_eq!((&message.from, message.from_name.as_str()), (&bob, "Bob"));
    assert_eq!(message.conversation, ConversationId::Public);

    let private = ChannelMessage::Chat {
        id: MessageId::new("m2").unwrap(),
        order: 2,
        text: "just you".into(),
        to: vec![alice.local().to_string()],
    };
    alice.channel_message(&bob, &channel(&private)).unwrap();
    let outputs = drain(&mut alice);
    let [MeshOutput::Signal(SignalIn::Chat(message))] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    let members = PrivateMembers::new([identity_of(&bob), identity_of(alice.local())]).unwrap();
    assert_eq!(message.conversation, ConversationId::Private(members));

    let outside = ChannelMessage::Chat {
        id: MessageId::new("m3").unwrap(),
        order: 3,
        text: "?".into(),
        to: vec!["somebody".into()],
    };
    assert!(alice.channel_message(&bob, &channel(&outside)).is_err());
    alice
        .channel_message(
            &bob,
            &channel(&ChannelMessage::Ack {
                id: MessageId::new("m9").unwrap(),
            }),
        )
        .unwrap();
    assert!(
        matches!(&drain(&mut alice)[..], [MeshOutput::Signal(SignalIn::ChatAck { from, .. })] if *from == bob)
    );
}

#[test]
fn private_messages_go_to_their_recipients_alone() {
    let mut alice = alice_with_bob();
    let carol = peer("carol");
    alice.handle_server(&offer_from(&carol, "data", "dc_c1")).unwrap();
    alice.channel_opened(&carol);
    alice.channel_message(&carol, &hello("Carol")).unwrap();
    drain(&mut alice);
    let bob = peer("bob");
    let message = ChatMessage {
        id: MessageId::new("p1").unwrap(),
        from: alice.local().clone(),
        from_identity: identity_of(alice.local()),
        from_name: "alice".into(),
        order: 5,
        conversation: ConversationId::Public,
        text: "secret".into(),
    };
    alice.send_private(&message, std::slice::from_ref(&bob)).unwrap();
    let outputs = drain(&mut alice);
    let [MeshOutput::Channel(to, sent)] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    assert_eq!(to, &bob);
    assert!(
        matches!(ChannelMessage::parse(sent).unwrap(), ChannelMessage::Chat { to, .. } if to == [bob.to_string()])
    );
    alice.send_public(&message);
    let mut recipients: Vec<_> = drain(&mut alice)
        .into_iter()
        .map(|o| match o {
            MeshOutput::Channel(to, _) => to,
            other => panic!("{other:?}"),
        })
        .collect();
    recipients.sort();
    let mut everyone = vec![bob, carol.clone()];
    everyone.sort();
    assert_eq!(recipients, everyone);
    let gone = peer("dan");
    let refused = alice.send_private(&message, &[carol, gone]);
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err(SignalErrorCode::UnknownParticipant)
    );
    assert!(
        drain(&mut alice).is_empty(),
        "nothing goes out when one recipient is missing"
    );
}

#[test]
fn departures_are_noticed_and_explained() {
    let mut alice = alice_with_bob();
    let bob = peer("bob");
    alice
        .handle_server(&json!({"type": "EXPIRE", "src": bob.as_str()}).to_string())
        .unwrap();
    assert!(
        drain(&mut alice).is_empty(),
        "a peer we still reach has only lost the server"
    );
    alice
        .handle_server(&json!({"type": "LEAVE", "src": bob.as_str()}).to_string())
        .unwrap();
    let outputs = drain(&mut alice);
    assert!(outputs.contains(&MeshOutput::Close(bob.clone(), Lane::Data)));
    assert!(outputs.contains(&MeshOutput::Close(bob.clone(), Lane::Media)));
    assert!(outputs.contains(&MeshOutput::Signal(SignalIn::ParticipantLeft {
        id: bob.clone(),
        reason: LeaveReason::Hangup
    })));

    let mut alice = alice_with_bob();
    alice.connection_closed(&bob);
    assert!(
        drain(&mut alice).contains(&MeshOutput::Signal(SignalIn::ParticipantLeft {
            id: bob,
            reason: LeaveReason::ConnectionLost
        }))
    );
}

#[test]
fn refusals_become_typed_errors() {
    let mut alice = mesh("alice");
    alice
        .handle_server(r#"{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}"#)
        .unwrap();
    assert!(matches!(
        &drain(&mut alice)[..],
        [MeshOutput::Signal(SignalIn::Error {
            code: SignalErrorCode::IdentityTaken,
            ..
        })]
    ));
    alice
        .handle_server(r#"{"type":"ERROR","payload":{"msg":"Invalid key provided"}}"#)
        .unwrap();
    assert!(matches!(
        &drain(&mut alice)[..],
        [MeshOutput::Signal(SignalIn::Error {
            code: SignalErrorCode::BadToken,
            ..
        })]
    ));
}

#[test]
fn heartbeats_every_five_seconds_while_registered() {
    let start = Instant::now();
    let mut alice = PeerJsMesh::new(ROOM, peer("alice"), "alice", vec![], 1, start);
    alice.handle_timeout(start + HEARTBEAT_INTERVAL);
    assert!(drain(&mut alice).is_empty(), "not registered yet");
    alice.handle_server(r#"{"type":"OPEN"}"#).unwrap();
    drain(&mut alice);
    assert_eq!(alice.poll_timeout(), Some(start + 2 * HEARTBEAT_INTERVAL));
    alice.handle_timeout(start + 2 * HEARTBEAT_INTERVAL);
    assert_eq!(frames(&drain(&mut alice)), [json!({"type": "HEARTBEAT"})]);
    alice.server_lost();
    alice.handle_timeout(start + 3 * HEARTBEAT_INTERVAL);
    assert!(
        drain(&mut alice).is_empty(),
        "no heartbeat while the server is gone"
    );
    alice.server_reconnected();
    assert_eq!(drain(&mut alice), [MeshOutput::ListPeers]);
}

#[test]
fn peers_that_never_say_hello_are_let_go_and_the_list_is_read_again() {
    let start = Instant::now();
    let mut alice = PeerJsMesh::new(ROOM, peer("alice"), "alice", vec![], 1, start);
    alice.handle_server(r#"{"type":"OPEN"}"#).unwrap();
    let bob = peer("bob");
    alice.peers_listed(&[bob.to_string()]);
    drain(&mut alice);
    let mut listings = 0;
    let mut let_go = false;
    for beat in 1..=HEARTBEATS_PER_LISTING.max(HEARTBEATS_TO_SAY_HELLO + 1) {
        alice.handle_timeout(start + HEARTBEAT_INTERVAL * beat);
        for output in drain(&mut alice) {
            match output {
                MeshOutput::ListPeers => listings += 1,
                MeshOutput::Close(p, _) if p == bob => let_go = true,
                MeshOutput::Signal(SignalIn::ParticipantLeft { .. }) => panic!("Bob was never a participant"),
                _ => {}
            }
        }
    }
    assert!(let_go, "an offer never answered is given up");
    assert_eq!(listings, 1);
    // The next listing offers to Bob afresh.
    alice.peers_listed(&[bob.to_string()]);
    assert!(drain(&mut alice)
        .iter()
        .any(|o| matches!(o, MeshOutput::Offer { peer, .. } if *peer == bob)));
}

#[test]
fn leaving_tells_every_peer_and_closes_everything() {
    let mut alice = alice_with_bob();
    let bob = peer("bob");
    alice.leave();
    let outputs = drain(&mut alice);
    assert_eq!(frames(&outputs), [json!({"type": "LEAVE", "dst": bob.as_str()})]);
    assert!(outputs.contains(&MeshOutput::Close(bob.clone(), Lane::Media)));
    assert!(outputs.contains(&MeshOutput::Close(bob, Lane::Data)));
    assert_eq!(alice.poll_timeout(), None);
}

#[test]
fn mute_is_told_to_everyone_and_remembered_in_hellos() {
    let mut alice = alice_with_bob();
    let cam = TrackId::new("cam").unwrap();
    alice.set_muted(&cam, true);
    let outputs = drain(&mut alice);
    let [MeshOutput::Channel(_, said)] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    assert_eq!(
        ChannelMessage::parse(said).unwrap(),
        ChannelMessage::Mute {
            track: cam,
            muted: true
        }
    );
    let bob = peer("bob");
    alice.channel_opened(&bob);
    let outputs = drain(&mut alice);
    let [MeshOutput::Channel(_, said)] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    assert!(
        matches!(ChannelMessage::parse(said).unwrap(), ChannelMessage::Hello { tracks, .. } if tracks[0].muted)
    );
}
