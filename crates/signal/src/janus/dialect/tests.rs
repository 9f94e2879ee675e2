//! The dialect against a scripted Janus: what it sends, and what it tells the room and the
//! driver. (The real server is exercised end to end by `tests/tests/janus_room.rs`.)

use super::*;
use confab_core::link::Secret;

const SESSION: u64 = 100;
const PUBLISHER: u64 = 201;
const CHAT: u64 = 202;
const SUBSCRIBER: u64 = 203;

fn link() -> JanusLink {
    JanusLink {
        server: "ws://janus.test:8188/".parse().unwrap(),
        room: 1234,
        pin: Some(Secret::new("pin1")),
        token: Some(Secret::new("tok1")),
    }
}

fn identity(name: &str) -> IdentityId {
    IdentityId::new(name).unwrap()
}

fn outputs(dialect: &mut JanusDialect) -> Vec<JanusOutput> {
    std::iter::from_fn(|| dialect.poll_output()).collect()
}

/// The JSON of every frame for the Janus API among `outputs`.
fn server_frames(outputs: &[JanusOutput]) -> Vec<Value> {
    outputs
        .iter()
        .filter_map(|o| match o {
            JanusOutput::Server(frame) => Some(serde_json::from_str(frame).unwrap()),
            _ => None,
        })
        .collect()
}

fn channel_frames(outputs: &[JanusOutput]) -> Vec<Value> {
    outputs
        .iter()
        .filter_map(|o| match o {
            JanusOutput::Channel(frame) => Some(serde_json::from_str(frame).unwrap()),
            _ => None,
        })
        .collect()
}

fn signals(outputs: &[JanusOutput]) -> Vec<SignalIn> {
    outputs
        .iter()
        .filter_map(|o| match o {
            JanusOutput::Signal(signal) => Some(signal.clone()),
            _ => None,
        })
        .collect()
}

fn success(transaction: &Value, id: u64) -> String {
    json!({"janus": "success", "transaction": transaction, "data": {"id": id}}).to_string()
}

fn event(sender: u64, data: Value, jsep: Option<Value>) -> String {
    let mut event = json!({"janus": "event", "sender": sender, "plugindata": {"plugin": "x", "data": data}});
    if let Some(jsep) = jsep {
        event["jsep"] = jsep;
    }
    event.to_string()
}

fn offer(sdp: &str) -> Value {
    json!({"type": "offer", "sdp": sdp})
}

const SUBSCRIBER_OFFER: &str = "v=0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n\
    a=msid:janus janus0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=msid:janus janus1\r\n";

/// A dialect taken through the whole join: session, handles, VideoRoom and TextRoom, with
/// `present` (feed id, display) already publishing.
fn joined(present: &[(u64, &str)]) -> (JanusDialect, Vec<JanusOutput>) {
    let mut dialect = JanusDialect::new(&link(), "Alice", &identity("id-alice"));
    let create = server_frames(&outputs(&mut dialect));
    assert_eq!(create[0]["janus"], "create");
    assert_eq!(create[0]["token"], "tok1");
    dialect
        .handle_server(&success(&create[0]["transaction"], SESSION))
        .unwrap();
    let attaches = server_frames(&outputs(&mut dialect));
    let plugins: Vec<&Value> = attaches.iter().map(|a| &a["plugin"]).collect();
    assert_eq!(plugins, ["janus.plugin.videoroom", "janus.plugin.textroom"]);
    assert!(attaches.iter().all(|a| a["session_id"] == SESSION));
    dialect
        .handle_server(&success(&attaches[0]["transaction"], PUBLISHER))
        .unwrap();
    dialect
        .handle_server(&success(&attaches[1]["transaction"], CHAT))
        .unwrap();
    let requests = server_frames(&outputs(&mut dialect));
    let join = &requests[0]["body"];
    assert_eq!(
        (
            &join["request"],
            &join["ptype"],
            &join["room"],
            &join["display"],
            &join["pin"]
        ),
        (
            &json!("join"),
            &json!("publisher"),
            &json!(1234),
            &json!("Alice"),
            &json!("pin1")
        )
    );
    assert_eq!(join["id"], json!(feed_for(&identity("id-alice"))));
    assert_eq!(requests[1]["body"]["request"], "setup");

    let publishers: Vec<Value> = present
        .iter()
        .map(|(id, name)| json!({"id": id, "display": name, "streams": [{"type": "video"}, {"type": "audio"}]}))
        .collect();
    let joined = json!({"videoroom": "joined", "id": feed_for(&identity("id-alice")), "private_id": 77,
        "publishers": publishers});
    dialect.handle_server(&event(PUBLISHER, joined, None)).unwrap();
    let chat_offer = event(
        CHAT,
        json!({"textroom": "event", "result": "ok"}),
        Some(offer("v=0")),
    );
    dialect.handle_server(&chat_offer).unwrap();
    let so_far = outputs(&mut dialect);
    assert!(so_far.contains(&JanusOutput::Description(
        PeerSlot::Chat,
        SessionDescription {
            kind: SdpKind::Offer,
            sdp: "v=0".into()
        }
    )));
    assert!(
        !signals(&so_far)
            .iter()
            .any(|s| matches!(s, SignalIn::Joined { .. })),
        "joined before the chat room let us in"
    );
    dialect.join_room();
    dialect.chat_channel_opened();
    let chat_join = channel_frames(&outputs(&mut dialect));
    assert_eq!(chat_join[0]["textroom"], "join");
    assert_eq!(chat_join[0]["username"], json!(dialect.local().to_string()));
    assert_eq!(chat_join[0]["pin"], "pin1");
    let reply = json!({"textroom": "success", "transaction": chat_join[0]["transaction"],
        "participants": [{"username": "555", "display": "Carol"}]});
    dialect.handle_channel(&reply.to_string(), 1).unwrap();
    let after = outputs(&mut dialect);
    (dialect, [so_far, after].concat())
}

