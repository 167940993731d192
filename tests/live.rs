//! The samplers on this machine's live /proc, checked against `free`.

use ballast::budget::Budget;
use ballast::profile::Profile;
use ballast::sample::{CgroupMode, ProcessMemory, Sampler};
use std::process::Command;

/// `free -b`'s Mem: line: total used free shared buff/cache available.
fn free_bytes() -> Vec<u64> {
    let out = Command::new("free").arg("-b").output().expect("free (procps) is installed");
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("Mem:")).expect("a Mem: line");
    line.split_whitespace().skip(1).map(|w| w.parse().unwrap()).collect()
}

#[test]
fn live_meminfo_agrees_with_free() {
    let before = free_bytes();
    let sample = Sampler::new().sample().expect("live /proc samples");
    let after = free_bytes();
    let m = &sample.meminfo;
    assert_eq!(m.total, before[0], "MemTotal as free reports it");
    // Memory moves between the calls: ours must lie within what free saw around it, give or take.
    let (low, high) = (before[1].min(after[1]), before[1].max(after[1]));
    let slack = 64 << 20;
    assert!(m.used() + slack >= low && m.used() <= high + slack, "used {} vs free {low}..{high}", m.used());
    assert!(m.available <= m.total && m.kernel() > 0 && m.cache() > 0);
}

#[test]
fn live_sample_sees_this_process() {
    let mut sampler = Sampler::new();
    let sample = sampler.sample().unwrap();
    assert!(sample.clock.cpus as usize >= 1 && sample.clock.total_ticks > 0);
    match sample.cgroup {
        CgroupMode::V2 => assert!(!sample.units.is_empty(), "a v2 host has units"),
        _ => {
            let me = std::process::id();
            let own = sample.processes.iter().find(|p| p.pid == me).expect("this test process is sampled");
            assert!(own.memory > 0);
            // Our own smaps_rollup is always readable.
            assert_eq!(own.memory_kind, ProcessMemory::Pss);
        }
    }
    let report = Budget::new(Profile::embedded()).evaluate(&sample);
    let categorised: u64 = report.categories.iter().filter(|c| !c.reclaimable).map(|c| c.used).sum();
    assert!(categorised + report.unclassified >= report.memory.used, "every used byte is in a line");
}

#[test]
fn live_sysctls_are_read() {
    let sysctls = Sampler::new().sysctls();
    let swappiness: u32 = std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap().trim().parse().unwrap();
    assert_eq!(sysctls.swappiness, Some(swappiness));
    assert!(sysctls.dirty_ratio.is_some() && sysctls.vfs_cache_pressure.is_some());
}

/// The kernel arms ballast's memory trigger (`some 150000 2000000`) on /proc/pressure/memory
/// and refuses a trigger whose stall is longer than its window, with the reason; the agent's
/// wake sources then say "triggers".
#[test]
fn the_kernel_arms_the_memory_trigger_and_refuses_a_bad_one() {
    use ballast::sample::trigger::{self, Stall, TriggerError, TriggerSpec, MEMORY_TRIGGER};
    let psi = std::path::Path::new("/proc/pressure/memory");
    if !psi.exists() {
        println!("skipped: this kernel has no PSI (/proc/pressure/memory is missing)");
        return;
    }
    trigger::arm(psi, MEMORY_TRIGGER).expect("the memory trigger is armed");
    let longer_than_window = TriggerSpec { stall: Stall::Some, threshold_us: 3_000_000, window_us: 2_000_000 };
    let error = trigger::arm(psi, longer_than_window).unwrap_err();
    assert!(matches!(error, TriggerError::Refused { .. }), "{error}");
    assert!(error.to_string().contains("multiple of 2 s"), "{error}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let watch =
        runtime.block_on(async { ballast::agent::wake::Wakers::start(std::path::Path::new("/"), None, None).report() });
    assert_eq!((watch.mode, watch.problem), (ballast::budget::WatchMode::Triggers, None));
}
