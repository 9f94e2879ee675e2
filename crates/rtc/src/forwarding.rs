//! Forwarding slots: the send-only m-lines an SFU connection forwards other participants'
//! tracks in. A slot outlives its track: when a track is removed, its slot says goodbye, goes
//! inactive and waits for the next track of its kind, so the connection does not grow by an
//! m-line for every track that ever came and went.

use crate::error::{setup, RtcError};
use crate::sequence::SlotSequence;
use crate::session::{LocalTrack, PeerSession, GOODBYE_FLUSH};
use crate::track::{codec_for, stream_track, ForwardTrack};
use confab_core::{MediaKind, SdpKind, SessionDescription, TrackId};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverId};
use std::sync::{Arc, Mutex};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::rtp_transceiver::{RtpSender, RtpTransceiver};

/// The id of the track a sender carries now; `None` while a forwarding slot is idle.
pub(crate) type SlotLabel = Arc<Mutex<Option<TrackId>>>;

/// What stays with a forwarding m-line whichever track it carries: its transceiver and sender,
/// SSRC, bound writer and sequence numbering. A slot whose track was removed waits, idle, for
/// the next forwarded track of its kind: m-lines are never deleted from the SDP, so without
/// reuse an SFU connection would grow by one for every track that ever came and went.
pub(crate) struct ForwardSlot {
    kind: MediaKind,
    ssrc: u32,
    writer: Arc<TrackLocalStaticRTP>,
    sequence: Arc<SlotSequence>,
    sender: Arc<dyn RtpSender>,
    transceiver: Arc<dyn RtpTransceiver>,
    label: SlotLabel,
}

impl PeerSession {
    /// Adds a send-only track fed with RTP forwarded from elsewhere (SFU use), in an idle
    /// forwarding slot of the same kind if there is one (takes effect with the next offer).
    pub async fn add_forward_track(
        &self,
        stream: &str,
        id: TrackId,
        kind: MediaKind,
    ) -> Result<Arc<ForwardTrack>, RtcError> {
        let idle = {
            let mut idle = self.lock(&self.idle_forwards);
            let at = idle.iter().position(|slot| slot.kind == kind);
            at.map(|i| idle.swap_remove(i))
        };
        let slot = match idle {
            Some(slot) => {
                // The slot keeps its SSRC and its bound writer; only the announced stream and
                // track ids (the SDP's msid) change, and the direction goes back to sending.
                // (Sending first: the library only reaches a sender that sends.)
                slot.transceiver
                    .set_direction(RTCRtpTransceiverDirection::Sendonly)
                    .await
                    .map_err(setup)?;
                let relabelled = TrackLocalStaticRTP::new(stream_track(stream, &id, kind, slot.ssrc));
                slot.sender
                    .replace_track(Arc::new(relabelled))
                    .await
                    .map_err(setup)?;
                slot
            }
            None => {
                let ssrc = rand::random::<u32>();
                let writer = Arc::new(TrackLocalStaticRTP::new(stream_track(stream, &id, kind, ssrc)));
                let (sender, transceiver) = self.add_sendonly(writer.clone()).await?;
                self.new_slot(kind, ssrc, writer, sender, transceiver)
            }
        };
        Ok(self.occupy(slot, id))
    }

    /// Answers an offer to watch (WHEP): each section of the offer that asks to receive audio
    /// or video gets a forwarding slot under `stream`, named `KIND` (a second one of a kind
    /// `KIND-2`, …). The answer carries every candidate (the watcher does not trickle). The
    /// returned tracks send nothing until fed.
    pub async fn answer_with_forwards(
        &self,
        stream: &str,
        offer: String,
    ) -> Result<(SessionDescription, Vec<Arc<ForwardTrack>>), RtcError> {
        let kinds = receiving_kinds(&offer);
        self.set_remote(SessionDescription {
            kind: SdpKind::Offer,
            sdp: offer,
        })
        .await?;
        let mut forwards = Vec::new();
        for kind in kinds {
            let earlier = forwards
                .iter()
                .filter(|f: &&Arc<ForwardTrack>| f.kind() == kind)
                .count();
            let id = kind.nth_track_id(earlier);
            let ssrc = rand::random::<u32>();
            let writer = Arc::new(TrackLocalStaticRTP::new(stream_track(stream, &id, kind, ssrc)));
            // The offer's receiving section already made a transceiver; add_track takes it.
            let sender = self.pc.add_track(writer.clone()).await.map_err(setup)?;
            let transceiver_id = RTCRtpTransceiverId::from(sender.id());
            let transceiver = self
                .pc
                .get_transceivers()
                .await
                .into_iter()
                .find(|t| t.id() == transceiver_id)
                .ok_or_else(|| RtcError::Setup("the offered section has no transceiver".into()))?;
            let slot = self.new_slot(kind, ssrc, writer, sender, transceiver);
            forwards.push(self.occupy(slot, id));
        }
        self.answer().await?;
        Ok((self.gathered_answer().await?, forwards))
    }