#[test]
fn joins_once_both_rooms_let_us_in_and_merges_publishers_and_chatters() {
    let (dialect, outputs) = joined(&[(555, "Carol V")]);
    let joined = signals(&outputs)
        .into_iter()
        .find_map(|s| match s {
            SignalIn::Joined { local, participants } => Some((local, participants)),
            _ => None,
        })
        .expect("joined");
    assert_eq!(joined.0, dialect.local());
    assert_eq!(joined.1.len(), 1, "Carol publishes and chats: one participant");
    let carol = &joined.1[0];
    assert_eq!(carol.id.as_str(), "555");
    assert_eq!(carol.identity.as_str(), "janus-555");
    assert_eq!(carol.name, "Carol V");
    let kinds: Vec<MediaKind> = carol.tracks.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, [MediaKind::Video, MediaKind::Audio]);
    assert_eq!(dialect.local_identity(), identity_of(&dialect.local()));
}

#[test]
fn subscribes_to_publishers_one_negotiation_at_a_time_and_ties_tracks_to_them() {
    let (mut dialect, outputs_so_far) = joined(&[(555, "Carol")]);
    let attach = server_frames(&outputs_so_far)
        .into_iter()
        .find(|f| f["janus"] == "attach")
        .expect("a subscriber handle is attached for Carol");
    dialect
        .handle_server(&success(&attach["transaction"], SUBSCRIBER))
        .unwrap();
    let join = server_frames(&outputs(&mut dialect));
    assert_eq!(join[0]["body"]["ptype"], "subscriber");
    assert_eq!(join[0]["body"]["streams"], json!([{"feed": 555}]));
    assert_eq!(join[0]["body"]["private_id"], 77);

    // Dan starts publishing while Carol's subscription is being negotiated: he waits.
    let dan = json!({"videoroom": "event", "publishers": [{"id": 666, "display": "Dan", "streams": [{"type": "video"}]}]});
    dialect.handle_server(&event(PUBLISHER, dan, None)).unwrap();
    let meanwhile = outputs(&mut dialect);
    assert!(server_frames(&meanwhile).is_empty(), "{meanwhile:?}");
    assert!(
        signals(&meanwhile).contains(&SignalIn::ParticipantJoined(ParticipantInfo {
            id: ParticipantId::new("666").unwrap(),
            identity: IdentityId::new("janus-666").unwrap(),
            key: String::new(),
            name: "Dan".into(),
            tracks: vec![TrackInfo {
                id: MediaKind::Video.nth_track_id(0),
                kind: MediaKind::Video,
                muted: false
            }],
        }))
    );

    let attached = json!({"videoroom": "attached", "streams": [{"mid": "0", "feed_id": 555}, {"mid": "1", "feed_id": 555}]});
    dialect
        .handle_server(&event(SUBSCRIBER, attached, Some(offer(SUBSCRIBER_OFFER))))
        .unwrap();
    let offered = outputs(&mut dialect);
    assert!(
        matches!(&offered[..], [JanusOutput::Description(PeerSlot::Subscriber, d)] if d.kind == SdpKind::Offer)
    );
    assert_eq!(dialect.sender_of_track("janus1").unwrap().as_str(), "555");
    assert_eq!(dialect.sender_of_track("janus9"), None);

    let answer = SessionDescription {
        kind: SdpKind::Answer,
        sdp: "v=0 answer".into(),
    };
    dialect.local_description(PeerSlot::Subscriber, answer);
    let next = server_frames(&outputs(&mut dialect));
    assert_eq!(next[0]["body"]["request"], "start");
    assert_eq!(next[0]["jsep"]["type"], "answer");
    assert_eq!(
        next[1]["body"],
        json!({"request": "update", "subscribe": [{"feed": 666}]})
    );
}

