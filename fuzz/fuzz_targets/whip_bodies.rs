//! WHIP/WHEP bodies and headers besides SDP parsing itself, both ways: trickle fragments (PATCH
//! bodies the embedded server reads, ICE-restart answers Confab's client reads), offers whose
//! bundled sections may disagree on ICE credentials, and `Link` headers naming ICE servers.
//! A fragment that parses must survive being written out and read again, and applying it as
//! a restart must leave its credentials in the description; an offer the bundle step rewrites
//! must come out unchanged when rewritten again; Link headers never fail and stay bounded.
#![no_main]

use confab_rtc::bundle::unify_bundled_credentials;
use confab_signal::whip::ice_servers::{ice_servers, MAX_ICE_SERVERS};
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
        if let (Some(ufrag), Some(pwd)) = (&fragment.ufrag, &fragment.pwd) {
            let remote = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\n";
            let restarted = sdpfrag::restarted(remote, &fragment);
            assert_eq!(sdpfrag::credentials(&restarted), Some((ufrag.clone(), pwd.clone())));
        }
    }
    let servers = ice_servers(text.split('\n'));
    assert!(servers.len() <= MAX_ICE_SERVERS);
    if let Ok(unified) = unify_bundled_credentials(text) {
        let twice = unify_bundled_credentials(&unified).expect("a unified offer stays acceptable");
        assert_eq!(twice.as_ref(), unified.as_ref());
    }
});
