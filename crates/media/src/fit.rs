//! A decoded picture made ready for the place it is shown: scaled down to the size of its tile
//! (each I420 plane through `fast_image_resize`'s SIMD convolution) and, for screens that draw
//! pixels as they are, converted to RGBA with the `yuv` crate's SIMD converter (BT.601 limited
//! range, what H.264 decoders produce). Scaling before the picture leaves the app means a small
//! tile costs the webview a small picture instead of a full 720p one.

use crate::VideoFrame;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use std::borrow::Cow;
use yuv::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

/// A picture that could not be scaled or converted (its planes do not match its size).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {width}x{height} picture could not be prepared for the screen: {reason}")]
pub struct FitError {
    /// Width of the picture.
    pub width: usize,
    /// Height of the picture.
    pub height: usize,
    /// What went wrong.
    pub reason: String,
}

/// The largest even size with the picture's shape that fits in `max_width`×`max_height`,
/// never larger than the picture itself and never smaller than 2×2.
pub fn fit_size(width: usize, height: usize, max_width: usize, max_height: usize) -> (usize, usize) {
    if width == 0 || height == 0 || (width <= max_width && height <= max_height) {
        return (width, height);
    }
    // The side that has to shrink most decides the scale.
    let (fitted_width, fitted_height) = if max_width * height <= max_height * width {
        (max_width, max_width * height / width)
    } else {
        (max_height * width / height, max_height)
    };
    ((fitted_width & !1).max(2), (fitted_height & !1).max(2))
}

/// `frame` scaled to fit in `max_width`×`max_height` (see [`fit_size`]); the frame itself,
/// not copied, when it already fits.
pub fn scaled_to_fit(
    frame: &VideoFrame,
    max_width: usize,
    max_height: usize,
) -> Result<Cow<'_, VideoFrame>, FitError> {
    let (width, height) = fit_size(frame.width, frame.height, max_width, max_height);
    if (width, height) == (frame.width, frame.height) {
        return Ok(Cow::Borrowed(frame));
    }
    let fail = |reason: String| FitError {
        width: frame.width,
        height: frame.height,
        reason,
    };
    let mut scaled = VideoFrame::black(width, height);
    let (y, chroma) = scaled.data.split_at_mut(width * height);
    let (u, v) = chroma.split_at_mut(width * height / 4);
    let mut resizer = Resizer::new();
    let (source_chroma, target_chroma) = ((frame.width / 2, frame.height / 2), (width / 2, height / 2));
    for (source, source_size, target, target_size) in [
        (frame.y(), (frame.width, frame.height), y, (width, height)),
        (frame.u(), source_chroma, u, target_chroma),
        (frame.v(), source_chroma, v, target_chroma),
    ] {
        scale_plane(&mut resizer, source, source_size, target, target_size).map_err(fail)?;
    }
    Ok(Cow::Owned(scaled))
}

fn scale_plane(
    resizer: &mut Resizer,
    source: &[u8],
    (source_width, source_height): (usize, usize),
    target: &mut [u8],
    (target_width, target_height): (usize, usize),
) -> Result<(), String> {
    let source = ImageRef::new(dim(source_width), dim(source_height), source, PixelType::U8)
        .map_err(|e| e.to_string())?;
    let mut target = Image::from_slice_u8(dim(target_width), dim(target_height), target, PixelType::U8)
        .map_err(|e| e.to_string())?;
    // Bilinear widens its kernel with the scale, so shrinking averages instead of skipping.
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    resizer
        .resize(&source, &mut target, &options)
        .map_err(|e| e.to_string())
}

/// `frame` as RGBA, 4 bytes per pixel, rows top to bottom, alpha opaque.
pub fn to_rgba(frame: &VideoFrame) -> Result<Vec<u8>, FitError> {
    let (width, height) = (frame.width, frame.height);
    let planar = YuvPlanarImage {
        y_plane: frame.y(),
        y_stride: dim(width),
        u_plane: frame.u(),
        u_stride: dim(width / 2),
        v_plane: frame.v(),
        v_stride: dim(width / 2),
        width: dim(width),
        height: dim(height),
    };
    let mut rgba = vec![0u8; width * height * 4];
    yuv::yuv420_to_rgba(
        &planar,
        &mut rgba,
        dim(width * 4),
        YuvRange::Limited,
        YuvStandardMatrix::Bt601,
    )
    .map_err(|e| FitError {
        width,
        height,
        reason: e.to_string(),
    })?;
    Ok(rgba)
}

/// Picture sizes are far below `u32::MAX`; the libraries take `u32`.
fn dim(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture whose left half is Y=`left` and right half Y=`right`, neutral chroma.
    fn halves(width: usize, height: usize, left: u8, right: u8) -> VideoFrame {
        let mut frame = VideoFrame::black(width, height);
        for row in frame.data[..width * height].chunks_mut(width) {
            row[..width / 2].fill(left);
            row[width / 2..].fill(right);
        }
        frame
    }

    #[test]
    fn sizes_keep_the_shape_and_never_grow() {
        assert_eq!(fit_size(1280, 720, 400, 400), (400, 224));
        assert_eq!(fit_size(1280, 720, 800, 300), (532, 300));
        assert_eq!(fit_size(1280, 720, 1920, 1080), (1280, 720));
        assert_eq!(fit_size(640, 480, 1, 1), (2, 2));
    }

    #[test]
    fn a_scaled_picture_keeps_what_is_where() {
        let frame = halves(1280, 720, 40, 200);
        let scaled = scaled_to_fit(&frame, 320, 320).unwrap();
        assert_eq!((scaled.width, scaled.height), (320, 180));
        assert_eq!(scaled.data.len(), 320 * 180 * 3 / 2);
        let row = &scaled.y()[90 * 320..91 * 320];
        assert_eq!((row[10], row[310]), (40, 200), "left dark, right bright");
        assert!(scaled.u().iter().chain(scaled.v()).all(|&c| c == 128));
    }

    #[test]
    fn a_picture_that_fits_is_left_alone() {
        let frame = halves(64, 32, 16, 235);
        assert!(matches!(scaled_to_fit(&frame, 64, 64).unwrap(), Cow::Borrowed(f) if *f == frame));
    }

    #[test]
    fn rgba_has_the_colours_of_the_planes() {
        let rgba = to_rgba(&halves(4, 2, 16, 235)).unwrap();
        assert_eq!(rgba.len(), 4 * 2 * 4);
        assert_eq!(&rgba[..4], &[0, 0, 0, 255], "limited-range black");
        assert_eq!(&rgba[12..16], &[255, 255, 255, 255], "limited-range white");
    }

    #[test]
    fn planes_shorter_than_the_size_are_an_error_not_a_panic() {
        let mut frame = VideoFrame::black(8, 8);
        frame.data.truncate(8 * 8 + 16 + 3); // the V plane is 3 bytes instead of 16
        assert!(to_rgba(&frame).is_err());
        assert!(scaled_to_fit(&frame, 4, 4).is_err());
    }
}
