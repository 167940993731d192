//! What the dashboard costs, offscreen (the software path, as on a desktop without GL):
//! RSS and CPU of the window open and idle on a saved session and with no agent; then, with
//! the agent running on a private session bus, the agent's RSS before the dashboard opens,
//! while it is open, and after it closes (it must come back to its idle figure).
//! Prints figures; asserts nothing. BALLAST_FOOTPRINT_SECONDS (10) sets the idle span.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// RSS in kB and CPU seconds so far of a process.
fn measure(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime + stime, in clock ticks of 1/100 s on Linux.
    (rss, (ticks(11) + ticks(12)) / 100.0)
}

struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(command: &mut Command) -> Stopped {
    Stopped(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}")),
    )
}

/// RSS after settling, and CPU use (% of a core) over the idle span that follows.
fn idle_figures(pid: u32, span: Duration) -> (u64, f64) {
    std::thread::sleep(Duration::from_secs(3));
    let (_, cpu_before) = measure(pid);
    std::thread::sleep(span);
    let (rss, cpu_after) = measure(pid);
    (rss, (cpu_after - cpu_before) / span.as_secs_f64() * 100.0)
}

fn dashboard(runtime: &Path, bus: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ballast-dashboard"));
    command
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("XDG_RUNTIME_DIR", runtime)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("XDG_CONFIG_HOME", runtime.join("config"));
    command
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let span = Duration::from_secs(if quick {
        1
    } else {
        std::env::var("BALLAST_FOOTPRINT_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
    });
    let runtime = std::env::temp_dir().join(format!("ballast-dashboard-footprint-{}", std::process::id()));
    std::fs::create_dir_all(runtime.join("config")).expect("a runtime directory");
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("a private runtime directory");
    let socket = runtime.join("bus");
    let bus = format!("unix:path={}", socket.display());
    let _daemon =
        spawn(Command::new("dbus-daemon").args(["--session", "--nofork", "--nopidfile", &format!("--address={bus}")]));
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let session = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/session-plasma-v2.json");

    println!("Dashboard footprint, offscreen, idle over {} s:", span.as_secs());
    let window = spawn(dashboard(&runtime, &bus).arg("--from-json").arg(&session));
    let (rss, cpu) = idle_figures(window.0.id(), span);
    println!("  {:<44} RSS {rss:>7} kB   CPU {cpu:>6.2} % of a core", "window open on a saved session");
    drop(window);
    let window = spawn(&mut dashboard(&runtime, &bus));
    let (rss, cpu) = idle_figures(window.0.id(), span);
    println!("  {:<44} RSS {rss:>7} kB   CPU {cpu:>6.2} % of a core", "window open, no agent (retrying every 2 s)");
    drop(window);

    // The agent of the same build, beside this binary.
    let agent_binary: PathBuf = Path::new(env!("CARGO_BIN_EXE_ballast-dashboard")).with_file_name("ballast");
    if !agent_binary.exists() {
        println!(
            "  agent before/after: skipped, {} is not built (cargo build --release --workspace)",
            agent_binary.display()
        );
        let _ = std::fs::remove_dir_all(&runtime);
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/plasma-v2");
    // DISPLAY only tells the agent it runs in a graphical session; tray and notifications
    // are off here (no watcher, no server), as the agent allows.
    let agent = spawn(
        Command::new(&agent_binary)
            .arg("--root")
            .arg(&root)
            .arg("agent")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .env("DISPLAY", ":0")
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_CONFIG_HOME", runtime.join("config"))
            .env("XDG_STATE_HOME", runtime.join("state")),
    );
    let (agent_idle, _) = idle_figures(agent.0.id(), span);
    let window = spawn(&mut dashboard(&runtime, &bus));
    let (window_rss, window_cpu) = idle_figures(window.0.id(), span);
    let (agent_open, _) = measure(agent.0.id());
    drop(window);
    let (agent_after, _) = idle_figures(agent.0.id(), span);
    println!("  {:<44} RSS {window_rss:>7} kB   CPU {window_cpu:>6.2} % of a core", "window open on the live agent");
    println!("  {:<44} RSS {agent_idle:>7} kB before, {agent_open} kB with the window open, {agent_after} kB after it closed", "agent (fixture root plasma-v2)");
    let _ = std::fs::remove_dir_all(&runtime);
}
