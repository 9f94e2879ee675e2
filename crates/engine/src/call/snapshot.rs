//! The whole picture of a call, assembled from the room, the media counters and the receive
//! statistics.

use super::{Driver, SentTotals};
use crate::api::{CallSnapshot, RemoteSnapshot, SentSnapshot};
use confab_core::ChatMessage;

impl Driver {
    pub(super) fn sent_totals(&self) -> SentTotals {
        let Some(media) = &self.media else {
            return self.sent_totals;
        };
        let video = media.video.as_ref();
        SentTotals {
            frames_sent: media.frames_sent.load(std::sync::atomic::Ordering::Relaxed),
            encode_ms_per_frame: video.map_or(0.0, |v| v.stats().mean_ms()),
            frames_dropped_before_send: media.video_frames_dropped(),
        }
    }

    pub(super) fn snapshot(&self) -> CallSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let participants = self
            .room
            .participants()
            .iter()
            .map(|(id, p)| {
                let stats = self.remote.get(id).cloned().unwrap_or_default();
                RemoteSnapshot {
                    id: id.clone(),
                    identity: p.identity.clone(),
                    name: p.name.clone(),
                    first_frame_ms: stats.first_frame_ms(),
                    frames_decoded: stats.frames_decoded.load(Relaxed),
                    frames_corrupt: stats.frames_corrupt.load(Relaxed),
                    frames_expected: stats.frames_expected(),
                    decode_errors: stats.decode_errors.load(Relaxed),
                    frames_dropped_before_decode: stats.frames_dropped_before_decode.load(Relaxed),
                    frames_lost: stats.frames_lost.load(Relaxed),
                    longest_gap_ms: stats.longest_gap_ms.load(Relaxed),
                    frames_skipped_awaiting_keyframe: stats.frames_skipped_awaiting_keyframe.load(Relaxed),
                    audio_frames_decoded: stats.audio_frames_decoded.load(Relaxed),
                    audio_frames_audible: stats.audio_frames_audible.load(Relaxed),
                    left: p.left,
                    left_ms: self.left_ms.get(id).copied(),
                }
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
            errors: self.errors.clone(),
            reconnections: self.reconnections.clone(),
            ice_restarts: self.closed_ice_restarts + self.peer.as_ref().map_or(0, |p| p.ice_restarts()),
            ended: self.ended,
        }
    }
}
