//! WHIP and WHEP as a client (RFC 9725 §4; WHEP mirrors it): POST an SDP offer to the endpoint
//! and get the answer and a session resource; PATCH the resource with trickled candidates or an
//! ICE restart; DELETE it to leave. Statuses become [`StreamError`]s a user can act on.
//!
//! HTTP is the transport here: each exchange is one request, so this module is both the
//! dialect and its carrier (the WebSocket dialects split the two).

use super::ice_servers::ice_servers;
use super::sdpfrag::{self, Fragment};
use confab_core::{IceServer, Secret};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, ETAG, IF_MATCH, LINK, LOCATION};
use reqwest::{Response, StatusCode};
use std::time::Duration;
use url::Url;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer or fragment read from a response.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// How much of a refusal's body is quoted to the user.
const MAX_REASON_CHARS: usize = 200;

/// Media type of an SDP offer or answer.
pub const SDP: &str = "application/sdp";
/// Media type of a PATCH body (RFC 8840).
pub const TRICKLE: &str = "application/trickle-ice-sdpfrag";

/// A WHIP/WHEP exchange failed. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The endpoint could not be reached. Retrying may help once it is up.
    #[error("could not reach the stream server at {endpoint}: {reason}")]
    Unreachable {
        /// Where we tried (without the link's token, which travels in a header).
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// 401/403: the token is missing, wrong or expired. Retrying cannot help; a new link can.
    #[error("the stream server refused the link's token; ask for a fresh link")]
    TokenRefused,
    /// 404: no such endpoint or session. Retrying cannot help.
    #[error("the stream server has no stream at {0}; check the link")]
    NotFound(String),
    /// 429/503: busy or full. Retrying later may help.
    #[error("the stream server is busy or full right now; try again in a moment")]
    Busy,
    /// Any other refusal, with the server's own words. Retrying the same request cannot help.
    #[error("the stream server refused ({status}): {reason}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the server's explanation, if it gave one.
        reason: String,
    },
    /// The server answered in a way WHIP/WHEP does not allow (no `Location`, not SDP).
    #[error("the stream server's answer is not valid WHIP/WHEP: {0}")]
    BadAnswer(String),
}

/// What a successful POST gave us.
#[derive(Debug)]
pub struct Created {
    /// The session resource to PATCH and DELETE.
    pub session: StreamSession,
    /// The SDP answer.
    pub answer: String,
    /// STUN/TURN servers the endpoint offers (from `Link` headers).
    pub ice_servers: Vec<IceServer>,
}

/// How a PATCH with an ICE restart went.
#[derive(Debug)]
pub enum Restart {
    /// The server restarted too: its new credentials and candidates.
    Restarted(Fragment),
    /// The server does not restart ICE in place (405, 422, 501): publish or watch anew.
    NotSupported,
}

/// A WHIP/WHEP client: endpoints and sessions share one connection pool.
#[derive(Clone)]
pub struct StreamClient {
    http: reqwest::Client,
    token: Option<Secret>,
}

/// One session resource on the server (the POST's `Location`).
#[derive(Debug)]
pub struct StreamSession {
    url: Url,
    etag: Option<HeaderValue>,
    /// Whether the server takes trickled candidates (cleared by a 405/501 to a PATCH).
    trickles: bool,
}

