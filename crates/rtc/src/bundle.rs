//! Remote descriptions whose media sections carry different ICE credentials.
//!
//! aiortc as offerer gives every m-line its own `a=ice-ufrag`/`a=ice-pwd` and candidates, even
//! when it offers BUNDLE. Under BUNDLE (RFC 8843) all bundled sections ride the transport of
//! the group's first section (the offerer's tagged one), so the other sections' credentials
//! and candidates describe transports that will never be used. The `webrtc` crate's SDP layer
//! refuses such a description outright (`ConflictingIceUfrag`), so before it sees one, the
//! bundled sections get the tagged section's credentials and lose their own candidates.
//!
//! Without BUNDLE, differing credentials mean one transport per section, which Confab does not
//! do: that is [`RtcError::UnbundledTransports`], named before any handshake is tried, rather
//! than a DTLS handshake that silently never completes.

use crate::error::RtcError;
use std::borrow::Cow;

/// One media section's lines (`m=` line first) and what matters here.
struct Section<'a> {
    lines: Vec<&'a str>,
    mid: Option<&'a str>,
    credentials: (Option<&'a str>, Option<&'a str>),
    rejected: bool,
}

fn attribute<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.strip_prefix("a=")?.strip_prefix(name)?.strip_prefix(':')
}

impl<'a> Section<'a> {
    fn new(lines: Vec<&'a str>) -> Self {
        let find = |name: &str| lines.iter().find_map(|l| attribute(l, name));
        // `m=<media> <port> …`: port 0 rejects the section (RFC 3264).
        let rejected = lines
            .first()
            .and_then(|m| m.split_whitespace().nth(1))
            .is_some_and(|port| port == "0");
        Self {
            mid: find("mid"),
            credentials: (find("ice-ufrag"), find("ice-pwd")),
            rejected,
            lines,
        }
    }
}

