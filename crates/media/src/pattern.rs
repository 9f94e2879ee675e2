//! The synthetic test pattern: colour bars, a moving box, and a stamp a receiver can read back.
//!
//! Layout of a frame (I420, BT.601 limited range):
//! - **Stamp band** (top): 128 bits in 8×8-pixel black/white cells, row-major, as many rows as
//!   the width needs — frame number (u32), capture time in µs since the Unix epoch (u64) and a
//!   CRC-32 of both. Cells are large and binary, so the bits survive lossy H.264.
//! - **Bars** (below): eight vertical bars, white → black.
//! - **Box**: a grey square that moves 8 px per frame, so a viewer (or a screenshot diff) sees
//!   motion and a receiver can check the picture matches the stamped frame number.
//!
//! [`inspect`] reads a decoded frame back and says whether stamp, bars and box all check out.

use crate::frame::VideoFrame;
use crate::source::{SourceError, VideoSource};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CELL: usize = 8;
const STAMP_BITS: usize = 128;
const BAR_COLOURS: [(u8, u8, u8); 8] = [
    (235, 128, 128), // white
    (210, 16, 146),  // yellow
    (170, 166, 16),  // cyan
    (145, 54, 34),   // green
    (106, 202, 222), // magenta
    (81, 90, 240),   // red
    (41, 240, 110),  // blue
    (16, 128, 128),  // black
];
const BOX_COLOUR: (u8, u8, u8) = (128, 128, 128);
const TOLERANCE: i32 = 28;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Smallest frame the pattern supports.
pub const MIN_SIZE: (usize, usize) = (160, 120);

/// What a frame's stamp says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Sequential frame number from 0.
    pub frame_number: u32,
    /// Capture time, µs since the Unix epoch.
    pub captured_at_us: u64,
}

/// Why a decoded frame is not an intact test-pattern frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The frame is smaller than [`MIN_SIZE`].
    #[error("frame too small to carry a test pattern")]
    TooSmall,
    /// The stamp's checksum does not match.
    #[error("frame stamp checksum mismatch")]
    BadStamp,
    /// A colour bar has the wrong colour.
    #[error("colour bar {0} has the wrong colour")]
    BadBar(usize),
    /// The moving box is not where the frame number says.
    #[error("moving box missing for the stamped frame number")]
    BadBox,
}

struct Layout {
    width: usize,
    cells_per_row: usize,
    band_height: usize,
    box_size: usize,
    box_top: usize,
    bars_check_top: usize,
}

impl Layout {
    fn new(width: usize, height: usize) -> Result<Self, PatternError> {
        if width < MIN_SIZE.0 || height < MIN_SIZE.1 || !width.is_multiple_of(2) || !height.is_multiple_of(2)
        {
            return Err(PatternError::TooSmall);
        }
        let cells_per_row = width / CELL;
        let rows = STAMP_BITS.div_ceil(cells_per_row);
        let band_height = (rows * CELL).next_multiple_of(16);
        let rest = height - band_height;
        let box_size = (rest / 3) & !15;
        let box_top = band_height + ((rest / 3) & !1);
        Ok(Self {
            width,
            cells_per_row,
            band_height,
            box_size: box_size.max(16),
            box_top,
            bars_check_top: box_top + box_size.max(16) + 8,
        })
    }

    fn box_left(&self, frame_number: u32) -> usize {
        let travel = self.width - self.box_size;
        ((frame_number as usize * 8) % travel) & !1
    }

    fn cell_origin(&self, bit: usize) -> (usize, usize) {
        (
            (bit % self.cells_per_row) * CELL,
            (bit / self.cells_per_row) * CELL,
        )
    }
}

fn stamp_bits(stamp: Stamp) -> [bool; STAMP_BITS] {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&stamp.frame_number.to_be_bytes());
    bytes[4..12].copy_from_slice(&stamp.captured_at_us.to_be_bytes());
    let crc = CRC.checksum(&bytes[..12]);
    bytes[12..].copy_from_slice(&crc.to_be_bytes());
    let mut bits = [false; STAMP_BITS];
    for (i, bit) in bits.iter_mut().enumerate() {
        *bit = bytes[i / 8] >> (7 - i % 8) & 1 == 1;
    }
    bits
}

