//! The report: what `ballast status --json` prints, Status() sends and the tray, the
//! dashboard and the doctor read (schema: docs/status-json.md). Sizes are bytes, CPU figures
//! logical CPUs (1.0 = one thread busy all the time), fractions 0.0-1.0.

use crate::profile::CpuGroup;
use crate::sample::{CgroupMode, MemoryEvents, PressureSet, SwapArea, ZramDevice};
use serde::{Deserialize, Serialize};

/// Version of the `ballast status --json` schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// Which targets apply: idle until a workload category passes the profile's threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadState {
    /// No workload category is past the threshold: the idle targets apply.
    Idle,
    /// A workload category uses more than `budget.workload_threshold`: the workload targets apply.
    Workload,
}

impl LoadState {
    /// As the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadState::Idle => "idle",
            LoadState::Workload => "workload",
        }
    }
}

/// A line against its limit: ok, near it (the profile's near fraction), or in breach (past
/// it, held by the hysteresis until it is clearly back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Below the profile's `budget.near_fraction` of the limit, or not judged (reclaimable).
    Ok,
    /// At or above the profile's `budget.near_fraction` of the limit, not in breach.
    Near,
    /// Past the limit, and held until the hysteresis lets it go.
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

/// One sample against the profile's budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// The profile's machine name.
    pub profile: String,
    /// Which targets apply.
    pub state: LoadState,
    /// /proc/meminfo's totals.
    pub memory: MemoryTotals,
    /// The whole desktop against the profile's totals.
    pub total: TotalLine,
    /// In the profile's order.
    pub categories: Vec<CategoryLine>,
    /// Bytes used that neither a category nor zram's pool accounts for (units or processes
    /// no pattern matched, and what per-process figures cannot see). Never negative.
    pub unclassified: u64,
    /// zram's devices and compressed pool.
    pub zram: ZramReport,
    /// /proc/pressure: memory, cpu, io.
    pub psi: PressureSet,
    /// None on the first sample: CPU use needs two.
    pub cpu: Option<CpuSplit>,
    /// Lines in breach: the total first, then video memory, then categories.
    pub breaches: Vec<Breach>,
    /// The GPU report, and video memory against the profile's budget.
    pub gpu: GpuLine,
    /// How memory was counted, and what could not be read.
    pub sources: Sources,
    /// How the agent learns of memory pressure; only in the agent's reports (Status()).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure_watch: Option<PressureWatch>,
}

/// How the agent learns of memory pressure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    /// PSI triggers are armed: the kernel says when tasks stall (`sample::trigger`).
    Triggers,
    /// The kernel refused triggers: the PSI files are read every tick.
    Polling,
}

impl WatchMode {
    /// As the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchMode::Triggers => "triggers",
            WatchMode::Polling => "polling",
        }
    }
}

/// The agent's pressure watch: its mode, the trigger, where it is armed and what refused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PressureWatch {
    /// Triggers or polling.
    pub mode: WatchMode,
    /// The trigger line, as written to the PSI files (e.g. `some 150000 2000000`: 150 ms of
    /// stall within 2 s).
    pub trigger: String,
    /// Cgroups with a trigger armed besides /proc/pressure/memory: session.slice and the
    /// governed app units, paths from the hierarchy's root.
    pub cgroups: Vec<String>,
    /// Why the mode is polling, or why a cgroup has no trigger; None when all is armed.
    pub problem: Option<String>,
}

impl Report {
    /// What a breach is of, as the user knows it: "Total memory", "Video memory", or the
    /// category's name (its id when the report has no such category).
    pub fn breach_name<'a>(&'a self, id: &'a BreachId) -> &'a str {
        match id {
            BreachId::Total => "Total memory",
            BreachId::Vram => "Video memory",
            BreachId::Category(id) => self.categories.iter().find(|c| &c.id == id).map_or(id, |c| &c.name),
        }
    }
}

/// /proc/meminfo's totals, bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryTotals {
    /// MemTotal.
    pub total: u64,
    /// As `free` counts it: total - available.
    pub used: u64,
    /// MemAvailable.
    pub available: u64,
    /// Slab (unreclaimable), kernel stacks, page tables, per-CPU and vmalloc.
    pub kernel: u64,
    /// Buffers, page cache and reclaimable slab.
    pub cache: u64,
    /// Shmem (tmpfs, shared memory); part of `cache`.
    pub shmem: u64,
    /// SwapTotal.
    pub swap_total: u64,
    /// SwapTotal - SwapFree.
    pub swap_used: u64,
}

/// The whole desktop against the profile's totals, bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TotalLine {
    /// Bytes in use: `memory.used`.
    pub used: u64,
    /// The idle-state target.
    pub idle: u64,
    /// The workload-state target.
    pub workload: u64,
    /// The target for the current state: `idle` or `workload`.
    pub limit: u64,
    /// `used` against `limit`.
    pub status: Status,
}

