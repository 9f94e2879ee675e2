//! What the embedded server reads from every WebSocket: client frames.
#![no_main]

use confab_signal::native::wire::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(decoded) = ClientMessage::decode(text) {
            // Whatever decodes must re-encode, under its number, to something that decodes the same.
            let frame = match decoded.seq {
                Some(seq) => decoded.message.encode_numbered(seq),
                None => decoded.message.encode(),
            };
            assert_eq!(ClientMessage::decode(&frame).ok(), Some(decoded));
        }
    }
});
