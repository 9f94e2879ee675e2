//! Sequence numbers and timestamps for forwarding slots: one SSRC carries one publisher after
//! another, and the receiver's SRTP replay protection drops any packet whose index is not newer
//! than what it has seen on that SSRC. So each new occupant's packets are renumbered to continue
//! where the slot's previous occupant stopped. Their RTP timestamps are moved the same way (to
//! follow the last one sent by the time that passed since), so a receiver's jitter buffer does
//! not take the new source's pictures for stale ones and drop them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

/// The last sequence number and timestamp a slot sent (shared by its occupants over time).
#[derive(Debug)]
pub(crate) struct SlotSequence {
    /// `NONE` until the slot has sent a packet; otherwise the last sequence number sent.
    last: AtomicU32,
    /// The newest timestamp sent and when, if any.
    last_timestamp: Mutex<Option<(u32, Instant)>>,
    /// RTP clock ticks per second of the slot's media.
    clock_rate: u32,
}

impl SlotSequence {
    const NONE: u32 = u32::MAX;

    pub(crate) fn new(clock_rate: u32) -> Arc<Self> {
        Arc::new(Self {
            last: AtomicU32::new(Self::NONE),
            last_timestamp: Mutex::new(None),
            clock_rate,
        })
    }

    fn timestamp_offset_for(&self, first: u32, now: Instant) -> u32 {
        match *self.last_timestamp.lock().unwrap_or_else(PoisonError::into_inner) {
            None => 0,
            Some((last, at)) => {
                let ticks = now.duration_since(at).as_micros() * u128::from(self.clock_rate) / 1_000_000;
                let elapsed = u32::try_from(ticks).unwrap_or(u32::MAX).max(1);
                last.wrapping_add(elapsed).wrapping_sub(first)
            }
        }
    }

    fn record_timestamp(&self, sent: u32, now: Instant) {
        let mut last = self.last_timestamp.lock().unwrap_or_else(PoisonError::into_inner);
        let newer = last.is_none_or(|(previous, _)| sent.wrapping_sub(previous) < 0x8000_0000);
        if newer {
            *last = Some((sent, now));
        }
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

/// How one occupant's sequence numbers and timestamps map onto its slot's.
#[derive(Debug)]
pub(crate) struct Renumbering {
    slot: Arc<SlotSequence>,
    offset: OnceLock<u16>,
    timestamp_offset: OnceLock<u32>,
}

impl Renumbering {
    pub(crate) fn new(slot: Arc<SlotSequence>) -> Self {
        Self {
            slot,
            offset: OnceLock::new(),
            timestamp_offset: OnceLock::new(),
        }
    }

    /// The slot's sequence number for the occupant's `sequence`.
    pub(crate) fn map(&self, sequence: u16) -> u16 {
        let offset = *self.offset.get_or_init(|| self.slot.offset_for(sequence));
        let mapped = sequence.wrapping_add(offset);
        self.slot.record(mapped);
        mapped
    }

    /// The slot's timestamp for the occupant's `timestamp`, sent at `now`.
    pub(crate) fn map_timestamp(&self, timestamp: u32, now: Instant) -> u32 {
        let offset = *self
            .timestamp_offset
            .get_or_init(|| self.slot.timestamp_offset_for(timestamp, now));
        let mapped = timestamp.wrapping_add(offset);
        self.slot.record_timestamp(mapped, now);
        mapped
    }

    /// A numbering for the slot's next occupant.
    pub(crate) fn successor(&self) -> Self {
        Self::new(self.slot.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_occupant_keeps_its_numbers() {
        let slot = SlotSequence::new(90_000);
        let first = Renumbering::new(slot);
        assert_eq!(first.map(500), 500);
        assert_eq!(first.map(501), 501);
    }

    #[test]
    fn the_next_occupant_continues_where_the_last_one_stopped() {
        let slot = SlotSequence::new(90_000);
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
    fn the_next_occupants_timestamps_follow_the_last_ones_by_the_time_passed() {
        let slot = SlotSequence::new(90_000);
        let start = Instant::now();
        let first = Renumbering::new(slot.clone());
        assert_eq!(first.map_timestamp(3_000_000_000, start), 3_000_000_000);
        assert_eq!(first.map_timestamp(3_000_003_000, start), 3_000_003_000);
        // The next source starts far behind; 100 ms later it continues 9,000 ticks on.
        let second = Renumbering::new(slot);
        let later = start + std::time::Duration::from_millis(100);
        assert_eq!(second.map_timestamp(5, later), 3_000_012_000);
        assert_eq!(second.map_timestamp(3_005, later), 3_000_015_000);
    }

    #[test]
    fn numbering_wraps_around() {
        let slot = SlotSequence::new(90_000);
        let first = Renumbering::new(slot.clone());
        first.map(u16::MAX);
        let second = Renumbering::new(slot);
        assert_eq!(second.map(1234), 0);
        assert_eq!(second.map(1235), 1);
    }
}
