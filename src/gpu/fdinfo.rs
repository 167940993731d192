//! DRM client usage stats (the kernel's Documentation/gpu/drm-usage-stats.rst): the
//! memory and engine time that amdgpu, i915, xe, panfrost, panthor, msm, v3d and other
//! drivers print in /proc/PID/fdinfo/FD for each open DRM file. nouveau prints none (it
//! has no `show_fdinfo`, as of Linux 6.16), so its clients are invisible here.

use super::{round_percent, GpuDevice, GpuError, GpuProcess};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

/// One open DRM file as its fdinfo describes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrmClient {
    /// `drm-driver`: the kernel driver's name (`amdgpu`, `i915`, `xe`, ...).
    pub driver: String,
    /// PCI address (`0000:03:00.0`); absent for platform devices.
    pub pdev: Option<String>,
    /// `drm-client-id`: the open DRM file, the same on every fd that shares it; None if absent
    /// or malformed.
    pub client_id: Option<u64>,
    /// Memory per region name, from the `drm-<stat>-<region>` keys.
    pub regions: BTreeMap<String, RegionMemory>,
    /// Counters per engine name, from the `drm-engine-`, `drm-cycles-`, `drm-total-cycles-` and
    /// `drm-engine-capacity-` keys.
    pub engines: BTreeMap<String, EngineCounters>,
}

/// Bytes in one memory region (`vram`, `gtt`, `system0`, `local0`, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RegionMemory {
    /// Every buffer created, resident or not (`drm-total-`).
    pub total: Option<u64>,
    /// Buffers shared with another DRM file (`drm-shared-`).
    pub shared: Option<u64>,
    /// Buffers with backing store present (`drm-resident-`, or its older alias `drm-memory-`).
    pub resident: Option<u64>,
    /// Resident buffers marked purgeable (`drm-purgeable-`).
    pub purgeable: Option<u64>,
    /// Buffers active on one or more engines (`drm-active-`).
    pub active: Option<u64>,
}

/// One engine's counters: busy time (`drm-engine-`), or busy cycles against a GPU
/// timestamp (`drm-cycles-` / `drm-total-cycles-`, as xe reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Cumulative nanoseconds the engine was busy with this client's work (`drm-engine-`).
    pub busy_ns: Option<u64>,
    /// Cumulative cycles the engine spent on this client's work (`drm-cycles-`).
    pub cycles: Option<u64>,
    /// The engine's cycle timestamp, in the same unit as `cycles` (`drm-total-cycles-`).
    pub total_cycles: Option<u64>,
    /// Identical engines behind the name; the spec says 1 where absent.
    pub capacity: Option<u32>,
}

/// Fdinfo files are a few hundred bytes; this only bounds a hostile one.
const FDINFO_LIMIT: u64 = 64 << 10;

/// The client an fdinfo text describes; None where it is not a DRM client (no
/// `drm-driver`). Lines that do not follow the spec are skipped, not fatal.
pub fn parse(text: &str) -> Option<DrmClient> {
    let mut client = DrmClient::default();
    let mut driver = None;
    let mut legacy = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let Some(key) = key.trim().strip_prefix("drm-") else {
            continue;
        };
        let value = value.trim();
        match key {
            "driver" => driver = Some(value).filter(|v| !v.is_empty()),
            "pdev" => client.pdev = Some(value.to_string()).filter(|v| !v.is_empty()),
            "client-id" => client.client_id = value.parse().ok(),
            "client-name" => {}
            _ => parse_stat(&mut client, &mut legacy, key, value),
        }
    }
    client.driver = driver?.to_string();
    // `drm-memory-` is the deprecated alias of `drm-resident-`; amdgpu prints both.
    for (region, bytes) in legacy {
        client.regions.entry(region).or_default().resident.get_or_insert(bytes);
    }
    Some(client)
}

