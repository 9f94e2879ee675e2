//! A camera's pixels to the I420 the encoder takes, with the `yuv` crate's SIMD converters
//! (and `zune-jpeg` for MJPEG). Packed 4:2:2 is repacked without touching colour; RGB and
//! decoded JPEG go through BT.601 limited range, which is what H.264 decoders assume by default.

use crate::VideoFrame;
use yuv::{
    BufferStoreMut, YuvBiPlanarImage, YuvConversionMode, YuvPackedImage, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Pixel layouts a camera may deliver that Confab converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Packed 4:2:2, Y0 U Y1 V.
    Yuyv,
    /// Y plane, then interleaved U/V at half resolution.
    Nv12,
    /// 8-bit R, G, B.
    Rgb,
    /// Motion JPEG: every frame a JPEG picture.
    Mjpeg,
}

/// A frame that could not be converted (a short buffer, a broken JPEG).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the camera sent a {format:?} frame that could not be read: {reason}")]
pub struct ConvertError {
    /// What the camera said it sends.
    pub format: PixelFormat,
    /// What was wrong.
    pub reason: String,
}

/// Converts one `width`×`height` frame in `format` to I420. Odd sizes are cut to even ones.
pub fn to_i420(
    format: PixelFormat,
    width: usize,
    height: usize,
    data: &[u8],
) -> Result<VideoFrame, ConvertError> {
    let fail = |reason: String| ConvertError { format, reason };
    let (width, height) = (width & !1, height & !1);
    if width == 0 || height == 0 {
        return Err(fail(format!("a {width}x{height} picture is empty")));
    }
    let mut frame = VideoFrame::black(width, height);
    match format {
        PixelFormat::Yuyv => {
            let stride = width * 2;
            need(data, stride * height).map_err(fail)?;
            let packed = YuvPackedImage {
                yuy: &data[..stride * height],
                yuy_stride: dim(stride),
                width: dim(width),
                height: dim(height),
            };
            with_planes(&mut frame, |planar| yuv::yuyv422_to_yuv420(planar, &packed)).map_err(fail)?;
        }
        PixelFormat::Nv12 => {
            let luma = width * height;
            need(data, luma + luma / 2).map_err(fail)?;
            let nv12 = YuvBiPlanarImage {
                y_plane: &data[..luma],
                y_stride: dim(width),
                uv_plane: &data[luma..luma + luma / 2],
                uv_stride: dim(width),
                width: dim(width),
                height: dim(height),
            };
            let mut rgb = vec![0u8; luma * 3];
            yuv::yuv_nv12_to_rgb(
                &nv12,
                &mut rgb,
                dim(width * 3),
                YuvRange::Limited,
                YuvStandardMatrix::Bt601,
                YuvConversionMode::Balanced,
            )
            .map_err(|e| fail(e.to_string()))?;
            rgb_into(&mut frame, &rgb).map_err(fail)?;
        }
        PixelFormat::Rgb => {
            need(data, width * height * 3).map_err(fail)?;
            rgb_into(&mut frame, data).map_err(fail)?;
        }
        PixelFormat::Mjpeg => {
            let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
            let mut decoder = JpegDecoder::new_with_options(data, options);
            let rgb = decoder.decode().map_err(|e| fail(e.to_string()))?;
            let info = decoder.info().ok_or_else(|| fail("no picture size".into()))?;
            if (usize::from(info.width) & !1, usize::from(info.height) & !1) != (width, height) {
                return Err(fail(format!(
                    "the picture is {}x{}, not the {width}x{height} agreed",
                    info.width, info.height
                )));
            }
            rgb_into_strided(&mut frame, &rgb, usize::from(info.width) * 3).map_err(fail)?;
        }
    }
    Ok(frame)
}

fn rgb_into(frame: &mut VideoFrame, rgb: &[u8]) -> Result<(), String> {
    let stride = frame.width * 3;
    rgb_into_strided(frame, rgb, stride)
}

fn rgb_into_strided(frame: &mut VideoFrame, rgb: &[u8], stride: usize) -> Result<(), String> {
    with_planes(frame, |planar| {
        yuv::rgb_to_yuv420(
            planar,
            rgb,
            dim(stride),
            YuvRange::Limited,
            YuvStandardMatrix::Bt601,
            YuvConversionMode::Balanced,
        )
    })
}

/// Runs a `yuv` converter writing straight into `frame`'s three planes.
fn with_planes(
    frame: &mut VideoFrame,
    convert: impl FnOnce(&mut YuvPlanarImageMut<u8>) -> Result<(), yuv::YuvError>,
) -> Result<(), String> {
    let (width, height) = (frame.width, frame.height);
    let luma = width * height;
    let (y, chroma) = frame.data.split_at_mut(luma);
    let (u, v) = chroma.split_at_mut(luma / 4);
    let mut planar = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(y),
        y_stride: dim(width),
        u_plane: BufferStoreMut::Borrowed(u),
        u_stride: dim(width / 2),
        v_plane: BufferStoreMut::Borrowed(v),
        v_stride: dim(width / 2),
        width: dim(width),
        height: dim(height),
    };
    convert(&mut planar).map_err(|e| e.to_string())
}

