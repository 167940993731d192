//! Whatever bytes the kernel (or a fuzzer) puts in fdinfo and sysfs files, the GPU
//! sampler never panics.

use ballast::gpu::fdinfo;
use ballast::gpu::sysfs;
use ballast::gpu::GpuSampler;
use proptest::prelude::*;
use std::fs;
use std::path::Path;

fn write(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Bytes that look like fdinfo often enough to reach the interesting branches.
fn fdinfo_like() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just(b"drm-driver:\tamdgpu".to_vec()),
        Just(b"drm-client-id:\t1".to_vec()),
        Just(b"drm-pdev:\t0000:03:00.0".to_vec()),
        "drm-(engine|engine-capacity|cycles|total-cycles|total|resident|memory|shared)-[a-z0-9-]{0,6}:[ \t]{0,2}[0-9]{0,21}( (ns|KiB|MiB|GiB|x))?"
            .prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    proptest::collection::vec(line, 0..30).prop_map(|lines| lines.join(&b'\n'))
}

proptest! {
    #[test]
    fn fdinfo_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = fdinfo::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fdinfo_like_text_parses_without_panic(bytes in fdinfo_like()) {
        if let Some(client) = fdinfo::parse(&String::from_utf8_lossy(&bytes)) {
            prop_assert!(!client.driver.is_empty());
        }
    }

    #[test]
    fn sizes_and_uevents_never_panic(text in "\\PC{0,40}") {
        let _ = fdinfo::parse_size(&text);
        let _ = sysfs::parse_uevent(&text);
    }

    /// Random files where the sampler reads, sampled twice (the second tick computes deltas).
    #[test]
    fn sampler_survives_random_files(
        first in fdinfo_like(),
        second in fdinfo_like(),
        noise in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/drm/card0/device/uevent", &noise);
        write(root, "sys/class/drm/card1/device/uevent", b"DRIVER=amdgpu\nPCI_SLOT_NAME=0000:03:00.0\n");
        write(root, "sys/class/drm/card1/device/mem_info_vram_used", &noise);
        write(root, "sys/class/drm/card1/device/hwmon/hwmon0/temp1_input", &noise);
        write(root, "proc/10/fdinfo/3", &first);
        write(root, "proc/11/fdinfo/4", &second);
        let mut sampler = GpuSampler::new(root);
        let before = sampler.sample();
        write(root, "proc/10/fdinfo/3", &second);
        let after = sampler.sample();
        for report in [before, after] {
            prop_assert!(serde_json::to_string(&report).is_ok());
            for p in &report.processes {
                prop_assert!((p.device_index as usize) < report.devices.len());
                for percent in p.engine_busy_percent.values() {
                    prop_assert!((0.0..=100.0).contains(percent));
                }
            }
        }
    }
}
