//! The call benchmark: N synthetic participants at 720p30 through `confab-cli serve`, each a
//! real `confab-cli join` process, and a same-run encode reference (x264 on the same frames).
//!
//! Run with `bash scripts/bench.sh` (installs x264, builds release). Prints one table row per N:
//! median first-frame time, frames delivered, encode ms/frame, and CPU% and peak RSS of the
//! server and of one client, sampled from /proc.
//!
//! Environment: `CONFAB_BENCH_N` (default `2,4,6`), `CONFAB_BENCH_SECONDS` (default 20),
//! `CONFAB_BENCH_SIZE` (default `1280x720`).

use confab_media::h264::{H264Encoder, VideoEncoderConfig};
use confab_media::pattern::{render, Stamp};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_confab-cli");

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// CPU ticks (user + system) and RSS in KiB of a process, from /proc.
fn sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks, rss))
}

/// CPU% over a window and peak RSS of one process.
struct Usage {
    cpu_percent: f64,
    peak_rss_mib: f64,
}

fn measure(pid: u32, warmup: Duration, window: Duration) -> Usage {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    thread::sleep(warmup);
    let start = sample(pid);
    let started = Instant::now();
    let mut peak = start.map_or(0, |s| s.1);
    while started.elapsed() < window {
        thread::sleep(Duration::from_millis(250));
        if let Some((_, rss)) = sample(pid) {
            peak = peak.max(rss);
        }
    }
    let end = sample(pid);
    let cpu = match (start, end) {
        (Some(a), Some(b)) => (b.0 - a.0) as f64 / ticks_per_second / started.elapsed().as_secs_f64() * 100.0,
        _ => f64::NAN,
    };
    Usage {
        cpu_percent: cpu,
        peak_rss_mib: peak as f64 / 1024.0,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

struct Row {
    n: usize,
    first_frame_ms: f64,
    delivered_percent: f64,
    decoder_dropped: u64,
    lost: u64,
    skipped: u64,
    sender_dropped: u64,
    encode_ms: f64,
    server: Usage,
    client: Usage,
}

fn run_call(n: usize, seconds: u64, size: &str) -> Row {
    let mut server = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--room", "bench"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start confab-cli serve");
    let link = BufReader::new(server.stdout.take().expect("stdout"))
        .lines()
        .next()
        .expect("a link")
        .expect("utf-8");
    let dir = std::env::temp_dir().join(format!("confab-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("report dir");
    let clients: Vec<Child> = (0..n)
        .map(|i| {
            Command::new(BIN)
                .args([
                    "join",
                    &link,
                    "--name",
                    &format!("p{i}"),
                    "--size",
                    size,
                    "--fps",
                    "30",
                ])
                .args(["--duration", &seconds.to_string()])
                .args(["--report", dir.join(format!("p{i}.json")).to_str().expect("path")])
                .stderr(Stdio::null())
                .spawn()
                .expect("start confab-cli join")
        })
        .collect();
    let warmup = Duration::from_secs(3);
    let window = Duration::from_secs(seconds.saturating_sub(5).max(2));
    let (server_pid, client_pid) = (server.id(), clients[0].id());
    let client_usage = thread::spawn(move || measure(client_pid, warmup, window));
    let server_usage = measure(server_pid, warmup, window);
    let client_usage = client_usage.join().expect("sampler");
    for mut client in clients {
        let _ = client.wait();
    }
    let _ = server.kill();
    let _ = server.wait();

    let (mut first_frames, mut decoded, mut expected, mut encode) = (Vec::new(), 0u64, 0u64, Vec::new());
    let (mut decoder_dropped, mut lost, mut skipped, mut sender_dropped) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..n {
        let path = dir.join(format!("p{i}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(report) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        encode.push(report["encode_ms_per_frame"].as_f64().unwrap_or(f64::NAN));
        sender_dropped += report["frames_dropped_before_send"].as_u64().unwrap_or(0);
        for remote in report["participants"].as_array().into_iter().flatten() {
            if let Some(ms) = remote["first_frame_ms"].as_f64() {
                first_frames.push(ms);
            }
            decoded += remote["frames_decoded"].as_u64().unwrap_or(0);
            expected += remote["frames_expected"].as_u64().unwrap_or(0);
            decoder_dropped += remote["frames_dropped_before_decode"].as_u64().unwrap_or(0);
            lost += remote["frames_lost"].as_u64().unwrap_or(0);
            skipped += remote["frames_skipped_awaiting_keyframe"].as_u64().unwrap_or(0);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        n,
        first_frame_ms: median(first_frames),
        delivered_percent: if expected == 0 {
            0.0
        } else {
            decoded as f64 * 100.0 / expected as f64
        },
        decoder_dropped,
        lost,
        skipped,
        sender_dropped,
        encode_ms: median(encode),
        server: server_usage,
        client: client_usage,
    }
}

/// Encode ms/frame for OpenH264 (in process) and x264 (same frames, one thread, same bitrate).
fn encode_reference(width: usize, height: usize, frames: u32) -> (f64, Option<f64>) {
    let config = VideoEncoderConfig::for_size(width, height, 30);
    let pictures: Vec<_> = (0..frames)
        .map(|n| {
            render(
                width,
                height,
                Stamp {
                    frame_number: n,
                    captured_at_us: u64::from(n),
                },
            )
            .expect("pattern")
        })
        .collect();
    let mut encoder = H264Encoder::new(config).expect("openh264");
    let started = Instant::now();
    for picture in &pictures {
        encoder.encode(picture, false).expect("encode");
    }
    let openh264 = started.elapsed().as_secs_f64() * 1000.0 / f64::from(frames);
    let x264 = Command::new("x264")
        .args([
            "--preset",
            "veryfast",
            "--tune",
            "zerolatency",
            "--threads",
            "1",
            "--profile",
            "baseline",
        ])
        .args(["--bitrate", &(config.bitrate_bps / 1000).to_string()])
        .args([
            "--input-res",
            &format!("{width}x{height}"),
            "--fps",
            "30",
            "--demuxer",
            "raw",
        ])
        .args(["--quiet", "-o", "/dev/null", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .and_then(|mut child| {
            let started = Instant::now();
            let mut stdin = child.stdin.take()?;
            for picture in &pictures {
                stdin.write_all(&picture.data).ok()?;
            }
            drop(stdin);
            child
                .wait()
                .ok()?
                .success()
                .then(|| started.elapsed().as_secs_f64() * 1000.0 / f64::from(frames))
        });
    (openh264, x264)
}

fn main() {
    let sizes = env_or("CONFAB_BENCH_SIZE", "1280x720");
    let (w, h) = sizes.split_once('x').expect("WxH");
    let (width, height): (usize, usize) = (w.parse().expect("width"), h.parse().expect("height"));
    let seconds: u64 = env_or("CONFAB_BENCH_SECONDS", "20").parse().expect("seconds");
    let ns: Vec<usize> = env_or("CONFAB_BENCH_N", "2,4,6")
        .split(',')
        .map(|s| s.trim().parse().expect("N"))
        .collect();

    let (openh264, x264) = encode_reference(width, height, 150);
    println!("encode reference, {width}x{height}, one thread, same 150 pattern frames:");
    println!("| encoder | ms/frame |");
    println!("| --- | --- |");
    println!("| OpenH264 (Confab) | {openh264:.2} |");
    match x264 {
        Some(ms) => println!("| x264 veryfast zerolatency | {ms:.2} |"),
        None => println!("| x264 | not installed (apt-get install x264) |"),
    }
    println!();
    println!("call, {width}x{height} at 30 fps, {seconds} s per run, every participant a confab-cli process on this machine ({} cores):", thread::available_parallelism().map_or(0, |n| n.get()));
    println!("| N | median first_frame_ms | frames delivered % | dropped by senders | lost in transit | skipped awaiting keyframe | dropped before decode | encode ms/frame | server CPU % | server RSS MiB | client CPU % | client RSS MiB |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for n in ns {
        let row = run_call(n, seconds, &sizes);
        println!(
            "| {} | {:.0} | {:.1} | {} | {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.0} | {:.1} |",
            row.n,
            row.first_frame_ms,
            row.delivered_percent,
            row.sender_dropped,
            row.lost,
            row.skipped,
            row.decoder_dropped,
            row.encode_ms,
            row.server.cpu_percent,
            row.server.peak_rss_mib,
            row.client.cpu_percent,
            row.client.peak_rss_mib
        );
    }
}
