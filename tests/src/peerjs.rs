//! The PeerJS server (npm `peer`, installed into `tests/peers/node_modules` by
//! `scripts/install-deps.sh`), started by a test on loopback with peer discovery on, as a
//! Confab PeerJS room needs. It can be stopped and started again on the same port, to test
//! what a call does while its server is gone. A server that does not come up fails the test
//! with its log; nothing is skipped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(15);

/// A PeerJS server on `127.0.0.1`.
pub struct PeerJsServer {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl PeerJsServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::env::temp_dir().join(format!("confab-peerjs-{}-{port}.log", std::process::id()));
        let mut server = Self {
            port,
            child: None,
            log,
        };
        server.resume();
        server
    }

    /// The server's base address, as a PeerJS link names it.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Stops the server (every client's WebSocket drops).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it listens.
    pub fn resume(&mut self) {
        let peers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers");
        let program = peers.join("node_modules/.bin/peerjs");
        assert!(
            program.exists(),
            "{} is missing: run scripts/install-deps.sh",
            program.display()
        );
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("a log file");
        let errors = output.try_clone().expect("a log file");
        let child = Command::new("node")
            .arg(program)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--allow_discovery",
                "--expire_timeout",
                "5000",
                "--alive_timeout",
                "60000",
            ])
            .stdout(Stdio::from(output))
            .stderr(Stdio::from(errors))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start the PeerJS server: {e}; run scripts/install-deps.sh")
            });
        self.child = Some(child);
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "the PeerJS server did not start listening on {address} ({exited:?}):\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's ids now (its discovery list).
    pub async fn peers(&self) -> Vec<String> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let reply = crate::http::request(address, "GET", "/peerjs/peers", &[], "").await;
        assert_eq!(reply.status, 200, "the PeerJS server's peer list: {reply:?}");
        serde_json::from_str(&reply.body).expect("a JSON list of ids")
    }

    /// Waits until the server lists `id`.
    pub async fn wait_listed(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.peers().await.iter().any(|p| p == id) {
            assert!(
                Instant::now() < deadline,
                "{id} never registered with the PeerJS server"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server's log so far, for a failing assertion's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The installed server's version.
    pub fn version() -> String {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/node_modules/peer/package.json");
        let text = std::fs::read_to_string(manifest).unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        parsed["version"].as_str().unwrap_or("unknown").to_owned()
    }
}

impl Drop for PeerJsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}
