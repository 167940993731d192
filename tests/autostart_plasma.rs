//! The agent's autostart against Plasma's real systemd user units, under a real user manager
//! (testbed/src/harness/user_manager.rs): Debian 12's Plasma 5.27 units (installed by `make test`)
//! and Debian trixie's Plasma 6.3 units (unpacked from the .debs by scripts/plasma6-units.sh).
//!
//! For both the unit `ballast autostart enable` writes and the one home-manager writes from
//! the home module (evaluated with the stand-in home-manager of nix/tests/support, which keeps
//! home-manager's types): enabled, `systemd-analyze --user verify plasma-workspace.target`
//! prints no ordering cycle; then with Plasma's own units, their services replaced by `sleep`,
//! starting the session's target (as startplasma does) starts the agent, after plasmashell.
//! The unit ballast shipped before (WantedBy=plasma-workspace.target,
//! After=graphical-session.target) is the control: the same check finds its cycle.

use testbed::harness::cases;
use testbed::harness::nix as nix_common;
use testbed::harness::user_manager;
// Only its `install` (ballast copied where the test user can run it).
use testbed::harness::workload;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use user_manager::UserManager;

/// Plasma's units: Debian 12's 5.27 in the system's unit path, or Plasma 6's (unpacked) in
/// ~/.local/share/systemd/user, where they take precedence over the system's.
#[derive(Clone, Copy, Debug)]
enum Plasma {
    Five,
    Six,
}

struct Env {
    manager: UserManager,
    ballast: PathBuf,
    plasma6: PathBuf,
}

fn plasma6_units() -> Result<PathBuf, String> {
    let script = nix_common::root().join("scripts/plasma6-units.sh");
    let out = std::process::Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed: the Plasma 6 units cannot be fetched", script.display()));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("user"))
}

