//! The microphone and speaker through cpal and a real ALSA library, with no sound card: the
//! test writes an `.asoundrc` whose default capture device reads a file (a 440 Hz tone) and
//! whose default playback device writes one. ALSA reads `$HOME/.asoundrc` once per process, so
//! the checks run in a child process (this test binary again, running the ignored
//! `alsa_child`) with `HOME` pointing at the test's folder.
//!
//! ALSA's `null` slave under the file plugin is not paced in real time, so this checks what the
//! devices deliver, not when.

use confab_media::devices::microphone::Microphone;
use confab_media::devices::speaker::Speaker;
use confab_media::mixer::Mixer;
use confab_media::{AudioFrame, AudioSource, AUDIO_FRAME_SAMPLES};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TONE_AMPLITUDE: f64 = 8000.0;

fn tone_sample(n: usize) -> i16 {
    (TONE_AMPLITUDE * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 48_000.0).sin()) as i16
}

fn asoundrc(folder: &Path) -> String {
    let input = folder.join("microphone.raw");
    let output = folder.join("speaker.raw");
    format!(
        r#"pcm.!default {{ type asym; playback.pcm "confab_out"; capture.pcm "confab_in" }}
pcm.confab_in {{ type plug; slave {{ pcm "confab_file_in"; format S16_LE; rate 48000; channels 1 }} }}
pcm.confab_file_in {{ type file; slave.pcm "null"; file "/dev/null"; infile "{}"; format "raw" }}
pcm.confab_out {{ type plug; slave {{ pcm "confab_file_out"; format S16_LE; rate 48000; channels 1 }} }}
pcm.confab_file_out {{ type file; slave.pcm "null"; file "{}"; format "raw" }}
"#,
        input.display(),
        output.display()
    )
}

#[test]
fn the_microphone_hears_the_capture_device_and_the_speaker_plays_the_mix() {
    let folder = std::env::temp_dir().join(format!("confab-alsa-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a temporary folder");
    std::fs::write(folder.join(".asoundrc"), asoundrc(&folder)).expect(".asoundrc");
    let tone: Vec<u8> = (0..48_000 * 5)
        .flat_map(|n| tone_sample(n).to_le_bytes())
        .collect();
    std::fs::write(folder.join("microphone.raw"), tone).expect("the microphone's input");
    let status = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["alsa_child", "--exact", "--ignored", "--nocapture"])
        .env("HOME", &folder)
        .env("CONFAB_ALSA_FOLDER", &folder)
        .status()
        .expect("the child test runs");
    let _ = std::fs::remove_dir_all(&folder);
    assert!(status.success(), "the device checks failed (output above)");
}

#[test]
#[ignore = "run by the test above with HOME set"]
fn alsa_child() {
    let folder = PathBuf::from(std::env::var_os("CONFAB_ALSA_FOLDER").expect("started by the parent test"));

    let mut microphone = Microphone::open(None).expect("the default microphone opens");
    let first = microphone.next_frame().expect("a frame");
    assert_eq!(first.samples.len(), AUDIO_FRAME_SAMPLES);
    // The frame must be the file's tone, in order, from wherever the device started reading,
    // within a rounding step (samples pass through float). Checked over the first 5 ms only:
    // ALSA's file plugin over the unpaced `null` slave skips ahead between its periods (240
    // samples here), which a real capture device does not.
    const PERIOD: usize = 240;
    let file: Vec<i16> = (0..48_000).map(tone_sample).collect();
    let is_the_tone = |window: &[i16]| {
        window
            .iter()
            .zip(&first.samples)
            .all(|(a, b)| a.abs_diff(*b) <= 2)
    };
    assert!(
        file.windows(PERIOD).any(is_the_tone),
        "the frame is not the file's tone: {:?}…",
        &first.samples[..8]
    );
    let level = microphone.level().get();
    let tone_rms = (TONE_AMPLITUDE / f64::from(i16::MAX) / 2f64.sqrt()) as f32;
    assert!((level - tone_rms).abs() < 0.01, "meter {level}, tone {tone_rms}");
    drop(microphone);

    let mixer = Arc::new(Mixer::default());
    let speaker = Speaker::open(None, mixer.clone()).expect("the default speaker opens");
    for who in ["ada", "bo"] {
        for _ in 0..5 {
            mixer.push(
                who,
                &AudioFrame {
                    samples: vec![1000; AUDIO_FRAME_SAMPLES],
                },
            );
        }
    }
    let played = folder.join("speaker.raw");
    let deadline = Instant::now() + Duration::from_secs(2);
    let mixed = loop {
        let bytes = std::fs::read(&played).unwrap_or_default();
        let samples: Vec<i16> = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let mixed = samples.iter().filter(|&&s| s == 2000).count();
        if mixed >= 5 * AUDIO_FRAME_SAMPLES || Instant::now() > deadline {
            break mixed;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(speaker);
    // The unpaced file plugin can lose a period on the way to the file; what arrives must be
    // the sum of both voices, at least one whole frame of it, and never more than was sent.
    assert!(
        (AUDIO_FRAME_SAMPLES..=5 * AUDIO_FRAME_SAMPLES).contains(&mixed),
        "{mixed} samples of Ada and Bo summed reached the speaker"
    );
}
