//! Forwarding slots: the send-only m-lines an SFU connection forwards other participants'
//! tracks in. A slot outlives its track: when a track is removed, its slot says goodbye, goes
//! inactive and waits for the next track of its kind, so the connection does not grow by an
//! m-line for every track that ever came and went.

use crate::error::{setup, RtcError};
use crate::sequence::SlotSequence;
use crate::session::{LocalTrack, PeerSession, GOODBYE_FLUSH};
use crate::track::{stream_track, ForwardTrack};
use confab_core::{MediaKind, TrackId};
use rtc::rtp_transceiver::RTCRtpTransceiverDirection;
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
                let label = SlotLabel::default();
                self.watch_feedback(label.clone(), writer.clone());
                ForwardSlot {
                    kind,
                    ssrc,
                    writer,
                    sequence: SlotSequence::new(),
                    sender,
                    transceiver,
                    label,
                }
            }
        };
        *self.lock(&slot.label) = Some(id.clone());
        let forward = Arc::new(ForwardTrack::new(
            id,
            kind,
            (slot.ssrc, slot.writer.clone(), slot.sequence.clone()),
            slot.sender.clone(),
        ));
        self.lock_tracks()
            .push((LocalTrack::Forward(forward.clone()), slot.sender.clone()));
        self.lock(&self.forward_slots).push((forward.clone(), slot));
        Ok(forward)
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
