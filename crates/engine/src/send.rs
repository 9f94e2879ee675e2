//! Sending local media: [`Outgoing`] (which media a call offers, their mute state, and the
//! encoders once started, shared by every kind of call) and [`LocalMedia`], whose
//! capture/encode threads feed a writer task per medium that writes to whichever tracks the
//! current media connections give it (one, or one per peer in a mesh). Capture and encoding
//! outlive a reconnect; only the target tracks change. A camera or microphone can be replaced,
//! closed, or given for the first time mid-call without touching tracks or peers.

use crate::api::{CallCommand, CallError, LocalSource};
use confab_core::{MediaKind, RoomError, TrackId, TrackInfo};
use confab_media::pipeline::{AudioSender, MediaError, VideoSender};
use confab_media::rate::RateSignal;
use confab_media::{AudioSource, EncodedAudio, EncodedVideo, VideoSource};
use confab_rtc::{LocalMediaTrack, SendFeedback};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

const QUEUE: usize = 8;

/// The track a writer task writes to; `None` while there is no media connection.
type Targets = Vec<Arc<LocalMediaTrack>>;

/// The id of our one track of `kind`.
pub(crate) fn track_id(kind: MediaKind) -> TrackId {
    let name = match kind {
        MediaKind::Video => "cam",
        MediaKind::Audio => "mic",
    };
    TrackId::new(name).unwrap_or_else(|_| unreachable!("a short ASCII word is a valid track id"))
}

/// Video and audio sources, either of which may be absent.
type Sources = (Option<Box<dyn VideoSource>>, Option<Box<dyn AudioSource>>);

/// Capturing or encoding one of our media failed.
#[derive(Debug)]
pub(crate) struct LocalProblem {
    pub kind: MediaKind,
    pub error: MediaError,
}

/// Our camera and microphone: which media we send, whether each is muted, and the encoders
/// once started. Sources start on the first media connection and outlive reconnects; mute is
/// kept across new connections.
pub(crate) struct Outgoing {
    /// Sources not started yet.
    sources: Option<Sources>,
    sends: Vec<MediaKind>,
    muted: HashSet<MediaKind>,
    media: Option<LocalMedia>,
    /// What the encoders had sent when they stopped.
    stopped_totals: SentTotals,
    problems: mpsc::UnboundedSender<LocalProblem>,
}

impl Outgoing {
    /// Sends each medium that has a source or starts `muted` (a muted medium with no source is
    /// still offered, so a device picked later goes out without renegotiating). Nothing starts
    /// until [`Self::start`]; problems go to `problems`.
    pub(crate) fn new(
        video: Option<Box<dyn VideoSource>>,
        audio: Option<Box<dyn AudioSource>>,
        muted: &[MediaKind],
        problems: mpsc::UnboundedSender<LocalProblem>,
    ) -> Self {
        let sends: Vec<MediaKind> = [
            (video.is_some() || muted.contains(&MediaKind::Video)).then_some(MediaKind::Video),
            (audio.is_some() || muted.contains(&MediaKind::Audio)).then_some(MediaKind::Audio),
        ]
        .into_iter()
        .flatten()
        .collect();
        Self {
            sources: Some((video, audio)),
            muted: muted
                .iter()
                .copied()
                .filter(|kind| sends.contains(kind))
                .collect(),
            sends,
            media: None,
            stopped_totals: SentTotals::default(),
            problems,
        }
    }

    /// The kinds we send, video first.
    pub(crate) fn kinds(&self) -> &[MediaKind] {
        &self.sends
    }

    /// Whether we send `kind`.
    pub(crate) fn sends(&self, kind: MediaKind) -> bool {
        self.sends.contains(&kind)
    }

    /// Our track of `kind` as others are told of it; `None` if we do not send it.
    pub(crate) fn track(&self, kind: MediaKind) -> Option<TrackInfo> {
        self.sends(kind).then(|| TrackInfo {
            id: track_id(kind),
            kind,
            muted: self.muted.contains(&kind),
        })
    }

    /// Our tracks as others are told of them.
    pub(crate) fn tracks(&self) -> Vec<TrackInfo> {
        self.sends.iter().filter_map(|&kind| self.track(kind)).collect()
    }

    /// The encoders, started (muted as the user left them) the first time; `None` once stopped.
    pub(crate) fn start(&mut self) -> Option<&LocalMedia> {
        if let Some(sources) = self.sources.take() {
            let media = LocalMedia::start(sources, &self.sends, self.problems.clone());
            self.muted.iter().for_each(|&kind| media.set_paused(kind, true));
            self.media = Some(media);
        }
        self.media.as_ref()
    }

    /// The encoders, if started.
    pub(crate) fn media(&self) -> Option<&LocalMedia> {
        self.media.as_ref()
    }

