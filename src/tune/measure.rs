//! `ballast tune TARGET --measure`: what tuning saves, measured. The memory (PSS, summed over
//! each unit's processes: crate::sample::pss) of the Plasma components a target touches,
//! before the apply and after a settle time, beside the seed's claim where it made one.

use super::{Session, Target};
use crate::launch::DisplayServer;
use crate::render::human;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A Plasma component whose memory a target's settings change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// Its name for people: "KWin", "Plasma shell", "Baloo".
    pub name: &'static str,
    /// The systemd user unit it runs as in Plasma's session.
    pub unit: &'static str,
    /// The seed's claim of what tuning saves, where it made one.
    pub claim: Option<&'static str>,
    /// Restarted after the apply (and before the first reading, so that a fresh process is
    /// not counted as a saving): Baloo reads its settings live but frees its memory only
    /// when it starts anew. KWin and plasmashell are the session: they take the settings
    /// live (reconfigure, ConfigChanged) and are not restarted.
    pub restart: bool,
}

/// The components `target` touches in `session`: KWin and plasmashell for kwin (the
/// animation speed in kdeglobals is plasmashell's too), Baloo's file indexer for baloo.
pub fn components(target: Target, session: &Session) -> Vec<Component> {
    let kwin = Component {
        name: "KWin",
        unit: match session.display {
            Some(DisplayServer::X11) => "plasma-kwin_x11.service",
            _ => "plasma-kwin_wayland.service",
        },
        claim: Some("150-300MB -> 100-200MB"),
        restart: false,
    };
    let shell = Component { name: "Plasma shell", unit: "plasma-plasmashell.service", claim: None, restart: false };
    let baloo = Component { name: "Baloo", unit: "kde-baloo.service", claim: None, restart: true };
    match target {
        Target::Kwin => vec![kwin, shell],
        Target::Baloo => vec![baloo],
        Target::All => vec![kwin, shell, baloo],
    }
}

/// One component's measurement (the `--json` schema).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The component's name.
    pub component: String,
    /// Its unit.
    pub unit: String,
    /// PSS before the apply, bytes; None where it was not read (`note` says why).
    pub before: Option<u64>,
    /// PSS after the apply and the settle time, bytes; None where it was not read.
    pub after: Option<u64>,
    /// The seed's claim, where it made one.
    pub claim: Option<String>,
    /// Whether the unit was restarted after the apply.
    pub restarted: bool,
    /// Why a reading is missing (not running, unreadable), or what limits it.
    pub note: Option<String>,
}

impl Row {
    /// Bytes saved (negative: it grew); None unless both readings were taken.
    pub fn savings(&self) -> Option<i64> {
        Some(self.before? as i64 - self.after? as i64)
    }

    /// The savings as "12M (8%)", "-3M (-2%)" when it grew, sizes written by `size`; None
    /// unless both readings were taken.
    pub fn savings_text(&self, size: impl Fn(u64) -> String) -> Option<String> {
        let saved = self.savings()?;
        let percent = (saved as f64 * 100.0 / self.before?.max(1) as f64).round() as i64;
        let sign = if saved < 0 { "-" } else { "" };
        Some(format!("{sign}{} ({percent}%)", size(saved.unsigned_abs())))
    }
}

/// The rows of `components`, from their readings `before` and `after` (bytes, or why none).
pub fn rows(components: &[Component], before: Vec<Result<u64, String>>, after: Vec<Result<u64, String>>) -> Vec<Row> {
    components
        .iter()
        .zip(before.into_iter().zip(after))
        .map(|(component, (before, after))| Row {
            component: component.name.into(),
            unit: component.unit.into(),
            note: after.as_ref().err().or(before.as_ref().err()).cloned(),
            before: before.ok(),
            after: after.ok(),
            claim: component.claim.map(str::to_owned),
            restarted: component.restart,
        })
        .collect()
}

/// A measurement, as printed and kept for the dashboard (`savings.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// When the second reading was taken, seconds since the epoch.
    pub time: u64,
    /// The target tuned.
    pub target: String,
    /// Seconds waited between the apply and the second reading.
    pub settle_seconds: u64,
    /// One per component.
    pub rows: Vec<Row>,
}

/// Where the last measurement is kept: $XDG_STATE_HOME/ballast/savings.json.
pub fn saved_path() -> PathBuf {
    crate::xdg::state_dir().join("savings.json")
}

/// The last measurement kept at `path`; None when none was taken.
pub fn load(path: &Path) -> Result<Option<Measurement>, MeasureError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(MeasureError::Read { path: path.to_owned(), source }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| MeasureError::Parse { path: path.to_owned(), reason: e.to_string() })
}

