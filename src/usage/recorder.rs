//! The agent's side of the usage record: each tick's cgroup v2 units, keyed by catalog app or
//! Plasma component, added to today's record; the record written at most once a minute (from a
//! tick: no wake-up of its own), when the day changes, and when the agent stops.

use super::store::{self, StoreError};
use super::DayRecord;
use crate::launch::ScopeStatus;
use crate::sample::UnitSample;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// The Plasma components recorded, by the unit Plasma starts each in (plasma-workspace's and
/// baloo's systemd units, Plasma 5.25 and later).
pub const COMPONENTS: [&str; 4] =
    ["plasma-plasmashell.service", "plasma-kwin_wayland.service", "plasma-kwin_x11.service", "kde-baloo.service"];

/// The least time between two writes of the record.
pub const SAVE_EVERY: Duration = Duration::from_secs(60);

/// What each key used in one sample: memory (bytes, page cache left out) and CPU (% of one
/// core).
pub type Usage = BTreeMap<String, (u64, f64)>;

/// The key `unit`'s usage is recorded under: its catalog app's id (as the scopes recognise
/// it), or the unit's name for a Plasma component; None for any other unit.
fn key_of(unit: &str, scopes: &[ScopeStatus]) -> Option<String> {
    if COMPONENTS.contains(&unit) {
        return Some(unit.to_owned());
    }
    scopes.iter().find(|s| s.unit == unit)?.app.clone()
}

/// The units recorded, each with its key: those below `within` (a cgroup path: the user's own
/// manager, so another user's session on the same machine is not counted; None: every unit)
/// that are a catalog app's or a Plasma component.
fn recorded<'a>(
    units: &'a [UnitSample],
    scopes: &[ScopeStatus],
    within: Option<&str>,
) -> Vec<(&'a UnitSample, String)> {
    let top = within.map(|top| top.trim_start_matches('/'));
    let own = |unit: &UnitSample| top.is_none_or(|top| unit.path.starts_with(top));
    units.iter().filter(|u| own(u)).filter_map(|u| Some((u, key_of(u.name(), scopes)?))).collect()
}

/// Each key's usage in this sample, summed over its units below `within` (see `recorded`).
/// CPU is each unit's usage_usec since `before` (its value at the last sample; a unit not
/// seen then counts none) over `elapsed`.
pub fn usage_by_key(
    units: &[UnitSample],
    scopes: &[ScopeStatus],
    within: Option<&str>,
    before: &HashMap<String, u64>,
    elapsed: Duration,
) -> Usage {
    usage_of(&recorded(units, scopes, within), before, elapsed)
}

fn usage_of(recorded: &[(&UnitSample, String)], before: &HashMap<String, u64>, elapsed: Duration) -> Usage {
    let mut usage = Usage::new();
    let wall_usec = elapsed.as_micros().max(1) as f64;
    for (unit, key) in recorded {
        let cpu_usec = before.get(&unit.path).map_or(0, |b| unit.cpu_usec.saturating_sub(*b));
        let entry = usage.entry(key.clone()).or_default();
        entry.0 += unit.memory;
        entry.1 += cpu_usec as f64 * 100.0 / wall_usec;
    }
    usage
}

/// Today's record, being added to.
pub struct Recorder {
    dir: PathBuf,
    /// The cgroup whose units are recorded (the agent's user manager); None: every unit.
    within: Option<String>,
    day: String,
    record: DayRecord,
    /// Each unit's usage_usec at the last sample (by cgroup path), and when that was.
    before: (HashMap<String, u64>, Option<SystemTime>),
    saved_at: SystemTime,
    /// Samples added since the last successful write.
    unsaved: bool,
    /// False while today's file exists but could not be read: it is not replaced.
    writable: bool,
    /// Whether the days beyond `store::KEEP_DAYS` were removed since the day began.
    pruned: bool,
}

impl Recorder {
    /// Today's record in `dir` (`$XDG_STATE_HOME/ballast/usage`), carried on, for the units
    /// below `within`. A file that cannot be parsed is moved aside and the day starts anew;
    /// one that cannot be read is left alone and the day is not written. Either is the error.
    pub fn open(dir: PathBuf, within: Option<String>, now: SystemTime) -> (Recorder, Option<StoreError>) {
        let day = store::day_of(now);
        let (record, problem) = match store::load_day(&dir, &day) {
            Ok(record) => (record, None),
            Err(e) => (DayRecord::new(), Some(e)),
        };
        let writable = !matches!(problem, Some(StoreError::Read { .. }));
        let before = (HashMap::new(), None);
        let recorder =
            Recorder { dir, within, day, record, before, saved_at: now, unsaved: false, writable, pruned: false };
        (recorder, problem)
    }

