//! Join links: parse and print every link form Confab accepts, with secrets redacted in `Debug`.
//!
//! A link's scheme picks the signaling adapter. Forms accepted today:
//!
//! | form | adapter | example |
//! | --- | --- | --- |
//! | `confab://HOST[:PORT]/ROOM?token=TOKEN` | native (Confab's embedded server), WebSocket | `confab://192.168.1.20:7878/standup?token=k3y` |
//! | `whip+ENDPOINT[#token=TOKEN[&whep=ENDPOINT]]` | WHIP: publish camera and microphone (and watch a WHEP stream) | `whip+https://sfu.example/whip/live#token=k3y` |
//! | `whep+ENDPOINT[#token=TOKEN]` | WHEP: watch one stream | `whep+http://192.168.1.20:7878/whep/standup#token=k3y` |
//! | `janus+WS-URL#room=N[&pin=PIN][&token=TOKEN]` | Janus VideoRoom (media) + TextRoom (chat) | `janus+ws://192.168.1.20:8188/#room=1234` |
//! | `peerjs+HTTP-URL#room=NAME[&key=KEY]` | a mesh room over a PeerJS server | `peerjs+http://192.168.1.20:9000/#room=standup` |
//!
//! The native port defaults to [`DEFAULT_NATIVE_PORT`]. The embedded server is a LAN service and
//! speaks no TLS, so there is no TLS form for it. WHIP and WHEP forms are described in
//! [`stream`], Janus forms in [`janus`], PeerJS forms in [`peerjs`].
//!
//! [`JoinLink`] round-trips: `JoinLink::parse(&link.to_string()) == Ok(link)`.

use crate::ids::{IdError, RoomName};
use std::fmt;
use url::Url;

pub mod janus;
pub mod peerjs;
pub mod stream;

pub use janus::JanusLink;
pub use peerjs::PeerJsLink;
pub use stream::StreamLink;

/// A secret (join token, password) that never appears in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only where it goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A link could not be understood. None of these are helped by retrying the same link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a URL at all.
    #[error("this is not a meeting link (expected something like confab://host:port/room?token=…)")]
    NotAUrl,
    /// A URL whose scheme no adapter speaks.
    #[error(
        "Confab cannot open '{0}:' links; expected confab://, whip+https://, whep+https://, janus+wss:// or peerjs+https://"
    )]
    UnsupportedScheme(String),
    /// No host in the URL.
    #[error("the link names no server")]
    MissingHost,
    /// No room in the path, or a bad one.
    #[error("the link names no valid room: {0}")]
    BadRoom(IdError),
    /// No `token=` query parameter.
    #[error("the link has no join token; ask the host for a fresh link")]
    MissingToken,
    /// The `whep=` part of a WHIP link is not an http(s) address.
    #[error("the link's stream to watch (whep=…) is not an http or https address")]
    BadWatchEndpoint,
    /// A Janus link without `room=NUMBER` in its fragment.
    #[error("the Janus link names no room number (expected …#room=1234)")]
    BadRoomNumber,
    /// A PeerJS link without a usable `room=NAME` in its fragment.
    #[error(
        "the PeerJS link names no usable room (expected …#room=standup: letters and digits, \
         joined by single - or _, at most 32 characters)"
    )]
    BadPeerJsRoom,
}

/// Where and how to join: the server, the room and the secret that admits us.
#[derive(Clone, PartialEq, Eq)]
pub enum JoinLink {
    /// Confab's own room server (embedded in the app or `confab-cli serve`).
    Native(NativeLink),
    /// WHIP and WHEP endpoints: publish, watch, or both, one media connection per stream.
    Stream(StreamLink),
    /// A Janus server: VideoRoom for media, TextRoom for chat.
    Janus(JanusLink),
    /// A PeerJS server: a mesh room, one connection to each other participant.
    PeerJs(PeerJsLink),
}

/// A link to a room on Confab's own server.
#[derive(Clone, PartialEq, Eq)]
pub struct NativeLink {
    /// Host name or IP address of the server.
    pub host: String,
    /// TCP port of the server's signaling endpoint.
    pub port: u16,
    /// The room to join.
    pub room: RoomName,
    /// The room's join token.
    pub token: Secret,
}

