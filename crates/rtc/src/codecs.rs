//! Confab's codec set and interceptor chain for every PeerConnection.
//!
//! Video is H.264 constrained baseline level 3.1, packetization-mode 1 only (what every SFU and
//! browser accepts); audio is Opus. Registering nothing else keeps offers small and answers
//! predictable.

use crate::error::{setup, RtcError};
use crate::feedback::FeedbackTap;
use rtc::interceptor::Registry;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};

/// Payload type Confab offers for H.264.
pub(crate) const H264_PAYLOAD_TYPE: u8 = 102;
/// Payload type Confab offers for Opus.
pub(crate) const OPUS_PAYLOAD_TYPE: u8 = 111;

pub(crate) fn h264() -> RTCRtpCodec {
    let feedback = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned(),
        rtcp_feedback: vec![
            feedback("nack", ""),
            feedback("nack", "pli"),
            feedback("ccm", "fir"),
            feedback("goog-remb", ""),
        ],
    }
}

pub(crate) fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// A media engine and interceptor registry with Confab's codecs and keyframe-request tap.
pub(crate) fn media_setup() -> Result<(MediaEngine, Registry), RtcError> {
    let mut engine = MediaEngine::default();
    engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: h264(),
                payload_type: H264_PAYLOAD_TYPE,
            },
            RtpCodecKind::Video,
        )
        .map_err(setup)?;
    engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus(),
                payload_type: OPUS_PAYLOAD_TYPE,
            },
            RtpCodecKind::Audio,
        )
        .map_err(setup)?;
    let registry = register_default_interceptors(Registry::new(), &mut engine).map_err(setup)?;
    let registry = registry.with(FeedbackTap::SLOT.into(), FeedbackTap::default());
    Ok((engine, registry))
}
