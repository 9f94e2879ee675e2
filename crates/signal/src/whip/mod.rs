//! WHIP (RFC 9725) and WHEP: HTTP offer/answer for one stream per PeerConnection. What both the
//! embedded server's endpoints and a client need: the trickle-ICE fragments PATCH carries
//! ([`sdpfrag`]).

pub mod sdpfrag;