    fn new_slot(
        &self,
        kind: MediaKind,
        ssrc: u32,
        writer: Arc<TrackLocalStaticRTP>,
        sender: Arc<dyn RtpSender>,
        transceiver: Arc<dyn RtpTransceiver>,
    ) -> ForwardSlot {
        let label = SlotLabel::default();
        self.watch_feedback(label.clone(), writer.clone(), false);
        ForwardSlot {
            kind,
            ssrc,
            writer,
            sequence: SlotSequence::new(codec_for(kind).clock_rate),
            sender,
            transceiver,
            label,
        }
    }

    /// Puts a track named `id` into `slot`.
    fn occupy(&self, slot: ForwardSlot, id: TrackId) -> Arc<ForwardTrack> {
        *self.lock(&slot.label) = Some(id.clone());
        let forward = Arc::new(ForwardTrack::new(
            id,
            slot.kind,
            (slot.ssrc, slot.writer.clone(), slot.sequence.clone()),
            slot.sender.clone(),
        ));
        self.lock_tracks()
            .push((LocalTrack::Forward(forward.clone()), slot.sender.clone()));
        self.lock(&self.forward_slots).push((forward.clone(), slot));
        forward
    }

    /// Stops sending forwarded tracks: each receiver gets an RTCP BYE at once (so its track
    /// ends now, and a later occupant of the slot is never mistaken for this one), then each
    /// slot goes idle (inactive with the next offer) until another forwarded track needs one.
    pub async fn remove_forward_tracks(&self, tracks: &[Arc<ForwardTrack>]) -> Result<(), RtcError> {
        let leaving: Vec<(Arc<ForwardTrack>, ForwardSlot)> = {
            let mut slots = self.lock(&self.forward_slots);
            let (leaving, staying) = std::mem::take(&mut *slots)
                .into_iter()
                .partition(|(forward, _)| tracks.iter().any(|t| Arc::ptr_eq(t, forward)));
            *slots = staying;
            leaving
        };
        if leaving.is_empty() {
            return Ok(());
        }
        self.lock_tracks().retain(
            |(t, _)| !matches!(t, LocalTrack::Forward(f) if leaving.iter().any(|(l, _)| Arc::ptr_eq(l, f))),
        );
        for (forward, slot) in &leaving {
            *self.lock(&slot.label) = None;
            forward.say_goodbye().await;
        }
        // A sender that stops sending drops RTCP still queued for it: let the BYEs leave first.
        tokio::time::sleep(GOODBYE_FLUSH).await;
        for (_, slot) in leaving {
            slot.transceiver
                .set_direction(RTCRtpTransceiverDirection::Inactive)
                .await
                .map_err(setup)?;
            self.lock(&self.idle_forwards).push(slot);
        }
        Ok(())
    }
}

/// The kinds of the offer's live sections that ask to receive (`recvonly` or `sendrecv`), in
/// order. A section without a direction attribute is `sendrecv` (RFC 3264).
fn receiving_kinds(offer: &str) -> Vec<MediaKind> {
    let mut kinds = Vec::new();
    let mut current: Option<MediaKind> = None;
    let mut receives = true;
    let mut finish = |kind: Option<MediaKind>, receives: bool| {
        if let (Some(kind), true) = (kind, receives) {
            kinds.push(kind);
        }
    };
    for line in offer.lines().map(str::trim_end) {
        if let Some(media) = line.strip_prefix("m=") {
            finish(current.take(), receives);
            let mut fields = media.split_whitespace();
            let kind = match fields.next() {
                Some("audio") => Some(MediaKind::Audio),
                Some("video") => Some(MediaKind::Video),
                _ => None,
            };
            receives = fields.next() != Some("0");
            current = kind;
        } else if matches!(line, "a=sendonly" | "a=inactive") {
            receives = false;
        }
    }
    finish(current, receives);
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sections_that_ask_to_receive_are_found_in_order() {
        let offer = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n\
            m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n\
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        assert_eq!(
            receiving_kinds(offer),
            [MediaKind::Video, MediaKind::Audio, MediaKind::Video]
        );
        assert!(receiving_kinds("garbage").is_empty());
    }
}
