//! The media connection's path as the call sees it. When the path is lost while signaling
//! still works, the server restarts ICE and the same connection comes back: the call only
//! notes when the loss began and when media flowed again. If the path stays down for
//! [`MEDIA_RECOVERY_LIMIT`], the call gives up on that connection and rejoins in full.

use confab_rtc::PeerState;
use std::time::{Duration, Instant};

/// How long the media path may stay down before the call rejoins in full. Longer than ICE's
/// own failure time (30 s after the last packet), so the server's restarts get their chance.
pub(crate) const MEDIA_RECOVERY_LIMIT: Duration = Duration::from_secs(45);

/// What a state change meant for the call.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PathChange {
    /// Nothing to tell.
    None,
    /// Media stopped flowing.
    Interrupted,
    /// Media flows again; the interruption began at this instant.
    Restored(Instant),
}

/// Whether the current media connection's path is down, and since when.
#[derive(Debug, Default)]
pub(super) struct MediaPathWatch {
    down_since: Option<Instant>,
}

impl MediaPathWatch {
    /// Notes the current connection's new state at `now`.
    pub(super) fn state_changed(&mut self, state: PeerState, now: Instant) -> PathChange {
        match state {
            PeerState::Disconnected | PeerState::Failed if self.down_since.is_none() => {
                self.down_since = Some(now);
                PathChange::Interrupted
            }
            PeerState::Connected => self
                .down_since
                .take()
                .map_or(PathChange::None, PathChange::Restored),
            _ => PathChange::None,
        }
    }

    /// When the call should give up on this connection's path, if it is down.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.down_since.map(|since| since + MEDIA_RECOVERY_LIMIT)
    }

    /// Forgets the connection (it was closed, or a new one replaces it).
    pub(super) fn reset(&mut self) {
        self.down_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_is_reported_once_and_its_end_carries_its_start() {
        let start = Instant::now();
        let mut path = MediaPathWatch::default();
        assert_eq!(path.state_changed(PeerState::Connected, start), PathChange::None);
        assert_eq!(path.deadline(), None);
        assert_eq!(
            path.state_changed(PeerState::Disconnected, start),
            PathChange::Interrupted
        );
        let later = start + Duration::from_secs(3);
        assert_eq!(path.state_changed(PeerState::Failed, later), PathChange::None);
        assert_eq!(path.state_changed(PeerState::Connecting, later), PathChange::None);
        assert_eq!(path.deadline(), Some(start + MEDIA_RECOVERY_LIMIT));
        assert_eq!(
            path.state_changed(PeerState::Connected, later),
            PathChange::Restored(start)
        );
        assert_eq!(path.deadline(), None);
    }
}
