//! The tray icon: a ring gauge of used memory against the budget, coloured by state
//! (Breeze green, amber, red), drawn into an ARGB32 pixmap. Memory pressure turns the ring's
//! track amber; a frozen app puts a blue dot in its centre.

use crate::budget::Status;

/// The fill's RGB: Breeze's positive, neutral and negative colours (ok, near, over).
pub const OK_RGB: [u8; 3] = [0x27, 0xae, 0x60];
/// The fill's RGB when near the budget: Breeze's neutral orange.
pub const NEAR_RGB: [u8; 3] = [0xf6, 0x74, 0x00];
/// The fill's RGB when over budget: Breeze's negative red.
pub const BREACH_RGB: [u8; 3] = [0xda, 0x44, 0x53];
/// The RGB of the ring's unfilled part.
pub const TRACK_RGB: [u8; 3] = [0x7f, 0x8c, 0x8d];
/// The track's RGB under memory pressure: Breeze's neutral orange, lighter.
pub const PRESSURE_TRACK_RGB: [u8; 3] = [0xfd, 0xbc, 0x4b];
/// The centre dot's RGB while an app is frozen: Breeze's focus blue.
pub const FROZEN_RGB: [u8; 3] = [0x3d, 0xae, 0xe9];

/// States the gauge shows besides the fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// Tasks stall on memory past the profile's alert threshold.
    pub pressure: bool,
    /// An app is frozen.
    pub frozen: bool,
}

/// A `size`x`size` gauge filled to `percent` (clockwise from the top; full past 100).
pub fn gauge(percent: u32, status: Status, marks: Marks, size: i32) -> ksni::Icon {
    let color = match status {
        Status::Ok => OK_RGB,
        Status::Near => NEAR_RGB,
        Status::Breach => BREACH_RGB,
    };
    let track = if marks.pressure { PRESSURE_TRACK_RGB } else { TRACK_RGB };
    let fill = (percent.min(100) as f64) / 100.0;
    let center = size as f64 / 2.0;
    let outer = center - 0.5;
    let inner = outer * 0.58;
    let mut data = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            // Sample the pixel centre; alpha fades over one pixel at the ring's edges.
            let (dx, dy) = (x as f64 + 0.5 - center, y as f64 + 0.5 - center);
            let distance = (dx * dx + dy * dy).sqrt();
            let coverage = (outer - distance + 0.5).clamp(0.0, 1.0) * (distance - inner + 0.5).clamp(0.0, 1.0);
            // Angle clockwise from 12 o'clock, as a fraction of the turn.
            let turn = (dx.atan2(-dy) / std::f64::consts::TAU).rem_euclid(1.0);
            let rgb = if turn < fill { color } else { track };
            let dot = if marks.frozen { (inner * 0.55 - distance + 0.5).clamp(0.0, 1.0) } else { 0.0 };
            let (coverage, rgb) = if dot > 0.0 { (dot, FROZEN_RGB) } else { (coverage, rgb) };
            let alpha = (coverage * 255.0).round() as u8;
            data.extend_from_slice(&[alpha, rgb[0], rgb[1], rgb[2]]);
        }
    }
    ksni::Icon { width: size, height: size, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(icon: &ksni::Icon, x: i32, y: i32) -> [u8; 4] {
        let i = ((y * icon.width + x) * 4) as usize;
        icon.data[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn the_gauge_fills_clockwise_in_the_state_colour() {
        let icon = gauge(25, Status::Breach, Marks::default(), 32);
        assert_eq!(icon.data.len(), 32 * 32 * 4);
        // Right of the centre (a quarter turn) is just inside 25 %... top-right is filled:
        assert_eq!(pixel(&icon, 24, 6), [255, 0xda, 0x44, 0x53]);
        // ...the left half is track.
        assert_eq!(pixel(&icon, 3, 16), [255, 0x7f, 0x8c, 0x8d]);
        // The centre and the corners are transparent.
        assert_eq!(pixel(&icon, 16, 16)[0], 0);
        assert_eq!(pixel(&icon, 0, 0)[0], 0);
    }

    #[test]
    fn pressure_colours_the_track_and_a_frozen_app_dots_the_centre() {
        let icon = gauge(25, Status::Ok, Marks { pressure: true, frozen: true }, 32);
        assert_eq!(pixel(&icon, 3, 16), [255, 0xfd, 0xbc, 0x4b], "the track");
        assert_eq!(pixel(&icon, 24, 6), [255, 0x27, 0xae, 0x60], "the fill keeps the state's colour");
        assert_eq!(pixel(&icon, 16, 16), [255, 0x3d, 0xae, 0xe9], "the centre");
        assert_eq!(pixel(&gauge(25, Status::Ok, Marks::default(), 32), 16, 16)[0], 0);
    }

    #[test]
    fn over_budget_is_a_full_ring() {
        let icon = gauge(180, Status::Ok, Marks::default(), 22);
        assert_eq!(&pixel(&icon, 2, 11)[1..], [0x27, 0xae, 0x60]);
    }
}
