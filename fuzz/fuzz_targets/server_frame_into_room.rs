//! What a client reads from its server: frames through the native adapter into the room state
//! machine, one frame per line. Nothing may panic, whatever order or content.
#![no_main]

use confab_core::{Output, Room, RoomCommand, RoomName, Secret};
use confab_signal::native::NativeAdapter;
use confab_signal::SignalingAdapter;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = Instant::now();
    let mut room = Room::new();
    let join = RoomCommand::Join {
        room: RoomName::new("r").expect("valid"),
        name: "fuzz".into(),
        token: Secret::new("t"),
    };
    room.handle_command(now, join).expect("fresh room joins");
    let mut adapter = NativeAdapter;
    for (i, line) in text.lines().enumerate() {
        if let Ok(signals) = adapter.decode(line) {
            for signal in signals {
                room.handle_signal(now + Duration::from_millis(i as u64), signal);
            }
        }
        let _ = room.handle_command(now, RoomCommand::SendChat { text: "x".into() });
        while !matches!(room.poll_output(), Output::Timeout(_)) {}
    }
    room.handle_timeout(now + Duration::from_secs(60));
    while !matches!(room.poll_output(), Output::Timeout(_)) {}
});
