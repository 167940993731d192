//! GPU sampling: NVIDIA GPUs through NVML (libnvidia-ml.so.1, loaded at run time, so the
//! binary never links against it), every other GPU through DRM fdinfo and sysfs.
//! `GpuSampler::new(root).sample()` returns one `GpuReport` whatever the machine has: a
//! missing driver or library is a `reason`, never an error. A figure the driver does not
//! report is `None` (JSON null), never 0. Schema: docs/gpu-json.md.

pub mod fdinfo;
pub mod nvml;
pub mod sysfs;

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

pub use fdinfo::RegionMemory;

/// Failure to read or parse a file below the sampled root; a sample turns it into a note.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum GpuError {
    /// Reading a file or directory (`path`) failed with an I/O error.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// A file (`path`) holds something other than the driver should write; `reason` says what.
    #[error("{path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

/// Where the report's figures come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum GpuSource {
    /// NVIDIA's NVML (libnvidia-ml.so.1); JSON `"nvml"`.
    #[serde(rename = "nvml")]
    Nvml,
    /// DRM fdinfo (/proc/PID/fdinfo) and sysfs; JSON `"drm-fdinfo"`.
    #[serde(rename = "drm-fdinfo")]
    DrmFdinfo,
    /// No GPU figures; `reason` says why. JSON `"none"`.
    #[serde(rename = "none")]
    None,
}

impl GpuReport {
    /// No GPU figures, and why.
    pub fn none(reason: impl Into<String>) -> GpuReport {
        GpuReport {
            source: GpuSource::None,
            reason: Some(reason.into()),
            devices: Vec::new(),
            processes: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// One GPU sample.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct GpuReport {
    /// Where the figures come from.
    pub source: GpuSource,
    /// Why the source is `none`, or why NVML was not used for an NVIDIA GPU.
    pub reason: Option<String>,
    /// One per GPU.
    pub devices: Vec<GpuDevice>,
    /// One per (device, process) using it, sorted by device index, then PID.
    pub processes: Vec<GpuProcess>,
    /// Figures that could not be read this tick, each saying which and why.
    pub notes: Vec<String>,
}

/// One GPU and its device-wide figures (sources per field: docs/gpu-json.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct GpuDevice {
    /// NVML's index (as nvidia-smi numbers GPUs), or the position among DRM cards.
    pub index: u32,
    /// Model name: NVML's nvmlDeviceGetName, or amdgpu's sysfs `product_name`.
    pub name: Option<String>,
    /// `"NVIDIA"`, `"AMD"`, `"Intel"`, else the PCI vendor id in hex; None for non-PCI devices.
    pub vendor: Option<String>,
    /// Kernel driver: `"nvidia"` under NVML, else the bound one (`amdgpu`, `i915`, `xe`, ...).
    pub driver: Option<String>,
    /// NVML's driver version; for in-tree DRM drivers, the kernel release.
    pub driver_version: Option<String>,
    /// Highest CUDA version the driver supports ("13.0"); NVML only.
    pub cuda_version: Option<String>,
    /// PCI address as the kernel writes it: `0000:01:00.0`.
    pub pci_bus_id: Option<String>,
    /// Device memory (VRAM) in bytes.
    pub memory_used: Option<u64>,
    /// Total device memory (VRAM) in bytes (NVML memory info `total`, sysfs `mem_info_vram_total`).
    pub memory_total: Option<u64>,
    /// Device memory of the processes listed for this device; null where any is unknown.
    pub process_memory: Option<u64>,
    /// Busy percentages of the GPU, memory, encoder and decoder.
    pub utilization: Utilization,
    /// Busy percent per engine, summed over clients (fdinfo, from the second sample on).
    pub engine_busy_percent: BTreeMap<String, f32>,
    /// Temperature in °C: NVML's GPU die sensor, or hwmon `temp1_input` (m°C, rounded).
    pub temperature_c: Option<u32>,
    /// Power draw in W: NVML's nvmlDeviceGetPowerUsage, or hwmon `power1_average`, else `power1_input`.
    pub power_w: Option<f64>,
}

/// Percent of the last sampling period each unit was busy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Utilization {
    /// GPU busy % (nvmlDeviceGetUtilizationRates `gpu`, amdgpu sysfs `gpu_busy_percent`).
    pub gpu: Option<u32>,
    /// Memory busy % (nvmlDeviceGetUtilizationRates `memory`, amdgpu sysfs `mem_busy_percent`).
    pub memory: Option<u32>,
    /// Video encoder busy % (NVML's nvmlDeviceGetEncoderUtilization); NVML only.
    pub encoder: Option<u32>,
    /// Video decoder busy % (NVML's nvmlDeviceGetDecoderUtilization); NVML only.
    pub decoder: Option<u32>,
}

