//! Breaches that do not flap: enter above the limit, leave only after `leave_ticks`
//! ticks in a row below limit * (1 - margin).

use std::collections::HashMap;

/// When a breach ends: the profile's `budget.leave_margin` and `budget.leave_ticks`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HysteresisRule {
    /// Fraction 0.0-1.0: a tick is calm while the value is below limit × (1 - `leave_margin`).
    pub leave_margin: f64,
    /// Calm ticks in a row that end a breach.
    pub leave_ticks: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Track {
    active: bool,
    calm_ticks: u32,
    since_tick: u64,
}

/// Breach state per line id, across ticks.
#[derive(Debug, Default)]
pub struct BreachTracker {
    tick: u64,
    tracks: HashMap<String, Track>,
}

impl BreachTracker {
    /// Starts a tick; every watched line must then be `observe`d once.
    pub fn begin_tick(&mut self) {
        self.tick += 1;
    }

    /// The current tick's number: 1 after the first `begin_tick`, 0 before.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Returns the tick the breach started at while it is active.
    pub fn observe(&mut self, rule: HysteresisRule, id: &str, used: u64, limit: u64) -> Option<u64> {
        let tick = self.tick;
        let track = self.tracks.entry(id.to_owned()).or_default();
        if !track.active {
            if used > limit {
                *track = Track { active: true, calm_ticks: 0, since_tick: tick };
            }
        } else if (used as f64) < limit as f64 * (1.0 - rule.leave_margin) {
            track.calm_ticks += 1;
            if track.calm_ticks >= rule.leave_ticks {
                track.active = false;
            }
        } else {
            track.calm_ticks = 0;
        }
        track.active.then_some(track.since_tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: HysteresisRule = HysteresisRule { leave_margin: 0.05, leave_ticks: 3 };

    fn run(values: &[u64]) -> Vec<bool> {
        let mut tracker = BreachTracker::default();
        values
            .iter()
            .map(|&v| {
                tracker.begin_tick();
                tracker.observe(RULE, "plasma", v, 100).is_some()
            })
            .collect()
    }

    #[test]
    fn enters_strictly_above_the_limit() {
        assert_eq!(run(&[99, 100, 101]), [false, false, true]);
    }

    #[test]
    fn hovering_at_the_line_does_not_flap() {
        assert_eq!(run(&[101, 99, 101, 98, 100, 99]), [true; 6]);
    }

    #[test]
    fn leaves_after_n_calm_ticks_below_the_margin() {
        assert_eq!(run(&[101, 94, 94, 94, 94]), [true, true, true, false, false]);
        // A tick back inside the margin resets the count.
        assert_eq!(run(&[101, 94, 94, 96, 94, 94, 94]), [true, true, true, true, true, true, false]);
    }

    #[test]
    fn remembers_when_the_breach_started() {
        let mut tracker = BreachTracker::default();
        let mut since = Vec::new();
        for v in [50, 150, 150] {
            tracker.begin_tick();
            since.push(tracker.observe(RULE, "total", v, 100));
        }
        assert_eq!(since, [None, Some(2), Some(2)]);
    }
}
