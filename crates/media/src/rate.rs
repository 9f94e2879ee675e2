//! How fast to send video: the encoder's target bitrate, moved by what the receiving side reports.
//!
//! The loss-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02, section 6): more
//! than 10 % of our packets lost → the rate drops by half the loss fraction; under 2 % → it
//! creeps up by 8 %; in between it holds. A server saying outright that it is missing our
//! packets (Janus' `slowlink`) counts as heavy loss. A receiver's bandwidth estimate (REMB) caps
//! the rate while it is fresh, apart from the loss-based rate, so a low estimate (Janus ramps its
//! REMB up over the first seconds) does not hold the rate down once a higher one arrives. The
//! rate stays between a floor where video is still worth sending and the rate the call started
//! with.
//!
//! One encoder may feed several receivers (a mesh): any one of them reporting heavy loss lowers
//! the rate, and it only rises once no report at all has shown loss for a while, so the worst
//! path sets the pace. (Reports are not told apart by receiver: the most recent estimate is the
//! cap.)

use std::time::{Duration, Instant};

/// Loss above this fraction lowers the rate.
const HIGH_LOSS: f64 = 0.10;
/// Loss below this fraction lets the rate rise.
const LOW_LOSS: f64 = 0.02;
/// How much the rate rises per step while loss stays low.
const INCREASE: f64 = 1.08;
/// A server's "I am missing your packets" is taken as this much loss.
const REPORTED_CONGESTION_LOSS: f64 = 0.3;
/// Reports arrive about once a second per receiver; one drop per this long is enough.
const DECREASE_INTERVAL: Duration = Duration::from_millis(500);
/// The rate rises at most about once a second (reports come about that often, with jitter)…
const INCREASE_INTERVAL: Duration = Duration::from_millis(900);
/// …and only once no report has shown loss for this long.
const QUIET_BEFORE_INCREASE: Duration = Duration::from_millis(1500);
/// A bandwidth estimate no receiver has repeated for this long no longer caps the rate.
const CAP_LIFETIME: Duration = Duration::from_secs(5);
/// Below this, video is not worth its bits: the floor is this or an eighth of the start rate.
const FLOOR_BPS: u32 = 64_000;

/// What the receiving side told us about the video we send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateSignal {
    /// An RTCP reception report: the fraction (0.0-1.0) of our packets lost since the last one.
    Loss(f64),
    /// The server says it is missing many of our packets (no fraction given).
    Congested,
    /// The receiver's estimate of what the path carries, in bits per second (REMB).
    Cap(u64),
}

/// The target bitrate and the rules that move it.
#[derive(Debug, Clone)]
pub struct RateController {
    start_bps: u32,
    floor_bps: u32,
    /// The rate loss reports allow.
    loss_bps: u32,
    /// The latest bandwidth estimate and when it came.
    cap: Option<(u32, Instant)>,
    target_bps: u32,
    last_decrease: Option<Instant>,
    last_increase: Option<Instant>,
    last_loss: Option<Instant>,
}

impl RateController {
    /// Starts at (and never goes above) `start_bps`.
    pub fn new(start_bps: u32) -> Self {
        Self {
            start_bps,
            floor_bps: (start_bps / 8).max(FLOOR_BPS).min(start_bps),
            loss_bps: start_bps,
            cap: None,
            target_bps: start_bps,
            last_decrease: None,
            last_increase: None,
            last_loss: None,
        }
    }

    /// The rate to encode at now, in bits per second.
    pub fn target_bps(&self) -> u32 {
        self.target_bps
    }

    /// Takes one report; returns the new target when it changed.
    pub fn on_signal(&mut self, signal: RateSignal, now: Instant) -> Option<u32> {
        match signal {
            RateSignal::Loss(fraction) => self.on_loss(fraction.clamp(0.0, 1.0), now),
            RateSignal::Congested => self.on_loss(REPORTED_CONGESTION_LOSS, now),
            RateSignal::Cap(bps) => {
                let cap = u32::try_from(bps).unwrap_or(u32::MAX).max(self.floor_bps);
                self.cap = Some((cap, now));
            }
        }
        let fresh_cap = self
            .cap
            .filter(|(_, at)| now.saturating_duration_since(*at) < CAP_LIFETIME)
            .map_or(u32::MAX, |(cap, _)| cap);
        let before = self.target_bps;
        self.target_bps = self.loss_bps.min(fresh_cap);
        (self.target_bps != before).then_some(self.target_bps)
    }

