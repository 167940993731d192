//! Readers of /proc, /sys and cgroupfs. Each takes its files below an injectable root
//! (`Sampler::with_root("tests/fixtures/plasma-v2")`), so every parser runs on captured
//! trees in tests and on `/` in production.

pub mod cgroup;
pub(crate) mod files;
pub mod meminfo;
pub mod pressure;
pub mod process;
pub mod pss;
pub mod trigger;
pub mod zram;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub use cgroup::{MemoryEvents, UnitSample};
pub use meminfo::MemInfo;
pub use pressure::{Pressure, PressureLine};
pub use zram::{MmStat, SwapArea, ZramDevice};

/// A parse failure inside one file: the line (1-based, 0 for the whole file) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line number; 0 when the whole file is at fault.
    pub line: usize,
    /// What is wrong, for a person to read.
    pub reason: String,
}

impl Malformed {
    /// A failure on `line` (0: the whole file), saying why.
    pub fn at(line: usize, reason: impl Into<String>) -> Self {
        Malformed { line, reason: reason.into() }
    }
}

/// Why a source file could not be sampled: unreadable or malformed.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum SampleError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// A file's contents could not be parsed: `line` is 1-based, 0 for the whole file.
    #[error("{path}{}: {reason}", if *line > 0 { format!(":{line}") } else { String::new() })]
    Malformed { path: PathBuf, line: usize, reason: String },
}

impl SampleError {
    fn malformed(path: &Path, m: Malformed) -> Self {
        SampleError::Malformed { path: path.to_path_buf(), line: m.line, reason: m.reason }
    }
}

/// How the host's cgroups answer "how much memory does this unit use".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupMode {
    /// Unified hierarchy with the memory controller: read per unit.
    V2,
    /// Unified hierarchy without the memory controller enabled at the root.
    V2NoMemory,
    /// Legacy or hybrid hierarchy: per-process path.
    V1,
    /// No cgroup filesystem found.
    None,
}

impl std::fmt::Display for CgroupMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CgroupMode::V2 => "v2",
            CgroupMode::V2NoMemory => "v2 without memory controller",
            CgroupMode::V1 => "v1",
            CgroupMode::None => "none",
        })
    }
}

impl CgroupMode {
    /// Whether memory is read per systemd unit (only on v2 with the memory controller).
    pub fn per_unit(self) -> bool {
        self == CgroupMode::V2
    }
}

/// Host-wide CPU time, to turn per-unit and per-process CPU counters into cores used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuClock {
    /// Sum of the aggregate "cpu" line of /proc/stat, in clock ticks, over all CPUs.
    pub total_ticks: u64,
    /// Number of CPUs: the per-CPU `cpuN` lines of /proc/stat (at least 1).
    pub cpus: u32,
    /// Clock ticks per second (sysconf `_SC_CLK_TCK`, USER_HZ).
    pub ticks_per_second: u64,
}

impl CpuClock {
    /// Wall seconds between two clocks (CPU time of all CPUs over their count).
    pub fn seconds_since(&self, earlier: &CpuClock) -> f64 {
        let ticks = self.total_ticks.saturating_sub(earlier.total_ticks) as f64;
        ticks / f64::from(self.cpus.max(1)) / self.ticks_per_second.max(1) as f64
    }
}

/// How a process's memory figure was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessMemory {
    /// Proportional set size from smaps_rollup: shared pages split fairly.
    Pss,
    /// Resident set from stat, where smaps_rollup is not readable (another user's process).
    Rss,
}