/// Which NVML process lists a process is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum ProcessKind {
    /// In NVML's graphics process list only; JSON `"graphics"`.
    #[serde(rename = "graphics")]
    Graphics,
    /// In NVML's compute process list only; JSON `"compute"`.
    #[serde(rename = "compute")]
    Compute,
    /// In both lists; JSON `"graphics+compute"`.
    #[serde(rename = "graphics+compute")]
    GraphicsCompute,
}

/// One process's use of one GPU; the main loop maps `pid` to categories and apps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct GpuProcess {
    /// The process's PID.
    pub pid: u32,
    /// The `index` of the device it uses.
    pub device_index: u32,
    /// NVML only.
    pub kind: Option<ProcessKind>,
    /// Device memory (VRAM) in bytes.
    pub memory: Option<u64>,
    /// NVML's figure from the graphics list; null outside it or where NVML says N/A.
    pub graphics_memory: Option<u64>,
    /// NVML's figure from the compute list; null outside it or where NVML says N/A.
    pub compute_memory: Option<u64>,
    /// fdinfo: GPU buffers resident in system RAM (gtt, cpu, system0, ...), in bytes.
    pub system_memory: Option<u64>,
    /// fdinfo: every memory region the driver reports.
    pub regions: BTreeMap<String, RegionMemory>,
    /// fdinfo: busy percent per engine, from the second sample on.
    pub engine_busy_percent: BTreeMap<String, f32>,
}

/// NVML is re-tried this often after it failed (a driver installed or loaded later).
const NVML_RETRY: Duration = Duration::from_secs(300);

enum NvmlState {
    /// Fixture root: NVML would describe this machine, not the tree.
    Off,
    Untried,
    Ready(Box<nvml_wrapper::Nvml>),
    Unavailable {
        reason: String,
        at: Instant,
    },
}

/// Samples the GPUs below a root (`/`, or a fixture tree); keeps what spans samples: the NVML
/// handle and each DRM client's engine counters.
pub struct GpuSampler {
    root: PathBuf,
    kernel_release: Option<String>,
    nvml: NvmlState,
    walker: fdinfo::Walker,
    /// Engine counters per DRM client at the last sample, for busy percentages.
    engines: HashMap<fdinfo::ClientKey, BTreeMap<String, fdinfo::EngineCounters>>,
    engines_at: Option<Instant>,
}