/// Keeps `measurement` at `path` (written atomically, its folder made).
pub fn save(path: &Path, measurement: &Measurement) -> Result<(), MeasureError> {
    let json = serde_json::to_string_pretty(measurement).expect("a measurement serializes");
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| crate::atomic::write(path, json.as_bytes()));
    written.map_err(|source| MeasureError::Write { path: path.to_owned(), source })
}

/// The kept measurement could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// savings.json could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// savings.json is not a measurement.
    #[error("{path} is not a measurement ({reason}); `ballast tune TARGET --measure` writes it anew")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde_json's message.
        reason: String,
    },
    /// savings.json could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The table `tune --measure` prints: the seed's "Expected Savings" with measured Before,
/// After and Savings.
pub fn render(measurement: &Measurement) -> String {
    let size = |bytes: Option<u64>| bytes.map_or("-".to_owned(), human);
    let mut lines = vec![format!(
        "{:<13} {:<28} {:>8} {:>8} {:>14}  {}",
        "Component", "Unit", "Before", "After", "Savings", "Seed's claim"
    )];
    for row in &measurement.rows {
        let savings = row.savings_text(human).unwrap_or_else(|| "-".to_owned());
        let unit = if row.restarted { format!("{} *", row.unit) } else { row.unit.clone() };
        lines.push(format!(
            "{:<13} {:<28} {:>8} {:>8} {:>14}  {}",
            row.component,
            unit,
            size(row.before),
            size(row.after),
            savings,
            row.claim.as_deref().unwrap_or("-")
        ));
    }
    lines.push(format!(
        "PSS summed over each unit's processes (smaps_rollup), the second reading {} s after the apply.",
        measurement.settle_seconds
    ));
    if measurement.rows.iter().any(|r| r.restarted) {
        lines.push(
            "* restarted before the first reading and after the apply, so a fresh start is not counted as saved."
                .into(),
        );
    }
    lines.extend(measurement.rows.iter().filter_map(|r| Some(format!("{}: {}", r.component, r.note.as_ref()?))));
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::Plasma;

    fn session(display: Option<DisplayServer>) -> Session {
        Session { plasma: Plasma::Six, display, kwin_version: None, source: "test" }
    }

    #[test]
    fn each_target_measures_the_components_it_touches() {
        let units = |target, display| components(target, &session(display)).iter().map(|c| c.unit).collect::<Vec<_>>();
        assert_eq!(
            units(Target::Kwin, Some(DisplayServer::Wayland)),
            ["plasma-kwin_wayland.service", "plasma-plasmashell.service"]
        );
        assert_eq!(units(Target::Kwin, Some(DisplayServer::X11))[0], "plasma-kwin_x11.service");
        assert_eq!(units(Target::Baloo, None), ["kde-baloo.service"]);
        assert_eq!(units(Target::All, None).len(), 3);
        assert!(components(Target::All, &session(None)).iter().all(|c| c.restart == (c.name == "Baloo")));
    }

    #[test]
    fn a_measurement_is_kept_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ballast/savings.json");
        assert_eq!(load(&path).unwrap(), None, "none taken yet");
        let measurement = Measurement { time: 7, target: "kwin".into(), settle_seconds: 60, rows: Vec::new() };
        save(&path, &measurement).unwrap();
        assert_eq!(load(&path).unwrap(), Some(measurement));
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(load(&path), Err(MeasureError::Parse { .. })));
    }

    #[test]
    fn the_table_gives_before_after_and_savings() {
        let row = |component: &str, before, after, restarted, note: Option<&str>| Row {
            component: component.into(),
            unit: format!("{component}.service"),
            before,
            after,
            claim: None,
            restarted,
            note: note.map(str::to_owned),
        };
        let measurement = Measurement {
            time: 0,
            target: "all".into(),
            settle_seconds: 60,
            rows: vec![
                Row {
                    claim: Some("150-300MB -> 100-200MB".into()),
                    ..row("KWin", Some(200 << 20), Some(150 << 20), false, None)
                },
                row("shell", Some(300 << 20), Some(303 << 20), false, None),
                row("Baloo", None, None, true, Some("not running (kde-baloo.service is inactive)")),
            ],
        };
        assert_eq!(measurement.rows[0].savings(), Some(50 << 20));
        assert_eq!(measurement.rows[2].savings(), None);
        let table = render(&measurement);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[1].starts_with("KWin ") && lines[1].contains("200M") && lines[1].contains("50M (25%)"),
            "{table}"
        );
        assert!(lines[1].ends_with("150-300MB -> 100-200MB"), "{table}");
        assert!(lines[2].contains("-3M (-1%)"), "grew: {table}");
        assert!(lines[3].contains("Baloo.service *") && lines[3].contains(" - "), "{table}");
        assert!(table.contains("60 s after the apply") && table.contains("Baloo: not running"), "{table}");
    }
}
