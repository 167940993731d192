//! The agent's own cost, idle in a real session (private bus, Xvfb, the kded5 tray watcher,
//! dunst): RSS, CPU time and wakeups (voluntary context switches) per second, next to
//! `top -b -d 2` over the same time; then a soak run at 0.1 s ticks to show RSS stays flat.
//! Then the cgroup v2 idle tick natively: this host is cgroup v1, so the agent reads the
//! `plasma-v2-idle` fixture tree (`--root`) at the 30 s idle tick with new figures at each:
//! what it costs here, but for the kernel's formatting of cgroup files (the guest's bench
//! times the agent's system time). Prints figures; asserts nothing. BALLAST_FOOTPRINT_SECONDS
//! (60), BALLAST_SOAK_SECONDS (600) and BALLAST_V2_TICK_SECONDS (150) set the durations.

use testbed::harness::desktop;

use desktop::Session;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// RSS in kB, voluntary context switches, and CPU seconds of a process.
fn measure(pid: u32) -> (u64, u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let [user, system] = cpu_split(pid);
    (field("VmRSS:"), field("voluntary_ctxt_switches:"), user + system)
}

fn seconds(name: &str, default: u64, quick: u64) -> u64 {
    if !std::env::args().any(|a| a == "--bench") {
        return quick;
    }
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn print_row(name: &str, before: (u64, u64, f64), after: (u64, u64, f64), span: f64) {
    println!(
        "  {name:<34} RSS {:>6} kB   CPU {:>6.3} % of a core   wakeups {:>5.2}/s",
        after.0,
        (after.2 - before.2) / span * 100.0,
        (after.1 - before.1) as f64 / span
    );
}

/// Starts the agent with `profile` (its program name `ballast-<profile's length>`), reading
/// /proc and /sys below `root`.
fn start_agent(s: &mut Session, profile: &str, root: &Path) -> u32 {
    let file = s.home().join(format!("profile-{}.toml", profile.len()));
    std::fs::write(&file, profile).unwrap();
    let mut agent = s.command(env!("CARGO_BIN_EXE_ballast"));
    agent.arg("--profile").arg(&file).arg("--root").arg(root).arg("agent");
    let name = format!("ballast-{}", profile.len());
    s.start_program(&name, agent, "io.ballast.Agent is owned", |s| s.name_has_owner("io.ballast.Agent")).unwrap();
    s.name_owner_pid("io.ballast.Agent").unwrap()
}

/// How the agent learns of pressure, from its report: with PSI triggers the tick stretches to
/// `idle_tick_seconds` while nothing changes.
fn report_mode(s: &Session) -> String {
    let json = s.run(env!("CARGO_BIN_EXE_ballast"), &["status", "--json"]).unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    match report["pressure_watch"]["mode"].as_str() {
        Some("triggers") => "PSI triggers armed: stretching to 30 s while idle".into(),
        Some(mode) => format!("pressure {mode}: {}", report["pressure_watch"]["problem"]),
        None => "no pressure watch in the report".into(),
    }
}

fn main() {
    let span = seconds("BALLAST_FOOTPRINT_SECONDS", 60, 3);
    let soak = seconds("BALLAST_SOAK_SECONDS", 600, 3);
    let mut s = match Session::with_display() {
        Ok(s) => s,
        Err(why) => {
            println!("agent footprint: skipped, no desktop session here: {why}");
            return;
        }
    };
    s.start_notification_server().unwrap();
    s.start_tray_watcher().unwrap();
    let agent = start_agent(&mut s, "", Path::new("/"));
    std::thread::sleep(Duration::from_secs(2));
    let mut top = s
        .command("top")
        .args(["-b", "-d", "2", "-n", &(span / 2 + 2).to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (agent_before, top_before) = (measure(agent), measure(top.id()));
    std::thread::sleep(Duration::from_secs(span));
    let (agent_after, top_after) = (measure(agent), measure(top.id()));
    let _ = top.wait();
    let mode = report_mode(&s);
    println!("Agent footprint over {span} s, idle, default 2 s tick ({mode}), tray watcher and dunst up:");
    print_row("ballast agent", agent_before, agent_after, span as f64);
    print_row("top -b -d 2 (for comparison)", top_before, top_after, span as f64);
    s.stop(&format!("ballast-{}", 0)).unwrap();

    let soak_profile = "[sample]\ntick_seconds = 0.1\nidle_tick_seconds = 0.1\n";
    let agent = start_agent(&mut s, soak_profile, Path::new("/"));
    std::thread::sleep(Duration::from_secs(2));
    let first = measure(agent);
    std::thread::sleep(Duration::from_secs(soak));
    let last = measure(agent);
    println!(
        "Soak: {soak} s at 0.1 s ticks: RSS {} kB after 2 s, {} kB at the end ({:+} kB); CPU {:.2} % of a core",
        first.0,
        last.0,
        last.0 as i64 - first.0 as i64,
        (last.2 - first.2) / soak as f64 * 100.0
    );
    s.stop(&format!("ballast-{}", soak_profile.len())).unwrap();
    v2_tick(&mut s, seconds("BALLAST_V2_TICK_SECONDS", 150, 2));
}

/// The idle tick on cgroup v2: the agent on a copy of the plasma-v2-idle tree at 30 s ticks
/// for `span` seconds, its meminfo rewritten every second (MemAvailable down by 0-600 MB in
/// seven steps, so that every tick shows new figures, the tray and ReportChanged included):
/// its CPU time from `perf stat -e task-clock` (ms precision), and /proc's utime and stime
/// (10 ms clock ticks) beside it.
fn v2_tick(s: &mut Session, span: u64) {
    let root = s.home().join("plasma-v2-idle");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2-idle"))
        .arg(&root)
        .status();
    assert!(copied.is_ok_and(|c| c.success()), "copying the fixture tree");
    let meminfo = root.join("proc/meminfo");
    let steady = std::fs::read_to_string(&meminfo).unwrap();
    let versions: Vec<String> = (0..7).map(|step| less_available(&steady, step * 100_000)).collect();
    let profile = "[sample]\ntick_seconds = 30\nidle_tick_seconds = 30\n";
    let agent = start_agent(s, profile, &root);
    std::thread::sleep(Duration::from_secs(2));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let done = done.clone();
        std::thread::spawn(move || {
            for version in versions.iter().cycle() {
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                // In place, as the kernel's file changes: the agent keeps it open.
                let mut file = std::fs::OpenOptions::new().write(true).open(&meminfo).unwrap();
                file.write_all(version.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let before = cpu_split(agent);
    let task_clock = perf_task_clock(agent, span);
    let after = cpu_split(agent);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = writer.join();
    s.stop(&format!("ballast-{}", profile.len())).unwrap();
    let percent = |seconds: f64| seconds / span as f64 * 100.0;
    println!("The cgroup v2 idle tick natively: the plasma-v2-idle tree, 30 s ticks, new figures at each, {span} s:");
    match task_clock {
        Ok(ms) => println!("  perf task-clock  {ms:.1} ms: {:.4} % of a core", percent(ms / 1e3)),
        Err(why) => println!("  perf task-clock  not measured: {why}"),
    }
    println!(
        "  /proc            {:.2} s user + {:.2} s system: {:.4} % of a core",
        after[0] - before[0],
        after[1] - before[1],
        percent(after[0] - before[0] + after[1] - before[1])
    );
}

/// The CPU time (ms) `perf stat -e task-clock` counts for `pid` over `span` seconds.
fn perf_task_clock(pid: u32, span: u64) -> Result<f64, String> {
    let out = std::process::Command::new("perf")
        .args(["stat", "-x", ",", "-e", "task-clock", "-p", &pid.to_string(), "--", "sleep", &span.to_string()])
        .output()
        .map_err(|e| format!("perf: {e} (Debian: apt install linux-perf)"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    // CSV: value,unit,event,...
    text.lines()
        .find_map(|l| l.split_once(",msec,task-clock").and_then(|(ms, _)| ms.parse().ok()))
        .ok_or(format!("no task-clock in perf's output: {text}"))
}

/// `meminfo` with MemFree and MemAvailable `kb` lower, each padded to its own width.
fn less_available(meminfo: &str, kb: u64) -> String {
    meminfo
        .lines()
        .map(|line| match line.split_once(':') {
            Some((key @ ("MemFree" | "MemAvailable"), value)) => {
                let now: u64 = value.trim().trim_end_matches(" kB").parse().unwrap();
                format!("{key}:{:>width$} kB\n", now - kb, width = value.len() - " kB".len())
            }
            _ => format!("{line}\n"),
        })
        .collect()
}

/// User and system CPU seconds of a process (proc(5) stat fields 14 and 15).
fn cpu_split(pid: u32) -> [f64; 2] {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect())
        .unwrap_or_default();
    // SAFETY: sysconf reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    [fields.get(11).copied().unwrap_or(0.0) / ticks, fields.get(12).copied().unwrap_or(0.0) / ticks]
}
