//! STUN and TURN servers from a WHIP/WHEP response's `Link` headers (RFC 9725 §4.6, RFC 8288):
//!
//! ```text
//! Link: <stun:stun.example.net>; rel="ice-server"
//! Link: <turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="pass"; credential-type="password"
//! ```
//!
//! One header may also carry several links separated by commas. Links with another `rel`, and
//! ones that are not `stun:`/`turn:`/`turns:` URLs, are skipped: a server may announce other
//! things, and an odd link must not stop a call.

use confab_core::{IceServer, Secret};

/// Most ICE servers taken from one response; a server listing more is not helped by them all.
pub const MAX_ICE_SERVERS: usize = 8;

/// The ICE servers among `headers` (each one `Link` header value), in order, at most
/// [`MAX_ICE_SERVERS`].
pub fn ice_servers<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<IceServer> {
    headers
        .into_iter()
        .flat_map(split_links)
        .filter_map(|link| ice_server(&link))
        .take(MAX_ICE_SERVERS)
        .collect()
}

/// One link value: `<target>` followed by `; name="value"` parameters.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    target: String,
    params: Vec<(String, String)>,
}

fn ice_server(link: &Link) -> Option<IceServer> {
    let param = |name: &str| {
        link.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let is_ice_server = param("rel").is_some_and(|rel| {
        rel.split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case("ice-server"))
    });
    let scheme = link
        .target
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !is_ice_server || !matches!(scheme.as_str(), "stun" | "turn" | "turns") {
        return None;
    }
    Some(IceServer {
        url: link.target.clone(),
        username: param("username").map(str::to_owned),
        credential: param("credential").map(Secret::new),
    })
}

/// Splits one header value into its links, honouring `<…>` and quoted strings.
fn split_links(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        let Some(after_open) = rest.strip_prefix('<') else {
            return links;
        };
        let Some(close) = after_open.find('>') else {
            return links;
        };
        let target = after_open[..close].trim().to_owned();
        rest = &after_open[close + 1..];
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start();
            let Some(after_semicolon) = rest.strip_prefix(';') else {
                break;
            };
            let (param, remaining) = parameter(after_semicolon);
            params.extend(param);
            rest = remaining;
        }
        links.push(Link { target, params });
        // Whatever is left before the next comma is not understood: skip it.
        rest = rest.trim_start();
        if !rest.starts_with(',') {
            let Some(comma) = rest.find(',') else { return links };
            rest = &rest[comma..];
        }
    }
}

/// One `name=value` or `name="quoted value"` parameter, and what follows it.
fn parameter(text: &str) -> (Option<(String, String)>, &str) {
    let text = text.trim_start();
    let name_end = text
        .find(|c: char| c == '=' || c == ';' || c == ',' || c.is_ascii_whitespace())
        .unwrap_or(text.len());
    let name = text[..name_end].to_owned();
    let rest = text[name_end..].trim_start();
    let Some(after_equals) = rest.strip_prefix('=') else {
        return ((!name.is_empty()).then(|| (name, String::new())), rest);
    };
    let after_equals = after_equals.trim_start();
    if let Some(quoted) = after_equals.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return (Some((name, value)), &quoted[i + 1..]),
                '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
                c => value.push(c),
            }
        }
        return (Some((name, value)), ""); // unterminated: take what is there
    }
    let value_end = after_equals.find([';', ',']).unwrap_or(after_equals.len());
    let value = after_equals[..value_end].trim().to_owned();
    (Some((name, value)), &after_equals[value_end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfc_examples() {
        let servers = ice_servers([
            r#"<stun:stun.example.net>; rel="ice-server""#,
            r#"<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password""#,
        ]);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].url, "stun:stun.example.net");
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].url, "turn:turn.example.net?transport=udp");
        assert_eq!(servers[1].username.as_deref(), Some("user"));
        assert_eq!(
            servers[1].credential.as_ref().map(Secret::expose),
            Some("myPassword")
        );
    }

    #[test]
    fn several_links_in_one_header_and_others_skipped() {
        let header = r#"<https://example.org/terms>; rel="terms-of-service", <turns:t.example:443?transport=tcp>;rel=ice-server;username=u;credential="a\"b,c", <stun:s.example>; rel="ice-server""#;
        let servers = ice_servers([header]);
        let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, ["turns:t.example:443?transport=tcp", "stun:s.example"]);
        assert_eq!(servers[0].credential.as_ref().map(Secret::expose), Some("a\"b,c"));
    }

    #[test]
    fn garbage_gives_nothing_rather_than_failing() {
        for header in [
            "",
            "nonsense",
            "<stun:x",
            r#"<stun:x>; rel="#,
            "<http://x>; rel=ice-server",
            ";;;,,,<>",
        ] {
            assert!(ice_servers([header]).is_empty(), "{header}");
        }
        let many = r#"<stun:a>; rel="ice-server", "#.repeat(20);
        assert_eq!(ice_servers([many.as_str()]).len(), MAX_ICE_SERVERS);
    }
}
