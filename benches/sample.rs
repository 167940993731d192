//! Cost of one sampling tick: sample + classify + evaluate, on fixture trees, on
//! synthetic trees of growing process counts (the per-process path must grow linearly),
//! and live; next to sysinfo's process refresh, the crate alternative to our readers.

use ballast::budget::Budget;
use ballast::profile::Profile;
use ballast::render;
use ballast::sample::Sampler;
use std::path::{Path, PathBuf};

fn main() {
    ballast::sample::raise_open_file_limit();
    divan::main();
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// One tick as the agent runs it: the sampler and budget persist between ticks.
fn tick(bencher: divan::Bencher, root: PathBuf) {
    let mut sampler = Sampler::with_root(root);
    let mut budget = Budget::new(Profile::embedded());
    bencher.bench_local(|| {
        let sample = sampler.sample().expect("sample");
        divan::black_box(budget.evaluate(&sample));
    });
}

#[divan::bench]
fn plasma_v2_units(bencher: divan::Bencher) {
    tick(bencher, fixture("plasma-v2"));
}

#[divan::bench]
fn debian12_v1_processes(bencher: divan::Bencher) {
    tick(bencher, fixture("debian12-v1"));
}

#[divan::bench]
fn live_host(bencher: divan::Bencher) {
    tick(bencher, PathBuf::from("/"));
}

#[divan::bench]
fn live_host_rendered(bencher: divan::Bencher) {
    let mut sampler = Sampler::new();
    let mut budget = Budget::new(Profile::embedded());
    bencher.bench_local(|| {
        let sample = sampler.sample().expect("sample");
        divan::black_box(render::status_text(&budget.evaluate(&sample), false));
    });
}

/// The per-process path over N processes of a Plasma desktop on cgroup v1.
#[divan::bench(args = [100, 500, 1000, 2000])]
fn synthetic_processes(bencher: divan::Bencher, processes: usize) {
    let tree = synthetic_tree(processes);
    tick(bencher, tree.path().to_path_buf());
}

/// sysinfo refreshing every process (memory and CPU) on this host: what the crate
/// costs for the same job as `live_host`.
#[divan::bench]
fn live_host_sysinfo_processes(bencher: divan::Bencher) {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let mut system = System::new();
    let kind = ProcessRefreshKind::nothing().with_memory().with_cpu();
    bencher.bench_local(|| {
        system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        system.refresh_memory();
        divan::black_box(system.processes().len());
    });
}

const NAMES: [&str; 10] = [
    "Discord",
    "firefox",
    "Isolated Web Co",
    "kwin_x11",
    "plasmashell",
    "pipewire",
    "codium",
    "rust-analyzer",
    "bash",
    "kworker/0:1",
];

fn synthetic_tree(processes: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let fixture_root = fixture("debian12-v1");
    for file in
        ["proc/meminfo", "proc/stat", "proc/swaps", "proc/pressure/memory", "proc/pressure/cpu", "proc/pressure/io"]
    {
        write(file, &std::fs::read_to_string(fixture_root.join(file)).unwrap());
    }
    std::fs::create_dir_all(root.join("sys/fs/cgroup/memory")).unwrap();
    for i in 0..processes {
        let pid = 1000 + i;
        let name = NAMES[i % NAMES.len()];
        write(
            &format!("proc/{pid}/stat"),
            &format!("{pid} ({name}) S 1 {pid} {pid} 0 -1 4194560 100 0 0 0 {} 7 0 0 20 0 1 0 {} 300000000 {} 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n", i * 3, 5000 + i, 2000 + i),
        );
        write(&format!("proc/{pid}/cmdline"), &format!("/usr/bin/{name}\0--flag\0"));
        write(&format!("proc/{pid}/cgroup"), "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n0::/\n");
        write(
            &format!("proc/{pid}/smaps_rollup"),
            &format!("00400000-7ffd0000 ---p 00000000 00:00 0 [rollup]\nRss: {} kB\nPss: {} kB\nPss_Anon: 100 kB\nPss_File: 10 kB\nPss_Shmem: 0 kB\nSwap: 0 kB\nSwapPss: 0 kB\n", 8000 + i, 4000 + i),
        );
    }
    dir
}
