//! The GPU sampler on modelled fixture trees (tests/fixtures/gpu/README.md) and on
//! recorded NVML readings; plus trees built here to break it.

use ballast::gpu::nvml::{self, NvmlReadings, Reading};
use ballast::gpu::{GpuReport, GpuSampler, GpuSource, ProcessKind};
use std::fs;
use std::path::{Path, PathBuf};

const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpu").join(name)
}

fn sample(name: &str) -> GpuReport {
    GpuSampler::new(fixture(name)).sample()
}

fn process(report: &GpuReport, pid: u32) -> &ballast::gpu::GpuProcess {
    report.processes.iter().find(|p| p.pid == pid).unwrap_or_else(|| panic!("pid {pid} in {:?}", report.processes))
}

#[test]
fn amdgpu_devices_come_from_sysfs_and_processes_from_fdinfo() {
    let r = sample("amdgpu");
    assert_eq!(r.source, GpuSource::DrmFdinfo);
    assert_eq!(r.reason, None);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert_eq!(r.devices.len(), 1, "connector and render node are not cards");
    let d = &r.devices[0];
    assert_eq!(d.index, 0);
    assert_eq!(d.vendor.as_deref(), Some("AMD"));
    assert_eq!(d.driver.as_deref(), Some("amdgpu"));
    assert_eq!(d.driver_version.as_deref(), Some("6.16.8-arch1-1"));
    assert_eq!(d.pci_bus_id.as_deref(), Some("0000:03:00.0"));
    assert_eq!(d.name, None);
    assert_eq!(d.cuda_version, None);
    assert_eq!(d.memory_total, Some(8_573_157_376));
    assert_eq!(d.memory_used, Some(1_239_416_832));
    assert_eq!((d.utilization.gpu, d.utilization.memory), (Some(23), Some(7)));
    assert_eq!((d.utilization.encoder, d.utilization.decoder), (None, None));
    assert_eq!(d.temperature_c, Some(47));
    assert_eq!(d.power_w, Some(31.0));
    assert_eq!(d.process_memory, Some(808 * MIB + 512 * KIB));
    assert!(d.engine_busy_percent.is_empty(), "one sample gives no busy time");

    let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, [1187, 2210, 3301, 3355], "bash (4000) holds no DRM file");
    // kwin: client 5 on fds 14 and 22 counts once, plus client 6.
    let kwin = process(&r, 1187);
    assert_eq!(kwin.memory, Some(182 * MIB));
    assert_eq!(kwin.system_memory, Some(4164 * KIB));
    assert_eq!(kwin.regions["vram"].shared, Some(24 * MIB));
    assert_eq!(kwin.kind, None);
    assert_eq!((kwin.graphics_memory, kwin.compute_memory), (None, None));
    // plasmashell has no fd links: its fdinfo content was read instead.
    assert_eq!(process(&r, 2210).memory, Some(310 * MIB + 512 * KIB));
    // client 19 is open in firefox and its child: it counts at the parent only.
    assert_eq!(process(&r, 3301).memory, Some(96 * MIB));
    assert_eq!(process(&r, 3355).memory, Some(220 * MIB));
}

#[test]
fn i915_igpu_has_system_memory_but_no_vram() {
    let r = sample("i915");
    assert_eq!(r.source, GpuSource::DrmFdinfo);
    let d = &r.devices[0];
    assert_eq!(d.vendor.as_deref(), Some("Intel"));
    assert_eq!((d.memory_used, d.memory_total), (None, None), "i915 exposes no VRAM figures");
    assert_eq!((d.temperature_c, d.power_w), (None, None));
    assert_eq!(d.utilization.gpu, None);
    assert_eq!(d.process_memory, None, "no process has device memory: unknown, not 0");
    let kwin = process(&r, 1290);
    assert_eq!(kwin.memory, None);
    assert_eq!(kwin.system_memory, Some(84 * MIB));
    assert_eq!(kwin.regions["system0"].active, Some(4 * MIB));
    // mpv: client 15 on fds 9 and 10 once, plus client 16.
    assert_eq!(process(&r, 2766).system_memory, Some(79 * MIB + 4 * KIB));
}

#[test]
fn nouveau_gpu_is_listed_without_processes() {
    let r = sample("nouveau");
    assert_eq!(r.source, GpuSource::DrmFdinfo);
    assert_eq!(r.devices.len(), 1);
    let d = &r.devices[0];
    assert_eq!(d.vendor.as_deref(), Some("NVIDIA"));
    assert_eq!(d.driver.as_deref(), Some("nouveau"));
    assert_eq!(d.temperature_c, Some(38));
    assert_eq!(d.process_memory, None);
    assert!(r.processes.is_empty(), "nouveau prints no drm- keys");
}

