//! Driving the real `confab` binary as a person would: in private [`Surroundings`] (X server,
//! session bus), through tauri-driver with WebKitWebDriver and a small W3C WebDriver client over
//! HTTP. Every wait is bounded and names what it waited for; everything started here is stopped
//! on drop.
//!
//! Each test binary (`desktop.rs`, `links.rs`) uses part of this.
#![allow(dead_code)]

pub mod picture;
pub mod surroundings;

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use surroundings::{Started, Surroundings};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// tauri-driver from `$CONFAB_TOOLS/bin` (where `scripts/install-deps.sh` puts it) or `PATH`.
fn tauri_driver() -> PathBuf {
    let tools = std::env::var_os("CONFAB_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/confab/tools")));
    if let Some(found) = tools.map(|t| t.join("bin/tauri-driver")).filter(|p| p.exists()) {
        return found;
    }
    PathBuf::from("tauri-driver")
}

/// A WebDriver session on the app.
pub struct App {
    base: String,
    session: String,
    agent: ureq::Agent,
    _driver: Started,
    /// Dropped after the driver (and with it the app) is gone.
    pub surroundings: Surroundings,
}

impl App {
    /// Starts `binary` with `args` in fresh surroundings and opens a session on it.
    pub fn launch(binary: &Path, args: &[String]) -> Self {
        Self::launch_with_env(binary, args, &[])
    }

    /// [`App::launch`] with extra environment variables for the app.
    pub fn launch_with_env(binary: &Path, args: &[String], env: &[(&str, &str)]) -> Self {
        let surroundings = Surroundings::start();
        let port = free_port();
        let native_port = free_port();
        let mut driver = Command::new(tauri_driver());
        driver
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let driver = Started::spawn(
            surroundings.apply(&mut driver),
            "tauri-driver must be installed (scripts/install-deps.sh does it)",
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not answer on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": binary, "args": args,
        }}}});
        let created = request(&agent, "POST", &format!("{base}/session"), Some(capabilities));
        let session = created["sessionId"].as_str().expect("a session id").to_owned();
        Self {
            base,
            session,
            agent,
            _driver: driver,
            surroundings,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        request(
            &self.agent,
            method,
            &format!("{}/session/{}{path}", self.base, self.session),
            body,
        )
    }

    /// Elements matching a CSS selector now (none while the page is being redrawn under the
    /// query: WebKitWebDriver then answers "stale element").
    pub fn find_all(&self, css: &str) -> Vec<String> {
        let url = format!("{}/session/{}/elements", self.base, self.session);
        let query = json!({"using": "css selector", "value": css});
        try_request(&self.agent, "POST", &url, Some(query))
            .unwrap_or_default()
            .as_array()
            .map(|all| all.iter().filter_map(element_id).collect())
            .unwrap_or_default()
    }

    /// Waits until `count` elements match `css`, and returns them.
    pub fn wait_for_count(&self, css: &str, count: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let found = self.find_all(css);
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "gave up after {within:?} waiting for {count} of '{css}' (found {}); page text: {}",
                found.len(),
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for one element matching `css`.
    pub fn wait_for(&self, css: &str, within: Duration) -> String {
        self.wait_for_count(css, 1, within).remove(0)
    }

    /// Clicks an element.
    pub fn click(&self, element: &str) {
        self.call("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    /// Clicks the first element matching `css`, finding it again if the UI redrew it between
    /// finding and clicking (a stale element).
    pub fn click_css(&self, css: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(element) = self.find_all(css).first() {
                let url = format!("{}/session/{}/element/{element}/click", self.base, self.session);
                if try_request(&self.agent, "POST", &url, Some(json!({}))).is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "gave up after {within:?} trying to click '{css}'; page text: {}",
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The text of every element matching `css` now (read in the page, so never stale).
    pub fn texts(&self, css: &str) -> Vec<String> {
        let script = format!(
            "return Array.from(document.querySelectorAll({})).map(e => e.textContent)",
            serde_json::to_string(css).unwrap_or_default()
        );
        self.script(&script)
            .as_array()
            .map(|all| all.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// Waits until some element matching `css` has exactly `text`.
    pub fn wait_for_text(&self, css: &str, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let found = self.texts(css);
            if found.iter().any(|t| t == text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gave up after {within:?} waiting for '{css}' to read '{text}' (saw {found:?})"
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Replaces an input's text.
    pub fn type_into(&self, element: &str, text: &str) {
        self.call("POST", &format!("/element/{element}/clear"), Some(json!({})));
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Chooses an option of a `<select>` by value.
    pub fn select(&self, css: &str, value: &str) {
        let option = self.wait_for(
            &format!("{css} option[value=\"{value}\"]"),
            Duration::from_secs(5),
        );
        self.click(&option);
    }

    /// On the pre-join screen: types `name`, turns camera and microphone off and joins.
    pub fn join_without_devices(&self, name: &str) {
        let input = self.wait_for("#name-input", Duration::from_secs(10));
        self.type_into(&input, name);
        self.select("#camera-select", "none");
        self.select("#mic-select", "none");
        self.click_css("#join-button", Duration::from_secs(10));
    }

    /// Runs a script in the page and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Runs an asynchronous script (it ends by calling `arguments[0]` with its value).
    pub fn script_async(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// The process group everything the app started runs in (tauri-driver's, which the app
    /// and its web processes inherit).
    pub fn process_group(&self) -> u32 {
        self._driver.id()
    }

    /// The whole page's visible text, for failure messages.
    pub fn page_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        decode_png_value(&self.call("GET", "/screenshot", None))
    }

    /// Where an element is in the window: x, y, width, height in CSS pixels.
    pub fn rect(&self, element: &str) -> (usize, usize, usize, usize) {
        let rect = self.call("GET", &format!("/element/{element}/rect"), None);
        let number = |key: &str| rect[key].as_f64().unwrap_or(0.0).round().max(0.0) as usize;
        (number("x"), number("y"), number("width"), number("height"))
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(format!("{}/session/{}", self.base, self.session))
            .call();
    }
}

fn element_id(value: &Value) -> Option<String> {
    value
        .as_object()?
        .iter()
        .find(|(key, _)| key.starts_with("element-"))
        .and_then(|(_, id)| id.as_str().map(str::to_owned))
}

fn decode_png_value(value: &Value) -> Vec<u8> {
    use base64::Engine as _;
    let text = value.as_str().expect("a base64 screenshot");
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("valid base64 from WebDriver")
}

fn request(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    try_request(agent, method, url, body).unwrap_or_else(|e| panic!("{e}"))
}

fn try_request(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let response = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some(body)) => agent.post(url).send_json(body),
        (_, None) => agent.post(url).send_empty(),
    };
    let mut response = response.map_err(|e| format!("WebDriver {method} {url} failed: {e}"))?;
    let status = response.status();
    let reply: Value = response
        .body_mut()
        .read_json()
        .map_err(|e| format!("WebDriver {method} {url}: unreadable reply ({e})"))?;
    if !status.is_success() {
        return Err(format!("WebDriver {method} {url} answered {status}: {reply}"));
    }
    Ok(reply["value"].clone())
}
