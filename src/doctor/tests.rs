use super::*;
use crate::budget::Budget;
use crate::sample::{CpuClock, MemInfo, MmStat, PressureSet, Sample, SwapArea, UnitSample, ZramDevice};

const GIB: u64 = 1 << 30;

fn sample(zram: Vec<ZramDevice>, swaps: Vec<SwapArea>, used: u64) -> Sample {
    Sample {
        meminfo: MemInfo { total: 16 * GIB, free: 16 * GIB - used, available: 16 * GIB - used, ..Default::default() },
        clock: CpuClock { total_ticks: 0, cpus: 8, ticks_per_second: 100 },
        pressure: PressureSet::default(),
        zram,
        swaps,
        cgroup: CgroupMode::V2,
        units: Vec::new(),
        processes: Vec::new(),
        problems: Vec::new(),
        gpu: crate::sample::GpuSnapshot::none("no GPU in this test"),
    }
}

fn facts(sample: &Sample) -> Facts {
    Facts {
        report: Budget::new(Profile::embedded()).evaluate(sample),
        units: sample.units.clone(),
        sysctls: Sysctls {
            swappiness: Some(10),
            vfs_cache_pressure: Some(50),
            dirty_ratio: Some(10),
            dirty_background_ratio: Some(5),
        },
        systemd_user: CommandOutcome::Ran { success: true, stdout: "running\n".into(), stderr: String::new() },
        pressure_trigger: Ok(()),
        oomd: CommandOutcome::Ran { success: true, stdout: "active\n".into(), stderr: String::new() },
        app_slice_oom: CommandOutcome::Ran { success: true, stdout: "kill\n".into(), stderr: String::new() },
        session_protection: Ok(protected_session(&[250 << 20, 250 << 20, 250 << 20, 250 << 20])),
        nvidia_version: Some("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05".into()),
        nvidia_modeset: Some(true),
        libva_driver_name: Some("nvidia".into()),
        nvd_backend: Some("direct".into()),
        vainfo: CommandOutcome::Ran { success: true, stdout: VAINFO_GTX960.into(), stderr: String::new() },
        vdpauinfo: CommandOutcome::Ran {
            success: true,
            stdout: "Information string: NVIDIA VDPAU Driver Shared Library".into(),
            stderr: String::new(),
        },
        baloo: Ok(BalooFacts {
            only_basic_indexing: Some(true),
            index_hidden_folders: Some(false),
            exclude_folders: Profile::embedded()
                .tune
                .baloo
                .exclude_folders
                .iter()
                .map(|f| f.replace("$HOME", "/home/u"))
                .collect(),
            home: Some("/home/u".into()),
        }),
        segfaults: Ok(Vec::new()),
    }
}

/// session.slice of user 1000 on a 16 GiB machine with recursive protection, and the
/// memory.low of user.slice, user-1000.slice, user@1000.service and session.slice.
fn protected_session(lows: &[u64; 4]) -> SessionProtection {
    let units = ["user.slice", "user-1000.slice", "user@1000.service", "session.slice"];
    let chain = (0..4)
        .map(|depth| crate::protect::Level {
            cgroup: format!("/{}", units[..=depth].join("/")),
            memory_low: lows[depth],
        })
        .collect();
    SessionProtection { chain, recursive: true, ram: 16 << 30 }
}

fn reference_zram() -> (Vec<ZramDevice>, Vec<SwapArea>) {
    let size = 12 * GIB;
    let device =
        ZramDevice { name: "zram0".into(), disksize: size, algorithm: Some("zstd".into()), mm: MmStat::default() };
    (vec![device], vec![SwapArea { path: "/dev/zram0".into(), size, used: 0, priority: 100 }])
}

fn verdicts(checks: &[Check]) -> Vec<(&str, Verdict)> {
    checks.iter().map(|c| (c.id.as_str(), c.verdict)).collect()
}

