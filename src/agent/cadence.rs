//! How long the agent sleeps between ticks. While the kernel pushes pressure events (PSI
//! triggers armed) and nothing changes, the tick stretches from `tick_seconds` up to
//! `idle_tick_seconds`, doubling after each quiet tick; any change, wake-up or command brings
//! it back to `tick_seconds` for `SETTLE_TICKS` ticks at least (a new unit is adopted over a
//! few ticks: seen, recognised, moved). Without triggers the agent must read pressure itself, so it
//! keeps `tick_seconds`.

use std::time::Duration;

/// The sleep before the next tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cadence {
    base: Duration,
    idle: Duration,
    current: Duration,
    /// Base ticks still to come before the tick may stretch.
    settle: u32,
}

/// Base ticks after a start, a change or a wake-up before the tick may stretch.
const SETTLE_TICKS: u32 = 3;

impl Cadence {
    /// Starts at `base`; stretches up to `idle` (never below `base`).
    pub fn new(base: Duration, idle: Duration) -> Cadence {
        Cadence { base, idle: idle.max(base), current: base, settle: SETTLE_TICKS }
    }

    /// The sleep after a tick: doubled when the tick was `quiet` and triggers are `armed`,
    /// else back to the base tick.
    pub fn after_tick(&mut self, quiet: bool, armed: bool) -> Duration {
        if !(quiet && armed) {
            self.wake();
        }
        self.current = if self.settle > 0 { self.base } else { (self.current * 2).min(self.idle) };
        self.settle = self.settle.saturating_sub(1);
        self.current
    }

    /// Something happened between ticks: back to the base tick for `SETTLE_TICKS` ticks.
    pub fn wake(&mut self) {
        self.current = self.base;
        self.settle = SETTLE_TICKS;
    }

    /// The base tick.
    pub fn base(&self) -> Duration {
        self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: Duration = Duration::from_secs(2);

    #[test]
    fn quiet_ticks_stretch_up_to_the_idle_tick_with_triggers_only() {
        let mut cadence = Cadence::new(TWO, Duration::from_secs(20));
        let stretched: Vec<u64> = (0..9).map(|_| cadence.after_tick(true, true).as_secs()).collect();
        assert_eq!(stretched, [2, 2, 2, 4, 8, 16, 20, 20, 20], "three base ticks to settle, then doubling");
        assert_eq!(cadence.after_tick(false, true), TWO, "a change brings the base tick back");
        assert_eq!(cadence.after_tick(true, false), TWO, "without triggers the agent must look itself");
        cadence.wake();
        let settled: Vec<u64> = (0..4).map(|_| cadence.after_tick(true, true).as_secs()).collect();
        assert_eq!(settled, [2, 2, 2, 4], "a wake-up settles at the base tick too");
    }

    #[test]
    fn an_idle_tick_below_the_base_is_the_base() {
        let mut cadence = Cadence::new(TWO, Duration::from_secs(1));
        assert!((0..5).all(|_| cadence.after_tick(true, true) == TWO));
    }
}
