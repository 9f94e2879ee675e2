//! Model-based test of chat privacy: random interleavings of join, leave, reconnect, identity
//! takeover and public/private sends among up to six identities, run through real `Room`s
//! connected by a small in-memory router that follows the embedded server's rules, and checked
//! against an oracle:
//!
//! - every private message is in the history of exactly its members (sender included), in
//!   exactly its own conversation, and in no public conversation;
//! - a private message that could not reach every member reached nobody;
//! - every public message reaches every identity present when it was sent;
//! - each sender's messages of a conversation are held in the order they were sent, even when
//!   the network delivered them in another order (the `Lag` / `CatchUp` operations hold chat back
//!   and then deliver it newest first).
//!
//! Sealing is the engine's job and is tested there; here an envelope's "ciphertext" is the
//! message itself, delivered only to the session the router names.

use confab_core::{
    Chat, ChatMessage, ConversationId, IdentityId, MessageId, Output, ParticipantId, ParticipantInfo,
    PrivateMembers, Room, RoomCommand, RoomName, Secret, SignalIn, SignalOut,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

const PEOPLE: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Join(usize),
    Leave(usize),
    Reconnect(usize),
    Takeover(usize),
    SayPublic(usize),
    SayPrivate(usize, Vec<usize>),
    /// From now on chat is held in the network.
    Lag,
    /// Held chat is delivered, newest first.
    CatchUp,
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..PEOPLE;
    prop_oneof![
        3 => who.clone().prop_map(Op::Join),
        1 => who.clone().prop_map(Op::Leave),
        1 => who.clone().prop_map(Op::Reconnect),
        1 => who.clone().prop_map(Op::Takeover),
        2 => who.clone().prop_map(Op::SayPublic),
        5 => (who, proptest::collection::vec(0..PEOPLE, 1..4)).prop_map(|(w, to)| Op::SayPrivate(w, to)),
        1 => Just(Op::Lag),
        1 => Just(Op::CatchUp),
    ]
}

fn identity(i: usize) -> IdentityId {
    IdentityId::new(format!("person-{i}")).expect("valid")
}

struct Session {
    id: ParticipantId,
    room: Room,
}

/// The router: present sessions by identity, plus each absent identity's kept history.
struct World {
    now: Instant,
    next_session: u64,
    next_message: u64,
    present: BTreeMap<usize, Session>,
    kept: BTreeMap<usize, Chat>,
    /// Chat held in the network while lagging (`Some`), in the order it was sent.
    held: Option<Vec<(ParticipantId, SignalIn)>>,
    /// Oracle: message id -> (members, or None for public), and who must have it.
    expected: BTreeMap<MessageId, (Option<BTreeSet<IdentityId>>, BTreeSet<IdentityId>)>,
}

impl World {
    fn new() -> Self {
        Self {
            now: Instant::now(),
            next_session: 1,
            next_message: 1,
            present: BTreeMap::new(),
            kept: BTreeMap::new(),
            held: None,
            expected: BTreeMap::new(),
        }
    }

    fn info(&self, who: usize) -> ParticipantInfo {
        let session = &self.present[&who];
        ParticipantInfo {
            id: session.id.clone(),
            identity: identity(who),
            key: format!("key-{}", session.id),
            name: format!("Person {who}"),
            tracks: vec![],
        }
    }

    fn join(&mut self, who: usize) {
        self.catch_up();
        let chat = match self.present.remove(&who) {
            // Takeover: the new session replaces the old one and inherits its history.
            Some(old) => {
                self.announce_left(&old.id);
                old.room.into_chat()
            }
            None => self.kept.remove(&who).unwrap_or_default(),
        };
        let id = ParticipantId::new(format!("s{}", self.next_session)).expect("valid");
        self.next_session += 1;
        let mut room = Room::resume(identity(who), format!("key-{id}"), chat);
        let join = RoomCommand::Join {
            room: RoomName::new("model").expect("valid"),
            name: format!("Person {who}"),
            token: Secret::new("t"),
            proof: Secret::new("p"),
        };
        room.handle_command(self.now, join)
            .expect("a fresh session joins");
        let others: Vec<ParticipantInfo> = self.present.keys().map(|&o| self.info(o)).collect();
        room.handle_signal(
            self.now,
            SignalIn::Joined {
                local: id.clone(),
                participants: others,
            },
        );
        self.present.insert(who, Session { id, room });
        let info = self.info(who);
        for (other, session) in self.present.iter_mut() {
            if *other != who {
                session
                    .room
                    .handle_signal(self.now, SignalIn::ParticipantJoined(info.clone()));
            }
        }
        self.run();
    }