/// One process from /proc/PID, sampled where units cannot answer (cgroup v1, no memory controller).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessSample {
    /// Process ID.
    pub pid: u32,
    /// The kernel's process name (/proc/PID/stat `comm`).
    pub comm: String,
    /// Basename of `argv[0]` (/proc/PID/cmdline, read when the process is first seen); None
    /// when empty or unreadable.
    pub argv0: Option<String>,
    /// systemd cgroup path from /proc/PID/cgroup; None when unreadable.
    pub cgroup: Option<String>,
    /// Bytes: proportional set size (scaled from RSS between smaps_rollup readings), or
    /// resident set; see `memory_kind`.
    pub memory: u64,
    /// Which measure `memory` is.
    pub memory_kind: ProcessMemory,
    /// User plus system CPU time since the process started, in clock ticks.
    pub cpu_ticks: u64,
}

/// Host-wide pressure stall information, /proc/pressure/*; None where a file is unreadable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PressureSet {
    /// /proc/pressure/memory.
    pub memory: Option<Pressure>,
    /// /proc/pressure/cpu.
    pub cpu: Option<Pressure>,
    /// /proc/pressure/io.
    pub io: Option<Pressure>,
}

/// Everything one sampling tick reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// /proc/meminfo.
    pub meminfo: MemInfo,
    /// Host-wide CPU time from /proc/stat's aggregate `cpu` line.
    pub clock: CpuClock,
    /// Host-wide pressure stall information.
    pub pressure: PressureSet,
    /// zram devices under /sys/block, sorted by name.
    pub zram: Vec<ZramDevice>,
    /// Active swap areas (/proc/swaps).
    pub swaps: Vec<SwapArea>,
    /// The host's cgroup setup, detected on the sampler's first sample.
    pub cgroup: CgroupMode,
    /// Leaf units, on cgroup v2 with the memory controller.
    pub units: Vec<UnitSample>,
    /// Processes, where units cannot answer (cgroup v1, no memory controller).
    pub processes: Vec<ProcessSample>,
    /// Sources that could not be read this tick, each saying why.
    pub problems: Vec<String>,
    /// The latest GPU reading (refreshed every `gpu_every` samples).
    pub gpu: GpuSnapshot,
}

/// A GPU report and, for each process using the GPU, what the budget needs to put its
/// memory into a category.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuSnapshot {
    /// The GPU reading, or why there is none.
    pub report: crate::gpu::GpuReport,
    /// One per entry of `report.processes`: the process's cgroup and name.
    pub owners: Vec<GpuOwner>,
}

impl GpuSnapshot {
    /// No GPU figures, and why.
    pub fn none(reason: &str) -> GpuSnapshot {
        GpuSnapshot { report: crate::gpu::GpuReport::none(reason), owners: Vec::new() }
    }
}

/// A process using the GPU, with what is needed to put its memory into a category.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuOwner {
    /// Process ID.
    pub pid: u32,
    /// systemd cgroup path from /proc/PID/cgroup; None when unreadable.
    pub cgroup: Option<String>,
    /// /proc/PID/comm; None when unreadable.
    pub comm: Option<String>,
}

/// The sysctls that matter for memory behaviour; None where unreadable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Sysctls {
    /// vm.swappiness: relative cost of swapping against dropping page cache (0-200).
    pub swappiness: Option<u32>,
    /// vm.vfs_cache_pressure: how hard dentry and inode caches are reclaimed, in % (100: the default).
    pub vfs_cache_pressure: Option<u32>,
    /// vm.dirty_ratio: % of available memory dirty before writers must write back themselves.
    pub dirty_ratio: Option<u32>,
    /// vm.dirty_background_ratio: % of available memory dirty before background writeback starts.
    pub dirty_background_ratio: Option<u32>,
}

/// What a process keeps between ticks: what does not change while its PID lives, and
/// its last proportional-set reading.
struct ProcessIdentity {
    start_ticks: u64,
    argv0: Option<String>,
    cgroup: Option<String>,
    pss: PssReading,
}

/// smaps_rollup makes the kernel walk every mapping, so it is re-read only when the
/// resident size moved by more than 1/8 since the last reading, or every
/// `PSS_REFRESH_TICKS` ticks; in between, PSS follows RSS at the last measured ratio.
#[derive(Clone, Copy)]
enum PssReading {
    Due,
    Measured {
        pss: u64,
        rss: u64,
        age: u32,
    },
    /// Another user's process, or a kernel without smaps_rollup.
    Unreadable,
}

