use super::*;
use crate::profile::{CpuGroup, Profile};
use crate::sample::{CgroupMode, MemInfo, MemoryEvents, MmStat, PressureSet, ProcessMemory, ProcessSample, UnitSample};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const USER: &str = "user.slice/user-1000.slice/user@1000.service";

fn meminfo(used: u64) -> MemInfo {
    MemInfo {
        total: 16 * GIB,
        free: 16 * GIB - used - 3 * GIB,
        available: 16 * GIB - used,
        buffers: 100 * MIB,
        cached: 2800 * MIB,
        shmem: 300 * MIB,
        s_reclaimable: 172 * MIB,
        s_unreclaim: 100 * MIB,
        kernel_stack: 20 * MIB,
        page_tables: 60 * MIB,
        percpu: 8 * MIB,
        vmalloc_used: 40 * MIB,
        ..Default::default()
    }
}

fn unit(path: &str, memory: u64, cpu_usec: u64) -> UnitSample {
    UnitSample { path: path.into(), memory, cpu_usec, ..Default::default() }
}

fn sample(used: u64, units: Vec<UnitSample>, total_ticks: u64) -> Sample {
    Sample {
        meminfo: meminfo(used),
        clock: CpuClock { total_ticks, cpus: 8, ticks_per_second: 100 },
        pressure: PressureSet::default(),
        zram: Vec::new(),
        swaps: Vec::new(),
        cgroup: CgroupMode::V2,
        units,
        processes: Vec::new(),
        problems: Vec::new(),
        gpu: crate::sample::GpuSnapshot::none("no GPU in this test"),
    }
}

fn idle_units() -> Vec<UnitSample> {
    vec![
        unit("system.slice/dbus.service", 5 * MIB, 0),
        unit(&format!("{USER}/session.slice/plasma-kwin_x11.service"), 180 * MIB, 0),
        unit(&format!("{USER}/session.slice/plasma-plasmashell.service"), 350 * MIB, 0),
        unit(&format!("{USER}/session.slice/pipewire.service"), 20 * MIB, 0),
    ]
}

fn line<'a>(report: &'a Report, id: &str) -> &'a CategoryLine {
    report.categories.iter().find(|c| c.id == id).unwrap()
}

#[test]
fn categories_sum_units_and_meminfo() {
    let mut budget = Budget::new(Profile::embedded());
    let report = budget.evaluate(&sample(1500 * MIB, idle_units(), 0));
    assert_eq!(report.state, LoadState::Idle);
    assert_eq!(line(&report, "plasma").used, 530 * MIB);
    assert_eq!(line(&report, "plasma").members, 2);
    assert_eq!(line(&report, "services").used, 5 * MIB);
    assert_eq!(line(&report, "audio").used, 20 * MIB);
    assert_eq!(line(&report, "kernel").used, (100 + 20 + 60 + 8 + 40) * MIB);
    assert_eq!(line(&report, "cache").used, (100 + 2800 - 300 + 172) * MIB);
    assert!(line(&report, "cache").reclaimable);
    assert_eq!(report.memory.used, 1500 * MIB);
    assert_eq!(report.unclassified, 1500 * MIB - (530 + 5 + 20 + 228) * MIB);
    // Plasma at 530M is over its 500M idle target.
    assert_eq!(line(&report, "plasma").status, Status::Breach);
    assert_eq!(report.breaches.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), ["plasma"]);
    assert!(report.cpu.is_none(), "CPU use needs two samples");
    assert_eq!(report.gpu.report.reason.as_deref(), Some("no GPU in this test"));
    assert!(report.gpu.vram.is_none(), "no device, no VRAM line");
}

#[test]
fn workload_state_switches_targets() {
    let mut budget = Budget::new(Profile::embedded());
    let mut units = idle_units();
    units.push(UnitSample {
        events: Some(MemoryEvents { high: 4, oom_kill: 1, ..Default::default() }),
        ..unit(&format!("{USER}/app.slice/app-ballast-discord-3f9a1c.scope"), 1100 * MIB, 0)
    });
    units.push(unit(&format!("{USER}/app.slice/app-ballast-discord-77aa00.scope"), 100 * MIB, 0));
    let report = budget.evaluate(&sample(4 * GIB, units, 0));
    assert_eq!(report.state, LoadState::Workload);
    let electron = line(&report, "electron");
    assert_eq!(electron.used, 1200 * MIB);
    assert_eq!(electron.limit, 4 * GIB);
    assert_eq!(electron.apps.len(), 1);
    let discord = &electron.apps[0];
    assert_eq!((discord.id.as_str(), discord.used, discord.members), ("discord", 1200 * MIB, 2));
    assert_eq!((discord.memory_high, discord.memory_max), (2 * GIB, 3 * GIB));
    assert_eq!(discord.events.unwrap().oom_kill, 1);
    // Plasma's 530M is inside its 800M workload limit.
    assert_eq!(line(&report, "plasma").status, Status::Ok);
    assert_eq!(report.total.limit, 10 * GIB);
}

