//! Janus links: the server's WebSocket address prefixed with `janus+`, and the room (with its
//! PIN and the server's API token, if any) in the fragment, which never reaches the server.
//!
//! ```text
//! janus+ws://192.168.1.20:8188/#room=1234                  a VideoRoom + TextRoom room
//! janus+wss://sfu.example/janus#room=1234&pin=s3cret       … that has a PIN
//! janus+wss://sfu.example/janus#room=1234&token=k3y        … on a server that wants an API token
//! ```
//!
//! The room number names both the VideoRoom (media) and the TextRoom (chat) room: a Janus
//! deployment for Confab configures the two with the same number, as Janus' own demos do.

use super::{LinkError, Secret};
use url::Url;

/// A room on a Janus server: VideoRoom for media, TextRoom for chat.
#[derive(Clone, PartialEq, Eq)]
pub struct JanusLink {
    /// The server's WebSocket address (`ws://` or `wss://`).
    pub server: Url,
    /// The room number, the same in VideoRoom and TextRoom.
    pub room: u64,
    /// The rooms' PIN, if they have one.
    pub pin: Option<Secret>,
    /// The Janus API token, if the server requires one.
    pub token: Option<Secret>,
}

impl JanusLink {
    /// Parses `text` if it is a Janus link (`None` if it is some other kind of link).
    pub(super) fn parse(text: &str) -> Option<Result<Self, LinkError>> {
        let rest = super::stream::strip_prefix_ignoring_case(text, "janus+")?;
        Some(Self::parse_server(rest))
    }

    fn parse_server(text: &str) -> Result<Self, LinkError> {
        let mut server = Url::parse(text).map_err(|_| LinkError::NotAUrl)?;
        if !matches!(server.scheme(), "ws" | "wss") {
            return Err(LinkError::UnsupportedScheme(format!("janus+{}", server.scheme())));
        }
        if server.host_str().is_none_or(str::is_empty) {
            return Err(LinkError::MissingHost);
        }
        let extras = server.fragment().map(str::to_owned).unwrap_or_default();
        server.set_fragment(None);
        let (mut room, mut pin, mut token) = (None, None, None);
        for (key, value) in url::form_urlencoded::parse(extras.as_bytes()) {
            let secret = || (!value.is_empty()).then(|| Secret::new(value.clone().into_owned()));
            match &*key {
                "room" => room = Some(value.parse::<u64>().map_err(|_| LinkError::BadRoomNumber)?),
                "pin" => pin = secret(),
                "token" => token = secret(),
                _ => {} // room for later extras; an unknown one must not make a link unusable
            }
        }
        Ok(Self {
            server,
            room: room.ok_or(LinkError::BadRoomNumber)?,
            pin,
            token,
        })
    }

    /// The link as text; `secret_override` replaces the PIN and token (for redaction).
    pub(super) fn format(&self, secret_override: Option<&str>) -> String {
        let mut extras = url::form_urlencoded::Serializer::new(String::new());
        extras.append_pair("room", &self.room.to_string());
        for (key, secret) in [("pin", &self.pin), ("token", &self.token)] {
            if let Some(secret) = secret {
                extras.append_pair(key, secret_override.unwrap_or(secret.expose()));
            }
        }
        format!("janus+{}#{}", self.server, extras.finish())
    }
}

#[cfg(test)]
mod tests {
    use crate::{JoinLink, LinkError};

    fn janus(text: &str) -> super::JanusLink {
        match JoinLink::parse(text) {
            Ok(JoinLink::Janus(link)) => link,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn janus_links_round_trip() {
        for text in [
            "janus+ws://192.168.1.20:8188/#room=1234",
            "janus+wss://sfu.example/janus#room=1234&pin=s3cret",
            "janus+ws://[::1]:8188/#room=7&pin=p&token=a%2Bb",
        ] {
            let link = JoinLink::Janus(janus(text));
            assert_eq!(link.to_string(), text);
            assert_eq!(JoinLink::parse(&link.to_string()), Ok(link));
        }
    }

    #[test]
    fn the_fragment_names_the_room_and_secrets() {
        let link = janus("JANUS+ws://h:8188/janus?x=1#token=t&room=42&later=1");
        assert_eq!(link.server.as_str(), "ws://h:8188/janus?x=1");
        assert_eq!(link.room, 42);
        assert_eq!(link.token.as_ref().map(|t| t.expose()), Some("t"));
        assert!(link.pin.is_none());
    }

    #[test]
    fn secrets_are_redacted() {
        let link = JoinLink::parse("janus+ws://h:1/#room=1&pin=pinsecret&token=toksecret").unwrap();
        for shown in [format!("{link:?}"), link.redacted()] {
            assert!(!shown.contains("secret"), "{shown}");
            assert!(shown.contains("room=1"), "{shown}");
        }
    }

    #[test]
    fn bad_janus_links_say_what_is_wrong() {
        let parse = |text| JoinLink::parse(text).map(|_| ());
        assert_eq!(parse("janus+ws://h:8188/"), Err(LinkError::BadRoomNumber));
        assert_eq!(
            parse("janus+ws://h:8188/#room=lobby"),
            Err(LinkError::BadRoomNumber)
        );
        assert_eq!(
            parse("janus+http://h:8088/janus#room=1"),
            Err(LinkError::UnsupportedScheme("janus+http".into()))
        );
        assert_eq!(parse("janus+nothing"), Err(LinkError::NotAUrl));
    }
}
