//! Sample + Profile -> Report: memory by category against idle and workload targets,
//! zram, pressure, the CPU split, and breaches with hysteresis. Pure: no I/O.

mod attribute;
mod classify;
mod hysteresis;
mod judge;

pub use classify::{Classifier, Owner, Subject};
pub use hysteresis::{BreachTracker, HysteresisRule};

use crate::profile::{CpuGroup, Profile};
use crate::sample::{CgroupMode, CpuClock, MemInfo, MemoryEvents, PressureSet, Sample, SwapArea, ZramDevice};
use attribute::CpuMeter;
use judge::Judge;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Version of the `ballast status --json` schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadState {
    Idle,
    Workload,
}

impl LoadState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadState::Idle => "idle",
            LoadState::Workload => "workload",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Near,
    Breach,
}

impl Status {
    /// As the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Near => "near",
            Status::Breach => "breach",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub profile: String,
    pub state: LoadState,
    pub memory: MemoryTotals,
    pub total: TotalLine,
    pub categories: Vec<CategoryLine>,
    /// Used memory that neither a category nor zram's pool accounts for (units or
    /// processes no pattern matched, and what per-process figures cannot see). Never negative.
    pub unclassified: u64,
    pub zram: ZramReport,
    pub psi: PressureSet,
    /// None on the first sample: CPU use needs two.
    pub cpu: Option<CpuSplit>,
    pub breaches: Vec<Breach>,
    pub gpu: GpuLine,
    pub sources: Sources,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryTotals {
    pub total: u64,
    /// As `free` counts it: total - available.
    pub used: u64,
    pub available: u64,
    pub kernel: u64,
    pub cache: u64,
    pub shmem: u64,
    pub swap_total: u64,
    pub swap_used: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TotalLine {
    pub used: u64,
    pub idle: u64,
    pub workload: u64,
    /// The target for the current state: `idle` or `workload`.
    pub limit: u64,
    pub status: Status,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoryLine {
    pub id: String,
    pub name: String,
    pub used: u64,
    pub idle: u64,
    pub workload: u64,
    pub limit: u64,
    pub status: Status,
    /// Buffer/cache is reclaimable: shown against its target, never a breach.
    pub reclaimable: bool,
    pub cpu_group: CpuGroup,
    /// Logical CPUs in use over the last interval; None on the first sample.
    pub cpu: Option<f64>,
    /// Units (cgroup v2) or processes (per-process path) counted here.
    pub members: usize,
    /// Video memory of the category's processes, where the GPU says per process.
    pub gpu_memory: Option<u64>,
    pub apps: Vec<AppLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppLine {
    pub id: String,
    pub name: String,
    pub used: u64,
    pub members: usize,
    pub cpu: Option<f64>,
    /// The catalog's limits for this app.
    pub memory_high: u64,
    pub memory_max: u64,
    /// memory.events summed over the app's running scopes (cgroup v2 only).
    pub events: Option<MemoryEvents>,
    pub gpu_memory: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZramReport {
    /// "active" (zram swap in use), "unused" (devices exist, none is swap), "absent".
    pub state: String,
    pub devices: Vec<ZramDevice>,
    pub disksize: u64,
    pub orig_data: u64,
    pub compr_data: u64,
    pub mem_used: u64,
    /// orig_data / compr_data; None while nothing is stored.
    pub ratio: Option<f64>,
    /// orig_data / disksize.
    pub fill: Option<f64>,
    pub swap_priority: Option<i32>,
    /// Every active swap area, zram or not.
    pub swaps: Vec<SwapArea>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuSplit {
    pub os: CpuShare,
    pub workload: CpuShare,
    pub interval_seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuShare {
    /// Logical CPUs in use (1.0 = one thread busy all the time).
    pub used: f64,
    /// Logical CPUs the profile's core split gives this side.
    pub budget: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// "total" or a category id.
    pub id: String,
    pub used: u64,
    pub limit: u64,
    /// Tick counter value when the breach started.
    pub since_tick: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    pub cgroup: CgroupMode,
    /// "units" (cgroup v2 per unit) or "processes" (per-process PSS/RSS).
    pub attribution: String,
    pub problems: Vec<String>,
}

/// GPU figures as sampled (source, devices, processes; `reason` when there is none),
/// and video memory against the profile's budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuLine {
    #[serde(flatten)]
    pub report: crate::gpu::GpuReport,
    /// None when no device reports its memory use.
    pub vram: Option<VramLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VramLine {
    pub used: u64,
    pub total: Option<u64>,
    pub budget: u64,
    pub status: Status,
}

/// CPU counters from one sample, per unit path or per process, to diff with the next.
#[derive(Default)]
struct CpuCounters {
    clock: CpuClock,
    seconds: HashMap<String, f64>,
}

/// Turns samples into reports; keeps what spans ticks (hysteresis, CPU counters, memo).
pub struct Budget {
    profile: Profile,
    classifier: Classifier,
    tracker: BreachTracker,
    previous: Option<CpuCounters>,
}

impl Budget {
    pub fn new(profile: Profile) -> Self {
        Budget { classifier: Classifier::new(&profile), profile, tracker: BreachTracker::default(), previous: None }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The report of one sample: attribution, the load state, limits and breaches, zram,
    /// the CPU split (from the previous sample's counters) and the totals.
    pub fn evaluate(&mut self, sample: &Sample) -> Report {
        let profile = &self.profile;
        let mut meter = CpuMeter::new(self.previous.as_ref(), sample.clock);
        let mut categories = attribute::attribute(profile, &mut self.classifier, &mut meter, sample);
        let interval = meter.interval;
        self.previous = Some(meter.counters);

        let threshold = profile.budget.workload_threshold.0;
        let state = judge::load_state(&categories, threshold);
        let meminfo = &sample.meminfo;
        let used = meminfo.used();
        let mut judge = Judge::new(profile, &mut self.tracker);
        let total = judge.total(profile, state, used);
        let vram = judge.vram(profile, &sample.gpu.report.devices);
        judge.categories(&mut categories, state, threshold);
        let breaches = judge.breaches;

        // zram's compressed pool holds the apps' swapped-out memory: its own line (in
        // `zram`), not the kernel's budget and not unclassified.
        let zram = zram_report(&sample.zram, &sample.swaps);
        let attributed: u64 = categories.iter().filter(|c| !c.reclaimable).map(|c| c.used).sum::<u64>() + zram.mem_used;
        Report {
            schema: SCHEMA_VERSION,
            profile: profile.machine.name.clone(),
            state,
            memory: MemoryTotals::of(meminfo),
            total,
            cpu: judge::cpu_split(&categories, profile, interval),
            categories,
            unclassified: used.saturating_sub(attributed),
            zram,
            psi: sample.pressure,
            breaches,
            gpu: GpuLine { report: sample.gpu.report.clone(), vram },
            sources: Sources {
                cgroup: sample.cgroup,
                attribution: if sample.cgroup.per_unit() { "units" } else { "processes" }.into(),
                problems: sample.problems.clone(),
            },
        }
    }
}

impl MemoryTotals {
    fn of(meminfo: &MemInfo) -> Self {
        MemoryTotals {
            total: meminfo.total,
            used: meminfo.used(),
            available: meminfo.available,
            kernel: meminfo.kernel(),
            cache: meminfo.cache(),
            shmem: meminfo.shmem,
            swap_total: meminfo.swap_total,
            swap_used: meminfo.swap_total.saturating_sub(meminfo.swap_free),
        }
    }
}

fn zram_report(devices: &[ZramDevice], swaps: &[SwapArea]) -> ZramReport {
    let is_zram_swap = |s: &&SwapArea| s.path.rsplit('/').next().is_some_and(|n| n.starts_with("zram"));
    let zram_swaps: Vec<&SwapArea> = swaps.iter().filter(is_zram_swap).collect();
    let active: Vec<&ZramDevice> = devices
        .iter()
        .filter(|d| zram_swaps.iter().any(|s| s.path.rsplit('/').next() == Some(d.name.as_str())))
        .collect();
    let sum = |f: fn(&ZramDevice) -> u64| active.iter().map(|d| f(d)).sum::<u64>();
    let (disksize, orig, compr) = (sum(|d| d.disksize), sum(|d| d.mm.orig_data), sum(|d| d.mm.compr_data));
    ZramReport {
        state: if !active.is_empty() {
            "active"
        } else if devices.is_empty() {
            "absent"
        } else {
            "unused"
        }
        .into(),
        devices: devices.to_vec(),
        disksize,
        orig_data: orig,
        compr_data: compr,
        mem_used: sum(|d| d.mm.mem_used),
        ratio: (compr > 0).then(|| orig as f64 / compr as f64),
        fill: (disksize > 0).then(|| orig as f64 / disksize as f64),
        swap_priority: zram_swaps.iter().map(|s| s.priority).max(),
        swaps: swaps.to_vec(),
    }
}

#[cfg(test)]
mod tests;
