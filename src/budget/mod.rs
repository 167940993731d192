//! Sample + Profile -> Report: memory by category against idle and workload targets,
//! zram, pressure, the CPU split, and breaches with hysteresis. Pure: no I/O.

mod classify;
mod hysteresis;

pub use classify::{Classifier, Owner, Subject};
pub use hysteresis::{BreachTracker, HysteresisRule};

use crate::profile::{CategorySource, CpuGroup, Profile};
use crate::sample::{CgroupMode, CpuClock, MemoryEvents, PressureSet, Sample, SwapArea, ZramDevice};
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

    pub fn evaluate(&mut self, sample: &Sample) -> Report {
        let profile = &self.profile;
        let mut categories: Vec<CategoryLine> = profile
            .categories
            .iter()
            .map(|c| CategoryLine {
                id: c.id.clone(),
                name: c.name.clone(),
                used: 0,
                idle: c.idle.0,
                workload: c.workload.0,
                limit: 0,
                status: Status::Ok,
                reclaimable: c.source == CategorySource::Cache,
                cpu_group: c.cpu,
                cpu: None,
                members: 0,
                gpu_memory: None,
                apps: Vec::new(),
            })
            .collect();
        let mut apps: Vec<Option<AppLine>> = vec![None; profile.apps.len()];

        let mut counters = CpuCounters { clock: sample.clock, seconds: HashMap::new() };
        let interval = self.previous.as_ref().map(|p| sample.clock.seconds_since(&p.clock)).filter(|s| *s > 0.0);
        let mut cpu_of = |key: String, seconds: f64| -> Option<f64> {
            let earlier = self.previous.as_ref().and_then(|p| p.seconds.get(&key).copied());
            counters.seconds.insert(key, seconds);
            // A counter that went back is a new unit or process with a reused name or PID.
            interval.map(|i| earlier.filter(|e| *e <= seconds).map_or(0.0, |e| (seconds - e) / i))
        };

        let mut attribute = |owner: Owner, memory: u64, cpu: Option<f64>, events: Option<MemoryEvents>| {
            let (category, app) = match owner {
                Owner::App { app, category } => (category, Some(app)),
                Owner::Category(category) => (category, None),
                Owner::Unclassified => return,
            };
            let line = &mut categories[category];
            line.used += memory;
            line.members += 1;
            if let Some(cpu) = cpu {
                *line.cpu.get_or_insert(0.0) += cpu;
            }
            if let Some(app) = app {
                let entry = &profile.apps[app];
                let app_line = apps[app].get_or_insert_with(|| AppLine {
                    id: entry.id.clone(),
                    name: entry.name.clone(),
                    used: 0,
                    members: 0,
                    cpu: None,
                    memory_high: entry.memory_high.0,
                    memory_max: entry.memory_max.0,
                    events: None,
                    gpu_memory: None,
                });
                app_line.used += memory;
                app_line.members += 1;
                if let Some(cpu) = cpu {
                    *app_line.cpu.get_or_insert(0.0) += cpu;
                }
                if let Some(e) = events {
                    let sum = app_line.events.get_or_insert_with(MemoryEvents::default);
                    sum.low += e.low;
                    sum.high += e.high;
                    sum.max += e.max;
                    sum.oom += e.oom;
                    sum.oom_kill += e.oom_kill;
                }
            }
        };

        for unit in &sample.units {
            let owner = self.classifier.classify(&Subject { cgroup_path: Some(&unit.path), ..Default::default() });
            let cpu = cpu_of(unit.path.clone(), unit.cpu_usec as f64 / 1e6);
            attribute(owner, unit.memory, cpu, unit.events);
        }
        let ticks_per_second = sample.clock.ticks_per_second.max(1) as f64;
        for process in &sample.processes {
            let cgroup_path = process.cgroup.as_deref().map(|p| p.trim_start_matches('/'));
            let subject = Subject { cgroup_path, comm: Some(&process.comm), argv0: process.argv0.as_deref() };
            let owner = self.classifier.classify(&subject);
            let cpu = cpu_of(format!("pid:{}", process.pid), process.cpu_ticks as f64 / ticks_per_second);
            attribute(owner, process.memory, cpu, None);
        }
        for owner in &sample.gpu.owners {
            let memory: u64 =
                sample.gpu.report.processes.iter().filter(|p| p.pid == owner.pid).filter_map(|p| p.memory).sum();
            let subject = Subject {
                cgroup_path: owner.cgroup.as_deref().map(|p| p.trim_start_matches('/')),
                comm: owner.comm.as_deref(),
                argv0: owner.comm.as_deref(),
            };
            let (category, app) = match self.classifier.classify(&subject) {
                Owner::App { app, category } => (category, Some(app)),
                Owner::Category(category) => (category, None),
                Owner::Unclassified => continue,
            };
            *categories[category].gpu_memory.get_or_insert(0) += memory;
            if let Some(line) = app.and_then(|app| apps[app].as_mut()) {
                *line.gpu_memory.get_or_insert(0) += memory;
            }
        }
        self.classifier.sweep();
        self.previous = Some(counters);

        let meminfo = &sample.meminfo;
        for (line, category) in categories.iter_mut().zip(&profile.categories) {
            match category.source {
                CategorySource::Kernel => line.used = meminfo.kernel(),
                CategorySource::Cache => line.used = meminfo.cache(),
                CategorySource::Match => {}
            }
        }
        for (index, app) in apps.into_iter().enumerate() {
            if let Some(app) = app {
                let category = profile.category(&profile.apps[index].category).map(|c| c.id.clone());
                if let Some(line) = categories.iter_mut().find(|l| Some(&l.id) == category.as_ref()) {
                    line.apps.push(app);
                }
            }
        }

        let threshold = profile.budget.workload_threshold.0;
        let state = if categories.iter().any(|c| c.cpu_group == CpuGroup::Workload && c.used > threshold) {
            LoadState::Workload
        } else {
            LoadState::Idle
        };
        let pick = |idle: u64, workload: u64| {
            if state == LoadState::Idle {
                idle
            } else {
                workload
            }
        };

        let rule =
            HysteresisRule { leave_margin: profile.budget.leave_margin, leave_ticks: profile.budget.leave_ticks };
        let near = profile.budget.near_fraction;
        let status_of = |used: u64, limit: u64, since: Option<u64>| match since {
            Some(_) => Status::Breach,
            None if limit > 0 && used as f64 >= limit as f64 * near => Status::Near,
            None => Status::Ok,
        };
        self.tracker.begin_tick();
        let mut breaches = Vec::new();
        let used = meminfo.used();
        let total_limit = pick(profile.budget.idle_total.0, profile.budget.workload_total.0);
        let since = self.tracker.observe(rule, "total", used, total_limit);
        if let Some(since_tick) = since {
            breaches.push(Breach { id: "total".into(), used, limit: total_limit, since_tick });
        }
        let devices = &sample.gpu.report.devices;
        let vram_used: Option<u64> =
            if devices.is_empty() { None } else { devices.iter().map(|d| d.memory_used).sum() };
        let vram = vram_used.map(|used| {
            let budget = profile.gpu.vram_budget.0;
            let since = self.tracker.observe(rule, "vram", used, budget);
            if let Some(since_tick) = since {
                breaches.push(Breach { id: "vram".into(), used, limit: budget, since_tick });
            }
            VramLine {
                used,
                total: devices.iter().map(|d| d.memory_total).sum(),
                budget,
                status: status_of(used, budget, since),
            }
        });
        let gpu = GpuLine { report: sample.gpu.report.clone(), vram };
        let total = TotalLine {
            used,
            idle: profile.budget.idle_total.0,
            workload: profile.budget.workload_total.0,
            limit: total_limit,
            status: status_of(used, total_limit, since),
        };
        for line in &mut categories {
            // A workload category may use up to the threshold while the desktop counts
            // as idle: past it the state is workload, and so is its limit.
            line.limit = match (state, line.cpu_group) {
                (LoadState::Idle, CpuGroup::Workload) => line.idle.max(threshold),
                _ => pick(line.idle, line.workload),
            };
            if line.reclaimable {
                continue;
            }
            let since = self.tracker.observe(rule, &line.id, line.used, line.limit);
            line.status = status_of(line.used, line.limit, since);
            if let Some(since_tick) = since {
                breaches.push(Breach { id: line.id.clone(), used: line.used, limit: line.limit, since_tick });
            }
        }

        // zram's compressed pool holds the apps' swapped-out memory: its own line (in
        // `zram`), not the kernel's budget and not unclassified.
        let zram = zram_report(&sample.zram, &sample.swaps);
        let attributed: u64 = categories.iter().filter(|c| !c.reclaimable).map(|c| c.used).sum::<u64>() + zram.mem_used;
        let cpu = interval.map(|interval_seconds| {
            // `+ 0.0`: an empty f64 sum is -0.0, which would print as "-0.00".
            let side = |group: CpuGroup| {
                categories.iter().filter(|c| c.cpu_group == group).filter_map(|c| c.cpu).sum::<f64>() + 0.0
            };
            let threads = f64::from(profile.machine.threads_per_core);
            CpuSplit {
                os: CpuShare { used: side(CpuGroup::Os), budget: f64::from(profile.machine.os_cores) * threads },
                workload: CpuShare {
                    used: side(CpuGroup::Workload),
                    budget: f64::from(profile.machine.workload_cores) * threads,
                },
                interval_seconds,
            }
        });

        Report {
            schema: SCHEMA_VERSION,
            profile: profile.machine.name.clone(),
            state,
            memory: MemoryTotals {
                total: meminfo.total,
                used,
                available: meminfo.available,
                kernel: meminfo.kernel(),
                cache: meminfo.cache(),
                shmem: meminfo.shmem,
                swap_total: meminfo.swap_total,
                swap_used: meminfo.swap_total.saturating_sub(meminfo.swap_free),
            },
            total,
            categories,
            unclassified: used.saturating_sub(attributed),
            zram,
            psi: sample.pressure,
            cpu,
            breaches,
            gpu,
            sources: Sources {
                cgroup: sample.cgroup,
                attribution: if sample.cgroup.per_unit() { "units" } else { "processes" }.into(),
                problems: sample.problems.clone(),
            },
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
