//! Learnt usage: what each app (catalog id) and Plasma component (unit) used, per day, kept
//! across sessions, and the limits it suggests.
//!
//! A day's record holds, per key, the number of samples, a histogram of memory (bytes, in
//! buckets an eighth of a doubling wide: at most 9 % apart) and of CPU (% of one core, 1 %
//! buckets), and the peak with its time, so p50, p95 and max are read back without keeping the
//! samples. `suggest` turns the last days into MemoryHigh (p95 x 1.2) and MemoryMax (max x 1.3),
//! rounded up to 64 MiB, once there are `MIN_DAYS` days of `MIN_DAY_SAMPLES` samples or more:
//! the rule of Kubernetes' vertical pod autoscaler (a high percentile plus a margin), applied
//! per day so one busy day is seen as such.
//!
//! `store` keeps one JSON file per day, which `recorder` feeds from the agent's ticks; this
//! module is pure.

pub mod apply;
pub mod recorder;
pub mod store;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days of evidence `suggest` asks for at least.
pub const MIN_DAYS: usize = 3;
/// Samples a day needs to count as evidence (15 minutes at the idle tick of 30 s).
pub const MIN_DAY_SAMPLES: u32 = 30;
/// MemoryHigh above the p95 of memory: p95 x 1.2.
pub const HIGH_MARGIN: f64 = 1.2;
/// MemoryMax above the peak: max x 1.3.
pub const MAX_MARGIN: f64 = 1.3;
/// Suggested limits are multiples of this, bytes (64 MiB).
pub const ROUND_TO: u64 = 64 << 20;

/// Memory buckets per doubling.
const BUCKETS_PER_DOUBLING: f64 = 8.0;
/// The lower bound of memory bucket 0, bytes (1 MiB); smaller uses fall in it.
const SMALLEST: f64 = (1u64 << 20) as f64;
/// The highest bucket index (CPU: 640 cores' worth; memory: 2^8192 MiB, never reached).
const TOP_BUCKET: u16 = 64_000;

/// Counts per bucket; empty buckets are not stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Histogram(BTreeMap<u16, u32>);

impl Histogram {
    fn add(&mut self, bucket: u16) {
        *self.0.entry(bucket).or_default() += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (bucket, count) in &other.0 {
            *self.0.entry(*bucket).or_default() += count;
        }
    }

    /// The bucket holding the `q` quantile (0..=1) of what was added; None when empty.
    fn quantile(&self, q: f64) -> Option<u16> {
        let total: u64 = self.0.values().map(|c| u64::from(*c)).sum();
        let wanted = ((total as f64 * q).ceil() as u64).max(1);
        let mut seen = 0;
        self.0
            .iter()
            .find(|(_, count)| {
                seen += u64::from(**count);
                seen >= wanted
            })
            .map(|(bucket, _)| *bucket)
    }
}

/// The memory bucket of `bytes`.
fn memory_bucket(bytes: u64) -> u16 {
    let doublings = (bytes as f64 / SMALLEST).log2().max(0.0);
    (doublings * BUCKETS_PER_DOUBLING).floor().min(f64::from(TOP_BUCKET)) as u16
}

/// The upper bound of memory bucket `bucket`, bytes: what a quantile read from it is taken as
/// (limits drawn from it err upwards).
fn memory_bucket_top(bucket: u16) -> u64 {
    (SMALLEST * 2f64.powf(f64::from(bucket + 1) / BUCKETS_PER_DOUBLING)) as u64
}

/// What one key used on one day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayUsage {
    /// Samples taken.
    pub samples: u32,
    /// Memory (bytes, page cache left out) by bucket.
    pub memory: Histogram,
    /// CPU (% of one core since the sample before) by 1 % bucket.
    pub cpu: Histogram,
    /// The most memory seen, bytes.
    pub peak_memory: u64,
    /// When the peak was seen, seconds since the epoch.
    pub peak_at: u64,
}

impl DayUsage {
    /// Adds one sample: `memory` bytes, `cpu` % of one core, taken at `at` (s since the epoch).
    pub fn add(&mut self, memory: u64, cpu: f64, at: u64) {
        self.samples = self.samples.saturating_add(1);
        self.memory.add(memory_bucket(memory));
        self.cpu.add(cpu.clamp(0.0, f64::from(TOP_BUCKET)) as u16);
        if memory > self.peak_memory {
            (self.peak_memory, self.peak_at) = (memory, at);
        }
    }

    /// p50, p95 and max of memory, bytes (the percentiles as their bucket's upper bound,
    /// at most the max).
    pub fn memory_stats(&self) -> Option<Stats> {
        let top = |q| self.memory.quantile(q).map(|b| memory_bucket_top(b).min(self.peak_memory));
        Some(Stats { p50: top(0.5)?, p95: top(0.95)?, max: self.peak_memory })
    }

    /// p50, p95 and max of CPU, % of one core (1 % steps).
    pub fn cpu_stats(&self) -> Option<Stats> {
        let at = |q| self.cpu.quantile(q).map(u64::from);
        Some(Stats { p50: at(0.5)?, p95: at(0.95)?, max: *self.cpu.0.keys().next_back()? as u64 })
    }
}

