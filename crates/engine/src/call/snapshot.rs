//! The whole picture of a call, assembled from the room, the media counters and the receive
//! statistics.

use super::Driver;
use crate::api::{CallSnapshot, SentSnapshot};
use crate::send::{LocalMedia, SentTotals};
use confab_core::ChatMessage;

impl Driver {
    pub(super) fn sent_totals(&self) -> SentTotals {
        self.media.as_ref().map_or(self.sent_totals, LocalMedia::totals)
    }

    pub(super) fn snapshot(&self) -> CallSnapshot {
        let participants = self
            .room
            .participants()
            .iter()
            .map(|(id, p)| {
                let stats = self.remote.get(id).cloned().unwrap_or_default();
                let left_ms = self.left_ms.get(id).copied();
                stats.snapshot(id.clone(), p.identity.clone(), p.name.clone(), p.left, left_ms)
            })
            .collect();
        let totals = self.sent_totals();
        let chat = self.room.chat();
        let me = self.room.identity();
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
        CallSnapshot {
            local: self.local.clone(),
            identity: Some(me.clone()),
            joined_ms: self.joined_ms,
            participants,
            chat: received.into_iter().cloned().collect(),
            sent,
            frames_sent: totals.frames_sent,
            frames_dropped_before_send: totals.frames_dropped_before_send,
            media_bytes: self.media_bytes,
            encode_ms_per_frame: totals.encode_ms_per_frame,
            errors: self.record.errors.clone(),
            reconnections: self.record.reconnections.clone(),
            ice_restarts: self.closed_ice_restarts + self.peer.as_ref().map_or(0, |p| p.ice_restarts()),
            ended: self.record.ended,
        }
    }
}
