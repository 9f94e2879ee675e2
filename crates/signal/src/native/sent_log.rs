//! The client's half of "nothing is lost when the connection drops": every message after
//! `join` gets the next number and is kept until the server says it processed it, so that
//! after a `resume` whatever the old connection swallowed is sent again under its own number.

use super::wire::ClientMessage;
use std::collections::VecDeque;

/// Most messages kept unacknowledged. The server acknowledges every ping (every 2 s), so
/// only a long outage with a busy call reaches this; past it the session cannot be resumed
/// and the client joins afresh.
const MAX_UNACKNOWLEDGED: usize = 4096;

/// Numbered messages the server has not acknowledged yet, as encoded frames.
#[derive(Debug, Default)]
pub(super) struct SentLog {
    last: u64,
    unacknowledged: VecDeque<(u64, String)>,
    /// Some were dropped for room: a resume could lose them, so it must not be tried.
    overflowed: bool,
}

impl SentLog {
    /// Numbers `message`, keeps it, and returns its frame.
    pub(super) fn number(&mut self, message: &ClientMessage) -> String {
        self.last += 1;
        let frame = message.encode_numbered(self.last);
        if self.unacknowledged.len() == MAX_UNACKNOWLEDGED {
            self.unacknowledged.pop_front();
            self.overflowed = true;
        }
        self.unacknowledged.push_back((self.last, frame.clone()));
        frame
    }

    /// The server processed everything up to `received`.
    pub(super) fn acknowledged(&mut self, received: u64) {
        while self
            .unacknowledged
            .front()
            .is_some_and(|(seq, _)| *seq <= received)
        {
            self.unacknowledged.pop_front();
        }
    }

    /// Whether every message the server may not have processed is still here.
    pub(super) fn complete(&self) -> bool {
        !self.overflowed
    }

    /// After the server said it processed up to `received`: the frames to send again.
    pub(super) fn resend_after(&mut self, received: u64) -> Vec<String> {
        self.acknowledged(received);
        self.unacknowledged
            .iter()
            .map(|(_, frame)| frame.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(frames: &[String]) -> Vec<u64> {
        frames
            .iter()
            .map(|f| ClientMessage::decode(f).unwrap().seq.unwrap())
            .collect()
    }

    #[test]
    fn unacknowledged_messages_are_sent_again_under_their_own_numbers() {
        let mut log = SentLog::default();
        let leave = ClientMessage::Leave {};
        let sent: Vec<String> = (0..5).map(|_| log.number(&leave)).collect();
        assert_eq!(numbers(&sent), [1, 2, 3, 4, 5]);
        log.acknowledged(2);
        assert_eq!(numbers(&log.resend_after(3)), [4, 5]);
        assert_eq!(
            numbers(&[log.number(&leave)]),
            [6],
            "numbering goes on after a resume"
        );
        assert_eq!(numbers(&log.resend_after(6)), Vec::<u64>::new());
        assert!(log.complete());
    }

    #[test]
    fn a_log_that_had_to_drop_messages_says_so() {
        let mut log = SentLog::default();
        for _ in 0..=MAX_UNACKNOWLEDGED {
            log.number(&ClientMessage::Leave {});
        }
        assert!(!log.complete());
    }
}
