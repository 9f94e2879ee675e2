//! Closing towards a real Chromium (TESTBED.md), both ways. Confab's close must reach the page
//! as a data channel `close` and a DTLS transport `closed` at once (not after an ICE timeout);
//! Chromium's close must reach Confab as `PeerEvent::RemoteClosed` and end Chromium's track.
//! Times are printed; `cargo bench -p confab-tests --bench close_notice` compares them with
//! Chromium closing towards Chromium.

use confab_tests::chromium::Chromium;
use confab_tests::close_probe::ChromiumCall;

/// Far above what is measured (tens of ms) and far below the ~5 s of an ICE consent timeout,
/// which is what a peer that ignores the close would take.
const PROMPTLY_MS: f64 = 1000.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_notices_confab_closing_at_once() {
    let call = ChromiumCall::connect(Chromium::launch().await).await;
    let (notice, _chromium) = call.confab_closes().await;
    eprintln!("Confab closed; Chromium noticed: {notice:?}");
    let channel = notice
        .channel_close_ms
        .expect("the page's data channel fired `close`");
    let dtls = notice
        .dtls_closed_ms
        .expect("the page's DTLS transport reached `closed`");
    assert!(channel < PROMPTLY_MS, "data channel close after {channel} ms");
    assert!(dtls < PROMPTLY_MS, "DTLS closed after {dtls} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confab_notices_chromium_closing_at_once() {
    let call = ChromiumCall::connect(Chromium::launch().await).await;
    let (notice, _chromium) = call.chromium_closes().await;
    eprintln!("Chromium closed; Confab noticed: {notice:?}");
    let closed = notice.peer_closed_ms.expect("Confab reported the peer closed");
    let ended = notice.track_ended_ms.expect("Chromium's track ended at Confab");
    assert!(closed < PROMPTLY_MS, "peer closed reported after {closed} ms");
    assert!(ended < PROMPTLY_MS, "track ended after {ended} ms");
}
