//! Receiving one remote track: RTP → frame assembly → decoder thread → counters and the
//! [`MediaSink`] (tiles, speaker).
//!
//! Video frames are only fed to the decoder from a keyframe on, so a lost packet never turns
//! into a corrupt picture: after a loss the task asks for a keyframe and waits for it. A frame
//! the decoder refuses (say, a keyframe whose parameter sets never arrived) does the same:
//! without that, a sender that only sends keyframes when asked would stay frozen forever.

use crate::api::{CallEvent, RemoteSnapshot};
use crate::media_out::MediaSink;
use confab_core::{IdentityId, LeaveReason, MediaKind, ParticipantId};
use confab_media::pattern::inspect;
use confab_media::pipeline::{AudioReceiver, VideoReceiver};
use confab_media::tone::rms;
use confab_rtc::{Assembly, FrameAssembler, RemoteTrack};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

const NONE: u64 = u64::MAX;
const KEYFRAME_RETRY: Duration = Duration::from_millis(500);
/// RMS above which an audio frame counts as audible (the synthetic tone is ~0.18).
const AUDIBLE_RMS: f32 = 0.02;

/// Counters for one remote participant, shared between receive tasks and the call task.
#[derive(Debug)]
pub(crate) struct RemoteStats {
    pub first_frame_ms: AtomicU64,
    /// When the latest video frame was decoded (ms from the join call).
    last_frame_ms: AtomicU64,
    /// The longest wait between two decoded video frames, ms.
    pub longest_gap_ms: AtomicU64,
    pub frames_decoded: AtomicU64,
    pub frames_corrupt: AtomicU64,
    pub decode_errors: AtomicU64,
    pub frames_dropped_before_decode: AtomicU64,
    pub frames_lost: AtomicU64,
    pub frames_skipped_awaiting_keyframe: AtomicU64,
    pub audio_frames_decoded: AtomicU64,
    pub audio_frames_audible: AtomicU64,
    stamp_range: Mutex<Option<(u32, u32)>>,
}

impl Default for RemoteStats {
    fn default() -> Self {
        Self {
            first_frame_ms: AtomicU64::new(NONE),
            last_frame_ms: AtomicU64::new(NONE),
            longest_gap_ms: AtomicU64::new(0),
            frames_decoded: AtomicU64::new(0),
            frames_corrupt: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            frames_dropped_before_decode: AtomicU64::new(0),
            frames_lost: AtomicU64::new(0),
            frames_skipped_awaiting_keyframe: AtomicU64::new(0),
            audio_frames_decoded: AtomicU64::new(0),
            audio_frames_audible: AtomicU64::new(0),
            stamp_range: Mutex::new(None),
        }
    }
}

impl RemoteStats {
    /// The participant's snapshot: who they are (from the room) and these counts.
    pub(crate) fn snapshot(
        &self,
        id: ParticipantId,
        identity: IdentityId,
        name: String,
        left: Option<LeaveReason>,
        left_ms: Option<u64>,
    ) -> RemoteSnapshot {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RemoteSnapshot {
            id,
            identity,
            name,
            first_frame_ms: self.first_frame_ms(),
            frames_decoded: count(&self.frames_decoded),
            frames_corrupt: count(&self.frames_corrupt),
            frames_expected: self.frames_expected(),
            decode_errors: count(&self.decode_errors),
            frames_dropped_before_decode: count(&self.frames_dropped_before_decode),
            frames_lost: count(&self.frames_lost),
            longest_gap_ms: count(&self.longest_gap_ms),
            frames_skipped_awaiting_keyframe: count(&self.frames_skipped_awaiting_keyframe),
            audio_frames_decoded: count(&self.audio_frames_decoded),
            audio_frames_audible: count(&self.audio_frames_audible),
            left,
            left_ms,
        }
    }

    pub(crate) fn first_frame_ms(&self) -> Option<u64> {
        Some(self.first_frame_ms.load(Ordering::Relaxed)).filter(|&v| v != NONE)
    }

    /// Frames stamped from the first to the last one decoded.
    pub(crate) fn frames_expected(&self) -> u64 {
        self.stamp_range
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map_or(0, |(first, last)| u64::from(last.saturating_sub(first)) + 1)
    }

    fn saw_frame_at(&self, elapsed_ms: u64) {
        let previous = self.last_frame_ms.swap(elapsed_ms, Ordering::Relaxed);
        if previous != NONE {
            let gap = elapsed_ms.saturating_sub(previous);
            self.longest_gap_ms.fetch_max(gap, Ordering::Relaxed);
        }
    }

