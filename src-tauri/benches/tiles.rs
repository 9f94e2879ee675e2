//! Video into the webview: the real `confab` app (under Xvfb, driven through WebDriver) in a
//! room with 1, 4 and 9 remote participants each sending the 1280x720 30 fps test pattern, once
//! for each way the UI can draw (`videoDrawing`: WebGL from I420 planes, or a 2D canvas from
//! RGBA made in Rust) and each way WebKitGTK can put the window together (composited with
//! OpenGL, or not; `WEBKIT_DISABLE_COMPOSITING_MODE`, see `compositing.rs`). For each it prints
//! pictures shown per second per tile (counted by the UI as it draws), pictures skipped because
//! a tile drew too slowly, and the CPU of the app process and of its WebKit web and network
//! processes, beside the CPU of this process (the senders' encoders and the room server) — all
//! on the same machine in the same run, side by side.
//!
//! `cargo bench -p confab-desktop --bench tiles` (needs `scripts/install-deps.sh` and a built UI);
//! words after `--` pick rows: `-- 4 off canvas` runs only 4 tiles, compositing off, 2D canvas.

#[path = "../tests/support/mod.rs"]
mod support;

use confab_desktop::compositing::COMPOSITING_SWITCH;
use confab_tests::{join_synthetic, wait_joined, TestServer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::App;

const WARM_UP: Duration = Duration::from_secs(4);
const MEASURE: Duration = Duration::from_secs(10);
const SOURCE_FPS: f64 = 30.0;

/// One process as `/proc/PID/stat` describes it.
struct ProcStat {
    name: String,
    group: u32,
    /// User + system CPU time, in clock ticks.
    cpu_ticks: f64,
}

fn proc_stat(path: &std::path::Path) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let fields: Vec<&str> = stat.get(close + 2..)?.split(' ').collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    Some(ProcStat {
        name: stat[open + 1..close].to_owned(),
        group: number(2) as u32,
        cpu_ticks: number(11) + number(12),
    })
}

/// CPU seconds used so far, by process name, of every process in a process group.
fn cpu_by_name(group: u32, ticks: f64) -> BTreeMap<String, f64> {
    let mut used = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Some(process) = proc_stat(&entry.path().join("stat")).filter(|p| p.group == group) {
            *used.entry(process.name).or_insert(0.0) += process.cpu_ticks / ticks;
        }
    }
    used
}

/// CPU seconds this process has used so far.
fn own_cpu(ticks: f64) -> f64 {
    proc_stat(std::path::Path::new("/proc/self/stat")).map_or(0.0, |p| p.cpu_ticks / ticks)
}

/// The senders stand in for other people's computers but share the app's cores here: every
/// thread of this process but the main one (which launches the next app, and would pass its
/// priority on) is made to yield to the app (nice 10), so the app is measured rather than
/// starved; the senders still get whatever the app leaves.
fn yield_to_the_app() {
    let main_thread = std::process::id().to_string();
    let tasks = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten();
    for task in tasks.filter(|t| t.file_name().to_string_lossy() != main_thread) {
        let reniced = std::process::Command::new("renice")
            .args(["-n", "10", "-p"])
            .arg(task.file_name())
            .stdout(std::process::Stdio::null())
            .status();
        assert!(reniced.is_ok_and(|s| s.success()), "renice must work");
    }
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 where it cannot be read).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Per tile: pictures shown (UI) and decoded / skipped (app), keyed by participant.
struct TileCounts {
    shown: BTreeMap<String, f64>,
    decoded: BTreeMap<String, f64>,
    skipped: f64,
}