fn fill_rect(frame: &mut VideoFrame, x: usize, y: usize, w: usize, h: usize, c: (u8, u8, u8)) {
    let width = frame.width;
    let luma = width * frame.height;
    let cw = width / 2;
    for row in y..y + h {
        frame.data[row * width + x..row * width + x + w].fill(c.0);
    }
    for row in y / 2..(y + h) / 2 {
        let at = row * cw + x / 2;
        frame.data[luma + at..luma + at + w / 2].fill(c.1);
        frame.data[luma + luma / 4 + at..luma + luma / 4 + at + w / 2].fill(c.2);
    }
}

/// Draws the pattern for `stamp` into a new frame.
pub fn render(width: usize, height: usize, stamp: Stamp) -> Result<VideoFrame, PatternError> {
    let layout = Layout::new(width, height)?;
    let mut frame = VideoFrame::black(width, height);
    let bar_width = (width / 8) & !1;
    for (i, colour) in BAR_COLOURS.iter().enumerate() {
        let w = if i == 7 { width - 7 * bar_width } else { bar_width };
        fill_rect(
            &mut frame,
            i * bar_width,
            layout.band_height,
            w,
            height - layout.band_height,
            *colour,
        );
    }
    for (bit, on) in stamp_bits(stamp).iter().enumerate() {
        let (x, y) = layout.cell_origin(bit);
        let level = if *on { 235 } else { 16 };
        fill_rect(&mut frame, x, y, CELL, CELL, (level, 128, 128));
    }
    let left = layout.box_left(stamp.frame_number);
    fill_rect(
        &mut frame,
        left,
        layout.box_top,
        layout.box_size,
        layout.box_size,
        BOX_COLOUR,
    );
    Ok(frame)
}

/// Mean of a `size`×`size` patch of each plane centred on (cx, cy).
fn mean_colour(frame: &VideoFrame, cx: usize, cy: usize, size: usize) -> (i32, i32, i32) {
    let (mut y, mut u, mut v, mut n, mut nc) = (0u32, 0u32, 0u32, 0u32, 0u32);
    let half = size / 2;
    for row in cy - half..cy + half {
        for col in cx - half..cx + half {
            y += u32::from(frame.y()[row * frame.width + col]);
            n += 1;
            if row % 2 == 0 && col % 2 == 0 {
                let at = (row / 2) * (frame.width / 2) + col / 2;
                u += u32::from(frame.u()[at]);
                v += u32::from(frame.v()[at]);
                nc += 1;
            }
        }
    }
    ((y / n) as i32, (u / nc) as i32, (v / nc) as i32)
}

fn close_to(got: (i32, i32, i32), want: (u8, u8, u8)) -> bool {
    (got.0 - i32::from(want.0)).abs() <= TOLERANCE
        && (got.1 - i32::from(want.1)).abs() <= TOLERANCE
        && (got.2 - i32::from(want.2)).abs() <= TOLERANCE
}

/// Reads the stamp of a decoded frame and checks bars and box. `Ok` means an intact frame.
pub fn inspect(frame: &VideoFrame) -> Result<Stamp, PatternError> {
    let layout = Layout::new(frame.width, frame.height)?;
    let mut bytes = [0u8; 16];
    for bit in 0..STAMP_BITS {
        let (x, y) = layout.cell_origin(bit);
        let (luma, _, _) = mean_colour(frame, x + CELL / 2, y + CELL / 2, 4);
        if luma > 126 {
            bytes[bit / 8] |= 1 << (7 - bit % 8);
        }
    }
    let crc = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if CRC.checksum(&bytes[..12]) != crc {
        return Err(PatternError::BadStamp);
    }
    let stamp = Stamp {
        frame_number: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        captured_at_us: u64::from_be_bytes([
            bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11],
        ]),
    };
    let bar_width = (frame.width / 8) & !1;
    let check_y = (layout.bars_check_top + frame.height) / 2;
    if check_y + 4 < frame.height {
        for (i, colour) in BAR_COLOURS.iter().enumerate() {
            let cx = i * bar_width + bar_width / 2;
            if !close_to(mean_colour(frame, cx, check_y, 8), *colour) {
                return Err(PatternError::BadBar(i));
            }
        }
    }
    let box_centre = (
        layout.box_left(stamp.frame_number) + layout.box_size / 2,
        layout.box_top + layout.box_size / 2,
    );
    if !close_to(mean_colour(frame, box_centre.0, box_centre.1, 8), BOX_COLOUR) {
        return Err(PatternError::BadBox);
    }
    Ok(stamp)
}

