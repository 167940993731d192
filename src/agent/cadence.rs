//! How long the agent sleeps between ticks. While the kernel pushes pressure events (PSI
//! triggers armed) and nothing changes, the tick stretches from `tick_seconds` up to
//! `idle_tick_seconds`, doubling after each quiet tick; any change, command or wake-up
//! other than a pressure trigger's brings it back to `tick_seconds` for `SETTLE_TICKS` ticks
//! at least (a new unit is adopted over a few ticks: seen, recognised, moved); a pressure
//! trigger brings one tick (`Wake::settles`). Without triggers the agent must read pressure itself, so it
//! keeps `tick_seconds`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

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

/// The agent's sleep between ticks on a timerfd (timerfd_create(2), CLOCK_MONOTONIC, as
/// Instant): it wakes the agent once at the deadline. tokio's timer wheel wakes a far timer
/// at the start of its level's slot and again at each level below: a 30 s idle tick cost 3
/// wake-ups (strace in the guest's Plasma session), most of the agent's idle ones. Without a
/// timerfd (refused), tokio's sleep.
pub struct TickTimer(Option<AsyncFd<OwnedFd>>);

impl TickTimer {
    /// A timerfd, else tokio's sleep (said once).
    pub fn new() -> TickTimer {
        TickTimer(timerfd().map_err(|e| eprintln!("ballast: no timerfd ({e}); ticks use tokio's timer")).ok())
    }

    /// Returns at `deadline` (at once if it has passed). Cancel-safe: dropped unfinished, the
    /// next call re-arms the timer.
    pub async fn sleep_until(&self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(fd) = self.0.as_ref().filter(|_| !left.is_zero()) else {
            return tokio::time::sleep_until(deadline).await;
        };
        if let Err(e) = arm(fd.get_ref(), left) {
            eprintln!("ballast: timerfd_settime: {e}");
            return tokio::time::sleep_until(deadline).await;
        }
        // A readiness left from an expiry that an earlier, cancelled sleep did not read
        // reads nothing (re-arming resets the count): wait on.
        while let Ok(mut ready) = fd.readable().await {
            let mut expirations = [0u8; 8];
            match ready.try_io(|fd| read(fd.get_ref(), &mut expirations)) {
                Ok(_) => return,
                Err(_would_block) => continue,
            }
        }
    }
}

/// A non-blocking CLOCK_MONOTONIC timerfd, registered with tokio.
fn timerfd() -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: timerfd_create takes no pointers; a descriptor it returns is ours to own.
    let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor nothing else owns; the AsyncFd owns it from here, and
    // nothing replaces or closes it while registered.
    unsafe { AsyncFd::register_with_interest(OwnedFd::from_raw_fd(raw), tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
}

/// Arms `fd` to expire once, `after` from now (non-zero: a zero value disarms).
fn arm(fd: &OwnedFd, after: Duration) -> std::io::Result<()> {
    let value = libc::itimerspec {
        it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
        it_value: libc::timespec { tv_sec: after.as_secs() as libc::time_t, tv_nsec: after.subsec_nanos().into() },
    };
    // SAFETY: `value` is a valid itimerspec; the old value is not asked for.
    let set = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &value, std::ptr::null_mut()) };
    if set < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the expiration count (8 bytes) of a timerfd; WouldBlock before it expires.
fn read(fd: &OwnedFd, count: &mut [u8; 8]) -> std::io::Result<usize> {
    // SAFETY: `count` is 8 writable bytes.
    let read = unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
    if read < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(read as usize)
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

    #[tokio::test]
    async fn the_tick_timer_wakes_at_its_deadline_and_again_after_a_cancelled_sleep() {
        let timer = TickTimer::new();
        assert!(timer.0.is_some(), "Linux has timerfd");
        let within = |what: &'static str| move |_| panic!("{what}: the timer did not fire within 10 s");
        // Cancelled before its deadline: the timer stays armed, and the next sleep re-arms it.
        let cancelled = tokio::time::timeout(Duration::from_millis(20), timer.sleep_until(Instant::now() + TWO)).await;
        assert!(cancelled.is_err(), "a 2 s sleep is not over in 20 ms");
        let deadline = Instant::now() + Duration::from_millis(50);
        tokio::time::timeout(Duration::from_secs(10), timer.sleep_until(deadline))
            .await
            .unwrap_or_else(within("50 ms"));
        assert!(Instant::now() >= deadline, "not before its deadline");
        // A deadline that has passed returns at once.
        tokio::time::timeout(Duration::from_secs(10), timer.sleep_until(deadline)).await.unwrap_or_else(within("past"));
    }
}