fn parse_stat(client: &mut DrmClient, legacy: &mut Vec<(String, u64)>, key: &str, value: &str) {
    let named = |name: &str| (!name.is_empty()).then(|| name.to_string());
    // Longer prefixes first: `engine-capacity-` before `engine-`, `total-cycles-` before `total-`.
    if let Some(engine) = key.strip_prefix("engine-capacity-").and_then(named) {
        if let Some(n) = value.parse().ok().filter(|&n: &u32| n > 0) {
            client.engines.entry(engine).or_default().capacity = Some(n);
        }
    } else if let Some(engine) = key.strip_prefix("engine-").and_then(named) {
        if let Some(ns) = parse_count(value, Some("ns")) {
            client.engines.entry(engine).or_default().busy_ns = Some(ns);
        }
    } else if let Some(engine) = key.strip_prefix("total-cycles-").and_then(named) {
        if let Some(n) = parse_count(value, None) {
            client.engines.entry(engine).or_default().total_cycles = Some(n);
        }
    } else if let Some(engine) = key.strip_prefix("cycles-").and_then(named) {
        if let Some(n) = parse_count(value, None) {
            client.engines.entry(engine).or_default().cycles = Some(n);
        }
    } else if let Some((stat, region)) = key.split_once('-') {
        let (Some(region), Some(bytes)) = (named(region), parse_size(value)) else {
            return;
        };
        if stat == "memory" {
            return legacy.push((region, bytes));
        }
        let entry = || client.regions.entry(region).or_default();
        match stat {
            "total" => entry().total = Some(bytes),
            "shared" => entry().shared = Some(bytes),
            "resident" => entry().resident = Some(bytes),
            "purgeable" => entry().purgeable = Some(bytes),
            "active" => entry().active = Some(bytes),
            _ => {}
        }
    }
}

/// `<uint>` with an optional unit: bytes, `KiB` or `MiB` (the kernel's choices; `GiB`
/// accepted for the future). None for anything else, or on overflow.
pub fn parse_size(value: &str) -> Option<u64> {
    let mut words = value.split_whitespace();
    let number: u64 = words.next()?.parse().ok()?;
    let scale: u64 = match words.next() {
        None => 1,
        Some("KiB") => 1 << 10,
        Some("MiB") => 1 << 20,
        Some("GiB") => 1 << 30,
        Some(_) => return None,
    };
    if words.next().is_some() {
        return None;
    }
    number.checked_mul(scale)
}

/// `<uint>`, optionally followed by `unit` and nothing else.
fn parse_count(value: &str, unit: Option<&str>) -> Option<u64> {
    let mut words = value.split_whitespace();
    let number = words.next()?.parse().ok()?;
    match (words.next(), words.next()) {
        (None, None) => Some(number),
        (Some(u), None) if Some(u) == unit => Some(number),
        _ => None,
    }
}

/// Busy percent per engine between two readings of one client, `elapsed` apart: from
/// cycles where the driver gives them with a total (GPU clock domain, immune to our own
/// scheduling), else from busy nanoseconds. Divided by the engine's capacity, so 100 means
/// every engine of the class busy. Engines missing from either reading are left out.
pub fn engine_busy_percent(
    before: &BTreeMap<String, EngineCounters>,
    now: &BTreeMap<String, EngineCounters>,
    elapsed: Duration,
) -> BTreeMap<String, f32> {
    let elapsed_ns = elapsed.as_nanos() as f64;
    now.iter()
        .filter_map(|(name, now)| {
            let before = before.get(name)?;
            let cycles = match (now.cycles, now.total_cycles, before.cycles, before.total_cycles) {
                (Some(c), Some(t), Some(bc), Some(bt)) if t > bt => Some(c.saturating_sub(bc) as f64 / (t - bt) as f64),
                _ => None,
            };
            let fraction = cycles.or_else(|| match (now.busy_ns, before.busy_ns) {
                (Some(b), Some(bb)) if elapsed_ns > 0.0 => Some(b.saturating_sub(bb) as f64 / elapsed_ns),
                _ => None,
            })?;
            let capacity = f64::from(now.capacity.unwrap_or(1).max(1));
            Some((name.clone(), round_percent(fraction / capacity * 100.0)))
        })
        .collect()
}