    /// Mutes or unmutes `kind` (a muted medium encodes and sends nothing).
    pub(crate) fn set_muted(&mut self, kind: MediaKind, muted: bool) -> Result<(), CallError> {
        if !self.sends(kind) {
            return Err(unknown_track(kind));
        }
        if muted {
            self.muted.insert(kind);
        } else {
            self.muted.remove(&kind);
        }
        if let Some(media) = &self.media {
            media.set_paused(kind, muted);
        }
        Ok(())
    }

    /// Carries out a command about our devices: [`CallCommand::ReplaceSource`] or
    /// [`CallCommand::CloseSource`] (any other command is not about devices and does nothing).
    pub(crate) fn device_command(&mut self, command: CallCommand) -> Result<(), CallError> {
        match command {
            CallCommand::ReplaceSource(source) => self.replace_source(source),
            CallCommand::CloseSource(kind) => self.close_source(kind),
            _ => Ok(()),
        }
    }

    /// Captures `source` instead of our current camera or microphone (or as the first one),
    /// whether capture has started or not. A medium the call does not send cannot be replaced.
    fn replace_source(&mut self, source: LocalSource) -> Result<(), CallError> {
        let kind = source.kind();
        if !self.sends(kind) {
            return Err(unknown_track(kind));
        }
        match (self.sources.as_mut(), &self.media, source) {
            (Some((video, _)), _, LocalSource::Video(new)) => *video = Some(new),
            (Some((_, audio)), _, LocalSource::Audio(new)) => *audio = Some(new),
            (None, Some(media), source) => media.replace_source(source),
            (None, None, _) => return Err(unknown_track(kind)), // stopped: the call is over
        }
        Ok(())
    }

    /// Lets our camera or microphone go; nothing of `kind` is captured until the next
    /// [`Self::replace_source`].
    fn close_source(&mut self, kind: MediaKind) -> Result<(), CallError> {
        if !self.sends(kind) {
            return Err(unknown_track(kind));
        }
        match (self.sources.as_mut(), &self.media, kind) {
            (Some((video, _)), _, MediaKind::Video) => *video = None,
            (Some((_, audio)), _, MediaKind::Audio) => *audio = None,
            (None, Some(media), kind) => media.close_source(kind),
            (None, None, _) => {}
        }
        Ok(())
    }

    /// What the encoders sent so far.
    pub(crate) fn totals(&self) -> SentTotals {
        self.media
            .as_ref()
            .map_or(self.stopped_totals, LocalMedia::totals)
    }

    /// Stops the encoders, keeping their totals.
    pub(crate) fn stop(&mut self) {
        self.stopped_totals = self.totals();
        self.media = None;
    }
}

fn unknown_track(kind: MediaKind) -> CallError {
    CallError::Room(RoomError::UnknownTrack(track_id(kind)))
}

/// What local media sent, for the snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SentTotals {
    pub frames_sent: u64,
    pub encode_ms_per_frame: f64,
    pub frames_dropped_before_send: u64,
    pub video_bitrate_bps: u32,
}

/// Running local media for one call. Dropping it stops capture and encoding.
pub(crate) struct LocalMedia {
    pub video: Option<VideoSender>,
    pub audio: Option<AudioSender>,
    video_target: watch::Sender<Targets>,
    audio_target: watch::Sender<Targets>,
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

    /// What was sent so far.
    pub(crate) fn totals(&self) -> SentTotals {
        SentTotals {
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            encode_ms_per_frame: self.video.as_ref().map_or(0.0, |v| v.stats().mean_ms()),
            frames_dropped_before_send: self.video_frames_dropped(),
            video_bitrate_bps: self.video.as_ref().map_or(0, VideoSender::target_bitrate),
        }
    }