const PSS_REFRESH_TICKS: u32 = 150;

impl PssReading {
    fn fresh_enough(self, rss: u64) -> Option<u64> {
        match self {
            PssReading::Measured { pss, rss: then, age }
                if age < PSS_REFRESH_TICKS && rss.abs_diff(then) <= then / 8 =>
            {
                Some((pss as u128 * rss as u128 / then.max(1) as u128) as u64)
            }
            _ => None,
        }
    }
}

/// Reads samples from files below a root, keeping open files and per-process state between ticks.
pub struct Sampler {
    root: PathBuf,
    page_size: u64,
    ticks_per_second: u64,
    identities: HashMap<u32, ProcessIdentity>,
    buffer: Vec<u8>,
    open_files: files::OpenFiles,
    cgroup: Option<CgroupMode>,
    gpu: crate::gpu::GpuSampler,
    /// GPU figures are read every this many samples (an fdinfo walk is not cheap).
    gpu_every: u32,
    gpu_last: Option<(u32, GpuSnapshot)>,
    /// The leaf units found by the last walk of the cgroup tree, and how many samples ago.
    unit_dirs: Option<(Vec<UnitDir>, u32)>,
    /// Each unit's page cache as its memory.stat said last (by path below the cgroup root).
    page_cache: HashMap<String, PageCache>,
}

/// A unit's page cache figures (bytes) from its last memory.stat, and its memory.current
/// then. memory.stat is the costliest file of a sample by far (the kernel formats some 50
/// counters): a shell loop in the guest, under TCG, took 963 µs a read of it against 433 µs
/// for memory.current and 466 µs for cpu.stat, the shell's own cost included. So an idle
/// unit's figures are reused for a few samples.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PageCache {
    file: u64,
    shmem: u64,
    current: u64,
    age: u32,
}

/// memory.stat is read again after this many samples (at the idle tick of 30 s, every 2
/// minutes), or sooner when memory.current moved (`PageCache::reusable`).
const STAT_EVERY_SAMPLES: u32 = 4;

impl PageCache {
    /// The figures a sample reading `current` may reuse: read fewer than `STAT_EVERY_SAMPLES`
    /// samples ago, with memory.current within 1/32 (at least 1 MiB) of its value then.
    fn reusable(self, current: u64) -> Option<PageCache> {
        let drift = (self.current / 32).max(1 << 20);
        (self.age + 1 < STAT_EVERY_SAMPLES && current.abs_diff(self.current) <= drift)
            .then_some(PageCache { age: self.age + 1, ..self })
    }

    /// Page cache that is reclaimable (not shmem), at most `current`.
    fn reclaimable(self, current: u64) -> u64 {
        self.file.saturating_sub(self.shmem).min(current)
    }
}

/// A leaf unit's cgroup directory, and its path below the cgroup root.
#[derive(Debug)]
struct UnitDir {
    dir: PathBuf,
    relative: String,
}

/// The cgroup tree is walked again every this many samples (at the idle tick of 30 s,
/// every 8 minutes; at the 2 s tick under pressure, every 32 s), when a unit it found is
/// gone, or when told ([`Sampler::rescan`]: the agent does on the user manager's UnitNew, so
/// only system units wait for the walk). A walk lists some 50 directories, five system
/// calls each: more than two quiet samples.
const WALK_EVERY_SAMPLES: u32 = 16;

impl Sampler {
    /// A sampler of this host (root `/`).
    pub fn new() -> Self {
        Self::with_root("/")
    }

