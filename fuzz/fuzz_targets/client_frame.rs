//! What the embedded server reads from every WebSocket: client frames.
#![no_main]

use confab_signal::native::wire::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(message) = ClientMessage::decode(text) {
            // Whatever decodes must re-encode to something that decodes the same.
            assert_eq!(ClientMessage::decode(&message.encode()).ok(), Some(message));
        }
    }
});
