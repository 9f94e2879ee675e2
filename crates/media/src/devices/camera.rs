//! A camera through nokhwa (V4L2 on Linux, AVFoundation, Media Foundation) as a
//! [`VideoSource`]: a capture thread of its own opens the device, agrees a format
//! ([`choose_format`]), converts every frame to I420 and hands it over a drop-oldest queue.

use super::convert::{to_i420, PixelFormat};
use super::DeviceInfo;
use crate::queue::{drop_oldest, QueueReceiver};
use crate::{SourceError, VideoFrame, VideoSource};
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};
use std::time::Duration;

/// What a camera offers: one size, rate and pixel layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Pixel layout.
    pub pixels: PixelFormat,
}

/// Rates below this look like a slide show; such offers are taken only if nothing else is.
const SMOOTH_FPS: u32 = 24;
/// How long `next_frame` waits before saying the camera stopped.
const FRAME_TIMEOUT: Duration = Duration::from_secs(3);

/// The offer closest to `want` (width, height, fps): smooth rates first, then the size nearest
/// the wanted one (by pixel count), then the rate nearest the wanted one, and uncompressed
/// pixels before MJPEG (no JPEG decoding per frame).
pub fn choose_format(offers: &[Offer], want: (u32, u32, u32)) -> Option<Offer> {
    let (width, height, fps) = want;
    let area = u64::from(width) * u64::from(height);
    offers.iter().copied().min_by_key(|offer| {
        let offer_area = u64::from(offer.width) * u64::from(offer.height);
        (
            offer.fps < SMOOTH_FPS.min(fps),
            offer_area.abs_diff(area),
            offer.fps.abs_diff(fps),
            offer.pixels == PixelFormat::Mjpeg,
        )
    })
}

/// The cameras this computer has now.
pub fn list() -> Result<Vec<DeviceInfo>, String> {
    let cameras = nokhwa::query(ApiBackend::Auto).map_err(|e| e.to_string())?;
    Ok(cameras
        .into_iter()
        .map(|camera| DeviceInfo {
            id: camera.index().as_string(),
            label: camera.human_name(),
        })
        .collect())
}

/// A camera delivering I420 frames.
pub struct Camera {
    frames: QueueReceiver<VideoFrame>,
    format: Offer,
}

impl Camera {
    /// Opens camera `id` (from [`list`]) at the offer closest to `want`; fails with a reason a
    /// user can act on (not found, in use, no usable format).
    pub fn open(id: &str, want: (u32, u32, u32)) -> Result<Self, SourceError> {
        let index = id
            .parse::<u32>()
            .map_or_else(|_| CameraIndex::String(id.to_owned()), CameraIndex::Index);
        let (opened_tx, opened_rx) = crossbeam_channel::bounded(1);
        let (frames_tx, frames) = drop_oldest(2);
        std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || {
                let mut camera = match open_camera(index, want) {
                    Ok(opened) => opened,
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(camera.1));
                let (device, format) = (&mut camera.0, camera.1);
                loop {
                    let frame = match device.frame_raw() {
                        Ok(raw) => {
                            to_i420(format.pixels, format.width as usize, format.height as usize, &raw)
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the camera stopped delivering");
                            break;
                        }
                    };
                    match frame {
                        Ok(frame) => {
                            if frames_tx.push(frame).is_err() {
                                break;
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "camera frame skipped"),
                    }
                }
                let _ = device.stop_stream();
            })
            .map_err(|_| SourceError::Stopped { kind: "camera" })?;
        let format = opened_rx
            .recv()
            .map_err(|_| SourceError::Stopped { kind: "camera" })??;
        Ok(Self { frames, format })
    }

    /// The size, rate and layout agreed with the camera.
    pub fn format(&self) -> Offer {
        self.format
    }
}

impl VideoSource for Camera {
    fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.format.fps.max(1)
    }

    fn size(&self) -> (usize, usize) {
        (
            (self.format.width & !1) as usize,
            (self.format.height & !1) as usize,
        )
    }

    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        match self.frames.recv_timeout(FRAME_TIMEOUT) {
            Ok(Some(frame)) => Ok(frame),
            _ => Err(SourceError::Stopped { kind: "camera" }),
        }
    }
}

