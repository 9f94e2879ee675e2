//! A bounded single-consumer queue that drops the *oldest* item when full and counts drops.
//!
//! Real-time media prefers a fresh frame to a late one: a slow consumer loses old frames, never
//! blocks the capture or codec thread, and the drop count is visible in stats.

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Creates a queue holding at most `capacity` items.
pub fn drop_oldest<T>(capacity: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicBool::new(false));
    (
        QueueSender {
            tx,
            rx: rx.clone(),
            dropped: dropped.clone(),
            closed: closed.clone(),
        },
        QueueReceiver { rx, dropped, closed },
    )
}

/// The producing end. Cloneable.
#[derive(Clone)]
pub struct QueueSender<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
    dropped: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
}

/// The receiver has gone; the producer should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the receiving side of the media queue is gone")]
pub struct Disconnected;

impl<T> QueueSender<T> {
    /// Pushes `item`, dropping the oldest queued item if the queue is full.
    pub fn push(&self, mut item: T) -> Result<(), Disconnected> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Disconnected);
        }
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(Disconnected),
                Err(TrySendError::Full(back)) => {
                    item = back;
                    if self.rx.try_recv().is_ok() {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// Items dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The consuming end.
pub struct QueueReceiver<T> {
    rx: Receiver<T>,
    dropped: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
}

impl<T> Drop for QueueReceiver<T> {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

impl<T> QueueReceiver<T> {
    /// Waits up to `timeout` for an item. `Ok(None)` on timeout, `Err` once all senders are gone.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<T>, Disconnected> {
        match self.rx.recv_timeout(timeout) {
            Ok(item) => Ok(Some(item)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(Disconnected),
        }
    }

    /// Items dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_drops_oldest_and_counts() {
        let (tx, rx) = drop_oldest(2);
        for i in 0..5 {
            tx.push(i).unwrap();
        }
        assert_eq!(rx.dropped(), 3);
        let got: Vec<_> = std::iter::from_fn(|| rx.recv_timeout(Duration::ZERO).unwrap()).collect();
        assert_eq!(got, vec![3, 4]);
    }

    #[test]
    fn producer_learns_consumer_is_gone() {
        let (tx, rx) = drop_oldest::<u8>(1);
        drop(rx);
        assert_eq!(tx.push(1), Err(Disconnected));
    }
}