/// p50, p95 and max of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Half the samples were at or below it.
    pub p50: u64,
    /// 95 % of the samples were at or below it.
    pub p95: u64,
    /// The highest sample.
    pub max: u64,
}

/// One day's usage of every key (catalog app id, or a Plasma component's unit name).
pub type DayRecord = BTreeMap<String, DayUsage>;

/// Limits drawn from the evidence of the last days, and that evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// MemoryHigh, bytes: the p95 over the days x `HIGH_MARGIN`, rounded up.
    pub memory_high: u64,
    /// MemoryMax, bytes: the peak x `MAX_MARGIN`, rounded up; never below `memory_high`.
    pub memory_max: u64,
    /// Memory over all the days counted.
    pub memory: Stats,
    /// Days counted (those with `MIN_DAY_SAMPLES` samples or more).
    pub days: usize,
    /// Samples in those days.
    pub samples: u64,
    /// The day of the peak, as the record names it (YYYY-MM-DD).
    pub peak_day: String,
    /// When the peak was seen, seconds since the epoch.
    pub peak_at: u64,
}

/// Limits for `key` from `days` (each named YYYY-MM-DD with its record), once `MIN_DAYS` of
/// them hold `MIN_DAY_SAMPLES` samples or more of it; None before.
pub fn suggest<'a>(key: &str, days: impl IntoIterator<Item = (&'a str, &'a DayRecord)>) -> Option<Suggestion> {
    let counted: Vec<(&str, &DayUsage)> = days
        .into_iter()
        .filter_map(|(day, record)| Some((day, record.get(key)?)))
        .filter(|(_, usage)| usage.samples >= MIN_DAY_SAMPLES)
        .collect();
    if counted.len() < MIN_DAYS {
        return None;
    }
    let mut all = DayUsage::default();
    let mut peak_day = "";
    for (day, usage) in &counted {
        all.memory.merge(&usage.memory);
        if usage.peak_memory > all.peak_memory {
            (all.peak_memory, all.peak_at, peak_day) = (usage.peak_memory, usage.peak_at, day);
        }
    }
    let memory = all.memory_stats()?;
    let memory_high = round_up(memory.p95 as f64 * HIGH_MARGIN);
    Some(Suggestion {
        memory_high,
        memory_max: round_up(memory.max as f64 * MAX_MARGIN).max(memory_high),
        memory,
        days: counted.len(),
        samples: counted.iter().map(|(_, u)| u64::from(u.samples)).sum(),
        peak_day: peak_day.to_owned(),
        peak_at: all.peak_at,
    })
}

/// Days on record `ballast suggest` looks back over (the newest; days without a file, when
/// the desktop was not used, do not count).
pub const SUGGEST_DAYS: usize = 14;

/// A catalog app's limits now (the profile's), and those its record suggests (`ballast suggest
/// --json`, the agent's Suggestions()).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppLimits {
    /// The catalog id.
    pub app: String,
    /// The catalog name.
    pub name: String,
    /// MemoryHigh now, bytes.
    pub memory_high: u64,
    /// MemoryMax now, bytes.
    pub memory_max: u64,
    /// Days on record (of the last `SUGGEST_DAYS`) with `MIN_DAY_SAMPLES` samples or more.
    pub days: usize,
    /// None until `MIN_DAYS` such days are on record.
    pub suggestion: Option<Suggestion>,
}

impl AppLimits {
    /// Days of use still needed before a suggestion (0 once there is one).
    pub fn days_needed(&self) -> usize {
        if self.suggestion.is_some() {
            0
        } else {
            MIN_DAYS.saturating_sub(self.days)
        }
    }
}

/// Every catalog app of `profile` on record in the newest `SUGGEST_DAYS` of `days` (oldest
/// first, as `store::load_days` gives them), in catalog order, with its suggestion.
pub fn app_limits(profile: &crate::profile::Profile, days: &[(String, DayRecord)]) -> Vec<AppLimits> {
    let recent = &days[days.len().saturating_sub(SUGGEST_DAYS)..];
    let recent = || recent.iter().map(|(day, record)| (day.as_str(), record));
    profile
        .apps
        .iter()
        .filter(|app| recent().any(|(_, record)| record.contains_key(&app.id)))
        .map(|app| AppLimits {
            app: app.id.clone(),
            name: app.name.clone(),
            memory_high: app.memory_high.0,
            memory_max: app.memory_max.0,
            days: recent().filter(|(_, r)| r.get(&app.id).is_some_and(|u| u.samples >= MIN_DAY_SAMPLES)).count(),
            suggestion: suggest(&app.id, recent()),
        })
        .collect()
}

