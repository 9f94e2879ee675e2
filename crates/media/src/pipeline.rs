//! Media threads: capture → encode on the sending side, decode on the receiving side.
//!
//! Every stage is one OS thread. Stages are joined by [`crate::queue`] (drop-oldest, counted).
//! Results leave through a sink closure the caller provides, so this crate needs no async
//! runtime; the engine's sink forwards into its own channels. Dropping a pipeline stops and
//! joins its threads.
//!
//! A sender's source can be replaced while it runs (another camera picked mid-call) or closed
//! (video stopped, the camera let go), and a sender can start with none (a camera switched on
//! later): the capture thread takes the new one between frames, and the video encoder starts
//! afresh for a source of another size or frame rate. A source that fails is reported once and
//! the capture thread waits for a replacement instead of ending, so the sender and the tracks it
//! feeds stay as they are.

use crate::frame::{AudioFrame, EncodedAudio, EncodedVideo, VideoFrame};
use crate::h264::{CodecError, H264Decoder, H264Encoder, VideoEncoderConfig};
use crate::opus_codec::{OpusDecoder, OpusEncoder};
use crate::queue::{drop_oldest, QueueReceiver, QueueSender};
use crate::rate::{RateController, RateSignal};
use crate::source::{AudioSource, SourceError, VideoSource};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);
const RAW_QUEUE: usize = 2;
const ENCODED_QUEUE: usize = 8;

/// A media stage failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The device or generator failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The codec failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Threads that stop together when dropped.
struct Threads {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

impl Threads {
    fn new() -> Self {
        Self {
            stop: Arc::new(AtomicBool::new(false)),
            handles: Vec::new(),
        }
    }

