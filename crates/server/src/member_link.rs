//! A member's signaling link, which outlives the connection carrying it: every message to the
//! member is numbered and kept until the member acknowledges it, so that when the connection
//! drops, the member can resume on a new one within [`RESUME_GRACE`] and receive whatever the
//! old connection swallowed (see `confab_signal::native::wire` for the protocol). Messages sent
//! while no connection is attached are kept for the resume too.

use confab_core::SignalErrorCode;
use confab_signal::native::wire::ServerMessage;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a member whose connection dropped keeps its place (nobody sees it leave) while it
/// may resume.
pub(crate) const RESUME_GRACE: Duration = Duration::from_secs(20);
/// Most messages kept unacknowledged. A member acknowledges with every ping (every 2 s); one
/// away for a whole grace period in a busy room stays far below this. Past it the session can
/// no longer be resumed, and the member joins afresh.
const MAX_UNACKNOWLEDGED: usize = 4096;

/// A frame for the connection's writer: a message and its number, if it has one.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) seq: Option<u64>,
    pub(crate) message: ServerMessage,
}

impl Outgoing {
    pub(crate) fn encode(&self) -> String {
        match self.seq {
            Some(seq) => self.message.encode_numbered(seq),
            None => self.message.encode(),
        }
    }
}

/// Where a connection's writer takes its frames from.
pub(crate) type Outbox = mpsc::UnboundedSender<Outgoing>;

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// One member's numbered messages, its connection (if one is attached) and what it processed.
pub(crate) struct MemberLink {
    out: Option<Outbox>,
    /// Counts connections attached; a connection's messages and its end are only heeded while
    /// it is the current one.
    epoch: u64,
    last_sent: u64,
    unacknowledged: VecDeque<(u64, ServerMessage)>,
    /// Some were dropped for room: a resume could lose them, so none is allowed.
    overflowed: bool,
    /// The highest client `seq` processed.
    received: u64,
    secret: [u8; 32],
}

impl MemberLink {
    /// A link over `out`, and the secret that resumes it (for the member's `welcome`).
    pub(crate) fn new(out: Outbox) -> (Self, String) {
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let link = Self {
            out: Some(out),
            epoch: 0,
            last_sent: 0,
            unacknowledged: VecDeque::new(),
            overflowed: false,
            received: 0,
            secret: digest(&secret),
        };
        (link, secret)
    }

    /// The current connection's number.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Numbers `message`, keeps it until acknowledged, and sends it if a connection is attached.
    pub(crate) fn send(&mut self, message: ServerMessage) {
        self.last_sent += 1;
        if self.unacknowledged.len() == MAX_UNACKNOWLEDGED {
            self.unacknowledged.pop_front();
            self.overflowed = true;
        }
        self.unacknowledged.push_back((self.last_sent, message.clone()));
        self.send_unnumbered_as(Some(self.last_sent), message);
    }

    /// Sends a message about the connection itself (not kept, not numbered).
    pub(crate) fn send_unnumbered(&self, message: ServerMessage) {
        self.send_unnumbered_as(None, message);
    }

    fn send_unnumbered_as(&self, seq: Option<u64>, message: ServerMessage) {
        if let Some(out) = &self.out {
            let _ = out.send(Outgoing { seq, message });
        }
    }

    /// Whether a client message numbered `seq` is new (and now counts as processed); a message
    /// sent again after a resume that was processed before is not.
    pub(crate) fn accept(&mut self, seq: Option<u64>) -> bool {
        match seq {
            Some(seq) if seq <= self.received => false,
            Some(seq) => {
                self.received = seq;
                true
            }
            None => true,
        }
    }

    /// A ping: the member processed our messages up to `received`. Answers with what we
    /// processed of theirs.
    pub(crate) fn ping(&mut self, received: u64) {
        while self
            .unacknowledged
            .front()
            .is_some_and(|(seq, _)| *seq <= received)
        {
            self.unacknowledged.pop_front();
        }
        self.send_unnumbered(ServerMessage::Pong {
            received: self.received,
        });
    }

