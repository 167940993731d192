//! NVIDIA GPUs through NVML. nvml-wrapper opens libnvidia-ml.so.1 with dlopen at run
//! time, so nothing links against it and a machine without it gets a reason, not an
//! error. `read` makes the calls and records what each returned (`NvmlReadings`);
//! `report` maps a recording to a `GpuReport` and is pure, so it is tested on recorded
//! values (tests/fixtures/gpu/nvml/) and a real GPU can be recorded with
//! `cargo run --example gpu_report -- --nvml-readings`.

use super::{GpuDevice, GpuProcess, GpuReport, GpuSource, ProcessKind, Utilization};
use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use nvml_wrapper::{Device, Nvml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsStr;

/// The NVML library's soname, as the NVIDIA driver installs it.
pub const LIBRARY: &str = "libnvidia-ml.so.1";

/// What one NVML call returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading<T> {
    /// The call's answer.
    Value(T),
    /// The GPU or driver lacks the feature: unknown, never 0.
    NotSupported,
    /// Any other error: unknown, and noted.
    Failed(String),
}

impl<T> From<Result<T, NvmlError>> for Reading<T> {
    fn from(result: Result<T, NvmlError>) -> Self {
        match result {
            Ok(value) => Reading::Value(value),
            // A driver too old for the call's symbol lacks the feature just the same.
            Err(NvmlError::NotSupported | NvmlError::FunctionNotFound | NvmlError::FailedToLoadSymbol(_)) => {
                Reading::NotSupported
            }
            Err(e) => Reading::Failed(e.to_string()),
        }
    }
}

impl<T> Reading<T> {
    /// The value; a failure other than "not supported" goes to `notes` as `what: why`.
    fn get(&self, what: impl FnOnce() -> String, notes: &mut Vec<String>) -> Option<&T> {
        match self {
            Reading::Value(value) => Some(value),
            Reading::NotSupported => None,
            Reading::Failed(why) => {
                notes.push(format!("{}: {why}", what()));
                None
            }
        }
    }
}

/// Everything one sample asks NVML, as it answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NvmlReadings {
    /// nvmlSystemGetDriverVersion (`"580.95.05"`).
    pub driver_version: Reading<String>,
    /// cuDriverGetVersion's number: 13000 for 13.0.
    pub cuda_driver_version: Reading<i32>,
    /// One per device NVML gave a handle for, by NVML index.
    pub devices: Vec<DeviceReadings>,
    /// Failures that lose a whole device (device count, handle).
    pub errors: Vec<String>,
}

/// What NVML answered for one device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceReadings {
    /// NVML's device index (as nvidia-smi numbers GPUs).
    pub index: u32,
    /// nvmlDeviceGetName.
    pub name: Reading<String>,
    /// As NVML writes it: `00000000:01:00.0`.
    pub pci_bus_id: Reading<String>,
    /// nvmlDeviceGetMemoryInfo_v2: used and total bytes.
    pub memory: Reading<MemoryReading>,
    /// nvmlDeviceGetUtilizationRates: GPU and memory busy %.
    pub utilization: Reading<UtilizationReading>,
    /// nvmlDeviceGetEncoderUtilization: video encoder busy %.
    pub encoder_utilization: Reading<u32>,
    /// nvmlDeviceGetDecoderUtilization: video decoder busy %.
    pub decoder_utilization: Reading<u32>,
    /// nvmlDeviceGetTemperature of the GPU die sensor, °C.
    pub temperature_c: Reading<u32>,
    /// nvmlDeviceGetPowerUsage, milliwatts.
    pub power_mw: Reading<u32>,
    /// nvmlDeviceGetGraphicsRunningProcesses_v3: processes with a graphics context.
    pub graphics_processes: Reading<Vec<ProcessReading>>,
    /// nvmlDeviceGetComputeRunningProcesses_v3: processes with a compute context (CUDA, ...).
    pub compute_processes: Reading<Vec<ProcessReading>>,
}

/// Device memory from NVML's memory info, bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReading {
    /// Bytes in use (NVML memory info `used`).
    pub used: u64,
    /// Bytes of device memory in all (NVML memory info `total`).
    pub total: u64,
}

/// nvmlDeviceGetUtilizationRates: percent of the last sample period each was busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtilizationReading {
    /// Percent of the time one or more kernels ran on the GPU.
    pub gpu: u32,
    /// Percent of the time device memory was being read or written.
    pub memory: u32,
}

/// One entry of an NVML running-process list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessReading {
    /// The process's PID.
    pub pid: u32,
    /// None where NVML says N/A (NVML_VALUE_NOT_AVAILABLE).
    pub used_memory: Option<u64>,
}

/// NVML did not start: the library it tried and NVML's error; the message is the reason
/// worded for `status`.
#[derive(Debug, thiserror::Error)]
#[error("{}", init_failure(.library, .source))]
pub struct InitError {
    /// The library NVML was loaded from (a soname or path).
    pub library: String,
    /// NVML's error.
    pub source: NvmlError,
}

