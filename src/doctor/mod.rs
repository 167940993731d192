//! `ballast doctor`: the validation checklist. `probe` gathers facts (I/O); `checks`
//! turns facts into PASS/WARN/FAIL lines with fixes (pure).

mod probe;

pub use probe::{gather, run, CommandOutcome};

use crate::budget::{LoadState, Report, ZramState};
use crate::profile::Profile;
use crate::render::human;
use crate::sample::{CgroupMode, Sysctls, UnitSample};
use crate::tune::TuneError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a check came out, ordered from best (Pass) to worst (Fail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Nothing to fix.
    Pass,
    /// Not checked: it does not apply here, or a fact it needs could not be read.
    Skip,
    /// A problem, but not a failure: `ballast doctor` still exits 0.
    Warn,
    /// A requirement is not met: `ballast doctor` exits 1.
    Fail,
}

impl Verdict {
    /// As `doctor` prints it and the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Skip => "SKIP",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One line of the doctor's checklist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The check's name ("zram", "scope-limits", ...).
    pub id: String,
    /// How it came out.
    pub verdict: Verdict,
    /// What was found, in one line.
    pub message: String,
    /// What to do about it; None when there is nothing to do.
    pub fix: Option<String>,
}

/// Why the doctor could not read a fact; the checks that need it are skipped with this reason.
#[derive(Debug, Error)]
pub enum Unread {
    /// A KDE config file (baloofilerc) could not be read.
    #[error(transparent)]
    Config(#[from] TuneError),
    /// No /run/systemd/journal: journald does not run here.
    #[error("no journald on this system")]
    NoJournald,
    /// The named tool is not installed.
    #[error("{0} is not installed")]
    Missing(&'static str),
    /// The named tool did not answer within 5 seconds.
    #[error("{0} did not answer in time")]
    TimedOut(&'static str),
}

/// Everything the checks look at, gathered once by `probe::gather`.
#[derive(Debug)]
pub struct Facts {
    /// The budget report of the sample.
    pub report: Report,
    /// The sample's leaf systemd units (scope-limits reads their memory limits).
    pub units: Vec<UnitSample>,
    /// The memory sysctls as read; None where unreadable.
    pub sysctls: Sysctls,
    /// `systemctl --user show -p SystemState --value`: whether the user manager is usable.
    pub systemd_user: CommandOutcome,
    /// Arming the agent's PSI trigger on /proc/pressure/memory: Err says why the kernel
    /// refused (the agent then reads pressure each tick).
    pub pressure_trigger: Result<(), String>,
    /// `systemctl is-active systemd-oomd`: whether systemd-oomd runs.
    pub oomd: CommandOutcome,
    /// `systemctl --user show -p ManagedOOMMemoryPressure --value` of the launch slice.
    pub app_slice_oom: CommandOutcome,
    /// The memory.low of session.slice and of each cgroup above it; Err says why it was not read.
    pub session_protection: Result<SessionProtection, String>,
    /// First line of /proc/driver/nvidia/version; None when no NVIDIA driver is loaded.
    pub nvidia_version: Option<String>,
    /// nvidia_drm's modeset parameter; None when the module is not loaded.
    pub nvidia_modeset: Option<bool>,
    /// LIBVA_DRIVER_NAME and NVD_BACKEND of this session.
    pub libva_driver_name: Option<String>,
    /// NVD_BACKEND of this session (nvidia-vaapi-driver's backend).
    pub nvd_backend: Option<String>,
    /// What `vainfo` said (VA-API driver and decode profiles).
    pub vainfo: CommandOutcome,
    /// What `vdpauinfo` said.
    pub vdpauinfo: CommandOutcome,
    /// baloofilerc values as KDE reads them: basic-only, hidden folders, excludes.
    pub baloo: Result<BalooFacts, Unread>,
    /// Kernel messages of this boot that mention a segfault; Err says why none were read.
    pub segfaults: Result<Vec<String>, Unread>,
}

/// What protects session.slice from reclaim (see crate::protect).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionProtection {
    /// memory.low from the root's child down to session.slice.
    pub chain: Vec<crate::protect::Level>,
    /// The cgroup2 mount has `memory_recursiveprot`.
    pub recursive: bool,
    /// MemTotal, bytes (the protection is capped at a tenth of it).
    pub ram: u64,
}

/// Baloo's indexing settings from baloofilerc `[General]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BalooFacts {
    /// `only basic indexing`; None when unset or not true/false.
    pub only_basic_indexing: Option<bool>,
    /// `index hidden folders`; None when unset or not true/false (the check takes it as false).
    pub index_hidden_folders: Option<bool>,
    /// As kreadconfig5/6 print them: `$HOME` already expanded.
    pub exclude_folders: Vec<String>,
    /// The home directory `$HOME` stands for in the profile's excludes; None: not expanded.
    pub home: Option<String>,
}

fn check(id: &str, verdict: Verdict, message: impl Into<String>, fix: Option<&str>) -> Check {
    Check { id: id.to_owned(), verdict, message: message.into(), fix: fix.map(str::to_owned) }
}

/// Runs every check of `facts` against `profile`, in order: zram, sysctl, idle memory, cgroup,
/// systemd user manager, pressure triggers, systemd-oomd, session protection, scope limits, NVIDIA, VA-API environment, vainfo, vdpauinfo, Baloo, segfaults.
pub fn checks(profile: &Profile, facts: &Facts) -> Vec<Check> {
    vec![
        zram(profile, &facts.report),
        sysctls(profile, &facts.sysctls),
        idle_memory(&facts.report),
        cgroup(facts.report.sources.cgroup),
        systemd_user(&facts.systemd_user),
        pressure_trigger(&facts.pressure_trigger),
        oomd(&facts.oomd, &facts.app_slice_oom, &profile.launch.slice),
        session_protection(profile, &facts.session_protection),
        scope_limits(profile, facts.report.sources.cgroup, &facts.units),
        nvidia(&facts.nvidia_version, facts.nvidia_modeset),
        vaapi_env(facts.nvidia_version.is_some(), facts.libva_driver_name.as_deref(), facts.nvd_backend.as_deref()),
        video_tool(
            "vainfo",
            &facts.vainfo,
            "libva-utils (Debian) / libva-utils (Nix)",
            // nvidia-vaapi-driver calls itself "VA-API NVDEC driver".
            &["nvidia", "nvdec"],
            "LIBVA_DRIVER_NAME=nvidia and NVD_BACKEND=direct with nvidia-vaapi-driver installed",
        ),
        video_tool(
            "vdpauinfo",
            &facts.vdpauinfo,
            "vdpauinfo",
            &["nvidia"],
            "VDPAU_DRIVER=nvidia (or the VA-API bridge)",
        ),
        baloo(profile, &facts.baloo),
        segfaults(&facts.segfaults),
    ]
}

fn zram(profile: &Profile, report: &Report) -> Check {
    let z = &report.zram;
    const FIX: &str = "enable zram swap: NixOS `zramSwap = { enable = true; algorithm = \"zstd\"; memoryPercent = 75; priority = 100; }` (or ballast's nixosModules.memory); Debian: apt install systemd-zram-generator and set zram-size = ram * 0.75, compression-algorithm = zstd in /etc/systemd/zram-generator.conf";
    if z.state != ZramState::Active {
        let found =
            if z.state == ZramState::Unused { "zram devices exist but none is an active swap" } else { "no zram swap" };
        return check("zram", Verdict::Fail, found, Some(FIX));
    }
    let want_size = report.memory.total as f64 * profile.zram.fraction;
    let mut problems = Vec::new();
    if (z.disksize as f64 - want_size).abs() > want_size * 0.1 {
        problems.push(format!(
            "size {} (want {:.0}% of RAM = {})",
            human(z.disksize),
            profile.zram.fraction * 100.0,
            human(want_size as u64)
        ));
    }
    let algorithms: Vec<&str> = z.devices.iter().filter_map(|d| d.algorithm.as_deref()).collect();
    if !algorithms.contains(&profile.zram.algorithm.as_str()) {
        problems.push(format!("algorithm {} (want {})", algorithms.join(","), profile.zram.algorithm));
    }
    if z.swap_priority != Some(profile.zram.priority) {
        problems.push(format!("priority {:?} (want {})", z.swap_priority, profile.zram.priority));
    }
    if problems.is_empty() {
        check(
            "zram",
            Verdict::Pass,
            format!("zram swap {} {}, priority {}", human(z.disksize), algorithms.join(","), profile.zram.priority),
            None,
        )
    } else {
        check("zram", Verdict::Warn, format!("zram swap active but {}", problems.join("; ")), Some(FIX))
    }
}

fn sysctls(profile: &Profile, found: &Sysctls) -> Check {
    let t = &profile.sysctl;
    let wanted = [
        ("vm.swappiness", found.swappiness, t.swappiness),
        ("vm.vfs_cache_pressure", found.vfs_cache_pressure, t.vfs_cache_pressure),
        ("vm.dirty_ratio", found.dirty_ratio, t.dirty_ratio),
        ("vm.dirty_background_ratio", found.dirty_background_ratio, t.dirty_background_ratio),
    ];
    let off: Vec<String> = wanted
        .iter()
        .filter(|(_, have, want)| *have != Some(*want))
        .map(|(name, have, want)| {
            format!("{name}={} (want {want})", have.map_or("unreadable".into(), |v| v.to_string()))
        })
        .collect();
    if off.is_empty() {
        return check(
            "sysctl",
            Verdict::Pass,
            "swappiness, vfs_cache_pressure and dirty ratios as the profile wants",
            None,
        );
    }
    let fix = wanted.iter().map(|(name, _, want)| format!("{name}={want}")).collect::<Vec<_>>().join(" ");
    check(
        "sysctl",
        Verdict::Warn,
        off.join(", "),
        Some(&format!("sudo sysctl -w {fix} (persist: boot.kernel.sysctl on NixOS, /etc/sysctl.d/ on Debian)")),
    )
}

fn idle_memory(report: &Report) -> Check {
    let t = &report.total;
    match report.state {
        LoadState::Workload => check(
            "idle-memory",
            Verdict::Skip,
            format!("a workload is running ({} used); the idle target is checked when idle", human(t.used)),
            None,
        ),
        LoadState::Idle if t.used <= t.idle => check(
            "idle-memory",
            Verdict::Pass,
            format!("{} used, under the {} idle target", human(t.used), human(t.idle)),
            None,
        ),
        LoadState::Idle => {
            let worst = report
                .categories
                .iter()
                .filter(|c| !c.reclaimable && c.used > c.idle)
                .map(|c| format!("{} {} (target {})", c.name, human(c.used), human(c.idle)))
                .collect::<Vec<_>>();
            check(
                "idle-memory",
                Verdict::Warn,
                format!(
                    "{} used at idle, over the {} target; over: {}",
                    human(t.used),
                    human(t.idle),
                    if worst.is_empty() { "no single category".into() } else { worst.join(", ") }
                ),
                Some("see `ballast status` for what uses it; `ballast tune` trims KWin and Baloo"),
            )
        }
    }
}

fn cgroup(mode: CgroupMode) -> Check {
    match mode {
        CgroupMode::V2 => check("cgroup", Verdict::Pass, "cgroup v2 with the memory controller", None),
        CgroupMode::V1 => check("cgroup", Verdict::Warn, "cgroup v1 (legacy or hybrid): memory is counted per process and MemoryHigh is not enforced", Some("boot with the unified hierarchy (systemd.unified_cgroup_hierarchy=1; the default on NixOS and Debian 11+)")),
        CgroupMode::V2NoMemory => check("cgroup", Verdict::Fail, "cgroup v2 without the memory controller: scope limits cannot apply", Some("enable the memory controller (remove cgroup_disable=memory from the kernel command line)")),
        CgroupMode::None => check("cgroup", Verdict::Fail, "no cgroup filesystem at /sys/fs/cgroup", Some("mount cgroup2 at /sys/fs/cgroup (systemd does this at boot)")),
    }
}

fn systemd_user(outcome: &CommandOutcome) -> Check {
    const FIX: &str = "log in to a systemd session (loginctl enable-linger $USER for a headless one) so `systemctl --user` reaches the user manager";
    match outcome {
        CommandOutcome::Ran { success: true, stdout, .. } if matches!(stdout.trim(), "running" | "degraded") => {
            check("systemd-user", Verdict::Pass, format!("user manager reachable ({})", stdout.trim()), None)
        }
        CommandOutcome::Ran { stdout, stderr, .. } => check(
            "systemd-user",
            Verdict::Fail,
            format!("user manager not usable: {}", first_line(stdout, stderr)),
            Some(FIX),
        ),
        CommandOutcome::Missing => {
            check("systemd-user", Verdict::Fail, "systemctl is not installed: no systemd", Some(FIX))
        }
        CommandOutcome::TimedOut => {
            check("systemd-user", Verdict::Fail, "systemctl --user did not answer in time", Some(FIX))
        }
    }
}

/// Whether the kernel pushes memory pressure to the agent (a PSI trigger), or the agent
/// reads it each tick.
fn pressure_trigger(armed: &Result<(), String>) -> Check {
    const FIX: &str = "a kernel with PSI, Linux 6.4 or later for unprivileged triggers (NixOS 25.05 and later ship 6.12; Debian 12: bookworm-backports' linux-image-amd64), without psi=0 on its command line";
    match armed {
        Ok(()) => check(
            "pressure-triggers",
            Verdict::Pass,
            format!(
                "the kernel pushes memory pressure to the agent (PSI trigger `{}`)",
                crate::sample::trigger::MEMORY_TRIGGER
            ),
            None,
        ),
        Err(why) => check(
            "pressure-triggers",
            Verdict::Warn,
            format!("the agent reads pressure each tick instead: {why}"),
            Some(FIX),
        ),
    }
}

/// Whether systemd-oomd runs: it kills on sustained pressure before the kernel's OOM killer
/// has to, and ballast names its kills.
fn oomd(outcome: &CommandOutcome, app_slice: &CommandOutcome, slice: &str) -> Check {
    const FIX: &str = "NixOS: systemd.oomd.enable = true (the default; ballast.cgroups.enable sets it and hands app.slice to it); Debian: apt install systemd-oomd";
    match outcome {
        CommandOutcome::Ran { stdout, .. } if stdout.trim() == "active" => oomd_app_slice(app_slice, slice),
        CommandOutcome::Ran { stdout, stderr, .. } => check(
            "systemd-oomd",
            Verdict::Warn,
            format!(
                "systemd-oomd is not running ({}): only the kernel's OOM killer acts, once memory is gone",
                first_line(stdout, stderr)
            ),
            Some(FIX),
        ),
        CommandOutcome::Missing => {
            check("systemd-oomd", Verdict::Warn, "systemctl is not installed: no systemd-oomd", Some(FIX))
        }
        CommandOutcome::TimedOut => {
            check("systemd-oomd", Verdict::Warn, "systemctl is-active did not answer in time", Some(FIX))
        }
    }
}

/// systemd-oomd runs: whether it watches the launch slice (ManagedOOMMemoryPressure=kill), so
/// that under sustained pressure it kills an app there before the desktop loses memory.
fn oomd_app_slice(app_slice: &CommandOutcome, slice: &str) -> Check {
    let fix = format!("the agent sets it at start with [protect] app_slice_oomd = true; or systemctl --user set-property {slice} ManagedOOMMemoryPressure=kill; NixOS: ballast.cgroups.enable = true sets it for every user");
    match app_slice {
        CommandOutcome::Ran { stdout, .. } if stdout.trim() == "kill" => check(
            "systemd-oomd",
            Verdict::Pass,
            format!("systemd-oomd runs and kills in {slice} under sustained pressure, before the desktop; ballast tells of its kills and why"),
            None,
        ),
        CommandOutcome::Ran { stdout, stderr, .. } => check(
            "systemd-oomd",
            Verdict::Warn,
            format!(
                "systemd-oomd runs, but {slice} is not in its care (ManagedOOMMemoryPressure={}): an app there is not killed before the desktop loses memory",
                first_line(stdout, stderr)
            ),
            Some(&fix),
        ),
        CommandOutcome::Missing | CommandOutcome::TimedOut => {
            check("systemd-oomd", Verdict::Warn, format!("systemd-oomd runs; the user manager did not say whether it watches {slice}"), Some(&fix))
        }
    }
}

/// Whether session.slice keeps the profile's protection from reclaim: memory.low on it and
/// on every level above it (crate::protect).
fn session_protection(profile: &Profile, facts: &Result<SessionProtection, String>) -> Check {
    let facts = match facts {
        Ok(facts) => facts,
        Err(why) => return check("session-protection", Verdict::Skip, format!("not read: {why}"), None),
    };
    let wanted = crate::protect::session_memory_low(&profile.protect, facts.ram);
    if wanted == 0 {
        return check("session-protection", Verdict::Skip, "turned off ([protect] session_memory_low = \"0\")", None);
    }
    let found = crate::protect::protection(&facts.chain, facts.recursive, wanted);
    if found.short.is_empty() {
        let message = format!("session.slice keeps {} from reclaim (memory.low from user.slice down)", human(wanted));
        return check("session-protection", Verdict::Pass, message, None);
    }
    let want = human(wanted);
    let system: Vec<&String> = found.short.iter().filter(|unit| *unit != "session.slice").collect();
    let fix = if system.is_empty() {
        format!("the agent sets it at start; or systemctl --user set-property session.slice MemoryLow={want}")
    } else {
        let commands: Vec<String> =
            system.iter().map(|unit| format!("systemctl set-property {unit} MemoryLow={want}")).collect();
        format!("NixOS: ballast.cgroups.enable = true (protectSession); elsewhere, as root: {}", commands.join("; "))
    };
    let message = format!(
        "session.slice keeps {} of {} from reclaim: memory.low is short at {}",
        human(found.effective),
        human(wanted),
        found.short.join(", ")
    );
    check("session-protection", Verdict::Warn, message, Some(&fix))
}

/// Whether every governed catalog app runs in one unit with its catalog limits (the
/// agent's governing, launch::govern). A unit the agent could not govern (systemd refused a
/// property or a move; the agent says why in its journal) shows here as out of its limits.
fn scope_limits(profile: &Profile, mode: CgroupMode, units: &[UnitSample]) -> Check {
    if !mode.per_unit() {
        return check("scope-limits", Verdict::Skip, "limits are read from cgroup v2 only", None);
    }
    let mut statuses = crate::launch::statuses_from_units(profile, units);
    crate::launch::mark_governed(profile, &mut statuses);
    let governed: Vec<&crate::launch::ScopeStatus> = statuses.iter().filter(|s| s.governed).collect();
    if governed.is_empty() {
        return check("scope-limits", Verdict::Pass, "no governed catalog app is running", None);
    }
    let mut wrong = Vec::new();
    for app in &profile.apps {
        let units: Vec<&&crate::launch::ScopeStatus> =
            governed.iter().filter(|s| s.app.as_deref() == Some(app.id.as_str())).collect();
        if units.len() > 1 {
            wrong.push(format!(
                "{} runs in {} units, not one: {}",
                app.name,
                units.len(),
                units.iter().map(|s| s.unit.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        for unit in units.iter().filter(|s| !s.observed(profile).limits.hold(app)) {
            wrong.push(format!(
                "{}: high {} max {} (catalog {} / {})",
                unit.unit,
                unit.memory_high.map_or("max".into(), human),
                unit.memory_max.map_or("max".into(), human),
                app.memory_high,
                app.memory_max
            ));
        }
    }
    if wrong.is_empty() {
        let apps =
            profile.apps.iter().filter(|a| governed.iter().any(|s| s.app.as_deref() == Some(a.id.as_str()))).count();
        check(
            "scope-limits",
            Verdict::Pass,
            format!("{apps} governed app(s), each in one unit with the catalog's limits"),
            None,
        )
    } else {
        check(
            "scope-limits",
            Verdict::Warn,
            wrong.join("; "),
            Some("run the agent (`ballast agent`, or `ballast autostart enable`), which governs these units; its journal (journalctl --user -u ballast) says what systemd refused"),
        )
    }
}

fn nvidia(version: &Option<String>, modeset: Option<bool>) -> Check {
    match (version, modeset) {
        (None, _) => check("nvidia", Verdict::Skip, "no NVIDIA driver loaded (no /proc/driver/nvidia/version)", None),
        (Some(v), Some(true)) => check("nvidia", Verdict::Pass, format!("{v}, nvidia-drm.modeset=1"), None),
        (Some(v), _) => check("nvidia", Verdict::Warn, format!("{v}, but nvidia-drm.modeset is not 1"), Some("add nvidia-drm.modeset=1 to the kernel command line (NixOS: hardware.nvidia.modesetting.enable = true)")),
    }
}

fn video_tool(tool: &'static str, outcome: &CommandOutcome, package: &str, drivers: &[&str], env_fix: &str) -> Check {
    match outcome {
        CommandOutcome::Missing => check(
            tool,
            Verdict::Warn,
            format!("{tool} is not installed: hardware video decode cannot be checked"),
            Some(&format!("install {package}")),
        ),
        CommandOutcome::TimedOut => check(tool, Verdict::Warn, format!("{tool} did not answer in time"), None),
        CommandOutcome::Ran { stdout, stderr, .. } => {
            let text = format!("{stdout}\n{stderr}").to_lowercase();
            let driver = drivers[0];
            if drivers.iter().any(|d| text.contains(d)) && !text.contains("error") {
                let codecs = hardware_decoders(stdout);
                let decodes = if codecs.is_empty() {
                    String::new()
                } else {
                    format!("; decodes in hardware: {}", codecs.join(", "))
                };
                check(tool, Verdict::Pass, format!("{tool} reports the {driver} driver{decodes}"), None)
            } else {
                check(
                    tool,
                    Verdict::Warn,
                    format!("{tool} does not report the {driver} driver: {}", first_line(stdout, stderr)),
                    Some(env_fix),
                )
            }
        }
    }
}

/// Codecs vainfo lists with a decode (VLD) entry point, by the names people know.
fn hardware_decoders(vainfo: &str) -> Vec<&'static str> {
    const CODECS: [(&str, &str); 7] = [
        ("VAProfileH264", "H.264"),
        ("VAProfileHEVC", "HEVC"),
        ("VAProfileVP8", "VP8"),
        ("VAProfileVP9", "VP9"),
        ("VAProfileAV1", "AV1"),
        ("VAProfileMPEG2", "MPEG-2"),
        ("VAProfileVC1", "VC-1"),
    ];
    let decodable: Vec<&str> = vainfo.lines().filter(|l| l.contains("VAEntrypointVLD")).map(str::trim).collect();
    CODECS
        .iter()
        .filter(|(profile, _)| decodable.iter().any(|l| l.starts_with(profile)))
        .map(|(_, name)| *name)
        .collect()
}

/// The environment nvidia-vaapi-driver needs, checked where the NVIDIA driver runs.
fn vaapi_env(nvidia_loaded: bool, libva_driver: Option<&str>, nvd_backend: Option<&str>) -> Check {
    const FIX: &str =
        "set LIBVA_DRIVER_NAME=nvidia and NVD_BACKEND=direct in the session (ballast's nixosModules.vaapi does)";
    if !nvidia_loaded {
        return check("vaapi-env", Verdict::Skip, "no NVIDIA driver loaded", None);
    }
    match (libva_driver, nvd_backend) {
        (Some("nvidia"), Some("direct")) => {
            check("vaapi-env", Verdict::Pass, "LIBVA_DRIVER_NAME=nvidia, NVD_BACKEND=direct", None)
        }
        (driver, backend) => check(
            "vaapi-env",
            Verdict::Warn,
            format!("LIBVA_DRIVER_NAME={}, NVD_BACKEND={}", driver.unwrap_or("(unset)"), backend.unwrap_or("(unset)")),
            Some(FIX),
        ),
    }
}

fn baloo(profile: &Profile, facts: &Result<BalooFacts, Unread>) -> Check {
    let facts = match facts {
        Ok(f) => f,
        Err(why) => return check("baloo", Verdict::Skip, format!("Baloo settings not read: {why}"), None),
    };
    let t = &profile.tune.baloo;
    let mut off = Vec::new();
    if facts.only_basic_indexing != Some(t.only_basic_indexing) {
        off.push(format!("only basic indexing={:?} (want {})", facts.only_basic_indexing, t.only_basic_indexing));
    }
    if facts.index_hidden_folders.unwrap_or(false) != t.index_hidden_folders {
        off.push(format!("index hidden folders={:?} (want {})", facts.index_hidden_folders, t.index_hidden_folders));
    }
    let missing: Vec<String> = t
        .exclude_folders
        .iter()
        .map(|want| match &facts.home {
            Some(home) => want.replace("$HOME", home),
            None => want.clone(),
        })
        .filter(|want| {
            !facts.exclude_folders.iter().any(|have| have.trim_end_matches('/') == want.trim_end_matches('/'))
        })
        .collect();
    if !missing.is_empty() {
        off.push(format!("not excluded: {}", missing.join(", ")));
    }
    if off.is_empty() {
        check("baloo", Verdict::Pass, "basic indexing only, no hidden folders, the profile's excludes", None)
    } else {
        check("baloo", Verdict::Warn, off.join("; "), Some("ballast tune baloo --apply (writes only those keys, backs up baloofilerc and tells Baloo; on Plasma 5 and 6 alike)"))
    }
}

fn segfaults(found: &Result<Vec<String>, Unread>) -> Check {
    match found {
        Err(why) => check("segfaults", Verdict::Skip, format!("journal not read: {why}"), None),
        Ok(lines) if lines.is_empty() => {
            check("segfaults", Verdict::Pass, "no segfault in this boot's kernel log", None)
        }
        Ok(lines) => check(
            "segfaults",
            Verdict::Warn,
            format!("{} segfault(s) this boot, last: {}", lines.len(), lines.last().map(String::as_str).unwrap_or("")),
            Some("journalctl -b -k -g segfault shows them all; a crashing -march-built library is a likely cause"),
        ),
    }
}

fn first_line(stdout: &str, stderr: &str) -> String {
    stderr.lines().chain(stdout.lines()).map(str::trim).find(|l| !l.is_empty()).unwrap_or("no output").to_owned()
}

/// Exit code of `ballast doctor`: 0 unless a check failed.
pub fn exit_code(checks: &[Check]) -> i32 {
    i32::from(checks.iter().any(|c| c.verdict == Verdict::Fail))
}

#[cfg(test)]
mod tests;
