//! Janus and simple-whip-server, started by a test inside its network namespace ([`TestNet`]):
//! Janus will not offer loopback candidates, so it runs behind the namespace's veth links and
//! gathers on the media link only (TESTBED.md); its APIs listen on the main link's address.
//!
//! - Janus is Debian's `janus`, with a configuration written for the test: the VideoRoom and
//!   TextRoom plugins, the WebSocket transport on port [`JANUS_WS_PORT`] (and its Admin API on
//!   [`ADMIN_WS_PORT`]), room [`ROOM`] accepting H.264, and `slowlink` events when Janus misses
//!   more than a few packets a second.
//! - simple-whip-server is Debian's package, unpacked by `scripts/install-deps.sh` into
//!   `~/.cache/confab/simple-whip-server` (installing it would replace the machine's Node.js
//!   with Debian's, which conflict) and run with `node` and the npm modules of `tests/peers`.
//!
//! A server that does not come up fails the test with its log; nothing is skipped.

use crate::netns::{TestNet, INNER_ADDR, MEDIA_HOST_ADDR};
use crate::support::{debian_version, verified, Capability};
use crate::synthetic_config;
use confab_core::JoinLink;
use confab_engine::{Call, CallConfig, CallEvent, PeerConfig};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// Janus' WebSocket port inside the namespace.
pub const JANUS_WS_PORT: u16 = 8188;
/// Janus' Admin API WebSocket port inside the namespace ([`crate::janus_admin`]).
pub const ADMIN_WS_PORT: u16 = 7188;
/// The Admin API's secret in the test configuration.
pub const ADMIN_SECRET: &str = "confab-test-admin";
/// simple-whip-server's HTTP port inside the namespace.
pub const WHIP_PORT: u16 = 7080;
/// The VideoRoom (and TextRoom) room the configuration makes.
pub const ROOM: u64 = 1234;
/// How long a server may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(15);

/// A server process and the folder with its configuration and log; both go on drop.
struct Process {
    child: Child,
    folder: PathBuf,
    log: PathBuf,
}

impl Process {
    fn start(mut command: std::process::Command, folder: PathBuf, what: &str) -> Self {
        let log = folder.join(format!("{what}.log"));
        let output = std::fs::File::create(&log).expect("a log file");
        let errors = output.try_clone().expect("a log file");
        let child = command
            .stdout(Stdio::from(output))
            .stderr(Stdio::from(errors))
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {what}: {e}; run scripts/install-deps.sh"));
        Self { child, folder, log }
    }