    fn announce_left(&mut self, id: &ParticipantId) {
        for session in self.present.values_mut() {
            let left = SignalIn::ParticipantLeft {
                id: id.clone(),
                reason: confab_core::LeaveReason::Hangup,
            };
            session.room.handle_signal(self.now, left);
        }
    }

    fn leave(&mut self, who: usize) {
        self.catch_up();
        if let Some(mut session) = self.present.remove(&who) {
            let _ = session.room.handle_command(self.now, RoomCommand::Leave);
            self.announce_left(&session.id);
            self.kept.insert(who, session.room.into_chat());
            self.run();
        }
    }

    fn say(&mut self, who: usize, conversation: ConversationId) {
        let Some(session) = self.present.get_mut(&who) else {
            return;
        };
        let id = MessageId::new(format!("m{}", self.next_message)).expect("valid");
        self.next_message += 1;
        let send = RoomCommand::SendChat {
            id: id.clone(),
            order: self.next_message,
            conversation: conversation.clone(),
            text: format!("text of {id}"),
        };
        let sent = session.room.handle_command(self.now, send);
        let present: BTreeSet<IdentityId> = self.present.keys().map(|&p| identity(p)).collect();
        let readers = match &conversation {
            ConversationId::Public => present.clone(),
            ConversationId::Private(members) => {
                let members: BTreeSet<IdentityId> = members.iter().cloned().collect();
                let all_present = members.iter().all(|m| present.contains(m));
                assert_eq!(
                    sent.is_ok(),
                    all_present,
                    "a private send succeeds exactly when every member is present"
                );
                if all_present {
                    members
                } else {
                    // Not delivered: only the sender's own history keeps it.
                    BTreeSet::from([identity(who)])
                }
            }
            _ => unreachable!("only public and private conversations exist"),
        };
        let members = match &conversation {
            ConversationId::Private(m) => Some(m.iter().cloned().collect()),
            _ => None,
        };
        self.expected.insert(id, (members, readers));
        self.run();
    }

    /// Delivers every output until all rooms are quiet, following the server's routing rules.
    fn run(&mut self) {
        loop {
            let mut deliveries: Vec<(ParticipantId, SignalIn)> = Vec::new();
            let by_session: BTreeMap<ParticipantId, usize> =
                self.present.iter().map(|(&who, s)| (s.id.clone(), who)).collect();
            for session in self.present.values_mut() {
                loop {
                    match session.room.poll_output() {
                        Output::Timeout(_) => break,
                        Output::Signal(SignalOut::Chat(message)) => {
                            assert_eq!(
                                message.conversation,
                                ConversationId::Public,
                                "only public chat goes in the clear"
                            );
                            for id in by_session.keys().filter(|id| **id != session.id) {
                                deliveries.push((id.clone(), SignalIn::Chat(message.clone())));
                            }
                        }
                        Output::Seal(draft) => {
                            for recipient in &draft.recipients {
                                assert!(
                                    by_session.contains_key(&recipient.participant),
                                    "sealed for an absent session"
                                );
                                let mut copy = draft.message.clone();
                                copy.from = session.id.clone();
                                deliveries.push((recipient.participant.clone(), SignalIn::Chat(copy)));
                            }
                        }
                        Output::Signal(SignalOut::ChatAck { id, to }) => {
                            deliveries.push((
                                to,
                                SignalIn::ChatAck {
                                    id,
                                    from: session.id.clone(),
                                },
                            ));
                        }
                        _ => {}
                    }
                }
            }
            if deliveries.is_empty() {
                return;
            }
            for (to, signal) in deliveries {
                if let (Some(held), SignalIn::Chat(_)) = (&mut self.held, &signal) {
                    held.push((to, signal));
                    continue;
                }
                if let Some(who) = by_session.get(&to) {
                    if let Some(session) = self.present.get_mut(who) {
                        session.room.handle_signal(self.now, signal);
                    }
                }
            }
        }
    }

    /// Delivers the chat held while lagging, newest first, and stops lagging. Membership changes
    /// catch up first, as the server's ordered link delivers before it announces a leave.
    fn catch_up(&mut self) {
        for (to, signal) in self.held.take().into_iter().flatten().rev() {
            if let Some(session) = self.present.values_mut().find(|s| s.id == to) {
                session.room.handle_signal(self.now, signal);
            }
        }
        self.run();
    }

    fn history(&self, who: usize) -> Option<&Chat> {
        self.present
            .get(&who)
            .map(|s| s.room.chat())
            .or_else(|| self.kept.get(&who))
    }