/// The counters to compare the next reading with: a counter that went down keeps its
/// earlier, larger value until the driver catches up (drm-usage-stats.rst asks this).
pub fn carry_over(
    before: &BTreeMap<String, EngineCounters>,
    now: &BTreeMap<String, EngineCounters>,
) -> BTreeMap<String, EngineCounters> {
    let max = |a: Option<u64>, b: Option<u64>| a.max(b);
    now.iter()
        .map(|(name, now)| {
            let before = before.get(name).copied().unwrap_or_default();
            let kept = EngineCounters {
                busy_ns: max(now.busy_ns, before.busy_ns),
                cycles: max(now.cycles, before.cycles),
                total_cycles: max(now.total_cycles, before.total_cycles),
                capacity: now.capacity,
            };
            (name.clone(), kept)
        })
        .collect()
}

/// Identifies a DRM client: one can be open on several fds and in several processes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKey {
    /// `drm-client-id` within its device (the pdev, or the driver without one); the spec
    /// makes ids unique globally or per device.
    Id {
        /// The device: its `drm-pdev`, else the driver's name.
        device: String,
        /// `drm-client-id`.
        id: u64,
    },
    /// No client id: only this fd is known to be this client.
    Fd {
        /// The process holding the fd.
        pid: u32,
        /// The fd number.
        fd: u32,
    },
}

impl ClientKey {
    /// The key of `client`, read from fd `fd` of process `pid`.
    pub fn of(client: &DrmClient, pid: u32, fd: u32) -> Self {
        match client.client_id {
            Some(id) => ClientKey::Id { device: client.pdev.clone().unwrap_or_else(|| client.driver.clone()), id },
            None => ClientKey::Fd { pid, fd },
        }
    }
}

/// A client, found once: at the lowest PID, then the lowest fd, that holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundClient {
    /// The lowest PID holding the client.
    pub pid: u32,
    /// The lowest fd of that process holding it.
    pub fd: u32,
    /// What identifies the client.
    pub key: ClientKey,
    /// The client as its fdinfo describes it.
    pub client: DrmClient,
}

/// One walk of ROOT/proc: the DRM clients found, and how many processes could not be read.
#[derive(Debug, Default)]
pub struct Walk {
    /// Every DRM client, once each, in ascending PID order.
    pub clients: Vec<FoundClient>,
    /// Processes whose fdinfo we may not read (another user's).
    pub unreadable_processes: usize,
}

/// A process's fds are all looked at on first sight and every `FULL_SCAN_EVERY` walks;
/// in between only those that held DRM clients are re-read, since checking every fd of
/// every process is most of a walk's cost, and another user's process (its fdinfo refused)
/// is not tried again. So a process that opens its first DRM file late, or a reused PID,
/// shows up within `FULL_SCAN_EVERY` walks.
pub const FULL_SCAN_EVERY: u32 = 10;

/// Walks ROOT/proc for DRM clients, remembering between walks which fds held them.
#[derive(Debug, Default)]
pub struct Walker {
    /// Per PID, its fds that held DRM clients at the last walk (empty: none; None: its
    /// fdinfo may not be read).
    drm_fds: HashMap<u32, Option<Vec<u32>>>,
    walks: u32,
    buffer: Vec<u8>,
}

