//! Close-notice measurements against a real Chromium: a Confab [`PeerSession`] and a Chromium
//! page connect over loopback (H.264 video both ways and a data channel), then one side closes
//! and the other's notice is timed. Chromium closing towards Chromium, inside one page, is the
//! reference. Used by `tests/tests/chromium_close.rs` (asserts) and the `close_notice` bench.

use crate::chromium::Chromium;
use confab_core::{IceCandidate, MediaKind, SdpKind, SessionDescription, TrackId};
use confab_media::h264::{H264Encoder, VideoEncoderConfig};
use confab_media::pattern::{render, Stamp};
use confab_rtc::{LocalMediaTrack, PeerConfig, PeerEvent, PeerSession, RemoteTrack};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

const PAGE: &str = include_str!("close_page.js");
const CONNECT: Duration = Duration::from_secs(20);
/// How long a side may take to notice a close before the probe reports "never".
pub const NOTICE_LIMIT: Duration = Duration::from_secs(5);

/// What the page saw after the other side closed, in ms from the close.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageNotice {
    /// The data channel's `close` event.
    pub channel_close_ms: Option<f64>,
    /// The DTLS transport's state became `closed`.
    pub dtls_closed_ms: Option<f64>,
    /// The received track's `ended` event (Chromium may not fire it for a remote close).
    pub track_ended_ms: Option<f64>,
}

/// What Confab saw after Chromium closed, in ms from the close.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfabNotice {
    /// [`PeerEvent::RemoteClosed`].
    pub peer_closed_ms: Option<f64>,
    /// The received track ended (RTCP BYE or the connection's end).
    pub track_ended_ms: Option<f64>,
}

/// A connected Confab ↔ Chromium call.
pub struct ChromiumCall {
    chromium: Chromium,
    peer: Arc<PeerSession>,
    events: UnboundedReceiver<PeerEvent>,
    from_chromium: RemoteTrack,
    camera: tokio::task::JoinHandle<()>,
}

