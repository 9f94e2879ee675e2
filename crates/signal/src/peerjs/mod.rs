//! PeerJS (the npm `peer` server): a mesh room, one pair of connections (media, data) to each
//! other participant, with the server only introducing peers and relaying their offers,
//! answers and candidates.
//!
//! PeerJS has no rooms, so Confab makes one by naming: the members of room `standup` are the
//! peers whose ids are `standup-` followed by 16 hex digits ([`peer_id_for`] our identity, so a
//! returning user has the same id), and a newcomer finds them in the server's peer list. Any
//! PeerJS client that follows the rule (and speaks [`wire::ChannelMessage`] on its data
//! connection) can join, as the aiortc test peer does.
//!
//! [`wire`] reads and writes PeerJS' JSON; [`mesh`] is the room's state machine; [`discovery`]
//! asks the server who is there. Like Janus',
//! the mesh is its own sans-IO shape rather than a
//! [`SignalingAdapter`](crate::SignalingAdapter): connections come and go per peer, and chat
//! rides data channels, not the server.

pub mod discovery;
pub mod mesh;
pub mod wire;

pub use discovery::list_peers;
pub use mesh::{MeshOutput, PeerJsMesh};
pub use wire::Lane;

use crate::stable_hash::fnv1a;
use confab_core::link::PeerJsLink;
use confab_core::{IdentityId, ParticipantId};
use url::Url;

/// Our peer id in `room`: the room, a dash, and 16 hex digits from our identity.
pub fn peer_id_for(room: &str, identity: &IdentityId) -> ParticipantId {
    ParticipantId::new(format!("{room}-{:016x}", fnv1a(identity.as_str())))
        .unwrap_or_else(|_| unreachable!("a PeerJS room name and hex digits make a valid participant id"))
}

/// The participant `id` is, if it names a member of `room` (see the module docs).
pub fn member_of_room(room: &str, id: &str) -> Option<ParticipantId> {
    let own = id.strip_prefix(room)?.strip_prefix('-')?;
    let hex = own.len() == 16 && own.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then(|| ParticipantId::new(id).ok()).flatten()
}

/// The Confab identity of a PeerJS participant (not proven: see the engine's PeerJS driver).
pub fn identity_of(peer: &ParticipantId) -> IdentityId {
    IdentityId::new(format!("peerjs.{peer}"))
        .unwrap_or_else(|_| unreachable!("a member's peer id makes a valid identity"))
}

/// The server's WebSocket address for `peer` with `token` (the token reclaims the id after a
/// reconnect; keep it out of logs).
pub fn socket_url(link: &PeerJsLink, peer: &ParticipantId, token: &str) -> Url {
    let mut url = link.server.clone();
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme)
        .unwrap_or_else(|()| unreachable!("http and ws addresses have the same shape"));
    url.set_path(&format!("{}peerjs", link.server.path()));
    url.query_pairs_mut()
        .append_pair("key", &link.key)
        .append_pair("id", peer.as_str())
        .append_pair("token", token)
        .append_pair("version", "1.5.4");
    url
}

/// The address that lists the server's peers (the server must allow discovery).
pub fn peers_url(link: &PeerJsLink) -> Url {
    let mut url = link.server.clone();
    url.set_path(&format!("{}{}/peers", link.server.path(), link.key));
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::JoinLink;

    fn link(text: &str) -> PeerJsLink {
        match JoinLink::parse(text) {
            Ok(JoinLink::PeerJs(link)) => link,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn peer_ids_name_the_room_and_the_identity() {
        let alice = IdentityId::new("id-alice").unwrap();
        let id = peer_id_for("team-a", &alice);
        assert_eq!(id, peer_id_for("team-a", &alice));
        assert_eq!(member_of_room("team-a", id.as_str()), Some(id.clone()));
        assert_eq!(
            member_of_room("team", id.as_str()),
            None,
            "room team is not room team-a"
        );
        assert_eq!(member_of_room("team-a", "team-a-0123"), None);
        assert_eq!(member_of_room("team-a", "team-a-0123456789ABCDEF"), None);
        assert_eq!(identity_of(&id).as_str(), format!("peerjs.{id}"));
    }

    #[test]
    fn server_addresses_follow_the_link() {
        let link = link("peerjs+https://peers.example:9443/app/#room=r&key=k");
        let peer = ParticipantId::new("r-0123456789abcdef").unwrap();
        assert_eq!(
            socket_url(&link, &peer, "t0k").as_str(),
            "wss://peers.example:9443/app/peerjs?key=k&id=r-0123456789abcdef&token=t0k&version=1.5.4"
        );
        assert_eq!(
            peers_url(&link).as_str(),
            "https://peers.example:9443/app/k/peers"
        );
    }
}