#[test]
fn the_reference_desktop_passes_everything() {
    let (zram, swaps) = reference_zram();
    let checks = checks(&Profile::embedded(), &facts(&sample(zram, swaps, 2 * GIB)));
    let failing: Vec<_> = checks.iter().filter(|c| c.verdict != Verdict::Pass).collect();
    assert!(failing.is_empty(), "{failing:#?}");
    assert_eq!(exit_code(&checks), 0);
}

#[test]
fn every_check_has_a_fix_when_it_warns_or_fails() {
    let mut f = facts(&sample(Vec::new(), Vec::new(), 5 * GIB));
    f.sysctls.swappiness = Some(60);
    f.systemd_user = CommandOutcome::Missing;
    f.pressure_trigger = Err("the kernel refused the trigger".into());
    f.oomd = CommandOutcome::TimedOut;
    f.session_protection = Ok(protected_session(&[0, 0, 0, 0]));
    f.nvidia_modeset = Some(false);
    f.vainfo = CommandOutcome::Missing;
    f.vdpauinfo =
        CommandOutcome::Ran { success: false, stdout: String::new(), stderr: "Error creating VDPAU device: 1".into() };
    f.baloo = Ok(BalooFacts::default());
    f.segfaults = Ok(vec!["foo[123]: segfault at 0 ip 0 sp 0 error 4 in libz.so".into()]);
    let checks = checks(&Profile::embedded(), &f);
    let passing: Vec<&str> = checks.iter().filter(|c| c.verdict == Verdict::Pass).map(|c| c.id.as_str()).collect();
    assert_eq!(passing, ["cgroup", "scope-limits", "vaapi-env"]);
    for c in &checks {
        if c.verdict >= Verdict::Warn {
            assert!(c.fix.is_some(), "{c:?}");
        }
    }
    let v = verdicts(&checks);
    assert!(v.contains(&("zram", Verdict::Fail)));
    assert!(v.contains(&("sysctl", Verdict::Warn)));
    assert!(v.contains(&("idle-memory", Verdict::Warn)));
    assert!(v.contains(&("systemd-user", Verdict::Fail)));
    assert_eq!(exit_code(&checks), 1);
    let sysctl = checks.iter().find(|c| c.id == "sysctl").unwrap();
    assert_eq!(sysctl.message, "vm.swappiness=60 (want 10)");
}

#[test]
fn zram_sized_wrong_is_a_warning() {
    let (mut zram, swaps) = reference_zram();
    zram[0].disksize = 4 * GIB;
    zram[0].algorithm = Some("lzo-rle".into());
    let check = &checks(&Profile::embedded(), &facts(&sample(zram, swaps, GIB)))[0];
    assert_eq!(check.verdict, Verdict::Warn);
    assert!(check.message.contains("size 4.0G") && check.message.contains("lzo-rle"), "{}", check.message);
}

#[test]
fn scope_limits_compare_with_the_catalog() {
    let profile = Profile::embedded();
    let named = |name: &str, high: Option<u64>, max: Option<u64>| UnitSample {
        path: format!("user.slice/user-1000.slice/user@1000.service/app.slice/{name}"),
        memory_high: high,
        memory_max: max,
        ..Default::default()
    };
    let unit = |high, max| named("app-ballast-discord-1.scope", high, max);
    let right = scope_limits(&profile, CgroupMode::V2, &[unit(Some(2 * GIB), Some(3 * GIB))]);
    assert_eq!(right.verdict, Verdict::Pass);
    let unlimited = scope_limits(&profile, CgroupMode::V2, &[unit(None, Some(3 * GIB))]);
    assert_eq!(unlimited.verdict, Verdict::Warn);
    assert!(unlimited.message.contains("high max"), "{}", unlimited.message);
    assert_eq!(scope_limits(&profile, CgroupMode::V1, &[]).verdict, Verdict::Skip);
    // An app Plasma started and the agent has not governed (yet, or ever).
    let plasma = scope_limits(&profile, CgroupMode::V2, &[named("app-discord@0b5a.service", None, None)]);
    assert_eq!(plasma.verdict, Verdict::Warn);
    assert!(plasma.message.contains("app-discord@0b5a.service: high max max"), "{}", plasma.message);
    assert!(plasma.fix.unwrap().contains("ballast agent"));
    // Two units of one app: its limit would hold per unit, not per app.
    let two = scope_limits(
        &profile,
        CgroupMode::V2,
        &[unit(Some(2 * GIB), Some(3 * GIB)), named("app-discord-4242.scope", None, None)],
    );
    assert!(two.message.contains("Discord runs in 2 units"), "{}", two.message);
}

