//! The later phases of a report: the load state, each line's limit and status against it
//! (breaches through the hysteresis tracker), video memory against its budget, and the CPU
//! split between the OS and the workload. Pure.

use super::{
    Breach, BreachId, BreachTracker, CategoryLine, CpuShare, CpuSplit, HysteresisRule, LoadState, Status, TotalLine,
    VramLine,
};
use crate::gpu::GpuDevice;
use crate::profile::{CpuGroup, Profile};

/// Workload once a workload category uses more than `threshold` bytes; idle before.
pub(super) fn load_state(categories: &[CategoryLine], threshold: u64) -> LoadState {
    if categories.iter().any(|c| c.cpu_group == CpuGroup::Workload && c.used > threshold) {
        LoadState::Workload
    } else {
        LoadState::Idle
    }
}

/// Status of each line this tick; breaches in the order they were judged.
pub(super) struct Judge<'t> {
    rule: HysteresisRule,
    near_fraction: f64,
    tracker: &'t mut BreachTracker,
    pub(super) breaches: Vec<Breach>,
}

impl<'t> Judge<'t> {
    /// Starts a tick of `tracker` with the profile's hysteresis.
    pub(super) fn new(profile: &Profile, tracker: &'t mut BreachTracker) -> Self {
        let budget = &profile.budget;
        tracker.begin_tick();
        Judge {
            rule: HysteresisRule { leave_margin: budget.leave_margin, leave_ticks: budget.leave_ticks },
            near_fraction: budget.near_fraction,
            tracker,
            breaches: Vec::new(),
        }
    }

    /// `id`'s status with `used` bytes against `limit`: breach while the tracker holds one
    /// (recorded), near from the profile's fraction of the limit, else ok.
    pub(super) fn status(&mut self, id: BreachId, used: u64, limit: u64) -> Status {
        match self.tracker.observe(self.rule, id.as_str(), used, limit) {
            Some(since_tick) => {
                self.breaches.push(Breach { id, used, limit, since_tick });
                Status::Breach
            }
            None if limit > 0 && used as f64 >= limit as f64 * self.near_fraction => Status::Near,
            None => Status::Ok,
        }
    }

    /// The whole desktop's line: `used` bytes against the state's total.
    pub(super) fn total(&mut self, profile: &Profile, state: LoadState, used: u64) -> TotalLine {
        let (idle, workload) = (profile.budget.idle_total.0, profile.budget.workload_total.0);
        let limit = if state == LoadState::Idle { idle } else { workload };
        TotalLine { used, idle, workload, limit, status: self.status(BreachId::Total, used, limit) }
    }

    /// All devices' video memory against the VRAM budget; None when no device reports any.
    pub(super) fn vram(&mut self, profile: &Profile, devices: &[GpuDevice]) -> Option<VramLine> {
        let used: u64 = if devices.is_empty() { None } else { devices.iter().map(|d| d.memory_used).sum() }?;
        let budget = profile.gpu.vram_budget.0;
        let status = self.status(BreachId::Vram, used, budget);
        Some(VramLine { used, total: devices.iter().map(|d| d.memory_total).sum(), budget, status })
    }

    /// Each category's limit for `state` and its status; cache categories are not judged.
    pub(super) fn categories(&mut self, categories: &mut [CategoryLine], state: LoadState, threshold: u64) {
        for line in categories {
            // A workload category may use up to the threshold while the desktop counts
            // as idle: past it the state is workload, and so is its limit.
            line.limit = match (state, line.cpu_group) {
                (LoadState::Idle, CpuGroup::Workload) => line.idle.max(threshold),
                (LoadState::Idle, CpuGroup::Os) => line.idle,
                (LoadState::Workload, _) => line.workload,
            };
            if !line.reclaimable {
                line.status = self.status(BreachId::Category(line.id.clone()), line.used, line.limit);
            }
        }
    }
}

/// CPUs used by the OS and the workload categories against their cores (× threads per
/// core) over `interval_seconds`; None on the first sample.
pub(super) fn cpu_split(categories: &[CategoryLine], profile: &Profile, interval: Option<f64>) -> Option<CpuSplit> {
    let interval_seconds = interval?;
    // `+ 0.0`: an empty f64 sum is -0.0, which would print as "-0.00".
    let used =
        |group: CpuGroup| categories.iter().filter(|c| c.cpu_group == group).filter_map(|c| c.cpu).sum::<f64>() + 0.0;
    let threads = f64::from(profile.machine.threads_per_core);
    let budget = |cores: u32| f64::from(cores) * threads;
    Some(CpuSplit {
        os: CpuShare { used: used(CpuGroup::Os), budget: budget(profile.machine.os_cores) },
        workload: CpuShare { used: used(CpuGroup::Workload), budget: budget(profile.machine.workload_cores) },
        interval_seconds,
    })
}
