//! Sending local media: capture/encode threads feed a writer task per track.

use confab_media::pipeline::{AudioSender, MediaError, VideoSender};
use confab_media::{AudioSource, EncodedAudio, EncodedVideo, VideoSource};
use confab_rtc::LocalMediaTrack;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

const QUEUE: usize = 8;

/// Running local media for one call. Dropping it stops capture and encoding.
pub(crate) struct LocalMedia {
    pub video: Option<VideoSender>,
    pub audio: Option<AudioSender>,
    pub frames_sent: Arc<AtomicU64>,
    /// Encoded frames dropped because the network writer fell behind.
    pub frames_dropped_before_write: Arc<AtomicU64>,
}

impl LocalMedia {
    /// Captured video frames that never reached the network: dropped before encoding (encoder
    /// behind) or after it (writer behind).
    pub(crate) fn video_frames_dropped(&self) -> u64 {
        let before_encode = self.video.as_ref().map_or(0, VideoSender::frames_dropped);
        before_encode + self.frames_dropped_before_write.load(Ordering::Relaxed)
    }
}

impl LocalMedia {
    /// Starts the given sources, writing to the given tracks. Problems go to `problems`.
    pub(crate) fn start(
        video: Option<(Box<dyn VideoSource>, Arc<LocalMediaTrack>)>,
        audio: Option<(Box<dyn AudioSource>, Arc<LocalMediaTrack>)>,
        problems: mpsc::UnboundedSender<MediaError>,
    ) -> Self {
        let frames_sent = Arc::new(AtomicU64::new(0));
        let frames_dropped_before_write = Arc::new(AtomicU64::new(0));
        let video = video.and_then(|(source, track)| {
            let (tx, mut rx) = mpsc::channel::<EncodedVideo>(QUEUE);
            let sent = frames_sent.clone();
            tokio::spawn(async move {
                while let Some(frame) = rx.recv().await {
                    if track.write(frame.data, frame.duration).await.is_ok() {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            let to_report = problems.clone();
            let dropped = frames_dropped_before_write.clone();
            VideoSender::start(source, None, move |result| match result {
                Ok(frame) => match tx.try_send(frame) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                },
                Err(e) => to_report.send(e).is_ok(),
            })
            .map_err(|e| {
                let _ = problems.send(e.into());
            })
            .ok()
        });
        let audio = audio.and_then(|(source, track)| {
            let (tx, mut rx) = mpsc::channel::<EncodedAudio>(QUEUE);
            tokio::spawn(async move {
                while let Some(packet) = rx.recv().await {
                    let _ = track.write(packet.data, packet.duration).await;
                }
            });
            let to_report = problems.clone();
            AudioSender::start(source, move |result| match result {
                Ok(packet) => !matches!(tx.try_send(packet), Err(mpsc::error::TrySendError::Closed(_))),
                Err(e) => to_report.send(e).is_ok(),
            })
            .map_err(|e| {
                let _ = problems.send(e.into());
            })
            .ok()
        });
        Self {
            video,
            audio,
            frames_sent,
            frames_dropped_before_write,
        }
    }
}