    fn check(&self) {
        for who in 0..PEOPLE {
            let me = identity(who);
            let mut seen: BTreeMap<MessageId, Vec<ConversationId>> = BTreeMap::new();
            if let Some(chat) = self.history(who) {
                for conversation in chat.conversations() {
                    let mut last_from: BTreeMap<&IdentityId, u64> = BTreeMap::new();
                    for message in chat.messages(conversation) {
                        let last = last_from.insert(&message.from_identity, message.order);
                        assert!(
                            last < Some(message.order),
                            "{me} holds {}'s messages out of order in {conversation:?}",
                            message.from_identity
                        );
                        seen.entry(message.id.clone())
                            .or_default()
                            .push(conversation.clone());
                        assert_eq!(
                            &message.conversation, conversation,
                            "filed under another conversation"
                        );
                    }
                }
            }
            for (id, (members, readers)) in &self.expected {
                let found = seen.get(id);
                assert_eq!(
                    found.is_some(),
                    readers.contains(&me),
                    "{me} and message {id}: readers {readers:?}"
                );
                if let Some(places) = found {
                    assert_eq!(places.len(), 1, "{me} holds {id} {} times", places.len());
                    match members {
                        Some(members) => {
                            let ConversationId::Private(held) = &places[0] else {
                                panic!("private message {id} appears in a public conversation for {me}")
                            };
                            let held: BTreeSet<IdentityId> = held.iter().cloned().collect();
                            assert_eq!(&held, members, "{id} is in another private conversation for {me}");
                        }
                        None => assert_eq!(places[0], ConversationId::Public),
                    }
                }
            }
        }
    }
}

fn apply(world: &mut World, op: &Op) {
    match op {
        Op::Join(who) => {
            if !world.present.contains_key(who) {
                world.join(*who);
            }
        }
        Op::Leave(who) => world.leave(*who),
        Op::Reconnect(who) => {
            if world.present.contains_key(who) {
                world.leave(*who);
                world.join(*who);
            }
        }
        Op::Takeover(who) => {
            if world.present.contains_key(who) {
                world.join(*who);
            }
        }
        Op::SayPublic(who) => world.say(*who, ConversationId::Public),
        Op::SayPrivate(who, to) => {
            let members = to.iter().map(|&t| identity(t)).chain([identity(*who)]);
            if let Ok(members) = PrivateMembers::new(members) {
                world.say(*who, ConversationId::Private(members));
            }
        }
        Op::Lag => {
            world.held.get_or_insert_with(Vec::new);
        }
        Op::CatchUp => world.catch_up(),
    }
}

/// Cases per run; each is up to 80 operations. Raise with PROPTEST_CASES for a longer soak.
const CASES: u32 = 10_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn private_messages_reach_exactly_their_members(ops in proptest::collection::vec(op(), 1..80)) {
        let mut world = World::new();
        for op in &ops {
            apply(&mut world, op);
        }
        world.catch_up();
        world.check();
    }
}

#[test]
fn the_oracle_sees_a_leak() {
    // Guard against a vacuous oracle: a private message planted in a third party's public
    // history must be caught.
    let mut world = World::new();
    for who in 0..3 {
        world.join(who);
    }
    let members = PrivateMembers::new([identity(0), identity(1)]).expect("two");
    world.say(0, ConversationId::Private(members));
    let leaked = ChatMessage {
        id: MessageId::new("m1").expect("valid"),
        from: world.present[&0].id.clone(),
        from_identity: identity(0),
        from_name: "Person 0".into(),
        order: 1,
        conversation: ConversationId::Public,
        text: "text of m1".into(),
    };
    world
        .present
        .get_mut(&2)
        .expect("present")
        .room
        .handle_signal(world.now, SignalIn::Chat(leaked));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| world.check()));
    assert!(
        caught.is_err(),
        "the oracle missed a private message in a public conversation"
    );
}

#[test]
fn lagged_chat_is_held_back_then_kept_in_sending_order() {
    let mut world = World::new();
    world.join(0);
    world.join(1);
    apply(&mut world, &Op::Lag);
    for _ in 0..3 {
        world.say(0, ConversationId::Public);
    }
    let held_back = world
        .history(1)
        .expect("present")
        .messages(&ConversationId::Public)
        .len();
    assert_eq!(held_back, 0, "lagging holds chat in the network");
    apply(&mut world, &Op::CatchUp);
    let order: Vec<&str> = world
        .history(1)
        .expect("present")
        .messages(&ConversationId::Public)
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(
        order,
        ["m1", "m2", "m3"],
        "delivered newest first, held oldest first"
    );
    world.check();
}