    fn saw_stamp(&self, number: u32) {
        let mut range = self.stamp_range.lock().unwrap_or_else(PoisonError::into_inner);
        *range = Some(match *range {
            None => (number, number),
            Some((first, last)) => (first.min(number), last.max(number)),
        });
    }
}

/// Reads `track` until it ends, decoding into `stats`.
pub(crate) async fn receive_track(
    track: RemoteTrack,
    participant: ParticipantId,
    stats: Arc<RemoteStats>,
    started: Instant,
    events: UnboundedSender<CallEvent>,
    media_out: Option<Arc<dyn MediaSink>>,
) {
    match track.kind() {
        MediaKind::Video => receive_video(track, participant, stats, started, events, media_out).await,
        MediaKind::Audio => receive_audio(track, participant, stats, media_out).await,
    }
}

async fn receive_video(
    track: RemoteTrack,
    participant: ParticipantId,
    stats: Arc<RemoteStats>,
    started: Instant,
    events: UnboundedSender<CallEvent>,
    media_out: Option<Arc<dyn MediaSink>>,
) {
    let sink_stats = stats.clone();
    let decoder = VideoReceiver::start(move |result| match result {
        Ok(frame) => {
            let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(NONE - 1);
            if sink_stats
                .first_frame_ms
                .compare_exchange(NONE, elapsed, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                let _ = events.send(CallEvent::FirstFrameDecoded(participant.clone()));
            }
            sink_stats.frames_decoded.fetch_add(1, Ordering::Relaxed);
            sink_stats.saw_frame_at(elapsed);
            match inspect(&frame) {
                Ok(stamp) => sink_stats.saw_stamp(stamp.frame_number),
                Err(_) => {
                    sink_stats.frames_corrupt.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Some(sink) = &media_out {
                sink.show(&participant, &frame);
            }
        }
        Err(_) => {
            sink_stats.decode_errors.fetch_add(1, Ordering::Relaxed);
        }
    });
    let decoder = match decoder {
        Ok(decoder) => decoder,
        Err(e) => {
            tracing::warn!(error = %e, "no video decoder; this participant's video will not show");
            return;
        }
    };
    let mut assembler = FrameAssembler::new(MediaKind::Video);
    let mut need_keyframe = true;
    let mut last_request: Option<Instant> = None;
    let mut errors_seen = 0;
    while let Some(packet) = track.next_packet().await {
        let errors = stats.decode_errors.load(Ordering::Relaxed);
        if errors > errors_seen {
            errors_seen = errors;
            need_keyframe = true;
        }
        match assembler.push(&packet) {
            Assembly::Pending => continue,
            Assembly::Lost => {
                stats.frames_lost.fetch_add(1, Ordering::Relaxed);
                need_keyframe = true;
            }
            Assembly::Frame(frame) => {
                if frame.keyframe {
                    need_keyframe = false;
                }
                if !need_keyframe {
                    decoder.push(frame.data);
                    stats
                        .frames_dropped_before_decode
                        .store(decoder.dropped(), Ordering::Relaxed);
                    continue;
                }
                stats
                    .frames_skipped_awaiting_keyframe
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        if last_request.is_none_or(|at| at.elapsed() >= KEYFRAME_RETRY) {
            last_request = Some(Instant::now());
            let _ = track.request_keyframe().await;
        }
    }
}

async fn receive_audio(
    track: RemoteTrack,
    participant: ParticipantId,
    stats: Arc<RemoteStats>,
    media_out: Option<Arc<dyn MediaSink>>,
) {
    let sink_stats = stats.clone();
    let decoder = AudioReceiver::start(move |result| {
        if let Ok(frame) = result {
            sink_stats.audio_frames_decoded.fetch_add(1, Ordering::Relaxed);
            if rms(&frame.samples) > AUDIBLE_RMS {
                sink_stats.audio_frames_audible.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(sink) = &media_out {
                sink.hear(&participant, &frame);
            }
        }
    });
    let decoder = match decoder {
        Ok(decoder) => decoder,
        Err(e) => {
            tracing::warn!(error = %e, "no audio decoder; this participant will not be heard");
            return;
        }
    };
    let mut assembler = FrameAssembler::new(MediaKind::Audio);
    while let Some(packet) = track.next_packet().await {
        if let Assembly::Frame(frame) = assembler.push(&packet) {
            decoder.push(frame.data);
        }
    }
}
