//! `application/trickle-ice-sdpfrag` bodies (RFC 8840, as WHIP's PATCH uses them): the ICE
//! credentials they were gathered under and the candidates, each tied to its media section.
//!
//! ```text
//! a=ice-ufrag:EsAw
//! a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
//! m=audio 9 UDP/TLS/RTP/SAVPF 111
//! a=mid:0
//! a=candidate:1387637174 1 udp 2122260223 127.0.0.1 61764 typ host
//! a=end-of-candidates
//! ```

use confab_core::IceCandidate;
use std::fmt::Write as _;

/// Largest fragment accepted: far above a few dozen candidates.
pub const MAX_FRAGMENT_BYTES: usize = 16 * 1024;

/// A fragment that cannot be used. Resending the same fragment cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    /// Over [`MAX_FRAGMENT_BYTES`].
    #[error("the ICE candidate fragment is larger than {MAX_FRAGMENT_BYTES} bytes")]
    TooLarge,
    /// A line is not SDP (`x=value`) or a known attribute is malformed.
    #[error("line {line} of the ICE candidate fragment is not valid SDP: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// One parsed fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fragment {
    /// The ICE username fragment the candidates belong to (session level or the first section's).
    pub ufrag: Option<String>,
    /// The ICE password, if given (a changed one asks for an ICE restart).
    pub pwd: Option<String>,
    /// The candidates, with the `mid` and index of the section each was listed under.
    pub candidates: Vec<IceCandidate>,
    /// Whether the sender said it has no more candidates.
    pub end_of_candidates: bool,
}

/// Reads a fragment.
pub fn parse(text: &str) -> Result<Fragment, FragmentError> {
    if text.len() > MAX_FRAGMENT_BYTES {
        return Err(FragmentError::TooLarge);
    }
    let mut fragment = Fragment::default();
    let mut section: Option<u16> = None;
    let mut mid: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let bad = |reason| FragmentError::BadLine { line: n + 1, reason };
        let (kind, value) = line.split_once('=').ok_or_else(|| bad("expected TYPE=VALUE"))?;
        if kind.len() != 1 || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(bad("the type before '=' must be one lowercase letter"));
        }
        if kind == "m" {
            let next = section.map_or(Some(0), |s| s.checked_add(1));
            section = Some(next.ok_or_else(|| bad("too many media sections"))?);
            mid = None;
            continue;
        }
        if kind != "a" {
            continue;
        }
        let (name, attribute) = value.split_once(':').unwrap_or((value, ""));
        match name {
            "ice-ufrag" | "ice-pwd" => {
                if attribute.is_empty() || !attribute.bytes().all(is_ice_char) {
                    return Err(bad("ICE credentials must be letters, digits, '+' or '/'"));
                }
                let slot = if name == "ice-ufrag" {
                    &mut fragment.ufrag
                } else {
                    &mut fragment.pwd
                };
                slot.get_or_insert_with(|| attribute.to_owned());
            }
            "mid" => {
                if attribute.is_empty() || attribute.chars().any(char::is_whitespace) {
                    return Err(bad("a mid must be one non-empty token"));
                }
                mid = Some(attribute.to_owned());
            }
            "candidate" => {
                if attribute.split_whitespace().count() < 8 {
                    return Err(bad("a candidate needs at least 8 fields"));
                }
                fragment.candidates.push(IceCandidate {
                    candidate: format!("candidate:{attribute}"),
                    sdp_mid: mid.clone(),
                    sdp_mline_index: section,
                });
            }
            "end-of-candidates" => fragment.end_of_candidates = true,
            _ => {}
        }
    }
    Ok(fragment)
}

/// ICE credential characters (RFC 8839 `ice-char`).
fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Writes a fragment carrying `candidates` gathered under `ufrag`/`pwd`, one section per mid in
/// the order first seen (a client's PATCH body).
pub fn compose(ufrag: &str, pwd: &str, candidates: &[IceCandidate], end_of_candidates: bool) -> String {
    let mut out = format!("a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n");
    let mut mids: Vec<&str> = Vec::new();
    for c in candidates {
        let mid = c.sdp_mid.as_deref().unwrap_or("0");
        if !mids.contains(&mid) {
            mids.push(mid);
        }
    }
    if mids.is_empty() && end_of_candidates {
        mids.push("0");
    }
    for mid in mids {
        let _ = write!(out, "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:{mid}\r\n");
        for c in candidates
            .iter()
            .filter(|c| c.sdp_mid.as_deref().unwrap_or("0") == mid)
        {
            let line = c.candidate.strip_prefix("a=").unwrap_or(&c.candidate);
            let _ = write!(out, "a={line}\r\n");
        }
        if end_of_candidates {
            out.push_str("a=end-of-candidates\r\n");
        }
    }
    out
}

/// The first ICE credentials (`ufrag`, `pwd`) a description carries: what a PATCH for an ICE
/// restart announces from our new offer.
pub fn credentials(sdp: &str) -> Option<(String, String)> {
    let value = |name: &str| {
        sdp.lines()
            .find_map(|l| l.trim_end().strip_prefix(name))
            .map(str::to_owned)
    };
    Some((value("a=ice-ufrag:")?, value("a=ice-pwd:")?))
}

