//! Launch overhead: time from the command to the app's first instruction, for
//! `ballast launch --foreground`, the seed's `systemd-run --user --scope` wrapper, and a
//! plain exec, in one run under a real user manager. Prints figures; asserts nothing.

use testbed::harness::user_manager;
use testbed::harness::workload;

use std::process::Command;
use user_manager::UserManager;

/// Milliseconds from spawning `command` to the workload's `started` stamp.
fn time_to_first_instruction(mut command: Command) -> f64 {
    let before = workload::monotonic_ns();
    let out = command.output().expect("the launcher runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let started: u128 = text
        .lines()
        .find_map(|l| l.strip_prefix("started "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no stamp in {text:?} {}", String::from_utf8_lossy(&out.stderr)));
    (started - before) as f64 / 1e6
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    workload::run_if_requested();
    let runs = if std::env::args().any(|a| a == "--bench") { 30 } else { 2 };
    let manager = match UserManager::start() {
        Ok(manager) => manager,
        Err(why) => {
            println!("launch overhead: skipped, no real user manager here: {why}");
            return;
        }
    };
    let (ballast, profile) = workload::install(manager.home_dir(), "", "").unwrap();
    let workload = manager.home_dir().join("ballast-workload");
    let workload_args = ["--workload", "--stamp", "0"];
    let plain = || {
        let mut c = manager.command(&workload);
        c.args(workload_args);
        c
    };
    let seed = || {
        let mut c = manager.command("systemd-run");
        c.args(["--user", "--scope", "--quiet", "-p", "MemoryHigh=150M", "-p", "MemoryMax=200M", "-p", "CPUQuota=50%"])
            .arg(&workload)
            .args(workload_args);
        c
    };
    let ours = || {
        let mut c = manager.command(&ballast);
        c.arg("--profile").arg(&profile).args(["launch", "alloc", "--foreground", "--", "--stamp", "0"]);
        c
    };
    let mut results: Vec<(&str, Vec<f64>)> = vec![
        ("plain exec", vec![]),
        ("seed: systemd-run --user --scope", vec![]),
        ("ballast launch --foreground", vec![]),
    ];
    for _ in 0..runs {
        // Interleaved, so drift on a busy machine hits all three alike.
        results[0].1.push(time_to_first_instruction(plain()));
        results[1].1.push(time_to_first_instruction(seed()));
        results[2].1.push(time_to_first_instruction(ours()));
    }
    let seed_median = median(results[1].1.clone());
    println!("Launch overhead, command to the app's first instruction (median of {runs}):");
    for (name, values) in results {
        let m = median(values);
        println!("  {name:<36} {m:>8.2} ms  {:>5.2}x the seed's wrapper", m / seed_median);
    }
}