#[test]
fn no_drm_device_means_none_with_a_reason() {
    let r = sample("none");
    assert_eq!(r.source, GpuSource::None);
    assert_eq!(r.reason.as_deref(), Some("no GPU found: no DRM device"));
    assert!(r.devices.is_empty() && r.processes.is_empty() && r.notes.is_empty());
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(GpuSampler::new(empty.path()).sample().source, GpuSource::None);
}

/// Copies a fixture tree, symlinks included, so a test may change it.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn xe_busy_comes_from_cycles_between_two_samples() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("xe"), dir.path());
    let mut sampler = GpuSampler::new(dir.path());
    let first = sampler.sample();
    assert_eq!(first.devices[0].process_memory, Some(23992 * KIB + 1536 * MIB));
    assert_eq!(process(&first, 3000).system_memory, Some(8 * MIB));
    assert!(process(&first, 3000).engine_busy_percent.is_empty());

    // 1e9 GPU ticks later, blender's render engine was busy 40% of them and its compute
    // engines 0.5e9 cycles over a capacity of 4.
    let path = dir.path().join("proc/3000/fdinfo/21");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("drm-cycles-rcs:\t3825000000", "drm-cycles-rcs:\t4225000000")
        .replace("drm-cycles-ccs:\t120000000", "drm-cycles-ccs:\t620000000")
        .replace("7655190000", "8655190000");
    fs::write(&path, text).unwrap();
    let second = sampler.sample();
    let blender = process(&second, 3000);
    assert_eq!(blender.engine_busy_percent["rcs"], 40.0);
    assert_eq!(blender.engine_busy_percent["ccs"], 12.5);
    assert_eq!(blender.engine_busy_percent["vcs"], 0.0);
    // kwin's counters did not move, nor did its GPU timestamp: unknown, so left out.
    assert!(process(&second, 1402).engine_busy_percent.is_empty());
    assert_eq!(second.devices[0].engine_busy_percent["rcs"], 40.0);
}

#[test]
fn report_json_is_stable() {
    let json = serde_json::to_string(&sample("amdgpu")).unwrap();
    assert_eq!(json, serde_json::to_string(&sample("amdgpu")).unwrap());
    // Fields in declaration order, maps sorted by key.
    assert!(
        json.starts_with(r#"{"source":"drm-fdinfo","reason":null,"devices":[{"index":0,"name":null,"vendor":"AMD","#)
    );
    let top = ["\"devices\"", "\"processes\"", "\"notes\""].map(|k| json.find(k).unwrap());
    assert!(top.windows(2).all(|w| w[0] < w[1]));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["devices"][0]["utilization"]["encoder"], serde_json::Value::Null);
    assert_eq!(value["processes"][0]["regions"]["vram"]["resident"], 182 * MIB);
    assert_eq!(value["processes"][0]["kind"], serde_json::Value::Null);
    let regions: Vec<&String> = value["processes"][0]["regions"].as_object().unwrap().keys().collect();
    assert_eq!(regions, ["cpu", "doorbell", "gds", "gtt", "gws", "oa", "vram"]);
}