#[test]
fn cgroup_modes() {
    assert_eq!(cgroup(CgroupMode::V2).verdict, Verdict::Pass);
    assert_eq!(cgroup(CgroupMode::V1).verdict, Verdict::Warn);
    assert_eq!(cgroup(CgroupMode::V2NoMemory).verdict, Verdict::Fail);
}

#[test]
fn missing_sources_are_skipped_not_failed() {
    let mut f = facts(&sample(reference_zram().0, reference_zram().1, GIB));
    f.nvidia_version = None;
    let denied = std::io::Error::from_raw_os_error(13);
    f.baloo = Err(Unread::Config(TuneError::Read { path: "/home/me/.config/baloofilerc".into(), source: denied }));
    f.segfaults = Err(Unread::NoJournald);
    let all = checks(&Profile::embedded(), &f);
    let v = verdicts(&all);
    assert!(v.contains(&("nvidia", Verdict::Skip)));
    assert!(v.contains(&("baloo", Verdict::Skip)));
    assert!(v.contains(&("segfaults", Verdict::Skip)));
    let baloo = all.iter().find(|c| c.id == "baloo").unwrap();
    assert_eq!(
        baloo.message,
        "Baloo settings not read: cannot read /home/me/.config/baloofilerc: Permission denied (os error 13)"
    );
}

/// vainfo on a GTX 960 with nvidia-vaapi-driver (Maxwell: no AV1 decode).
const VAINFO_GTX960: &str = "vainfo: VA-API version: 1.20 (libva 2.12.0)
vainfo: Driver version: VA-API NVDEC driver [direct backend]
vainfo: Supported profile and entrypoints
      VAProfileMPEG2Simple            :\tVAEntrypointVLD
      VAProfileMPEG2Main              :\tVAEntrypointVLD
      VAProfileVC1Simple              :\tVAEntrypointVLD
      VAProfileH264Main               :\tVAEntrypointVLD
      VAProfileH264High               :\tVAEntrypointVLD
      VAProfileHEVCMain               :\tVAEntrypointVLD
      VAProfileVP8Version0_3          :\tVAEntrypointVLD
      VAProfileVP9Profile0            :\tVAEntrypointVLD
";

#[test]
fn vainfo_names_the_hardware_decoders() {
    let (zram, swaps) = reference_zram();
    let all = checks(&Profile::embedded(), &facts(&sample(zram, swaps, GIB)));
    let vainfo = all.iter().find(|c| c.id == "vainfo").unwrap();
    assert_eq!(
        vainfo.message,
        "vainfo reports the nvidia driver; decodes in hardware: H.264, HEVC, VP8, VP9, MPEG-2, VC-1"
    );
}

#[test]
fn vaapi_environment_for_nvidia() {
    assert_eq!(vaapi_env(true, Some("nvidia"), Some("direct")).verdict, Verdict::Pass);
    let unset = vaapi_env(true, None, Some("egl"));
    assert_eq!((unset.verdict, unset.message.as_str()), (Verdict::Warn, "LIBVA_DRIVER_NAME=(unset), NVD_BACKEND=egl"));
    assert_eq!(vaapi_env(false, None, None).verdict, Verdict::Skip);
}