impl GpuSampler {
    /// Samples below `root`; NVML is consulted only for `/`, since it cannot be pointed
    /// at a fixture tree. Nothing is loaded or read until the first `sample`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let nvml = if root == Path::new("/") { NvmlState::Untried } else { NvmlState::Off };
        let kernel_release = fs::read_to_string(root.join("proc/sys/kernel/osrelease"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        GpuSampler {
            root,
            kernel_release,
            nvml,
            walker: fdinfo::Walker::default(),
            engines: HashMap::new(),
            engines_at: None,
        }
    }

    /// The root the sampler reads below.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// One sample: NVML if it finds a GPU, else DRM fdinfo, else `none` with a reason.
    pub fn sample(&mut self) -> GpuReport {
        let nvml_reason = match self.nvml() {
            Ok(nvml) => {
                let report = nvml::report(&nvml::read(nvml));
                if !report.devices.is_empty() {
                    return report;
                }
                Some(match report.notes.is_empty() {
                    true => "NVML found no NVIDIA GPU".to_string(),
                    false => format!("NVML found no usable GPU: {}", report.notes.join("; ")),
                })
            }
            Err(reason) => reason,
        };
        self.sample_drm(nvml_reason)
    }

    /// The loaded library, or why there is none (None where NVML is off).
    fn nvml(&mut self) -> Result<&nvml_wrapper::Nvml, Option<String>> {
        let load = match &self.nvml {
            NvmlState::Off => return Err(None),
            NvmlState::Ready(_) => false,
            NvmlState::Untried => true,
            NvmlState::Unavailable { at, .. } => at.elapsed() >= NVML_RETRY,
        };
        if load {
            self.nvml = match nvml::init() {
                Ok(nvml) => NvmlState::Ready(Box::new(nvml)),
                Err(error) => NvmlState::Unavailable { reason: error.to_string(), at: Instant::now() },
            };
        }
        match &self.nvml {
            NvmlState::Ready(nvml) => Ok(nvml),
            NvmlState::Unavailable { reason, .. } => Err(Some(reason.clone())),
            NvmlState::Off | NvmlState::Untried => Err(None),
        }
    }

    fn sample_drm(&mut self, nvml_reason: Option<String>) -> GpuReport {
        let mut notes = Vec::new();
        let mut devices = sysfs::read_devices(&self.root, self.kernel_release.as_deref(), &mut notes);
        if devices.is_empty() {
            self.engines.clear();
            self.engines_at = None;
            let reason = match nvml_reason {
                Some(nvml) => format!("no GPU found: {nvml}; no DRM device"),
                None => "no GPU found: no DRM device".to_string(),
            };
            return GpuReport { source: GpuSource::None, reason: Some(reason), devices, processes: Vec::new(), notes };
        }
        let walk = self.walker.walk(&self.root).unwrap_or_else(|e| {
            notes.push(e.to_string());
            fdinfo::Walk::default()
        });
        if walk.unreadable_processes > 0 {
            notes.push(format!(
                "fdinfo of {} processes not readable (other users' processes are not counted)",
                walk.unreadable_processes
            ));
        }
        let busy = self.engine_busy(&walk.clients);
        let processes = fdinfo::attribute(&mut devices, &walk.clients, &busy);
        // The NVML failure matters only where an NVIDIA GPU is left to fdinfo.
        let reason = nvml_reason.filter(|_| devices.iter().any(|d| d.vendor.as_deref() == Some("NVIDIA")));
        GpuReport { source: GpuSource::DrmFdinfo, reason, devices, processes, notes }
    }

    /// Busy percentages against the previous sample's counters, which are then replaced
    /// (never by lower values: the spec lets counters dip and asks readers to wait).
    fn engine_busy(&mut self, clients: &[fdinfo::FoundClient]) -> HashMap<fdinfo::ClientKey, BTreeMap<String, f32>> {
        let now = Instant::now();
        let elapsed = self.engines_at.map(|then| now.duration_since(then));
        let mut busy = HashMap::new();
        let mut next = HashMap::with_capacity(clients.len());
        for found in clients {
            let counters = match (self.engines.get(&found.key), elapsed) {
                (Some(before), Some(elapsed)) => {
                    let percent = fdinfo::engine_busy_percent(before, &found.client.engines, elapsed);
                    busy.insert(found.key.clone(), percent);
                    fdinfo::carry_over(before, &found.client.engines)
                }
                _ => found.client.engines.clone(),
            };
            next.insert(found.key.clone(), counters);
        }
        self.engines = next;
        self.engines_at = Some(now);
        busy
    }
}

/// A percentage to one decimal, so the JSON stays readable.
pub(crate) fn round_percent(value: f64) -> f32 {
    ((value.clamp(0.0, 100.0) * 10.0).round() / 10.0) as f32
}
