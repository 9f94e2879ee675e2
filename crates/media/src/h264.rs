//! H.264 encode and decode with OpenH264 (constrained baseline, Annex B byte stream).
//!
//! The `openh264` crate's defaults (120 kbit/s, frame skipping on) are wrong for calls, so every
//! setting that matters is explicit here: bitrate, frame rate, no skipping, baseline profile,
//! level 3.1 (matches the SDP `profile-level-id=42e01f`), a periodic IDR for late joiners. The
//! bitrate can change mid-stream ([`H264Encoder::set_bitrate`]) without a new IDR.

use crate::frame::{EncodedVideo, VideoFrame};
use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Level, Profile, RateControlMode,
    UsageType,
};
use openh264::formats::{YUVSlices, YUVSource};
use openh264::OpenH264API;
use openh264_sys2::{SBitrateInfo, ENCODER_OPTION_BITRATE, SPATIAL_LAYER_ALL};
use std::time::{Duration, Instant};

/// A codec could not be created or failed on a frame. Each variant says whether retrying helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The codec library refused to start. Retrying cannot help.
    #[error("could not start the {codec} codec: {reason}")]
    Init {
        /// Which codec.
        codec: &'static str,
        /// The library's message.
        reason: String,
    },
    /// One frame failed. The next frame (or keyframe) may succeed.
    #[error("{codec} could not process a frame: {reason}")]
    Frame {
        /// Which codec.
        codec: &'static str,
        /// The library's message.
        reason: String,
    },
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoEncoderConfig {
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Frames per second.
    pub fps: u32,
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
}

impl VideoEncoderConfig {
    /// Sensible call bitrate for the size: about 0.07 bits per pixel per frame, 300 kbit/s floor.
    pub fn for_size(width: usize, height: usize, fps: u32) -> Self {
        let bps = (width * height) as f64 * f64::from(fps) * 0.07;
        Self {
            width,
            height,
            fps,
            bitrate_bps: (bps as u32).max(300_000),
        }
    }
}

/// An H.264 encoder producing Annex B access units.
pub struct H264Encoder {
    encoder: Encoder,
    config: VideoEncoderConfig,
    /// The bitrate the encoder was created with: the openh264 crate initialises the encoder
    /// with it on the first frame, and again whenever the frame size changes.
    initial_bps: u32,
    /// The bitrate the encoder runs at; `None` until it is initialised for the current size.
    applied_bps: Option<u32>,
    size: (usize, usize),
}

impl H264Encoder {
    /// Starts an encoder.
    pub fn new(config: VideoEncoderConfig) -> Result<Self, CodecError> {
        let settings = EncoderConfig::new()
            .bitrate(BitRate::from_bps(config.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(config.fps as f32))
            .skip_frames(false)
            .rate_control_mode(RateControlMode::Bitrate)
            .usage_type(UsageType::CameraVideoRealTime)
            .profile(Profile::Baseline)
            .level(Level::Level_3_1)
            .intra_frame_period(IntraFramePeriod::from_num_frames(config.fps * 4))
            .num_threads(1);
        let encoder =
            Encoder::with_api_config(OpenH264API::from_source(), settings).map_err(|e| CodecError::Init {
                codec: "H.264",
                reason: e.to_string(),
            })?;
        Ok(Self {
            encoder,
            initial_bps: config.bitrate_bps,
            config,
            applied_bps: None,
            size: (0, 0),
        })
    }

    /// Asks for a new target bitrate; it applies from the next frame, with no new IDR.
    pub fn set_bitrate(&mut self, bps: u32) {
        self.config.bitrate_bps = bps.max(1);
    }

    /// The target bitrate in bits per second.
    pub fn bitrate(&self) -> u32 {
        self.config.bitrate_bps
    }

    /// Tells the running encoder about a changed target bitrate. If it refuses, the frame is
    /// still encoded (at the rate it had) and the refusal logged; it is not asked again until
    /// the target changes.
    #[allow(unsafe_code)]
    fn apply_bitrate(&mut self) {
        let wanted = self.config.bitrate_bps;
        if self.applied_bps.is_none_or(|applied| applied == wanted) {
            return;
        }
        let mut info = SBitrateInfo {
            iLayer: SPATIAL_LAYER_ALL,
            iBitrate: i32::try_from(wanted).unwrap_or(i32::MAX),
        };
        // SAFETY: the encoder is initialised (it has encoded a frame, `applied_bps` is set) and
        // lives as long as `self`; ENCODER_OPTION_BITRATE reads exactly one `SBitrateInfo` through
        // the pointer, which points at a live local for the duration of the call, and keeps no
        // reference to it. Only the target bitrate changes; nothing the crate relies on does.
        let status = unsafe {
            self.encoder
                .raw_api()
                .set_option(ENCODER_OPTION_BITRATE, std::ptr::from_mut(&mut info).cast())
        };
        if status != 0 {
            tracing::warn!(wanted, status, "the H.264 encoder refused a new bitrate");
        }
        self.applied_bps = Some(wanted);
    }

    /// Encodes one frame; `keyframe` forces an IDR (answering a PLI/FIR).
    pub fn encode(&mut self, frame: &VideoFrame, keyframe: bool) -> Result<EncodedVideo, CodecError> {
        let started = Instant::now();
        if self.size != (frame.width, frame.height) {
            self.size = (frame.width, frame.height);
            self.applied_bps = None; // the crate initialises the encoder afresh for the new size
        }
        self.apply_bitrate();
        if keyframe {
            self.encoder.force_intra_frame();
        }
        let source = YUVSlices::new(
            (frame.y(), frame.u(), frame.v()),
            (frame.width, frame.height),
            (frame.width, frame.width / 2, frame.width / 2),
        );
        let stream = self.encoder.encode(&source).map_err(|e| CodecError::Frame {
            codec: "H.264",
            reason: e.to_string(),
        })?;
        let encoded = EncodedVideo {
            keyframe: matches!(stream.frame_type(), FrameType::IDR),
            data: stream.to_vec(),
            duration: Duration::from_secs(1) / self.config.fps.max(1),
            encode_time: started.elapsed(),
        };
        self.applied_bps.get_or_insert(self.initial_bps);
        Ok(encoded)
    }
}

/// An H.264 decoder taking Annex B access units.
pub struct H264Decoder {
    decoder: Decoder,
}

impl H264Decoder {
    /// Starts a decoder.
    pub fn new() -> Result<Self, CodecError> {
        let decoder = Decoder::new().map_err(|e| CodecError::Init {
            codec: "H.264",
            reason: e.to_string(),
        })?;
        Ok(Self { decoder })
    }