#[test]
fn a_publisher_who_leaves_the_room_leaves_the_call_but_one_who_only_unpublishes_stays() {
    let (mut dialect, _) = joined(&[(555, "Carol"), (666, "Dan")]);
    dialect
        .handle_server(&event(
            PUBLISHER,
            json!({"videoroom": "event", "unpublished": 555}),
            None,
        ))
        .unwrap();
    assert!(signals(&outputs(&mut dialect)).is_empty(), "Carol still chats");
    dialect
        .handle_server(&event(
            PUBLISHER,
            json!({"videoroom": "event", "leaving": 666}),
            None,
        ))
        .unwrap();
    let left = signals(&outputs(&mut dialect));
    assert_eq!(
        left,
        [SignalIn::ParticipantLeft {
            id: ParticipantId::new("666").unwrap(),
            reason: LeaveReason::Hangup
        }]
    );
    dialect
        .handle_channel(r#"{"textroom":"leave","username":"555"}"#, 2)
        .unwrap();
    assert!(
        matches!(&signals(&outputs(&mut dialect))[..], [SignalIn::ParticipantLeft { id, .. }] if id.as_str() == "555")
    );
}

fn message(id: &str, text: &str) -> ChatMessage {
    ChatMessage {
        id: MessageId::new(id).unwrap(),
        from: ParticipantId::new("me").unwrap(),
        from_identity: identity("me"),
        from_name: "Alice".into(),
        order: 1,
        conversation: ConversationId::Public,
        text: text.into(),
    }
}

#[test]
fn whispers_go_to_one_user_name_and_janus_receipt_says_whether_it_arrived() {
    let (mut dialect, _) = joined(&[(555, "Carol")]);
    let carol = ParticipantId::new("555").unwrap();
    dialect
        .send_private(&message("m1", "psst"), std::slice::from_ref(&carol))
        .unwrap();
    let whisper = channel_frames(&outputs(&mut dialect)).remove(0);
    assert_eq!(
        (&whisper["to"], &whisper["text"], &whisper["ack"]),
        (&json!("555"), &json!("psst"), &json!(true))
    );
    let receipt =
        json!({"textroom": "success", "transaction": whisper["transaction"], "sent": {"555": true}});
    dialect.handle_channel(&receipt.to_string(), 3).unwrap();
    assert_eq!(
        signals(&outputs(&mut dialect)),
        [SignalIn::ChatAck {
            id: MessageId::new("m1").unwrap(),
            from: carol.clone()
        }]
    );

    dialect
        .send_private(&message("m2", "gone?"), std::slice::from_ref(&carol))
        .unwrap();
    let whisper = channel_frames(&outputs(&mut dialect)).remove(0);
    let receipt =
        json!({"textroom": "success", "transaction": whisper["transaction"], "sent": {"555": false}});
    dialect.handle_channel(&receipt.to_string(), 4).unwrap();
    assert!(matches!(
        &signals(&outputs(&mut dialect))[..],
        [SignalIn::ChatRejected {
            code: SignalErrorCode::UnknownParticipant,
            ..
        }]
    ));

    let dan = ParticipantId::new("666").unwrap();
    let three = dialect.send_private(&message("m3", "all of us"), &[carol, dan]);
    assert!(matches!(three, Err(AdapterError::Unsupported(_))));
    assert!(outputs(&mut dialect).is_empty());
}

#[test]
fn received_messages_carry_their_conversation_and_our_own_echo_is_dropped() {
    let (mut dialect, _) = joined(&[(555, "Carol")]);
    let whisper = r#"{"textroom":"message","from":"555","text":"just you","whisper":true}"#;
    dialect.handle_channel(whisper, 10).unwrap();
    let public = r#"{"textroom":"message","from":"555","text":"everyone"}"#;
    dialect.handle_channel(public, 11).unwrap();
    let echo = json!({"textroom": "message", "from": dialect.local().to_string(), "text": "mine"});
    dialect.handle_channel(&echo.to_string(), 12).unwrap();
    let received: Vec<(ConversationId, String, String, u64)> = signals(&outputs(&mut dialect))
        .into_iter()
        .filter_map(|s| match s {
            SignalIn::Chat(m) => Some((m.conversation, m.text, m.from_name, m.order)),
            _ => None,
        })
        .collect();
    let private =
        PrivateMembers::new([dialect.local_identity(), IdentityId::new("janus-555").unwrap()]).unwrap();
    assert_eq!(
        received,
        [
            (
                ConversationId::Private(private),
                "just you".into(),
                "Carol".into(),
                10
            ),
            (ConversationId::Public, "everyone".into(), "Carol".into(), 11),
        ]
    );
}

#[test]
fn janus_errors_become_confab_errors_a_user_can_act_on() {
    let (mut dialect, _) = joined(&[]);
    let no_room = json!({"videoroom": "event", "error_code": 426, "error": "No such room (1234)"});
    dialect.handle_server(&event(PUBLISHER, no_room, None)).unwrap();
    let taken = r#"{"textroom":"error","error_code":420,"error":"Username already taken"}"#;
    dialect.handle_channel(taken, 1).unwrap();
    let codes: Vec<SignalErrorCode> = signals(&outputs(&mut dialect))
        .into_iter()
        .filter_map(|s| match s {
            SignalIn::Error { code, .. } => Some(code),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        [SignalErrorCode::RoomNotFound, SignalErrorCode::IdentityTaken]
    );

    dialect
        .handle_server(r#"{"janus":"timeout","session_id":100}"#)
        .unwrap();
    assert!(matches!(
        &outputs(&mut dialect)[..],
        [JanusOutput::SessionLost(_)]
    ));
    assert_eq!(dialect.poll_timeout(), None, "no keepalives for a lost session");
}

#[test]
fn keeps_the_session_alive_and_tears_everything_down_on_leave() {
    let (mut dialect, _) = joined(&[]);
    let due = dialect.poll_timeout().expect("a keepalive is scheduled");
    dialect.handle_timeout(due - Duration::from_secs(1));
    assert!(outputs(&mut dialect).is_empty());
    dialect.handle_timeout(due);
    let keepalive = server_frames(&outputs(&mut dialect));
    assert_eq!(
        (&keepalive[0]["janus"], &keepalive[0]["session_id"]),
        (&json!("keepalive"), &json!(SESSION))
    );
    assert!(dialect.poll_timeout() > Some(due));

    dialect.leave();
    let out = outputs(&mut dialect);
    assert_eq!(channel_frames(&out)[0]["textroom"], "leave");
    let steps: Vec<String> = server_frames(&out)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["janus"].as_str().unwrap(),
                f["body"]["request"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(steps, ["message leave", "detach ", "detach ", "destroy "]);
}

#[test]
fn feed_ids_are_stable_per_identity_and_safe_for_javascript() {
    let a = feed_for(&identity("id-0123456789abcdef"));
    assert_eq!(a, feed_for(&identity("id-0123456789abcdef")));
    assert_ne!(a, feed_for(&identity("id-0123456789abcdee")));
    assert!(a < 1 << 53 && a > 0);
    let stand_in = participant_of("has space");
    assert!(
        stand_in.as_str().starts_with("x.") && stand_in.as_str().len() == 2 + 16,
        "{stand_in}"
    );
    assert_ne!(
        participant_of(stand_in.as_str()),
        stand_in,
        "a name that looks like a stand-in is not one"
    );
}

#[test]
fn each_mid_names_its_track() {
    let tracks = tracks_by_mid(SUBSCRIBER_OFFER);
    assert_eq!(tracks.get("0"), Some(&"janus0"));
    assert_eq!(tracks.get("1"), Some(&"janus1"));
}

/// A joined dialect whose subscription to Carol (feed 555) is negotiated on handle
/// `SUBSCRIBER`.
fn receiving_carol() -> JanusDialect {
    let (mut dialect, so_far) = joined(&[(555, "Carol")]);
    let attach = server_frames(&so_far)
        .into_iter()
        .find(|f| f["janus"] == "attach")
        .unwrap();
    dialect
        .handle_server(&success(&attach["transaction"], SUBSCRIBER))
        .unwrap();
    let attached = json!({"videoroom": "attached", "streams": [{"mid": "0", "feed_id": 555}]});
    dialect
        .handle_server(&event(SUBSCRIBER, attached, Some(offer(SUBSCRIBER_OFFER))))
        .unwrap();
    let answer = SessionDescription {
        kind: SdpKind::Answer,
        sdp: "v=0".into(),
    };
    dialect.local_description(PeerSlot::Subscriber, answer);
    outputs(&mut dialect);
    dialect
}

#[test]
fn a_newcomer_after_a_departure_gets_a_fresh_subscription() {
    let mut dialect = receiving_carol();

    // Carol stops publishing (she still chats); Dan starts: Janus would give him Carol's
    // m-lines, so the subscription starts over on a new handle with Dan in it.
    dialect
        .handle_server(&event(
            PUBLISHER,
            json!({"videoroom": "event", "unpublished": 555}),
            None,
        ))
        .unwrap();
    let dan = json!({"videoroom": "event", "publishers": [{"id": 666, "display": "Dan", "streams": [{"type": "video"}]}]});
    dialect.handle_server(&event(PUBLISHER, dan, None)).unwrap();
    let out = outputs(&mut dialect);
    assert!(out.contains(&JanusOutput::Close(PeerSlot::Subscriber)), "{out:?}");
    let frames = server_frames(&out);
    assert_eq!(
        (&frames[0]["janus"], &frames[0]["handle_id"]),
        (&json!("detach"), &json!(SUBSCRIBER))
    );
    assert_eq!(frames[1]["janus"], "attach");
    assert_eq!(
        dialect.sender_of_track("janus0"),
        None,
        "Carol's track is forgotten"
    );
    dialect
        .handle_server(&success(&frames[1]["transaction"], SUBSCRIBER + 1))
        .unwrap();
    let join = server_frames(&outputs(&mut dialect));
    assert_eq!(join[0]["body"]["ptype"], "subscriber");
    assert_eq!(join[0]["body"]["streams"], json!([{"feed": 666}]));
}

fn hangup(sender: u64) -> String {
    json!({"janus": "hangup", "session_id": SESSION, "sender": sender, "reason": "ICE failed"}).to_string()
}

#[test]
fn a_hung_up_subscription_asks_for_everyone_again_on_a_fresh_handle() {
    let mut dialect = receiving_carol();

    dialect.handle_server(&hangup(SUBSCRIBER)).unwrap();
    let out = outputs(&mut dialect);
    assert!(out.contains(&JanusOutput::HungUp(PeerSlot::Subscriber, "ICE failed".into())));
    assert!(out.contains(&JanusOutput::Close(PeerSlot::Subscriber)), "{out:?}");
    let frames = server_frames(&out);
    assert_eq!(
        (&frames[0]["janus"], &frames[0]["handle_id"], &frames[1]["janus"]),
        (&json!("detach"), &json!(SUBSCRIBER), &json!("attach"))
    );
    assert!(signals(&out).is_empty(), "nobody left: {out:?}");
    dialect
        .handle_server(&success(&frames[1]["transaction"], SUBSCRIBER + 1))
        .unwrap();
    let join = server_frames(&outputs(&mut dialect));
    assert_eq!(
        (
            &join[0]["handle_id"],
            &join[0]["body"]["ptype"],
            &join[0]["body"]["streams"]
        ),
        (
            &json!(SUBSCRIBER + 1),
            &json!("subscriber"),
            &json!([{"feed": 555}])
        )
    );
}

#[test]
fn a_hung_up_chat_joins_the_textroom_again_and_nothing_said_meanwhile_is_lost() {
    let (mut dialect, _) = joined(&[(555, "Carol")]);
    let carol = ParticipantId::new("555").unwrap();
    let eve_joins = json!({"textroom": "join", "room": 1234, "username": "777", "display": "Eve"});
    dialect.handle_channel(&eve_joins.to_string(), 2).unwrap();
    dialect
        .send_private(&message("m1", "unconfirmed"), std::slice::from_ref(&carol))
        .unwrap();
    let first = channel_frames(&outputs(&mut dialect)).remove(0);

    dialect.handle_server(&hangup(CHAT)).unwrap();
    let out = outputs(&mut dialect);
    assert!(out.contains(&JanusOutput::HungUp(PeerSlot::Chat, "ICE failed".into())));
    assert!(out.contains(&JanusOutput::Close(PeerSlot::Chat)), "{out:?}");
    let frames = server_frames(&out);
    assert_eq!(
        (&frames[0]["janus"], &frames[0]["handle_id"], &frames[1]["plugin"]),
        (&json!("detach"), &json!(CHAT), &json!("janus.plugin.textroom"))
    );
    // Said while the chat connection is down: held.
    dialect.send_public(&message("m2", "anyone?"));
    assert!(channel_frames(&outputs(&mut dialect)).is_empty());

    dialect
        .handle_server(&success(&frames[1]["transaction"], CHAT + 1))
        .unwrap();
    assert_eq!(
        server_frames(&outputs(&mut dialect))[0]["body"]["request"],
        "setup"
    );
    let chat_offer = event(CHAT + 1, json!({"textroom": "event"}), Some(offer("v=0")));
    dialect.handle_server(&chat_offer).unwrap();
    outputs(&mut dialect);
    dialect.chat_channel_opened();
    let join = channel_frames(&outputs(&mut dialect));
    assert_eq!((join.len(), &join[0]["textroom"]), (1, &json!("join")));
    // Eve (only chatting) left while we were out: she is gone; Carol is still there.
    let reply = json!({"textroom": "success", "transaction": join[0]["transaction"],
        "participants": [{"username": "555", "display": "Carol"}]});
    dialect.handle_channel(&reply.to_string(), 9).unwrap();
    let out = outputs(&mut dialect);
    assert_eq!(
        signals(&out),
        [SignalIn::ParticipantLeft {
            id: ParticipantId::new("777").unwrap(),
            reason: LeaveReason::Hangup
        }]
    );
    let resent = channel_frames(&out);
    assert_eq!(resent.len(), 2, "{resent:?}");
    assert_eq!(
        (&resent[0]["transaction"], &resent[0]["text"]),
        (&first["transaction"], &json!("unconfirmed"))
    );
    assert_eq!(resent[1]["text"], "anyone?");
    let receipt = json!({"textroom": "success", "transaction": first["transaction"], "sent": {"555": true}});
    dialect.handle_channel(&receipt.to_string(), 10).unwrap();
    assert_eq!(
        signals(&outputs(&mut dialect)),
        [SignalIn::ChatAck {
            id: MessageId::new("m1").unwrap(),
            from: carol
        }]
    );
}

#[test]
fn a_hung_up_subscription_to_nobody_is_only_closed() {
    let mut dialect = receiving_carol();
    dialect
        .handle_server(&event(
            PUBLISHER,
            json!({"videoroom": "event", "unpublished": 555}),
            None,
        ))
        .unwrap();
    outputs(&mut dialect);
    dialect.handle_server(&hangup(SUBSCRIBER)).unwrap();
    let out = outputs(&mut dialect);
    assert!(out.contains(&JanusOutput::Close(PeerSlot::Subscriber)), "{out:?}");
    assert!(
        !out.iter().any(|o| matches!(o, JanusOutput::HungUp(..))),
        "nothing will replace it, so nothing is awaited: {out:?}"
    );
}

#[test]
fn janus_missing_our_packets_asks_us_to_send_less() {
    let (mut dialect, _) = joined(&[]);
    let slow = |sender: u64, uplink: bool| {
        json!({"janus": "slowlink", "session_id": SESSION, "sender": sender, "uplink": uplink, "lost": 40})
            .to_string()
    };
    dialect.handle_server(&slow(PUBLISHER, false)).unwrap();
    assert_eq!(outputs(&mut dialect), [JanusOutput::SendingCongested]);
    // Loss on what Janus sends us, or on the chat connection, is not ours to fix by sending less.
    dialect.handle_server(&slow(PUBLISHER, true)).unwrap();
    dialect.handle_server(&slow(CHAT, false)).unwrap();
    assert!(outputs(&mut dialect).is_empty());
}
