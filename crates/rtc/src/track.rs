//! Tracks: local ones fed with encoded frames or forwarded RTP, remote ones read as RTP, and the
//! assembler that turns remote RTP back into whole encoded frames.

use crate::codecs;
use crate::endings::EndWatch;
use crate::error::RtcError;
use crate::sequence::{Renumbering, SlotSequence};
use bytes::Bytes;
use confab_core::{MediaKind, TrackId};
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtcp::goodbye::Goodbye;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::rtp_transceiver::RtpSender;

/// One RTP packet, opaque above this crate except for what forwarding and stats need.
#[derive(Debug, Clone)]
pub struct RtpPacket(pub(crate) rtc::rtp::Packet);

impl RtpPacket {
    /// Parses one RTP packet from the wire (used by tests and fuzzing; live packets arrive
    /// already parsed from the PeerConnection).
    pub fn parse(bytes: &[u8]) -> Result<Self, RtcError> {
        use rtc::shared::marshal::Unmarshal;
        let mut buf = bytes;
        rtc::rtp::Packet::unmarshal(&mut buf)
            .map(RtpPacket)
            .map_err(|e| RtcError::BadPacket(e.to_string()))
    }

    /// RTP sequence number.
    pub fn sequence_number(&self) -> u16 {
        self.0.header.sequence_number
    }

    /// RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        self.0.header.timestamp
    }

    /// Payload size in bytes.
    pub fn payload_len(&self) -> usize {
        self.0.payload.len()
    }
}

pub(crate) fn to_rtc_kind(kind: MediaKind) -> RtpCodecKind {
    match kind {
        MediaKind::Audio => RtpCodecKind::Audio,
        MediaKind::Video => RtpCodecKind::Video,
    }
}

pub(crate) fn codec_for(kind: MediaKind) -> RTCRtpCodec {
    match kind {
        MediaKind::Audio => codecs::opus(),
        MediaKind::Video => codecs::h264(),
    }
}

pub(crate) fn stream_track(stream: &str, id: &TrackId, kind: MediaKind, ssrc: u32) -> MediaStreamTrack {
    MediaStreamTrack::new(
        stream.to_owned(),
        id.to_string(),
        format!("{stream}-{id}"),
        to_rtc_kind(kind),
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec_for(kind),
            ..Default::default()
        }],
    )
}

/// The negotiated payload type of a sender, looked up once negotiation has produced one.
struct NegotiatedPayloadType {
    sender: Arc<dyn RtpSender>,
    mime: String,
    cached: AtomicU16,
}

impl NegotiatedPayloadType {
    const UNKNOWN: u16 = u16::MAX;

    fn new(sender: Arc<dyn RtpSender>, kind: MediaKind) -> Self {
        Self {
            sender,
            mime: codec_for(kind).mime_type,
            cached: AtomicU16::new(Self::UNKNOWN),
        }
    }

    async fn get(&self) -> Result<u8, RtcError> {
        let cached = self.cached.load(Ordering::Relaxed);
        if cached != Self::UNKNOWN {
            return Ok(cached as u8);
        }
        let params = self
            .sender
            .get_parameters()
            .await
            .map_err(|_| RtcError::NotConnected)?;
        let pt = params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&self.mime))
            .map(|c| c.payload_type)
            .ok_or(RtcError::NotConnected)?;
        self.cached.store(u16::from(pt), Ordering::Relaxed);
        Ok(pt)
    }

    fn forget(&self) {
        self.cached.store(Self::UNKNOWN, Ordering::Relaxed);
    }
}

/// What every local track has: its id, kind, SSRC and negotiated payload type.
struct LocalTrackIdentity {
    id: TrackId,
    kind: MediaKind,
    ssrc: u32,
    payload_type: NegotiatedPayloadType,
}

impl LocalTrackIdentity {
    fn new(id: TrackId, kind: MediaKind, ssrc: u32, sender: Arc<dyn RtpSender>) -> Self {
        Self {
            id,
            kind,
            ssrc,
            payload_type: NegotiatedPayloadType::new(sender, kind),
        }
    }
}

/// A local track fed with encoded frames (H.264 access units or Opus packets).
pub struct LocalMediaTrack {
    identity: LocalTrackIdentity,
    track: Arc<TrackLocalStaticSample>,
}

/// A local track fed with RTP packets from another PeerConnection (SFU forwarding).
pub struct ForwardTrack {
    identity: LocalTrackIdentity,
    track: Arc<TrackLocalStaticRTP>,
    renumbering: Renumbering,
}

