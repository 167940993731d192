//! DRM devices from sysfs, ROOT/sys/class/drm/cardN/device/: the PCI identity from
//! `uevent`, and what the driver exposes there: amdgpu's VRAM figures and busy
//! percentages, and any driver's hwmon temperature and power.

use super::{GpuDevice, GpuError};
use std::fs;
use std::path::{Path, PathBuf};

/// What a device's `uevent` says about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// The bound kernel driver (`amdgpu`, `i915`, `xe`, `nouveau`, `nvidia`).
    pub driver: Option<String>,
    /// PCI vendor id, from `PCI_ID` (`0x1002` for AMD).
    pub vendor_id: Option<u16>,
    /// PCI address (`0000:03:00.0`); None for platform devices.
    pub slot: Option<String>,
}

/// `DRIVER`, `PCI_ID` and `PCI_SLOT_NAME` from a device's `uevent` text; what is missing or
/// malformed stays None.
pub fn parse_uevent(text: &str) -> DeviceIdentity {
    let mut identity = DeviceIdentity::default();
    for line in text.lines() {
        match line.split_once('=') {
            Some(("DRIVER", driver)) if !driver.is_empty() => {
                identity.driver = Some(driver.to_string());
            }
            Some(("PCI_ID", id)) => {
                identity.vendor_id = id.split_once(':').and_then(|(vendor, _)| u16::from_str_radix(vendor, 16).ok());
            }
            Some(("PCI_SLOT_NAME", slot)) if !slot.is_empty() => {
                identity.slot = Some(slot.to_ascii_lowercase());
            }
            _ => {}
        }
    }
    identity
}

/// The vendor's name for a PCI vendor id (`"NVIDIA"`, `"AMD"`, `"Intel"`), else the id as
/// four hex digits.
pub fn vendor_name(id: u16) -> String {
    match id {
        0x10de => "NVIDIA".to_string(),
        0x1002 => "AMD".to_string(),
        0x8086 => "Intel".to_string(),
        other => format!("{other:04x}"),
    }
}

/// Firmware framebuffers (simpledrm and friends) are DRM cards but not GPUs.
fn is_firmware_framebuffer(driver: &str) -> bool {
    driver.ends_with("-framebuffer") || matches!(driver, "simpledrm" | "efidrm" | "vesadrm" | "ofdrm")
}

/// The GPUs under ROOT/sys/class/drm, in card order. Unreadable figures are None, with a
/// note where the failure is not simply "the driver has no such file".
pub fn read_devices(root: &Path, kernel_release: Option<&str>, notes: &mut Vec<String>) -> Vec<GpuDevice> {
    let class = root.join("sys/class/drm");
    let mut cards: Vec<u32> = match fs::read_dir(&class) {
        Ok(entries) => {
            entries.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("card")?.parse().ok()).collect()
        }
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                notes.push(GpuError::Read { path: class, source: e }.to_string());
            }
            return Vec::new();
        }
    };
    cards.sort_unstable();
    let mut devices: Vec<GpuDevice> = Vec::new();
    for card in cards {
        let dir = class.join(format!("card{card}/device"));
        let identity = match read_text(&dir.join("uevent")) {
            Ok(Some(text)) => parse_uevent(&text),
            Ok(None) => DeviceIdentity::default(),
            Err(e) => {
                notes.push(e.to_string());
                continue;
            }
        };
        let framebuffer = identity.driver.as_deref().is_some_and(is_firmware_framebuffer);
        let duplicate = identity.slot.is_some() && devices.iter().any(|d| d.pci_bus_id == identity.slot);
        if framebuffer || duplicate {
            continue;
        }
        let mut device = GpuDevice {
            index: u32::try_from(devices.len()).unwrap_or(u32::MAX),
            vendor: identity.vendor_id.map(vendor_name),
            driver: identity.driver,
            driver_version: kernel_release.map(str::to_string),
            pci_bus_id: identity.slot,
            ..GpuDevice::default()
        };
        read_figures(&dir, &mut device, notes);
        devices.push(device);
    }
    devices
}

