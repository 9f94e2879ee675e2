//! Which remote sources have ended, so a [`RemoteTrack`](crate::RemoteTrack) ends as soon as
//! its sender says goodbye or the connection is gone.
//!
//! The library routes an inbound compound RTCP packet by its first report only: Chromium's BYE
//! travels behind a receiver report about *our* source, so it arrives at our local track's
//! feedback, never at the remote track it ends. Every RTCP path feeds its BYEs in here, and the
//! session marks everything ended when the other side closes the connection.

use rtc::rtcp::goodbye::Goodbye;
use std::collections::HashSet;
use tokio::sync::watch;

#[derive(Debug, Default)]
struct Ended {
    everything: bool,
    sources: HashSet<u32>,
}

/// The session's record of ended remote sources.
#[derive(Debug)]
pub(crate) struct Endings(watch::Sender<Ended>);

impl Endings {
    pub(crate) fn new() -> Self {
        Self(watch::Sender::new(Ended::default()))
    }

    /// Records the sources named by any BYE among `packets`.
    pub(crate) fn note_goodbyes(&self, packets: &[Box<dyn rtc::rtcp::Packet>]) {
        let gone: Vec<u32> = packets
            .iter()
            .filter_map(|p| p.as_any().downcast_ref::<Goodbye>())
            .flat_map(|bye| bye.sources.iter().copied())
            .collect();
        if !gone.is_empty() {
            self.0.send_modify(|ended| ended.sources.extend(gone));
        }
    }

    /// The connection is gone: every remote source has ended.
    pub(crate) fn end_everything(&self) {
        self.0.send_modify(|ended| ended.everything = true);
    }

    pub(crate) fn watch(&self) -> EndWatch {
        EndWatch(self.0.subscribe())
    }
}

/// A remote track's view of [`Endings`].
#[derive(Debug, Clone)]
pub(crate) struct EndWatch(watch::Receiver<Ended>);

impl EndWatch {
    /// Resolves once `ssrc` has ended (or the session is gone).
    pub(crate) async fn ended(&self, ssrc: u32) {
        let mut watch = self.0.clone();
        let _ = watch
            .wait_for(|ended| ended.everything || ended.sources.contains(&ssrc))
            .await;
    }
}