    /// A sampler that reads every file below `root` (a captured tree in tests).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        let root: PathBuf = root.into();
        // SAFETY: sysconf only reads process-wide constants.
        let (page_size, ticks) = unsafe { (libc::sysconf(libc::_SC_PAGESIZE), libc::sysconf(libc::_SC_CLK_TCK)) };
        Sampler {
            root: root.clone(),
            page_size: u64::try_from(page_size).unwrap_or(4096),
            ticks_per_second: u64::try_from(ticks).unwrap_or(100),
            identities: HashMap::new(),
            buffer: Vec::with_capacity(8192),
            open_files: files::OpenFiles::new(open_file_budget()),
            cgroup: None,
            gpu: crate::gpu::GpuSampler::new(root.clone()),
            gpu_every: 1,
            gpu_last: None,
            unit_dirs: None,
            page_cache: HashMap::new(),
        }
    }

    /// Walks the cgroup tree again at the next sample: units may have started (systemd said
    /// so). Between walks the units found last are read, and a unit gone forces a walk.
    pub fn rescan(&mut self) {
        self.unit_dirs = None;
    }

    /// Reads GPU figures every `samples` samples instead of every one.
    pub fn set_gpu_every(&mut self, samples: u32) {
        self.gpu_every = samples.max(1);
    }

    fn gpu_snapshot(&mut self) -> GpuSnapshot {
        match &mut self.gpu_last {
            Some((age, snapshot)) if *age + 1 < self.gpu_every => {
                *age += 1;
                return snapshot.clone();
            }
            _ => {}
        }
        let report = self.gpu.sample();
        let owners = report
            .processes
            .iter()
            .map(|p| {
                let dir = self.root.join(format!("proc/{}", p.pid));
                GpuOwner {
                    pid: p.pid,
                    cgroup: fs::read_to_string(dir.join("cgroup")).ok().and_then(|t| process::parse_cgroup(&t)),
                    comm: fs::read_to_string(dir.join("comm")).ok().map(|c| c.trim_end().to_owned()),
                }
            })
            .collect();
        let snapshot = GpuSnapshot { report, owners };
        self.gpu_last = Some((0, snapshot.clone()));
        snapshot
    }

    /// The directory every file is read below.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Reads a file into the reusable buffer; returns it as text (lossy only for bad bytes).
    fn read(&mut self, path: &Path) -> Result<&str, SampleError> {
        self.open_files
            .read(path, &mut self.buffer)
            .map_err(|source| SampleError::Read { path: path.to_path_buf(), source })?;
        if std::str::from_utf8(&self.buffer).is_err() {
            let text = String::from_utf8_lossy(&self.buffer).into_owned();
            self.buffer = text.into_bytes();
        }
        Ok(std::str::from_utf8(&self.buffer).expect("made valid above"))
    }

    fn read_parsed<T>(
        &mut self,
        path: &Path,
        parse: impl FnOnce(&str) -> Result<T, Malformed>,
    ) -> Result<T, SampleError> {
        let text = self.read(path)?;
        parse(text).map_err(|m| SampleError::malformed(path, m))
    }

    /// One full sample. Only /proc/meminfo and /proc/stat are required; every other
    /// source that fails is listed in `problems` and the rest still comes back.
    pub fn sample(&mut self) -> Result<Sample, SampleError> {
        let meminfo = self.read_parsed(&self.path("proc/meminfo"), meminfo::parse)?;
        let clock = self.read_clock()?;
        let mut problems = Vec::new();
        let p = &mut problems;
        let pressure = PressureSet {
            memory: noted(p, self.read_parsed(&self.path("proc/pressure/memory"), pressure::parse)),
            cpu: noted(p, self.read_parsed(&self.path("proc/pressure/cpu"), pressure::parse)),
            io: noted(p, self.read_parsed(&self.path("proc/pressure/io"), pressure::parse)),
        };
        let zram = noted(p, self.read_zram()).unwrap_or_default();
        let swaps = noted(p, self.read_parsed(&self.path("proc/swaps"), zram::parse_swaps)).unwrap_or_default();
        let cgroup = *self.cgroup.get_or_insert_with(|| cgroup_mode(&self.root));
        let (units, processes) = if cgroup.per_unit() {
            (self.read_units(&mut problems), Vec::new())
        } else {
            (Vec::new(), self.read_processes(&mut problems))
        };
        self.open_files.sweep();
        let gpu = self.gpu_snapshot();
        Ok(Sample { gpu, meminfo, clock, pressure, zram, swaps, cgroup, units, processes, problems })
    }

    fn read_clock(&mut self) -> Result<CpuClock, SampleError> {
        let ticks_per_second = self.ticks_per_second;
        self.read_parsed(&self.path("proc/stat"), |text| {
            let mut lines = text.lines();
            let aggregate = lines
                .next()
                .filter(|l| l.starts_with("cpu "))
                .ok_or_else(|| Malformed::at(1, "expected the aggregate `cpu` line first"))?;
            // user nice system idle iowait irq softirq steal; guest time is already in user.
            let total_ticks = aggregate
                .split_whitespace()
                .skip(1)
                .take(8)
                .map(|w| w.parse::<u64>().map_err(|_| Malformed::at(1, format!("bad CPU time {w:?}"))))
                .sum::<Result<u64, _>>()?;
            let cpus = lines.take_while(|l| l.starts_with("cpu")).count();
            Ok(CpuClock { total_ticks, cpus: u32::try_from(cpus.max(1)).unwrap_or(1), ticks_per_second })
        })
    }

    fn read_zram(&mut self) -> Result<Vec<ZramDevice>, SampleError> {
        let block = self.path("sys/block");
        let entries = match fs::read_dir(&block) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(SampleError::Read { path: block, source }),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("zram"))
            .collect();
        names.sort();
        let mut devices = Vec::with_capacity(names.len());
        for name in names {
            let dir = block.join(&name);
            let disksize = self.read_parsed(&dir.join("disksize"), cgroup::parse_current)?;
            let mm = if disksize == 0 {
                MmStat::default()
            } else {
                self.read_parsed(&dir.join("mm_stat"), zram::parse_mm_stat)?
            };
            let algorithm = self.read(&dir.join("comp_algorithm")).ok().and_then(zram::parse_comp_algorithm);
            devices.push(ZramDevice { name, disksize, algorithm, mm });
        }
        Ok(devices)
    }
}

