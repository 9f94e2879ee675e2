//! Decoded remote video on its way to the UI's tiles.
//!
//! The engine hands every decoded picture to [`Tiles`], which keeps only the latest one per
//! participant. Each tile in the UI pulls over the picture socket ([`crate::picture_socket`]):
//! it waits for a picture newer than the one the tile drew and gets it as raw bytes. Pulling
//! gives natural back-pressure — a tile that draws slower than frames arrive skips pictures
//! instead of queueing them — and the skipped ones are counted. Our own picture (the self-view and the
//! pre-join preview) waits in a slot of its own, asked for as [`SELF_VIEW`].
//!
//! A tile says how it draws ([`FrameShape`]): the size it shows pictures at, and whether it
//! wants I420 planes (drawn by WebGL) or RGBA pixels (put on a 2D canvas as they are). The
//! picture is scaled and converted here, with SIMD, before it crosses into the webview; the
//! tiles benchmark chose this over sending every tile the full decoded picture
//! (`docs/benchmarks.md`).

use confab_core::ParticipantId;
use confab_engine::VideoFrame;
use confab_media::fit::{scaled_to_fit, to_rgba, FitError};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

/// Bytes before the pixels (I420 planes or RGBA) in a frame handed to the UI: sequence number
/// (u64), width and height (u32 each), all little-endian. Width and height 0: this picture
/// could not be prepared, ask for the next one.
pub const FRAME_HEADER_LEN: usize = 16;

/// What a tile asks the picture socket for to get our own picture: not a valid participant id,
/// so no remote participant can take it.
pub const SELF_VIEW: &str = "~self";

#[derive(Default)]
struct Slot {
    /// Number of the latest picture (1 for the first).
    sequence: u64,
    latest: Option<Arc<VideoFrame>>,
    decoded: u64,
    delivered: u64,
}

/// Per-tile counts for the video benchmark and the UI's statistics.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TileStats {
    /// Session id of the participant.
    pub participant: String,
    /// Pictures decoded for this tile.
    pub decoded: u64,
    /// Pictures handed to the UI.
    pub delivered: u64,
    /// Pictures replaced by a newer one before the UI asked (the tile drew too slowly).
    pub skipped: u64,
}

/// The latest picture of every remote participant, and our own.
#[derive(Default)]
pub struct Tiles {
    slots: Mutex<Slots>,
    fresh: Notify,
}

#[derive(Default)]
struct Slots {
    remote: HashMap<ParticipantId, Slot>,
    own: Slot,
}

impl Slots {
    /// `participant`'s slot (`None`: ours), if they have sent a picture.
    fn get_mut(&mut self, participant: Option<&ParticipantId>) -> Option<&mut Slot> {
        match participant {
            Some(id) => self.remote.get_mut(id),
            None => Some(&mut self.own),
        }
    }
}

impl Tiles {
    /// Keeps `frame` as the latest picture of `participant` (a remote one, or `None` for us).
    pub fn show(&self, participant: Option<&ParticipantId>, frame: &VideoFrame) {
        {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = match participant {
                Some(id) => slots.remote.entry(id.clone()).or_default(),
                None => &mut slots.own,
            };
            slot.sequence += 1;
            slot.decoded += 1;
            slot.latest = Some(Arc::new(frame.clone()));
        }
        self.fresh.notify_waiters();
    }

    /// How many of our own pictures have been shown so far.
    pub fn own_sequence(&self) -> u64 {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .own
            .sequence
    }

    /// Forgets our own picture (the preview or the call stopped sending it). The numbering goes
    /// on, so a self-view that keeps asking after the last picture it drew gets the next camera's
    /// first picture at once.
    pub fn clear_own(&self) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.own = Slot {
            sequence: slots.own.sequence,
            ..Slot::default()
        };
    }

    /// Waits for a picture of `participant` (`None`: ours) newer than `after` and returns it
    /// with its sequence number.
    pub async fn next(&self, participant: Option<&ParticipantId>, after: u64) -> (u64, Arc<VideoFrame>) {
        loop {
            let fresh = self.fresh.notified();
            if let Some(found) = self.newer_than(participant, after) {
                return found;
            }
            fresh.await;
        }
    }

    fn newer_than(&self, participant: Option<&ParticipantId>, after: u64) -> Option<(u64, Arc<VideoFrame>)> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.get_mut(participant)?;
        let frame = slot.latest.clone().filter(|_| slot.sequence > after)?;
        slot.delivered += 1;
        Some((slot.sequence, frame))
    }

    /// Counts per participant.
    pub fn stats(&self) -> Vec<TileStats> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stats: Vec<TileStats> = slots
            .remote
            .iter()
            .map(|(participant, slot)| TileStats {
                participant: participant.as_str().to_owned(),
                decoded: slot.decoded,
                delivered: slot.delivered,
                skipped: slot.decoded.saturating_sub(slot.delivered),
            })
            .collect();
        stats.sort_by(|a, b| a.participant.cmp(&b.participant));
        stats
    }

    /// Forgets every remote picture (the call ended).
    pub fn clear(&self) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remote
            .clear();
        self.fresh.notify_waiters();
    }
}

/// What a tile draws: pixels as a WebGL shader takes them or as a 2D canvas takes them.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pixels {
    /// Y, U and V planes (the decoder's own layout).
    #[default]
    I420,
    /// 4 bytes per pixel, opaque.
    Rgba,
}

