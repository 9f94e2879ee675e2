//! The whole picture of a call, assembled from the room, the media counters and the receive
//! statistics.

use super::Driver;
use crate::api::{CallSnapshot, RemoteSnapshot, SentSnapshot};
use crate::room_events::Presence;
use confab_core::{ChatMessage, Room};

/// What a room-backed call's snapshot reports about the room: everyone seen (with what we
/// received from them), the chat received, and the delivery of what we sent.
pub(crate) struct RoomPicture {
    pub participants: Vec<RemoteSnapshot>,
    pub chat: Vec<ChatMessage>,
    pub sent: Vec<SentSnapshot>,
}

impl RoomPicture {
    pub(crate) fn of(room: &Room, presence: &Presence) -> Self {
        let participants = room
            .participants()
            .iter()
            .map(|(id, p)| {
                let stats = presence.remote.get(id).cloned().unwrap_or_default();
                let left_ms = presence.left_ms.get(id).copied();
                stats.snapshot(id.clone(), p.identity.clone(), p.name.clone(), p.left, left_ms)
            })
            .collect();
        let chat = room.chat();
        let me = room.identity();
        let all = chat.conversations().flat_map(|c| chat.messages(c));
        let (own, received): (Vec<&ChatMessage>, Vec<&ChatMessage>) =
            all.partition(|m| m.from_identity == *me);
        let sent = own
            .into_iter()
            .filter_map(|m| {
                let delivery = chat.delivery(&m.id)?;
                Some(SentSnapshot {
                    id: m.id.clone(),
                    conversation: m.conversation.clone(),
                    delivery: delivery.iter().map(|(i, s)| (i.clone(), s.clone())).collect(),
                })
            })
            .collect();
        Self {
            participants,
            chat: received.into_iter().cloned().collect(),
            sent,
        }
    }
}

impl Driver {
    pub(super) fn snapshot(&self) -> CallSnapshot {
        let totals = self.outgoing.totals();
        let me = self.room.identity();
        let RoomPicture {
            participants,
            chat,
            sent,
        } = RoomPicture::of(&self.room, &self.presence);
        let ice_restarts = self.closed_ice_restarts + self.peer.as_ref().map_or(0, |p| p.ice_restarts());
        CallSnapshot {
            local: self.local.clone(),
            identity: Some(me.clone()),
            joined_ms: self.joined_ms,
            participants,
            chat,
            sent,
            ..self.record.snapshot(totals, self.media_bytes, ice_restarts)
        }
    }
}
