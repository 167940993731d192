//! What the agent sends over D-Bus, read back: the `status --json` report (docs/status-json.md,
//! schema 2, and schema 1 where it differs), History(), Apps(), Scopes() and Doctor(). Only the
//! fields the window shows; unknown fields are ignored so a newer agent still reads.

pub use ballast::gpu::GpuDevice;
pub use ballast::launch::ScopeStatus;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub profile: String,
    pub state: String,
    pub memory: Memory,
    pub total: Line,
    pub categories: Vec<Category>,
    pub unclassified: u64,
    pub zram: Zram,
    pub psi: Psi,
    pub cpu: Option<CpuSplit>,
    pub breaches: Vec<Breach>,
    /// The GPU report (docs/gpu-json.md); null in schema 1, which said why in `gpu_reason`.
    pub gpu: Option<Gpu>,
    #[serde(default)]
    pub gpu_reason: Option<String>,
    pub sources: Sources,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Gpu {
    /// "nvml", "drm-fdinfo" or "none".
    pub source: String,
    pub reason: Option<String>,
    pub devices: Vec<GpuDevice>,
    pub notes: Vec<String>,
    /// All devices' memory against the profile's VRAM budget; null when no device reports it.
    pub vram: Option<Vram>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Vram {
    pub used: u64,
    pub budget: u64,
    pub status: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_used: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Line {
    pub used: u64,
    pub idle: u64,
    pub workload: u64,
    pub limit: u64,
    pub status: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub used: u64,
    pub idle: u64,
    pub workload: u64,
    pub limit: u64,
    pub status: String,
    pub reclaimable: bool,
    pub cpu: Option<f64>,
    /// Video memory of its processes where the GPU tells per process (schema 2).
    #[serde(default)]
    pub gpu_memory: Option<u64>,
    pub apps: Vec<AppLine>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AppLine {
    pub name: String,
    #[serde(default)]
    pub gpu_memory: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Zram {
    pub state: String,
    pub devices: Vec<ZramDevice>,
    pub disksize: u64,
    pub orig_data: u64,
    pub compr_data: u64,
    pub mem_used: u64,
    pub ratio: Option<f64>,
    pub fill: Option<f64>,
    pub swap_priority: Option<i32>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ZramDevice {
    pub name: String,
    pub algorithm: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Psi {
    pub memory: Option<PressureLine>,
    pub cpu: Option<PressureLine>,
    pub io: Option<PressureLine>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PressureLine {
    pub some: Averages,
    pub full: Option<Averages>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Averages {
    pub avg10: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CpuSplit {
    pub os: CpuShare,
    pub workload: CpuShare,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CpuShare {
    pub used: f64,
    pub budget: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Breach {
    pub id: String,
    pub used: u64,
    pub limit: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Sources {
    pub problems: Vec<String>,
}

/// One point of History().
#[derive(Clone, Debug, Deserialize)]
pub struct HistoryPoint {
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub used: u64,
    pub zram_stored: u64,
    pub pressure: f64,
}

/// One catalog app of Apps() (`ballast apps --json`): limits as the profile writes them.
#[derive(Clone, Debug, Deserialize)]
pub struct CatalogApp {
    pub id: String,
    pub name: String,
    pub memory_high: String,
    pub memory_max: String,
    pub cpu_quota: String,
    pub installed: bool,
}

/// One line of Doctor() (`ballast doctor --json`).
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
pub struct DoctorCheck {
    pub id: String,
    pub verdict: String,
    pub message: String,
    pub fix: Option<String>,
}

/// A `--from-json` fixture: a bare report, or a whole session (the report and what the
/// other calls would answer), so a screenshot shows every part of the window.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Fixture {
    Session(Box<Session>),
    Report(Box<Report>),
}

impl Fixture {
    pub fn into_session(self) -> Session {
        match self {
            Fixture::Session(session) => *session,
            Fixture::Report(report) => Session {
                report: *report,
                earlier: None,
                history: Vec::new(),
                scopes: Vec::new(),
                apps: Vec::new(),
                doctor: Vec::new(),
                tune_preview: None,
            },
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Session {
    pub report: Report,
    /// The report a minute earlier, for the trend column.
    pub earlier: Option<Earlier>,
    #[serde(default)]
    pub history: Vec<HistoryPoint>,
    #[serde(default)]
    pub scopes: Vec<ScopeStatus>,
    #[serde(default)]
    pub apps: Vec<CatalogApp>,
    #[serde(default)]
    pub doctor: Vec<DoctorCheck>,
    /// What Tune(kwin, preview) answered.
    pub tune_preview: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Earlier {
    pub seconds_ago: u64,
    pub report: Report,
}
