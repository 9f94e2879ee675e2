//! What every kind of call keeps about itself for its events and its final picture: when it
//! started, the sentences the user was told, the recoveries, and how it ended; and the part of
//! the snapshot every kind of call reports alike.

use crate::api::{CallError, CallEvent, CallSnapshot, Reconnection, Recovery};
use crate::send::{LocalProblem, SentTotals};
use confab_core::LeaveReason;
use confab_media::pipeline::MediaError;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

pub(crate) struct CallRecord {
    /// When the user asked to join.
    pub started: Instant,
    /// Where the call's events go.
    pub events: UnboundedSender<CallEvent>,
    /// User-facing sentences for everything that went wrong.
    pub errors: Vec<String>,
    /// Each loss that was recovered.
    pub reconnections: Vec<Reconnection>,
    /// How the call ended, once it has.
    pub ended: Option<LeaveReason>,
}

impl CallRecord {
    pub(crate) fn new(started: Instant, events: UnboundedSender<CallEvent>) -> Self {
        Self {
            started,
            events,
            errors: Vec::new(),
            reconnections: Vec::new(),
            ended: None,
        }
    }

    /// Milliseconds since the join was asked for.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Sends an event (ignored once nobody listens).
    pub(crate) fn send(&self, event: CallEvent) {
        let _ = self.events.send(event);
    }

    /// Something went wrong but the call goes on: logged, kept, and told to the user.
    pub(crate) fn problem(&mut self, error: CallError) {
        tracing::warn!(error = %error, "call problem");
        self.errors.push(error.to_string());
        self.send(CallEvent::Problem(error));
    }

    /// Our camera or microphone failed (told as [`CallEvent::SourceLost`]) or its encoder did
    /// (a [`CallEvent::Problem`]); the call goes on either way.
    pub(crate) fn local_problem(&mut self, problem: LocalProblem) {
        match problem.error {
            MediaError::Source(error) => {
                tracing::warn!(kind = ?problem.kind, error = %error, "local source lost");
                self.errors.push(error.to_string());
                self.send(CallEvent::SourceLost {
                    kind: problem.kind,
                    error,
                });
            }
            other => self.problem(other.into()),
        }
    }

    /// The call is over.
    pub(crate) fn end(&mut self, reason: LeaveReason, error: Option<CallError>) {
        if let Some(e) = &error {
            self.errors.push(e.to_string());
        }
        self.ended = Some(reason);
        self.send(CallEvent::Ended { reason, error });
    }

    /// The part of a snapshot every kind of call reports alike: what it sent, the media bytes
    /// both ways, ICE restarts, and this record. The caller fills in who it is and who it saw.
    pub(crate) fn snapshot(
        &self,
        sent: SentTotals,
        media_bytes: (u64, u64),
        ice_restarts: u32,
    ) -> CallSnapshot {
        CallSnapshot {
            frames_sent: sent.frames_sent,
            frames_dropped_before_send: sent.frames_dropped_before_send,
            media_bytes,
            encode_ms_per_frame: sent.encode_ms_per_frame,
            video_send_bitrate_bps: sent.video_bitrate_bps,
            errors: self.errors.clone(),
            reconnections: self.reconnections.clone(),
            ice_restarts,
            ended: self.ended,
            ..CallSnapshot::default()
        }
    }

    /// Notes that the call is back after a loss that began at `since`.
    pub(crate) fn recovered(&mut self, since: Instant, how: Recovery) {
        let now_ms = self.elapsed_ms();
        let down_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(0);
        self.reconnections.push(Reconnection {
            lost_ms: now_ms.saturating_sub(down_ms),
            rejoined_ms: now_ms,
            how,
        });
    }
}