impl StreamClient {
    /// A client that sends `token` (if any) as `Authorization: Bearer` to every endpoint.
    pub fn new(token: Option<Secret>) -> Result<Self, StreamError> {
        // The WebRTC stack builds rustls with ring; use it for HTTPS too (a second install is
        // refused harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| StreamError::Unreachable {
                endpoint: String::new(),
                reason: format!("no HTTP client: {e}"),
            })?;
        Ok(Self { http, token })
    }

    /// POSTs `offer` to `endpoint`.
    pub async fn create(&self, endpoint: &Url, offer: &str) -> Result<Created, StreamError> {
        let request = self
            .authorized(self.http.post(endpoint.clone()))
            .header(CONTENT_TYPE, SDP)
            .header(ACCEPT, SDP)
            .body(offer.to_owned());
        let response = send(request, endpoint).await?;
        if response.status() != StatusCode::CREATED && response.status() != StatusCode::OK {
            return Err(refusal(response, endpoint).await);
        }
        let headers = response.headers();
        let location = headers
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| StreamError::BadAnswer("no Location header".into()))?;
        // Relative to the URL that answered, which may be another after a redirect.
        let url = response
            .url()
            .join(location)
            .map_err(|_| StreamError::BadAnswer(format!("the Location '{location}' is not a URL")))?;
        let links = headers.get_all(LINK).iter().filter_map(|v| v.to_str().ok());
        let servers = ice_servers(links);
        let session = StreamSession {
            url,
            etag: headers.get(ETAG).cloned(),
            trickles: true,
        };
        let answer = body(response).await?;
        if !answer.trim_start().starts_with("v=0") {
            return Err(StreamError::BadAnswer("the body is not an SDP answer".into()));
        }
        Ok(Created {
            session,
            answer,
            ice_servers: servers,
        })
    }

    /// PATCHes trickled candidates. A server that does not take them (405, 501) is not asked
    /// again; the connection then relies on the candidates in its answer.
    pub async fn trickle(&self, session: &mut StreamSession, fragment: String) -> Result<(), StreamError> {
        if !session.trickles {
            return Ok(());
        }
        let etag = session.etag.clone();
        let response = send(self.patch(session, fragment, etag), &session.url).await?;
        match response.status() {
            s if s.is_success() => Ok(()),
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED => {
                tracing::info!("the stream server does not take trickled candidates");
                session.trickles = false;
                Ok(())
            }
            _ => Err(refusal(response, &session.url).await),
        }
    }

    /// PATCHes an ICE restart: our new credentials and candidates in `fragment`.
    pub async fn restart(
        &self,
        session: &mut StreamSession,
        fragment: String,
    ) -> Result<Restart, StreamError> {
        // An ICE restart matches any version of the session (RFC 9725 §4.4.2).
        let any = HeaderValue::from_static("\"*\"");
        let response = send(self.patch(session, fragment, Some(any)), &session.url).await?;
        match response.status() {
            StatusCode::OK => {
                if let Some(etag) = response.headers().get(ETAG) {
                    session.etag = Some(etag.clone());
                }
                let text = body(response).await?;
                let fragment = sdpfrag::parse(&text).map_err(|e| StreamError::BadAnswer(e.to_string()))?;
                if fragment.ufrag.is_none() || fragment.pwd.is_none() {
                    return Err(StreamError::BadAnswer(
                        "the ICE restart answer has no credentials".into(),
                    ));
                }
                Ok(Restart::Restarted(fragment))
            }
            StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::NOT_IMPLEMENTED => Ok(Restart::NotSupported),
            _ => Err(refusal(response, &session.url).await),
        }
    }

    /// DELETEs the session: the server stops the stream now rather than when it times out.
    pub async fn delete(&self, session: &StreamSession) -> Result<(), StreamError> {
        let response = send(
            self.authorized(self.http.delete(session.url.clone())),
            &session.url,
        )
        .await?;
        if response.status().is_success() || response.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(refusal(response, &session.url).await)
    }

    /// A PATCH of `session`, conditional on `if_match` (the session's ETag, or `"*"`).
    fn patch(
        &self,
        session: &StreamSession,
        fragment: String,
        if_match: Option<HeaderValue>,
    ) -> reqwest::RequestBuilder {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(TRICKLE));
        if let Some(tag) = if_match {
            headers.insert(IF_MATCH, tag);
        }
        self.authorized(self.http.patch(session.url.clone()))
            .headers(headers)
            .body(fragment)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token.expose()),
            None => request,
        }
    }
}

impl StreamSession {
    /// The session resource's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

async fn send(request: reqwest::RequestBuilder, url: &Url) -> Result<Response, StreamError> {
    request.send().await.map_err(|e| StreamError::Unreachable {
        endpoint: without_query(url),
        reason: plain_reason(&e),
    })
}

/// The response body as text, refusing an oversized one.
async fn body(mut response: Response) -> Result<String, StreamError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| StreamError::BadAnswer(format!("the body broke off: {}", plain_reason(&e))))?
    {
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(StreamError::BadAnswer(format!(
                "the body is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| StreamError::BadAnswer("the body is not UTF-8 text".into()))
}

/// The typed error for a status that is not success.
async fn refusal(response: Response, url: &Url) -> StreamError {
    match response.status() {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => StreamError::TokenRefused,
        StatusCode::NOT_FOUND => StreamError::NotFound(without_query(url)),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => StreamError::Busy,
        status => {
            let text = body(response).await.unwrap_or_default();
            StreamError::Refused {
                status: status.as_u16(),
                reason: first_line(&text),
            }
        }
    }
}

/// The first line of a server's explanation, printable and bounded.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no reason given");
    line.chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON_CHARS)
        .collect()
}

/// A URL for messages: endpoints may carry secrets in their query.
fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A reqwest error's cause chain, without the URL it repeats.
fn plain_reason(error: &reqwest::Error) -> String {
    let mut reason = if error.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "nothing answers there".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_quotes_one_printable_bounded_line() {
        assert_eq!(first_line("\n  the room is closed\r\nmore"), "the room is closed");
        assert_eq!(first_line(""), "no reason given");
        assert_eq!(first_line(&"x\u{7}".repeat(500)).len(), MAX_REASON_CHARS);
    }

    #[test]
    fn endpoints_are_shown_without_their_query() {
        let url = Url::parse("https://h/whip/r?secret=1#frag").unwrap();
        assert_eq!(without_query(&url), "https://h/whip/r");
    }
}