/// Loads libnvidia-ml.so.1 and initialises NVML.
pub fn init() -> Result<Nvml, InitError> {
    init_from(LIBRARY)
}

/// Loads NVML from `library` (a soname or path) and initialises it.
pub fn init_from(library: &str) -> Result<Nvml, InitError> {
    Nvml::builder()
        .lib_path(OsStr::new(library))
        .init()
        .map_err(|source| InitError { library: library.to_owned(), source })
}

/// The reason `status` shows for an NVML start failure: the library missing, the driver not
/// loaded, no permission, a library/kernel module version mismatch, or NVML's own message.
pub fn init_failure(library: &str, error: &NvmlError) -> String {
    match error {
        NvmlError::LibloadingError(e)
            if e.to_string().contains(&format!("{library}: cannot open shared object file")) =>
        {
            format!("no NVIDIA driver ({library} not found)")
        }
        NvmlError::LibloadingError(e) => format!("cannot load {library}: {e}"),
        NvmlError::DriverNotLoaded => {
            format!("NVIDIA driver not loaded ({library} is installed, the kernel module is not running)")
        }
        NvmlError::NoPermission => "no permission to talk to the NVIDIA driver".to_string(),
        NvmlError::LibRmVersionMismatch => {
            "NVIDIA kernel module and library versions differ (reboot after a driver update)".to_string()
        }
        other => format!("NVML initialisation failed: {other}"),
    }
}

/// Asks NVML everything one sample needs. Never fails: each answer is recorded.
pub fn read(nvml: &Nvml) -> NvmlReadings {
    let mut errors = Vec::new();
    let count = nvml.device_count().unwrap_or_else(|e| {
        errors.push(format!("device count: {e}"));
        0
    });
    let devices = (0..count)
        .filter_map(|index| match nvml.device_by_index(index) {
            Ok(device) => Some(read_device(index, &device)),
            Err(e) => {
                errors.push(format!("GPU {index}: {e}"));
                None
            }
        })
        .collect();
    NvmlReadings {
        driver_version: nvml.sys_driver_version().into(),
        cuda_driver_version: nvml.sys_cuda_driver_version().into(),
        devices,
        errors,
    }
}

fn read_device(index: u32, device: &Device) -> DeviceReadings {
    let processes = |list: Result<Vec<ProcessInfo>, NvmlError>| {
        Reading::from(list.map(|list| {
            list.into_iter()
                .map(|p| ProcessReading {
                    pid: p.pid,
                    used_memory: match p.used_gpu_memory {
                        UsedGpuMemory::Used(bytes) => Some(bytes),
                        UsedGpuMemory::Unavailable => None,
                    },
                })
                .collect()
        }))
    };
    DeviceReadings {
        index,
        name: device.name().into(),
        pci_bus_id: device.pci_info().map(|p| p.bus_id).into(),
        memory: device.memory_info().map(|m| MemoryReading { used: m.used, total: m.total }).into(),
        utilization: device.utilization_rates().map(|u| UtilizationReading { gpu: u.gpu, memory: u.memory }).into(),
        encoder_utilization: device.encoder_utilization().map(|u| u.utilization).into(),
        decoder_utilization: device.decoder_utilization().map(|u| u.utilization).into(),
        temperature_c: device.temperature(TemperatureSensor::Gpu).into(),
        power_mw: device.power_usage().into(),
        graphics_processes: processes(device.running_graphics_processes()),
        compute_processes: processes(device.running_compute_processes()),
    }
}

/// The report for a recording. NotSupported becomes None; any other failure None plus a note.
pub fn report(readings: &NvmlReadings) -> GpuReport {
    let mut notes = readings.errors.clone();
    let driver_version = readings.driver_version.get(|| "driver version".to_string(), &mut notes).cloned();
    let cuda_version = readings
        .cuda_driver_version
        .get(|| "CUDA version".to_string(), &mut notes)
        .map(|v| format!("{}.{}", v / 1000, v % 1000 / 10));
    let mut devices = Vec::with_capacity(readings.devices.len());
    let mut processes = Vec::new();
    for d in &readings.devices {
        let n = &mut notes;
        let what = |field: &str| format!("GPU {}: {field}", d.index);
        let memory = d.memory.get(|| what("memory"), n);
        let utilization = d.utilization.get(|| what("utilization"), n);
        let mut device = GpuDevice {
            index: d.index,
            name: d.name.get(|| what("name"), n).cloned(),
            vendor: Some("NVIDIA".to_string()),
            driver: Some("nvidia".to_string()),
            driver_version: driver_version.clone(),
            cuda_version: cuda_version.clone(),
            pci_bus_id: d.pci_bus_id.get(|| what("PCI bus id"), n).map(|id| normalize_bus_id(id)),
            memory_used: memory.map(|m| m.used),
            memory_total: memory.map(|m| m.total),
            process_memory: None,
            utilization: Utilization {
                gpu: utilization.map(|u| u.gpu),
                memory: utilization.map(|u| u.memory),
                encoder: d.encoder_utilization.get(|| what("encoder utilization"), n).copied(),
                decoder: d.decoder_utilization.get(|| what("decoder utilization"), n).copied(),
            },
            engine_busy_percent: BTreeMap::new(),
            temperature_c: d.temperature_c.get(|| what("temperature"), n).copied(),
            power_w: d.power_mw.get(|| what("power"), n).map(|&mw| f64::from(mw) / 1000.0),
        };
        let graphics = d.graphics_processes.get(|| what("graphics processes"), n);
        let compute = d.compute_processes.get(|| what("compute processes"), n);
        let mine = merge_processes(d.index, graphics, compute);
        // Known only if both lists were read and every process's figure is known.
        device.process_memory = match (graphics, compute) {
            (Some(_), Some(_)) => mine.iter().try_fold(0u64, |sum, p| Some(sum + p.memory?)),
            _ => None,
        };
        devices.push(device);
        processes.extend(mine);
    }
    GpuReport { source: GpuSource::Nvml, reason: None, devices, processes, notes }
}