macro_rules! local_track_common {
    ($name:ident) => {
        impl $name {
            /// The track's id.
            pub fn id(&self) -> &TrackId {
                &self.identity.id
            }

            /// Audio or video.
            pub fn kind(&self) -> MediaKind {
                self.identity.kind
            }

            pub(crate) fn renegotiated(&self) {
                self.identity.payload_type.forget();
            }

            /// Tells the receiver this source is done (RTCP BYE), so it can end the track at
            /// once instead of waiting for a timeout.
            pub(crate) async fn say_goodbye(&self) {
                let bye = Goodbye {
                    sources: vec![self.identity.ssrc],
                    reason: Bytes::from_static(b"leaving"),
                };
                let _ = self.track.write_rtcp(vec![Box::new(bye)]).await;
            }
        }
    };
}

local_track_common!(LocalMediaTrack);
local_track_common!(ForwardTrack);

impl LocalMediaTrack {
    pub(crate) fn new(
        id: TrackId,
        kind: MediaKind,
        ssrc: u32,
        track: Arc<TrackLocalStaticSample>,
        sender: Arc<dyn RtpSender>,
    ) -> Self {
        Self {
            identity: LocalTrackIdentity::new(id, kind, ssrc, sender),
            track,
        }
    }

    /// Sends one encoded frame. Fails with [`RtcError::NotConnected`] until negotiation is done.
    pub async fn write(&self, data: Vec<u8>, duration: Duration) -> Result<(), RtcError> {
        let pt = self.identity.payload_type.get().await?;
        let sample = Sample {
            data: Bytes::from(data),
            duration,
            ..Sample::new(Instant::now())
        };
        self.track
            .write_sample(self.identity.ssrc, pt, &sample, &[])
            .await
            .map_err(|_| RtcError::NotConnected)
    }
}

impl ForwardTrack {
    /// A track in a forwarding slot: `ssrc`, `track` (the bound writer) and `sequence` belong
    /// to the slot and outlive this occupant.
    pub(crate) fn new(
        id: TrackId,
        kind: MediaKind,
        slot: (u32, Arc<TrackLocalStaticRTP>, Arc<SlotSequence>),
        sender: Arc<dyn RtpSender>,
    ) -> Self {
        let (ssrc, track, sequence) = slot;
        Self {
            identity: LocalTrackIdentity::new(id, kind, ssrc, sender),
            track,
            renumbering: Renumbering::new(sequence),
        }
    }

    /// The same slot for its next source, without renegotiating (a WHEP watcher's slot moving
    /// to the room's next featured publisher): same SSRC, id and payload type, with sequence
    /// numbers and timestamps continuing where this occupant stops.
    pub fn successor(&self) -> Arc<Self> {
        let identity = &self.identity;
        Arc::new(Self {
            identity: LocalTrackIdentity::new(
                identity.id.clone(),
                identity.kind,
                identity.ssrc,
                identity.payload_type.sender.clone(),
            ),
            track: self.track.clone(),
            renumbering: self.renumbering.successor(),
        })
    }

    /// Forwards one packet, rewritten to this track's SSRC, negotiated payload type and its
    /// slot's sequence numbering and timeline. Header extensions are dropped: their ids were
    /// negotiated on the publisher's connection and mean something else (or `mid`) on this one,
    /// where a browser would file the packet under the wrong media section and discard it.
    pub async fn write(&self, packet: &RtpPacket) -> Result<(), RtcError> {
        let pt = self.identity.payload_type.get().await?;
        let mut packet = packet.0.clone();
        packet.header.extension = false;
        packet.header.extensions.clear();
        packet.header.extensions_padding = 0;
        packet.header.ssrc = self.identity.ssrc;
        packet.header.payload_type = pt;
        packet.header.sequence_number = self.renumbering.map(packet.header.sequence_number);
        packet.header.timestamp = self
            .renumbering
            .map_timestamp(packet.header.timestamp, Instant::now());
        self.track
            .write_rtp(packet)
            .await
            .map_err(|_| RtcError::NotConnected)
    }
}

/// A track the remote side sends us.
pub struct RemoteTrack {
    pub(crate) track: Arc<dyn TrackRemote>,
    pub(crate) end: EndWatch,
    pub(crate) kind: MediaKind,
    pub(crate) stream_id: String,
    pub(crate) track_id: String,
    pub(crate) ssrc: u32,
}