fn recorded(name: &str) -> NvmlReadings {
    let text = fs::read_to_string(fixture("nvml").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn nvml_gtx960_maps_to_the_report() {
    let r = nvml::report(&recorded("gtx960-580.json"));
    assert_eq!(r.source, GpuSource::Nvml);
    assert_eq!(r.reason, None);
    assert!(r.notes.is_empty(), "NotSupported and N/A are not noted: {:?}", r.notes);
    let d = &r.devices[0];
    assert_eq!(d.name.as_deref(), Some("NVIDIA GeForce GTX 960"));
    assert_eq!(d.vendor.as_deref(), Some("NVIDIA"));
    assert_eq!(d.driver.as_deref(), Some("nvidia"));
    assert_eq!(d.driver_version.as_deref(), Some("580.95.05"));
    assert_eq!(d.cuda_version.as_deref(), Some("13.0"));
    assert_eq!(d.pci_bus_id.as_deref(), Some("0000:01:00.0"));
    assert_eq!((d.memory_used, d.memory_total), (Some(1_112_539_136), Some(4 << 30)));
    let u = d.utilization;
    assert_eq!((u.gpu, u.memory, u.encoder, u.decoder), (Some(14), Some(9), Some(0), Some(23)));
    assert_eq!(d.temperature_c, Some(41));
    assert_eq!(d.power_w, None, "NotSupported is unknown, never 0");
    assert_eq!(d.process_memory, None, "firefox's figure is N/A");

    let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, [1187, 1402, 3301, 4120, 5000]);
    let kwin = process(&r, 1187);
    assert_eq!(kwin.kind, Some(ProcessKind::Graphics));
    assert_eq!((kwin.memory, kwin.graphics_memory, kwin.compute_memory), (Some(180 * MIB), Some(180 * MIB), None));
    let firefox = process(&r, 3301);
    assert_eq!((firefox.memory, firefox.graphics_memory), (None, None));
    let blender = process(&r, 5000);
    assert_eq!(blender.kind, Some(ProcessKind::GraphicsCompute));
    assert_eq!(blender.memory, Some(512 * MIB), "one figure, not the sum of both lists");
    assert!(blender.regions.is_empty() && blender.system_memory.is_none());
}

#[test]
fn nvml_h100_maps_to_the_report() {
    let r = nvml::report(&recorded("h100-570.json"));
    let d = &r.devices[0];
    assert_eq!(d.cuda_version.as_deref(), Some("12.8"));
    assert_eq!(d.pci_bus_id.as_deref(), Some("0000:1b:00.0"));
    assert_eq!(d.utilization.encoder, None, "H100 has no NVENC");
    assert_eq!(d.utilization.decoder, Some(0), "a supported 0 stays 0");
    assert_eq!(d.power_w, Some(412.345));
    assert_eq!(d.process_memory, Some(40 * 1024 * MIB + 500 * MIB));
    assert!(r.processes.iter().all(|p| p.kind == Some(ProcessKind::Compute)));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["source"], "nvml");
    assert_eq!(json["processes"][0]["kind"], "compute");
}

#[test]
fn nvml_failures_become_unknowns_with_notes() {
    let mut readings = recorded("h100-570.json");
    let gpu = &mut readings.devices[0];
    gpu.power_mw = Reading::Failed("the current user does not have permission".into());
    gpu.compute_processes = Reading::Failed("an internal driver error occurred".into());
    readings.cuda_driver_version = Reading::Failed("a shared library couldn't be found".into());
    readings.errors.push("GPU 1: device fell off the bus".into());
    let r = nvml::report(&readings);
    let d = &r.devices[0];
    assert_eq!((d.power_w, d.cuda_version.as_deref()), (None, None));
    assert_eq!(d.process_memory, None, "the compute list is unknown");
    assert!(r.processes.is_empty());
    assert_eq!(
        r.notes,
        [
            "GPU 1: device fell off the bus",
            "CUDA version: a shared library couldn't be found",
            "GPU 0: power: the current user does not have permission",
            "GPU 0: compute processes: an internal driver error occurred",
        ]
    );
}

#[test]
fn nvml_readings_round_trip_through_json() {
    let readings = recorded("gtx960-580.json");
    let text = serde_json::to_string(&readings).unwrap();
    assert_eq!(serde_json::from_str::<NvmlReadings>(&text).unwrap(), readings);
    assert!(text.contains(r#""power_mw":"not_supported""#));
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const CLIENT: &str = "drm-driver:\tamdgpu\ndrm-client-id:\t1\ndrm-pdev:\t0000:03:00.0\ndrm-resident-vram:\t1 MiB\n";

/// Malformed and unreadable files are skipped; the rest of the tree still counts.
#[test]
fn broken_trees_are_survived() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_tree(&fixture("amdgpu"), root);
    let device = "sys/class/drm/card1/device";
    write(root, &format!("{device}/gpu_busy_percent"), "busy\n");
    write(root, &format!("{device}/mem_busy_percent"), "250\n");
    // A firmware framebuffer before the real card is not a GPU.
    write(root, "sys/class/drm/card0/device/uevent", "DRIVER=simple-framebuffer\n");
    // Broken processes.
    write(
        root,
        "proc/5000/fdinfo/3",
        "\u{0}\u{1}drm-driver\ndrm-driver:\tamdgpu\ndrm-client-id:\tx\ndrm-resident-vram:\t9 PiB\n",
    );
    fs::create_dir_all(root.join("proc/5001/fdinfo/4")).unwrap(); // a directory, not a file
    fs::create_dir_all(root.join("proc/5002")).unwrap(); // no fdinfo at all
    write(root, "proc/self/fdinfo/3", CLIENT); // not a PID
    write(root, "proc/5003/fdinfo/notanfd", CLIENT);
    // The fd link says socket: the fdinfo is not even read.
    write(root, "proc/5004/fdinfo/5", &CLIENT.replace("id:\t1", "id:\t77"));
    fs::create_dir_all(root.join("proc/5004/fd")).unwrap();
    std::os::unix::fs::symlink("socket:[99]", root.join("proc/5004/fd/5")).unwrap();
    if unsafe { libc::geteuid() } != 0 {
        write(root, "proc/5005/fdinfo/6", &CLIENT.replace("id:\t1", "id:\t78"));
        let path = root.join("proc/5005/fdinfo/6");
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    }
    let r = GpuSampler::new(root).sample();
    assert_eq!(r.source, GpuSource::DrmFdinfo);
    assert_eq!(r.devices.len(), 1, "{:?}", r.devices);
    let d = &r.devices[0];
    assert_eq!(d.utilization.gpu, None);
    assert_eq!(d.utilization.memory, None, "250% is not a percentage");
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(r.notes[0].contains("gpu_busy_percent: expected a number, found \"busy\""));
    // 5000's garbage client has no id: its own key, and no valid region.
    let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, [1187, 2210, 3301, 3355]);
}

#[test]
fn a_suspended_gpu_is_not_woken() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("amdgpu"), dir.path());
    write(dir.path(), "sys/class/drm/card1/device/power/runtime_status", "suspended\n");
    let r = GpuSampler::new(dir.path()).sample();
    let d = &r.devices[0];
    assert_eq!(d.memory_used, Some(1_239_416_832), "memory figures do not touch the GPU");
    assert_eq!((d.utilization.gpu, d.temperature_c, d.power_w), (None, None, None));
    assert!(r.notes[0].contains("runtime-suspended"), "{:?}", r.notes);
}