/// Microseconds since the Unix epoch, as stamped into frames.
pub fn unix_micros(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A paced synthetic camera producing [`render`]ed frames at a fixed rate.
pub struct TestPattern {
    width: usize,
    height: usize,
    interval: Duration,
    next_number: u32,
    next_due: Option<Instant>,
    grain: bool,
}

impl TestPattern {
    /// A pattern source of the given size and rate. Fails if the size is below [`MIN_SIZE`].
    pub fn new(width: usize, height: usize, fps: u32) -> Result<Self, SourceError> {
        Layout::new(width, height).map_err(|_| SourceError::UnsupportedFormat {
            reason: format!(
                "the test pattern needs an even size of at least {}x{}, got {width}x{height}",
                MIN_SIZE.0, MIN_SIZE.1
            ),
        })?;
        Ok(Self {
            width,
            height,
            interval: Duration::from_secs(1) / fps.max(1),
            next_number: 0,
            next_due: None,
            grain: false,
        })
    }

    /// Adds sensor-like grain (0-15 on every luma sample, different each frame), so encoding
    /// takes about as many bits as a real camera's picture does; the pattern still inspects
    /// as intact.
    pub fn with_grain(mut self) -> Self {
        self.grain = true;
        self
    }
}

/// Adds grain seeded by `frame_number` to the luma plane.
pub(crate) fn add_grain(frame: &mut VideoFrame, frame_number: u32) {
    let luma = frame.width * frame.height;
    let mut state = frame_number.wrapping_mul(2_654_435_761) | 1;
    for sample in &mut frame.data[..luma] {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *sample = sample.saturating_add((state >> 28) as u8);
    }
}

impl VideoSource for TestPattern {
    fn frame_interval(&self) -> Duration {
        self.interval
    }

    fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        let due = *self.next_due.get_or_insert_with(Instant::now);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        self.next_due = Some(due + self.interval);
        let stamp = Stamp {
            frame_number: self.next_number,
            captured_at_us: unix_micros(SystemTime::now()),
        };
        self.next_number = self.next_number.wrapping_add(1);
        let mut frame =
            render(self.width, self.height, stamp).map_err(|_| SourceError::UnsupportedFormat {
                reason: "test pattern size".into(),
            })?;
        if self.grain {
            add_grain(&mut frame, stamp.frame_number);
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_at_several_sizes() {
        for (w, h) in [(160, 120), (320, 240), (640, 360), (1280, 720)] {
            let stamp = Stamp {
                frame_number: 12345,
                captured_at_us: 1_790_000_000_123_456,
            };
            let mut frame = render(w, h, stamp).unwrap();
            assert_eq!(inspect(&frame), Ok(stamp), "{w}x{h}");
            add_grain(&mut frame, stamp.frame_number);
            assert_eq!(inspect(&frame), Ok(stamp), "{w}x{h} with grain");
        }
    }

    #[test]
    fn damage_is_detected() {
        let stamp = Stamp {
            frame_number: 7,
            captured_at_us: 99,
        };
        let mut frame = render(320, 240, stamp).unwrap();
        frame.data[3] = 255 - frame.data[3];
        frame.data[3 + 320] = 255 - frame.data[3 + 320];
        for row in 0..8 {
            for col in 0..8 {
                frame.data[row * 320 + col] = 235;
            }
        }
        assert_eq!(inspect(&frame), Err(PatternError::BadStamp));

        let other = render(
            320,
            240,
            Stamp {
                frame_number: 20,
                ..stamp
            },
        )
        .unwrap();
        let mut mixed = render(320, 240, stamp).unwrap();
        let band = 32 * 320; // keep frame 7's stamp, take frame 20's picture
        mixed.data[band..].copy_from_slice(&other.data[band..]);
        assert_eq!(inspect(&mixed), Err(PatternError::BadBox));
    }

    #[test]
    fn too_small_is_refused() {
        assert!(TestPattern::new(100, 100, 30).is_err());
        assert!(TestPattern::new(320, 240, 30).is_ok());
    }
}