    /// Starts capturing and encoding each medium in `sends`, from its source if it has one
    /// (otherwise from the first one [`Self::replace_source`] gives). Nothing is sent until
    /// [`LocalMedia::attach`]. Problems go to `problems`.
    fn start(
        (video, audio): Sources,
        sends: &[MediaKind],
        problems: mpsc::UnboundedSender<LocalProblem>,
    ) -> Self {
        let frames_sent = Arc::new(AtomicU64::new(0));
        let frames_dropped_before_write = Arc::new(AtomicU64::new(0));
        let (video_target, video_track) = watch::channel(Vec::new());
        let (audio_target, audio_track) = watch::channel(Vec::new());
        let report = |kind| {
            let problems = problems.clone();
            move |error| problems.send(LocalProblem { kind, error }).is_ok()
        };
        let video = sends.contains(&MediaKind::Video).then(|| {
            let (tx, rx) = mpsc::channel::<EncodedVideo>(QUEUE);
            tokio::spawn(write_video(rx, video_track, frames_sent.clone()));
            let to_report = report(MediaKind::Video);
            let dropped = frames_dropped_before_write.clone();
            VideoSender::start(video, move |result| match result {
                Ok(frame) => match tx.try_send(frame) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                },
                Err(e) => to_report(e),
            })
        });
        let audio = sends
            .contains(&MediaKind::Audio)
            .then(|| {
                let (tx, rx) = mpsc::channel::<EncodedAudio>(QUEUE);
                tokio::spawn(write_audio(rx, audio_track));
                let to_report = report(MediaKind::Audio);
                AudioSender::start(audio, move |result| match result {
                    Ok(packet) => !matches!(tx.try_send(packet), Err(mpsc::error::TrySendError::Closed(_))),
                    Err(e) => to_report(e),
                })
                .map_err(|e| report(MediaKind::Audio)(e.into()))
                .ok()
            })
            .flatten();
        Self {
            video,
            audio,
            video_target,
            audio_target,
            frames_sent,
            frames_dropped_before_write,
        }
    }

    /// Sends from now on to these tracks (`None`: to nowhere). A new video track starts with a
    /// keyframe, so its receivers can decode at once.
    pub(crate) fn attach(&self, video: Option<Arc<LocalMediaTrack>>, audio: Option<Arc<LocalMediaTrack>>) {
        self.attach_all(video.into_iter().collect(), audio.into_iter().collect());
    }

    /// Sends every frame to each of these tracks from now on (a mesh: one per peer).
    pub(crate) fn attach_all(&self, videos: Targets, audios: Targets) {
        let fresh_video = !videos.is_empty();
        self.video_target.send_replace(videos);
        self.audio_target.send_replace(audios);
        if fresh_video {
            self.request_keyframe();
        }
    }

    /// Has the video encoder (if any) make its next frame a keyframe.
    pub(crate) fn request_keyframe(&self) {
        self.video.iter().for_each(VideoSender::request_keyframe);
    }

    /// Lets what a receiver reported about our video move the rate it is encoded at.
    pub(crate) fn feedback(&self, feedback: SendFeedback) {
        let signal = match feedback {
            SendFeedback::Loss(fraction) => RateSignal::Loss(fraction),
            SendFeedback::BandwidthEstimate(bps) => RateSignal::Cap(bps),
            _ => return,
        };
        self.rate_signal(signal);
    }

    /// Moves the video send rate (a server reporting congestion, or a receiver's report).
    pub(crate) fn rate_signal(&self, signal: RateSignal) {
        self.video.iter().for_each(|v| v.rate_signal(signal));
    }

    /// Captures from `source` from now on (dropped if that medium's encoder is not running).
    fn replace_source(&self, source: LocalSource) {
        match source {
            LocalSource::Video(source) => {
                if let Some(video) = &self.video {
                    video.replace_source(source);
                }
            }
            LocalSource::Audio(source) => {
                if let Some(audio) = &self.audio {
                    audio.replace_source(source);
                }
            }
        }
    }

    /// Stops capturing `kind`, letting its device go.
    fn close_source(&self, kind: MediaKind) {
        match kind {
            MediaKind::Video => self.video.iter().for_each(VideoSender::close_source),
            MediaKind::Audio => self.audio.iter().for_each(AudioSender::close_source),
        }
    }

    /// Pauses or resumes sending `kind` (a paused medium encodes and sends nothing).
    pub(crate) fn set_paused(&self, kind: MediaKind, paused: bool) {
        match kind {
            MediaKind::Video => self.video.iter().for_each(|v| v.set_paused(paused)),
            MediaKind::Audio => self.audio.iter().for_each(|a| a.set_paused(paused)),
        }
    }
}

async fn write_video(
    mut frames: mpsc::Receiver<EncodedVideo>,
    targets: watch::Receiver<Targets>,
    sent: Arc<AtomicU64>,
) {
    while let Some(frame) = frames.recv().await {
        if write_to_all(&targets, frame.data, frame.duration).await {
            sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn write_audio(mut packets: mpsc::Receiver<EncodedAudio>, targets: watch::Receiver<Targets>) {
    while let Some(packet) = packets.recv().await {
        write_to_all(&targets, packet.data, packet.duration).await;
    }
}

/// Writes one frame to every target track; whether any took it.
async fn write_to_all(
    targets: &watch::Receiver<Targets>,
    data: Vec<u8>,
    duration: std::time::Duration,
) -> bool {
    let tracks = targets.borrow().clone();
    let mut taken = false;
    for track in tracks {
        taken |= track.write(data.clone(), duration).await.is_ok();
    }
    taken
}
