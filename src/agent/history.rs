//! The last ten minutes of the budget, for the dashboard's chart and History().

use crate::budget::Report;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One point of History(): what the dashboard's chart draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// Used memory in bytes (MemTotal - MemAvailable).
    pub used: u64,
    /// Bytes stored in zram, uncompressed.
    pub zram_stored: u64,
    /// PSI memory "some" avg10, % of time stalled.
    pub pressure: f32,
}

pub struct History {
    points: VecDeque<Point>,
    capacity: usize,
}

/// How far back History() can look.
pub const KEPT_SECONDS: u32 = 600;

impl History {
    pub fn new(settings: &crate::profile::SampleSettings) -> History {
        let capacity = settings.ticks_in(f64::from(KEPT_SECONDS)) as usize + 1;
        History { points: VecDeque::with_capacity(capacity), capacity }
    }

    pub fn push(&mut self, time: u64, report: &Report) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back(Point {
            time,
            used: report.memory.used,
            zram_stored: report.zram.orig_data,
            pressure: report.psi.memory.map_or(0.0, |p| p.some.avg10),
        });
    }

    /// The points of the last `seconds`, oldest first.
    pub fn since(&self, now: u64, seconds: u32) -> Vec<Point> {
        self.points.iter().filter(|p| p.time + u64::from(seconds) >= now).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use crate::profile::Profile;
    use crate::sample::Sampler;

    #[test]
    fn keeps_ten_minutes_and_answers_a_window() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2");
        let report = Budget::new(Profile::embedded()).evaluate(&Sampler::with_root(root).sample().unwrap());
        let mut history = History::new(&Profile::embedded().sample);
        for t in 0..1000 {
            history.push(t * 2, &report);
        }
        assert_eq!(history.points.len(), 301);
        let last_minute = history.since(1998, 60);
        assert_eq!(last_minute.len(), 31);
        assert_eq!(last_minute[0].time, 1938);
        assert_eq!(last_minute[0].zram_stored, 1228800000);
    }
}