/// `bytes` rounded up to a multiple of `ROUND_TO` (at least one).
fn round_up(bytes: f64) -> u64 {
    ((bytes / ROUND_TO as f64).ceil() as u64).max(1) * ROUND_TO
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// A day of `samples` readings spread evenly from `low` to `high` MiB, the peak at `at`.
    fn ramp(samples: u32, low: u64, high: u64, at: u64) -> DayUsage {
        let mut day = DayUsage::default();
        for i in 0..samples {
            let mib = low + (high - low) * u64::from(i) / u64::from(samples - 1);
            day.add(mib * MIB, f64::from(i % 50), at + u64::from(i));
        }
        day
    }

    #[test]
    fn percentiles_come_back_within_a_bucket() {
        let day = ramp(1000, 100, 1100, 0);
        let stats = day.memory_stats().unwrap();
        // 1000 readings from 100 to 1100 MiB: p50 at 600, p95 at 1050 MiB; a bucket is at
        // most 9 % wide and a quantile is read as its bucket's top.
        assert!((600 * MIB..=654 * MIB).contains(&stats.p50), "{stats:?}");
        assert!((1050 * MIB..=1100 * MIB).contains(&stats.p95), "{stats:?}");
        assert_eq!(stats.max, 1100 * MIB);
        assert_eq!(day.peak_at, 999);
        let cpu = day.cpu_stats().unwrap();
        assert_eq!((cpu.p50, cpu.p95, cpu.max), (24, 47, 49));
    }

    #[test]
    fn a_quantile_never_reads_above_the_peak() {
        let mut day = DayUsage::default();
        day.add(300 * MIB, 1.0, 5);
        let stats = day.memory_stats().unwrap();
        assert_eq!((stats.p50, stats.p95, stats.max), (300 * MIB, 300 * MIB, 300 * MIB));
        assert_eq!(DayUsage::default().memory_stats(), None);
    }

    #[test]
    fn limits_come_from_p95_and_the_peak_of_enough_days() {
        let days: Vec<(String, DayRecord)> = (1..=4)
            .map(|d| {
                let day = ramp(200, 500, 900 + 100 * d, d * 86_400);
                (format!("2026-11-0{d}"), DayRecord::from([("discord".to_owned(), day)]))
            })
            .collect();
        let named = || days.iter().map(|(d, r)| (d.as_str(), r));
        let s = suggest("discord", named()).unwrap();
        assert_eq!((s.days, s.samples, s.peak_day.as_str(), s.memory.max), (4, 800, "2026-11-04", 1300 * MIB));
        assert_eq!(s.peak_at, 4 * 86_400 + 199);
        assert_eq!(s.memory_max, 1728 * MIB, "1300 MiB x 1.3 = 1690 MiB, up to 27 x 64 MiB");
        assert!(s.memory_high % ROUND_TO == 0 && s.memory_high >= (s.memory.p95 as f64 * 1.2) as u64);
        assert!(s.memory_high < s.memory.p95 * 13 / 10 + ROUND_TO, "{s:?}");
        assert_eq!(suggest("slack", named()), None, "no record of it");
    }

    #[test]
    fn too_little_evidence_suggests_nothing() {
        let full = DayRecord::from([("kate".to_owned(), ramp(MIN_DAY_SAMPLES, 100, 200, 0))]);
        let thin = DayRecord::from([("kate".to_owned(), ramp(MIN_DAY_SAMPLES - 1, 100, 200, 0))]);
        assert!(suggest("kate", [("d1", &full), ("d2", &full), ("d3", &thin)]).is_none(), "two full days");
        assert!(suggest("kate", [("d1", &full), ("d2", &full), ("d3", &full)]).is_some());
    }

    #[test]
    fn memory_max_is_never_below_memory_high() {
        // A flat use: p95 x 1.2 and max x 1.3 round to the same step, or high above max.
        let flat = DayRecord::from([("x".to_owned(), ramp(100, 1000, 1001, 0))]);
        let s = suggest("x", [("a", &flat), ("b", &flat), ("c", &flat)]).unwrap();
        assert!(s.memory_max >= s.memory_high, "{s:?}");
        assert_eq!(round_up(1.0), ROUND_TO);
    }

    #[test]
    fn only_recorded_catalog_apps_are_listed_over_the_last_fortnight() {
        let profile = crate::profile::Profile::embedded();
        let discord = profile.app("discord").expect("discord is in the catalog");
        let day = |key: &str| DayRecord::from([(key.to_owned(), ramp(MIN_DAY_SAMPLES, 100, 200, 0))]);
        // Twenty days: the first six with Discord, then fourteen with Spotify only.
        let days: Vec<(String, DayRecord)> =
            (0..20).map(|i| (format!("d{i:02}"), day(if i < 6 { "discord" } else { "spotify" }))).collect();
        let listed = app_limits(&profile, &days);
        assert_eq!(listed.iter().map(|l| l.app.as_str()).collect::<Vec<_>>(), ["spotify"], "Discord's days are older");
        let listed = app_limits(&profile, &days[..8]);
        let first = &listed[0];
        assert_eq!((first.app.as_str(), first.days), ("discord", 6));
        assert_eq!((first.memory_high, first.memory_max), (discord.memory_high.0, discord.memory_max.0));
        assert!(first.suggestion.is_some());
        assert_eq!((listed[1].app.as_str(), listed[1].days, listed[1].suggestion.is_none()), ("spotify", 2, true));
        assert!(app_limits(&profile, &[("d".into(), day("plasma-plasmashell.service"))]).is_empty(), "not an app");
    }
}
