//! Members who come over HTTP instead of signaling: a WHIP publisher brings one stream into the
//! room, a WHEP watcher watches it. Both appear in everyone's participant list (people can see
//! who watches), neither chats, and neither can renegotiate: their connection is settled by one
//! offer and one answer.
//!
//! A publisher's tracks are named by kind (`video`, `audio`, `video-2`, …) and announced as if
//! it had published them. A watcher gets one forwarding slot per section its offer asks to
//! receive, fed from the room's *featured* publisher of that kind: whoever of those publishing
//! it has been in the room longest. When that one leaves, the slot moves on to the next (with a
//! keyframe request) without renegotiating, so a WHEP player keeps playing.

use super::{Member, Negotiation, RoomActor, Via, MAX_PARTICIPANTS};
use crate::media_path::MediaPath;
use confab_core::{IceCandidate, IdentityId, LeaveReason, MediaKind, ParticipantId, TrackId, TrackInfo};
use confab_rtc::{ForwardTrack, PeerState, RtcError};
use confab_signal::native::wire::ServerMessage;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// Publish (WHIP) or watch (WHEP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamRole {
    Publish,
    Watch,
}

impl StreamRole {
    /// The protocol's name, as in its URL paths: `whip` or `whep`.
    pub(crate) fn protocol(self) -> &'static str {
        match self {
            StreamRole::Publish => "whip",
            StreamRole::Watch => "whep",
        }
    }
}

/// An HTTP offer to join a room.
pub(crate) struct StreamJoiner {
    pub role: StreamRole,
    /// The display name others see.
    pub name: String,
    /// The SDP offer, as posted.
    pub offer: String,
}

/// The answer to a [`StreamJoiner`]: the resource that names the session from now on.
pub(crate) struct StreamJoined {
    pub resource: String,
    pub answer: String,
}

/// Why an HTTP session request failed; each maps onto an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StreamError {
    #[error("the room is full ({MAX_PARTICIPANTS} participants)")]
    RoomFull,
    /// The offer cannot be answered; the sentence says why.
    #[error("{0}")]
    BadOffer(String),
    #[error("the server could not set up the media connection; try again")]
    MediaFailed,
    /// No session by that resource in this room (it ended, or never was).
    #[error("no such session in this room; it has ended")]
    NotFound,
    /// The candidates were gathered under other ICE credentials: an ICE restart, which these
    /// sessions do not do.
    #[error("ICE restarts are not supported here; publish again with a new POST")]
    IceRestart,
}

/// What an HTTP member holds besides the common [`Member`] fields.
pub(crate) struct StreamMember {
    role: StreamRole,
    /// The unguessable name of this session in its URL.
    resource: String,
    /// A watcher's forwarding slots, fixed by its offer.
    slots: Vec<Arc<ForwardTrack>>,
}

impl StreamMember {
    /// The id the publisher's next track of `kind` gets: `video`, then `video-2`, …
    pub(super) fn track_id(&self, member: &Member, kind: MediaKind) -> Option<TrackId> {
        if self.role != StreamRole::Publish {
            return None;
        }
        let earlier = member.tracks.values().filter(|t| t.kind == kind).count();
        Some(kind.nth_track_id(earlier))
    }
}

fn random_resource() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

fn offer_error(e: RtcError) -> StreamError {
    match e {
        RtcError::BadRemoteDescription(_) | RtcError::UnbundledTransports => {
            StreamError::BadOffer(e.to_string())
        }
        _ => {
            tracing::warn!(error = %e, "could not answer an HTTP offer");
            StreamError::MediaFailed
        }
    }
}

impl RoomActor {
    pub(super) async fn stream_join(&mut self, joiner: StreamJoiner) -> Result<StreamJoined, StreamError> {
        if self.members.len() >= MAX_PARTICIPANTS {
            return Err(StreamError::RoomFull);
        }
        let (id, arrival) = self.next_participant_id().ok_or(StreamError::RoomFull)?;
        let peer = self.start_peer(&id).await.ok_or(StreamError::MediaFailed)?;
        let answered = match joiner.role {
            StreamRole::Publish => peer.answer_whole(joiner.offer).await.map(|a| (a, Vec::new())),
            StreamRole::Watch => peer.answer_with_forwards(self.name.as_str(), joiner.offer).await,
        };
        let (answer, slots) = match answered {
            Ok(answered) => answered,
            Err(e) => {
                peer.close().await;
                return Err(offer_error(e));
            }
        };
        let resource = random_resource();
        let identity = IdentityId::new(format!("{}-{}", joiner.role.protocol(), &resource[..16]))
            .map_err(|_| StreamError::MediaFailed)?;
        let member = Member {
            name: joiner.name,
            arrival,
            identity,
            // Nobody can prove this identity: a signaling join can never take it over.
            proof: rand::random(),
            key: String::new(),
            via: Via::Http(StreamMember {
                role: joiner.role,
                resource: resource.clone(),
                slots,
            }),
            peer: Arc::new(peer),
            tracks: BTreeMap::new(),
            negotiation: Negotiation::Stable,
            media_path: MediaPath::default(),
            forwards: HashMap::new(),
        };
        self.announce(&id, &member);
        tracing::info!(room = %self.name, participant = %id, role = ?joiner.role, "joined over HTTP");
        self.members.insert(id, member);
        self.feed_watchers();
        Ok(StreamJoined {
            resource,
            answer: answer.sdp,
        })
    }

