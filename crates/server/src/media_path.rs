//! Getting a member's media path back without a rejoin. When a member's connection loses
//! connectivity (its ICE consent checks go unanswered: a dropped route, a switch of network, a
//! firewall that closed UDP) while signaling still reaches them, the room restarts ICE: an offer
//! with fresh credentials, so both sides gather and check candidates anew and take whatever path
//! works now. The DTLS session, the tracks and the data channels carry on, and nobody sees a
//! leave. Restarts repeat every [`RESTART_EVERY`] until media flows again or the member leaves
//! (its signaling is lost too, or the client gives up on the path and rejoins in full).

use confab_rtc::PeerState;
use std::time::Duration;

/// How long a connection may be disconnected (which ICE reports 5 s after the last packet)
/// before the first restart. Until then the connection's own consent checks keep probing the
/// path it had, and a path that only dropped for a while comes back at once by itself; a
/// restart would replace that path with new checks.
pub(crate) const RESTART_AFTER: Duration = Duration::from_secs(5);
/// How often to restart again while the path is still down. Each restart checks its candidate
/// pairs for about 1.4 s and then waits idle, so a path that comes back is found by the next
/// restart: at most this long after it returned. (Checking longer instead keeps every closed
/// connection busy for as long, which the soak test measured as twice the client's memory.)
pub(crate) const RESTART_EVERY: Duration = Duration::from_secs(3);

/// One member's media path, as far as restarting goes.
#[derive(Debug, Default)]
pub(crate) struct MediaPath {
    connected: bool,
    /// A check is scheduled; no second one is needed.
    check_scheduled: bool,
    /// The next offer to this member restarts ICE.
    restart_wanted: bool,
}

impl MediaPath {
    /// Notes the connection's new state; returns when to check whether to restart, if a check
    /// is needed and none is scheduled.
    pub(crate) fn state_changed(&mut self, state: PeerState) -> Option<Duration> {
        self.connected = state == PeerState::Connected;
        let lost = matches!(state, PeerState::Disconnected | PeerState::Failed);
        (lost && !std::mem::replace(&mut self.check_scheduled, true)).then_some(RESTART_AFTER)
    }

    /// A scheduled check fell due. If media still does not flow, the next offer restarts ICE
    /// and this returns when to check again.
    pub(crate) fn check_due(&mut self) -> Option<Duration> {
        if self.connected {
            self.check_scheduled = false;
            return None;
        }
        self.restart_wanted = true;
        Some(RESTART_EVERY)
    }

    /// Whether the offer being made now should restart ICE (asked once per offer).
    pub(crate) fn take_restart(&mut self) -> bool {
        std::mem::take(&mut self.restart_wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_path_is_restarted_after_a_grace_and_again_until_it_is_back() {
        let mut path = MediaPath::default();
        assert_eq!(path.state_changed(PeerState::Connecting), None);
        assert_eq!(path.state_changed(PeerState::Connected), None);
        assert_eq!(path.state_changed(PeerState::Disconnected), Some(RESTART_AFTER));
        // A second bad state while a check is scheduled schedules nothing more.
        assert_eq!(path.state_changed(PeerState::Failed), None);
        assert!(!path.take_restart(), "no restart before the check falls due");
        assert_eq!(path.check_due(), Some(RESTART_EVERY));
        assert!(path.take_restart());
        assert!(!path.take_restart(), "one restart per check");
        assert_eq!(path.state_changed(PeerState::Connecting), None);
        assert_eq!(path.check_due(), Some(RESTART_EVERY), "still down: restart again");
        assert!(path.take_restart());
        assert_eq!(path.state_changed(PeerState::Connected), None);
        assert_eq!(path.check_due(), None, "back: checks stop");
        assert_eq!(path.state_changed(PeerState::Disconnected), Some(RESTART_AFTER));
    }

    #[test]
    fn a_path_that_comes_back_by_itself_is_not_restarted() {
        let mut path = MediaPath::default();
        path.state_changed(PeerState::Connected);
        assert_eq!(path.state_changed(PeerState::Disconnected), Some(RESTART_AFTER));
        path.state_changed(PeerState::Connected);
        assert_eq!(path.check_due(), None);
        assert!(!path.take_restart());
    }
}