    /// Adds one sample of `units` (the tick's, `scopes` naming the apps' units) taken at `now`,
    /// and writes the record when a minute has passed since the last write or the day changed
    /// (the old day first: a failure to write it is the error, and the new day starts all the
    /// same). The first sample only notes the units' CPU time.
    pub fn add(&mut self, units: &[UnitSample], scopes: &[ScopeStatus], now: SystemTime) -> Result<(), StoreError> {
        let elapsed = self.before.1.and_then(|at| now.duration_since(at).ok());
        // Only the recorded units' CPU time is kept for the next tick: a handful, not the tree.
        let recorded = recorded(units, scopes, self.within.as_deref());
        let usage = elapsed.map(|elapsed| usage_of(&recorded, &self.before.0, elapsed));
        self.before = (recorded.iter().map(|(u, _)| (u.path.clone(), u.cpu_usec)).collect(), Some(now));
        let today = store::day_of(now);
        let mut written = Ok(());
        if today != self.day {
            written = self.save();
            (self.day, self.record, self.unsaved, self.writable) = (today, DayRecord::new(), false, true);
            self.pruned = false;
        }
        let at = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        for (key, (memory, cpu)) in usage.into_iter().flatten() {
            self.record.entry(key).or_default().add(memory, cpu, at);
            self.unsaved = true;
        }
        if written.is_ok() && now.duration_since(self.saved_at).is_ok_and(|d| d >= SAVE_EVERY) {
            self.saved_at = now;
            written = self.save();
        }
        written
    }

    /// Writes today's record if samples were added since the last successful write.
    pub fn save(&mut self) -> Result<(), StoreError> {
        if !(self.unsaved && self.writable) {
            return Ok(());
        }
        store::save_day(&self.dir, &self.day, &self.record)?;
        self.unsaved = false;
        if !self.pruned {
            store::forget_old_days(&self.dir)?;
            self.pruned = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    const MIB: u64 = 1 << 20;

    fn unit(path: &str, memory: u64, cpu_usec: u64) -> UnitSample {
        UnitSample { path: path.into(), memory, cpu_usec, ..Default::default() }
    }

    fn scope(unit: &str, app: &str) -> ScopeStatus {
        ScopeStatus { app: Some(app.into()), ..ScopeStatus::named(&Profile::embedded(), unit) }
    }

    const SHELL: &str = "user.slice/user-1000.slice/user@1000.service/session.slice/plasma-plasmashell.service";
    const CHAT_A: &str = "user.slice/user-1000.slice/user@1000.service/app.slice/app-discord-1.scope";
    const CHAT_B: &str = "user.slice/user-1000.slice/user@1000.service/app.slice/app-discord-2.scope";
    const OTHER: &str = "user.slice/user-1000.slice/user@1000.service/app.slice/app-xterm-3.scope";

    #[test]
    fn an_app_is_summed_over_its_units_and_a_component_is_its_unit() {
        let units = [
            unit(SHELL, 300 * MIB, 1_500_000),
            unit(CHAT_A, 200 * MIB, 1_000_000),
            unit(CHAT_B, 100 * MIB, 400_000),
            unit(OTHER, 50 * MIB, 9),
        ];
        let scopes = [scope("app-discord-1.scope", "discord"), scope("app-discord-2.scope", "discord")];
        let before = HashMap::from([(SHELL.to_owned(), 1_000_000), (CHAT_A.to_owned(), 0)]);
        let usage = usage_by_key(&units, &scopes, None, &before, Duration::from_secs(2));
        assert_eq!(usage.keys().collect::<Vec<_>>(), ["discord", "plasma-plasmashell.service"], "xterm is neither");
        assert_eq!(usage["plasma-plasmashell.service"], (300 * MIB, 25.0), "0.5 s of CPU in 2 s");
        assert_eq!(usage["discord"], (300 * MIB, 50.0), "a unit new since the last sample counts no CPU");
        // Another user's Plasma on the same machine is not this user's.
        let theirs = unit(&SHELL.replace("1000", "1001"), 900 * MIB, 0);
        let both = [units[0].clone(), theirs];
        let own = usage_by_key(
            &both,
            &[],
            Some("/user.slice/user-1000.slice/user@1000.service"),
            &before,
            Duration::from_secs(2),
        );
        assert_eq!(own["plasma-plasmashell.service"].0, 300 * MIB);
        assert_eq!(
            usage_by_key(&both, &[], None, &before, Duration::from_secs(2))["plasma-plasmashell.service"].0,
            1200 * MIB
        );
    }

    #[test]
    fn a_failed_write_keeps_the_samples_for_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("usage");
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let (mut recorder, problem) = Recorder::open(record.clone(), None, start);
        assert!(problem.is_none(), "no folder yet is no record yet");
        let shell = [unit(SHELL, MIB, 0)];
        recorder.add(&shell, &[], start).unwrap();
        recorder.add(&shell, &[], start + Duration::from_secs(2)).unwrap();
        std::fs::write(&record, b"a file where the folder should be").unwrap();
        assert!(recorder.save().is_err());
        std::fs::remove_file(&record).unwrap();
        std::fs::create_dir(&record).unwrap();
        recorder.add(&shell, &[], start + Duration::from_secs(4)).unwrap();
        recorder.save().unwrap();
        assert_eq!(store::load_day(&record, &store::day_of(start)).unwrap()["plasma-plasmashell.service"].samples, 2);
    }

    #[test]
    fn a_record_that_cannot_be_read_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        // A folder where the day's file should be: reading it fails (EISDIR), whoever runs this.
        let file = dir.path().join(format!("{}.json", store::day_of(now)));
        std::fs::create_dir(&file).unwrap();
        let (mut recorder, problem) = Recorder::open(dir.path().into(), None, now);
        assert!(matches!(problem, Some(StoreError::Read { .. })), "{problem:?}");
        recorder.add(&[unit(SHELL, MIB, 0)], &[], now).unwrap();
        recorder.add(&[unit(SHELL, MIB, 0)], &[], now + Duration::from_secs(2)).unwrap();
        recorder.save().unwrap();
        assert!(file.is_dir(), "not replaced");
    }