fn read_figures(dir: &Path, device: &mut GpuDevice, notes: &mut Vec<String>) {
    device.memory_total = read_number(&dir.join("mem_info_vram_total"), notes);
    device.memory_used = read_number(&dir.join("mem_info_vram_used"), notes);
    device.name = read_text(&dir.join("product_name"))
        .ok()
        .flatten()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    // Busy counters and sensors wake a runtime-suspended GPU (a laptop's dGPU): skip them.
    let suspended =
        read_text(&dir.join("power/runtime_status")).ok().flatten().is_some_and(|status| status.trim() == "suspended");
    if suspended {
        notes.push(format!(
            "{}: runtime-suspended; utilization, temperature and power not read so as not to wake it",
            dir.display()
        ));
        return;
    }
    let percent = |n: Option<u64>| n.and_then(|n| u32::try_from(n).ok()).filter(|&n| n <= 100);
    device.utilization.gpu = percent(read_number(&dir.join("gpu_busy_percent"), notes));
    device.utilization.memory = percent(read_number(&dir.join("mem_busy_percent"), notes));
    if let Some(hwmon) = first_hwmon(dir) {
        device.temperature_c = read_number(&hwmon.join("temp1_input"), notes)
            .and_then(|milli| u32::try_from(milli.saturating_add(500) / 1000).ok());
        device.power_w = read_number(&hwmon.join("power1_average"), notes)
            .or_else(|| read_number(&hwmon.join("power1_input"), notes))
            .map(|micro| micro as f64 / 1e6);
    }
}

fn first_hwmon(dir: &Path) -> Option<PathBuf> {
    let mut names: Vec<_> = fs::read_dir(dir.join("hwmon")).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    names.into_iter().next()
}

/// A file's text; None where the driver does not provide it (no such file, or it
/// answers "not supported" / "no data").
fn read_text(path: &Path) -> Result<Option<String>, GpuError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODATA | libc::ENOTDIR)) => {
            Ok(None)
        }
        Err(source) => Err(GpuError::Read { path: path.to_path_buf(), source }),
    }
}

fn read_number(path: &Path, notes: &mut Vec<String>) -> Option<u64> {
    let text = read_text(path).map_err(|e| notes.push(e.to_string())).ok()??;
    let number = text.trim().parse().ok();
    if number.is_none() {
        let reason = format!("expected a number, found {:?}", text.trim());
        notes.push(GpuError::Malformed { path: path.to_path_buf(), reason }.to_string());
    }
    number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uevent_gives_driver_vendor_and_slot() {
        let text = "DRIVER=amdgpu\nPCI_CLASS=30000\nPCI_ID=1002:73BF\nPCI_SUBSYS_ID=1DA2:E445\nPCI_SLOT_NAME=0000:03:00.0\nMODALIAS=pci:v00001002d000073BFsv00001DA2sd0000E445bc03sc00i00\n";
        let id = parse_uevent(text);
        assert_eq!(id.driver.as_deref(), Some("amdgpu"));
        assert_eq!(id.vendor_id, Some(0x1002));
        assert_eq!(id.slot.as_deref(), Some("0000:03:00.0"));
        assert_eq!(vendor_name(0x1002), "AMD");
        assert_eq!(vendor_name(0x1af4), "1af4");
        let platform = parse_uevent("DRIVER=simple-framebuffer\nOF_NAME=framebuffer\n");
        assert_eq!(platform.slot, None);
        assert!(is_firmware_framebuffer(platform.driver.as_deref().unwrap()));
        assert!(!is_firmware_framebuffer("amdgpu"));
        assert_eq!(parse_uevent("PCI_ID=zz:1\n=\nDRIVER=\n"), DeviceIdentity::default());
    }
}
