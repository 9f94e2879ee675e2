//! Room events the room-backed drivers (Confab's own server, Janus, PeerJS) pass on to the user in the
//! same way: arrivals and departures (noting when each happened), chat, refused chat and server
//! errors (as problems), and what a participant's mute (or a track published muted) looks like
//! to the user. The rest (joining, leaving) needs the driver.

use crate::api::{CallError, CallEvent};
use crate::media_out::MediaSink;
use crate::receive::{receive_track, RemoteStats};
use crate::record::CallRecord;
use confab_core::{ParticipantId, Room, RoomEvent, TrackId};
use confab_rtc::RemoteTrack;
use std::collections::HashMap;
use std::sync::Arc;

/// Who was seen and when each left, for the snapshot.
#[derive(Default)]
pub(crate) struct Presence {
    /// What we received from each participant.
    pub remote: HashMap<ParticipantId, Arc<RemoteStats>>,
    /// When each participant left (ms since the call started).
    pub left_ms: HashMap<ParticipantId, u64>,
}

impl Presence {
    /// Reads a track `participant` sends, on a task of its own, counting into their stats.
    pub(crate) fn receive(
        &mut self,
        track: RemoteTrack,
        participant: ParticipantId,
        record: &CallRecord,
        media_out: Option<Arc<dyn MediaSink>>,
    ) {
        let stats = self.remote.entry(participant.clone()).or_default().clone();
        let events = record.events.clone();
        tokio::spawn(receive_track(
            track,
            participant,
            stats,
            record.started,
            events,
            media_out,
        ));
    }
}

/// Passes `event` on if it is one of the shared kinds; otherwise gives it back to the driver.
pub(crate) fn relay(record: &mut CallRecord, presence: &mut Presence, event: RoomEvent) -> Option<RoomEvent> {
    let out = match event {
        RoomEvent::ParticipantJoined(id) => {
            presence.remote.entry(id.clone()).or_default();
            presence.left_ms.remove(&id);
            CallEvent::ParticipantJoined(id)
        }
        RoomEvent::ParticipantLeft { id, reason } => {
            presence.left_ms.insert(id.clone(), record.elapsed_ms());
            CallEvent::ParticipantLeft { id, reason }
        }
        // A track published muted looks to the user like a mute: that camera is off for now.
        RoomEvent::TrackPublished { participant, track } => {
            if !track.muted {
                return None;
            }
            CallEvent::TrackMuted {
                participant,
                kind: track.kind,
                muted: true,
            }
        }
        RoomEvent::ChatReceived(message) => CallEvent::ChatReceived(message),
        RoomEvent::ChatSent(message) => CallEvent::ChatSent(message),
        RoomEvent::ChatDelivered { id, to } => CallEvent::ChatDelivered { id, to },
        RoomEvent::ChatNotDelivered { id, reason } => CallEvent::ChatNotDelivered { id, reason },
        RoomEvent::ChatRefused { from, error } => {
            record.problem(CallError::ChatRefused { from, error });
            return None;
        }
        RoomEvent::ServerError { code, message } => {
            tracing::warn!(?code, %message, "the server reported an error");
            record.errors.push(format!("{} ({message})", code.user_message()));
            return None;
        }
        other => return Some(other),
    };
    record.send(out);
    None
}

/// What the user hears of a participant muting or unmuting `track` (nothing for a track the
/// room does not know).
pub(crate) fn track_muted(
    room: &Room,
    participant: ParticipantId,
    track: &TrackId,
    muted: bool,
) -> Option<CallEvent> {
    let kind = room.participants().get(&participant)?.tracks.get(track)?.kind;
    Some(CallEvent::TrackMuted {
        participant,
        kind,
        muted,
    })
}