impl Walker {
    /// Every DRM client below ROOT/proc, deduplicated. Processes that exit during the
    /// walk and files that cannot be read or parsed are skipped; only an unreadable
    /// ROOT/proc fails.
    pub fn walk(&mut self, root: &Path) -> Result<Walk, GpuError> {
        let full = self.walks % FULL_SCAN_EVERY == 0;
        self.walks = self.walks.wrapping_add(1);
        let proc_dir = root.join("proc");
        let entries = fs::read_dir(&proc_dir).map_err(|source| GpuError::Read { path: proc_dir.clone(), source })?;
        let mut pids: Vec<u32> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
        pids.sort_unstable();
        let mut walk = Walk::default();
        let mut seen = HashSet::new();
        let mut drm_fds = HashMap::with_capacity(pids.len());
        for pid in pids {
            let process = proc_dir.join(pid.to_string());
            let listed = match self.drm_fds.remove(&pid).filter(|_| !full) {
                Some(known) => known.map(|fds| (fds, None)).ok_or(io::ErrorKind::PermissionDenied),
                None => list_fds(&process).map(|fds| (fds, Some(FdLinks::open(&process)))).map_err(|e| e.kind()),
            };
            let (fds, links) = match listed {
                Ok(listed) => listed,
                Err(io::ErrorKind::PermissionDenied) => {
                    walk.unreadable_processes += 1;
                    drm_fds.insert(pid, None);
                    continue;
                }
                Err(_) => continue,
            };
            let mut held = Vec::new();
            for fd in fds {
                if links.as_ref().is_some_and(|links| !links.may_be_drm(fd)) {
                    continue;
                }
                let path = process.join(format!("fdinfo/{fd}"));
                let Some(client) = read_client(&path, &mut self.buffer) else {
                    continue;
                };
                held.push(fd);
                let key = ClientKey::of(&client, pid, fd);
                if seen.insert(key.clone()) {
                    walk.clients.push(FoundClient { pid, fd, key, client });
                }
            }
            drm_fds.insert(pid, Some(held));
        }
        self.drm_fds = drm_fds;
        Ok(walk)
    }
}

/// A process's fd numbers, ascending (so the lowest fd of a client is kept).
fn list_fds(process: &Path) -> io::Result<Vec<u32>> {
    let mut fds: Vec<u32> =
        fs::read_dir(process.join("fdinfo"))?.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    fds.sort_unstable();
    Ok(fds)
}

/// A process's fd directory, held open: each fd's link names its file, so one
/// readlinkat (no path walk from the root) spares reading the fdinfo of every socket and
/// pipe. Where there is no readable link (fixture trees), the fdinfo decides.
struct FdLinks(Option<fs::File>);

impl FdLinks {
    fn open(process: &Path) -> Self {
        FdLinks(fs::File::open(process.join("fd")).ok())
    }

    fn may_be_drm(&self, fd: u32) -> bool {
        const DRM: &[u8] = b"/dev/dri/";
        let Some(dir) = &self.0 else {
            return true;
        };
        let Ok(name) = std::ffi::CString::new(fd.to_string()) else {
            return true;
        };
        let mut target = [0u8; 16];
        // SAFETY: the name is NUL-terminated and the buffer's length is passed; readlinkat
        // writes at most that many bytes (truncating is fine: only the prefix matters).
        let length =
            unsafe { libc::readlinkat(dir.as_raw_fd(), name.as_ptr(), target.as_mut_ptr().cast(), target.len()) };
        match usize::try_from(length) {
            Ok(length) => target[..length.min(target.len())].starts_with(DRM),
            Err(_) => true,
        }
    }
}

fn read_client(path: &Path, buffer: &mut Vec<u8>) -> Option<DrmClient> {
    buffer.clear();
    fs::File::open(path).ok()?.take(FDINFO_LIMIT).read_to_end(buffer).ok()?;
    parse(&String::from_utf8_lossy(buffer))
}

/// VRAM-like regions, on the card rather than in system RAM.
pub fn is_device_local(region: &str) -> bool {
    region.starts_with("vram") || region.starts_with("local")
}

