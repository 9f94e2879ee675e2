//! A network namespace made and removed by the test: a veth pair with `198.18.77.1` (RFC 2544
//! benchmarking range) on the host end and `198.18.77.2` inside the namespace. Nothing else on
//! the machine is touched.
//!
//! [`TestNet::cut`] drops every packet both ways by putting a zero-length `pfifo` on both ends
//! of the pair, which is what `netem loss 100%` does; this kernel has no `sch_netem`, and a
//! zero-length queue works on any kernel with the basic qdiscs.

use std::process::Command;

pub const HOST_ADDR: &str = "198.18.77.1";

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

/// The namespace and its veth pair; removed on drop.
pub struct TestNet {
    pub namespace: String,
    host_end: String,
    inner_end: String,
}

impl TestNet {
    /// Creates the namespace and the pair, or fails the test saying why.
    pub fn create() -> Self {
        let tag = std::process::id() % 100_000;
        let net = Self {
            namespace: format!("confab-test-{tag}"),
            host_end: format!("cfh{tag}"),
            inner_end: format!("cfn{tag}"),
        };
        net.remove();
        let ns = net.namespace.as_str();
        let steps: [&[&str]; 7] = [
            &["netns", "add", ns],
            &[
                "link",
                "add",
                &net.host_end,
                "type",
                "veth",
                "peer",
                "name",
                &net.inner_end,
            ],
            &["link", "set", &net.inner_end, "netns", ns],
            &["addr", "add", &format!("{HOST_ADDR}/24"), "dev", &net.host_end],
            &["link", "set", &net.host_end, "up"],
            &["-n", ns, "addr", "add", "198.18.77.2/24", "dev", &net.inner_end],
            &["-n", ns, "link", "set", &net.inner_end, "up"],
        ];
        for step in steps {
            assert!(
                ip(step),
                "could not set up the test network (`ip {}`); these tests need root and iproute2",
                step.join(" ")
            );
        }
        assert!(ip(&["-n", ns, "link", "set", "lo", "up"]));
        net
    }

    /// Drops every packet between the namespace and the host until [`TestNet::restore`].
    pub fn cut(&self) {
        assert!(tc(
            None,
            &[
                "qdisc",
                "add",
                "dev",
                &self.host_end,
                "root",
                "pfifo",
                "limit",
                "0"
            ]
        ));
        assert!(tc(
            Some(&self.namespace),
            &[
                "qdisc",
                "add",
                "dev",
                &self.inner_end,
                "root",
                "pfifo",
                "limit",
                "0"
            ]
        ));
    }

    /// Lets packets through again.
    pub fn restore(&self) {
        assert!(tc(None, &["qdisc", "del", "dev", &self.host_end, "root"]));
        assert!(tc(
            Some(&self.namespace),
            &["qdisc", "del", "dev", &self.inner_end, "root"]
        ));
    }

    fn remove(&self) {
        // Deleting the namespace deletes its end of the pair, and with it the host end.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .stderr(std::process::Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_end])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        self.remove();
    }
}