#[test]
fn near_is_reported_before_breach() {
    let mut budget = Budget::new(Profile::embedded());
    let units = vec![unit(&format!("{USER}/session.slice/plasma-plasmashell.service"), 460 * MIB, 0)];
    let report = budget.evaluate(&sample(GIB, units, 0));
    assert_eq!(line(&report, "plasma").status, Status::Near);
}

#[test]
fn total_breach_holds_until_calm() {
    let mut budget = Budget::new(Profile::embedded());
    let statuses: Vec<Status> = [3600, 3400, 3300, 3300, 3300]
        .iter()
        .map(|mib| budget.evaluate(&sample(mib * MIB, Vec::new(), 0)).total.status)
        .collect();
    // 3.5G idle target, 5% margin (below 3404.8M is calm), 3 calm ticks to leave: the
    // breach ends on the third calm tick; it is still near the target then.
    assert_eq!(statuses, [Status::Breach, Status::Breach, Status::Breach, Status::Near, Status::Near]);
}

#[test]
fn cpu_split_from_unit_counters() {
    let mut budget = Budget::new(Profile::embedded());
    let kwin = format!("{USER}/session.slice/plasma-kwin_x11.service");
    let firefox = format!("{USER}/app.slice/app-firefox-1.scope");
    let first = vec![unit(&kwin, MIB, 1_000_000), unit(&firefox, MIB, 5_000_000)];
    budget.evaluate(&sample(GIB, first, 10_000));
    // 2 s later on 8 CPUs = 1600 ticks; kwin used 0.5 s, firefox 3 s of CPU.
    let second = vec![unit(&kwin, MIB, 1_500_000), unit(&firefox, MIB, 8_000_000)];
    let report = budget.evaluate(&sample(GIB, second, 11_600));
    let cpu = report.cpu.clone().unwrap();
    assert!((cpu.interval_seconds - 2.0).abs() < 1e-9);
    assert!((cpu.os.used - 0.25).abs() < 1e-9, "{cpu:?}");
    assert!((cpu.workload.used - 1.5).abs() < 1e-9, "{cpu:?}");
    assert_eq!((cpu.os.budget, cpu.workload.budget), (4.0, 4.0));
    assert!((line(&report, "browser").cpu.unwrap() - 1.5).abs() < 1e-9);
}

#[test]
fn per_process_path_on_cgroup_v1() {
    let mut budget = Budget::new(Profile::embedded());
    let mut s = sample(2 * GIB, Vec::new(), 0);
    s.cgroup = CgroupMode::V1;
    let process = |pid, comm: &str, memory| ProcessSample {
        pid,
        comm: comm.into(),
        argv0: Some(comm.into()),
        cgroup: Some("/".into()),
        memory,
        memory_kind: ProcessMemory::Pss,
        cpu_ticks: 0,
    };
    s.processes =
        vec![process(10, "Discord", 300 * MIB), process(11, "Discord", 200 * MIB), process(12, "kwin_x11", 150 * MIB)];
    let report = budget.evaluate(&s);
    assert_eq!(report.sources.attribution, Attribution::Processes);
    assert_eq!(line(&report, "electron").apps[0].used, 500 * MIB);
    assert_eq!(line(&report, "electron").apps[0].members, 2);
    assert_eq!(line(&report, "plasma").used, 150 * MIB);
}

#[test]
fn zram_ratio_and_fill() {
    let device = |name: &str, disksize, orig, compr| ZramDevice {
        name: name.into(),
        disksize,
        algorithm: Some("zstd".into()),
        mm: MmStat { orig_data: orig, compr_data: compr, mem_used: compr + MIB },
    };
    let swap = SwapArea { path: "/dev/zram0".into(), size: 12 * GIB, used: GIB, priority: 100 };
    let report = zram_report(&[device("zram0", 12 * GIB, 1200 * MIB, 300 * MIB)], &[swap]);
    assert_eq!(report.state, ZramState::Active);
    assert_eq!(report.ratio, Some(4.0));
    assert_eq!(report.swap_priority, Some(100));
    assert!((report.fill.unwrap() - 1200.0 / (12.0 * 1024.0)).abs() < 1e-9);

    let unused = zram_report(&[device("zram0", 0, 0, 0)], &[]);
    assert_eq!((unused.state, unused.ratio, unused.fill), (ZramState::Unused, None, None));
    assert_eq!(zram_report(&[], &[]).state, ZramState::Absent);
}

