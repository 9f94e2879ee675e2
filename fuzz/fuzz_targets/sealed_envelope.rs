//! What a client opens from the network: sealed private-message envelopes, with arbitrary nonce,
//! ciphertext and announced sender key. Nothing may panic, and nothing forged may open.
#![no_main]

use confab_core::{Envelope, IdentityId, MessageId, ParticipantId, Recipient};
use confab_engine::SessionKeys;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> &'static SessionKeys {
    static KEYS: OnceLock<SessionKeys> = OnceLock::new();
    KEYS.get_or_init(SessionKeys::generate)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (nonce, ciphertext, key) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let from = Recipient {
        participant: ParticipantId::new("p1").expect("valid"),
        identity: IdentityId::new("sender").expect("valid"),
        key: key.to_owned(),
    };
    let envelope = Envelope {
        to: ParticipantId::new("p2").expect("valid"),
        nonce: nonce.to_owned(),
        ciphertext: ciphertext.to_owned(),
    };
    let opened = keys().open(&MessageId::new("m1").expect("valid"), &from, &envelope);
    assert!(opened.is_err(), "random bytes must not authenticate");
});
