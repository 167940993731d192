//! Sample + Profile -> Report: memory by category against idle and workload targets,
//! zram, pressure, the CPU split, and breaches with hysteresis. Pure: no I/O.

mod attribute;
mod classify;
mod hysteresis;
mod judge;
mod report;

pub use classify::{Classifier, Owner, Subject};
pub use hysteresis::{BreachTracker, HysteresisRule};
pub use report::*;

use crate::profile::Profile;
use crate::sample::{CpuClock, MemInfo, Sample, SwapArea, ZramDevice};
use attribute::CpuMeter;
use judge::Judge;
use std::collections::HashMap;

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
    /// A budget for `profile`, with no breaches and no CPU counters yet.
    pub fn new(profile: Profile) -> Self {
        Budget { classifier: Classifier::new(&profile), profile, tracker: BreachTracker::default(), previous: None }
    }

    /// The profile the samples are judged against.
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
                attribution: if sample.cgroup.per_unit() { Attribution::Units } else { Attribution::Processes },
                problems: sample.problems.clone(),
            },
            pressure_watch: None,
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
            ZramState::Active
        } else if devices.is_empty() {
            ZramState::Absent
        } else {
            ZramState::Unused
        },
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
