//! Inbound RTCP the application acts on: keyframe requests (PLI, FIR), goodbyes (BYE), and
//! what receivers say about the media we send — reception reports (the fraction of our packets
//! lost) and bandwidth estimates (REMB) — which move our video send rate.
//!
//! By default inbound RTCP stops inside the interceptor chain. [`FeedbackTap`] marks compound
//! RTCP packets that carry any of these with `DeliverToApplication`, so the local track they are
//! about sees them. Everything passes through unchanged otherwise.

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::goodbye::Goodbye;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::VecDeque;
use std::time::Instant;

/// What a receiver said about video we send.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SendFeedback {
    /// The fraction (0.0-1.0) of our video packets lost since the receiver's previous report.
    Loss(f64),
    /// The receiver's estimate of the bitrate the path carries, in bits per second (REMB).
    BandwidthEstimate(u64),
}

/// Whether an RTCP packet asks for a keyframe.
pub(crate) fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

fn reception_reports(packet: &dyn rtc::rtcp::Packet) -> &[ReceptionReport] {
    let any = packet.as_any();
    if let Some(report) = any.downcast_ref::<ReceiverReport>() {
        &report.reports
    } else if let Some(report) = any.downcast_ref::<SenderReport>() {
        &report.reports
    } else {
        &[]
    }
}

/// What `packets` say about the streams for which `is_our_video` holds.
pub(crate) fn send_feedback(
    packets: &[Box<dyn rtc::rtcp::Packet>],
    is_our_video: impl Fn(u32) -> bool,
) -> Vec<SendFeedback> {
    let mut feedback = Vec::new();
    for packet in packets {
        let packet = packet.as_ref();
        for report in reception_reports(packet) {
            if is_our_video(report.ssrc) {
                feedback.push(SendFeedback::Loss(f64::from(report.fraction_lost) / 256.0));
            }
        }
        if let Some(estimate) = packet.as_any().downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
            if estimate.ssrcs.iter().any(|&ssrc| is_our_video(ssrc)) && estimate.bitrate.is_finite() {
                feedback.push(SendFeedback::BandwidthEstimate(estimate.bitrate.max(0.0) as u64));
            }
        }
    }
    feedback
}

fn for_application(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    is_keyframe_request(packet)
        || any.is::<Goodbye>()
        || any.is::<ReceiverEstimatedMaximumBitrate>()
        || !reception_reports(packet).is_empty()
}

#[derive(Default)]
pub(crate) struct FeedbackTap {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl FeedbackTap {
    /// Application-most position: observes only, emits nothing new.
    pub(crate) const SLOT: usize = 14_000;
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            if packets.iter().any(|p| for_application(p.as_ref())) {
                msg.message.add(Attribute::DeliverToApplication);
            }
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for FeedbackTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