/// `sdp` with every bundled section on the tagged section's ICE credentials, or `sdp` itself
/// when its sections already agree.
pub fn unify_bundled_credentials<'a>(sdp: &'a str) -> Result<Cow<'a, str>, RtcError> {
    let newline = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let mut session: Vec<&'a str> = Vec::new();
    let mut sections: Vec<Vec<&'a str>> = Vec::new();
    for line in sdp.lines().filter(|l| !l.is_empty()) {
        match sections.last_mut() {
            _ if line.starts_with("m=") => sections.push(vec![line]),
            Some(section) => section.push(line),
            None => session.push(line),
        }
    }
    let sections: Vec<Section<'a>> = sections.into_iter().map(Section::new).collect();
    let session_credentials = (
        session.iter().find_map(|l| attribute(l, "ice-ufrag")),
        session.iter().find_map(|l| attribute(l, "ice-pwd")),
    );
    let credentials_of = |s: &Section<'a>| match s.credentials {
        (None, None) => session_credentials,
        own => own,
    };
    let live: Vec<&Section> = sections.iter().filter(|s| !s.rejected).collect();
    let Some(first) = live.first() else {
        return Ok(Cow::Borrowed(sdp));
    };
    if live.iter().all(|s| credentials_of(s) == credentials_of(first)) {
        return Ok(Cow::Borrowed(sdp));
    }
    let bundle: Vec<&str> = session
        .iter()
        .find_map(|l| attribute(l, "group"))
        .and_then(|group| group.strip_prefix("BUNDLE"))
        .map(|mids| mids.split_whitespace().collect())
        .unwrap_or_default();
    let bundled = |s: &Section| s.mid.is_some_and(|mid| bundle.contains(&mid));
    if live.iter().any(|s| !bundled(s)) {
        return Err(RtcError::UnbundledTransports);
    }
    let tag = live
        .iter()
        .find(|s| s.mid == bundle.first().copied())
        .unwrap_or(first);
    let (Some(ufrag), Some(pwd)) = credentials_of(tag) else {
        return Err(RtcError::BadRemoteDescription(
            "the bundled media sections name no ICE credentials".into(),
        ));
    };
    let mut out = String::with_capacity(sdp.len());
    for line in session {
        out.push_str(line);
        out.push_str(newline);
    }
    for section in &sections {
        let is_tag = std::ptr::eq(section, *tag);
        for line in &section.lines {
            let rewritten = if attribute(line, "ice-ufrag").is_some() {
                Cow::Owned(format!("a=ice-ufrag:{ufrag}"))
            } else if attribute(line, "ice-pwd").is_some() {
                Cow::Owned(format!("a=ice-pwd:{pwd}"))
            } else if !is_tag && (attribute(line, "candidate").is_some() || *line == "a=end-of-candidates") {
                continue;
            } else {
                Cow::Borrowed(*line)
            };
            out.push_str(&rewritten);
            out.push_str(newline);
        }
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What aiortc offers: BUNDLE, and each section with its own credentials and candidate.
    const AIORTC_STYLE: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1\r\na=msid-semantic:WMS *\r\n\
        m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\n\
        a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n\
        a=ice-ufrag:aaaa\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa\r\na=rtpmap:111 opus/48000/2\r\n\
        m=video 40001 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 127.0.0.1\r\na=mid:1\r\n\
        a=candidate:1 1 UDP 2130706431 127.0.0.1 40001 typ host\r\na=end-of-candidates\r\n\
        a=ice-ufrag:bbbb\r\na=ice-pwd:bbbbbbbbbbbbbbbbbbbbbb\r\na=rtpmap:102 H264/90000\r\n";

    fn lines_with<'a>(sdp: &'a str, prefix: &str) -> Vec<&'a str> {
        sdp.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn bundled_sections_take_the_tagged_sections_credentials_and_candidates() {
        let unified = unify_bundled_credentials(AIORTC_STYLE).unwrap();
        assert_eq!(lines_with(&unified, "a=ice-ufrag:"), ["a=ice-ufrag:aaaa"; 2]);
        assert_eq!(
            lines_with(&unified, "a=ice-pwd:"),
            ["a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa"; 2]
        );
        let candidates = lines_with(&unified, "a=candidate:");
        assert_eq!(candidates.len(), 1);
        assert!(candidates[0].ends_with("40000 typ host"));
        // Everything else is kept, in order, with the original line endings.
        assert_eq!(lines_with(&unified, "m=").len(), 2);
        assert!(unified.contains("a=rtpmap:102 H264/90000\r\n"));
        assert!(!unified.contains("\r\n\r\n"));
    }

    #[test]
    fn the_bundle_tag_is_the_groups_first_mid_not_the_first_section() {
        let reordered = AIORTC_STYLE.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 1 0");
        let unified = unify_bundled_credentials(&reordered).unwrap();
        assert_eq!(lines_with(&unified, "a=ice-ufrag:"), ["a=ice-ufrag:bbbb"; 2]);
    }

    #[test]
    fn agreeing_descriptions_are_left_alone() {
        let agreeing = AIORTC_STYLE
            .replace("bbbbbbbbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaaaaaaaa")
            .replace("ice-ufrag:bbbb", "ice-ufrag:aaaa");
        assert!(matches!(
            unify_bundled_credentials(&agreeing),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn differing_credentials_without_bundle_are_named() {
        let unbundled = AIORTC_STYLE.replace("a=group:BUNDLE 0 1\r\n", "");
        assert_eq!(
            unify_bundled_credentials(&unbundled),
            Err(RtcError::UnbundledTransports)
        );
        let half_bundled = AIORTC_STYLE.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0");
        assert_eq!(
            unify_bundled_credentials(&half_bundled),
            Err(RtcError::UnbundledTransports)
        );
    }

    #[test]
    fn rejected_sections_do_not_count() {
        let rejected = AIORTC_STYLE
            .replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0")
            .replace("m=video 40001", "m=video 0");
        assert!(matches!(
            unify_bundled_credentials(&rejected),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn any_text_is_answered_without_panicking() {
        for text in [
            "",
            "m=",
            "a=group:BUNDLE\nm=audio 1\na=ice-ufrag:x\nm=video 1\na=ice-ufrag:y",
            "\r\n\r\n",
        ] {
            let _ = unify_bundled_credentials(text);
        }
    }
}
