//! Two real PeerSessions on loopback: encoded test-pattern video goes through, decodes intact,
//! keyframe requests reach the sender, data channel messages arrive, a close is noticed at once
//! by the other side, and an SFU's forwarding slots are reused as tracks come and go.

use confab_core::{MediaKind, SdpKind, TrackId};
use confab_media::h264::{H264Decoder, H264Encoder, VideoEncoderConfig};
use confab_media::pattern::{inspect, render, Stamp};
use confab_rtc::{
    Assembly, ForwardTrack, FrameAssembler, PeerConfig, PeerEvent, PeerSession, PeerState, RemoteTrack,
    RtpPacket,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// Relays candidates from `from_events` into `to`, and returns other events through a channel.
fn relay(
    mut from_events: UnboundedReceiver<PeerEvent>,
    to: Arc<PeerSession>,
) -> UnboundedReceiver<PeerEvent> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = from_events.recv().await {
            match event {
                PeerEvent::LocalCandidate(c) => {
                    let _ = to.add_remote_candidate(c).await;
                }
                other => {
                    if tx.send(other).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Waits for the first event among `events` that `pick` takes; `what` names it for failures.
async fn next_event<T>(
    events: &mut UnboundedReceiver<PeerEvent>,
    what: &str,
    mut pick: impl FnMut(PeerEvent) -> Option<T>,
) -> T {
    loop {
        match timeout(WAIT, events.recv()).await {
            Ok(Some(event)) => {
                if let Some(picked) = pick(event) {
                    return picked;
                }
            }
            Ok(None) => panic!("session ended before {what}"),
            Err(_) => panic!("waited {WAIT:?} for {what}"),
        }
    }
}

async fn next_track(events: &mut UnboundedReceiver<PeerEvent>) -> RemoteTrack {
    next_event(events, "a remote track", |event| match event {
        PeerEvent::TrackReceived(track) => Some(track),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_keyframe_requests_and_data_flow_between_two_sessions() {
    let (a, a_events) = PeerSession::new(&PeerConfig::default()).await.unwrap();
    let (b, b_events) = PeerSession::new(&PeerConfig::default()).await.unwrap();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut a_events = relay(a_events, b.clone());
    let mut b_events = relay(b_events, a.clone());

    let video = a
        .add_media_track("alice", TrackId::new("cam").unwrap(), MediaKind::Video)
        .await
        .unwrap();
    a.open_data_channel("confab").await.unwrap();

    let offer = a.create_offer().await.unwrap();
    assert!(offer.sdp.contains("packetization-mode=1"));
    assert!(offer.sdp.contains("profile-level-id=42e01f"));
    let answer = b.apply_remote(offer).await.unwrap().expect("an answer");
    assert_eq!(answer.kind, SdpKind::Answer);
    assert_eq!(a.apply_remote(answer).await.unwrap(), None);

    // Send frames until the receiver has decoded 30 of them.
    let sender = tokio::spawn(async move {
        let mut encoder = H264Encoder::new(VideoEncoderConfig::for_size(320, 240, 30)).unwrap();
        for n in 0..300u32 {
            let frame = render(
                320,
                240,
                Stamp {
                    frame_number: n,
                    captured_at_us: u64::from(n),
                },
            )
            .unwrap();
            let encoded = encoder.encode(&frame, false).unwrap();
            let _ = video.write(encoded.data, encoded.duration).await;
            tokio::time::sleep(Duration::from_millis(33)).await;
        }
    });

    let track = next_track(&mut b_events).await;
    assert_eq!(track.kind(), MediaKind::Video);
    assert_eq!(track.stream_id(), "alice");
    assert_eq!(track.track_id(), "cam");

    let mut assembler = FrameAssembler::new(MediaKind::Video);
    let mut decoder = H264Decoder::new().unwrap();
    let mut decoded = Vec::new();
    let mut seen_keyframe = false;
    while decoded.len() < 30 {
        let packet = timeout(WAIT, track.next_packet())
            .await
            .expect("rtp")
            .expect("track open");
        if let Assembly::Frame(frame) = assembler.push(&packet) {
            seen_keyframe |= frame.keyframe;
            if !seen_keyframe {
                continue;
            }
            if let Some(picture) = decoder.decode(&frame.data).unwrap() {
                decoded.push(inspect(&picture).expect("intact test pattern"));
            }
        }
    }
    assert!(decoded.windows(2).all(|w| w[1].frame_number > w[0].frame_number));

    // A PLI from the receiver reaches the sender as a keyframe request for that track.
    track.request_keyframe().await.unwrap();
    let requested = timeout(WAIT, async {
        loop {
            if let Some(PeerEvent::KeyframeRequested(id)) = a_events.recv().await {
                return id;
            }
        }
    })
    .await
    .expect("keyframe request reaches the sender");
    assert_eq!(requested.as_str(), "cam");

    // The data channel opened by A reaches B.
    timeout(WAIT, async {
        loop {
            if a.send_data("confab", b"hello").await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("data channel opens");
    let message = timeout(WAIT, async {
        loop {
            if let Some(PeerEvent::DataMessage { label, data }) = b_events.recv().await {
                return (label, data);
            }
        }
    })
    .await
    .expect("data message arrives");
    assert_eq!(message, ("confab".to_owned(), b"hello".to_vec()));

    // Byte counters cover the media that flowed: 30+ decoded frames are well over 20 kB.
    let (sent, received) = (a.stats().await, b.stats().await);
    assert!(sent.bytes_sent > 20_000, "{sent:?}");
    assert!(received.bytes_received > 20_000, "{received:?}");

    // Closing A says goodbye (RTCP BYE) while media is still flowing: B's track ends at once,
    // not after an ICE or DTLS timeout.
    let closed_at = std::time::Instant::now();
    a.close().await;
    let ended = timeout(Duration::from_secs(2), async {
        while track.next_packet().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "B's track did not end within 2 s of A closing");
    eprintln!(
        "B saw A's track end {} ms after A closed",
        closed_at.elapsed().as_millis()
    );
    // ... and B learns that A closed the whole connection (its SCTP abort / DTLS close_notify).
    timeout(Duration::from_secs(1), async {
        loop {
            match b_events.recv().await {
                Some(PeerEvent::RemoteClosed) => return,
                Some(_) => {}
                None => panic!("B's events ended without RemoteClosed"),
            }
        }
    })
    .await
    .expect("B reports A closed within 1 s");
    eprintln!(
        "B reported A closed {} ms after A closed",
        closed_at.elapsed().as_millis()
    );
    sender.abort();
    b.close().await;
}

/// One offer/answer round from `offerer` to `answerer`.
async fn negotiate(offerer: &PeerSession, answerer: &PeerSession) {
    let offer = offerer.create_offer().await.expect("offer");
    let answer = answerer
        .apply_remote(offer)
        .await
        .expect("offer applies")
        .expect("an answer");
    offerer.apply_remote(answer).await.expect("answer applies");
}

/// A bare RTP packet with sequence number `n`.
fn rtp(n: u16) -> RtpPacket {
    let mut bytes = vec![0x80, 96];
    bytes.extend_from_slice(&n.to_be_bytes());
    bytes.extend_from_slice(&(u32::from(n) * 3000).to_be_bytes());
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&[0x65, n as u8, 0xaa, 0xbb]);
    RtpPacket::parse(&bytes).expect("a valid RTP packet")
}

/// Writes packets numbered from `first` on `forward` until the other side reports the track.
async fn forward_until_received(
    forward: &ForwardTrack,
    first: u16,
    events: &mut UnboundedReceiver<PeerEvent>,
) -> RemoteTrack {
    let writer = async {
        for n in first.. {
            let _ = forward.write(&rtp(n)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        track = next_track(events) => track,
        () = writer => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarding_slot_left_by_one_track_carries_the_next() {
    let (sfu, sfu_events) = PeerSession::new(&PeerConfig::default()).await.unwrap();
    let (viewer, viewer_events) = PeerSession::new(&PeerConfig::default()).await.unwrap();
    let (sfu, viewer) = (Arc::new(sfu), Arc::new(viewer));
    let _sfu_events = relay(sfu_events, viewer.clone());
    let mut viewer_events = relay(viewer_events, sfu.clone());

    let first = sfu
        .add_forward_track("bob", TrackId::new("bob-cam").unwrap(), MediaKind::Video)
        .await
        .unwrap();
    negotiate(&sfu, &viewer).await;
    let bobs = forward_until_received(&first, 40_000, &mut viewer_events).await;
    assert_eq!((bobs.stream_id(), bobs.track_id()), ("bob", "bob-cam"));

    // Bob leaves, then each newcomer takes the slot the one before left: the slot's track ends
    // at the viewer at once (BYE), the offer has no more m-lines than before, and the viewer
    // receives each newcomer's track under the newcomer's own ids — although each one numbers
    // its packets from lower than the one before (which SRTP would drop as replays unless the
    // slot renumbers them).
    let mut leaving = (first, bobs);
    for (name, numbered_from) in [("carol", 10_000), ("dave", 5_000), ("erin", 1_000)] {
        let (forward, received) = leaving;
        sfu.remove_forward_tracks(&[forward]).await.unwrap();
        let ended = timeout(Duration::from_secs(2), async {
            while received.next_packet().await.is_some() {}
        })
        .await;
        assert!(
            ended.is_ok(),
            "{}'s track did not end at the viewer",
            received.stream_id()
        );
        negotiate(&sfu, &viewer).await;
        let idle_offer = sfu.create_offer().await.unwrap();
        let m_lines = idle_offer.sdp.matches("m=video").count();
        let answer = viewer.apply_remote(idle_offer).await.unwrap().expect("an answer");
        sfu.apply_remote(answer).await.unwrap();

        let track_id = format!("{name}-cam");
        let next = sfu
            .add_forward_track(name, TrackId::new(&track_id).unwrap(), MediaKind::Video)
            .await
            .unwrap();
        // An SFU forwards from the moment it adds a track, before the other side has the offer.
        for n in numbered_from..numbered_from + 10 {
            let _ = next.write(&rtp(n)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let offer = sfu.create_offer().await.unwrap();
        assert_eq!(offer.sdp.matches("m=video").count(), m_lines, "{}", offer.sdp);
        assert!(offer.sdp.contains(&track_id), "{}", offer.sdp);
        let answer = viewer.apply_remote(offer).await.unwrap().expect("an answer");
        sfu.apply_remote(answer).await.unwrap();
        let arrived = forward_until_received(&next, numbered_from + 10, &mut viewer_events).await;
        assert_eq!(
            (arrived.stream_id(), arrived.track_id()),
            (name, track_id.as_str())
        );
        let packet = timeout(WAIT, arrived.next_packet())
            .await
            .expect("rtp")
            .expect("open");
        assert!(packet.payload_len() > 0);
        leaving = (next, arrived);
    }
    sfu.close().await;
    viewer.close().await;
}

/// The `a=ice-ufrag` values of a description.
fn ice_ufrags(sdp: &str) -> Vec<&str> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .collect()
}

/// Waits for the next `StateChanged(Connected)` among `events`.
async fn connected(events: &mut UnboundedReceiver<PeerEvent>) {
    next_event(events, "the connection", |event| {
        matches!(event, PeerEvent::StateChanged(PeerState::Connected)).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_keeps_the_tracks_flowing_under_new_credentials() {
    let (sfu, sfu_events) = PeerSession::new(&PeerConfig::default()).await.unwrap();
    let (viewer, viewer_events) = PeerSession::new(&PeerConfig::default()).await.unwrap();
    let (sfu, viewer) = (Arc::new(sfu), Arc::new(viewer));
    let mut sfu_events = relay(sfu_events, viewer.clone());
    let mut viewer_events = relay(viewer_events, sfu.clone());
    let forward = sfu
        .add_forward_track("bob", TrackId::new("bob-cam").unwrap(), MediaKind::Video)
        .await
        .unwrap();
    let first_offer = sfu.create_offer().await.unwrap();
    let answer = viewer
        .apply_remote(first_offer.clone())
        .await
        .unwrap()
        .expect("an answer");
    sfu.apply_remote(answer).await.unwrap();
    connected(&mut sfu_events).await;
    let received = forward_until_received(&forward, 100, &mut viewer_events).await;

    let restart = sfu.create_ice_restart_offer().await.unwrap();
    let (before, after) = (ice_ufrags(&first_offer.sdp), ice_ufrags(&restart.sdp));
    assert!(
        !after.is_empty() && after.iter().all(|u| !before.contains(u)),
        "{before:?} → {after:?}"
    );
    let answer = viewer.apply_remote(restart).await.unwrap().expect("an answer");
    sfu.apply_remote(answer).await.unwrap();
    assert_eq!((sfu.ice_restarts(), viewer.ice_restarts()), (1, 1));

    // Packets written after the restart reach the viewer on the track it already had.
    let writer = async {
        for n in 1000.. {
            let _ = forward.write(&rtp(n)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let after_restart = async {
        loop {
            let packet = received.next_packet().await.expect("the track carries on");
            if packet.sequence_number() >= 1000 {
                return;
            }
        }
    };
    tokio::select! {
        arrived = timeout(WAIT, after_restart) => arrived.expect("media after the ICE restart"),
        () = writer => unreachable!(),
    }
    let new_track = timeout(Duration::from_millis(200), next_track(&mut viewer_events)).await;
    assert!(new_track.is_err(), "the restart must not announce a new track");
    sfu.close().await;
    viewer.close().await;
}
