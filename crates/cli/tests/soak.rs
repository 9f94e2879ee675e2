//! Soak: one client joins and leaves a running room 200 times — each time with video, until it
//! has decoded a frame from the resident participant. Afterwards the server's resident memory,
//! the client's heap and both processes' open file descriptors are back within 10% of their
//! baseline (taken after a warm-up, so lazily built caches are not counted as leaks).
//!
//! The client is this test process. Its heap is counted by the allocator itself: bytes
//! allocated and not freed, which is what a leak grows. Its resident memory is printed but not
//! judged. glibc keeps per-thread arenas that grow over a varying number of calls. Two CI runs
//! failed on client RSS: one starting at 32.9 MB and climbing to 36.5 MB, one from 32.6 to
//! 39.0 MB. A 450-cycle probe that started warm stayed flat at 53.5 MB, so the RSS was warming
//! up towards that level, not leaking.

mod common;

use common::{Serve, BIN};
use confab_core::JoinLink;
use confab_engine::{Call, CallConfig, CallEvent};
use confab_media::pattern::TestPattern;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::process::{Command, Stdio};
use std::time::Duration;

#[global_allocator]
static HEAP: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CYCLES: usize = 200;
/// Cycles before the baseline, so caches built on first use are in it; a leak of even 40 KB a
/// visit still shows over the 100 after.
const WARM_UP: usize = 100;
const TOLERANCE: f64 = 0.10;

/// Resident memory (KiB) and open file descriptors of a process.
#[derive(Debug, Clone, Copy)]
struct Usage {
    rss_kib: u64,
    fds: u64,
}

/// KiB this process has allocated and not freed (Rust's allocations; the codecs' C code
/// allocates beside it).
fn live_heap_kib() -> u64 {
    let stats = HEAP.stats();
    // A reallocation's growth or shrinking is counted in these two as well.
    stats.bytes_allocated.saturating_sub(stats.bytes_deallocated) as u64 / 1024
}

fn usage(pid: &str) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("proc fd")
        .count() as u64;
    Usage { rss_kib, fds }
}

fn within(baseline: u64, now: u64) -> bool {
    (now as f64) <= (baseline as f64) * (1.0 + TOLERANCE)
}

async fn one_visit(link: &JoinLink) {
    let (call, mut events) = Call::start(CallConfig {
        link: link.clone(),
        name: "Visitor".into(),
        video: Some(Box::new(TestPattern::new(160, 120, 15).expect("pattern"))),
        audio: None,
        muted: Vec::new(),
        peer: None,
        identity: None,
        media_out: None,
    });
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.recv().await {
            match event {
                CallEvent::FirstFrameDecoded(_) => return true,
                CallEvent::Ended { .. } => return false,
                _ => {}
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "the visitor saw the resident's video");
    let report = call.leave().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// Lets closes finish before measuring.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_join_leave_cycles_leak_neither_memory_nor_descriptors() {
    let serve = Serve::start(&["soak"]);
    let server_pid = serve.child.id().to_string();
    let link = JoinLink::parse(&serve.links[0]).expect("link");
    let mut resident = Command::new(BIN)
        .args([
            "join",
            &serve.links[0],
            "--name",
            "Resident",
            "--size",
            "160x120",
            "--fps",
            "15",
        ])
        .args(["--audio", "none"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the resident participant");

    for _ in 0..WARM_UP {
        one_visit(&link).await;
    }
    settle().await;
    let (server_before, client_before, heap_before) = (usage(&server_pid), usage("self"), live_heap_kib());
    for _ in WARM_UP..CYCLES {
        one_visit(&link).await;
    }
    settle().await;
    let (server_after, client_after, heap_after) = (usage(&server_pid), usage("self"), live_heap_kib());
    let _ = resident.kill();
    let _ = resident.wait();

    eprintln!("| after {CYCLES} cycles | baseline → now |");
    eprintln!("| --- | --- |");
    eprintln!(
        "| server RSS KiB | {} → {} |",
        server_before.rss_kib, server_after.rss_kib
    );
    eprintln!(
        "| server open fds | {} → {} |",
        server_before.fds, server_after.fds
    );
    eprintln!("| client heap KiB | {heap_before} → {heap_after} |");
    eprintln!(
        "| client RSS KiB (not judged) | {} → {} |",
        client_before.rss_kib, client_after.rss_kib
    );
    eprintln!(
        "| client open fds | {} → {} |",
        client_before.fds, client_after.fds
    );
    assert!(
        within(server_before.rss_kib, server_after.rss_kib),
        "server memory grew: {server_before:?} → {server_after:?}"
    );
    assert!(
        within(heap_before, heap_after),
        "client heap grew: {heap_before} KiB → {heap_after} KiB"
    );
    for (who, before, after) in [
        ("server", server_before, server_after),
        ("client", client_before, client_after),
    ] {
        assert!(
            within(before.fds, after.fds),
            "{who} descriptors grew: {before:?} → {after:?}"
        );
    }
}