    #[test]
    fn the_record_is_written_once_a_minute_and_carried_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let at = |s: u64| start + Duration::from_secs(s);
        let (mut recorder, problem) = Recorder::open(dir.path().into(), None, start);
        assert!(problem.is_none());
        let units = |cpu| [unit(SHELL, 300 * MIB, cpu)];
        for s in (0..=58).step_by(2) {
            recorder.add(&units(s * 10_000), &[], at(s)).unwrap();
        }
        let file = dir.path().join(format!("{}.json", store::day_of(start)));
        assert!(!file.exists(), "not written before a minute has passed");
        recorder.add(&units(600_000), &[], at(60)).unwrap();
        let day = store::load_day(dir.path(), &store::day_of(start)).unwrap();
        let shell = &day["plasma-plasmashell.service"];
        assert_eq!(shell.samples, 30, "the first sample only notes the CPU time");
        assert_eq!(shell.cpu_stats().unwrap().max, 1, "10 ms of CPU a second");
        recorder.add(&units(620_000), &[], at(62)).unwrap();
        recorder.save().unwrap();
        let (mut again, _) = Recorder::open(dir.path().into(), None, at(70));
        again.add(&units(700_000), &[], at(70)).unwrap();
        again.add(&units(720_000), &[], at(72)).unwrap();
        again.save().unwrap();
        let day = store::load_day(dir.path(), &store::day_of(start)).unwrap();
        assert_eq!(day["plasma-plasmashell.service"].samples, 32, "a restart goes on with the day's record");
    }

    #[test]
    fn a_new_day_writes_the_old_one_and_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let evening = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_035_190);
        let (mut recorder, _) = Recorder::open(dir.path().into(), None, evening);
        let shell = [unit(SHELL, 300 * MIB, 0)];
        for s in [0, 2, 4, 12] {
            recorder.add(&shell, &[], evening + Duration::from_secs(s)).unwrap();
        }
        recorder.save().unwrap();
        let (old, new) = (store::day_of(evening), store::day_of(evening + Duration::from_secs(12)));
        assert_ne!(old, new, "the test crosses midnight UTC");
        assert_eq!(store::load_day(dir.path(), &old).unwrap()["plasma-plasmashell.service"].samples, 2);
        assert_eq!(store::load_day(dir.path(), &new).unwrap()["plasma-plasmashell.service"].samples, 1);
    }

    #[test]
    fn a_corrupt_record_is_said_and_the_day_starts_anew() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        std::fs::write(dir.path().join(format!("{}.json", store::day_of(now))), b"{\"plasma-plasma").unwrap();
        let (mut recorder, problem) = Recorder::open(dir.path().into(), None, now);
        assert!(matches!(problem, Some(StoreError::Corrupt { .. })), "{problem:?}");
        recorder.add(&[unit(SHELL, MIB, 0)], &[], now).unwrap();
        recorder.add(&[unit(SHELL, MIB, 0)], &[], now + Duration::from_secs(2)).unwrap();
        recorder.save().unwrap();
        assert_eq!(store::load_day(dir.path(), &store::day_of(now)).unwrap()["plasma-plasmashell.service"].samples, 1);
    }
}