/// Processes from deduplicated clients, with each device's sums (`process_memory`,
/// `engine_busy_percent`) written into `devices`. A client of a device missing from
/// `devices` (no sysfs) gets one made from its fdinfo. Clients that report nothing but
/// their identity (nvidia-drm, simpledrm) are left out.
pub fn attribute(
    devices: &mut Vec<GpuDevice>,
    clients: &[FoundClient],
    busy: &HashMap<ClientKey, BTreeMap<String, f32>>,
) -> Vec<GpuProcess> {
    let mut processes: BTreeMap<(u32, u32), GpuProcess> = BTreeMap::new();
    for found in clients {
        let client = &found.client;
        if client.regions.is_empty() && client.engines.is_empty() {
            continue;
        }
        let device_index = device_of(devices, client);
        let process = processes.entry((device_index, found.pid)).or_insert_with(|| GpuProcess {
            pid: found.pid,
            device_index,
            ..GpuProcess::default()
        });
        for (name, region) in &client.regions {
            let sum = process.regions.entry(name.clone()).or_default();
            sum.total = add(sum.total, region.total);
            sum.shared = add(sum.shared, region.shared);
            sum.resident = add(sum.resident, region.resident);
            sum.purgeable = add(sum.purgeable, region.purgeable);
            sum.active = add(sum.active, region.active);
        }
        for (engine, percent) in busy.get(&found.key).into_iter().flatten() {
            let sum = process.engine_busy_percent.entry(engine.clone()).or_default();
            *sum = round_percent(f64::from(*sum + percent));
        }
    }
    for process in processes.values_mut() {
        let resident = |local: bool| {
            process
                .regions
                .iter()
                .filter(|(name, _)| is_device_local(name) == local)
                .fold(None, |sum, (_, r)| add(sum, r.resident))
        };
        process.memory = resident(true);
        process.system_memory = resident(false);
    }
    for device in devices.iter_mut() {
        let index = device.index;
        let mine = || processes.values().filter(move |p| p.device_index == index);
        device.process_memory = mine().fold(None, |sum, p| add(sum, p.memory));
        for process in mine() {
            for (engine, percent) in &process.engine_busy_percent {
                let sum = device.engine_busy_percent.entry(engine.clone()).or_default();
                *sum = round_percent(f64::from(*sum + percent));
            }
        }
    }
    processes.into_values().collect()
}

/// The index of the client's device: by PCI address, else by driver; made if missing.
fn device_of(devices: &mut Vec<GpuDevice>, client: &DrmClient) -> u32 {
    let found = devices.iter().find(|d| match &client.pdev {
        Some(pdev) => d.pci_bus_id.as_deref() == Some(pdev.as_str()),
        None => d.driver.as_deref() == Some(client.driver.as_str()),
    });
    if let Some(device) = found {
        return device.index;
    }
    let index = u32::try_from(devices.len()).unwrap_or(u32::MAX);
    devices.push(GpuDevice {
        index,
        driver: Some(client.driver.clone()),
        pci_bus_id: client.pdev.clone(),
        ..GpuDevice::default()
    });
    index
}

