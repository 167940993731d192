//! The usage record on disk: one JSON file per day (UTC), `YYYY-MM-DD.json` in the folder the
//! caller names, the newest `KEEP_DAYS` kept.
//!
//! A day's file is written whole to a temporary file and renamed over the old one, so an
//! interrupted write loses what was added since the last write (the agent writes about once a
//! minute), never the file. A file that cannot be parsed is reported, moved aside to
//! `YYYY-MM-DD.json.corrupt` (replacing an older one) and counted as empty.

use super::{app_limits, AppLimits, DayRecord, SUGGEST_DAYS};
use crate::profile::Profile;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use thiserror::Error;

/// Days of record kept; older files are removed when a day is written.
pub const KEEP_DAYS: usize = 60;

/// What went wrong with the record.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum StoreError {
    /// A file or the folder could not be read.
    #[error("usage record {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// A day's file is not a record (it was moved aside).
    #[error("usage record {path} is corrupt ({source}); moved aside to {aside}, the day starts anew")]
    Corrupt { path: PathBuf, aside: PathBuf, source: serde_json::Error },
    /// A file could not be written.
    #[error("usage record {path}: cannot write: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The UTC day of `time`, as the files are named (YYYY-MM-DD).
pub fn day_of(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_owned()
}

/// Days on record, oldest first: each named YYYY-MM-DD, with its record.
pub type Days = Vec<(String, DayRecord)>;

/// The user's record: `$XDG_STATE_HOME/ballast/usage` (default ~/.local/state/ballast/usage).
pub fn user_dir() -> PathBuf {
    crate::xdg::state_dir().join("usage")
}

/// Each catalog app of `profile` on the user's record, with its suggestion (the newest
/// `SUGGEST_DAYS`), and the files that were corrupt.
pub fn user_app_limits(profile: &Profile) -> Result<(Vec<AppLimits>, Vec<StoreError>), StoreError> {
    let (days, problems) = load_days(&user_dir(), SUGGEST_DAYS)?;
    Ok((app_limits(profile, &days), problems))
}

/// The newest `newest` days on record in `dir`, and the files that were corrupt (each moved
/// aside, its day left out). A missing folder is no days.
pub fn load_days(dir: &Path, newest: usize) -> Result<(Days, Vec<StoreError>), StoreError> {
    let mut days = Vec::new();
    let mut problems = Vec::new();
    let names = day_names(dir)?;
    for day in names[names.len().saturating_sub(newest)..].iter().cloned() {
        match load_day(dir, &day) {
            Ok(record) => days.push((day, record)),
            Err(e) => problems.push(e),
        }
    }
    Ok((days, problems))
}

/// One day's record; an empty one where there is no file yet.
pub fn load_day(dir: &Path, day: &str) -> Result<DayRecord, StoreError> {
    let path = dir.join(format!("{day}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DayRecord::new()),
        Err(source) => return Err(StoreError::Read { path, source }),
    };
    serde_json::from_str(&text).map_err(|source| {
        let aside = path.with_extension("json.corrupt");
        match std::fs::rename(&path, &aside) {
            Ok(()) => StoreError::Corrupt { path, aside, source },
            Err(e) => StoreError::Write { path, source: e },
        }
    })
}

/// Writes `record` as the day `day` (temporary file, then rename).
pub fn save_day(dir: &Path, day: &str, record: &DayRecord) -> Result<(), StoreError> {
    let path = dir.join(format!("{day}.json"));
    let json = serde_json::to_vec(record).expect("a record is plain data");
    crate::atomic::write(&path, &json).map_err(|source| StoreError::Write { path, source })
}

/// Removes the files of days beyond the newest `KEEP_DAYS` in `dir`.
pub fn forget_old_days(dir: &Path) -> Result<(), StoreError> {
    let days = day_names(dir)?;
    for old in &days[..days.len().saturating_sub(KEEP_DAYS)] {
        let _ = std::fs::remove_file(dir.join(format!("{old}.json")));
    }
    Ok(())
}

/// The days with a file in `dir`, oldest first (YYYY-MM-DD sorts by date).
fn day_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::Read { path: dir.to_owned(), source }),
    };
    let mut days: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
        .filter(|name| is_day(name))
        .collect();
    days.sort();
    Ok(days)
}

/// Whether `name` has the shape YYYY-MM-DD.
fn is_day(name: &str) -> bool {
    name.len() == 10 && name.char_indices().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::DayUsage;

    fn record(memory: u64) -> DayRecord {
        let mut usage = DayUsage::default();
        usage.add(memory, 3.0, 10);
        DayRecord::from([("kwin".to_owned(), usage)])
    }

    #[test]
    fn a_saved_day_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        save_day(dir.path(), "2026-12-01", &record(200 << 20)).unwrap();
        save_day(dir.path(), "2026-12-02", &record(300 << 20)).unwrap();
        let (days, problems) = load_days(dir.path(), KEEP_DAYS).unwrap();
        assert!(problems.is_empty());
        let names: Vec<&str> = days.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(names, ["2026-12-01", "2026-12-02"]);
        assert_eq!(days[1].1, record(300 << 20));
        assert_eq!(load_day(dir.path(), "2026-12-03").unwrap(), DayRecord::new(), "no file yet");
        assert!(load_days(&dir.path().join("none"), KEEP_DAYS).unwrap().0.is_empty());
        assert_eq!(
            load_days(dir.path(), 1).unwrap().0.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(),
            ["2026-12-02"]
        );
    }

    #[test]
    fn a_corrupt_or_truncated_day_is_told_moved_aside_and_started_anew() {
        let dir = tempfile::tempdir().unwrap();
        save_day(dir.path(), "2026-12-01", &record(200 << 20)).unwrap();
        let path = dir.path().join("2026-12-01.json");
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let (days, problems) = load_days(dir.path(), KEEP_DAYS).unwrap();
        assert!(days.is_empty());
        assert!(matches!(&problems[..], [StoreError::Corrupt { .. }]), "{problems:?}");
        assert!(problems[0].to_string().contains("2026-12-01.json is corrupt"));
        assert_eq!(std::fs::read(dir.path().join("2026-12-01.json.corrupt")).unwrap(), &whole[..whole.len() / 2]);
        assert_eq!(load_day(dir.path(), "2026-12-01").unwrap(), DayRecord::new());
        save_day(dir.path(), "2026-12-01", &record(1)).unwrap();
        assert_eq!(load_day(dir.path(), "2026-12-01").unwrap(), record(1));
    }

    #[test]
    fn only_the_newest_days_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        for day in 1..=KEEP_DAYS + 2 {
            let name = format!("2026-{:02}-{:02}", 1 + day / 28, 1 + day % 28);
            save_day(dir.path(), &name, &record(day as u64)).unwrap();
        }
        forget_old_days(dir.path()).unwrap();
        let days = day_names(dir.path()).unwrap();
        assert_eq!(days.len(), KEEP_DAYS);
        assert_eq!(days[0], "2026-01-04", "the two oldest went");
        assert!(dir.path().join("notes.txt").exists(), "only day files are touched");
    }

    #[test]
    fn days_are_named_by_their_utc_date() {
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_633_600 + 86_399);
        assert_eq!(day_of(time), "2025-12-02");
        assert!(is_day("2026-12-02") && !is_day("2026-12-2") && !is_day("notes-2026"));
    }
}
