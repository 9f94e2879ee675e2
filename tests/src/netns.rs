//! A network namespace made and removed by the test, joined to the host by veth pairs in the
//! RFC 2544 benchmarking range: the main link has `198.18.77.1` on the host end and
//! `198.18.77.2` inside; an optional media link has `198.18.78.1` and `198.18.78.2`, so a test
//! can send signaling and media over different links and cut one of them. Nothing else on the
//! machine is touched.
//!
//! Cutting a link drops every packet both ways by putting a zero-length `pfifo` on both of its
//! ends, which is what `netem loss 100%` does; this kernel has no `sch_netem`, and a zero-length
//! queue works on any kernel with the basic qdiscs. Narrowing a link puts a token bucket (`tbf`)
//! on the host's end: what the host sends into the namespace beyond the rate is dropped, as on a
//! congested uplink.

use std::process::Command;

/// The host's address on the main link.
pub const HOST_ADDR: &str = "198.18.77.1";
/// The namespace's address on the main link.
pub const INNER_ADDR: &str = "198.18.77.2";
/// The host's address on the media link.
pub const MEDIA_HOST_ADDR: &str = "198.18.78.1";
/// The namespace's address on the media link.
pub const MEDIA_INNER_ADDR: &str = "198.18.78.2";

fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).status().is_ok_and(|s| s.success())
}

fn tc(namespace: Option<&str>, args: &[&str]) -> bool {
    let mut command = match namespace {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "tc"]);
            c
        }
        None => Command::new("tc"),
    };
    command.args(args).status().is_ok_and(|s| s.success())
}

/// One veth pair between the host and the namespace.
struct Link {
    host_end: String,
    inner_end: String,
}

/// The namespace and its veth pairs; removed on drop.
pub struct TestNet {
    pub namespace: String,
    links: Vec<Link>,
}

impl TestNet {
    /// The namespace's end of the media link, or of the main link if there is no media link
    /// (a server inside gathers ICE candidates on it).
    pub fn media_interface(&self) -> &str {
        &self.links[self.links.len() - 1].inner_end
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace, program]);
        command
    }

    /// The namespace with the main link only, or fails the test saying why.
    pub fn create() -> Self {
        Self::with_links(1)
    }

    /// The namespace with the main link and the media link.
    pub fn create_with_media_link() -> Self {
        Self::with_links(2)
    }

    fn with_links(count: u8) -> Self {
        let tag = std::process::id() % 100_000;
        let net = Self {
            namespace: format!("confab-test-{tag}"),
            links: (0..count)
                .map(|i| Link {
                    host_end: format!("cf{i}h{tag}"),
                    inner_end: format!("cf{i}n{tag}"),
                })
                .collect(),
        };
        net.remove();
        let ns = net.namespace.as_str();
        assert!(
            ip(&["netns", "add", ns]),
            "could not make a network namespace; these tests need root and iproute2"
        );
        for (subnet, link) in (77..).zip(&net.links) {
            let (host, inner) = (&link.host_end, &link.inner_end);
            let steps: [&[&str]; 6] = [
                &["link", "add", host, "type", "veth", "peer", "name", inner],
                &["link", "set", inner, "netns", ns],
                &["addr", "add", &format!("198.18.{subnet}.1/24"), "dev", host],
                &["link", "set", host, "up"],
                &[
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("198.18.{subnet}.2/24"),
                    "dev",
                    inner,
                ],
                &["-n", ns, "link", "set", inner, "up"],
            ];
            for step in steps {
                assert!(
                    ip(step),
                    "could not set up the test network (`ip {}`)",
                    step.join(" ")
                );
            }
        }
        assert!(ip(&["-n", ns, "link", "set", "lo", "up"]));
        net
    }

    /// Drops every packet between the namespace and the host until [`TestNet::restore`].
    pub fn cut(&self) {
        self.links.iter().for_each(|link| self.cut_link(link));
    }

    /// Lets packets through again.
    pub fn restore(&self) {
        self.links.iter().for_each(|link| self.restore_link(link));
    }

    /// Drops every packet on the media link only, until [`TestNet::restore_media`].
    pub fn cut_media(&self) {
        self.cut_link(&self.links[1]);
    }

    /// Lets packets through the media link again.
    pub fn restore_media(&self) {
        self.restore_link(&self.links[1]);
    }

    /// Lets at most `kbit_per_s` through the media link from the host into the namespace (a
    /// narrow uplink to a server inside), until [`TestNet::widen_media`].
    pub fn narrow_media(&self, kbit_per_s: u32) {
        let rate = format!("{kbit_per_s}kbit");
        let link = &self.links[1];
        let bucket = ["root", "tbf", "rate", &rate, "burst", "8kb", "latency", "50ms"];
        assert!(tc(
            None,
            &[&["qdisc", "add", "dev", &link.host_end][..], &bucket].concat()
        ));
    }

    /// Takes the limit off the media link.
    pub fn widen_media(&self) {
        assert!(tc(
            None,
            &["qdisc", "del", "dev", &self.links[1].host_end, "root"]
        ));
    }

    fn cut_link(&self, link: &Link) {
        let zero_queue = ["root", "pfifo", "limit", "0"];
        assert!(tc(
            None,
            &[&["qdisc", "add", "dev", &link.host_end][..], &zero_queue].concat()
        ));
        assert!(tc(
            Some(&self.namespace),
            &[&["qdisc", "add", "dev", &link.inner_end][..], &zero_queue].concat()
        ));
    }

    fn restore_link(&self, link: &Link) {
        assert!(tc(None, &["qdisc", "del", "dev", &link.host_end, "root"]));
        assert!(tc(
            Some(&self.namespace),
            &["qdisc", "del", "dev", &link.inner_end, "root"]
        ));
    }

    fn remove(&self) {
        // Deleting the namespace deletes its ends of the pairs, and with them the host ends.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .stderr(std::process::Stdio::null())
            .status();
        for link in &self.links {
            let _ = Command::new("ip")
                .args(["link", "del", &link.host_end])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        self.remove();
    }
}
