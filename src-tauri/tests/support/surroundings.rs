//! What a desktop app runs inside, made private to one test: an X server (Xvfb) on a free
//! display, a D-Bus session bus (single instance is decided on it), and its own XDG data and
//! config folders (where `confab://` gets registered) and home. Everything is stopped and removed
//! on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A process that is killed when dropped, with every process it started (its process group:
/// tauri-driver starts WebKitWebDriver, which starts the app).
pub(crate) struct Started(Child);

impl Started {
    /// The process id (also its process group's id).
    pub(crate) fn id(&self) -> u32 {
        self.0.id()
    }

    pub(crate) fn spawn(command: &mut Command, what: &str) -> Self {
        use std::os::unix::process::CommandExt as _;
        Self(
            command
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("{what}: {e}")),
        )
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        // `spawn` made the child a process group leader, so its pid names the group.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The private desktop: display, session bus and XDG folders.
pub struct Surroundings {
    display: String,
    bus_address: String,
    folder: PathBuf,
    // Dropped in order: the bus, then the X server.
    _bus: Started,
    _xvfb: Started,
}

impl Surroundings {
    /// Starts an X server and a session bus in a fresh temporary folder.
    pub fn start() -> Self {
        let folder = std::env::temp_dir().join(format!(
            "confab-desktop-{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        for sub in ["data", "config"] {
            std::fs::create_dir_all(folder.join(sub)).expect("a temporary folder");
        }
        let (xvfb, display) = start_xvfb();
        let (bus, bus_address) = start_session_bus(&folder);
        Self {
            display,
            bus_address,
            folder,
            _bus: bus,
            _xvfb: xvfb,
        }
    }

    /// Sets a command's display, session bus, XDG folders and home to these. The home folder
    /// holds no `.asoundrc`, so ALSA sees this machine's sound cards only (none in CI).
    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("HOME", self.folder.join("home"))
            .env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("XDG_DATA_HOME", self.data_home())
            .env("XDG_CONFIG_HOME", self.folder.join("config"))
    }

    /// `$XDG_DATA_HOME` of everything started here.
    pub fn data_home(&self) -> PathBuf {
        self.folder.join("data")
    }

    /// Runs `binary args` here to the end (at most `within`) and returns how it exited.
    pub fn run_to_end(&self, binary: &Path, args: &[String], within: Duration) -> ExitStatus {
        let mut command = Command::new(binary);
        self.apply(command.args(args).stdout(Stdio::null()).stderr(Stdio::inherit()));
        let mut child = Started::spawn(&mut command, "the second launch");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.0.try_wait().expect("the second launch's status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} {args:?} was still running after {within:?}",
                binary.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Surroundings {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Waits until `path` exists; panics naming `what` after `within`.
pub fn wait_until_exists(path: &Path, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "no {what} ({}) after {within:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A session bus of our own, listening in `folder`.
fn start_session_bus(folder: &Path) -> (Started, String) {
    let socket = folder.join("bus");
    let address = format!("unix:path={}", socket.display());
    let started = Started::spawn(
        Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--address", &address])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
        "dbus-daemon (apt-get install dbus-daemon) must be installed to test the desktop app",
    );
    wait_until_exists(
        &socket,
        Duration::from_secs(10),
        &format!("dbus-daemon's socket {address}"),
    );
    (started, address)
}

/// Whether an X server holds `display`: its lock file names a live process. Our X servers are
/// killed (SIGKILL) when a test ends and leave their lock and socket behind; those are stale,
/// and are removed so the number can be used again.
fn display_taken(display: u32) -> bool {
    let lock = PathBuf::from(format!("/tmp/.X{display}-lock"));
    let owner = std::fs::read_to_string(&lock)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok());
    if owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
        return true;
    }
    let _ = std::fs::remove_file(&lock);
    let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{display}"));
    false
}

/// An X server of our own on a free display number.
fn start_xvfb() -> (Started, String) {
    for display in 90..140 {
        if display_taken(display) {
            continue;
        }
        let started = Started::spawn(
            Command::new("Xvfb")
                .args([
                    format!(":{display}"),
                    "-screen".into(),
                    "0".into(),
                    "1400x900x24".into(),
                    "-nolisten".into(),
                    "tcp".into(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "Xvfb (apt-get install xvfb) must be installed to test the desktop app",
        );
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
        wait_until_exists(
            &socket,
            Duration::from_secs(10),
            &format!("Xvfb's display :{display}"),
        );
        return (started, format!(":{display}"));
    }
    panic!("no free X display number between :90 and :139");
}
