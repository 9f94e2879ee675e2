//! The JSON report `join` writes: a stable, documented shape for scripts and benchmarks.

use confab_core::{ConversationId, DeliveryState, IdentityId, LeaveReason};
use confab_engine::{CallSnapshot, Reconnection};
use serde::Serialize;
use std::collections::HashMap;

/// The whole report.
#[derive(Serialize)]
pub(crate) struct Report {
    /// Milliseconds from the join call to being admitted; `null` if the join failed.
    joined_ms: Option<u64>,
    /// One entry per remote participant seen.
    participants: Vec<ParticipantReport>,
    /// Every chat message received, in order.
    chat: Vec<ChatReport>,
    /// Video frames this client sent.
    frames_sent: u64,
    /// Captured frames dropped before reaching the network (encoder or writer behind).
    frames_dropped_before_send: u64,
    /// Mean H.264 encode time per frame, milliseconds.
    encode_ms_per_frame: f64,
    /// The bitrate the video was encoded at last, kbit/s (lowered while receivers report loss).
    video_send_kbps: u32,
    /// One sentence per problem.
    errors: Vec<String>,
    /// Each lost connection that was recovered: when it was noticed, when we were back, and how
    /// (`resumed`, `rejoined`, `media_path_restored` when only media was lost and came back, or
    /// `media_reconnected` when the server closed a media connection and a new one replaced it).
    reconnections: Vec<Reconnection>,
    /// ICE restarts the media connections went through (a lost media path brought back).
    ice_restarts: u32,
    /// How the call ended: `hangup` (we left), `replaced`, `connection_lost`, …
    ended: Option<LeaveReason>,
}

#[derive(Serialize)]
struct ParticipantReport {
    name: String,
    first_frame_ms: Option<u64>,
    frames_decoded: u64,
    frames_corrupt: u64,
    frames_expected: u64,
    frames_dropped_before_decode: u64,
    frames_lost: u64,
    longest_gap_ms: u64,
    frames_skipped_awaiting_keyframe: u64,
    audio_frames_decoded: u64,
    left: LeftReport,
}

#[derive(Serialize)]
struct LeftReport {
    /// Whether they left while we were there.
    left: bool,
    /// How: `hangup`, `connection_lost`, …
    reason: Option<LeaveReason>,
}

#[derive(Serialize)]
struct ChatReport {
    from: String,
    conversation: ConversationReport,
    text: String,
}

/// `"public"`, or `{"private": [member names, sorted]}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ConversationReport {
    Public,
    Private(Vec<String>),
}

/// Display names by identity: ours, then everyone seen (latest session wins).
fn names(snapshot: &CallSnapshot, own_name: &str) -> HashMap<IdentityId, String> {
    let mut names: HashMap<_, _> = snapshot
        .participants
        .iter()
        .map(|p| (p.identity.clone(), p.name.clone()))
        .collect();
    if let Some(me) = &snapshot.identity {
        names.insert(me.clone(), own_name.to_owned());
    }
    names
}

fn name_of(names: &HashMap<IdentityId, String>, identity: &IdentityId) -> String {
    names
        .get(identity)
        .cloned()
        .unwrap_or_else(|| identity.to_string())
}

fn conversation(names: &HashMap<IdentityId, String>, id: &ConversationId) -> ConversationReport {
    match id {
        ConversationId::Private(members) => {
            let mut list: Vec<_> = members.iter().map(|m| name_of(names, m)).collect();
            list.sort();
            ConversationReport::Private(list)
        }
        _ => ConversationReport::Public,
    }
}

/// One sentence per private message that did not (or not provably) reach a recipient.
fn delivery_errors(snapshot: &CallSnapshot, names: &HashMap<IdentityId, String>) -> Vec<String> {
    let mut errors = Vec::new();
    for sent in &snapshot.sent {
        for (recipient, state) in &sent.delivery {
            let who = name_of(names, recipient);
            match state {
                DeliveryState::NotDelivered(reason) => {
                    errors.push(format!(
                        "private message {} to {who} not delivered: {reason}",
                        sent.id
                    ));
                }
                DeliveryState::Pending => {
                    errors.push(format!(
                        "private message {} to {who}: no delivery confirmation",
                        sent.id
                    ));
                }
                DeliveryState::Delivered => {}
            }
        }
    }
    errors
}

impl Report {
    pub(crate) fn new(snapshot: CallSnapshot, own_name: &str, mut extra_errors: Vec<String>) -> Self {
        let names = names(&snapshot, own_name);
        let mut errors = delivery_errors(&snapshot, &names);
        errors.extend(snapshot.errors.iter().cloned());
        errors.append(&mut extra_errors);
        let chat = snapshot
            .chat
            .iter()
            .map(|m| ChatReport {
                from: m.from_name.clone(),
                conversation: conversation(&names, &m.conversation),
                text: m.text.clone(),
            })
            .collect();
        Self {
            joined_ms: snapshot.joined_ms,
            participants: snapshot
                .participants
                .into_iter()
                .map(|p| ParticipantReport {
                    name: p.name,
                    first_frame_ms: p.first_frame_ms,
                    frames_decoded: p.frames_decoded,
                    frames_corrupt: p.frames_corrupt,
                    frames_expected: p.frames_expected,
                    frames_dropped_before_decode: p.frames_dropped_before_decode,
                    frames_lost: p.frames_lost,
                    longest_gap_ms: p.longest_gap_ms,
                    frames_skipped_awaiting_keyframe: p.frames_skipped_awaiting_keyframe,
                    audio_frames_decoded: p.audio_frames_decoded,
                    left: LeftReport {
                        left: p.left.is_some(),
                        reason: p.left,
                    },
                })
                .collect(),
            chat,
            frames_sent: snapshot.frames_sent,
            frames_dropped_before_send: snapshot.frames_dropped_before_send,
            encode_ms_per_frame: snapshot.encode_ms_per_frame,
            video_send_kbps: snapshot.video_send_bitrate_bps / 1000,
            errors,
            reconnections: snapshot.reconnections,
            ice_restarts: snapshot.ice_restarts,
            ended: snapshot.ended,
        }
    }

    /// Writes the report to `target` (`-` for stdout).
    pub(crate) fn write(&self, target: &str) -> Result<(), String> {
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        if target == "-" {
            println!("{json}");
            Ok(())
        } else {
            std::fs::write(target, json + "\n")
                .map_err(|e| format!("cannot write the report to {target}: {e}"))
        }
    }
}