impl std::fmt::Debug for RemoteTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RemoteTrack({:?} {}/{})",
            self.kind, self.stream_id, self.track_id
        )
    }
}

impl RemoteTrack {
    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// The sender's stream id (`msid` stream): the publisher's participant id on Confab servers.
    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// The sender's track id.
    pub fn track_id(&self) -> &str {
        &self.track_id
    }

    /// The next RTP packet; `None` once the track has ended: the connection closed (ours or
    /// theirs), or the sender said goodbye (RTCP BYE) for this track's source.
    pub async fn next_packet(&self) -> Option<RtpPacket> {
        tokio::select! {
            biased;
            packet = self.next_until_goodbye() => packet,
            () = self.end.ended(self.ssrc) => None,
        }
    }

    async fn next_until_goodbye(&self) -> Option<RtpPacket> {
        loop {
            match self.track.poll().await? {
                TrackRemoteEvent::OnRtpPacket(packet) => return Some(RtpPacket(packet)),
                TrackRemoteEvent::OnEnded => return None,
                TrackRemoteEvent::OnRtcpPacket(packets)
                    if packets.iter().any(|p| says_goodbye_to(p.as_ref(), self.ssrc)) =>
                {
                    return None;
                }
                _ => {}
            }
        }
    }

    /// Asks the sender for a keyframe (RTCP PLI).
    pub async fn request_keyframe(&self) -> Result<(), RtcError> {
        self.track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: self.ssrc,
            })])
            .await
            .map_err(|_| RtcError::NotConnected)
    }
}

/// Whether an RTCP packet is a BYE naming `ssrc`.
pub(crate) fn says_goodbye_to(packet: &dyn rtc::rtcp::Packet, ssrc: u32) -> bool {
    packet
        .as_any()
        .downcast_ref::<Goodbye>()
        .is_some_and(|bye| bye.sources.contains(&ssrc))
}

/// One whole encoded frame rebuilt from RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// H.264 Annex B access unit, or one Opus packet.
    pub data: Vec<u8>,
    /// Whether the frame can be decoded on its own (H.264 IDR with its SPS and PPS; always
    /// true for Opus).
    pub keyframe: bool,
}

/// What one packet did to the frame being assembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembly {
    /// The frame is not complete yet.
    Pending,
    /// A whole frame.
    Frame(AssembledFrame),
    /// Packets were lost; the frame in progress was dropped. Ask for a keyframe.
    Lost,
}

/// Rebuilds encoded frames from one track's RTP packets, in arrival order.
///
/// A sequence gap drops the frame in progress and reports [`Assembly::Lost`], so a decoder is
/// never fed a frame with holes in it.
pub struct FrameAssembler {
    kind: MediaKind,
    depacketizer: H264Packet,
    last_sequence: Option<u16>,
    timestamp: Option<u32>,
    buffer: Vec<u8>,
    damaged: bool,
}

impl FrameAssembler {
    /// An assembler for `kind`.
    pub fn new(kind: MediaKind) -> Self {
        Self {
            kind,
            depacketizer: H264Packet::default(),
            last_sequence: None,
            timestamp: None,
            buffer: Vec::new(),
            damaged: false,
        }
    }

    /// Feeds one packet.
    pub fn push(&mut self, packet: &RtpPacket) -> Assembly {
        let header = &packet.0.header;
        let gap = self
            .last_sequence
            .is_some_and(|last| header.sequence_number != last.wrapping_add(1));
        self.last_sequence = Some(header.sequence_number);
        if self.kind == MediaKind::Audio {
            if packet.0.payload.is_empty() {
                return Assembly::Pending;
            }
            return Assembly::Frame(AssembledFrame {
                data: packet.0.payload.to_vec(),
                keyframe: true,
            });
        }
        let mut lost = false;
        if gap {
            lost = true;
            self.reset();
            self.damaged = true;
        }
        if self.timestamp != Some(header.timestamp) {
            if !self.buffer.is_empty() {
                lost = true; // previous frame never saw its marker bit
            }
            self.reset();
            self.timestamp = Some(header.timestamp);
            self.damaged = gap;
        }
        let payload = &packet.0.payload;
        if !stap_a_is_well_formed(payload) {
            self.damaged = true;
        } else {
            match self.depacketizer.depacketize(payload) {
                Ok(bytes) => self.buffer.extend_from_slice(&bytes),
                Err(_) => self.damaged = true,
            }
        }
        if header.marker {
            let complete = !self.damaged && !self.buffer.is_empty();
            let data = std::mem::take(&mut self.buffer);
            self.reset();
            if complete {
                return Assembly::Frame(AssembledFrame {
                    keyframe: starts_decoding(&data),
                    data,
                });
            }
            lost = true;
        }
        if lost {
            Assembly::Lost
        } else {
            Assembly::Pending
        }
    }