    /// The connection numbered `epoch` ended. Returns whether it was the current one (the
    /// link is now waiting for a resume).
    pub(crate) fn detach(&mut self, epoch: u64) -> bool {
        if epoch != self.epoch || self.out.is_none() {
            return false;
        }
        self.out = None;
        true
    }

    /// Whether the link still waits for a resume after the connection numbered `epoch` ended.
    pub(crate) fn still_detached_since(&self, epoch: u64) -> bool {
        self.out.is_none() && self.epoch == epoch
    }

    /// Attaches a new connection if `secret` is this link's and nothing the member has not
    /// processed (beyond `received`) was dropped: answers `resumed`, sends again everything
    /// after `received`, and returns the new connection's epoch. The old connection, if it is
    /// still open, is dropped.
    pub(crate) fn resume(
        &mut self,
        out: Outbox,
        secret: &str,
        received: u64,
    ) -> Result<u64, SignalErrorCode> {
        let first_kept = self
            .unacknowledged
            .front()
            .map_or(self.last_sent + 1, |(seq, _)| *seq);
        let complete = !self.overflowed || first_kept <= received + 1;
        if digest(secret) != self.secret || !complete || received > self.last_sent {
            return Err(SignalErrorCode::SessionExpired);
        }
        self.out = Some(out);
        self.epoch += 1;
        self.send_unnumbered(ServerMessage::Resumed {
            received: self.received,
        });
        for (seq, message) in &self.unacknowledged {
            if *seq > received {
                self.send_unnumbered_as(Some(*seq), message.clone());
            }
        }
        Ok(self.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::ParticipantId;

    fn left(n: u32) -> ServerMessage {
        ServerMessage::ParticipantLeft {
            id: ParticipantId::new(format!("p{n}")).unwrap(),
            reason: confab_core::LeaveReason::Hangup,
        }
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Outgoing>) -> Vec<(Option<u64>, ServerMessage)> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|o| (o.seq, o.message))
            .collect()
    }

    #[test]
    fn a_resume_sends_again_what_the_member_missed_including_what_came_while_away() {
        let (tx, mut first) = mpsc::unbounded_channel();
        let (mut link, secret) = MemberLink::new(tx);
        link.send(left(1));
        link.send(left(2));
        assert!(link.accept(Some(1)) && link.accept(Some(2)));
        assert!(!link.accept(Some(2)), "a client message seen twice is dropped");
        link.ping(1);
        assert_eq!(
            drain(&mut first).last().unwrap().1,
            ServerMessage::Pong { received: 2 }
        );
        assert!(link.detach(0));
        link.send(left(3));
        assert!(link.still_detached_since(0));

        let (tx, mut second) = mpsc::unbounded_channel();
        assert_eq!(
            link.resume(tx.clone(), "wrong", 1),
            Err(SignalErrorCode::SessionExpired)
        );
        assert_eq!(link.resume(tx, &secret, 1), Ok(1));
        assert_eq!(
            drain(&mut second),
            vec![
                (None, ServerMessage::Resumed { received: 2 }),
                (Some(2), left(2)),
                (Some(3), left(3)),
            ]
        );
        assert!(!link.detach(0), "the old connection's end no longer counts");
        assert!(!link.still_detached_since(0));
    }

    #[test]
    fn a_link_that_dropped_unacknowledged_messages_cannot_be_resumed_from_before_them() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let (mut link, secret) = MemberLink::new(tx);
        for n in 0..=MAX_UNACKNOWLEDGED {
            link.send(left(u32::try_from(n).unwrap()));
        }
        let (tx, _second) = mpsc::unbounded_channel();
        assert_eq!(
            link.resume(tx.clone(), &secret, 0),
            Err(SignalErrorCode::SessionExpired)
        );
        assert_eq!(link.resume(tx, &secret, 1), Ok(1));
    }
}
