//! SFU forwarding: one task per published track reads its RTP and hands each packet to every
//! subscriber's own writer task through a small queue. A subscriber whose connection stalls or
//! dies fills only its own queue (its packets are dropped, oldest first) and never holds up the
//! others.

use confab_rtc::{ForwardTrack, RemoteTrack, RtpPacket};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Packets one subscriber may have waiting before the oldest are dropped (about a second of
/// video at our bitrates).
const SUBSCRIBER_QUEUE: usize = 256;

/// One subscriber's queue and writer task.
struct Subscriber {
    track: Arc<ForwardTrack>,
    queue: Arc<PacketQueue>,
    writer: JoinHandle<()>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

/// A bounded drop-oldest queue with a wake-up for its one reader.
#[derive(Default)]
struct PacketQueue {
    packets: Mutex<VecDeque<Arc<RtpPacket>>>,
    ready: Notify,
}

impl PacketQueue {
    fn push(&self, packet: Arc<RtpPacket>) {
        let mut packets = self.packets.lock().unwrap_or_else(PoisonError::into_inner);
        if packets.len() >= SUBSCRIBER_QUEUE {
            packets.pop_front();
        }
        packets.push_back(packet);
        drop(packets);
        self.ready.notify_one();
    }

    async fn pop(&self) -> Arc<RtpPacket> {
        loop {
            let next = self
                .packets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front();
            match next {
                Some(packet) => return packet,
                None => self.ready.notified().await,
            }
        }
    }
}

type Subscribers = Arc<Vec<Arc<Subscriber>>>;

/// The set of subscriber tracks one published track is copied to.
pub(crate) struct Fanout {
    subscribers: watch::Sender<Subscribers>,
    task: JoinHandle<()>,
}

impl Fanout {
    /// Starts copying `source` to the (initially empty) subscriber set.
    pub(crate) fn start(source: Arc<RemoteTrack>) -> Self {
        let (subscribers, mut current) = watch::channel::<Subscribers>(Arc::new(Vec::new()));
        let task = tokio::spawn(async move {
            while let Some(packet) = source.next_packet().await {
                let packet = Arc::new(packet);
                let targets = current.borrow_and_update().clone();
                for target in targets.iter() {
                    target.queue.push(packet.clone());
                }
            }
        });
        Self { subscribers, task }
    }

    /// Adds a subscriber track with its own writer.
    pub(crate) fn add(&self, track: Arc<ForwardTrack>) {
        let queue = Arc::new(PacketQueue::default());
        let (reader, writer_track) = (queue.clone(), track.clone());
        let writer = tokio::spawn(async move {
            loop {
                let packet = reader.pop().await;
                // Not negotiated yet, or already gone: that subscriber misses this packet.
                let _ = writer_track.write(&packet).await;
            }
        });
        let subscriber = Arc::new(Subscriber { track, queue, writer });
        self.subscribers.send_modify(|all| {
            let mut next = all.as_ref().clone();
            next.push(subscriber);
            *all = Arc::new(next);
        });
    }

    /// Removes a subscriber track (its writer stops).
    pub(crate) fn remove(&self, track: &Arc<ForwardTrack>) {
        self.subscribers.send_modify(|all| {
            let next: Vec<_> = all
                .iter()
                .filter(|s| !Arc::ptr_eq(&s.track, track))
                .cloned()
                .collect();
            *all = Arc::new(next);
        });
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        self.task.abort();
    }
}
