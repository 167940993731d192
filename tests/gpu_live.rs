//! The GPU sampler on this machine's live /proc and /sys. CI and the dev VM have no GPU:
//! there it must say `none` with a reason; on a machine with a GPU it must still give a
//! consistent report.

use ballast::gpu::{nvml, GpuSampler, GpuSource};
use std::path::Path;

#[test]
fn live_sample_is_consistent_and_none_without_a_gpu() {
    let mut sampler = GpuSampler::new("/");
    let first = sampler.sample();
    let second = sampler.sample();
    for report in [&first, &second] {
        let json = serde_json::to_value(report).unwrap();
        assert!(json["source"].is_string());
        match report.source {
            GpuSource::None => {
                assert!(report.devices.is_empty() && report.processes.is_empty());
                assert!(report.reason.as_deref().is_some_and(|r| r.starts_with("no GPU found")));
            }
            _ => assert!(!report.devices.is_empty()),
        }
        for p in &report.processes {
            assert!((p.device_index as usize) < report.devices.len());
        }
    }
    let has_drm = Path::new("/sys/class/drm").exists();
    let has_nvml = nvml::init().is_ok();
    if !has_drm && !has_nvml {
        assert_eq!(first.source, GpuSource::None);
        let reason = first.reason.unwrap();
        assert!(reason.contains("no DRM device"), "{reason}");
        // The library may be absent, or present without a driver (a container).
        assert!(reason.contains("NVIDIA"), "{reason}");
        println!("live: {reason}");
    }
}

#[test]
fn nvml_init_without_the_library_is_a_reason() {
    match nvml::init() {
        Ok(_) => println!("libnvidia-ml.so.1 loaded: this machine has the NVIDIA driver"),
        Err(error) => {
            let reason = error.to_string();
            assert!(!reason.is_empty());
            println!("nvml: {reason}");
        }
    }
}
