//! Remote audio mixed for the speaker, and who is speaking.
//!
//! Each remote participant's decoded 20 ms frames are pushed (on their decoder threads) into a
//! queue of their own; the speaker's callback pulls any number of samples, summing what every
//! queue holds. A queue starts playing only once it holds [`PREBUFFER`] samples, so network
//! jitter does not turn into clicks, and never holds more than [`MAX_QUEUED`], so a burst cannot
//! build up delay: the oldest samples go first (counted). Each participant's level (RMS of what
//! they sent lately) says who is speaking.
//!
//! Keys are strings (participant ids) so this stays free of the call's types.

use crate::tone::rms;
use crate::AudioFrame;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Samples a participant's queue must hold before it is heard (40 ms at 48 kHz).
pub const PREBUFFER: usize = 1920;
/// Most samples a queue holds (200 ms); older ones are dropped.
pub const MAX_QUEUED: usize = 9600;
/// RMS above which a participant counts as speaking.
const SPEAKING_RMS: f32 = 0.02;

#[derive(Default)]
struct Voice {
    samples: VecDeque<i16>,
    /// Whether the prebuffer has filled since the queue last ran dry.
    playing: bool,
    /// RMS of the latest frame pushed.
    level: f32,
    dropped: u64,
}

/// The mix of every remote participant's audio.
#[derive(Default)]
pub struct Mixer {
    state: Mutex<MixState>,
}

#[derive(Default)]
struct MixState {
    voices: HashMap<String, Voice>,
    /// The sum being built, kept between pulls so the speaker's callback does not allocate.
    sums: Vec<i32>,
}

impl Mixer {
    /// Queues one decoded frame of `participant`.
    pub fn push(&self, participant: &str, frame: &AudioFrame) {
        let mut state = self.lock();
        let voice = state.voices.entry(participant.to_owned()).or_default();
        voice.level = rms(&frame.samples);
        voice.samples.extend(&frame.samples);
        let excess = voice.samples.len().saturating_sub(MAX_QUEUED);
        if excess > 0 {
            voice.samples.drain(..excess);
            voice.dropped += excess as u64;
        }
        if voice.samples.len() >= PREBUFFER {
            voice.playing = true;
        }
    }

    /// Fills `out` with the sum of every playing queue (silence where none has samples).
    pub fn pull(&self, out: &mut [i16]) {
        let mut state = self.lock();
        let MixState { voices, sums } = &mut *state;
        sums.clear();
        sums.resize(out.len(), 0);
        for voice in voices.values_mut().filter(|v| v.playing) {
            let take = voice.samples.len().min(out.len());
            for (sum, sample) in sums.iter_mut().zip(voice.samples.drain(..take)) {
                *sum += i32::from(sample);
            }
            if voice.samples.is_empty() {
                voice.playing = false;
                voice.level = 0.0;
            }
        }
        for (out, &sum) in out.iter_mut().zip(sums.iter()) {
            *out = sum.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
    }

    /// The loudest participant speaking now, if anyone is.
    pub fn loudest(&self) -> Option<String> {
        self.lock()
            .voices
            .iter()
            .filter(|(_, v)| v.level > SPEAKING_RMS)
            .max_by(|a, b| a.1.level.total_cmp(&b.1.level))
            .map(|(id, _)| id.clone())
    }

    /// Samples dropped so far because a queue was full.
    pub fn dropped(&self) -> u64 {
        self.lock().voices.values().map(|v| v.dropped).sum()
    }

    /// Forgets `participant` (they left).
    pub fn remove(&self, participant: &str) {
        self.lock().voices.remove(participant);
    }

    /// Forgets everyone (the call ended).
    pub fn clear(&self) {
        self.lock().voices.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MixState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AUDIO_FRAME_SAMPLES;

    fn frame(value: i16) -> AudioFrame {
        AudioFrame {
            samples: vec![value; AUDIO_FRAME_SAMPLES],
        }
    }

    #[test]
    fn two_voices_are_summed_once_each_has_its_prebuffer() {
        let mixer = Mixer::default();
        mixer.push("alice", &frame(1000));
        let mut out = [7i16; 4];
        mixer.pull(&mut out);
        assert_eq!(out, [0; 4], "20 ms is below the prebuffer: silence, not a click");
        mixer.push("alice", &frame(1000));
        mixer.push("bob", &frame(-300));
        mixer.push("bob", &frame(-300));
        mixer.pull(&mut out);
        assert_eq!(out, [700; 4]);
    }

    #[test]
    fn the_sum_clips_instead_of_wrapping() {
        let mixer = Mixer::default();
        for who in ["alice", "bob"] {
            mixer.push(who, &frame(30_000));
            mixer.push(who, &frame(30_000));
        }
        let mut out = [0i16; 2];
        mixer.pull(&mut out);
        assert_eq!(out, [i16::MAX; 2]);
    }

    #[test]
    fn a_burst_is_cut_to_the_newest_200_ms() {
        let mixer = Mixer::default();
        for n in 0..20 {
            mixer.push("alice", &frame(n));
        }
        assert_eq!(mixer.dropped(), 10 * AUDIO_FRAME_SAMPLES as u64);
        let mut out = [0i16; 1];
        mixer.pull(&mut out);
        assert_eq!(out, [10], "the oldest ten frames went");
    }

    #[test]
    fn a_queue_that_ran_dry_waits_for_its_prebuffer_again() {
        let mixer = Mixer::default();
        mixer.push("alice", &frame(5));
        mixer.push("alice", &frame(5));
        let mut out = vec![0i16; PREBUFFER];
        mixer.pull(&mut out);
        mixer.push("alice", &frame(5));
        let mut next = [0i16; 1];
        mixer.pull(&mut next);
        assert_eq!(next, [0]);
    }

    #[test]
    fn the_loudest_speaker_is_named_and_silence_names_nobody() {
        let mixer = Mixer::default();
        mixer.push("alice", &frame(2000));
        mixer.push("bob", &frame(9000));
        mixer.push("carol", &frame(10));
        assert_eq!(mixer.loudest().as_deref(), Some("bob"));
        mixer.remove("bob");
        assert_eq!(mixer.loudest().as_deref(), Some("alice"));
        mixer.push("alice", &frame(0));
        assert_eq!(mixer.loudest(), None);
    }
}
