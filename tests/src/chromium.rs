//! A real headless Chromium (Debian's `/usr/bin/chromium`), started by the test and driven over
//! the DevTools protocol: [`Chromium::eval`] runs JavaScript in its page and returns the value.
//! Flags follow TESTBED.md; the profile and `HOME` (with a null ALSA device, so fake audio works
//! without a sound card) live in a folder removed on drop. The page is a blank one served from
//! `http://127.0.0.1` by the helper itself: a secure context, so the fake camera is available.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Where Debian installs Chromium (`apt-get install chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
const STARTUP: Duration = Duration::from_secs(30);

/// One Chromium process with one page.
pub struct Chromium {
    process: Child,
    blank_page: tokio::task::JoinHandle<()>,
    profile: PathBuf,
    devtools: WebSocketStream<MaybeTlsStream<TcpStream>>,
    page_session: String,
    next_id: u64,
}

impl Chromium {
    /// Starts Chromium on a blank page. Panics with what to install if it is missing: a test
    /// that needs the reference browser fails loudly rather than skipping.
    pub async fn launch() -> Self {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: run scripts/install-deps.sh (apt-get install chromium)"
        );
        let profile = unique_folder();
        std::fs::create_dir_all(&profile).expect("chromium profile folder");
        std::fs::write(profile.join(".asoundrc"), "pcm.!default { type null }\n").expect("asoundrc");
        let (page_url, blank_page) = serve_blank_page().await;
        let process = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--allow-loopback-in-peer-connection",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(page_url)
            .env("HOME", &profile)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let endpoint = wait_for_devtools(&profile).await;
        let (devtools, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .expect("connect to chromium's devtools");
        let mut chromium = Self {
            process,
            blank_page,
            profile,
            devtools,
            page_session: String::new(),
            next_id: 0,
        };
        let targets = chromium.command(None, "Target.getTargets", json!({})).await;
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["targetId"].as_str())
            .expect("chromium has a page")
            .to_owned();
        let attached = chromium
            .command(
                None,
                "Target.attachToTarget",
                json!({ "targetId": page, "flatten": true }),
            )
            .await;
        chromium.page_session = attached["sessionId"].as_str().expect("session").to_owned();
        let started = Instant::now();
        let loaded = "location.protocol === 'http:' && document.readyState === 'complete'";
        while chromium.eval(loaded).await != json!(true) {
            assert!(started.elapsed() < STARTUP, "chromium did not load the test page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        chromium
    }

    /// Evaluates `expression` in the page (awaiting it if it is a promise) and returns its
    /// value. Panics with the page's exception if it throws.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let session = self.page_session.clone();
        let reply = self
            .command(
                Some(&session),
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        if let Some(exception) = reply.get("exceptionDetails") {
            panic!("page threw while evaluating `{expression}`: {exception}");
        }
        reply["result"]["value"].clone()
    }

    async fn command(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.devtools
            .send(Message::text(message.to_string()))
            .await
            .expect("send to devtools");
        loop {
            let frame = tokio::time::timeout(STARTUP, self.devtools.next())
                .await
                .unwrap_or_else(|_| panic!("chromium did not answer {method}"))
                .expect("devtools connection open")
                .expect("devtools frame");
            let Message::Text(text) = frame else { continue };
            let reply: Value = serde_json::from_str(&text).expect("devtools json");
            if reply["id"] != id {
                continue; // an event, or a reply to something else
            }
            if let Some(error) = reply.get("error") {
                panic!("devtools refused {method}: {error}");
            }
            return reply["result"].clone();
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.blank_page.abort();
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Serves an empty HTML page on `127.0.0.1:0` to every request; returns its URL.
async fn serve_blank_page() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const PAGE: &str = "<!doctype html><title>confab test page</title>";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind page server");
    let url = format!("http://{}/", listener.local_addr().expect("page address"));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 2048];
                let _ = stream.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
                    PAGE.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, task)
}

fn unique_folder() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("confab-chromium-{}-{nanos}", std::process::id()))
}

/// Reads the DevTools address Chromium writes into its profile once it listens.
async fn wait_for_devtools(profile: &Path) -> String {
    let file = profile.join("DevToolsActivePort");
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return format!("ws://127.0.0.1:{port}{path}");
            }
        }
        assert!(
            started.elapsed() < STARTUP,
            "chromium did not open its DevTools port within {STARTUP:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