fn need(data: &[u8], len: usize) -> Result<(), String> {
    if data.len() < len {
        return Err(format!("{} bytes where {len} were needed", data.len()));
    }
    Ok(())
}

/// Picture dimensions fit in u32 (a camera frame is far below 4 G pixels).
fn dim(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4x2 picture: left half pure red, right half pure blue, as packed YUYV in BT.601
    /// limited range (red: Y 81, U 90, V 240; blue: Y 41, U 240, V 110).
    fn red_blue_yuyv() -> Vec<u8> {
        let row = [81, 90, 81, 240, 41, 240, 41, 110];
        [row, row].concat()
    }

    fn near(actual: u8, expected: u8) -> bool {
        actual.abs_diff(expected) <= 3
    }

    #[test]
    fn yuyv_is_repacked_into_planes() {
        let frame = to_i420(PixelFormat::Yuyv, 4, 2, &red_blue_yuyv()).unwrap();
        assert_eq!(frame.y(), &[81, 81, 41, 41, 81, 81, 41, 41]);
        assert_eq!(frame.u(), &[90, 240]);
        assert_eq!(frame.v(), &[240, 110]);
    }

    #[test]
    fn rgb_red_becomes_bt601_red() {
        let red: Vec<u8> = [255, 0, 0].repeat(16);
        let frame = to_i420(PixelFormat::Rgb, 4, 4, &red).unwrap();
        assert!(frame.y().iter().all(|&y| near(y, 81)), "{:?}", frame.y());
        assert!(frame.u().iter().all(|&u| near(u, 90)), "{:?}", frame.u());
        assert!(frame.v().iter().all(|&v| near(v, 240)), "{:?}", frame.v());
    }

    #[test]
    fn nv12_keeps_its_colours() {
        // 2x2 blue: Y 41 everywhere, one U/V pair.
        let frame = to_i420(PixelFormat::Nv12, 2, 2, &[41, 41, 41, 41, 240, 110]).unwrap();
        assert!(frame.y().iter().all(|&y| near(y, 41)), "{:?}", frame.y());
        assert!(
            near(frame.u()[0], 240) && near(frame.v()[0], 110),
            "{:?}",
            frame.data
        );
    }

    #[test]
    fn a_webcams_mjpeg_picture_keeps_its_colours_and_its_size_is_checked() {
        // 640x480, left half red and right half blue, 4:2:2 as webcams send it.
        let (width, height) = (640, 480);
        let rgb: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                if i % width < width / 2 {
                    [255, 0, 0]
                } else {
                    [0, 0, 255]
                }
            })
            .collect();
        let mut jpeg = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 90);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_1);
        encoder
            .encode(&rgb, width as u16, height as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();

        let frame = to_i420(PixelFormat::Mjpeg, width, height, &jpeg).unwrap();
        assert_eq!((frame.width, frame.height), (width, height));
        // Away from the edge between the halves (JPEG blurs it), on one row of each plane.
        let (y_row, chroma_row) = (&frame.y()[240 * width..241 * width], 120 * width / 2);
        let (u_row, v_row) = (
            &frame.u()[chroma_row..chroma_row + width / 2],
            &frame.v()[chroma_row..chroma_row + width / 2],
        );
        let red = (y_row[100], u_row[50], v_row[50]);
        let blue = (y_row[540], u_row[270], v_row[270]);
        let close = |(y, u, v): (u8, u8, u8), want: (u8, u8, u8)| {
            y.abs_diff(want.0) <= 4 && u.abs_diff(want.1) <= 4 && v.abs_diff(want.2) <= 4
        };
        assert!(close(red, (81, 90, 240)), "red came out as {red:?}");
        assert!(close(blue, (41, 240, 110)), "blue came out as {blue:?}");

        let other_size = to_i420(PixelFormat::Mjpeg, 1280, 720, &jpeg).unwrap_err();
        assert!(other_size.reason.contains("640x480"), "{other_size}");
    }

    #[test]
    fn a_short_or_broken_frame_is_an_error_not_a_panic() {
        let short = to_i420(PixelFormat::Yuyv, 640, 480, &[0; 100]).unwrap_err();
        assert!(short.reason.contains("100 bytes"), "{short}");
        assert!(to_i420(PixelFormat::Mjpeg, 640, 480, b"not a jpeg").is_err());
        assert!(to_i420(PixelFormat::Rgb, 0, 480, &[]).is_err());
    }
}
