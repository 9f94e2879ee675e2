//! What a client reads from its server: frames through the native adapter into the room state
//! machine, one frame per line, with public and private sends between them. Nothing may panic,
//! whatever order or content.
#![no_main]

use confab_core::{
    ConversationId, IdentityId, MessageId, Output, PrivateMembers, Room, RoomCommand, RoomName, Secret,
};
use confab_signal::native::NativeAdapter;
use confab_signal::SignalingAdapter;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = Instant::now();
    let me = IdentityId::new("fuzz").expect("valid");
    let mut room = Room::new(me.clone(), "a2V5".into());
    let join = RoomCommand::Join {
        room: RoomName::new("r").expect("valid"),
        name: "fuzz".into(),
        token: Secret::new("t"),
        proof: Secret::new("p"),
    };
    room.handle_command(now, join).expect("fresh room joins");
    let mut adapter = NativeAdapter::new(now);
    for (i, line) in text.lines().enumerate() {
        if let Ok(signals) = adapter.decode(line) {
            for signal in signals {
                room.handle_signal(now + Duration::from_millis(i as u64), signal);
            }
        }
        // Alternate public and private sends so both routing paths see every state.
        let conversation = if i % 2 == 0 {
            ConversationId::Public
        } else {
            let other = IdentityId::new(format!("id-p{}", i % 4)).expect("valid");
            ConversationId::Private(PrivateMembers::new([me.clone(), other]).expect("two members"))
        };
        let id = MessageId::new(format!("m{i}")).expect("valid");
        let _ = room.handle_command(
            now,
            RoomCommand::SendChat {
                id,
                order: i as u64,
                conversation,
                text: "x".into(),
            },
        );
        while !matches!(room.poll_output(), Output::Timeout(_)) {}
    }
    room.handle_timeout(now + Duration::from_secs(60));
    while !matches!(room.poll_output(), Output::Timeout(_)) {}
});
