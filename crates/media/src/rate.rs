//! How fast to send video: the encoder's target bitrate, moved by what the receiving side reports.
//!
//! The loss-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02, section 6): more
//! than 10 % of our packets lost → the rate drops by half the loss fraction; under 2 % → it
//! creeps up by 8 %; in between it holds. A server saying outright that it is missing our
//! packets (Janus' `slowlink`) counts as heavy loss, and a receiver's bandwidth estimate (REMB)
//! caps the rate. The rate stays between a floor where video is still worth sending and the
//! rate the call started with.
//!
//! One encoder may feed several receivers (a mesh): any one of them reporting loss lowers the
//! rate, and it only rises again once nobody has reported loss for a while, so the worst path
//! sets the pace.

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
/// The rate rises at most once per this long, and not within this long of a drop.
const INCREASE_INTERVAL: Duration = Duration::from_secs(1);
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
    target_bps: u32,
    cap_bps: Option<u32>,
    last_decrease: Option<Instant>,
    last_increase: Option<Instant>,
}

impl RateController {
    /// Starts at (and never goes above) `start_bps`.
    pub fn new(start_bps: u32) -> Self {
        Self {
            start_bps,
            floor_bps: (start_bps / 8).max(FLOOR_BPS).min(start_bps),
            target_bps: start_bps,
            cap_bps: None,
            last_decrease: None,
            last_increase: None,
        }
    }

    /// The rate to encode at now, in bits per second.
    pub fn target_bps(&self) -> u32 {
        self.target_bps
    }

    /// Takes one report; returns the new target when it changed.
    pub fn on_signal(&mut self, signal: RateSignal, now: Instant) -> Option<u32> {
        let before = self.target_bps;
        match signal {
            RateSignal::Loss(fraction) => self.on_loss(fraction.clamp(0.0, 1.0), now),
            RateSignal::Congested => self.on_loss(REPORTED_CONGESTION_LOSS, now),
            RateSignal::Cap(bps) => {
                let cap = u32::try_from(bps).unwrap_or(u32::MAX).max(self.floor_bps);
                self.cap_bps = Some(cap);
                self.target_bps = self.target_bps.min(cap);
            }
        }
        (self.target_bps != before).then_some(self.target_bps)
    }

    fn on_loss(&mut self, fraction: f64, now: Instant) {
        let since = |at: Option<Instant>| at.map_or(Duration::MAX, |at| now.saturating_duration_since(at));
        if fraction > HIGH_LOSS {
            if since(self.last_decrease) >= DECREASE_INTERVAL {
                self.set(f64::from(self.target_bps) * (1.0 - 0.5 * fraction));
                self.last_decrease = Some(now);
            }
        } else if fraction < LOW_LOSS
            && since(self.last_decrease) >= INCREASE_INTERVAL
            && since(self.last_increase) >= INCREASE_INTERVAL
        {
            self.set(f64::from(self.target_bps) * INCREASE);
            self.last_increase = Some(now);
        }
    }

    fn set(&mut self, bps: f64) {
        let ceiling = self.cap_bps.map_or(self.start_bps, |cap| cap.min(self.start_bps));
        self.target_bps = (bps as u32).clamp(self.floor_bps, ceiling.max(self.floor_bps));
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
        // Not within a second of the drop, then 8 % per second.
        assert_eq!(rate.on_signal(RateSignal::Loss(0.0), seconds(start, 0.5)), None);
        assert_eq!(
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, 1.0)),
            Some(270_000)
        );
        assert_eq!(rate.on_signal(RateSignal::Loss(0.0), seconds(start, 1.5)), None);
        for s in 2..30 {
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, f64::from(s)));
        }
        assert_eq!(rate.target_bps(), 500_000);
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
    fn a_receivers_estimate_caps_the_rate_and_recovery_stays_under_it() {
        let start = Instant::now();
        let mut rate = RateController::new(1_000_000);
        assert_eq!(rate.on_signal(RateSignal::Cap(400_000), start), Some(400_000));
        for s in 1..30 {
            rate.on_signal(RateSignal::Loss(0.0), seconds(start, f64::from(s)));
        }
        assert_eq!(rate.target_bps(), 400_000);
        // A cap below the floor keeps the floor; a cap lifted lets the rate climb again.
        rate.on_signal(RateSignal::Cap(1_000), seconds(start, 30.0));
        assert_eq!(rate.target_bps(), 125_000);
        rate.on_signal(RateSignal::Cap(2_000_000), seconds(start, 31.0));
        rate.on_signal(RateSignal::Loss(0.0), seconds(start, 32.0));
        assert_eq!(rate.target_bps(), 135_000);
    }
}