fn setup() -> Result<Env, String> {
    if !Path::new("/usr/lib/systemd/user/plasma-workspace.target").exists() {
        return Err("Plasma 5.27's units are missing: install plasma-workspace (`make test` does)".into());
    }
    let plasma6 = plasma6_units()?;
    let manager = UserManager::start()?;
    let (ballast, _) = workload::install(manager.home_dir(), "", "")?;
    // The test user reads the unpacked units from /root's cache through a copy in its home.
    let copy = manager.home_dir().join("plasma6-units");
    copy_dir(&plasma6, &copy)?;
    Ok(Env { manager, ballast, plasma6: copy })
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        fs::copy(&path, to.join(path.file_name().expect("a file name")))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

impl Env {
    fn home(&self, relative: &str) -> PathBuf {
        self.manager.home_dir().join(relative)
    }

    fn run(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Result<String, String> {
        let out = self.manager.command(program).args(args).output().map_err(|e| e.to_string())?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("{args:?}: {text}"))
        }
    }

    fn systemctl(&self, args: &[&str]) -> Result<String, String> {
        self.run("systemctl", &[&["--user"], args].concat())
    }

    /// Files written as the test user must be the test user's: a fresh tree, chowned.
    fn write(&self, relative: &str, text: &str) -> Result<PathBuf, String> {
        let path = self.home(relative);
        fs::create_dir_all(path.parent().expect("a parent")).map_err(|e| e.to_string())?;
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        self.chown_tree(".config")?;
        self.chown_tree(".local")?;
        Ok(path)
    }

    fn chown_tree(&self, relative: &str) -> Result<(), String> {
        chown_tree(&self.home(relative), self.manager.uid())
    }

    /// No ballast unit, no Plasma 6 units, no stand-ins: a manager as it started.
    fn reset(&self) -> Result<(), String> {
        let _ = self.systemctl(&["stop", "graphical-session.target", "ballast.service"]);
        for dir in [".config/systemd", ".local/share/systemd", ".config/autostart"] {
            let _ = fs::remove_dir_all(self.home(dir));
        }
        self.systemctl(&["daemon-reload"]).map(|_| ())
    }

    fn use_plasma(&self, plasma: Plasma) -> Result<(), String> {
        if let Plasma::Six = plasma {
            copy_dir(&self.plasma6, &self.home(".local/share/systemd/user"))?;
            self.chown_tree(".local")?;
        }
        Ok(())
    }

    /// The directory holding the Plasma units in use.
    fn plasma_dir(&self, plasma: Plasma) -> PathBuf {
        match plasma {
            Plasma::Five => PathBuf::from("/usr/lib/systemd/user"),
            Plasma::Six => self.plasma6.clone(),
        }
    }

    /// `systemd-analyze --user verify plasma-workspace.target`: its ordering-cycle lines.
    fn cycles(&self) -> Result<Vec<String>, String> {
        let out = self
            .manager
            .command("systemd-analyze")
            .args(["--user", "verify", "plasma-workspace.target"])
            .output()
            .map_err(|e| e.to_string())?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        Ok(text
            .lines()
            .filter(|l| l.contains("ordering cycle") || l.contains("to break ordering cycle"))
            .map(str::to_owned)
            .collect())
    }

    /// Every service of the Plasma units in use, as a copy in ~/.config/systemd/user with its
    /// [Unit] and [Install] kept and its [Service] replaced by `sleep infinity`.
    fn stand_in_services(&self, plasma: Plasma) -> Result<(), String> {
        let dir = self.plasma_dir(plasma);
        for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().expect("a name").to_string_lossy().into_owned();
            if !(name.starts_with("plasma-") || name.starts_with("kde-")) || !name.ends_with(".service") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            self.write(&format!(".config/systemd/user/{name}"), &sleeping(&text))?;
        }
        Ok(())
    }

    /// Starts the session's target as startplasma does (with the display in the manager's
    /// environment first) and waits until ballast.service is active.
    fn start_session(&self) -> Result<(), String> {
        self.systemctl(&["set-environment", "DISPLAY=:99"])?;
        // Host programs behind XDG autostart entries (/etc/xdg/autostart) stay out of it.
        self.systemctl(&["mask", "--runtime", "xdg-desktop-autostart.target"])?;
        self.systemctl(&["daemon-reload"])?;
        self.systemctl(&["start", "--no-block", "plasma-workspace-x11.target"])?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self.systemctl(&["is-active", "ballast.service"]).unwrap_or_else(|e| e);
            if state.trim() == "active" {
                return Ok(());
            }
            if Instant::now() > deadline {
                let status = self
                    .systemctl(&["status", "--no-pager", "ballast.service", "plasma-plasmashell.service"])
                    .unwrap_or_else(|e| e);
                return Err(format!(
                    "ballast.service is not active 20 s after the session target started: {}\n{status}",
                    state.trim()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Microseconds since boot at which a unit became active.
    fn active_since(&self, unit: &str) -> Result<u64, String> {
        let value = self.systemctl(&["show", "-P", "ActiveEnterTimestampMonotonic", unit])?;
        value.trim().parse().map_err(|e| format!("{unit} ActiveEnterTimestampMonotonic {value:?}: {e}"))
    }

    /// The unit, its .wants/ link and the session's drop-ins as home-manager writes them from
    /// `programs.ballast.enable = true` (nix/tests/support/home-manager.nix), with ballast's
    /// package at ~/pkg.
    fn install_as_home_manager(&self) -> Result<(), String> {
        let package = self.home("pkg");
        fs::create_dir_all(package.join("bin")).map_err(|e| e.to_string())?;
        let exe = package.join("bin/ballast");
        if !exe.exists() {
            fs::copy(&self.ballast, &exe).map_err(|e| e.to_string())?;
            fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        }
        let files = nix_common::eval_json(&format!(
            r#"let
              m = import {support};
              c = (m.evalHome {{ modules = [ {module} {{
                programs.ballast = {{ enable = true; checkConfig = false;
                  package = {{ type = "derivation"; name = "ballast"; outPath = {package}; meta.mainProgram = "ballast"; }}; }};
              }} ]; }}).config;
              units = builtins.filter (name: builtins.substring 0 13 name == "systemd/user/") (builtins.attrNames c.xdg.configFile);
              # A `text` entry (the session's drop-ins) has no source in the stand-in; home-manager
              # writes it to a store file all the same.
              textOf = file: if file.source != null then file.source.text else file.text;
            in map (name: {{ inherit name; text = textOf c.xdg.configFile.${{name}}; }}) units"#,
            support = nix_common::nix_path("nix/tests/support/modules.nix"),
            module = nix_common::nix_path("nix/modules/home/ballast.nix"),
            package = nix_common::nix_string(package.to_str().expect("UTF-8")),
        ));
        // home-manager links each file to a store file named like it, one per content: the
        // unit and its .wants/ link share one (systemd then sees the unit enabled).
        let files = files.as_array().expect("a list");
        for file in files {
            let (name, text) = (file["name"].as_str().expect("a name"), file["text"].as_str().expect("text"));
            let first = files.iter().position(|f| f["text"] == file["text"]).expect("itself");
            let store =
                self.write(&format!("store/{first}/{}", name.rsplit('/').next().expect("a file name")), text)?;
            let link = self.home(&format!(".config/{name}"));
            fs::create_dir_all(link.parent().expect("a parent")).map_err(|e| e.to_string())?;
            symlink(&store, &link).map_err(|e| format!("{}: {e}", link.display()))?;
        }
        self.chown_tree(".config")?;
        self.chown_tree("store")?;
        self.systemctl(&["daemon-reload"]).map(|_| ())
    }

    fn autostart_enable(&self) -> Result<String, String> {
        self.run(&self.ballast, &["autostart", "enable"])
    }
}

/// Gives `path` and everything below it (links themselves, not their targets) to `uid`.
fn chown_tree(path: &Path, uid: u32) -> Result<(), String> {
    let Ok(meta) = fs::symlink_metadata(path) else { return Ok(()) };
    std::os::unix::fs::lchown(path, Some(uid), None).map_err(|e| format!("chown {}: {e}", path.display()))?;
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))? {
            chown_tree(&entry.map_err(|e| e.to_string())?.path(), uid)?;
        }
    }
    Ok(())
}

