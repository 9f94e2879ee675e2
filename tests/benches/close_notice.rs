//! Close-notice benchmark: how long the other side takes to learn that a peer closed, for
//! Confab → Chromium, Chromium → Confab, and Chromium → Chromium (the reference), in one run
//! against the same Debian Chromium. Prints a markdown table for docs/benchmarks.md.
//!
//! `cargo bench -p confab-tests --bench close_notice` (scripts/bench.sh runs it too).

use confab_tests::chromium::Chromium;
use confab_tests::close_probe::{chromium_to_chromium, ChromiumCall, NOTICE_LIMIT};

const ROUNDS: usize = 7;

/// One row: a signal's notice times over the rounds (`None`: not noticed within the limit).
struct Row {
    direction: &'static str,
    signal: &'static str,
    times: Vec<Option<f64>>,
}

impl Row {
    fn print(&self) {
        let mut seen: Vec<f64> = self.times.iter().flatten().copied().collect();
        seen.sort_by(f64::total_cmp);
        let stat = |v: Option<&f64>| v.map_or("—".to_owned(), |ms| format!("{ms:.1}"));
        println!(
            "| {} | {} | {}/{} | {} | {} | {} |",
            self.direction,
            self.signal,
            seen.len(),
            self.times.len(),
            stat(seen.first()),
            stat(seen.get(seen.len() / 2)),
            stat(seen.last()),
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut chromium = Chromium::launch().await;
    let mut rows = [
        ("Confab → Chromium", "data channel `close`"),
        ("Confab → Chromium", "DTLS transport `closed`"),
        ("Confab → Chromium", "track `ended`"),
        ("Chromium → Confab", "`PeerEvent::RemoteClosed`"),
        ("Chromium → Confab", "remote track ended"),
        ("Chromium → Chromium", "data channel `close`"),
        ("Chromium → Chromium", "DTLS transport `closed`"),
        ("Chromium → Chromium", "track `ended`"),
    ]
    .map(|(direction, signal)| Row {
        direction,
        signal,
        times: Vec::new(),
    });
    for round in 0..ROUNDS {
        eprintln!("round {}/{ROUNDS}", round + 1);
        let (page, browser) = ChromiumCall::connect(chromium).await.confab_closes().await;
        rows[0].times.push(page.channel_close_ms);
        rows[1].times.push(page.dtls_closed_ms);
        rows[2].times.push(page.track_ended_ms);
        let (confab, browser) = ChromiumCall::connect(browser).await.chromium_closes().await;
        rows[3].times.push(confab.peer_closed_ms);
        rows[4].times.push(confab.track_ended_ms);
        chromium = browser;
        let reference = chromium_to_chromium(&mut chromium).await;
        rows[5].times.push(reference.channel_close_ms);
        rows[6].times.push(reference.dtls_closed_ms);
        rows[7].times.push(reference.track_ended_ms);
    }
    println!();
    println!(
        "Close notice, ms from the close call to the other side's signal ({ROUNDS} rounds; \
         \"—\": not within {} s)",
        NOTICE_LIMIT.as_secs()
    );
    println!();
    println!("| closing → noticing | signal | noticed | min | median | max |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in &rows {
        row.print();
    }
}