/// Default port of the embedded room server.
pub const DEFAULT_NATIVE_PORT: u16 = 7878;

impl JoinLink {
    /// Parses a link a user clicked or pasted. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, LinkError> {
        let text = text.trim();
        if let Some(link) = StreamLink::parse(text) {
            return link.map(JoinLink::Stream);
        }
        if let Some(link) = JanusLink::parse(text) {
            return link.map(JoinLink::Janus);
        }
        if let Some(link) = PeerJsLink::parse(text) {
            return link.map(JoinLink::PeerJs);
        }
        let url = Url::parse(text).map_err(|_| LinkError::NotAUrl)?;
        if url.scheme() != "confab" {
            return Err(LinkError::UnsupportedScheme(url.scheme().to_owned()));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(LinkError::MissingHost)?
            .to_owned();
        let port = url.port().unwrap_or(DEFAULT_NATIVE_PORT);
        let room_text = url.path().trim_start_matches('/');
        let room = RoomName::new(room_text).map_err(LinkError::BadRoom)?;
        let token = url
            .query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| Secret::new(v.into_owned()))
            .filter(|t| !t.expose().is_empty())
            .ok_or(LinkError::MissingToken)?;
        Ok(JoinLink::Native(NativeLink {
            host,
            port,
            room,
            token,
        }))
    }

    /// The link with its secrets replaced by `<redacted>`, for logs and error messages.
    pub fn redacted(&self) -> String {
        match self {
            JoinLink::Native(link) => link.format(Some("<redacted>")),
            JoinLink::Stream(link) => link.format(Some("<redacted>")),
            JoinLink::Janus(link) => link.format(Some("<redacted>")),
            JoinLink::PeerJs(link) => link.format(),
        }
    }
}

impl NativeLink {
    /// The WebSocket URL of the server's signaling endpoint (the token travels in the join message).
    pub fn websocket_url(&self) -> String {
        format!("ws://{}/ws", self.authority())
    }

    fn authority(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn format(&self, token_override: Option<&str>) -> String {
        let token = token_override.unwrap_or(self.token.expose());
        let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        format!("confab://{}/{}?token={token}", self.authority(), self.room)
    }
}

impl fmt::Display for JoinLink {
    /// Prints the full link, secret included: this is what a user copies to share.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinLink::Native(link) => f.write_str(&link.format(None)),
            JoinLink::Stream(link) => f.write_str(&link.format(None)),
            JoinLink::Janus(link) => f.write_str(&link.format(None)),
            JoinLink::PeerJs(link) => f.write_str(&link.format()),
        }
    }
}

impl fmt::Debug for JoinLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinLink({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_link_round_trips() {
        for text in [
            "confab://127.0.0.1:7878/standup?token=abc",
            "confab://meet.example.org:443/r-1?token=a%2Bb%3D",
            "confab://[::1]:9000/room?token=t",
        ] {
            let link = JoinLink::parse(text).expect(text);
            assert_eq!(link.to_string(), text);
            assert_eq!(JoinLink::parse(&link.to_string()), Ok(link));
        }
    }

    #[test]
    fn default_port_and_websocket_url() {
        let Ok(JoinLink::Native(link)) = JoinLink::parse(" confab://host/room?token=t\n") else {
            panic!("a native link");
        };
        assert_eq!(link.port, DEFAULT_NATIVE_PORT);
        assert_eq!(link.websocket_url(), "ws://host:7878/ws");
    }

    #[test]
    fn debug_and_redacted_never_show_the_token() {
        let link = JoinLink::parse("confab://h:1/r?token=supersecret").unwrap();
        assert!(!format!("{link:?}").contains("supersecret"));
        assert!(!link.redacted().contains("supersecret"));
    }

    #[test]
    fn bad_links_say_what_is_wrong() {
        assert_eq!(JoinLink::parse("hello"), Err(LinkError::NotAUrl));
        assert_eq!(
            JoinLink::parse("https://h/r?token=t"),
            Err(LinkError::UnsupportedScheme("https".into()))
        );
        assert_eq!(JoinLink::parse("confab://h:1/r"), Err(LinkError::MissingToken));
        assert!(matches!(
            JoinLink::parse("confab://h:1/?token=t"),
            Err(LinkError::BadRoom(_))
        ));
    }
}