/// The remote description after the other side restarted ICE: `remote` with the fragment's
/// credentials in place of the old ones, and its candidates in place of the old candidates,
/// each in the section its mid (or index) names; unnamed ones go to the first section, which
/// carries the bundle. A fragment without candidates keeps the old ones: a WHIP server need not
/// repeat addresses that did not change (RFC 9725 §4.4.2 makes them optional).
pub fn restarted(remote: &str, fragment: &Fragment) -> String {
    let replaces_candidates = !fragment.candidates.is_empty();
    let mut out = String::with_capacity(remote.len());
    let mut section: Option<u16> = None;
    let mut mid: Option<&str> = None;
    let close_section = |out: &mut String, section: Option<u16>, mid: Option<&str>| {
        let Some(index) = section else { return };
        let belongs = |c: &&IceCandidate| match (&c.sdp_mid, c.sdp_mline_index) {
            (Some(m), _) => Some(m.as_str()) == mid,
            (None, Some(i)) => i == index,
            (None, None) => index == 0,
        };
        for c in fragment.candidates.iter().filter(belongs) {
            let line = c.candidate.strip_prefix("a=").unwrap_or(&c.candidate);
            let _ = write!(out, "a={line}\r\n");
        }
        if fragment.end_of_candidates && replaces_candidates {
            out.push_str("a=end-of-candidates\r\n");
        }
    };
    for line in remote.lines().map(|l| l.trim_end_matches('\r')) {
        if line.starts_with("m=") {
            close_section(&mut out, section, mid);
            section = Some(section.map_or(0, |s| s.saturating_add(1)));
            mid = None;
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m);
        }
        let candidate_line = line.starts_with("a=candidate:") || line == "a=end-of-candidates";
        if candidate_line && replaces_candidates {
            continue;
        }
        match (line.strip_prefix("a=ice-ufrag:"), line.strip_prefix("a=ice-pwd:")) {
            (Some(_), _) => {
                let _ = write!(
                    out,
                    "a=ice-ufrag:{}\r\n",
                    fragment.ufrag.as_deref().unwrap_or_default()
                );
            }
            (_, Some(_)) => {
                let _ = write!(
                    out,
                    "a=ice-pwd:{}\r\n",
                    fragment.pwd.as_deref().unwrap_or_default()
                );
            }
            _ => {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
    }
    close_section(&mut out, section, mid);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GSTREAMER_STYLE: &str = "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
        a=candidate:1387637174 1 udp 2122260223 127.0.0.1 61764 typ host\r\n\
        a=candidate:1387637175 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n\
        a=end-of-candidates\r\n";

    #[test]
    fn candidates_keep_their_section_and_credentials() {
        let fragment = parse(GSTREAMER_STYLE).unwrap();
        assert_eq!(fragment.ufrag.as_deref(), Some("EsAw"));
        assert_eq!(fragment.pwd.as_deref(), Some("P2uYro0UCOQ4zxjKXaWCBui1"));
        assert!(fragment.end_of_candidates);
        assert_eq!(fragment.candidates.len(), 2);
        let first = &fragment.candidates[0];
        assert_eq!(
            first.candidate,
            "candidate:1387637174 1 udp 2122260223 127.0.0.1 61764 typ host"
        );
        assert_eq!(first.sdp_mid.as_deref(), Some("0"));
        assert_eq!(first.sdp_mline_index, Some(0));
    }

    #[test]
    fn what_compose_writes_parses_back() {
        let fragment = parse(GSTREAMER_STYLE).unwrap();
        let written = compose("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1", &fragment.candidates, true);
        assert_eq!(parse(&written).unwrap(), fragment);
    }

    #[test]
    fn a_restart_replaces_credentials_and_candidates_section_by_section() {
        let remote = "v=0\r\na=group:BUNDLE 0 1\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpwd\r\n\
            a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ice-ufrag:old\r\na=ice-pwd:oldpwd\r\n";
        let fragment = parse(GSTREAMER_STYLE).unwrap();
        let new = restarted(remote, &fragment);
        assert_eq!(
            credentials(&new),
            Some(("EsAw".into(), "P2uYro0UCOQ4zxjKXaWCBui1".into()))
        );
        assert!(!new.contains("old") && !new.contains("10.0.0.1"));
        let (audio, video) = new.split_once("m=video").unwrap();
        assert_eq!(audio.matches("a=candidate:").count(), 2);
        assert_eq!(video.matches("a=candidate:").count(), 0);
        assert_eq!(new.matches("a=end-of-candidates").count(), 2);
        assert_eq!(new.matches("a=ice-ufrag:EsAw").count(), 2);
    }

    #[test]
    fn a_restart_without_candidates_keeps_the_old_addresses() {
        let remote =
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpwd\r\n\
            a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n";
        let fragment = parse("a=ice-ufrag:new\r\na=ice-pwd:newpwd\r\n").unwrap();
        let new = restarted(remote, &fragment);
        assert_eq!(credentials(&new), Some(("new".into(), "newpwd".into())));
        assert!(new.contains("a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n"));
    }

    #[test]
    fn bad_fragments_say_which_line() {
        assert_eq!(
            parse("a=ice-ufrag:ok\r\nnonsense\r\n"),
            Err(FragmentError::BadLine {
                line: 2,
                reason: "expected TYPE=VALUE"
            })
        );
        assert!(matches!(
            parse("m=audio 9 x 0\na=candidate:1 1 udp"),
            Err(FragmentError::BadLine { line: 2, .. })
        ));
        assert!(matches!(
            parse("a=ice-pwd:has space"),
            Err(FragmentError::BadLine { .. })
        ));
        assert_eq!(parse(&"a=x\n".repeat(5000)), Err(FragmentError::TooLarge));
    }
}
