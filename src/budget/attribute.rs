//! The first phases of a report: who uses what. Units, processes and GPU clients are
//! classified, and their memory, CPU and memory events summed into category and app lines;
//! the kernel and cache categories take their figures from meminfo. Pure.

use super::{AppLine, CategoryLine, Classifier, CpuCounters, Owner, Status, Subject};
use crate::profile::{CategorySource, Profile};
use crate::sample::{CpuClock, MemInfo, MemoryEvents, Sample};
use std::collections::HashMap;

/// CPU use from cumulative counters: each key's seconds now against the previous sample's.
pub(super) struct CpuMeter<'a> {
    previous: Option<&'a CpuCounters>,
    /// This sample's counters, to keep for the next.
    pub(super) counters: CpuCounters,
    /// Wall seconds since the previous sample; None on the first (no CPU figures then).
    pub(super) interval: Option<f64>,
}

impl<'a> CpuMeter<'a> {
    pub(super) fn new(previous: Option<&'a CpuCounters>, clock: CpuClock) -> Self {
        let interval = previous.map(|p| clock.seconds_since(&p.clock)).filter(|s| *s > 0.0);
        CpuMeter { previous, counters: CpuCounters { clock, seconds: HashMap::new() }, interval }
    }

    /// CPUs `key` used since the previous sample (1.0 = one CPU busy), from its cumulative
    /// `seconds`; None on the first sample.
    pub(super) fn rate(&mut self, key: String, seconds: f64) -> Option<f64> {
        let earlier = self.previous.and_then(|p| p.seconds.get(&key).copied());
        self.counters.seconds.insert(key, seconds);
        // A counter that went back is a new unit or process with a reused name or PID.
        self.interval.map(|i| earlier.filter(|e| *e <= seconds).map_or(0.0, |e| (seconds - e) / i))
    }
}

/// The category lines (the profile's order) and the app lines being summed.
pub(super) struct Attribution<'p> {
    profile: &'p Profile,
    categories: Vec<CategoryLine>,
    apps: Vec<Option<AppLine>>,
}

impl<'p> Attribution<'p> {
    /// A zero line per category of `profile`, with its idle and workload targets.
    pub(super) fn new(profile: &'p Profile) -> Self {
        let categories = profile
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
        Attribution { profile, categories, apps: vec![None; profile.apps.len()] }
    }

    /// Counts one unit or process for its owner: memory in bytes, CPU in CPUs.
    pub(super) fn add(&mut self, owner: Owner, memory: u64, cpu: Option<f64>, events: Option<MemoryEvents>) {
        let Some((category, app)) = owner.lines() else { return };
        let line = &mut self.categories[category];
        line.used += memory;
        line.members += 1;
        if let Some(cpu) = cpu {
            *line.cpu.get_or_insert(0.0) += cpu;
        }
        let Some(app) = app else { return };
        let entry = &self.profile.apps[app];
        let app_line = self.apps[app].get_or_insert_with(|| AppLine {
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
        if let Some(events) = events {
            *app_line.events.get_or_insert_with(MemoryEvents::default) += events;
        }
    }

    /// Counts video memory (bytes) for its owner's category and app.
    pub(super) fn add_gpu_memory(&mut self, owner: Owner, memory: u64) {
        let Some((category, app)) = owner.lines() else { return };
        *self.categories[category].gpu_memory.get_or_insert(0) += memory;
        if let Some(line) = app.and_then(|app| self.apps[app].as_mut()) {
            *line.gpu_memory.get_or_insert(0) += memory;
        }
    }

    /// The lines: kernel and cache categories from `meminfo`, each app line in its category.
    pub(super) fn finish(mut self, meminfo: &MemInfo) -> Vec<CategoryLine> {
        let profile = self.profile;
        for (line, category) in self.categories.iter_mut().zip(&profile.categories) {
            match category.source {
                CategorySource::Kernel => line.used = meminfo.kernel(),
                CategorySource::Cache => line.used = meminfo.cache(),
                CategorySource::Match => {}
            }
        }
        for (index, app) in self.apps.into_iter().enumerate() {
            let Some(app) = app else { continue };
            let category = profile.category(&profile.apps[index].category).map(|c| c.id.as_str());
            if let Some(line) = self.categories.iter_mut().find(|l| Some(l.id.as_str()) == category) {
                line.apps.push(app);
            }
        }
        self.categories
    }
}

/// Classifies every unit, process and GPU client of `sample` and sums them into lines.
pub(super) fn attribute(
    profile: &Profile,
    classifier: &mut Classifier,
    meter: &mut CpuMeter<'_>,
    sample: &Sample,
) -> Vec<CategoryLine> {
    let mut lines = Attribution::new(profile);
    for unit in &sample.units {
        let owner = classifier.classify(&Subject { cgroup_path: Some(&unit.path), ..Default::default() });
        let cpu = meter.rate(unit.path.clone(), unit.cpu_usec as f64 / 1e6);
        lines.add(owner, unit.memory, cpu, unit.events);
    }
    let ticks_per_second = sample.clock.ticks_per_second.max(1) as f64;
    for process in &sample.processes {
        let cgroup_path = process.cgroup.as_deref().map(|p| p.trim_start_matches('/'));
        let owner =
            classifier.classify(&Subject { cgroup_path, comm: Some(&process.comm), argv0: process.argv0.as_deref() });
        let cpu = meter.rate(format!("pid:{}", process.pid), process.cpu_ticks as f64 / ticks_per_second);
        lines.add(owner, process.memory, cpu, None);
    }
    for owner in &sample.gpu.owners {
        let memory: u64 =
            sample.gpu.report.processes.iter().filter(|p| p.pid == owner.pid).filter_map(|p| p.memory).sum();
        let subject = Subject {
            cgroup_path: owner.cgroup.as_deref().map(|p| p.trim_start_matches('/')),
            comm: owner.comm.as_deref(),
            argv0: owner.comm.as_deref(),
        };
        lines.add_gpu_memory(classifier.classify(&subject), memory);
    }
    classifier.sweep();
    lines.finish(&sample.meminfo)
}