#[test]
fn a_little_workload_at_idle_is_no_breach() {
    let mut budget = Budget::new(Profile::embedded());
    let units = vec![unit(&format!("{USER}/app.slice/app-org.kde.konsole-1.scope"), 27 * MIB, 0)];
    let report = budget.evaluate(&sample(GIB, units, 0));
    assert_eq!(report.state, LoadState::Idle);
    let devtools = line(&report, "devtools");
    assert_eq!((devtools.limit, devtools.status), (256 * MIB, Status::Ok));
    assert!(report.breaches.is_empty(), "{:?}", report.breaches);
}

#[test]
fn gpu_memory_goes_to_the_owners_category_and_vram_has_a_budget() {
    use crate::gpu::{GpuDevice, GpuProcess, GpuReport};
    use crate::sample::{GpuOwner, GpuSnapshot};
    let gpu = |used: u64| GpuSnapshot {
        report: GpuReport {
            devices: vec![GpuDevice {
                name: Some("NVIDIA GeForce GTX 960".into()),
                memory_used: Some(used),
                memory_total: Some(4 * GIB),
                ..Default::default()
            }],
            processes: vec![GpuProcess { pid: 4242, memory: Some(500 * MIB), ..Default::default() }],
            ..GpuReport::none("")
        },
        owners: vec![GpuOwner {
            pid: 4242,
            cgroup: Some(format!("/{USER}/app.slice/app-ballast-discord-1.scope")),
            comm: Some("Discord".into()),
        }],
    };
    let units = vec![unit(&format!("{USER}/app.slice/app-ballast-discord-1.scope"), 900 * MIB, 0)];
    let mut budget = Budget::new(Profile::embedded());
    let mut s = sample(GIB, units.clone(), 0);
    s.gpu = gpu(3 * GIB);
    let report = budget.evaluate(&s);
    let electron = line(&report, "electron");
    assert_eq!(electron.gpu_memory, Some(500 * MIB));
    assert_eq!(electron.apps[0].gpu_memory, Some(500 * MIB));
    let vram = report.gpu.vram.clone().unwrap();
    assert_eq!((vram.used, vram.total, vram.budget, vram.status), (3 * GIB, Some(4 * GIB), 4 * GIB, Status::Ok));

    let mut s = sample(GIB, units, 0);
    s.gpu = gpu(4 * GIB + MIB);
    let report = budget.evaluate(&s);
    assert_eq!(report.gpu.vram.unwrap().status, Status::Breach);
    assert!(report.breaches.iter().any(|b| b.id == BreachId::Vram));
}

/// The phases of `evaluate`, each on its own.
mod phases {
    use super::*;
    use crate::budget::attribute::{Attribution, CpuMeter};
    use crate::budget::judge::{self, Judge};
    use crate::profile::CategorySource;

    fn clock(total_ticks: u64) -> CpuClock {
        CpuClock { total_ticks, cpus: 4, ticks_per_second: 100 }
    }

    #[test]
    fn cpu_meter_rates_counters_against_the_previous_sample() {
        let mut first = CpuMeter::new(None, clock(0));
        assert_eq!(first.rate("a".into(), 10.0), None, "no rate from one sample");
        let previous = first.counters;
        // 800 ticks over 4 CPUs at 100 Hz: 2 s of wall time.
        let mut second = CpuMeter::new(Some(&previous), clock(800));
        assert_eq!(second.interval, Some(2.0));
        assert_eq!(second.rate("a".into(), 13.0), Some(1.5), "3 s of CPU in 2 s");
        assert_eq!(second.rate("new".into(), 5.0), Some(0.0), "a key first seen counts from now");
        let previous = second.counters;
        let mut third = CpuMeter::new(Some(&previous), clock(1200));
        assert_eq!(third.rate("a".into(), 1.0), Some(0.0), "a counter that went back is a new unit");
    }

    #[test]
    fn the_load_state_turns_on_a_workload_category_past_the_threshold() {
        let profile = Profile::embedded();
        let mut lines = Attribution::new(&profile).finish(&MemInfo::default());
        let workload = lines.iter().position(|c| c.cpu_group == CpuGroup::Workload).unwrap();
        let os = lines.iter().position(|c| c.cpu_group == CpuGroup::Os).unwrap();
        lines[os].used = 10 * GIB;
        lines[workload].used = GIB;
        assert_eq!(judge::load_state(&lines, GIB), LoadState::Idle, "at the threshold, and the OS side never counts");
        lines[workload].used = GIB + 1;
        assert_eq!(judge::load_state(&lines, GIB), LoadState::Workload);
    }