fn tile_counts(app: &App) -> TileCounts {
    let reply = app.script_async(
        "const done = arguments[0];
         const shown = {};
         document.querySelectorAll('.tile:not(.self)').forEach(t => {
           shown[t.dataset.participant] = Number(t.querySelector('canvas')?.dataset.shown ?? 0);
         });
         window.__TAURI_INTERNALS__.invoke('tile_stats')
           .then(stats => done({ shown, stats }), e => done({ shown, error: String(e) }));",
    );
    assert!(reply["error"].is_null(), "tile_stats failed: {}", reply["error"]);
    let shown = reply["shown"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default();
    let stats = reply["stats"].as_array().cloned().unwrap_or_default();
    let number = |s: &Value, key: &str| s[key].as_f64().unwrap_or(0.0);
    TileCounts {
        shown,
        decoded: stats
            .iter()
            .map(|s| {
                (
                    s["participant"].as_str().unwrap_or("").to_owned(),
                    number(s, "decoded"),
                )
            })
            .collect(),
        skipped: stats.iter().map(|s| number(s, "skipped")).sum(),
    }
}

/// The ways of drawing compared, as the `videoDrawing` setting names them.
const DRAWINGS: [&str; 2] = ["webgl", "canvas"];
/// WebKitGTK compositing with OpenGL, and without, as `WEBKIT_DISABLE_COMPOSITING_MODE` sets it.
const COMPOSITING: [(&str, &str); 2] = [("OpenGL", "0"), ("off", "1")];

struct Row {
    compositing: &'static str,
    drawing: &'static str,
    tiles: usize,
    decoded_fps: f64,
    shown_min: f64,
    shown_mean: f64,
    skipped_per_s: f64,
    app: f64,
    webview: f64,
    network: f64,
    senders: f64,
}

fn per_tile_rates(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, seconds: f64) -> Vec<f64> {
    after
        .iter()
        .map(|(k, v)| (v - before.get(k).copied().unwrap_or(0.0)) / seconds)
        .collect()
}

fn measure((compositing, switch): (&'static str, &str), drawing: &'static str, tiles: usize) -> Row {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(TestServer::start());
    let link = server.link(&format!("bench-{tiles}"));
    let senders: Vec<_> = (0..tiles)
        .map(|i| {
            let (call, mut events) = runtime.block_on(async {
                join_synthetic(
                    &link,
                    &format!("Sender {i}"),
                    (1280, 720),
                    300.0 + 50.0 * i as f32,
                )
            });
            runtime.block_on(wait_joined(&mut events));
            call
        })
        .collect();

    let settings = std::env::temp_dir().join(format!("confab-bench-settings-{}", std::process::id()));
    std::fs::create_dir_all(&settings).expect("a settings folder");
    std::fs::write(
        settings.join("settings.json"),
        format!(r#"{{"videoDrawing":"{drawing}"}}"#),
    )
    .expect("settings written");
    let app = App::launch_with_env(
        &PathBuf::from(env!("CARGO_BIN_EXE_confab")),
        &[
            "--settings-dir".into(),
            settings.display().to_string(),
            link.to_string(),
        ],
        &[(COMPOSITING_SWITCH, switch)],
    );
    let name = app.wait_for("#name-input", Duration::from_secs(30));
    app.type_into(&name, "Viewer");
    app.select("#camera-select", "none");
    app.select("#mic-select", "none");
    app.click_css("#join-button", Duration::from_secs(10));
    app.wait_for_count(".tile:not(.no-picture)", tiles, Duration::from_secs(60));
    yield_to_the_app();
    std::thread::sleep(WARM_UP);

    let (group, ticks) = (app.process_group(), clock_ticks());
    let (counts_before, cpu_before, own_before, started) = (
        tile_counts(&app),
        cpu_by_name(group, ticks),
        own_cpu(ticks),
        Instant::now(),
    );
    std::thread::sleep(MEASURE);
    let (counts_after, cpu_after, own_after) = (tile_counts(&app), cpu_by_name(group, ticks), own_cpu(ticks));
    let seconds = started.elapsed().as_secs_f64();

    let share = |prefix: &str| {
        let sum = |m: &BTreeMap<String, f64>| {
            m.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v)
                .sum::<f64>()
        };
        100.0 * (sum(&cpu_after) - sum(&cpu_before)) / seconds
    };
    let shown = per_tile_rates(&counts_before.shown, &counts_after.shown, seconds);
    let decoded = per_tile_rates(&counts_before.decoded, &counts_after.decoded, seconds);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let row = Row {
        compositing,
        drawing,
        tiles,
        decoded_fps: mean(&decoded),
        shown_min: shown.iter().copied().fold(f64::INFINITY, f64::min),
        shown_mean: mean(&shown),
        skipped_per_s: (counts_after.skipped - counts_before.skipped) / seconds,
        app: share("confab"),
        webview: share("WebKitWebProces"),
        network: share("WebKitNetworkP"),
        senders: 100.0 * (own_after - own_before) / seconds,
    };
    drop(app);
    runtime.block_on(async {
        for call in senders {
            call.leave().await;
        }
        server.stop().await;
    });
    let _ = std::fs::remove_dir_all(settings);
    row
}

/// Whether a row is asked for: every word given after `--` (a tile count, `OpenGL` / `off`,
/// `webgl` / `canvas`) must name one of its settings; with no words, every row is.
fn asked_for(words: &[String], tiles: usize, compositing: &str, drawing: &str) -> bool {
    words.iter().all(|w| {
        *w == tiles.to_string() || w.eq_ignore_ascii_case(compositing) || w.eq_ignore_ascii_case(drawing)
    })
}

fn main() {
    // `cargo bench` passes `--bench`; any other word picks rows (`-- 4 off canvas`).
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rows: Vec<Row> = [1, 4, 9]
        .into_iter()
        .flat_map(|tiles| {
            COMPOSITING
                .into_iter()
                .flat_map(move |c| DRAWINGS.map(move |d| (tiles, c, d)))
        })
        .filter(|(tiles, (compositing, _), drawing)| asked_for(&words, *tiles, compositing, drawing))
        .map(|(tiles, compositing, drawing)| measure(compositing, drawing, tiles))
        .collect();
    assert!(
        !rows.is_empty(),
        "no row is {words:?}: pick from 1, 4, 9, OpenGL, off, webgl, canvas"
    );
    println!();
    println!("video into the webview: remote 1280x720 tiles at {SOURCE_FPS} fps; CPU in % of one core");
    println!(
        "| tiles | compositing | drawing | decoded fps/tile | shown fps/tile (min / mean) | skipped/s (all tiles) | app (confab) | web process | network process | app + WebKit | senders + server (this process) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} / {:.1} | {:.1} | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {:.0}% |",
            r.tiles,
            r.compositing,
            r.drawing,
            r.decoded_fps,
            r.shown_min,
            r.shown_mean,
            r.skipped_per_s,
            r.app,
            r.webview,
            r.network,
            r.app + r.webview + r.network,
            r.senders
        );
    }
}
