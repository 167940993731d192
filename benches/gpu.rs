//! Cost of one GPU sample: the DRM fdinfo walk over 500 synthetic processes (with fd
//! links, as in /proc, and without, where every fdinfo is read), the no-GPU path, and
//! the NVML mapping on recorded readings (the NVML calls themselves need a GPU).

use ballast::gpu::{nvml, GpuSampler};
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    divan::main();
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpu").join(name)
}

/// Non-DRM fds per process, as a Plasma app holds them: sockets, pipes, eventfds, files.
const OTHER_FDS: u32 = 40;

fn amdgpu_client(id: usize) -> String {
    let mut text = format!(
        "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1090\ndrm-driver:\tamdgpu\ndrm-client-id:\t{id}\ndrm-pdev:\t0000:03:00.0\npasid:\t{}\n",
        32768 + id
    );
    for region in ["vram", "gtt", "cpu", "gds", "gws", "oa", "doorbell"] {
        let size = if region == "vram" { format!("{} KiB", 4096 + id * 4) } else { "0".into() };
        for stat in ["total", "shared", "resident", "purgeable"] {
            text.push_str(&format!("drm-{stat}-{region}:\t{size}\n"));
        }
    }
    text.push_str("drm-memory-vram:\t4096 KiB\ndrm-memory-gtt: \t0 KiB\ndrm-memory-cpu: \t0 KiB\n");
    text.push_str(&format!("drm-engine-gfx:\t{} ns\n", id * 1_000_003));
    text
}

/// `processes` processes, each with OTHER_FDS ordinary fds; every `drm_every`-th also has
/// one DRM client open on two fds.
fn synthetic_tree(processes: usize, drm_every: usize, fd_links: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let device = root.join("sys/class/drm/card0/device");
    fs::create_dir_all(&device).unwrap();
    fs::write(device.join("uevent"), "DRIVER=amdgpu\nPCI_ID=1002:73FF\nPCI_SLOT_NAME=0000:03:00.0\n").unwrap();
    fs::write(device.join("mem_info_vram_total"), "8573157376\n").unwrap();
    fs::write(device.join("mem_info_vram_used"), "1239416832\n").unwrap();
    fs::write(device.join("gpu_busy_percent"), "3\n").unwrap();
    for i in 0..processes {
        let process = root.join(format!("proc/{}", 1000 + i));
        fs::create_dir_all(process.join("fdinfo")).unwrap();
        fs::create_dir_all(process.join("fd")).unwrap();
        for fd in 0..OTHER_FDS {
            let (target, extra) = match fd % 4 {
                0 => (format!("socket:[{}]", 20000 + fd), String::new()),
                1 => (format!("pipe:[{}]", 30000 + fd), String::new()),
                2 => ("anon_inode:[eventfd]".to_string(), "eventfd-count:                0\neventfd-id: 7\n".into()),
                _ => ("/usr/lib/libQt6Core.so.6".to_string(), String::new()),
            };
            let text = format!("pos:\t0\nflags:\t02004002\nmnt_id:\t15\nino:\t{}\n{extra}", 1000 + fd);
            fs::write(process.join(format!("fdinfo/{fd}")), text).unwrap();
            if fd_links {
                std::os::unix::fs::symlink(target, process.join(format!("fd/{fd}"))).unwrap();
            }
        }
        if i % drm_every != 0 {
            continue;
        }
        let client = amdgpu_client(i);
        for fd in [OTHER_FDS, OTHER_FDS + 1] {
            fs::write(process.join(format!("fdinfo/{fd}")), &client).unwrap();
            if fd_links {
                std::os::unix::fs::symlink("/dev/dri/renderD128", process.join(format!("fd/{fd}"))).unwrap();
            }
        }
    }
    dir
}

fn sample(bencher: divan::Bencher, root: &Path) {
    let mut sampler = GpuSampler::new(root);
    bencher.bench_local(|| divan::black_box(sampler.sample()));
}

/// A fresh sampler per sample: every fd of every process is looked at (500 x 42 fds,
/// fd links present, so only the 2 DRM fdinfo files per process are read).
#[divan::bench(sample_count = 30)]
fn fdinfo_500_processes_full_scan(bencher: divan::Bencher) {
    let tree = synthetic_tree(500, 1, true);
    bencher.with_inputs(|| GpuSampler::new(tree.path())).bench_local_values(|mut sampler| sampler.sample());
}

/// The same without fd links: all 42 fdinfo files per process are read.
#[divan::bench(sample_count = 30)]
fn fdinfo_500_processes_full_scan_no_fd_links(bencher: divan::Bencher) {
    let tree = synthetic_tree(500, 1, false);
    bencher.with_inputs(|| GpuSampler::new(tree.path())).bench_local_values(|mut sampler| sampler.sample());
}

/// One sampler over many ticks, as the agent runs it: a full scan every 10th sample,
/// otherwise only the fds that held DRM clients are re-read.
#[divan::bench(sample_count = 100)]
fn fdinfo_500_processes_steady(bencher: divan::Bencher) {
    let tree = synthetic_tree(500, 1, true);
    sample(bencher, tree.path());
}

/// As above, with 1 process in 10 a GPU client (a desktop's mix), full scan then steady.
#[divan::bench(sample_count = 30)]
fn fdinfo_500_processes_desktop_mix_full_scan(bencher: divan::Bencher) {
    let tree = synthetic_tree(500, 10, true);
    bencher.with_inputs(|| GpuSampler::new(tree.path())).bench_local_values(|mut sampler| sampler.sample());
}

#[divan::bench(sample_count = 100)]
fn fdinfo_500_processes_desktop_mix_steady(bencher: divan::Bencher) {
    let tree = synthetic_tree(500, 10, true);
    sample(bencher, tree.path());
}

#[divan::bench]
fn fdinfo_amdgpu_fixture(bencher: divan::Bencher) {
    sample(bencher, &fixture("amdgpu"));
}

/// No GPU: the fixture tree without sys/class/drm.
#[divan::bench]
fn no_gpu_fixture(bencher: divan::Bencher) {
    sample(bencher, &fixture("none"));
}

/// No GPU, live: this machine (no libnvidia-ml, no DRM). NVML's failed load is kept
/// and retried every 5 minutes, so a tick costs the sysfs check only.
#[divan::bench]
fn no_gpu_live(bencher: divan::Bencher) {
    sample(bencher, Path::new("/"));
}

/// The pure half of an NVML sample: recorded readings to a report.
#[divan::bench]
fn nvml_report_from_gtx960_readings(bencher: divan::Bencher) {
    let text = fs::read_to_string(fixture("nvml/gtx960-580.json")).unwrap();
    let readings: nvml::NvmlReadings = serde_json::from_str(&text).unwrap();
    bencher.bench_local(|| divan::black_box(nvml::report(&readings)));
}

/// The first sample on a machine without NVIDIA: dlopen fails, the reason is built.
#[divan::bench(sample_count = 20)]
fn nvml_init_without_library(bencher: divan::Bencher) {
    bencher.bench_local(|| divan::black_box(nvml::init().is_err()));
}
