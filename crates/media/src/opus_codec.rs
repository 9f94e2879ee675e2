//! Opus encode and decode: 48 kHz mono, 20 ms frames, VoIP mode.

use crate::frame::{AudioFrame, EncodedAudio};
use crate::h264::CodecError;
use crate::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use opus::{Application, Bitrate, Channels};
use std::time::Duration;

fn init_error(e: opus::Error) -> CodecError {
    CodecError::Init {
        codec: "Opus",
        reason: e.to_string(),
    }
}

fn frame_error(e: opus::Error) -> CodecError {
    CodecError::Frame {
        codec: "Opus",
        reason: e.to_string(),
    }
}

/// An Opus encoder.
pub struct OpusEncoder {
    encoder: opus::Encoder,
}

impl OpusEncoder {
    /// Starts an encoder at 32 kbit/s.
    pub fn new() -> Result<Self, CodecError> {
        let mut encoder =
            opus::Encoder::new(AUDIO_SAMPLE_RATE, Channels::Mono, Application::Voip).map_err(init_error)?;
        encoder.set_bitrate(Bitrate::Bits(32_000)).map_err(init_error)?;
        Ok(Self { encoder })
    }

    /// Encodes one 20 ms frame.
    pub fn encode(&mut self, frame: &AudioFrame) -> Result<EncodedAudio, CodecError> {
        let data = self
            .encoder
            .encode_vec(&frame.samples, 1500)
            .map_err(frame_error)?;
        Ok(EncodedAudio {
            data,
            duration: Duration::from_millis(20),
        })
    }
}

/// An Opus decoder.
pub struct OpusDecoder {
    decoder: opus::Decoder,
}

impl OpusDecoder {
    /// Starts a decoder.
    pub fn new() -> Result<Self, CodecError> {
        let decoder = opus::Decoder::new(AUDIO_SAMPLE_RATE, Channels::Mono).map_err(init_error)?;
        Ok(Self { decoder })
    }

    /// Decodes one packet into PCM (up to 120 ms).
    pub fn decode(&mut self, packet: &[u8]) -> Result<AudioFrame, CodecError> {
        let mut samples = vec![0i16; AUDIO_FRAME_SAMPLES * 6];
        let n = self
            .decoder
            .decode(packet, &mut samples, false)
            .map_err(frame_error)?;
        samples.truncate(n);
        Ok(AudioFrame { samples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::AudioSource;
    use crate::tone::{rms, Tone};

    #[test]
    fn tone_survives_opus() {
        let mut tone = Tone::new(440.0);
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let mut last = AudioFrame { samples: vec![] };
        for _ in 0..10 {
            let packet = enc.encode(&tone.next_frame().unwrap()).unwrap();
            last = dec.decode(&packet.data).unwrap();
        }
        assert_eq!(last.samples.len(), AUDIO_FRAME_SAMPLES);
        assert!(rms(&last.samples) > 0.1);
    }

    #[test]
    fn garbage_packet_is_an_error() {
        let mut dec = OpusDecoder::new().unwrap();
        assert!(dec.decode(&[0xff, 0xff, 0xff]).is_err() || dec.decode(&[0xff]).is_err());
    }
}
