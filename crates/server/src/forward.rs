//! SFU forwarding: one task per published track copies its RTP to every subscriber's
//! [`ForwardTrack`]. The subscriber list is swapped atomically as people come and go.

use confab_rtc::{ForwardTrack, RemoteTrack};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

type Sinks = Arc<Vec<Arc<ForwardTrack>>>;

/// The set of subscriber tracks one published track is copied to.
pub(crate) struct Fanout {
    sinks: watch::Sender<Sinks>,
    task: JoinHandle<()>,
}

impl Fanout {
    /// Starts copying `source` to the (initially empty) subscriber set.
    pub(crate) fn start(source: Arc<RemoteTrack>) -> Self {
        let (sinks, mut current) = watch::channel::<Sinks>(Arc::new(Vec::new()));
        let task = tokio::spawn(async move {
            while let Some(packet) = source.next_packet().await {
                let targets = current.borrow_and_update().clone();
                for target in targets.iter() {
                    // Not negotiated yet, or already gone: that subscriber misses this packet.
                    let _ = target.write(&packet).await;
                }
            }
        });
        Self { sinks, task }
    }

    /// Adds a subscriber track.
    pub(crate) fn add(&self, track: Arc<ForwardTrack>) {
        self.sinks.send_modify(|sinks| {
            let mut next = sinks.as_ref().clone();
            next.push(track);
            *sinks = Arc::new(next);
        });
    }

    /// Removes a subscriber track.
    pub(crate) fn remove(&self, track: &Arc<ForwardTrack>) {
        self.sinks.send_modify(|sinks| {
            let next: Vec<_> = sinks.iter().filter(|t| !Arc::ptr_eq(t, track)).cloned().collect();
            *sinks = Arc::new(next);
        });
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        self.task.abort();
    }
}
