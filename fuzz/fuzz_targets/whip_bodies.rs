//! What WHIP/WHEP clients send the embedded server besides the offer's own SDP parsing: trickle
//! fragments (PATCH bodies) and offers whose bundled sections may disagree on ICE credentials.
//! A fragment that parses must survive being written out and read again; an offer the bundle
//! step rewrites must come out with one set of credentials and unchanged when rewritten again.
#![no_main]

use confab_rtc::bundle::unify_bundled_credentials;
use confab_signal::whip::sdpfrag;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(fragment) = sdpfrag::parse(text) {
        let written = sdpfrag::compose("ufrag", "password", &fragment.candidates, fragment.end_of_candidates);
        let again = sdpfrag::parse(&written).expect("a composed fragment parses");
        assert_eq!(again.candidates.len(), fragment.candidates.len());
    }
    if let Ok(unified) = unify_bundled_credentials(text) {
        let twice = unify_bundled_credentials(&unified).expect("a unified offer stays acceptable");
        assert_eq!(twice.as_ref(), unified.as_ref());
    }
});
