//! Raw and encoded media frames passed between capture, codec and network stages.

use std::time::Duration;

/// One raw video frame in I420 (planar Y, then U and V at quarter size), tightly packed.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    /// Width in pixels (even).
    pub width: usize,
    /// Height in pixels (even).
    pub height: usize,
    /// Y plane (`width * height` bytes) followed by U and V (`width/2 * height/2` each).
    pub data: Vec<u8>,
}

impl VideoFrame {
    /// A black frame of the given size. Width and height must be even.
    pub fn black(width: usize, height: usize) -> Self {
        let luma = width * height;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Self { width, height, data }
    }

    /// The Y plane.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.width * self.height]
    }

    /// The U plane.
    pub fn u(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma..luma + luma / 4]
    }

    /// The V plane.
    pub fn v(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma + luma / 4..]
    }
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VideoFrame({}x{})", self.width, self.height)
    }
}

/// 20 ms of 48 kHz mono PCM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// [`crate::AUDIO_FRAME_SAMPLES`] signed 16-bit samples.
    pub samples: Vec<i16>,
}

/// One encoded H.264 access unit in Annex B form.
#[derive(Debug, Clone)]
pub struct EncodedVideo {
    /// NAL units with start codes.
    pub data: Vec<u8>,
    /// Whether it is an IDR frame.
    pub keyframe: bool,
    /// Frame duration (1 / fps).
    pub duration: Duration,
    /// Time the encoder spent on it.
    pub encode_time: Duration,
}

/// One encoded Opus packet (20 ms).
#[derive(Debug, Clone)]
pub struct EncodedAudio {
    /// The Opus packet.
    pub data: Vec<u8>,
    /// Packet duration.
    pub duration: Duration,
}