    fn on_loss(&mut self, fraction: f64, now: Instant) {
        let since = |at: Option<Instant>| at.map_or(Duration::MAX, |at| now.saturating_duration_since(at));
        if fraction >= LOW_LOSS {
            self.last_loss = Some(now);
        }
        if fraction > HIGH_LOSS {
            if since(self.last_decrease) >= DECREASE_INTERVAL {
                // From what is being sent, not from a loss-based rate above a cap.
                self.set(f64::from(self.target_bps) * (1.0 - 0.5 * fraction));
                self.last_decrease = Some(now);
            }
        } else if fraction < LOW_LOSS
            && since(self.last_loss) >= QUIET_BEFORE_INCREASE
            && since(self.last_increase) >= INCREASE_INTERVAL
        {
            self.set(f64::from(self.loss_bps) * INCREASE);
            self.last_increase = Some(now);
        }
    }

    fn set(&mut self, bps: f64) {
        self.loss_bps = (bps as u32).clamp(self.floor_bps, self.start_bps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(start: Instant, s: f64) -> Instant {
        start + Duration::from_secs_f64(s)
    }

    #[test]
    fn heavy_loss_lowers_the_rate_by_half_the_loss_and_light_loss_holds_it() {
        let start = Instant::now();
        let mut rate = RateController::new(1_000_000);
        assert_eq!(rate.on_signal(RateSignal::Loss(0.4), start), Some(800_000));
        // A second report within half a second (another receiver) does not drop it again.
        assert_eq!(rate.on_signal(RateSignal::Loss(0.4), seconds(start, 0.2)), None);
        assert_eq!(
            rate.on_signal(RateSignal::Loss(0.2), seconds(start, 1.0)),
            Some(720_000)
        );
        assert_eq!(rate.on_signal(RateSignal::Loss(0.05), seconds(start, 5.0)), None);
    }

    #[test]
    fn the_rate_recovers_slowly_once_loss_stops_and_never_passes_the_start() {
        let start = Instant::now();
        let mut rate = RateController::new(500_000);
        rate.on_signal(RateSignal::Loss(1.0), start);
        assert_eq!(rate.target_bps(), 250_000);
        // Not within 1.5 s of the last loss, then 8 % about every second.
        assert_eq!(rate.on_signal(RateSignal::Loss(0.0), seconds(start, 1.0)), None);
        assert_eq!(
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, 2.0)),
            Some(270_000)
        );
        assert_eq!(rate.on_signal(RateSignal::Loss(0.0), seconds(start, 2.5)), None);
        assert_eq!(
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, 2.95)),
            Some(291_600)
        );
        for s in 4..30 {
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, f64::from(s)));
        }
        assert_eq!(rate.target_bps(), 500_000);
    }

    #[test]
    fn one_receiver_still_losing_packets_keeps_the_rate_from_rising() {
        let start = Instant::now();
        let mut rate = RateController::new(500_000);
        rate.on_signal(RateSignal::Loss(0.5), start);
        for s in 1..20 {
            // A lossy path and a clean one report each second.
            rate.on_signal(RateSignal::Loss(0.05), seconds(start, f64::from(s)));
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, f64::from(s) + 0.5));
        }
        assert_eq!(rate.target_bps(), 375_000);
    }

    #[test]
    fn a_server_reporting_congestion_counts_as_heavy_loss_down_to_a_floor() {
        let start = Instant::now();
        let mut rate = RateController::new(1_000_000);
        assert_eq!(rate.on_signal(RateSignal::Congested, start), Some(850_000));
        for s in 1..60 {
            rate.on_signal(RateSignal::Congested, seconds(start, f64::from(s)));
        }
        assert_eq!(rate.target_bps(), 125_000, "an eighth of the start rate");
        let mut small = RateController::new(100_000);
        for s in 0..60 {
            small.on_signal(RateSignal::Congested, seconds(start, f64::from(s)));
        }
        assert_eq!(small.target_bps(), FLOOR_BPS);
    }

    #[test]
    fn a_receivers_estimate_caps_the_rate_while_it_is_fresh() {
        let start = Instant::now();
        let mut rate = RateController::new(1_000_000);
        // Janus ramps its estimate up: the rate follows it up, it is not held at the first one.
        assert_eq!(rate.on_signal(RateSignal::Cap(250_000), start), Some(250_000));
        assert_eq!(
            rate.on_signal(RateSignal::Cap(500_000), seconds(start, 1.0)),
            Some(500_000)
        );
        assert_eq!(
            rate.on_signal(RateSignal::Cap(2_000_000), seconds(start, 2.0)),
            Some(1_000_000)
        );
        // A cap below the floor keeps the floor; one nobody repeats stops capping.
        assert_eq!(
            rate.on_signal(RateSignal::Cap(1_000), seconds(start, 3.0)),
            Some(125_000)
        );
        assert_eq!(
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, 9.0)),
            Some(1_000_000)
        );
    }
}
