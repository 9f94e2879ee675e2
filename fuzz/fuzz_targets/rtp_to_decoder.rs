//! What a client reads from the media path: RTP packets (2-byte big-endian length prefix each)
//! through frame assembly into the H.264 decoder, and into the Opus decoder.
#![no_main]

use confab_core::MediaKind;
use confab_media::h264::H264Decoder;
use confab_media::opus_codec::OpusDecoder;
use confab_rtc::{Assembly, FrameAssembler, RtpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut video = FrameAssembler::new(MediaKind::Video);
    let mut audio = FrameAssembler::new(MediaKind::Audio);
    let (Ok(mut h264), Ok(mut opus)) = (H264Decoder::new(), OpusDecoder::new()) else {
        return;
    };
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (packet, tail) = rest[2..].split_at(len);
        rest = tail;
        let Ok(packet) = RtpPacket::parse(packet) else {
            continue;
        };
        if let Assembly::Frame(frame) = video.push(&packet) {
            let _ = h264.decode(&frame.data);
        }
        if let Assembly::Frame(frame) = audio.push(&packet) {
            let _ = opus.decode(&frame.data);
        }
    }
});
