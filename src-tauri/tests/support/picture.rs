//! Reading screenshots: decode a PNG and check that a tile shows the moving test pattern.

/// An RGB picture.
pub struct Picture {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    /// Decodes a PNG screenshot.
    pub fn from_png(bytes: &[u8]) -> Self {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG screenshot");
        let mut buffer = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
        let info = reader.next_frame(&mut buffer).expect("PNG pixels");
        let channels = info.color_type.samples();
        let rgb = buffer[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|px| [px[0], px[1], px[2]])
            .collect();
        Self {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    /// The part of the picture inside a rectangle (x, y, width, height), clipped to the picture.
    pub fn crop(&self, (x, y, width, height): (usize, usize, usize, usize)) -> Picture {
        let width = width.min(self.width.saturating_sub(x));
        let height = height.min(self.height.saturating_sub(y));
        let mut rgb = Vec::with_capacity(width * height * 3);
        for row in y..y + height {
            let start = (row * self.width + x) * 3;
            rgb.extend_from_slice(&self.rgb[start..start + width * 3]);
        }
        Picture { width, height, rgb }
    }

    /// The colour at (x, y).
    pub fn at(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let i = (y * self.width + x) * 3;
        (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }

    /// Share of pixels whose colour differs from `other`'s by more than 40 in any channel.
    pub fn changed_share(&self, other: &Picture) -> f64 {
        assert_eq!(
            (self.width, self.height),
            (other.width, other.height),
            "screenshots of one tile differ in size"
        );
        let changed = self
            .rgb
            .chunks(3)
            .zip(other.rgb.chunks(3))
            .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 40))
            .count();
        changed as f64 / (self.width * self.height) as f64
    }
}

/// The pattern's eight bars, left to right: white, yellow, cyan, green, magenta, red, blue, black.
const BARS: [(u8, u8, u8); 8] = [
    (255, 255, 255),
    (255, 255, 0),
    (0, 255, 255),
    (0, 255, 0),
    (255, 0, 255),
    (255, 0, 0),
    (0, 0, 255),
    (0, 0, 0),
];

/// Checks the colour bars in the lower part of a tile's picture (below the moving box, above
/// the name label), with room for H.264 loss and scaling. Returns what was wrong, if anything.
pub fn bars_problem(picture: &Picture) -> Option<String> {
    let y = picture.height * 86 / 100;
    for (i, want) in BARS.iter().enumerate() {
        let x = picture.width * (2 * i + 1) / 16;
        let got = picture.at(x, y);
        let off = [
            got.0.abs_diff(want.0),
            got.1.abs_diff(want.1),
            got.2.abs_diff(want.2),
        ];
        if off.iter().any(|d| *d > 70) {
            return Some(format!(
                "bar {i} at ({x},{y}) is {got:?}, expected about {want:?}"
            ));
        }
    }
    None
}