    #[test]
    fn attribution_sums_owners_and_takes_kernel_and_cache_from_meminfo() {
        let profile = Profile::embedded();
        let app = 0;
        let category = profile.categories.iter().position(|c| c.id == profile.apps[app].category).unwrap();
        let mut lines = Attribution::new(&profile);
        let events = MemoryEvents { high: 2, oom_kill: 1, ..Default::default() };
        lines.add(Owner::App { app, category }, 100 * MIB, Some(0.5), Some(events));
        lines.add(Owner::App { app, category }, 50 * MIB, Some(0.25), Some(events));
        lines.add(Owner::Unclassified, GIB, Some(1.0), None);
        lines.add_gpu_memory(Owner::App { app, category }, 30 * MIB);
        let meminfo = meminfo(4 * GIB);
        let lines = lines.finish(&meminfo);
        let line = &lines[category];
        assert_eq!((line.used, line.members, line.cpu, line.gpu_memory), (150 * MIB, 2, Some(0.75), Some(30 * MIB)));
        let app_line = &line.apps[0];
        assert_eq!(
            (app_line.id.as_str(), app_line.used, app_line.members),
            (profile.apps[app].id.as_str(), 150 * MIB, 2)
        );
        assert_eq!(app_line.events, Some(MemoryEvents { high: 4, oom_kill: 2, ..Default::default() }));
        for (line, category) in lines.iter().zip(&profile.categories) {
            match category.source {
                CategorySource::Kernel => assert_eq!(line.used, meminfo.kernel()),
                CategorySource::Cache => assert_eq!(line.used, meminfo.cache()),
                CategorySource::Match => {}
            }
        }
    }

    #[test]
    fn the_judge_records_breaches_in_order_and_skips_cache() {
        let profile = Profile::embedded();
        let mut tracker = BreachTracker::default();
        let mut lines = Attribution::new(&profile).finish(&meminfo(GIB));
        let workload = lines.iter().position(|c| c.cpu_group == CpuGroup::Workload && !c.reclaimable).unwrap();
        let cache = lines.iter().position(|c| c.reclaimable).unwrap();
        lines[workload].used = lines[workload].idle.max(GIB) + 1;
        let mut judge = Judge::new(&profile, &mut tracker);
        let total = judge.total(&profile, LoadState::Idle, profile.budget.idle_total.0 + 1);
        judge.categories(&mut lines, LoadState::Idle, GIB);
        assert_eq!(total.status, Status::Breach);
        assert_eq!(
            lines[workload].limit,
            lines[workload].idle.max(GIB),
            "idle: a workload category may reach the threshold"
        );
        assert_eq!(lines[workload].status, Status::Breach);
        assert_eq!(lines[cache].status, Status::Ok, "cache is never judged, however large");
        let ids: Vec<&str> = judge.breaches.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["total", lines[workload].id.as_str()]);
        let near = (lines[workload].limit as f64 * profile.budget.near_fraction) as u64 + 1;
        assert_eq!(judge.status(BreachId::Category("near".into()), near, lines[workload].limit), Status::Near);
        assert_eq!(judge.vram(&profile, &[]), None, "no device, no VRAM line");
    }

    #[test]
    fn the_cpu_split_sums_each_side_and_never_prints_minus_zero() {
        let profile = Profile::embedded();
        let mut lines = Attribution::new(&profile).finish(&MemInfo::default());
        assert_eq!(judge::cpu_split(&lines, &profile, None), None, "no split from one sample");
        let os = lines.iter().position(|c| c.cpu_group == CpuGroup::Os).unwrap();
        lines[os].cpu = Some(1.25);
        let split = judge::cpu_split(&lines, &profile, Some(2.0)).unwrap();
        assert_eq!((split.os.used, split.interval_seconds), (1.25, 2.0));
        assert!(split.workload.used.is_sign_positive() && split.workload.used == 0.0);
        let threads = f64::from(profile.machine.threads_per_core);
        assert_eq!(split.os.budget, f64::from(profile.machine.os_cores) * threads);
    }
}

#[test]
fn breach_ids_are_plain_strings_in_the_json() {
    for (id, json) in [
        (BreachId::Total, "\"total\""),
        (BreachId::Vram, "\"vram\""),
        (BreachId::Category("plasma".into()), "\"plasma\""),
    ] {
        assert_eq!(serde_json::to_string(&id).unwrap(), json);
        assert_eq!(serde_json::from_str::<BreachId>(json).unwrap(), id);
    }
    let report = Budget::new(Profile::embedded()).evaluate(&sample(GIB, Vec::new(), 0));
    assert_eq!(report.breach_name(&BreachId::Total), "Total memory");
    assert_eq!(report.breach_name(&BreachId::Category("plasma".into())), "Plasma desktop");
    assert_eq!(report.breach_name(&BreachId::Category("gone".into())), "gone");
}
