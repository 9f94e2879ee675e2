//! What a user pastes or clicks: join links. Whatever parses must print and re-parse the same.
#![no_main]

use confab_core::JoinLink;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(link) = JoinLink::parse(text) {
            assert_eq!(JoinLink::parse(&link.to_string()), Ok(link.clone()));
            assert!(!link.redacted().is_empty());
        }
    }
});
