//! CPU time of one status refresh: ballast against the seed's `sysmon` refresh
//! (`free -h` plus `ps aux --sort=-%mem | head -10`). Prints figures; asserts nothing.

use ballast::budget::Budget;
use ballast::profile::Profile;
use ballast::render;
use ballast::sample::Sampler;
use std::process::{Command, Stdio};
use std::time::Instant;

/// User + system CPU seconds of this process or of its waited-for children.
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(who, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn per_refresh(runs: u32, who: libc::c_int, mut refresh: impl FnMut()) -> (f64, f64) {
    let cpu = cpu_seconds(who);
    let wall = Instant::now();
    for _ in 0..runs {
        refresh();
    }
    ((cpu_seconds(who) - cpu) / f64::from(runs), wall.elapsed().as_secs_f64() / f64::from(runs))
}

fn run_quietly(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).stdout(Stdio::null()).status().expect(program);
    assert!(status.success(), "{program} failed");
}

fn main() {
    ballast::sample::raise_open_file_limit();
    // `cargo test --benches` runs bench targets with --bench absent: keep that quick.
    let runs = if std::env::args().any(|a| a == "--bench") { 40 } else { 2 };
    let seed = per_refresh(runs, libc::RUSAGE_CHILDREN, || {
        run_quietly("sh", &["-c", "free -h; ps aux --sort=-%mem | head -10"]);
    });
    let one_shot = per_refresh(runs, libc::RUSAGE_CHILDREN, || {
        run_quietly(env!("CARGO_BIN_EXE_ballast"), &["status"]);
    });
    let mut sampler = Sampler::new();
    let mut budget = Budget::new(Profile::embedded());
    let watch = per_refresh(runs * 10, libc::RUSAGE_SELF, || {
        let sample = sampler.sample().expect("sample");
        std::hint::black_box(render::status_text(&budget.evaluate(&sample), false));
    });
    let processes = std::fs::read_dir("/proc")
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok()).count())
        .unwrap_or(0);
    println!("CPU per status refresh on this host ({processes} processes), mean of {runs} runs:");
    println!("  {:<58} {:>9} {:>9} {:>8}", "", "CPU ms", "wall ms", "vs seed");
    for (name, (cpu, wall)) in [
        ("seed: free -h; ps aux --sort=-%mem | head -10", seed),
        ("ballast status (new process, two samples 250 ms apart)", one_shot),
        ("ballast status --watch refresh (in process)", watch),
    ] {
        println!("  {name:<58} {:>9.3} {:>9.3} {:>7.1}x", cpu * 1e3, wall * 1e3, seed.0 / cpu.max(1e-9));
    }
}