/// The cgroup setup is fixed at boot: detected once per sampler.
pub fn cgroup_mode(root: &Path) -> CgroupMode {
    let top = root.join("sys/fs/cgroup");
    match fs::read_to_string(top.join("cgroup.controllers")) {
        Ok(controllers) if controllers.split_whitespace().any(|c| c == "memory") => CgroupMode::V2,
        Ok(_) => CgroupMode::V2NoMemory,
        Err(_) if top.join("memory").is_dir() => CgroupMode::V1,
        Err(_) => CgroupMode::None,
    }
}

impl Sampler {
    fn read_units(&mut self, problems: &mut Vec<String>) -> Vec<UnitSample> {
        let (dirs, age) = match self.unit_dirs.take() {
            Some((dirs, age)) if age + 1 < WALK_EVERY_SAMPLES => (dirs, age + 1),
            _ => (self.walk_units(), 0),
        };
        let mut units = Vec::with_capacity(dirs.len());
        let mut gone = false;
        let mut known = std::mem::take(&mut self.page_cache);
        for unit in &dirs {
            match self.read_unit(&unit.dir, unit.relative.clone(), known.remove(&unit.relative)) {
                Ok((sample, page_cache)) => {
                    self.page_cache.insert(unit.relative.clone(), page_cache);
                    units.push(sample);
                }
                // A unit that stopped since the walk is simply gone; others may have started.
                Err(SampleError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => gone = true,
                Err(e) => problems.push(e.to_string()),
            }
        }
        if !gone {
            self.unit_dirs = Some((dirs, age));
        }
        units
    }

    /// Every leaf unit below the cgroup root, sorted by path: a unit with units or slices
    /// below it (user@1000.service) is a container, not a leaf.
    fn walk_units(&self) -> Vec<UnitDir> {
        let top = self.path("sys/fs/cgroup");
        let mut units = Vec::new();
        let mut pending = vec![(top.clone(), false)];
        while let Some((dir, is_unit)) = pending.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let children: Vec<(PathBuf, bool)> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| {
                    let name = e.file_name();
                    let name = name.to_str()?;
                    let unit = cgroup::is_unit_name(name);
                    (unit || cgroup::is_slice_name(name)).then(|| (e.path(), unit))
                })
                .collect();
            if !is_unit || !children.is_empty() {
                pending.extend(children);
                continue;
            }
            let relative = dir.strip_prefix(&top).unwrap_or(&dir).to_string_lossy().into_owned();
            units.push(UnitDir { dir, relative });
        }
        units.sort_by(|a, b| a.relative.cmp(&b.relative));
        units
    }

    /// A unit's figures, and its page cache figures (`known`'s where they still hold).
    fn read_unit(
        &mut self,
        dir: &Path,
        path: String,
        known: Option<PageCache>,
    ) -> Result<(UnitSample, PageCache), SampleError> {
        let current = self.read_parsed(&dir.join("memory.current"), cgroup::parse_current)?;
        // Page cache charged to a unit is reclaimable: keep it out of the unit's use
        // (an indexer that reads many files would otherwise look huge).
        let page_cache = match known.and_then(|known| known.reusable(current)) {
            Some(known) => known,
            None => self.read_page_cache(dir, current)?,
        };
        let cache = page_cache.reclaimable(current);
        let [cpu_usec] =
            self.read_parsed(&dir.join("cpu.stat"), |t| cgroup::parse_keyed(t, ["usage_usec"])).unwrap_or([0]);
        let mut unit = UnitSample { path, memory: current - cache, cache, cpu_usec, ..Default::default() };
        if cgroup::is_app_unit(unit.name()) {
            self.read_app_unit(dir, &mut unit)?;
        }
        Ok((unit, page_cache))
    }

    /// An app unit's limits, memory events, pressure and freezer state.
    fn read_app_unit(&mut self, dir: &Path, unit: &mut UnitSample) -> Result<(), SampleError> {
        unit.memory_high = self.read_parsed(&dir.join("memory.high"), cgroup::parse_limit)?;
        unit.memory_max = self.read_parsed(&dir.join("memory.max"), cgroup::parse_limit)?;
        unit.events = Some(self.read_parsed(&dir.join("memory.events"), cgroup::parse_events)?);
        unit.pressure = self.read_parsed(&dir.join("memory.pressure"), pressure::parse).ok();
        unit.frozen = fs::read_to_string(dir.join("cgroup.events")).is_ok_and(|t| cgroup::is_frozen(&t));
        Ok(())
    }

    /// A unit's memory.stat `file` and `shmem` (none where it cannot be read).
    fn read_page_cache(&mut self, dir: &Path, current: u64) -> Result<PageCache, SampleError> {
        let [file, shmem] =
            match self.read_parsed(&dir.join("memory.stat"), |t| cgroup::parse_keyed(t, ["file", "shmem"])) {
                Ok(values) => values,
                Err(SampleError::Read { .. }) => [0, 0],
                Err(e) => return Err(e),
            };
        Ok(PageCache { file, shmem, current, age: 0 })
    }

    fn read_processes(&mut self, problems: &mut Vec<String>) -> Vec<ProcessSample> {
        let proc_dir = self.path("proc");
        let mut pids: Vec<u32> = match fs::read_dir(&proc_dir) {
            Ok(entries) => entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
            Err(source) => {
                problems.push(SampleError::Read { path: proc_dir, source }.to_string());
                return Vec::new();
            }
        };
        pids.sort_unstable();
        let mut processes = Vec::with_capacity(pids.len());
        for &pid in &pids {
            match self.read_process(pid) {
                Ok(Some(process)) => processes.push(process),
                Ok(None) => {}
                // Processes exit between listing and reading; that is not a problem.
                Err(SampleError::Read { .. }) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        self.identities.retain(|pid, _| pids.binary_search(pid).is_ok());
        processes
    }

    fn read_process(&mut self, pid: u32) -> Result<Option<ProcessSample>, SampleError> {
        let dir = self.path(&format!("proc/{pid}"));
        let stat = self.read_parsed(&dir.join("stat"), process::parse_stat)?;
        if stat.rss_pages == 0 {
            // Kernel threads and zombies hold no user memory.
            return Ok(None);
        }
        let known = self.identities.get(&pid).is_some_and(|id| id.start_ticks == stat.start_ticks);
        if !known {
            let argv0 = fs::read(dir.join("cmdline")).ok().and_then(|b| process::parse_cmdline_argv0(&b));
            let cgroup = self.read(&dir.join("cgroup")).ok().and_then(process::parse_cgroup);
            let identity = ProcessIdentity { start_ticks: stat.start_ticks, argv0, cgroup, pss: PssReading::Due };
            self.identities.insert(pid, identity);
        }
        let rss = stat.rss_pages * self.page_size;
        let reading = self.identities[&pid].pss;
        let (memory, memory_kind, reading) = match (reading, reading.fresh_enough(rss)) {
            (PssReading::Unreadable, _) => (rss, ProcessMemory::Rss, PssReading::Unreadable),
            (PssReading::Measured { pss, rss: then, age }, Some(estimate)) => {
                (estimate, ProcessMemory::Pss, PssReading::Measured { pss, rss: then, age: age + 1 })
            }
            _ => match self.read_parsed(&dir.join("smaps_rollup"), process::parse_smaps_rollup) {
                Ok(rollup) => {
                    (rollup.pss, ProcessMemory::Pss, PssReading::Measured { pss: rollup.pss, rss: rollup.rss, age: 0 })
                }
                Err(_) => (rss, ProcessMemory::Rss, PssReading::Unreadable),
            },
        };
        let identity = self.identities.get_mut(&pid).expect("inserted above");
        identity.pss = reading;
        Ok(Some(ProcessSample {
            pid,
            comm: stat.comm,
            argv0: identity.argv0.clone(),
            cgroup: identity.cgroup.clone(),
            memory,
            memory_kind,
            cpu_ticks: stat.cpu_ticks,
        }))
    }

    /// The memory sysctls; read on demand (status, doctor), not every tick.
    pub fn sysctls(&mut self) -> Sysctls {
        let mut value =
            |name: &str| self.read(&self.path(&format!("proc/sys/vm/{name}"))).ok().and_then(|t| t.trim().parse().ok());
        Sysctls {
            swappiness: value("swappiness"),
            vfs_cache_pressure: value("vfs_cache_pressure"),
            dirty_ratio: value("dirty_ratio"),
            dirty_background_ratio: value("dirty_background_ratio"),
        }
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

/// Raises this process's soft open-file limit to its hard limit, as programs that keep
/// many files open are expected to (the soft limit is a compatibility default for
/// select(2) users). Call once at startup, before creating a `Sampler`.
pub fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit read and write the struct they are given.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// How many files the sampler keeps open: half the soft descriptor limit, at most 4096,
/// leaving the rest to the program that samples.
fn open_file_budget() -> usize {
    // SAFETY: getrlimit fills the struct it is given.
    let soft = unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur
    };
    usize::try_from(soft / 2).unwrap_or(usize::MAX).min(4096)
}

/// Keeps a source's value, or records why it is missing.
fn noted<T>(problems: &mut Vec<String>, result: Result<T, SampleError>) -> Option<T> {
    result.map_err(|e| problems.push(e.to_string())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cgroup v2 tree with the plasma-v2 capture's /proc/meminfo and /proc/stat.
    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plasma-v2/proc");
        fs::create_dir_all(root.path().join("proc")).unwrap();
        for file in ["meminfo", "stat"] {
            fs::copy(capture.join(file), root.path().join("proc").join(file)).unwrap();
        }
        fs::create_dir_all(root.path().join("sys/fs/cgroup/system.slice")).unwrap();
        fs::write(root.path().join("sys/fs/cgroup/cgroup.controllers"), "cpu io memory pids\n").unwrap();
        root
    }

    fn start(root: &Path, unit: &str) {
        let dir = root.join("sys/fs/cgroup/system.slice").join(unit);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("memory.current"), "1048576\n").unwrap();
    }

    fn units(sampler: &mut Sampler) -> Vec<String> {
        sampler.sample().unwrap().units.into_iter().map(|u| u.path).collect()
    }

    #[test]
    fn page_cache_is_read_again_when_memory_current_moves_and_every_few_samples() {
        const MIB: u64 = 1 << 20;
        let root = tree();
        start(root.path(), "a.service");
        let dir = root.path().join("sys/fs/cgroup/system.slice/a.service");
        let set = |current: u64, file: u64| {
            fs::write(dir.join("memory.current"), format!("{current}\n")).unwrap();
            fs::write(dir.join("memory.stat"), format!("anon 1\nfile {file}\nshmem {}\n", MIB)).unwrap();
        };
        let mut sampler = Sampler::with_root(root.path());
        let mut cache = || sampler.sample().unwrap().units[0].cache;
        set(100 * MIB, 41 * MIB);
        assert_eq!(cache(), 40 * MIB, "file less shmem");
        set(100 * MIB + MIB / 2, 61 * MIB);
        assert_eq!(cache(), 40 * MIB, "memory.current within its drift: memory.stat not read");
        set(110 * MIB, 61 * MIB);
        assert_eq!(cache(), 60 * MIB, "moved by more than 1/32: read again");
        let caches: Vec<u64> = (0..STAT_EVERY_SAMPLES)
            .map(|_| {
                set(110 * MIB, 81 * MIB);
                cache()
            })
            .collect();
        assert_eq!(caches.iter().filter(|&&c| c == 60 * MIB).count() as u32, STAT_EVERY_SAMPLES - 1);
        assert_eq!(caches.last(), Some(&(80 * MIB)), "read again after {STAT_EVERY_SAMPLES} samples");
    }

    #[test]
    fn units_are_walked_again_when_told_when_one_is_gone_and_every_few_samples() {
        let root = tree();
        start(root.path(), "a.service");
        let mut sampler = Sampler::with_root(root.path());
        // cgroupfs answers a removed cgroup's open file with ENODEV, and OpenFiles opens the
        // path again (NotFound); a temporary directory keeps a removed file readable, so
        // here no file stays open.
        sampler.open_files = files::OpenFiles::new(0);
        assert_eq!(units(&mut sampler), ["system.slice/a.service"]);
        start(root.path(), "b.service");
        assert_eq!(units(&mut sampler), ["system.slice/a.service"], "read from the last walk");
        sampler.rescan();
        assert_eq!(units(&mut sampler), ["system.slice/a.service", "system.slice/b.service"]);
        fs::remove_dir_all(root.path().join("sys/fs/cgroup/system.slice/a.service")).unwrap();
        start(root.path(), "c.service");
        assert_eq!(units(&mut sampler), ["system.slice/b.service"], "a is gone, c not walked yet");
        assert_eq!(units(&mut sampler), ["system.slice/b.service", "system.slice/c.service"]);
        start(root.path(), "d.service");
        let walked = (0..WALK_EVERY_SAMPLES).map(|_| units(&mut sampler).len()).collect::<Vec<_>>();
        assert_eq!(walked.iter().filter(|&&n| n == 2).count() as u32, WALK_EVERY_SAMPLES - 1);
        assert_eq!(walked.last(), Some(&3));
    }
}
