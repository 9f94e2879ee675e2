//! Sample-rate conversion for a microphone or speaker that offers no 48 kHz stream: a Windows
//! device in shared mode runs at its mixer's rate, and many USB and built-in devices run only at
//! 44.1 kHz. Mono, in 20 ms steps, with rubato's band-limited FFT resampler (a plain
//! interpolation would alias).

use crate::SourceError;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Mono samples at one rate in, the same sound at another rate out.
pub(crate) struct RateConverter {
    resampler: Fft<f32>,
    /// Input waiting for a whole step.
    pending: Vec<f32>,
    /// Room for one step's output.
    converted: Vec<f32>,
}

impl RateConverter {
    /// Converts from `from` Hz to `to` Hz.
    pub(crate) fn new(from: u32, to: u32) -> Result<Self, SourceError> {
        // One step is 20 ms. The FFT works in blocks of `from / gcd` samples: beyond a step, an
        // odd rate (say 44,101 Hz) would mean a second of delay and a huge transform in the
        // sound callback.
        let step = (from / 50).max(1) as usize;
        if (from / gcd(from, to)) as usize > step {
            return Err(SourceError::UnsupportedFormat {
                reason: format!("its rate of {from} Hz is too odd to convert to {to} Hz in time"),
            });
        }
        let resampler = Fft::new(from as usize, to as usize, step, 1, FixedSync::Input).map_err(|e| {
            SourceError::UnsupportedFormat {
                reason: format!("its {from} Hz sound cannot be converted to {to} Hz ({e})"),
            }
        })?;
        Ok(Self {
            converted: vec![0.0; resampler.output_frames_max()],
            pending: Vec::with_capacity(step),
            resampler,
        })
    }

    /// Takes `samples` at the first rate and adds to `out` what is ready at the second: a
    /// step's worth at a time, so the output lags the input by up to 20 ms plus the filter.
    pub(crate) fn convert(&mut self, samples: &[f32], out: &mut Vec<f32>) {
        let mut rest = samples;
        while !rest.is_empty() {
            let wanted = self.resampler.input_frames_next() - self.pending.len();
            let (now, later) = rest.split_at(wanted.min(rest.len()));
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() == self.resampler.input_frames_next() {
                self.step(out);
            }
        }
    }

    fn step(&mut self, out: &mut Vec<f32>) {
        match self.process_pending() {
            Ok(written) => out.extend_from_slice(&self.converted[..written]),
            // The buffers are sized by the resampler itself; a step lost is 20 ms of silence.
            Err(e) => tracing::warn!(error = %e, "20 ms of sound could not be converted"),
        }
        self.pending.clear();
    }

    /// Converts the pending step into `converted`; how many samples it wrote.
    fn process_pending(&mut self) -> Result<usize, String> {
        let room = self.converted.len();
        let input =
            InterleavedSlice::new(&self.pending[..], 1, self.pending.len()).map_err(|e| e.to_string())?;
        let mut output =
            InterleavedSlice::new_mut(&mut self.converted[..], 1, room).map_err(|e| e.to_string())?;
        let (_, written) = self
            .resampler
            .process_into_buffer(&input, &mut output, None)
            .map_err(|e| e.to_string())?;
        Ok(written)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Sound checks shared by the converter's, the microphone's and the speaker's tests.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::f32::consts::TAU;

    /// `samples` of a sine of amplitude 0.5 at `hz`, sampled at `rate`.
    pub(crate) fn tone(hz: f32, rate: u32, samples: usize) -> Vec<f32> {
        (0..samples)
            .map(|i| 0.5 * (TAU * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    /// The tone's frequency, from how often it crosses zero upwards.
    pub(crate) fn frequency(samples: &[f32], rate: u32) -> f32 {
        let rising = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        rising as f32 * rate as f32 / samples.len() as f32
    }

    /// The largest step from one sample to the next: a click stands out above a smooth tone's.
    pub(crate) fn largest_jump(samples: &[f32]) -> f32 {
        samples.windows(2).fold(0.0, |m, w| m.max((w[1] - w[0]).abs()))
    }

    #[test]
    fn a_44_1_khz_tone_comes_out_at_48_khz_with_its_pitch_and_length() {
        let mut converter = RateConverter::new(44_100, 48_000).unwrap();
        let mut out = Vec::new();
        // One second in uneven pieces, as a device's callback hands it over.
        let input = tone(440.0, 44_100, 44_100);
        for piece in input.chunks(441 * 3 + 17) {
            converter.convert(piece, &mut out);
        }
        assert!((47_000..=48_000).contains(&out.len()), "{} samples", out.len());
        let settled = &out[4_800..];
        let pitch = frequency(settled, 48_000);
        assert!((435.0..445.0).contains(&pitch), "{pitch} Hz");
        let peak = settled.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((0.45..0.55).contains(&peak), "peak {peak}");
        // No click where one 20 ms step meets the next: a 0.5 sine at 440 Hz moves at most
        // 0.029 from one 48 kHz sample to the next.
        assert!(
            largest_jump(settled) < 0.04,
            "a jump of {}",
            largest_jump(settled)
        );
    }

    #[test]
    fn common_rates_convert_and_an_odd_one_is_refused_in_a_sentence() {
        for rate in [8_000, 16_000, 22_050, 32_000, 44_100, 88_200, 96_000, 192_000] {
            assert!(RateConverter::new(rate, 48_000).is_ok(), "{rate} Hz");
        }
        let odd = RateConverter::new(44_101, 48_000).err().expect("refused");
        assert!(odd.to_string().contains("44101 Hz"), "{odd}");
    }

    #[test]
    fn the_way_back_to_a_speaker_at_44_1_khz_keeps_the_pitch_too() {
        let mut converter = RateConverter::new(48_000, 44_100).unwrap();
        let mut out = Vec::new();
        converter.convert(&tone(1_000.0, 48_000, 48_000), &mut out);
        assert!((43_000..=44_100).contains(&out.len()), "{} samples", out.len());
        let pitch = frequency(&out[4_410..], 44_100);
        assert!((990.0..1_010.0).contains(&pitch), "{pitch} Hz");
        // At most 0.071 between 44.1 kHz samples for a 0.5 sine at 1 kHz.
        assert!(
            largest_jump(&out[4_410..]) < 0.08,
            "a jump of {}",
            largest_jump(&out[4_410..])
        );
    }
}
