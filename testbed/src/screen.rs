//! Looking at a screenshot: how many pixels in a part of the screen have given colours
//! (ballast's tray gauge is drawn in known colours, src/tray/icon.rs).

use crate::TestbedError;
use std::path::Path;

/// An RGB image decoded from a PNG (qemu's screendump: 8-bit RGB).
pub struct Screen {
    pub width: u32,
    pub height: u32,
    /// Rows top to bottom, 3 bytes per pixel.
    rgb: Vec<u8>,
}

/// A rectangle in pixels, from the top-left corner.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Screen {
    pub fn load(png: &Path) -> Result<Screen, TestbedError> {
        let bad = |reason: String| TestbedError::Image { path: png.to_owned(), reason };
        let file = std::fs::File::open(png).map_err(|source| TestbedError::File { path: png.to_owned(), source })?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
        let mut buffer = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buffer).map_err(|e| bad(e.to_string()))?;
        let channels = frame.color_type.samples();
        if channels < 3 {
            return Err(bad(format!("{:?} is not an RGB image", frame.color_type)));
        }
        let rgb = buffer[..frame.buffer_size()]
            .chunks_exact(channels)
            .flat_map(|pixel| [pixel[0], pixel[1], pixel[2]])
            .collect();
        Ok(Screen { width: frame.width, height: frame.height, rgb })
    }

    /// The bottom `height` rows of the right half: where Plasma's default panel has its tray.
    pub fn tray_area(&self, height: u32) -> Region {
        Region {
            x: self.width / 2,
            y: self.height.saturating_sub(height),
            width: self.width / 2,
            height: height.min(self.height),
        }
    }

    /// Indexes of the pixels in `region` that differ from `before` (same size) by more than
    /// `tolerance` in some channel.
    pub fn changed_from(&self, before: &Screen, region: Region, tolerance: u8) -> Vec<usize> {
        self.pixels(region)
            .filter(|&i| self.rgb[i..i + 3].iter().zip(&before.rgb[i..i + 3]).any(|(a, b)| a.abs_diff(*b) > tolerance))
            .collect()
    }

    /// The mean luma (Rec. 601, 0-255) of the given pixels; 0 for none.
    pub fn mean_luma(&self, pixels: &[usize]) -> f64 {
        let luma = |i: usize| {
            0.299 * f64::from(self.rgb[i]) + 0.587 * f64::from(self.rgb[i + 1]) + 0.114 * f64::from(self.rgb[i + 2])
        };
        if pixels.is_empty() {
            0.0
        } else {
            pixels.iter().map(|&i| luma(i)).sum::<f64>() / pixels.len() as f64
        }
    }

    /// Byte offsets of the pixels in `region`, clipped to the screen.
    fn pixels(&self, region: Region) -> impl Iterator<Item = usize> + '_ {
        (region.y..(region.y + region.height).min(self.height)).flat_map(move |y| {
            (region.x..(region.x + region.width).min(self.width)).map(move |x| ((y * self.width + x) * 3) as usize)
        })
    }

    /// Pixels in `region` whose every channel is within `tolerance` of one of `colours`.
    pub fn count_near(&self, region: Region, colours: &[[u8; 3]], tolerance: u8) -> usize {
        let near = |pixel: &[u8], colour: &[u8; 3]| pixel.iter().zip(colour).all(|(a, b)| a.abs_diff(*b) <= tolerance);
        self.pixels(region).filter(|&i| colours.iter().any(|colour| near(&self.rgb[i..i + 3], colour))).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use ballast::tray::icon::{BREACH_RGB, NEAR_RGB, OK_RGB, TRACK_RGB};

    const GAUGE: [[u8; 3]; 4] = [OK_RGB, NEAR_RGB, BREACH_RGB, TRACK_RGB];

    fn fixture(name: &str) -> Screen {
        Screen::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)).unwrap()
    }

    /// Plasma 6.3's panel in the guest (the right half of the bottom 64 rows), once with
    /// ballast's item and once a few seconds after the agent stopped.
    #[test]
    fn the_gauge_is_found_only_where_it_is_drawn() {
        let (with, without) = (fixture("tray-with-ballast.png"), fixture("tray-without-ballast.png"));
        let whole = Region { x: 0, y: 0, width: with.width, height: with.height };
        // Within 8 per channel: the panel's own icons and the wallpaper have none of these.
        let (shown, hidden) = (with.count_near(whole, &GAUGE, 8), without.count_near(whole, &GAUGE, 8));
        assert!(shown >= 150 && hidden == 0, "with the item {shown} gauge pixels, without {hidden}");
        // Wider, the wallpaper's reds come in: the tolerance matters.
        assert!(without.count_near(whole, &GAUGE, 24) > 500);
    }

    #[test]
    fn the_item_is_what_changed_and_it_is_darker_than_the_panel() {
        let (with, without) = (fixture("tray-with-ballast.png"), fixture("tray-without-ballast.png"));
        let whole = Region { x: 0, y: 0, width: with.width, height: with.height };
        let changed = with.changed_from(&without, whole, 8);
        assert!(
            !changed.is_empty() && changed.len() < (with.width * with.height / 4) as usize,
            "{} pixels changed",
            changed.len()
        );
        assert!(with.changed_from(&with, whole, 0).is_empty());
        // The light panel behind the icons is brighter than what changed (icons moved, the gauge came).
        let panel = with.pixels(Region { x: 100, y: 30, width: 20, height: 10 }).collect::<Vec<_>>();
        assert!(with.mean_luma(&panel) > with.mean_luma(&changed) + 20.0);
        assert_eq!(with.mean_luma(&[]), 0.0);
    }

    #[test]
    fn a_region_past_the_edge_is_clipped() {
        let screen = fixture("tray-with-ballast.png");
        assert_eq!((screen.width, screen.height), (640, 64));
        let area = screen.tray_area(100);
        assert_eq!((area.x, area.y, area.width, area.height), (320, 0, 320, 64));
        assert_eq!(screen.count_near(Region { x: 600, y: 60, width: 100, height: 100 }, &[[0, 0, 0]], 255), 40 * 4);
    }
}
