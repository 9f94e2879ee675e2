//! The JSON report `join` writes: a stable, documented shape for scripts and benchmarks.

use confab_core::{ConversationId, LeaveReason};
use confab_engine::CallSnapshot;
use serde::Serialize;

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
    /// One sentence per problem.
    errors: Vec<String>,
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
    conversation: ConversationId,
    text: String,
}

impl Report {
    pub(crate) fn new(snapshot: CallSnapshot, mut extra_errors: Vec<String>) -> Self {
        let mut errors = snapshot.errors;
        errors.append(&mut extra_errors);
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
                    frames_skipped_awaiting_keyframe: p.frames_skipped_awaiting_keyframe,
                    audio_frames_decoded: p.audio_frames_decoded,
                    left: LeftReport {
                        left: p.left.is_some(),
                        reason: p.left,
                    },
                })
                .collect(),
            chat: snapshot
                .chat
                .into_iter()
                .map(|m| ChatReport {
                    from: m.from_name,
                    conversation: m.conversation,
                    text: m.text,
                })
                .collect(),
            frames_sent: snapshot.frames_sent,
            frames_dropped_before_send: snapshot.frames_dropped_before_send,
            encode_ms_per_frame: snapshot.encode_ms_per_frame,
            errors,
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