/// A unit's text with its [Service] section replaced by a sleeping one.
fn sleeping(text: &str) -> String {
    let mut out = String::new();
    let mut in_service = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_service = line.trim() == "[Service]";
            out.push_str(line);
            out.push('\n');
            if in_service {
                out.push_str("Type=simple\nExecStart=/bin/sleep infinity\n");
            }
        } else if !in_service {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The unit ballast wrote before: its cycle must be found, or the check proves nothing.
const CYCLING_UNIT: &str = "[Unit]\nDescription=ballast (old ordering)\nPartOf=graphical-session.target\nAfter=graphical-session.target plasma-plasmashell.service\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=plasma-workspace.target\n";

fn no_cycle(env: &Env, plasma: Plasma, install: fn(&Env) -> Result<(), String>) -> Result<(), String> {
    env.reset()?;
    env.use_plasma(plasma)?;
    install(env)?;
    let enabled = env.systemctl(&["is-enabled", "ballast.service"]).unwrap_or_else(|e| e);
    let wants = env.home(".config/systemd/user/graphical-session.target.wants/ballast.service");
    if enabled.trim() != "enabled" || !wants.exists() {
        return Err(format!(
            "ballast.service is not enabled: is-enabled says {enabled:?}, {} exists: {}",
            wants.display(),
            wants.exists()
        ));
    }
    let cycles = env.cycles()?;
    if !cycles.is_empty() {
        return Err(format!("{plasma:?}: {}", cycles.join("\n")));
    }
    // The control: the old unit, enabled the same way, is caught.
    env.reset()?;
    env.use_plasma(plasma)?;
    env.write(".config/systemd/user/ballast.service", CYCLING_UNIT)?;
    env.systemctl(&["enable", "ballast.service"])?;
    if env.cycles()?.is_empty() {
        return Err(format!("{plasma:?}: the check missed the old unit's ordering cycle"));
    }
    Ok(())
}

fn starts_with_the_session(env: &Env, plasma: Plasma, install: fn(&Env) -> Result<(), String>) -> Result<(), String> {
    env.reset()?;
    env.use_plasma(plasma)?;
    install(env)?;
    env.stand_in_services(plasma)?;
    env.start_session()?;
    let (shell, agent) = (env.active_since("plasma-plasmashell.service")?, env.active_since("ballast.service")?);
    if !(shell > 0 && agent >= shell) {
        return Err(format!("ballast.service active at {agent} µs, plasmashell at {shell} µs: not after it"));
    }
    let owner = env.run("busctl", &["--user", "status", "io.ballast.Agent"]).unwrap_or_else(|e| e);
    if !owner.contains("ballast") {
        return Err(format!("io.ballast.Agent is not owned by the agent: {owner}"));
    }
    env.reset()
}

fn by_autostart_enable(env: &Env) -> Result<(), String> {
    let said = env.autostart_enable()?;
    if !said.contains("starts with graphical-session.target") {
        return Err(format!("autostart enable said: {said}"));
    }
    Ok(())
}

fn by_home_manager(env: &Env) -> Result<(), String> {
    env.install_as_home_manager()
}

/// With the unit enabled, what the XDG autostart entry runs exits at once and leaves the bus
/// name free; with nothing wanting the unit, it is the agent.
fn xdg_autostart_entry_defers_to_the_unit(env: &Env) -> Result<(), String> {
    for install in [by_autostart_enable as fn(&Env) -> Result<(), String>, by_home_manager] {
        env.reset()?;
        install(env)?;
        let mut agent = env
            .manager
            .command(&env.ballast)
            .args(["agent", "--defer-to-unit"])
            .env("DISPLAY", ":99")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while agent.try_wait().map_err(|e| e.to_string())?.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = agent.kill();
        let out = agent.wait_with_output().map_err(|e| e.to_string())?;
        let said = String::from_utf8_lossy(&out.stdout);
        if !(out.status.success() && said.contains("defers to it")) {
            return Err(format!("--defer-to-unit with the unit enabled did not exit at once: {} {said}", out.status));
        }
    }
    env.reset()?;
    let mut agent = env
        .manager
        .command(&env.ballast)
        .args(["agent", "--defer-to-unit"])
        .env("DISPLAY", ":99")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let result = loop {
        if env.run("busctl", &["--user", "status", "io.ballast.Agent"]).is_ok() {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err("--defer-to-unit without the unit did not start the agent".to_owned());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = agent.kill();
    let _ = agent.wait();
    result
}

fn main() {
    cases::run(
        "autostart against Plasma's units under a real user manager",
        setup(),
        &[
            ("autostart_enable_has_no_cycle_with_plasma_5", |env| no_cycle(env, Plasma::Five, by_autostart_enable)),
            ("autostart_enable_has_no_cycle_with_plasma_6", |env| no_cycle(env, Plasma::Six, by_autostart_enable)),
            ("home_manager_unit_has_no_cycle_with_plasma_5", |env| no_cycle(env, Plasma::Five, by_home_manager)),
            ("home_manager_unit_has_no_cycle_with_plasma_6", |env| no_cycle(env, Plasma::Six, by_home_manager)),
            ("plasma_5_session_starts_the_agent", |env| {
                starts_with_the_session(env, Plasma::Five, by_autostart_enable)
            }),
            ("plasma_6_session_starts_the_agent", |env| starts_with_the_session(env, Plasma::Six, by_autostart_enable)),
            ("plasma_6_session_starts_the_home_manager_unit", |env| {
                starts_with_the_session(env, Plasma::Six, by_home_manager)
            }),
            ("xdg_autostart_entry_defers_to_the_unit", xdg_autostart_entry_defers_to_the_unit),
        ],
    );
}
