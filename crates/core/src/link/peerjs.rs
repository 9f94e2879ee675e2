//! PeerJS links: the PeerJS server's address (as a PeerJS client is configured: host, port and
//! path) prefixed with `peerjs+`, and the room and the server's key in the fragment.
//!
//! ```text
//! peerjs+http://192.168.1.20:9000/#room=standup              a mesh room on a LAN PeerJS server
//! peerjs+https://peers.example/app/#room=standup&key=k3y     … on a server with its own key
//! ```
//!
//! PeerJS has no rooms; Confab makes one as a naming rule (see `confab_signal::peerjs`): every
//! peer in room `standup` registers an id starting `standup-`, and finds the others in the
//! server's peer list (the server must be started with `--allow_discovery`). A room name is
//! therefore letters and digits joined by single `-` or `_`, as PeerJS ids are. The key is
//! PeerJS' public API key (default `peerjs`), not a secret.

use super::LinkError;
use url::Url;

/// The key a PeerJS server uses unless it is started with another.
pub const DEFAULT_PEERJS_KEY: &str = "peerjs";

/// A mesh room on a PeerJS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerJsLink {
    /// The server's base address (`http://` or `https://`, with its path ending in `/`).
    pub server: Url,
    /// The room: the prefix of its members' peer ids.
    pub room: String,
    /// The server's API key.
    pub key: String,
}

impl PeerJsLink {
    /// Parses `text` if it is a PeerJS link (`None` if it is some other kind of link).
    pub(super) fn parse(text: &str) -> Option<Result<Self, LinkError>> {
        let rest = super::stream::strip_prefix_ignoring_case(text, "peerjs+")?;
        Some(Self::parse_server(rest))
    }

    fn parse_server(text: &str) -> Result<Self, LinkError> {
        let mut server = Url::parse(text).map_err(|_| LinkError::NotAUrl)?;
        if !matches!(server.scheme(), "http" | "https") {
            return Err(LinkError::UnsupportedScheme(format!(
                "peerjs+{}",
                server.scheme()
            )));
        }
        if server.host_str().is_none_or(str::is_empty) {
            return Err(LinkError::MissingHost);
        }
        let extras = server.fragment().map(str::to_owned).unwrap_or_default();
        server.set_fragment(None);
        server.set_query(None);
        if !server.path().ends_with('/') {
            let path = format!("{}/", server.path());
            server.set_path(&path);
        }
        let (mut room, mut key) = (None, None);
        for (name, value) in url::form_urlencoded::parse(extras.as_bytes()) {
            match &*name {
                "room" => room = Some(value.into_owned()),
                "key" if !value.is_empty() => key = Some(value.into_owned()),
                _ => {} // room for later extras; an unknown one must not make a link unusable
            }
        }
        let room = room
            .filter(|room| is_peer_id_part(room))
            .ok_or(LinkError::BadPeerJsRoom)?;
        Ok(Self {
            server,
            room,
            key: key.unwrap_or_else(|| DEFAULT_PEERJS_KEY.to_owned()),
        })
    }

    /// The link as text (nothing in it is secret).
    pub(super) fn format(&self) -> String {
        let mut extras = url::form_urlencoded::Serializer::new(String::new());
        extras.append_pair("room", &self.room);
        if self.key != DEFAULT_PEERJS_KEY {
            extras.append_pair("key", &self.key);
        }
        format!("peerjs+{}#{}", self.server, extras.finish())
    }
}

/// Whether `text` may stand in a PeerJS id: letters and digits in runs joined by single `-` or
/// `_`, at most 32 characters (room names; the id adds our own part after them).
pub fn is_peer_id_part(text: &str) -> bool {
    text.len() <= 32
        && text
            .split(['-', '_'])
            .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use crate::{JoinLink, LinkError};

    fn peerjs(text: &str) -> super::PeerJsLink {
        match JoinLink::parse(text) {
            Ok(JoinLink::PeerJs(link)) => link,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn peerjs_links_round_trip() {
        for text in [
            "peerjs+http://192.168.1.20:9000/#room=standup",
            "peerjs+https://peers.example/app/#room=team_7-a&key=k3y",
        ] {
            let link = JoinLink::PeerJs(peerjs(text));
            assert_eq!(link.to_string(), text);
            assert_eq!(JoinLink::parse(&link.to_string()), Ok(link));
        }
    }

    #[test]
    fn the_path_is_a_folder_and_the_key_defaults() {
        let link = peerjs("PEERJS+http://h:9000/app?x=1#room=r&later=1");
        assert_eq!(link.server.as_str(), "http://h:9000/app/");
        assert_eq!(link.room, "r");
        assert_eq!(link.key, "peerjs");
    }

    #[test]
    fn bad_peerjs_links_say_what_is_wrong() {
        let parse = |text: &str| JoinLink::parse(text).map(|_| ());
        for room in ["", "#room=", "#room=a--b", "#room=a.b", "#room=-a", "#room=a%20b"] {
            let text = format!("peerjs+http://h:9000/{room}");
            assert_eq!(parse(&text), Err(LinkError::BadPeerJsRoom), "{text}");
        }
        assert_eq!(
            parse("peerjs+ws://h:9000/#room=r"),
            Err(LinkError::UnsupportedScheme("peerjs+ws".into()))
        );
        assert_eq!(parse("peerjs+nothing"), Err(LinkError::NotAUrl));
    }
}