    fn spawn(&mut self, name: &str, body: impl FnOnce(Arc<AtomicBool>) + Send + 'static) {
        let stop = self.stop.clone();
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || body(stop));
        match handle {
            Ok(h) => self.handles.push(h),
            Err(e) => tracing::error!(thread = name, error = %e, "could not start media thread"),
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Replacement sources waiting for a capture thread; only the newest one counts.
const REPLACEMENTS: usize = 1;

/// What a capture thread is asked to read from next: a source, or nothing (its device closed).
type Replacement<S> = Option<Box<S>>;

/// Reads `source` (if any) into `queue` until stopped, switching to each source sent on
/// `replacements` (`None` closes the current one); `on_source` runs before each source's first
/// frame is read. A failure goes to `on_error` and the thread waits for the next source.
fn capture_loop<S: ?Sized, T>(
    stop: &AtomicBool,
    source: Option<Box<S>>,
    next: impl Fn(&mut S) -> Result<T, SourceError>,
    replacements: QueueReceiver<Replacement<S>>,
    queue: QueueSender<T>,
    mut on_error: impl FnMut(SourceError),
    mut on_source: impl FnMut(),
) {
    let mut current = None;
    let mut take = |replacement: Replacement<S>, current: &mut Option<Box<S>>| {
        if replacement.is_some() {
            on_source();
        }
        *current = replacement;
    };
    take(source, &mut current);
    while !stop.load(Ordering::Relaxed) {
        // Between frames, a waiting replacement wins; with no source, wait for one.
        let wait = if current.is_some() { Duration::ZERO } else { POLL };
        match replacements.recv_timeout(wait) {
            Ok(Some(replacement)) => take(replacement, &mut current),
            Ok(None) => {}
            Err(_) => return,
        }
        let Some(source) = current.as_deref_mut() else {
            continue;
        };
        match next(source) {
            Ok(item) => {
                if queue.push(item).is_err() {
                    return;
                }
            }
            Err(e) => {
                current = None;
                // The old device failing as another is picked (or as it is closed) is no loss.
                if let Ok(Some(replacement)) = replacements.recv_timeout(Duration::ZERO) {
                    take(replacement, &mut current);
                } else {
                    on_error(e);
                }
            }
        }
    }
}

fn consume_loop<T>(stop: &AtomicBool, queue: QueueReceiver<T>, mut each: impl FnMut(T) -> bool) {
    while !stop.load(Ordering::Relaxed) {
        match queue.recv_timeout(POLL) {
            Ok(Some(item)) => {
                if !each(item) {
                    return;
                }
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

/// Encoder timing, for benchmarks.
#[derive(Debug, Default)]
pub struct EncodeStats {
    frames: AtomicU64,
    micros: AtomicU64,
}

impl EncodeStats {
    /// Frames encoded so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Mean encode time per frame in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        let frames = self.frames();
        if frames == 0 {
            return 0.0;
        }
        self.micros.load(Ordering::Relaxed) as f64 / frames as f64 / 1000.0
    }
}

/// Camera (or pattern) thread → H.264 encoder thread → `sink`.
pub struct VideoSender {
    replacements: QueueSender<Replacement<dyn VideoSource>>,
    keyframe: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    /// The rate rules for the current source (started afresh for each source).
    rate: Arc<Mutex<RateController>>,
    /// The rate the encoder thread encodes at (it applies changes before the next frame).
    target_bps: Arc<AtomicU32>,
    stats: Arc<EncodeStats>,
    captured_dropped: Arc<dyn Fn() -> u64 + Send + Sync>,
    _threads: Threads,
}

impl VideoSender {
    /// Starts capturing from `source` (or, with none, waiting for one: see
    /// [`VideoSender::replace_source`]) and encoding. `sink` returns `false` to stop; it also gets
    /// a source's failure, and an encoder that would not start for a source.
    pub fn start(
        source: Option<Box<dyn VideoSource>>,
        mut sink: impl FnMut(Result<EncodedVideo, MediaError>) -> bool + Send + 'static,
    ) -> Self {
        // Each picture travels with the encoder settings its source asks for, so the encoder
        // starts afresh exactly at the first picture of a source that differs.
        let (raw_tx, raw_rx) = drop_oldest::<(VideoEncoderConfig, VideoFrame)>(RAW_QUEUE);
        let dropped_probe = raw_tx.clone();
        let keyframe = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(EncodeStats::default());
        let rate = Arc::new(Mutex::new(RateController::new(0)));
        let target_bps = Arc::new(AtomicU32::new(0));
        let (error_tx, error_rx) = drop_oldest::<SourceError>(1);
        let (replacements, replacement_rx) = drop_oldest::<Replacement<dyn VideoSource>>(REPLACEMENTS);
        let mut threads = Threads::new();
        let fresh_source_keyframe = keyframe.clone();
        threads.spawn("video-capture", move |stop| {
            capture_loop(
                &stop,
                source,
                |source| Ok((encoder_config(source), source.next_frame()?)),
                replacement_rx,
                raw_tx,
                |e| {
                    let _ = error_tx.push(e);
                },
                // Receivers decode the new source's pictures from a keyframe on.
                || fresh_source_keyframe.store(true, Ordering::Relaxed),
            );
        });
        let (kf, st, muted, target, rules) = (
            keyframe.clone(),
            stats.clone(),
            paused.clone(),
            target_bps.clone(),
            rate.clone(),
        );
        threads.spawn("video-encode", move |stop| {
            let mut encoder: Option<(VideoEncoderConfig, Option<H264Encoder>)> = None;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(Some(e)) = error_rx.recv_timeout(Duration::ZERO) {
                    if !sink(Err(e.into())) {
                        return;
                    }
                }
                let (config, frame) = match raw_rx.recv_timeout(POLL) {
                    Ok(Some(item)) => item,
                    Ok(None) => continue,
                    Err(_) => return,
                };
                // A source of another size or rate: a new encoder, and rate rules planned for it.
                if encoder.as_ref().is_none_or(|(current, _)| *current != config) {
                    {
                        let mut rules = rules.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        *rules = RateController::new(config.bitrate_bps);
                        target.store(config.bitrate_bps, Ordering::Relaxed);
                    }
                    let started = match H264Encoder::new(config) {
                        Ok(started) => Some(started),
                        Err(e) => {
                            if !sink(Err(e.into())) {
                                return;
                            }
                            None
                        }
                    };
                    encoder = Some((config, started));
                }
                let Some((_, Some(encoder))) = encoder.as_mut() else {
                    continue; // this source's encoder would not start (reported)
                };
                if muted.load(Ordering::Relaxed) {
                    continue;
                }
                encoder.set_bitrate(target.load(Ordering::Relaxed));
                let result = encoder.encode(&frame, kf.swap(false, Ordering::Relaxed));
                if let Ok(encoded) = &result {
                    st.frames.fetch_add(1, Ordering::Relaxed);
                    st.micros.fetch_add(
                        u64::try_from(encoded.encode_time.as_micros()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                }
                if !sink(result.map_err(MediaError::from)) {
                    return;
                }
            }
        });
        Self {
            replacements,
            keyframe,
            paused,
            rate,
            target_bps,
            stats,
            captured_dropped: Arc::new(move || dropped_probe.dropped()),
            _threads: threads,
        }
    }

    /// Captures from `source` instead from its next frame on, starting with a keyframe (and a
    /// new encoder if its size or frame rate differs). The old source is closed on the
    /// capture thread; a replacement overtaken by a newer one before the thread took it is
    /// closed here.
    pub fn replace_source(&self, source: Box<dyn VideoSource>) {
        let _ = self.replacements.push(Some(source));
    }

    /// Closes the source (the camera's light goes off) and sends nothing until
    /// [`VideoSender::replace_source`] gives another.
    pub fn close_source(&self) {
        let _ = self.replacements.push(None);
    }

    /// Makes the next encoded frame an IDR (answer to a PLI/FIR).
    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }

    /// Takes what a receiver reported about our video; the encoder follows the new target rate
    /// from its next frame.
    pub fn rate_signal(&self, signal: RateSignal) {
        let mut rate = self
            .rate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bps) = rate.on_signal(signal, Instant::now()) {
            tracing::debug!(bps, ?signal, "video send rate changed");
            self.target_bps.store(bps, Ordering::Relaxed);
        }
    }

    /// The bitrate the video is encoded at now, in bits per second.
    pub fn target_bitrate(&self) -> u32 {
        self.target_bps.load(Ordering::Relaxed)
    }

    /// Stops (or resumes) sending frames. Resuming starts with a keyframe, so receivers never
    /// decode against a reference they missed.
    pub fn set_paused(&self, paused: bool) {
        if !paused {
            self.keyframe.store(true, Ordering::Relaxed);
        }
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Encoder timing.
    pub fn stats(&self) -> &EncodeStats {
        &self.stats
    }

    /// Raw frames dropped because the encoder fell behind.
    pub fn frames_dropped(&self) -> u64 {
        (self.captured_dropped)()
    }
}

/// The encoder settings for pictures from `source`.
fn encoder_config(source: &dyn VideoSource) -> VideoEncoderConfig {
    let (width, height) = source.size();
    let fps = (1.0 / source.frame_interval().as_secs_f64())
        .round()
        .clamp(1.0, 240.0) as u32;
    VideoEncoderConfig::for_size(width, height, fps)
}

/// Microphone (or tone) thread → Opus encoder thread → `sink`.
pub struct AudioSender {
    replacements: QueueSender<Replacement<dyn AudioSource>>,
    paused: Arc<AtomicBool>,
    _threads: Threads,
}

impl AudioSender {
    /// Starts capturing from `source` (or, with none, waiting for one: see
    /// [`AudioSender::replace_source`]) and encoding. `sink` returns `false` to stop.
    pub fn start(
        source: Option<Box<dyn AudioSource>>,
        mut sink: impl FnMut(Result<EncodedAudio, MediaError>) -> bool + Send + 'static,
    ) -> Result<Self, CodecError> {
        let mut encoder = OpusEncoder::new()?;
        let (raw_tx, raw_rx) = drop_oldest::<Result<AudioFrame, SourceError>>(ENCODED_QUEUE);
        let mut threads = Threads::new();
        let error_tx = raw_tx.clone();
        let (replacements, replacement_rx) = drop_oldest::<Replacement<dyn AudioSource>>(REPLACEMENTS);
        threads.spawn("audio-capture", move |stop| {
            capture_loop(
                &stop,
                source,
                |source| source.next_frame().map(Ok),
                replacement_rx,
                raw_tx,
                |e| {
                    let _ = error_tx.push(Err(e));
                },
                || {},
            );
        });
        let paused = Arc::new(AtomicBool::new(false));
        let muted = paused.clone();
        threads.spawn("audio-encode", move |stop| {
            consume_loop(&stop, raw_rx, |frame| {
                if muted.load(Ordering::Relaxed) && frame.is_ok() {
                    return true;
                }
                let result = match frame {
                    Ok(frame) => encoder.encode(&frame).map_err(MediaError::from),
                    Err(e) => Err(MediaError::from(e)),
                };
                sink(result)
            });
        });
        Ok(Self {
            replacements,
            paused,
            _threads: threads,
        })
    }

    /// Captures from `source` instead from its next frame on.
    pub fn replace_source(&self, source: Box<dyn AudioSource>) {
        let _ = self.replacements.push(Some(source));
    }

    /// Closes the source and sends nothing until [`AudioSender::replace_source`] gives another.
    pub fn close_source(&self) {
        let _ = self.replacements.push(None);
    }

    /// Stops (or resumes) sending audio.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }
}

/// Encoded access units in → H.264 decoder thread → `sink`.
pub struct VideoReceiver {
    input: QueueSender<Vec<u8>>,
    _threads: Threads,
}

impl VideoReceiver {
    /// Starts a decoder thread. `sink` gets every picture or decode error.
    pub fn start(
        mut sink: impl FnMut(Result<VideoFrame, CodecError>) + Send + 'static,
    ) -> Result<Self, CodecError> {
        let mut decoder = H264Decoder::new()?;
        let (input, rx) = drop_oldest::<Vec<u8>>(ENCODED_QUEUE);
        let mut threads = Threads::new();
        threads.spawn("video-decode", move |stop| {
            consume_loop(&stop, rx, |unit| {
                match decoder.decode(&unit) {
                    Ok(Some(frame)) => sink(Ok(frame)),
                    Ok(None) => {}
                    Err(e) => sink(Err(e)),
                }
                true
            });
        });
        Ok(Self {
            input,
            _threads: threads,
        })
    }

    /// Queues one access unit (never blocks; drops the oldest if the decoder is behind).
    pub fn push(&self, access_unit: Vec<u8>) {
        let _ = self.input.push(access_unit);
    }

    /// Access units dropped because the decoder fell behind.
    pub fn dropped(&self) -> u64 {
        self.input.dropped()
    }
}

/// Opus packets in → decoder thread → `sink`.
pub struct AudioReceiver {
    input: QueueSender<Vec<u8>>,
    _threads: Threads,
}

impl AudioReceiver {
    /// Starts a decoder thread. `sink` gets every decoded frame or error.
    pub fn start(
        mut sink: impl FnMut(Result<AudioFrame, CodecError>) + Send + 'static,
    ) -> Result<Self, CodecError> {
        let mut decoder = OpusDecoder::new()?;
        let (input, rx) = drop_oldest::<Vec<u8>>(ENCODED_QUEUE * 2);
        let mut threads = Threads::new();
        threads.spawn("audio-decode", move |stop| {
            consume_loop(&stop, rx, |packet| {
                sink(decoder.decode(&packet));
                true
            });
        });
        Ok(Self {
            input,
            _threads: threads,
        })
    }

    /// Queues one packet.
    pub fn push(&self, packet: Vec<u8>) {
        let _ = self.input.push(packet);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{inspect, TestPattern};
    use std::sync::mpsc;

    #[test]
    fn pattern_flows_through_encoder_and_decoder_threads() {
        let (tx, rx) = mpsc::channel();
        let receiver = VideoReceiver::start(move |frame| {
            let _ = tx.send(frame.map(|f| inspect(&f)));
        })
        .unwrap();
        let (etx, erx) = mpsc::channel();
        let source = TestPattern::new(320, 240, 30).unwrap();
        let sender = VideoSender::start(Some(Box::new(source)), move |encoded| etx.send(encoded).is_ok());
        for _ in 0..10 {
            let unit = erx.recv_timeout(Duration::from_secs(2)).unwrap().unwrap();
            receiver.push(unit.data);
        }
        let stamps: Vec<_> = (0..10)
            .map(|_| rx.recv_timeout(Duration::from_secs(2)).unwrap().unwrap().unwrap())
            .collect();
        assert!(stamps
            .windows(2)
            .all(|w| w[1].frame_number == w[0].frame_number + 1));
        assert!(sender.stats().frames() >= 10);
        drop(sender);
    }

    /// A camera that gives `frames` pictures and is then unplugged.
    struct Unplugged {
        pattern: TestPattern,
        frames: usize,
    }

    impl VideoSource for Unplugged {
        fn frame_interval(&self) -> Duration {
            self.pattern.frame_interval()
        }
        fn size(&self) -> (usize, usize) {
            self.pattern.size()
        }
        fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
            if self.frames == 0 {
                return Err(SourceError::Stopped { kind: "camera" });
            }
            self.frames -= 1;
            self.pattern.next_frame()
        }
    }

    #[test]
    fn an_unplugged_camera_is_reported_once_and_another_one_takes_over() {
        let (tx, rx) = mpsc::channel();
        let receiver = VideoReceiver::start(move |frame| {
            let _ = tx.send(frame.map(|f| (f.width, f.height)));
        })
        .unwrap();
        let (etx, erx) = mpsc::channel();
        let first = Unplugged {
            pattern: TestPattern::new(320, 240, 30).unwrap(),
            frames: 3,
        };
        let sender = VideoSender::start(Some(Box::new(first)), move |out| etx.send(out).is_ok());
        let next = || erx.recv_timeout(Duration::from_secs(2)).unwrap();
        for _ in 0..3 {
            receiver.push(next().unwrap().data);
        }
        assert_eq!(
            next().unwrap_err(),
            MediaError::Source(SourceError::Stopped { kind: "camera" })
        );
        assert!(
            erx.recv_timeout(Duration::from_millis(300)).is_err(),
            "nothing more until another camera is picked"
        );
        sender.replace_source(Box::new(TestPattern::new(160, 120, 15).unwrap()));
        let resumed = next().unwrap();
        assert!(resumed.keyframe, "the new camera starts with a keyframe");
        assert_eq!(
            resumed.duration,
            Duration::from_secs(1) / 15,
            "encoded at the new camera's frame rate"
        );
        receiver.push(resumed.data);
        let sizes: Vec<_> = (0..4)
            .map(|_| rx.recv_timeout(Duration::from_secs(2)).unwrap().unwrap())
            .collect();
        assert_eq!(sizes, [(320, 240), (320, 240), (320, 240), (160, 120)]);
    }

    #[test]
    fn a_sender_started_without_a_camera_sends_once_one_is_picked() {
        let (tx, rx) = mpsc::channel();
        let sender = VideoSender::start(None, move |out| tx.send(out).is_ok());
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "nothing is sent with no camera"
        );
        assert_eq!(sender.target_bitrate(), 0);
        sender.replace_source(Box::new(TestPattern::new(640, 360, 30).unwrap()));
        let first = rx.recv_timeout(Duration::from_secs(2)).unwrap().unwrap();
        assert!(first.keyframe);
        assert_eq!(first.duration, Duration::from_secs(1) / 30);
        assert_eq!(
            sender.target_bitrate(),
            VideoEncoderConfig::for_size(640, 360, 30).bitrate_bps,
            "the send rate is planned for the camera picked"
        );
        let mut decoder = H264Decoder::new().unwrap();
        let picture = decoder.decode(&first.data).unwrap().unwrap();
        assert_eq!((picture.width, picture.height), (640, 360));
    }

    #[test]
    fn every_picture_is_encoded_with_its_own_sources_settings_across_a_switch() {
        let (tx, rx) = mpsc::channel();
        let first = TestPattern::new(320, 240, 30).unwrap();
        let sender = VideoSender::start(Some(Box::new(first)), move |out| tx.send(out).is_ok());
        let mut decoder = H264Decoder::new().unwrap();
        let mut seen = Vec::new();
        for i in 0..40 {
            if i == 10 {
                sender.replace_source(Box::new(TestPattern::new(160, 120, 15).unwrap()));
            }
            let unit = rx.recv_timeout(Duration::from_secs(2)).unwrap().unwrap();
            if let Some(picture) = decoder.decode(&unit.data).unwrap() {
                seen.push(((picture.width, picture.height), unit.duration));
            }
        }
        let switch = seen
            .iter()
            .position(|(size, _)| *size == (160, 120))
            .expect("the new camera's pictures");
        let (before, after) = seen.split_at(switch);
        let at = |size, fps| {
            move |&(s, d): &((usize, usize), Duration)| s == size && d == Duration::from_secs(1) / fps
        };
        assert!(before.iter().all(at((320, 240), 30)), "{before:?}");
        assert!(after.iter().all(at((160, 120), 15)), "{after:?}");
    }

    /// A camera that notes when it is let go.
    struct NotingClose {
        pattern: TestPattern,
        closed: Arc<AtomicBool>,
    }

    impl VideoSource for NotingClose {
        fn frame_interval(&self) -> Duration {
            self.pattern.frame_interval()
        }
        fn size(&self) -> (usize, usize) {
            self.pattern.size()
        }
        fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
            self.pattern.next_frame()
        }
    }

    impl Drop for NotingClose {
        fn drop(&mut self) {
            self.closed.store(true, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_closed_camera_is_let_go_and_nothing_is_sent_until_another_is_picked() {
        let (tx, rx) = mpsc::channel();
        let closed = Arc::new(AtomicBool::new(false));
        let camera = NotingClose {
            pattern: TestPattern::new(320, 240, 30).unwrap(),
            closed: closed.clone(),
        };
        let sender = VideoSender::start(Some(Box::new(camera)), move |out| tx.send(out).is_ok());
        assert!(rx.recv_timeout(Duration::from_secs(2)).unwrap().is_ok());
        sender.close_source();
        let deadline = Instant::now() + Duration::from_secs(2);
        while !closed.load(Ordering::Relaxed) {
            assert!(Instant::now() < deadline, "the camera was never let go");
            std::thread::sleep(Duration::from_millis(10));
        }
        while rx.recv_timeout(Duration::from_millis(300)).is_ok() {} // frames already on their way
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "nothing is sent with the camera closed, and closing it is no error"
        );
        sender.replace_source(Box::new(TestPattern::new(320, 240, 30).unwrap()));
        let reopened = rx.recv_timeout(Duration::from_secs(2)).unwrap().unwrap();
        assert!(reopened.keyframe, "a camera opened again starts with a keyframe");
    }

    /// A microphone that gives two frames and is then unplugged.
    struct UnpluggedMicrophone(usize);

    impl AudioSource for UnpluggedMicrophone {
        fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
            if self.0 == 0 {
                return Err(SourceError::Stopped { kind: "microphone" });
            }
            self.0 -= 1;
            Ok(AudioFrame {
                samples: vec![0; crate::AUDIO_FRAME_SAMPLES],
            })
        }
    }

    #[test]
    fn after_an_unplugged_microphone_the_encoder_waits_for_another() {
        use crate::tone::Tone;
        let (tx, rx) = mpsc::channel();
        let sender = AudioSender::start(Some(Box::new(UnpluggedMicrophone(2))), move |out| {
            tx.send(out).is_ok()
        })
        .unwrap();
        let next = || rx.recv_timeout(Duration::from_secs(2)).unwrap();
        assert!(next().is_ok() && next().is_ok());
        assert_eq!(
            next().unwrap_err(),
            MediaError::Source(SourceError::Stopped { kind: "microphone" })
        );
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        sender.replace_source(Box::new(Tone::new(440.0)));
        for _ in 0..5 {
            assert!(next().is_ok(), "the new microphone is encoded");
        }
    }
}