    fn stream_member(&self, resource: &str) -> Option<(ParticipantId, &Member)> {
        self.members.iter().find_map(|(id, m)| match &m.via {
            Via::Http(stream) if stream.resource == resource => Some((id.clone(), m)),
            _ => None,
        })
    }

    pub(super) async fn stream_leave(&mut self, resource: &str) -> Result<(), StreamError> {
        let (id, _) = self.stream_member(resource).ok_or(StreamError::NotFound)?;
        self.leave(&id, LeaveReason::Hangup).await;
        Ok(())
    }

    pub(super) async fn stream_candidates(
        &mut self,
        resource: &str,
        ufrag: Option<String>,
        candidates: Vec<IceCandidate>,
    ) -> Result<(), StreamError> {
        let (id, member) = self.stream_member(resource).ok_or(StreamError::NotFound)?;
        let current = member.peer.remote_ice_ufrag().await;
        if ufrag.is_some_and(|u| current.is_some_and(|current| current != u)) {
            return Err(StreamError::IceRestart);
        }
        for candidate in candidates {
            if let Err(e) = member.peer.add_remote_candidate(candidate).await {
                tracing::debug!(participant = %id, error = %e, "ignored a trickled candidate");
            }
        }
        Ok(())
    }

    /// An HTTP member cannot be offered an ICE restart: a failed connection ends its session.
    pub(super) async fn stream_state_changed(&mut self, id: &ParticipantId, state: PeerState) {
        if state == PeerState::Failed {
            tracing::info!(room = %self.name, participant = %id, "an HTTP session's media connection failed");
            self.leave(id, LeaveReason::ConnectionLost).await;
        }
    }

    /// Announces a WHIP publisher's new track as if it had published it itself.
    pub(super) fn stream_track_published(
        &mut self,
        publisher: &ParticipantId,
        track: &TrackId,
        kind: MediaKind,
    ) {
        let Some(member) = self.members.get_mut(publisher) else {
            return;
        };
        if member.follows_the_room() {
            return;
        }
        let info = TrackInfo {
            id: track.clone(),
            kind,
            muted: false,
        };
        member.tracks.insert(track.clone(), info.clone());
        self.broadcast_except(
            publisher,
            ServerMessage::TrackPublished {
                participant: publisher.clone(),
                track: info,
            },
        );
    }

    /// The featured publisher's track of `kind`: of the members publishing that kind (watchers
    /// excepted), the one who arrived first.
    fn featured(&self, kind: MediaKind, except: &ParticipantId) -> Option<(ParticipantId, TrackId)> {
        self.published
            .iter()
            .filter(|((publisher, _), p)| p.kind == kind && publisher != except)
            .min_by_key(|((publisher, _), _)| self.members.get(publisher).map_or(u64::MAX, |m| m.arrival))
            .map(|((publisher, track), _)| (publisher.clone(), track.clone()))
    }

    /// Points every watcher slot at the featured publisher of its kind, moving it (and asking
    /// for a keyframe) where that changed, and idling it where nobody publishes that kind.
    pub(super) fn feed_watchers(&mut self) {
        let watchers: Vec<(ParticipantId, usize)> = self
            .members
            .iter()
            .filter_map(|(id, m)| match &m.via {
                Via::Http(stream) if stream.role == StreamRole::Watch => {
                    Some((id.clone(), stream.slots.len()))
                }
                _ => None,
            })
            .collect();
        for (watcher, slot_count) in watchers {
            for index in 0..slot_count {
                self.feed_watcher_slot(&watcher, index);
            }
        }
    }

    fn feed_watcher_slot(&mut self, watcher: &ParticipantId, index: usize) {
        let Some(member) = self.members.get(watcher) else {
            return;
        };
        let Via::Http(stream) = &member.via else {
            return;
        };
        let slot = stream.slots[index].clone();
        let wanted = self.featured(slot.kind(), watcher);
        let current = member
            .forwards
            .get(slot.id())
            .map(|(p, t, _)| (p.clone(), t.clone()));
        if current == wanted {
            return;
        }
        if let Some(old) = current.and_then(|key| self.published.get(&key)) {
            old.fanout.remove(&slot);
        }
        let Some(member) = self.members.get_mut(watcher) else {
            return;
        };
        member.forwards.remove(slot.id());
        let Some((publisher, track)) = wanted else {
            return;
        };
        // A new occupant of the same slot, so the numbering continues across sources.
        let next = slot.successor();
        if let Via::Http(stream) = &mut member.via {
            stream.slots[index] = next.clone();
        }
        member.forwards.insert(
            next.id().clone(),
            (publisher.clone(), track.clone(), next.clone()),
        );
        if let Some(source) = self.published.get_mut(&(publisher, track)) {
            source.fanout.add(next);
            // The watcher starts decoding at the next keyframe.
            source.request_keyframe(Instant::now());
        }
    }
}
