//! What the drivers of calls on other people's servers (Janus, PeerJS) share around the core
//! [`Room`]: what their media connections carried ([`Traffic`]), the room's join command,
//! sending chat, and the snapshot.

use crate::api::CallSnapshot;
use crate::call::new_chat;
use crate::call::snapshot::RoomPicture;
use crate::record::CallRecord;
use crate::room_events::Presence;
use crate::send::Outgoing;
use confab_core::{
    ChatMessage, ConversationId, ParticipantId, PrivateDraft, Room, RoomCommand, RoomName, Secret, SendOrder,
};
use confab_rtc::PeerSession;
use confab_signal::AdapterError;
use std::time::Instant;

/// What a call's media connections carried, closed ones included.
#[derive(Default)]
pub(crate) struct Traffic {
    /// Media bytes (sent, received) of connections already closed.
    closed_bytes: (u64, u64),
    /// Media bytes (sent, received) in all, as of the last [`Self::refresh`].
    bytes: (u64, u64),
    /// ICE restarts of connections already closed.
    closed_restarts: u32,
}

impl Traffic {
    /// Closes `session`, keeping what it carried.
    pub(crate) async fn close(&mut self, session: &PeerSession) {
        let stats = session.stats().await;
        self.closed_bytes.0 += stats.bytes_sent;
        self.closed_bytes.1 += stats.bytes_received;
        self.closed_restarts += session.ice_restarts();
        session.close().await;
    }

    /// Counts the bytes of the connections still `open` (before a snapshot, and at the end).
    pub(crate) async fn refresh(&mut self, open: impl Iterator<Item = &PeerSession>) {
        let (mut sent, mut received) = self.closed_bytes;
        for session in open {
            let stats = session.stats().await;
            sent += stats.bytes_sent;
            received += stats.bytes_received;
        }
        self.bytes = (sent, received);
    }
}

/// The room's join request for `local`: the room is named after our own id, since these servers
/// know no Confab room name, token or proof (their own secrets travel in their dialects).
pub(crate) fn join_command(local: &ParticipantId, name: &str) -> RoomCommand {
    RoomCommand::Join {
        room: RoomName::new(local.to_string())
            .unwrap_or_else(|_| unreachable!("a participant id is a valid room name")),
        name: name.to_owned(),
        token: Secret::new(""),
        proof: Secret::new(""),
    }
}

/// Puts the user's message to `conversation` into the room, which sends it; the user is told
/// if it cannot go.
pub(crate) fn send_chat(
    room: &mut Room,
    record: &mut CallRecord,
    order: &mut SendOrder,
    conversation: ConversationId,
    text: String,
) {
    let send = new_chat(order, conversation, text);
    if let Err(e) = room.handle_command(Instant::now(), send) {
        record.problem(e.into());
    }
}

/// Hands the room's private message to `send`, the server's own way of reaching exactly its
/// recipients; if it cannot go, the room marks it not delivered and the user is told why.
pub(crate) fn send_private(
    room: &mut Room,
    record: &mut CallRecord,
    draft: PrivateDraft,
    send: impl FnOnce(&ChatMessage, &[ParticipantId]) -> Result<(), AdapterError>,
) {
    let to: Vec<ParticipantId> = draft.recipients.iter().map(|r| r.participant.clone()).collect();
    if let Err(e) = send(&draft.message, &to) {
        let failed = RoomCommand::ChatFailed {
            id: draft.message.id,
            reason: e.to_string(),
        };
        let _ = room.handle_command(Instant::now(), failed);
        record.problem(e.into());
    }
}

/// The whole picture of a room call: `local` once joined, the room, our outgoing media and the
/// traffic of the closed connections and the `open` ones.
pub(crate) struct SnapshotParts<'a> {
    pub record: &'a CallRecord,
    pub room: &'a Room,
    pub presence: &'a Presence,
    pub local: &'a ParticipantId,
    pub joined_ms: Option<u64>,
    pub outgoing: &'a Outgoing,
    pub traffic: &'a Traffic,
}

impl SnapshotParts<'_> {
    /// The snapshot, with the ICE restarts of the connections still `open`.
    pub(crate) fn snapshot<'s>(&self, open: impl Iterator<Item = &'s PeerSession>) -> CallSnapshot {
        let RoomPicture {
            participants,
            chat,
            sent,
        } = RoomPicture::of(self.room, self.presence);
        let ice_restarts = self.traffic.closed_restarts + open.map(PeerSession::ice_restarts).sum::<u32>();
        CallSnapshot {
            local: self.joined_ms.map(|_| self.local.clone()),
            identity: Some(self.room.identity().clone()),
            joined_ms: self.joined_ms,
            participants,
            chat,
            sent,
            ..self
                .record
                .snapshot(self.outgoing.totals(), self.traffic.bytes, ice_restarts)
        }
    }
}
