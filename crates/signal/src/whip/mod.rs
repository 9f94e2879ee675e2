//! WHIP (RFC 9725) and WHEP: HTTP offer/answer for one stream per PeerConnection. The
//! trickle-ICE fragments PATCH carries ([`sdpfrag`]) serve both the embedded server's endpoints
//! and the [`client`]; the client also reads the ICE servers a response names
//! ([`ice_servers`]).

pub mod client;
pub mod ice_servers;
pub mod sdpfrag;