/// One category of the profile, bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoryLine {
    /// The profile's category id.
    pub id: String,
    /// As the user reads it.
    pub name: String,
    /// Bytes in use: its units' or processes' memory; for the kernel and cache categories,
    /// meminfo's figure.
    pub used: u64,
    /// The idle-state target.
    pub idle: u64,
    /// The workload-state target.
    pub workload: u64,
    /// The target for the current state (a workload category may reach the workload
    /// threshold while the desktop is idle).
    pub limit: u64,
    /// `used` against `limit`; always ok for a reclaimable category.
    pub status: Status,
    /// Buffer/cache is reclaimable: shown against its target, never a breach.
    pub reclaimable: bool,
    /// Which side of the CPU split it counts on.
    pub cpu_group: CpuGroup,
    /// Logical CPUs in use over the last interval; None on the first sample.
    pub cpu: Option<f64>,
    /// Units (cgroup v2) or processes (per-process path) counted here.
    pub members: usize,
    /// Video memory of the category's processes, where the GPU says per process.
    pub gpu_memory: Option<u64>,
    /// The catalog apps running in it.
    pub apps: Vec<AppLine>,
}

/// A catalog app, all its units or processes together; bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppLine {
    /// The catalog id.
    pub id: String,
    /// The catalog's name.
    pub name: String,
    /// Bytes in use, over its units or processes.
    pub used: u64,
    /// Units or processes counted.
    pub members: usize,
    /// Logical CPUs in use; None on the first sample.
    pub cpu: Option<f64>,
    /// The catalog's MemoryHigh=.
    pub memory_high: u64,
    /// The catalog's MemoryMax=.
    pub memory_max: u64,
    /// memory.events summed over the app's running scopes (cgroup v2 only).
    pub events: Option<MemoryEvents>,
    /// Video memory of its processes, where the GPU says per process.
    pub gpu_memory: Option<u64>,
}

/// Whether zram is there and in use as swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZramState {
    /// A zram device is an active swap area.
    Active,
    /// zram devices exist; none is swap.
    Unused,
    /// No zram device.
    Absent,
}

impl ZramState {
    /// As the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ZramState::Active => "active",
            ZramState::Unused => "unused",
            ZramState::Absent => "absent",
        }
    }
}

/// zram's swap devices together (kernel doc: admin-guide/blockdev/zram, mm_stat); bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZramReport {
    /// Whether zram is there and in use as swap.
    pub state: ZramState,
    /// Every zram device, swap or not.
    pub devices: Vec<ZramDevice>,
    /// The active devices' disksize.
    pub disksize: u64,
    /// Uncompressed data stored.
    pub orig_data: u64,
    /// Its compressed size.
    pub compr_data: u64,
    /// RAM the pool takes, overhead included.
    pub mem_used: u64,
    /// orig_data / compr_data; None while nothing is stored.
    pub ratio: Option<f64>,
    /// orig_data / disksize.
    pub fill: Option<f64>,
    /// The highest priority of a zram swap area.
    pub swap_priority: Option<i32>,
    /// Every active swap area, zram or not.
    pub swaps: Vec<SwapArea>,
}

/// CPU use of the OS side and the workload side against the profile's core split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuSplit {
    /// The OS categories' use against the profile's `os_cores` (× threads per core).
    pub os: CpuShare,
    /// The workload categories' use against the profile's `workload_cores` (× threads per core).
    pub workload: CpuShare,
    /// Wall seconds the figures cover.
    pub interval_seconds: f64,
}

/// One side of the CPU split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuShare {
    /// Logical CPUs in use (1.0 = one thread busy all the time).
    pub used: f64,
    /// Logical CPUs the profile's core split gives this side.
    pub budget: f64,
}

/// What is in breach: the total, video memory or a category.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum BreachId {
    /// The whole desktop: "total".
    Total,
    /// Video memory: "vram".
    Vram,
    /// A category id.
    Category(String),
}

impl BreachId {
    /// As the JSON and the hysteresis tracker name it.
    pub fn as_str(&self) -> &str {
        match self {
            BreachId::Total => "total",
            BreachId::Vram => "vram",
            BreachId::Category(id) => id,
        }
    }
}

impl From<String> for BreachId {
    fn from(id: String) -> Self {
        match id.as_str() {
            "total" => BreachId::Total,
            "vram" => BreachId::Vram,
            _ => BreachId::Category(id),
        }
    }
}

impl From<BreachId> for String {
    fn from(id: BreachId) -> String {
        id.as_str().to_owned()
    }
}

impl std::fmt::Display for BreachId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line past its limit; bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// Which line is in breach.
    pub id: BreachId,
    /// Bytes in use.
    pub used: u64,
    /// The line's limit, bytes.
    pub limit: u64,
    /// Tick counter value when the breach started.
    pub since_tick: u64,
}

/// How memory was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attribution {
    /// Per systemd unit, from cgroup v2's memory.current.
    Units,
    /// Per process (PSS, else RSS): cgroup v1.
    Processes,
}

/// Where the figures come from, and what could not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    /// The host's cgroup setup.
    pub cgroup: CgroupMode,
    /// Per systemd unit or per process.
    pub attribution: Attribution,
    /// A line per source that could not be read, each saying which and why.
    pub problems: Vec<String>,
}

/// GPU figures as sampled (source, devices, processes; `reason` when there is none),
/// and video memory against the profile's budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuLine {
    /// The GPU report, its fields inline in this object.
    #[serde(flatten)]
    pub report: crate::gpu::GpuReport,
    /// None when there is no device or one does not report its memory use.
    pub vram: Option<VramLine>,
}

/// All devices' video memory against the profile's VRAM budget; bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VramLine {
    /// All devices' `memory_used`, summed.
    pub used: u64,
    /// None when a device does not say.
    pub total: Option<u64>,
    /// The profile's `[gpu] vram_budget`.
    pub budget: u64,
    /// `used` against `budget`.
    pub status: Status,
}
