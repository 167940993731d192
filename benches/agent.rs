//! The agent's own cost, idle in a real session (private bus, Xvfb, the kded5 tray watcher,
//! dunst): RSS, CPU time and wakeups (voluntary context switches) per second, next to
//! `top -b -d 2` over the same time; then a soak run at 0.1 s ticks to show RSS stays flat.
//! Prints figures; asserts nothing. BALLAST_FOOTPRINT_SECONDS (60) and
//! BALLAST_SOAK_SECONDS (600) set the durations.

use testbed::harness::desktop;

use desktop::Session;
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
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // SAFETY: sysconf reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = fields.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (field("VmRSS:"), field("voluntary_ctxt_switches:"), cpu / ticks)
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

fn start_agent(s: &mut Session, profile: &str) -> u32 {
    let file = s.home().join(format!("profile-{}.toml", profile.len()));
    std::fs::write(&file, profile).unwrap();
    let mut agent = s.command(env!("CARGO_BIN_EXE_ballast"));
    agent.arg("--profile").arg(&file).arg("agent");
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
    let agent = start_agent(&mut s, "");
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
    let agent = start_agent(&mut s, soak_profile);
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
}