#[test]
fn polling_pressure_and_no_oomd_are_warnings_with_what_to_do() {
    let mut f = facts(&sample(reference_zram().0, reference_zram().1, GIB));
    f.pressure_trigger = Err("cannot open /proc/pressure/memory for a trigger: no such file".into());
    f.oomd = CommandOutcome::Ran { success: false, stdout: "inactive\n".into(), stderr: String::new() };
    let all = checks(&Profile::embedded(), &f);
    let of = |id: &str| all.iter().find(|c| c.id == id).unwrap();
    assert_eq!(of("pressure-triggers").verdict, Verdict::Warn);
    assert!(of("pressure-triggers").message.starts_with("the agent reads pressure each tick instead: cannot open"));
    assert!(of("pressure-triggers").fix.as_deref().is_some_and(|fix| fix.contains("Linux 6.4")));
    assert_eq!(of("systemd-oomd").verdict, Verdict::Warn);
    assert!(
        of("systemd-oomd").message.starts_with("systemd-oomd is not running (inactive)"),
        "{}",
        of("systemd-oomd").message
    );
    let reference = checks(&Profile::embedded(), &facts(&sample(reference_zram().0, reference_zram().1, GIB)));
    let ids = |checks: &[Check]| {
        checks.iter().filter(|c| c.verdict == Verdict::Pass).map(|c| c.id.clone()).collect::<Vec<_>>()
    };
    assert!(
        ids(&reference).contains(&"pressure-triggers".to_owned())
            && ids(&reference).contains(&"systemd-oomd".to_owned())
    );
}

#[test]
fn the_session_is_protected_only_when_every_level_grants_it() {
    let mut f = facts(&sample(reference_zram().0, reference_zram().1, GIB));
    let of = |f: &Facts| checks(&Profile::embedded(), f).into_iter().find(|c| c.id == "session-protection").unwrap();
    let pass = of(&f);
    assert_eq!(
        (pass.verdict, pass.message.as_str()),
        (Verdict::Pass, "session.slice keeps 250M from reclaim (memory.low from user.slice down)")
    );
    // What an unprivileged agent can set alone: the system's levels are missing.
    f.session_protection = Ok(protected_session(&[0, 0, 0, 250 << 20]));
    let short = of(&f);
    assert_eq!(short.verdict, Verdict::Warn);
    assert_eq!(short.message, "session.slice keeps 0 of 250M from reclaim: memory.low is short at user.slice");
    assert_eq!(
        short.fix.as_deref(),
        Some("NixOS: ballast.cgroups.enable = true (protectSession); elsewhere, as root: systemctl set-property user.slice MemoryLow=250M")
    );
    // The system grants it, the user manager has not set it (no agent running).
    f.session_protection = Ok(protected_session(&[250 << 20, 0, 0, 0]));
    let unset = of(&f);
    assert!(unset.message.ends_with("short at session.slice"), "{}", unset.message);
    assert!(unset
        .fix
        .as_deref()
        .is_some_and(|fix| fix.contains("systemctl --user set-property session.slice MemoryLow=250M")));
    f.session_protection = Err("cannot read /sys/fs/cgroup/user.slice/memory.low: no such file".into());
    assert_eq!(of(&f).verdict, Verdict::Skip);
}

#[test]
fn oomd_that_does_not_watch_the_app_slice_is_a_warning() {
    let mut f = facts(&sample(reference_zram().0, reference_zram().1, GIB));
    f.app_slice_oom = CommandOutcome::Ran { success: true, stdout: "auto\n".into(), stderr: String::new() };
    let all = checks(&Profile::embedded(), &f);
    let oomd = all.iter().find(|c| c.id == "systemd-oomd").unwrap();
    assert_eq!(oomd.verdict, Verdict::Warn);
    assert!(oomd.message.contains("app.slice is not in its care (ManagedOOMMemoryPressure=auto)"), "{}", oomd.message);
    assert!(oomd.fix.as_deref().is_some_and(|fix| fix.contains("app_slice_oomd = true")));
}