/// One process per PID. NVML gives a process one memory figure, repeated in both lists
/// for a process in both, so `memory` is the larger, not the sum.
fn merge_processes(
    device_index: u32,
    graphics: Option<&Vec<ProcessReading>>,
    compute: Option<&Vec<ProcessReading>>,
) -> Vec<GpuProcess> {
    let mut by_pid: BTreeMap<u32, GpuProcess> = BTreeMap::new();
    let lists = [(ProcessKind::Graphics, graphics), (ProcessKind::Compute, compute)];
    for (kind, list) in lists {
        for reading in list.into_iter().flatten() {
            let p = by_pid.entry(reading.pid).or_insert_with(|| GpuProcess {
                pid: reading.pid,
                device_index,
                kind: Some(kind),
                ..GpuProcess::default()
            });
            match kind {
                ProcessKind::Graphics => p.graphics_memory = reading.used_memory,
                _ => p.compute_memory = reading.used_memory,
            }
            if p.kind != Some(kind) {
                p.kind = Some(ProcessKind::GraphicsCompute);
            }
        }
    }
    let mut processes: Vec<GpuProcess> = by_pid.into_values().collect();
    for p in &mut processes {
        p.memory = p.graphics_memory.max(p.compute_memory);
    }
    processes
}

/// NVML's `00000000:01:00.0` as the kernel writes it (`0000:01:00.0`), so NVML and
/// sysfs/fdinfo addresses compare equal.
pub fn normalize_bus_id(id: &str) -> String {
    let lower = id.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        Some((domain, rest)) => match u32::from_str_radix(domain, 16) {
            Ok(domain) => format!("{domain:04x}:{rest}"),
            Err(_) => lower,
        },
        None => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_ids_become_kernel_style() {
        assert_eq!(normalize_bus_id("00000000:01:00.0"), "0000:01:00.0");
        assert_eq!(normalize_bus_id("00000001:1B:00.0"), "0001:1b:00.0");
        assert_eq!(normalize_bus_id("garbage"), "garbage");
    }

    #[test]
    fn errors_map_to_readings() {
        let r: Reading<u32> = Err(NvmlError::NotSupported).into();
        assert_eq!(r, Reading::NotSupported);
        let r: Reading<u32> = Err(NvmlError::FailedToLoadSymbol("x".into())).into();
        assert_eq!(r, Reading::NotSupported);
        let r: Reading<u32> = Err(NvmlError::GpuLost).into();
        assert!(matches!(r, Reading::Failed(ref why) if why.contains("fell off the bus")));
        let mut notes = Vec::new();
        assert_eq!(r.get(|| "GPU 0: power".into(), &mut notes), None);
        assert!(notes[0].starts_with("GPU 0: power: "));
        assert_eq!(Reading::<u32>::NotSupported.get(|| unreachable!(), &mut notes), None);
        assert_eq!(notes.len(), 1, "not supported is not noted");
    }

    #[test]
    fn a_process_in_both_lists_counts_once() {
        let g = vec![ProcessReading { pid: 7, used_memory: Some(300) }, ProcessReading { pid: 8, used_memory: None }];
        let c = vec![ProcessReading { pid: 7, used_memory: Some(300) }];
        let merged = merge_processes(0, Some(&g), Some(&c));
        assert_eq!(merged[0].kind, Some(ProcessKind::GraphicsCompute));
        assert_eq!(merged[0].memory, Some(300));
        assert_eq!(merged[1].kind, Some(ProcessKind::Graphics));
        assert_eq!(merged[1].memory, None, "N/A stays unknown");
    }

    #[test]
    fn a_missing_library_is_a_reason_not_an_error() {
        let reason = init_from("libnvidia-ml-absent.so.1").unwrap_err().to_string();
        assert_eq!(reason, "no NVIDIA driver (libnvidia-ml-absent.so.1 not found)");
    }
}