    /// Waits until `address` accepts connections, or fails the test with the log.
    fn wait_listening(&mut self, address: SocketAddr, what: &str) {
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("{what} did not start listening on {address} ({exited:?}):\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The log so far, for a failing assertion's message.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A private folder for one server's files.
fn folder(what: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("confab-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a temporary folder");
    folder
}

/// Janus running in `net`.
pub struct Janus {
    process: Process,
}

impl Janus {
    /// Starts Janus inside `net` and waits until its WebSocket transport listens.
    pub fn start(net: &TestNet) -> Self {
        let folder = folder("janus");
        write_janus_config(&folder, net.media_interface());
        let mut command = net.command("janus");
        command
            .arg("--configs-folder")
            .arg(&folder)
            .arg("--config")
            .arg(folder.join("janus.jcfg"));
        let mut process = Process::start(command, folder, "janus");
        process.wait_listening(Self::address(), "Janus");
        Self { process }
    }

    fn address() -> SocketAddr {
        SocketAddr::new(INNER_ADDR.parse().expect("an address"), JANUS_WS_PORT)
    }

    /// Janus' WebSocket API.
    pub fn websocket_url(&self) -> String {
        format!("ws://{}", Self::address())
    }

    /// Janus' log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Leaves `call` and fails the test, with Janus' log, if it reported any problem.
    pub async fn leave_without_problems(&self, call: Call) {
        let last = call.leave().await;
        assert!(last.errors.is_empty(), "{:?}\n{}", last.errors, self.log());
    }
}

/// Records for the README's support table what the Janus adapter did against this Janus.
pub fn verified_on_janus(capabilities: &[(Capability, &str)]) {
    let server = format!("Janus {} (Debian)", debian_version("janus"));
    verified("Janus VideoRoom + TextRoom", &server, capabilities);
}

/// Joins `link`'s Janus room as `name`, media over the namespace's media link: synthetic
/// video of `size` and a tone, or chat only (`None`). Tests that need video to cost what a
/// camera's does replace `video` with a grainy pattern.
pub fn join(
    link: &JoinLink,
    name: &str,
    size: Option<(usize, usize)>,
) -> (Call, UnboundedReceiver<CallEvent>) {
    let mut config = synthetic_config(link, name, size.unwrap_or((320, 240)), 440.0);
    if size.is_none() {
        (config.video, config.audio) = (None, None);
    }
    join_with(config)
}

/// Starts the call `config` describes with its media over the namespace's media link.
pub fn join_with(config: CallConfig) -> (Call, UnboundedReceiver<CallEvent>) {
    let media = PeerConfig::bound_to(MEDIA_HOST_ADDR.parse().expect("an address"));
    Call::start(CallConfig {
        peer: Some(media),
        ..config
    })
}

fn write_janus_config(folder: &Path, interface: &str) {
    let lib = "/usr/lib/x86_64-linux-gnu/janus";
    let unused_plugins = [
        "audiobridge",
        "duktape",
        "echotest",
        "lua",
        "nosip",
        "recordplay",
        "sip",
        "streaming",
        "videocall",
        "voicemail",
    ]
    .map(|p| format!("libjanus_{p}.so"))
    .join(",");
    let unused_transports = ["http", "mqtt", "nanomsg", "pfunix", "rabbitmq"]
        .map(|t| format!("libjanus_{t}.so"))
        .join(",");
    let files = [
        (
            "janus.jcfg",
            format!(
                "general: {{\n configs_folder = \"{folder}\"\n plugins_folder = \"{lib}/plugins\"\n \
                 transports_folder = \"{lib}/transports\"\n events_folder = \"{lib}/events\"\n \
                 loggers_folder = \"{lib}/loggers\"\n debug_level = 4\n session_timeout = 60\n \
                 admin_secret = \"{ADMIN_SECRET}\"\n}}\n\
                 media: {{\n slowlink_threshold = 4\n}}\n\
                 nat: {{\n ice_enforce_list = \"{interface}\"\n}}\n\
                 plugins: {{\n disable = \"{unused_plugins}\"\n}}\n\
                 transports: {{\n disable = \"{unused_transports}\"\n}}\n\
                 events: {{\n broadcast = false\n}}\nloggers: {{\n disable = \"libjanus_jsonlog.so\"\n}}\n",
                folder = folder.display()
            ),
        ),
        (
            "janus.transport.websockets.jcfg",
            format!("general: {{\n ws = true\n ws_port = {JANUS_WS_PORT}\n wss = false\n}}\nadmin: {{\n admin_ws = true\n admin_ws_port = {ADMIN_WS_PORT}\n admin_wss = false\n}}\n"),
        ),
        (
            "janus.plugin.videoroom.jcfg",
            format!(
                "room-{ROOM}: {{\n description = \"Confab test room\"\n publishers = 6\n bitrate = 1000000\n \
                 fir_freq = 2\n audiocodec = \"opus\"\n videocodec = \"h264,vp8\"\n h264_profile = \"42e01f\"\n}}\n"
            ),
        ),
        (
            "janus.plugin.textroom.jcfg",
            format!("general: {{\n json = \"indented\"\n}}\nroom-{ROOM}: {{\n description = \"Confab test chat\"\n}}\n"),
        ),
    ];
    for (name, text) in files {
        std::fs::write(folder.join(name), text).expect("write the Janus configuration");
    }
}

/// simple-whip-server running in `net`, publishing into the Janus there.
pub struct WhipServer {
    process: Process,
}

impl WhipServer {
    /// Starts simple-whip-server inside `net`, connected to `janus`, and waits until it listens.
    pub fn start(net: &TestNet, janus: &Janus) -> Self {
        let installed = simple_whip_server_folder();
        assert!(
            installed.join("src/server.js").exists(),
            "simple-whip-server is missing from {}: run scripts/install-deps.sh",
            installed.display()
        );
        let folder = folder("whip-server");
        let source = folder.join("src");
        std::fs::create_dir_all(&source).expect("a folder");
        for file in ["server.js", "whip-janus.js"] {
            std::fs::copy(installed.join("src").join(file), source.join(file))
                .expect("copy simple-whip-server");
        }
        let config = format!(
            "module.exports = {{ janus: {{ address: '{}' }}, port: {WHIP_PORT}, rest: '/whip', \
             allowTrickle: true, strictETags: false, iceServers: [] }};\n",
            janus.websocket_url()
        );
        std::fs::write(source.join("config.js"), config).expect("write the configuration");
        let modules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/node_modules");
        let mut command = net.command("node");
        command
            .arg("src/server.js")
            .current_dir(&folder)
            .env("NODE_PATH", modules)
            .env("DEBUG", "whip:*,-whip:debug");
        let mut process = Process::start(command, folder, "simple-whip-server");
        process.wait_listening(Self::address(), "simple-whip-server");
        Self { process }
    }

    /// Where its HTTP API listens.
    pub fn address() -> SocketAddr {
        SocketAddr::new(INNER_ADDR.parse().expect("an address"), WHIP_PORT)
    }

    /// Creates WHIP endpoint `id` publishing into VideoRoom `room`, admitting `token`; returns
    /// the endpoint's URL.
    pub async fn create_endpoint(&self, id: &str, token: &str) -> String {
        let body = serde_json::json!({ "id": id, "room": ROOM, "token": token }).to_string();
        let headers = [("Content-Type", "application/json")];
        let reply = crate::http::request(Self::address(), "POST", "/whip/create", &headers, &body).await;
        assert_eq!(reply.status, 200, "simple-whip-server refused /create: {reply:?}");
        format!("http://{}/whip/endpoint/{id}", Self::address())
    }

    /// Whether endpoint `id` has a publisher now (its `enabled` flag in `/whip/endpoints`).
    pub async fn is_publishing(&self, id: &str) -> bool {
        let reply = crate::http::request(Self::address(), "GET", "/whip/endpoints", &[], "").await;
        let list: serde_json::Value = serde_json::from_str(&reply.body).expect("a JSON list");
        list.as_array()
            .into_iter()
            .flatten()
            .any(|e| e["id"] == id && e["enabled"] == true)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// Where install-deps.sh unpacks simple-whip-server.
fn simple_whip_server_folder() -> PathBuf {
    std::env::var_os("CONFAB_SIMPLE_WHIP_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/confab/simple-whip-server"))
        })
        .expect("HOME or CONFAB_SIMPLE_WHIP_SERVER is set")
}