/// Sum where either side is known; unknown only where both are.
fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // amdgpu as of Linux 6.13: drm_show_fdinfo's lines, then amdgpu_show_fdinfo's.
    const AMDGPU: &str = "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1090\n\
drm-driver:\tamdgpu\ndrm-client-id:\t17\ndrm-pdev:\t0000:03:00.0\npasid:\t32770\n\
drm-total-vram:\t96 MiB\ndrm-shared-vram:\t8 MiB\ndrm-resident-vram:\t96 MiB\ndrm-purgeable-vram:\t0\n\
drm-total-gtt:\t2052 KiB\ndrm-shared-gtt:\t0\ndrm-resident-gtt:\t2052 KiB\ndrm-purgeable-gtt:\t0\n\
drm-memory-vram:\t98304 KiB\ndrm-memory-gtt: \t2052 KiB\ndrm-memory-cpu: \t0 KiB\n\
amd-evicted-vram:\t0 KiB\namd-requested-vram:\t98304 KiB\namd-requested-gtt:\t2052 KiB\n\
drm-engine-gfx:\t1598765432 ns\ndrm-engine-dec:\t2000000 ns\n";

    #[test]
    fn parses_amdgpu_and_prefers_resident_over_its_legacy_alias() {
        let c = parse(AMDGPU).unwrap();
        assert_eq!(c.driver, "amdgpu");
        assert_eq!(c.pdev.as_deref(), Some("0000:03:00.0"));
        assert_eq!(c.client_id, Some(17));
        let vram = c.regions["vram"];
        assert_eq!(vram.resident, Some(96 << 20));
        assert_eq!(vram.shared, Some(8 << 20));
        assert_eq!(vram.purgeable, Some(0));
        assert_eq!(vram.active, None, "amdgpu does not report active");
        // drm-memory-cpu is the only cpu line: it becomes resident.
        assert_eq!(c.regions["cpu"].resident, Some(0));
        assert_eq!(c.regions["gtt"].resident, Some(2052 << 10));
        assert_eq!(c.engines["gfx"].busy_ns, Some(1_598_765_432));
        assert!(!c.regions.contains_key("requested"), "amd- keys are not drm- keys");
    }

    #[test]
    fn sizes_honour_units_and_reject_others() {
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("12 KiB"), Some(12 << 10));
        assert_eq!(parse_size("3 MiB"), Some(3 << 20));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("5 kB"), None);
        assert_eq!(parse_size("5 MiB extra"), None);
        assert_eq!(parse_size("-5"), None);
        assert_eq!(parse_size("18446744073709551615 MiB"), None, "overflow");
        assert_eq!(parse_count("7 ns", Some("ns")), Some(7));
        assert_eq!(parse_count("7 ms", Some("ns")), None);
    }

    #[test]
    fn malformed_lines_are_skipped_and_the_rest_kept() {
        let text = "drm-driver:\ti915\ngarbage without colon\ndrm-client-id:\tnot-a-number\n\
drm-total-system0:\tlots\ndrm-resident-system0:\t4 MiB\ndrm-engine-render:\t5 parsecs\n\
drm-engine-copy:\t10 ns\ndrm-engine-capacity-video:\t0\ndrm-engine-:\t3 ns\n\
drm-maxfreq-render:\t1300 MHz\n:\t\n";
        let c = parse(text).unwrap();
        assert_eq!(c.client_id, None);
        assert_eq!(c.regions["system0"].total, None);
        assert_eq!(c.regions["system0"].resident, Some(4 << 20));
        assert!(!c.engines.contains_key("render"));
        assert_eq!(c.engines["copy"].busy_ns, Some(10));
        assert!(!c.engines.contains_key("video"), "zero capacity is not allowed");
        assert!(!c.engines.contains_key(""));
    }

    #[test]
    fn not_a_drm_client_without_a_driver() {
        assert_eq!(parse("pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t3\n"), None);
        assert_eq!(parse("drm-driver:\t\ndrm-client-id:\t3\n"), None);
        assert_eq!(parse(""), None);
    }

    fn engines(list: &[(&str, EngineCounters)]) -> BTreeMap<String, EngineCounters> {
        list.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    fn ns(busy: u64) -> EngineCounters {
        EngineCounters { busy_ns: Some(busy), ..Default::default() }
    }

    #[test]
    fn busy_from_nanoseconds_over_wall_time_and_capacity() {
        let before = engines(&[("gfx", ns(1_000_000_000)), ("video", ns(0))]);
        let mut video = ns(1_000_000_000);
        video.capacity = Some(2);
        let now = engines(&[("gfx", ns(1_250_000_000)), ("video", video), ("new", ns(5))]);
        let busy = engine_busy_percent(&before, &now, Duration::from_secs(1));
        assert_eq!(busy["gfx"], 25.0);
        assert_eq!(busy["video"], 50.0, "one of two engines busy");
        assert!(!busy.contains_key("new"), "needs two readings");
    }

    #[test]
    fn busy_from_cycles_ignores_wall_time() {
        let cycles = |c, t| EngineCounters { cycles: Some(c), total_cycles: Some(t), capacity: None, busy_ns: None };
        let before = engines(&[("rcs", cycles(1000, 10_000)), ("bcs", cycles(0, 10_000))]);
        let now = engines(&[("rcs", cycles(1300, 11_000)), ("bcs", cycles(0, 10_000))]);
        let busy = engine_busy_percent(&before, &now, Duration::from_millis(3));
        assert_eq!(busy["rcs"], 30.0);
        assert!(!busy.contains_key("bcs"), "no GPU time passed: unknown, not 0");
    }

    #[test]
    fn counters_that_go_back_count_zero_and_are_not_taken() {
        let before = engines(&[("gfx", ns(2_000))]);
        let now = engines(&[("gfx", ns(1_000))]);
        assert_eq!(engine_busy_percent(&before, &now, Duration::from_micros(1))["gfx"], 0.0);
        assert_eq!(carry_over(&before, &now)["gfx"].busy_ns, Some(2_000));
        let over = engine_busy_percent(&engines(&[("gfx", ns(0))]), &before, Duration::from_nanos(1));
        assert_eq!(over["gfx"], 100.0, "clamped");
    }

    fn found(pid: u32, fd: u32, text: &str) -> FoundClient {
        let client = parse(text).unwrap();
        FoundClient { pid, fd, key: ClientKey::of(&client, pid, fd), client }
    }

    #[test]
    fn attribution_sums_per_process_and_device_and_makes_missing_devices() {
        let vram = |id, mib| {
            format!("drm-driver:\tamdgpu\ndrm-client-id:\t{id}\ndrm-pdev:\t0000:03:00.0\ndrm-resident-vram:\t{mib} MiB\ndrm-resident-gtt:\t1 MiB\n")
        };
        let clients = vec![
            found(10, 5, &vram(1, 100)),
            found(10, 9, &vram(2, 50)),
            found(11, 4, &vram(3, 7)),
            found(12, 3, "drm-driver:\tv3d\ndrm-client-id:\t1\ndrm-engine-render:\t9 ns\n"),
            found(13, 3, "drm-driver:\tnvidia-drm\ndrm-client-id:\t4\ndrm-pdev:\t0000:01:00.0\n"),
        ];
        let mut devices = vec![GpuDevice { index: 0, pci_bus_id: Some("0000:03:00.0".into()), ..Default::default() }];
        let mut busy = HashMap::new();
        busy.insert(clients[0].key.clone(), BTreeMap::from([("gfx".to_string(), 60.0)]));
        busy.insert(clients[1].key.clone(), BTreeMap::from([("gfx".to_string(), 50.0)]));
        let processes = attribute(&mut devices, &clients, &busy);
        assert_eq!(processes.len(), 3, "nvidia-drm reports nothing to attribute");
        assert_eq!(processes[0].pid, 10);
        assert_eq!(processes[0].memory, Some(150 << 20));
        assert_eq!(processes[0].system_memory, Some(2 << 20));
        assert_eq!(processes[0].engine_busy_percent["gfx"], 100.0, "clamped");
        assert_eq!(devices[0].process_memory, Some(157 << 20));
        assert_eq!(devices[0].engine_busy_percent["gfx"], 100.0);
        assert_eq!(devices.len(), 2, "v3d has no sysfs entry here");
        assert_eq!(devices[1].driver.as_deref(), Some("v3d"));
        assert_eq!(processes[2].device_index, 1);
        assert_eq!(processes[2].memory, None, "no device-local region: unknown");
        assert_eq!(devices[1].process_memory, None);
    }

    #[test]
    fn client_keys_scope_ids_by_device() {
        let a = parse("drm-driver:\ti915\ndrm-client-id:\t7\ndrm-pdev:\t0000:00:02.0\n").unwrap();
        let b = parse("drm-driver:\txe\ndrm-client-id:\t7\ndrm-pdev:\t0000:03:00.0\n").unwrap();
        let c = parse("drm-driver:\tv3d\n").unwrap();
        assert_ne!(ClientKey::of(&a, 1, 3), ClientKey::of(&b, 1, 4));
        assert_eq!(ClientKey::of(&a, 1, 3), ClientKey::of(&a, 2, 9));
        assert_eq!(ClientKey::of(&c, 5, 6), ClientKey::Fd { pid: 5, fd: 6 });
    }
}