    fn reset(&mut self) {
        self.buffer.clear();
        self.depacketizer = H264Packet::default();
        self.timestamp = None;
        self.damaged = false;
    }
}

/// STAP-A (NAL type 24) aggregates length-prefixed NAL units. The `rtc` depacketizer indexes
/// past the end on a truncated length field, so hostile framing is rejected here first.
fn stap_a_is_well_formed(payload: &[u8]) -> bool {
    if payload.first().map(|b| b & 0x1f) != Some(24) {
        return true;
    }
    let mut at = 1;
    while at < payload.len() {
        let Some(len) = payload.get(at..at + 2) else {
            return false;
        };
        at += 2 + (usize::from(len[0]) << 8 | usize::from(len[1]));
    }
    at == payload.len()
}

/// Whether an access unit can start decoding: an IDR slice with its parameter sets (SPS and
/// PPS) in the same unit. An IDR whose parameter sets were lost before we joined the stream
/// (an SFU forwarding a stream mid-flight) cannot be decoded, so it does not count.
fn starts_decoding(annex_b: &[u8]) -> bool {
    const IDR: u8 = 1 << 0;
    const SPS: u8 = 1 << 1;
    const PPS: u8 = 1 << 2;
    let mut found = 0;
    for w in annex_b.windows(4) {
        if w[0] == 0 && w[1] == 0 && w[2] == 1 {
            found |= match w[3] & 0x1f {
                5 => IDR,
                7 => SPS,
                8 => PPS,
                _ => 0,
            };
        }
    }
    found == IDR | SPS | PPS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        let mut p = rtc::rtp::Packet::default();
        p.header.sequence_number = seq;
        p.header.timestamp = ts;
        p.header.marker = marker;
        p.payload = Bytes::copy_from_slice(payload);
        RtpPacket(p)
    }

    #[test]
    fn single_nal_frames_assemble_and_idr_is_detected() {
        let mut a = FrameAssembler::new(MediaKind::Video);
        assert_eq!(a.push(&packet(1, 100, false, &[0x67, 1, 2])), Assembly::Pending);
        assert_eq!(a.push(&packet(2, 100, false, &[0x68, 3, 4])), Assembly::Pending);
        match a.push(&packet(3, 100, true, &[0x65, 9, 9])) {
            Assembly::Frame(f) => {
                assert!(f.keyframe);
                assert_eq!(
                    f.data,
                    vec![0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 4, 0, 0, 0, 1, 0x65, 9, 9]
                );
            }
            other => panic!("{other:?}"),
        }
        match a.push(&packet(4, 200, true, &[0x41, 7, 7])) {
            Assembly::Frame(f) => assert!(!f.keyframe),
            other => panic!("{other:?}"),
        }
        // An IDR whose parameter sets went missing cannot start decoding.
        match a.push(&packet(5, 300, true, &[0x65, 9, 9])) {
            Assembly::Frame(f) => assert!(!f.keyframe),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_gap_drops_the_frame_and_says_so() {
        let mut a = FrameAssembler::new(MediaKind::Video);
        assert_eq!(a.push(&packet(1, 100, false, &[0x41, 1, 1])), Assembly::Pending);
        assert_eq!(a.push(&packet(3, 100, true, &[0x41, 2, 2])), Assembly::Lost);
        assert!(matches!(
            a.push(&packet(4, 200, true, &[0x41, 3, 3])),
            Assembly::Frame(_)
        ));
    }

    #[test]
    fn garbage_payloads_do_not_panic() {
        let mut a = FrameAssembler::new(MediaKind::Video);
        for (i, payload) in [
            &[][..],
            &[0x7c][..],
            &[0x7c, 0x85][..],
            &[0x78, 0, 5][..],
            &[0x78, 0, 1, 0xaa, 0][..],
            &[0xff; 9][..],
        ]
        .iter()
        .enumerate()
        {
            let _ = a.push(&packet(i as u16, 1, true, payload));
        }
    }
}