fn open_camera(index: CameraIndex, want: (u32, u32, u32)) -> Result<(nokhwa::Camera, Offer), SourceError> {
    let any = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
    let mut camera = nokhwa::Camera::new(index, any).map_err(opening_failed)?;
    let offers: Vec<Offer> = camera
        .compatible_camera_formats()
        .map_err(opening_failed)?
        .into_iter()
        .filter_map(offer_of)
        .collect();
    let chosen = choose_format(&offers, want).ok_or_else(|| SourceError::UnsupportedFormat {
        reason: "the camera offers no picture format Confab can read (YUYV, NV12, RGB or MJPEG)".into(),
    })?;
    let pixels = [frame_format(chosen.pixels)];
    let format = CameraFormat::new_from(chosen.width, chosen.height, pixels[0], chosen.fps);
    let exact = RequestedFormat::with_formats(RequestedFormatType::Exact(format), &pixels);
    camera.set_camera_requset(exact).map_err(opening_failed)?;
    camera.open_stream().map_err(opening_failed)?;
    Ok((camera, chosen))
}

fn offer_of(format: CameraFormat) -> Option<Offer> {
    let pixels = match format.format() {
        FrameFormat::YUYV => PixelFormat::Yuyv,
        FrameFormat::NV12 => PixelFormat::Nv12,
        FrameFormat::RAWRGB => PixelFormat::Rgb,
        FrameFormat::MJPEG => PixelFormat::Mjpeg,
        FrameFormat::GRAY | FrameFormat::RAWBGR => return None,
    };
    Some(Offer {
        width: format.width(),
        height: format.height(),
        fps: format.frame_rate(),
        pixels,
    })
}

fn frame_format(pixels: PixelFormat) -> FrameFormat {
    match pixels {
        PixelFormat::Yuyv => FrameFormat::YUYV,
        PixelFormat::Nv12 => FrameFormat::NV12,
        PixelFormat::Rgb => FrameFormat::RAWRGB,
        PixelFormat::Mjpeg => FrameFormat::MJPEG,
    }
}

/// nokhwa reports failures as text; "busy" is the OS saying another app holds the camera.
fn opening_failed(error: nokhwa::NokhwaError) -> SourceError {
    let text = error.to_string();
    if text.to_lowercase().contains("busy") {
        SourceError::Busy { kind: "camera" }
    } else if text.contains("No such file") || text.contains("not found") {
        SourceError::NotFound { kind: "camera" }
    } else {
        SourceError::UnsupportedFormat { reason: text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(width: u32, height: u32, fps: u32, pixels: PixelFormat) -> Offer {
        Offer {
            width,
            height,
            fps,
            pixels,
        }
    }

    #[test]
    fn the_wanted_size_at_a_smooth_rate_wins_and_raw_beats_mjpeg() {
        let offers = [
            offer(1920, 1080, 30, PixelFormat::Mjpeg),
            offer(1280, 720, 30, PixelFormat::Mjpeg),
            offer(1280, 720, 30, PixelFormat::Yuyv),
            offer(640, 480, 30, PixelFormat::Yuyv),
        ];
        assert_eq!(
            choose_format(&offers, (1280, 720, 30)),
            Some(offer(1280, 720, 30, PixelFormat::Yuyv))
        );
    }

    #[test]
    fn a_webcam_whose_raw_720p_is_slow_gets_mjpeg_instead() {
        // Typical USB 2 webcam: uncompressed 720p only at 10 fps.
        let offers = [
            offer(1280, 720, 10, PixelFormat::Yuyv),
            offer(1280, 720, 30, PixelFormat::Mjpeg),
            offer(640, 480, 30, PixelFormat::Yuyv),
        ];
        assert_eq!(
            choose_format(&offers, (1280, 720, 30)),
            Some(offer(1280, 720, 30, PixelFormat::Mjpeg))
        );
    }

    #[test]
    fn a_slow_camera_is_still_used_and_nothing_offered_is_none() {
        let offers = [offer(320, 240, 15, PixelFormat::Nv12)];
        assert_eq!(choose_format(&offers, (1280, 720, 30)), Some(offers[0]));
        assert_eq!(choose_format(&[], (1280, 720, 30)), None);
    }
}
