//! WHIP and WHEP links: an HTTP endpoint prefixed with what to do there, and Confab's extras in
//! the fragment (which never reaches the server).
//!
//! ```text
//! whip+https://sfu.example/whip/live                     publish camera and microphone
//! whip+https://sfu.example/whip/live#token=k3y           … with a bearer token
//! whip+http://h:7878/whip/r#token=k3y&whep=/whep/r       … and watch a stream (same token)
//! whep+https://sfu.example/whep/live#token=k3y           watch one stream
//! ```
//!
//! The endpoint after `whip+`/`whep+` is used exactly as written (its own query included). A
//! `whep=` address may be relative; it is resolved against the WHIP endpoint.

use super::{LinkError, Secret};
use url::Url;

/// Publish to a WHIP endpoint, watch a WHEP endpoint, or both. At least one is set.
#[derive(Clone, PartialEq, Eq)]
pub struct StreamLink {
    /// The WHIP endpoint our camera and microphone go to.
    pub publish: Option<Url>,
    /// The WHEP endpoint whose stream we watch.
    pub watch: Option<Url>,
    /// The bearer token both endpoints take, if they want one.
    pub token: Option<Secret>,
}

impl StreamLink {
    /// Parses `text` if it is a WHIP or WHEP link (`None` if it is some other kind of link).
    pub(super) fn parse(text: &str) -> Option<Result<Self, LinkError>> {
        let (publishes, rest) = if let Some(rest) = strip_prefix_ignoring_case(text, "whip+") {
            (true, rest)
        } else {
            (false, strip_prefix_ignoring_case(text, "whep+")?)
        };
        Some(Self::parse_endpoint(publishes, rest))
    }

    fn parse_endpoint(publishes: bool, text: &str) -> Result<Self, LinkError> {
        let mut endpoint = Url::parse(text).map_err(|_| LinkError::NotAUrl)?;
        if !is_http(&endpoint) {
            let prefix = if publishes { "whip" } else { "whep" };
            return Err(LinkError::UnsupportedScheme(format!(
                "{prefix}+{}",
                endpoint.scheme()
            )));
        }
        if endpoint.host_str().is_none_or(str::is_empty) {
            return Err(LinkError::MissingHost);
        }
        let extras = endpoint.fragment().map(str::to_owned).unwrap_or_default();
        endpoint.set_fragment(None);
        let mut token = None;
        let mut watch = None;
        for (key, value) in url::form_urlencoded::parse(extras.as_bytes()) {
            match &*key {
                "token" if !value.is_empty() => token = Some(Secret::new(value.into_owned())),
                "whep" if publishes => {
                    let url = endpoint.join(&value).map_err(|_| LinkError::BadWatchEndpoint)?;
                    if !is_http(&url) {
                        return Err(LinkError::BadWatchEndpoint);
                    }
                    watch = Some(url);
                }
                _ => {} // room for later extras; an unknown one must not make a link unusable
            }
        }
        Ok(if publishes {
            Self {
                publish: Some(endpoint),
                watch,
                token,
            }
        } else {
            Self {
                publish: None,
                watch: Some(endpoint),
                token,
            }
        })
    }

    /// The link as text; `token_override` replaces the token (for redaction).
    pub(super) fn format(&self, token_override: Option<&str>) -> String {
        let (prefix, endpoint, also_watch) = match (&self.publish, &self.watch) {
            (Some(publish), watch) => ("whip", publish, watch.as_ref()),
            (None, Some(watch)) => ("whep", watch, None),
            (None, None) => unreachable!("a stream link names at least one endpoint"),
        };
        let mut extras = url::form_urlencoded::Serializer::new(String::new());
        if let Some(token) = &self.token {
            extras.append_pair("token", token_override.unwrap_or(token.expose()));
        }
        if let Some(watch) = also_watch {
            extras.append_pair("whep", watch.as_str());
        }
        let extras = extras.finish();
        if extras.is_empty() {
            format!("{prefix}+{endpoint}")
        } else {
            format!("{prefix}+{endpoint}#{extras}")
        }
    }
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

pub(super) fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use crate::{JoinLink, LinkError};

    fn stream(text: &str) -> super::StreamLink {
        match JoinLink::parse(text) {
            Ok(JoinLink::Stream(link)) => link,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn stream_links_round_trip() {
        for text in [
            "whip+https://sfu.example/whip/live",
            "whip+https://sfu.example/whip/live?app=x#token=k3y",
            "whep+http://192.168.1.20:7878/whep/standup#token=a%2Bb",
            "whip+http://127.0.0.1:7878/whip/r#token=t&whep=http%3A%2F%2F127.0.0.1%3A7878%2Fwhep%2Fr",
        ] {
            let link = JoinLink::parse(text).expect(text);
            assert_eq!(link.to_string(), text);
            assert_eq!(JoinLink::parse(&link.to_string()), Ok(link));
        }
    }

    #[test]
    fn publish_and_watch_share_the_token_and_a_relative_watch_address_resolves() {
        let link = stream("whip+http://h:7878/whip/r?x=1#token=t&whep=/whep/r");
        assert_eq!(link.publish.unwrap().as_str(), "http://h:7878/whip/r?x=1");
        assert_eq!(link.watch.unwrap().as_str(), "http://h:7878/whep/r");
        assert_eq!(link.token.unwrap().expose(), "t");

        let watch_only = stream("WHEP+https://h/whep/r");
        assert!(watch_only.publish.is_none());
        assert!(watch_only.token.is_none());
        assert_eq!(watch_only.watch.unwrap().as_str(), "https://h/whep/r");
    }

    #[test]
    fn the_token_never_shows_in_debug_or_redacted() {
        let link = JoinLink::parse("whip+https://h/whip#token=supersecret&whep=/whep").unwrap();
        assert!(!format!("{link:?}").contains("supersecret"));
        assert!(!link.redacted().contains("supersecret"));
        assert!(link.redacted().contains("whep"));
    }

    #[test]
    fn bad_stream_links_say_what_is_wrong() {
        assert_eq!(
            JoinLink::parse("whip+ftp://h/x"),
            Err(LinkError::UnsupportedScheme("whip+ftp".into()))
        );
        assert_eq!(JoinLink::parse("whep+nonsense"), Err(LinkError::NotAUrl));
        assert_eq!(
            JoinLink::parse("whip+https://h/x#whep=ws://h/y"),
            Err(LinkError::BadWatchEndpoint)
        );
        assert_eq!(
            JoinLink::parse("whip+file:///x"),
            Err(LinkError::UnsupportedScheme("whip+file".into()))
        );
    }
}
