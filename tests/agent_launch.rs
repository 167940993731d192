//! Launching from the tray menu and through the D-Bus API, under a real systemd user
//! manager (tests/support/user_manager.rs): the agent runs as the test user on that
//! manager's session bus; dbusmenu's Event on the "Launch ▸ Allocator" entry must start
//! the app in its limited scope.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/user_manager.rs"]
mod user_manager;
#[path = "support/workload.rs"]
mod workload;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use user_manager::UserManager;

struct Env {
    manager: UserManager,
    ballast: std::path::PathBuf,
    profile: std::path::PathBuf,
    agent: Child,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.agent.kill();
        let _ = self.agent.wait();
    }
}

impl Env {
    /// dbus-send on the manager's session bus, as the test user (root may not use it).
    fn call(&self, args: &[&str]) -> Result<String, String> {
        let out = self.manager.command("dbus-send").args(["--session", "--print-reply=literal", "--type=method_call"]).arg(format!("--dest={}", args[0])).args(&args[1..]).output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn scopes(&self) -> Result<String, String> {
        let out = self.manager.command(&self.ballast).arg("--profile").arg(&self.profile).args(["scopes", "--json"]).output().map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn wait(&self, what: &str, mut done: impl FnMut() -> Result<bool, String>) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = String::new();
        while Instant::now() < deadline {
            match done() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("timed out waiting until {what} {last}"))
    }
}

/// The dbusmenu id of the entry labelled `label`: GetLayout prints each entry's id as the
/// nearest `int32 N` before its properties.
fn menu_id(layout: &str, label: &str) -> Option<i32> {
    let at = layout.find(label)?;
    layout[..at].rsplit("int32 ").next()?.split_whitespace().next()?.parse().ok()
}

fn setup() -> Result<Env, String> {
    let manager = UserManager::start()?;
    let (ballast, profile) = workload::install(manager.home_dir(), "[sample]\ntick_seconds = 1\n", ", \"--hold\", \"30\", \"1\"")?;
    // The agent only needs DISPLAY to be set: the tray item works without an X server.
    let agent = manager.command(&ballast).arg("--profile").arg(&profile).arg("agent").env("DISPLAY", ":99").stdout(Stdio::null()).stderr(Stdio::null()).spawn().map_err(|e| e.to_string())?;
    let env = Env { manager, ballast, profile, agent };
    env.wait("the agent owns io.ballast.Agent", || Ok(env.call(&["org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:io.ballast.Agent"])?.contains("true")))?;
    Ok(env)
}

fn launch_from_the_menu(env: &Env) -> Result<(), String> {
    let names = env.call(&["org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"])?;
    let item = names.split_whitespace().find(|n| n.starts_with("org.kde.StatusNotifierItem-")).ok_or(format!("no tray item on the bus: {names}"))?.to_owned();
    let layout = env.call(&[&item, "/MenuBar", "com.canonical.dbusmenu.GetLayout", "int32:0", "int32:-1", "array:string:"])?;
    let id = menu_id(&layout, "Allocator (150M / 200M, 50%)").ok_or(format!("no Allocator entry in\n{layout}"))?;
    env.call(&[&item, "/MenuBar", "com.canonical.dbusmenu.Event", &format!("int32:{id}"), "string:clicked", "variant:int32:0", "uint32:0"])?;
    env.wait("the menu's launch runs in a scope", || Ok(env.scopes()?.contains("\"app\": \"alloc\"")))?;
    let scopes = env.scopes()?;
    if !(scopes.contains(&(200u64 << 20).to_string()) && scopes.contains("\"cpu_quota\": 50")) {
        return Err(format!("limits missing: {scopes}"));
    }
    Ok(())
}

fn launch_through_the_api(env: &Env) -> Result<(), String> {
    let unit = env.call(&["io.ballast.Agent", "/io/ballast/Agent", "io.ballast.Agent1.Launch", "string:alloc", "array:string:"])?;
    let unit = unit.trim().to_owned();
    if !(unit.starts_with("app-ballast-alloc-") && unit.ends_with(".scope")) {
        return Err(format!("Launch returned {unit:?}"));
    }
    env.wait("the unit is running", || Ok(env.scopes()?.contains(&unit)))?;
    let stopped = env.call(&["io.ballast.Agent", "/io/ballast/Agent", "io.ballast.Agent1.Stop", &format!("string:{unit}")])?;
    if !stopped.contains(&format!("stopped {unit}")) {
        return Err(format!("Stop said {stopped:?}"));
    }
    env.wait("the unit is gone", || Ok(!env.scopes()?.contains(&unit)))
}

/// `ballast autostart enable` writes a unit that systemd itself accepts and enables.
fn autostart_unit_is_accepted_by_systemd(env: &Env) -> Result<(), String> {
    let out = env.manager.command(&env.ballast).args(["autostart", "enable"]).output().map_err(|e| e.to_string())?;
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() || !said.contains("enabled") {
        return Err(format!("autostart enable: {said}{}", String::from_utf8_lossy(&out.stderr)));
    }
    let unit = env.manager.home_dir().join(".config/systemd/user/ballast.service");
    let verify = env.manager.command("systemd-analyze").args(["--user", "verify"]).arg(&unit).output().map_err(|e| e.to_string())?;
    if !verify.status.success() {
        return Err(format!("systemd-analyze --user verify: {}", String::from_utf8_lossy(&verify.stderr)));
    }
    let enabled = env.manager.command("systemctl").args(["--user", "is-enabled", "ballast.service"]).output().map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&enabled.stdout).trim() != "enabled" {
        return Err(format!("is-enabled: {}", String::from_utf8_lossy(&enabled.stdout)));
    }
    let out = env.manager.command(&env.ballast).args(["autostart", "disable"]).output().map_err(|e| e.to_string())?;
    if unit.exists() || !String::from_utf8_lossy(&out.stdout).contains("removed") {
        return Err(format!("autostart disable left {}", unit.display()));
    }
    Ok(())
}

fn main() {
    workload::run_if_requested();
    cases::run(
        "agent launch tests under a real user manager",
        setup(),
        &[
            ("launch_from_the_menu", launch_from_the_menu),
            ("launch_through_the_api", launch_through_the_api),
            ("autostart_unit_is_accepted_by_systemd", autostart_unit_is_accepted_by_systemd),
        ],
    );
}