/// How a tile wants its pictures.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FrameShape {
    /// Widest the tile shows a picture, in screen pixels; 0 for the decoded size.
    #[serde(default)]
    pub max_width: usize,
    /// Tallest the tile shows a picture; 0 for the decoded size.
    #[serde(default)]
    pub max_height: usize,
    /// The pixel layout the tile draws.
    #[serde(default)]
    pub pixels: Pixels,
}

/// `frame` as the UI reads it: [`FRAME_HEADER_LEN`] header bytes (sequence, width, height of
/// what follows), then the picture scaled to fit `shape` and laid out as it asks.
pub fn encode_frame(sequence: u64, frame: &VideoFrame, shape: FrameShape) -> Result<Vec<u8>, FitError> {
    let frame = if shape.max_width == 0 || shape.max_height == 0 {
        Cow::Borrowed(frame)
    } else {
        scaled_to_fit(frame, shape.max_width, shape.max_height)?
    };
    let rgba;
    let body = match shape.pixels {
        Pixels::I420 => &frame.data,
        Pixels::Rgba => {
            rgba = to_rgba(&frame)?;
            &rgba
        }
    };
    let mut bytes = header(sequence, (frame.width, frame.height), body.len());
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// The [`FRAME_HEADER_LEN`] header, with room for `body` more bytes.
fn header(sequence: u64, (width, height): (usize, usize), body: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(FRAME_HEADER_LEN + body);
    bytes.extend_from_slice(&sequence.to_le_bytes());
    bytes.extend_from_slice(&u32::try_from(width).unwrap_or(0).to_le_bytes());
    bytes.extend_from_slice(&u32::try_from(height).unwrap_or(0).to_le_bytes());
    bytes
}

/// The header alone, with size 0: picture `sequence` could not be prepared (the UI skips it).
pub fn unprepared_frame(sequence: u64) -> Vec<u8> {
    header(sequence, (0, 0), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn alice() -> ParticipantId {
        ParticipantId::new("alice").unwrap()
    }

    #[tokio::test]
    async fn a_slow_tile_gets_the_latest_picture_and_the_rest_count_as_skipped() {
        let tiles = Tiles::default();
        for _ in 0..3 {
            tiles.show(Some(&alice()), &VideoFrame::black(4, 2));
        }
        let (sequence, frame) = tiles.next(Some(&alice()), 0).await;
        assert_eq!((sequence, frame.width, frame.height), (3, 4, 2));
        assert_eq!(
            tiles.stats()[0],
            TileStats {
                participant: "alice".into(),
                decoded: 3,
                delivered: 1,
                skipped: 2
            }
        );
    }

    #[tokio::test]
    async fn a_waiting_tile_wakes_for_the_next_picture_only() {
        let tiles = Arc::new(Tiles::default());
        let soon = Duration::from_millis(20);
        assert!(tokio::time::timeout(soon, tiles.next(Some(&alice()), 0))
            .await
            .is_err());
        let waiter = tokio::spawn({
            let tiles = tiles.clone();
            async move { tiles.next(Some(&alice()), 0).await }
        });
        tokio::time::sleep(soon).await;
        tiles.show(Some(&alice()), &VideoFrame::black(2, 2));
        let (sequence, _) = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sequence, 1);
        assert!(tokio::time::timeout(soon, tiles.next(Some(&alice()), 1))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_self_view_left_open_across_a_restarted_preview_gets_the_new_pictures() {
        let tiles = Tiles::default();
        for _ in 0..5 {
            tiles.show(None, &VideoFrame::black(4, 2));
        }
        let (drawn, _) = tiles.next(None, 0).await;
        tiles.clear_own();
        tiles.show(None, &VideoFrame::black(2, 2));
        let next = tokio::time::timeout(Duration::from_secs(1), tiles.next(None, drawn)).await;
        assert_eq!(next.expect("the new camera's picture").1.width, 2);
    }

    #[test]
    fn the_ui_reads_a_header_then_the_planes() {
        let bytes = encode_frame(7, &VideoFrame::black(4, 2), FrameShape::default()).unwrap();
        assert_eq!(bytes.len(), FRAME_HEADER_LEN + 12);
        assert_eq!(bytes[..8], 7u64.to_le_bytes());
        assert_eq!(bytes[8..12], 4u32.to_le_bytes());
        assert_eq!(bytes[12..16], 2u32.to_le_bytes());
    }

    #[test]
    fn a_picture_that_could_not_be_prepared_is_its_number_and_no_size() {
        let bytes = unprepared_frame(5);
        assert_eq!(bytes.len(), FRAME_HEADER_LEN);
        assert_eq!(bytes[..8], 5u64.to_le_bytes());
        assert!(bytes[8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_small_tile_gets_a_small_picture_in_the_layout_it_draws() {
        let shape = |pixels| FrameShape {
            max_width: 400,
            max_height: 300,
            pixels,
        };
        let frame = VideoFrame::black(1280, 720);
        let planes = encode_frame(1, &frame, shape(Pixels::I420)).unwrap();
        assert_eq!(
            planes[8..16],
            [400u32.to_le_bytes(), 224u32.to_le_bytes()].concat()
        );
        assert_eq!(planes.len(), FRAME_HEADER_LEN + 400 * 224 * 3 / 2);
        let pixels = encode_frame(1, &frame, shape(Pixels::Rgba)).unwrap();
        assert_eq!(pixels.len(), FRAME_HEADER_LEN + 400 * 224 * 4);
        assert_eq!(pixels[FRAME_HEADER_LEN..FRAME_HEADER_LEN + 4], [0, 0, 0, 255]);
    }
}
