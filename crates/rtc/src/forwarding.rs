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

/// A forwarding slot whose track was removed: its m-line stays in the SDP (m-lines are never
/// deleted), so the next forwarded track of the same kind reuses it instead of adding another.
/// Without this an SFU connection grows by one m-line per track that ever came and went.
pub(crate) struct IdleForward {
    kind: MediaKind,
    ssrc: u32,
    track: Arc<TrackLocalStaticRTP>,
    sequence: Arc<SlotSequence>,
    sender: Arc<dyn RtpSender>,
    slot: ForwardSlot,
}

/// What stays with a forwarding m-line whichever track it carries.
#[derive(Clone)]
pub(crate) struct ForwardSlot {
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
        let (ssrc, track, sequence, sender, slot) = match idle {
            Some(idle) => {
                // The slot keeps its SSRC and its bound writer; only the announced stream and
                // track ids (the SDP's msid) change, and the direction goes back to sending.
                // (Sending first: the library only reaches a sender that sends.)
                idle.slot
                    .transceiver
                    .set_direction(RTCRtpTransceiverDirection::Sendonly)
                    .await
                    .map_err(setup)?;
                let relabelled = TrackLocalStaticRTP::new(stream_track(stream, &id, kind, idle.ssrc));
                idle.sender
                    .replace_track(Arc::new(relabelled))
                    .await
                    .map_err(setup)?;
                (idle.ssrc, idle.track, idle.sequence, idle.sender, idle.slot)
            }
            None => {
                let ssrc = rand::random::<u32>();
                let track = Arc::new(TrackLocalStaticRTP::new(stream_track(stream, &id, kind, ssrc)));
                let (sender, transceiver) = self.add_sendonly(track.clone()).await?;
                let label = SlotLabel::default();
                self.watch_feedback(label.clone(), track.clone());
                let slot = ForwardSlot { transceiver, label };
                (ssrc, track, SlotSequence::new(), sender, slot)
            }
        };
        *self.lock(&slot.label) = Some(id.clone());
        let forward = Arc::new(ForwardTrack::new(
            id,
            kind,
            (ssrc, track, sequence),
            sender.clone(),
        ));
        self.lock(&self.forward_slots).push((forward.clone(), slot));
        self.lock_tracks()
            .push((LocalTrack::Forward(forward.clone()), sender));
        Ok(forward)
    }

    /// Stops sending forwarded tracks: each receiver gets an RTCP BYE at once (so its track
    /// ends now, and a later occupant of the slot is never mistaken for this one), then each
    /// slot goes idle (inactive with the next offer) until another forwarded track needs one.
    pub async fn remove_forward_tracks(&self, tracks: &[Arc<ForwardTrack>]) -> Result<(), RtcError> {
        let leaving: Vec<_> = {
            let mut slots = self.lock(&self.forward_slots);
            let mut local = self.lock_tracks();
            tracks
                .iter()
                .filter_map(|track| {
                    let at = slots.iter().position(|(f, _)| Arc::ptr_eq(f, track))?;
                    let (forward, slot) = slots.swap_remove(at);
                    let at = local
                        .iter()
                        .position(|(t, _)| matches!(t, LocalTrack::Forward(f) if Arc::ptr_eq(f, track)))?;
                    *self.lock(&slot.label) = None;
                    Some((forward, slot, local.remove(at).1))
                })
                .collect()
        };
        if leaving.is_empty() {
            return Ok(());
        }
        for (forward, _, _) in &leaving {
            forward.say_goodbye().await;
        }
        // A sender that stops sending drops RTCP still queued for it: let the BYEs leave first.
        tokio::time::sleep(GOODBYE_FLUSH).await;
        for (forward, slot, sender) in leaving {
            slot.transceiver
                .set_direction(RTCRtpTransceiverDirection::Inactive)
                .await
                .map_err(setup)?;
            self.lock(&self.idle_forwards).push(IdleForward {
                kind: forward.kind(),
                ssrc: forward.ssrc(),
                track: forward.writer(),
                sequence: forward.sequence(),
                sender,
                slot,
            });
        }
        Ok(())
    }
}
