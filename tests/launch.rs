//! `ballast launch`, `scopes`, `stop`, `more`, `freeze` and `thaw` under a real systemd user manager (see
//! testbed/src/harness/user_manager.rs), with a workload that allocates memory and burns CPU
//! on request. One manager serves every case; the closing line counts them.

use testbed::harness::cases;
use testbed::harness::user_manager;
use testbed::harness::workload;

use ballast::launch::{scope_events, ScopeStatus};
use ballast::sample::MemoryEvents;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};
use user_manager::UserManager;

struct Env {
    manager: UserManager,
    ballast: PathBuf,
    profile: PathBuf,
}

const MIB: u64 = 1 << 20;

impl Env {
    fn ballast(&self, args: &[&str]) -> Output {
        self.manager
            .command(&self.ballast)
            .arg("--profile")
            .arg(&self.profile)
            .args(args)
            .output()
            .expect("ballast runs")
    }

    /// `ballast launch alloc [--foreground] -- ARGS`: the unit name, or the error.
    fn launch(&self, foreground: bool, workload_args: &[&str]) -> Result<(String, String), String> {
        let mut args = vec!["launch", "alloc"];
        if foreground {
            args.push("--foreground");
        }
        args.push("--");
        args.extend(workload_args);
        let out = self.ballast(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!("launch failed ({}): {}{stdout}", out.status, String::from_utf8_lossy(&out.stderr)));
        }
        let unit = stdout.lines().next().unwrap_or("").to_owned();
        Ok((unit, stdout))
    }

    fn scopes(&self) -> Result<Vec<ScopeStatus>, String> {
        let out = self.ballast(&["scopes", "--json"]);
        if !out.status.success() {
            return Err(format!("scopes failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("scopes --json: {e}"))
    }

    fn scope(&self, unit: &str) -> Result<ScopeStatus, String> {
        self.scopes()?.into_iter().find(|s| s.unit == unit).ok_or(format!("{unit} is not in `ballast scopes`"))
    }

    fn stop(&self, target: &str) -> Result<String, String> {
        let out = self.ballast(&["stop", target]);
        if !out.status.success() {
            return Err(format!("stop {target}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

fn poll<T>(timeout: Duration, mut attempt: impl FnMut() -> Result<Option<T>, String>) -> Result<Option<T>, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = attempt()? {
            return Ok(Some(value));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn scope_has_requested_limits_and_holds_the_app(env: &Env) -> Result<(), String> {
    let (unit, _) = env.launch(false, &["--hold", "20", "10"])?;
    check(unit.starts_with("app-ballast-alloc-") && unit.ends_with(".scope"), || format!("unit name {unit:?}"))?;
    let scope = env.scope(&unit)?;
    check(scope.app.as_deref() == Some("alloc"), || format!("app of {scope:?}"))?;
    check(scope.memory_high == Some(150 * MIB) && scope.memory_max == Some(200 * MIB), || format!("limits {scope:?}"))?;
    check(scope.cpu_quota == Some(50), || format!("CPU quota {:?}", scope.cpu_quota))?;
    let control_group = scope.control_group.clone().ok_or("no ControlGroup")?;
    let memory_dir = env.manager.cgroup_dir("memory", &control_group);
    let limit = std::fs::read_to_string(memory_dir.join("memory.limit_in_bytes")).map_err(|e| e.to_string())?;
    check(limit.trim() == (200 * MIB).to_string(), || format!("memory.limit_in_bytes {limit}"))?;
    let pids = std::fs::read_to_string(memory_dir.join("cgroup.procs")).map_err(|e| e.to_string())?;
    let comms: Vec<String> = pids
        .lines()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
        .map(|c| c.trim().to_owned())
        .collect();
    check(comms.iter().any(|c| c.starts_with("ballast-workloa")), || {
        format!("the app's process is in the scope's cgroup: {comms:?}")
    })?;
    let stopped = env.stop(&unit)?;
    check(stopped.contains(&format!("({unit}): stopped")), || stopped.clone())?;
    let gone = poll(Duration::from_secs(5), || Ok(env.scopes()?.iter().all(|s| s.unit != unit).then_some(())))?;
    check(gone.is_some(), || format!("{unit} still listed after stop"))
}

fn app_code_runs_only_inside_its_scope(env: &Env) -> Result<(), String> {
    let (unit, output) = env.launch(true, &["--cgroup", "1"])?;
    let cgroup =
        output.lines().find_map(|l| l.strip_prefix("cgroup ")).ok_or(format!("no cgroup line in {output:?}"))?;
    check(cgroup.ends_with(&format!("/app.slice/{unit}")), || {
        format!("first instruction ran in {cgroup}, not in {unit}")
    })
}

fn two_launches_get_distinct_units(env: &Env) -> Result<(), String> {
    let (first, _) = env.launch(false, &["--hold", "20", "1"])?;
    let (second, _) = env.launch(false, &["--hold", "20", "1"])?;
    check(first != second, || format!("both launches got {first}"))?;
    let listed: Vec<String> = env.scopes()?.into_iter().map(|s| s.unit).collect();
    check(listed.contains(&first) && listed.contains(&second), || format!("{listed:?}"))?;
    let stopped = env.stop("alloc")?;
    check(stopped.lines().count() == 2, || format!("stop by app id stops both: {stopped}"))
}

fn exceeding_memory_max_is_oom_killed_and_reported(env: &Env) -> Result<(), String> {
    let (unit, output) = env.launch(true, &["--in-child", "400"])?;
    check(output.contains("child killed by signal 9"), || format!("foreground launch output: {output}"))?;
    let (unit_kept, _) = env.launch(false, &["--in-child", "--hold", "20", "400"])?;
    check(unit != unit_kept, || "distinct units".into())?;
    let status = poll(Duration::from_secs(10), || {
        let status = env.scope(&unit_kept)?;
        Ok(status.events.is_some_and(|e| e.oom_kill > 0).then_some(status))
    })?
    .ok_or(format!("no oom_kill counted for {unit_kept}"))?;
    let events = scope_events("Allocator", Some(&MemoryEvents::default()), &status);
    let messages: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    check(messages.contains(&"Allocator was OOM-killed inside its 200M limit"), || format!("{messages:?}"))?;
    env.stop(&unit_kept).map(|_| ())
}

fn cpu_quota_is_enforced(env: &Env) -> Result<(), String> {
    let (_, output) = env.launch(true, &["--busy", "2", "1"])?;
    let cpu: f64 = output
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .and_then(|v| v.parse().ok())
        .ok_or(format!("no cpu line in {output:?}"))?;
    // 50 % of one CPU over 2 s of wall time is 1 s; unlimited it would be 2 s.
    check((0.7..1.4).contains(&cpu), || format!("{cpu} s of CPU in 2 s under CPUQuota=50%"))
}

fn other_launchers_units_are_listed(env: &Env) -> Result<(), String> {
    let mut other = env
        .manager
        .command("systemd-run")
        .args(["--user", "--scope", "--unit=app-org.example.Other-42.scope", "--quiet", "sleep", "20"])
        .spawn()
        .map_err(|e| e.to_string())?;
    let listed = poll(Duration::from_secs(5), || {
        Ok(env.scopes()?.into_iter().find(|s| s.unit == "app-org.example.Other-42.scope"))
    });
    let stop = env.stop("app-org.example.Other-42.scope");
    let _ = other.wait();
    let status = listed?.ok_or("a scope started by systemd-run is not listed")?;
    check(status.app.is_none(), || format!("not ours: {status:?}"))?;
    stop.map(|_| ())
}

fn stopping_nothing_is_a_clear_error(env: &Env) -> Result<(), String> {
    let out = env.ballast(&["stop", "app-nothing-1.scope"]);
    let err = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(2) && err.contains("no running app scope matches"), || {
        format!("{:?} {err}", out.status)
    })
}

/// `ballast more`, `freeze` and `thaw` by app id: MemoryMax a quarter higher in the scope and
/// the choice in the event log; Freeze refused in systemd's words on this host's cgroup v1
/// (user units have no freezer there), exit code 2; Thaw of a scope that ended says so.
fn the_cli_gives_more_and_says_why_it_cannot_freeze(env: &Env) -> Result<(), String> {
    let (unit, _) = env.launch(false, &["--hold", "20", "60"])?;
    let more = env.ballast(&["more", "alloc"]);
    let said = String::from_utf8_lossy(&more.stdout).into_owned();
    let scope = env.scope(&unit)?;
    let freeze = env.ballast(&["freeze", "alloc"]);
    let refused = String::from_utf8_lossy(&freeze.stderr).into_owned();
    let events = String::from_utf8_lossy(&env.ballast(&["events", "--json", "--last", "1"]).stdout).into_owned();
    env.stop(&unit)?;
    poll(Duration::from_secs(5), || Ok(env.scopes()?.iter().all(|s| s.unit != unit).then_some(())))?;
    let thaw = env.ballast(&["thaw", &unit]);
    let ended = String::from_utf8_lossy(&thaw.stderr).into_owned();
    check(more.status.success() && said.contains(&format!("({unit}): MemoryHigh 150M")), || {
        format!("more: {:?} {said}{}", more.status, String::from_utf8_lossy(&more.stderr))
    })?;
    check(scope.memory_max == Some(250 * MIB), || format!("after `more`: {scope:?}"))?;
    check(events.contains("\"give-more\"") && events.contains(&unit), || format!("the event log's last: {events}"))?;
    check(freeze.status.code() == Some(2) && refused.contains(&format!("cannot freeze {unit}")), || {
        format!("freeze on cgroup v1: {:?} {refused}", freeze.status)
    })?;
    check(thaw.status.code() == Some(2) && ended.contains("no running app scope"), || {
        format!("thaw of an ended scope: {:?} {ended}", thaw.status)
    })
}

fn setup() -> Result<Env, String> {
    let manager = UserManager::start()?;
    let (ballast, profile) = workload::install(manager.home_dir(), "", "")?;
    Ok(Env { manager, ballast, profile })
}

fn main() {
    workload::run_if_requested();
    cases::run(
        "launch tests under a real user manager",
        setup(),
        &[
            ("scope_has_requested_limits_and_holds_the_app", scope_has_requested_limits_and_holds_the_app),
            ("app_code_runs_only_inside_its_scope", app_code_runs_only_inside_its_scope),
            ("two_launches_get_distinct_units", two_launches_get_distinct_units),
            ("exceeding_memory_max_is_oom_killed_and_reported", exceeding_memory_max_is_oom_killed_and_reported),
            ("cpu_quota_is_enforced", cpu_quota_is_enforced),
            ("other_launchers_units_are_listed", other_launchers_units_are_listed),
            ("stopping_nothing_is_a_clear_error", stopping_nothing_is_a_clear_error),
            ("the_cli_gives_more_and_says_why_it_cannot_freeze", the_cli_gives_more_and_says_why_it_cannot_freeze),
        ],
    );
}