    /// Decodes one access unit. `Ok(None)` when it produced no picture (e.g. parameter sets only).
    pub fn decode(&mut self, access_unit: &[u8]) -> Result<Option<VideoFrame>, CodecError> {
        let decoded = self.decoder.decode(access_unit).map_err(|e| CodecError::Frame {
            codec: "H.264",
            reason: e.to_string(),
        })?;
        Ok(decoded.map(|yuv| copy_planes(&yuv)))
    }
}

/// The decoder's picture as a tightly packed [`VideoFrame`]. An odd size (a browser adapting
/// its resolution sends 853x480) loses its last column or row, so the chroma planes are
/// exactly a quarter of the luma, as everything downstream expects.
fn copy_planes(yuv: &impl YUVSource) -> VideoFrame {
    let (width, height) = yuv.dimensions();
    let (width, height) = (width & !1, height & !1);
    let (sy, su, sv) = yuv.strides();
    let mut data = Vec::with_capacity(width * height * 3 / 2);
    for row in 0..height {
        data.extend_from_slice(&yuv.y()[row * sy..row * sy + width]);
    }
    for (plane, stride) in [(yuv.u(), su), (yuv.v(), sv)] {
        for row in 0..height / 2 {
            data.extend_from_slice(&plane[row * stride..row * stride + width / 2]);
        }
    }
    VideoFrame { width, height, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{add_grain, inspect, render, Stamp};

    #[test]
    fn pattern_survives_encode_and_decode() {
        let config = VideoEncoderConfig::for_size(640, 360, 30);
        let mut encoder = H264Encoder::new(config).unwrap();
        let mut decoder = H264Decoder::new().unwrap();
        let mut intact = 0;
        for n in 0..30u32 {
            let stamp = Stamp {
                frame_number: n,
                captured_at_us: 1_000_000 + u64::from(n),
            };
            let frame = render(640, 360, stamp).unwrap();
            let encoded = encoder.encode(&frame, n == 15).unwrap();
            if n == 0 || n == 15 {
                assert!(encoded.keyframe, "frame {n} should be an IDR");
            }
            if let Some(decoded) = decoder.decode(&encoded.data).unwrap() {
                assert_eq!(inspect(&decoded), Ok(stamp));
                intact += 1;
            }
        }
        assert_eq!(intact, 30);
    }

    /// Bytes the encoder makes for `frames` frames of the moving pattern with grain on it (so it
    /// takes every bit it is given) from frame `first` on, and how many were keyframes. Every
    /// frame is decoded and must come out intact.
    fn bytes_for(
        encoder: &mut H264Encoder,
        decoder: &mut H264Decoder,
        first: u32,
        frames: u32,
    ) -> (usize, usize) {
        let (mut bytes, mut keyframes) = (0, 0);
        for n in first..first + frames {
            let stamp = Stamp {
                frame_number: n,
                captured_at_us: u64::from(n) * 33_333,
            };
            let mut frame = render(640, 360, stamp).unwrap();
            add_grain(&mut frame, n);
            let encoded = encoder.encode(&frame, false).unwrap();
            bytes += encoded.data.len();
            keyframes += usize::from(encoded.keyframe);
            let decoded = decoder.decode(&encoded.data).unwrap().expect("a picture");
            assert_eq!(inspect(&decoded), Ok(stamp), "frame {n}");
        }
        (bytes, keyframes)
    }

    #[test]
    fn a_lower_bitrate_mid_stream_makes_fewer_bytes_with_no_keyframe_and_every_frame_intact() {
        let mut encoder = H264Encoder::new(VideoEncoderConfig {
            bitrate_bps: 1_200_000,
            ..VideoEncoderConfig::for_size(640, 360, 30)
        })
        .unwrap();
        let mut decoder = H264Decoder::new().unwrap();
        bytes_for(&mut encoder, &mut decoder, 0, 30);
        let (at_full, _) = bytes_for(&mut encoder, &mut decoder, 30, 30);
        encoder.set_bitrate(150_000);
        assert_eq!(encoder.bitrate(), 150_000);
        // Rate control settles; the periodic IDR is not due until frame 120.
        let (_, keyframes) = bytes_for(&mut encoder, &mut decoder, 60, 30);
        assert_eq!(keyframes, 0, "changing the rate forced a keyframe");
        let (at_low, _) = bytes_for(&mut encoder, &mut decoder, 90, 29);
        assert!(
            at_low * 3 < at_full,
            "1.2 Mbit/s made {at_full} bytes in a second, 150 kbit/s made {at_low}"
        );
    }

    #[test]
    fn garbage_is_an_error_or_no_picture_not_a_panic() {
        let mut decoder = H264Decoder::new().unwrap();
        for junk in [&[0u8, 0, 0, 1, 0x65, 1, 2, 3][..], &[0xff; 64][..], &[][..]] {
            let _ = decoder.decode(junk);
        }
    }
}
