//! Sequence numbers for forwarding slots: one SSRC carries one publisher after another, and the
//! receiver's SRTP replay protection drops any packet whose index is not newer than what it has
//! seen on that SSRC. So each new occupant's packets are renumbered to continue where the slot's
//! previous occupant stopped.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// The last sequence number a slot sent (shared by all its occupants over time).
#[derive(Debug, Default)]
pub(crate) struct SlotSequence {
    /// `NONE` until the slot has sent a packet; otherwise the last sequence number sent.
    last: AtomicU32,
}

impl SlotSequence {
    const NONE: u32 = u32::MAX;

    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            last: AtomicU32::new(Self::NONE),
        })
    }

    fn offset_for(&self, first: u16) -> u16 {
        match self.last.load(Ordering::Relaxed) {
            Self::NONE => 0,
            last => (last as u16).wrapping_add(1).wrapping_sub(first),
        }
    }

    fn record(&self, sent: u16) {
        let _ = self
            .last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                let newer = last == Self::NONE || sent.wrapping_sub(last as u16) < 0x8000;
                newer.then_some(u32::from(sent))
            });
    }
}

/// How one occupant's sequence numbers map onto its slot's.
#[derive(Debug)]
pub(crate) struct Renumbering {
    slot: Arc<SlotSequence>,
    offset: OnceLock<u16>,
}

impl Renumbering {
    pub(crate) fn new(slot: Arc<SlotSequence>) -> Self {
        Self {
            slot,
            offset: OnceLock::new(),
        }
    }

    /// The slot's sequence number for the occupant's `sequence`.
    pub(crate) fn map(&self, sequence: u16) -> u16 {
        let offset = *self.offset.get_or_init(|| self.slot.offset_for(sequence));
        let mapped = sequence.wrapping_add(offset);
        self.slot.record(mapped);
        mapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_occupant_keeps_its_numbers() {
        let slot = SlotSequence::new();
        let first = Renumbering::new(slot);
        assert_eq!(first.map(500), 500);
        assert_eq!(first.map(501), 501);
    }

    #[test]
    fn the_next_occupant_continues_where_the_last_one_stopped() {
        let slot = SlotSequence::new();
        let first = Renumbering::new(slot.clone());
        for n in 40_000..40_010 {
            first.map(n);
        }
        let second = Renumbering::new(slot);
        assert_eq!(second.map(7), 40_010);
        assert_eq!(second.map(8), 40_011);
        // A late packet from before its first keeps its place, it does not move the slot back.
        assert_eq!(second.map(6), 40_009);
        assert_eq!(second.map(9), 40_012);
    }

    #[test]
    fn numbering_wraps_around() {
        let slot = SlotSequence::new();
        let first = Renumbering::new(slot.clone());
        first.map(u16::MAX);
        let second = Renumbering::new(slot);
        assert_eq!(second.map(1234), 0);
        assert_eq!(second.map(1235), 1);
    }
}