/// New PIDs are seen at once; a known process's new DRM fd at the next full scan.
#[test]
fn new_processes_appear_at_once_and_new_fds_within_a_full_scan() {
    use ballast::gpu::fdinfo::FULL_SCAN_EVERY;
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("amdgpu"), dir.path());
    let mut sampler = GpuSampler::new(dir.path());
    sampler.sample();
    write(dir.path(), "proc/6000/fdinfo/5", &CLIENT.replace("id:\t1", "id:\t60"));
    write(dir.path(), "proc/4000/fdinfo/9", &CLIENT.replace("id:\t1", "id:\t40"));
    let has = |r: &GpuReport, pid| r.processes.iter().any(|p| p.pid == pid);
    let next = sampler.sample();
    assert!(has(&next, 6000), "a new PID is scanned on first sight");
    assert!(!has(&next, 4000), "bash had no DRM fd at its last full scan");
    for _ in 2..FULL_SCAN_EVERY {
        assert!(!has(&sampler.sample(), 4000));
    }
    assert!(has(&sampler.sample(), 4000), "found by the full scan");
    // A DRM fd that closes is gone at the next sample.
    fs::remove_file(dir.path().join("proc/6000/fdinfo/5")).unwrap();
    assert!(!has(&sampler.sample(), 6000));
}

/// Another user's process is tried once, then left alone until the next full scan.
/// Root reads every fdinfo, so only a user sees a refusal; CI (root) skips it.
#[test]
fn refused_processes_are_tried_again_only_at_a_full_scan() {
    use ballast::gpu::fdinfo::FULL_SCAN_EVERY;
    use std::os::unix::fs::PermissionsExt;
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: root is never refused an fdinfo");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("amdgpu"), dir.path());
    write(dir.path(), "proc/7000/fdinfo/5", &CLIENT.replace("id:\t1", "id:\t70"));
    let fdinfo = dir.path().join("proc/7000/fdinfo");
    fs::set_permissions(&fdinfo, fs::Permissions::from_mode(0o000)).unwrap();
    let mut sampler = GpuSampler::new(dir.path());
    let refused = |r: &GpuReport| r.notes.iter().any(|n| n.contains("fdinfo of 1 processes not readable"));
    assert!(refused(&sampler.sample()));
    fs::set_permissions(&fdinfo, fs::Permissions::from_mode(0o755)).unwrap();
    let has = |r: &GpuReport| r.processes.iter().any(|p| p.pid == 7000);
    for _ in 1..FULL_SCAN_EVERY {
        let r = sampler.sample();
        assert!(refused(&r) && !has(&r), "not tried again before the full scan");
    }
    let r = sampler.sample();
    assert!(!refused(&r) && has(&r), "tried again by the full scan");
}

/// The agent may move the sampler onto another thread (tokio's blocking pool).
#[test]
fn sampler_and_report_are_send() {
    fn send<T: Send>() {}
    send::<GpuSampler>();
    send::<GpuReport>();
}