impl ChromiumCall {
    /// Connects a fresh Confab session to the page of `chromium` (which is reset first).
    pub async fn connect(mut chromium: Chromium) -> Self {
        chromium.eval(PAGE).await;
        let (peer, mut events) = PeerSession::new(&PeerConfig::default()).await.expect("session");
        let peer = Arc::new(peer);
        let camera = peer
            .add_media_track("confab", TrackId::new("cam").expect("id"), MediaKind::Video)
            .await
            .expect("video track");
        peer.add_receiver(MediaKind::Video).await.expect("receiver");
        peer.open_data_channel("confab").await.expect("data channel");
        let offer = peer.create_offer().await.expect("offer");
        let answer = chromium
            .eval(&format!("confab.answer({})", json!(offer.sdp)))
            .await;
        peer.apply_remote(SessionDescription {
            kind: SdpKind::Answer,
            sdp: answer["sdp"].as_str().expect("answer sdp").to_owned(),
        })
        .await
        .expect("chromium's answer applies");
        for candidate in answer["candidates"].as_array().expect("candidates") {
            peer.add_remote_candidate(IceCandidate {
                candidate: candidate.as_str().expect("candidate").to_owned(),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            })
            .await
            .expect("chromium's candidate");
        }
        let camera = tokio::spawn(send_test_pattern(camera));

        let deadline = Instant::now() + CONNECT;
        let mut from_chromium = None;
        loop {
            assert!(Instant::now() < deadline, "Confab and Chromium did not connect");
            while let Ok(event) = events.try_recv() {
                match event {
                    PeerEvent::LocalCandidate(c) => {
                        let mid = c.sdp_mid.unwrap_or_else(|| "0".into());
                        chromium
                            .eval(&format!(
                                "confab.addCandidate({}, {})",
                                json!(c.candidate),
                                json!(mid)
                            ))
                            .await;
                    }
                    PeerEvent::TrackReceived(track) => from_chromium = Some(track),
                    _ => {}
                }
            }
            let page = chromium.eval("confab.report()").await;
            let page_ready = page["channelOpen"].is_number()
                && page["trackArrived"].is_number()
                && page["connection"] == "connected";
            if page_ready && from_chromium.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let from_chromium = from_chromium.expect("track");
        // Media really flows from Chromium before anything is closed.
        tokio::time::timeout(CONNECT, from_chromium.next_packet())
            .await
            .expect("chromium's video arrives")
            .expect("chromium's track open");
        Self {
            chromium,
            peer,
            events,
            from_chromium,
            camera,
        }
    }

    /// Confab closes; returns what the page noticed, and the browser for another round.
    pub async fn confab_closes(mut self) -> (PageNotice, Chromium) {
        let closed_at = self.chromium.eval("confab.now()").await.as_f64().expect("now");
        self.peer.close().await;
        self.camera.abort();
        let notice = wait_for_page(&mut self.chromium, "confab.report()", closed_at).await;
        self.chromium.eval("confab.pc.close()").await;
        (notice, self.chromium)
    }

    /// Chromium closes; returns what Confab noticed, and the browser for another round.
    pub async fn chromium_closes(mut self) -> (ConfabNotice, Chromium) {
        let started = Instant::now();
        self.chromium.eval("confab.close()").await;
        // Milliseconds since the close, taken when a wait finishes in time.
        let since_close = |()| started.elapsed().as_secs_f64() * 1000.0;
        let events = &mut self.events;
        let peer_closed = async {
            loop {
                match events.recv().await {
                    Some(PeerEvent::RemoteClosed) => return,
                    Some(_) => {}
                    None => std::future::pending::<()>().await,
                }
            }
        };
        let track = &self.from_chromium;
        let track_ended = async { while track.next_packet().await.is_some() {} };
        let (peer_closed_ms, track_ended_ms) = tokio::join!(
            async {
                tokio::time::timeout(NOTICE_LIMIT, peer_closed)
                    .await
                    .ok()
                    .map(since_close)
            },
            async {
                tokio::time::timeout(NOTICE_LIMIT, track_ended)
                    .await
                    .ok()
                    .map(since_close)
            },
        );
        self.camera.abort();
        self.peer.close().await;
        (
            ConfabNotice {
                peer_closed_ms,
                track_ended_ms,
            },
            self.chromium,
        )
    }
}

/// The reference: inside one Chromium page, A closes and B's notice is timed.
pub async fn chromium_to_chromium(chromium: &mut Chromium) -> PageNotice {
    chromium.eval(PAGE).await;
    chromium.eval("confab.pair()").await;
    let closed_at = chromium.eval("confab.closeA()").await.as_f64().expect("now");
    let notice = wait_for_page(chromium, "confab.reportB()", closed_at).await;
    chromium.eval("confab.b.close()").await;
    notice
}

async fn wait_for_page(chromium: &mut Chromium, report: &str, closed_at: f64) -> PageNotice {
    let since = |page: &Value, key: &str| page[key].as_f64().map(|t| t - closed_at);
    let started = Instant::now();
    loop {
        let page = chromium.eval(report).await;
        let notice = PageNotice {
            channel_close_ms: since(&page, "channelClose"),
            dtls_closed_ms: since(&page, "dtlsClosed"),
            track_ended_ms: since(&page, "trackEnded"),
        };
        let all = notice.channel_close_ms.is_some()
            && notice.dtls_closed_ms.is_some()
            && notice.track_ended_ms.is_some();
        if all || started.elapsed() > NOTICE_LIMIT {
            return notice;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A 160x120 test pattern at 15 fps into `track`, until aborted.
async fn send_test_pattern(track: Arc<LocalMediaTrack>) {
    let mut encoder = H264Encoder::new(VideoEncoderConfig::for_size(160, 120, 15)).expect("encoder");
    for frame_number in 0.. {
        let stamp = Stamp {
            frame_number,
            captured_at_us: u64::from(frame_number),
        };
        let picture = render(160, 120, stamp).expect("pattern");
        if let Ok(encoded) = encoder.encode(&picture, frame_number % 30 == 0) {
            let _ = track.write(encoded.data, encoded.duration).await;
        }
        tokio::time::sleep(Duration::from_millis(66)).await;
    }
}
