//! `ballast autostart`: a systemd user unit started with the Plasma session, or an XDG
//! autostart entry where there is no systemd user session; plus the app's desktop entry
//! and icon, so the application menu and notifications can show them.

use std::fs;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why `autostart enable` or `disable` failed.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum AutostartError {
    /// A file or its directory could not be written.
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    /// A file could not be removed.
    #[error("cannot remove {path}: {source}")]
    Remove { path: PathBuf, source: std::io::Error },
    /// `systemctl --user` failed (its stderr) or could not run.
    #[error("systemctl --user {args} failed: {detail}")]
    Systemctl { args: String, detail: String },
}

/// The app id, reverse-DNS as the desktop entry spec recommends.
pub const APP_ID: &str = "io.ballast.Ballast";
/// The user unit's name (systemd.unit(5)), under $XDG_CONFIG_HOME/systemd/user.
pub const UNIT: &str = "ballast.service";
const ICON: &[u8] = include_bytes!("../../icons/ballast.svg");

/// The templates in data/: the one source of what `autostart enable`, the Nix package and
/// the Nix modules install (nix/lib/systemd.nix reads the same files). `@exe@` stands for
/// the binary's absolute path; full-line `#` comments are for this repository only.
const UNIT_TEMPLATE: &str = include_str!("../../data/ballast.service");
const DESKTOP_TEMPLATE: &str = include_str!("../../data/io.ballast.Ballast.desktop");
const AUTOSTART_KEYS: &str = include_str!("../../data/io.ballast.Ballast-autostart.desktop");

/// A template as installed: comment lines dropped, `@exe@` replaced.
fn installed(template: &str, exe: &Path) -> String {
    let exe = exe.display().to_string();
    template
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{}\n", line.replace("@exe@", &exe)))
        .collect()
}

/// The user unit (data/ballast.service): wanted by graphical-session.target and ordered
/// after plasmashell, stopped with the graphical session, restarted on failure, and itself
/// held to a memory budget.
pub fn unit_text(exe: &Path) -> String {
    installed(UNIT_TEMPLATE, exe)
}

/// The application's desktop entry (menu entry, and the name notifications show); with
/// `autostart`, the XDG autostart entry: the keys of data/io.ballast.Ballast-autostart.desktop
/// replace those of the same name, the others follow.
pub fn desktop_entry(exe: &Path, autostart: bool) -> String {
    let entry = installed(DESKTOP_TEMPLATE, exe);
    if !autostart {
        return entry;
    }
    let overrides = installed(AUTOSTART_KEYS, exe);
    let key = |line: &str| line.split_once('=').map(|(key, _)| key.to_owned());
    let mut lines: Vec<&str> = entry.lines().collect();
    for line in overrides.lines() {
        match lines.iter().position(|l| key(l).is_some() && key(l) == key(line)) {
            Some(at) => lines[at] = line,
            None => lines.push(line),
        }
    }
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Where the autostart files go: this session's XDG base directories.
pub struct Places {
    /// $XDG_CONFIG_HOME (default ~/.config).
    pub config_home: PathBuf,
    /// $XDG_DATA_HOME (default ~/.local/share).
    pub data_home: PathBuf,
}

impl Places {
    /// From the environment; an unset, empty or relative variable takes its default under
    /// $HOME (crate::xdg).
    pub fn from_env() -> Places {
        Places { config_home: crate::xdg::config_home(), data_home: crate::xdg::data_home() }
    }

    /// The user unit: $XDG_CONFIG_HOME/systemd/user/ballast.service.
    pub fn unit(&self) -> PathBuf {
        self.config_home.join("systemd/user").join(UNIT)
    }

    /// The XDG autostart entry (XDG autostart spec):
    /// $XDG_CONFIG_HOME/autostart/io.ballast.Ballast.desktop.
    pub fn autostart_entry(&self) -> PathBuf {
        self.config_home.join("autostart").join(format!("{APP_ID}.desktop"))
    }

    /// The application's desktop entry: $XDG_DATA_HOME/applications/io.ballast.Ballast.desktop.
    pub fn app_entry(&self) -> PathBuf {
        self.data_home.join("applications").join(format!("{APP_ID}.desktop"))
    }

    /// The icon: $XDG_DATA_HOME/icons/hicolor/scalable/apps/ballast.svg.
    pub fn icon(&self) -> PathBuf {
        self.data_home.join("icons/hicolor/scalable/apps/ballast.svg")
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), AutostartError> {
    let failed = |source| AutostartError::Write { path: path.to_path_buf(), source };
    fs::create_dir_all(path.parent().expect("a file path")).map_err(failed)?;
    fs::write(path, bytes).map_err(failed)
}

fn remove(path: &Path) -> Result<bool, AutostartError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(AutostartError::Remove { path: path.to_path_buf(), source }),
    }
}

fn systemctl(args: &[&str]) -> Result<String, AutostartError> {
    let out = std::process::Command::new("systemctl").arg("--user").args(args).output();
    let joined = args.join(" ");
    match out {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
        Ok(out) => Err(AutostartError::Systemctl {
            args: joined,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        }),
        Err(e) => Err(AutostartError::Systemctl { args: joined, detail: e.to_string() }),
    }
}

/// Whether a systemd user manager answers for this session.
pub fn has_user_manager() -> bool {
    systemctl(&["show", "-p", "SystemState", "--value"])
        .is_ok_and(|state| matches!(state.as_str(), "running" | "degraded" | "starting"))
}

/// The targets whose start pulls the unit in (its `[Install] WantedBy=`).
pub fn wanted_by() -> &'static str {
    UNIT_TEMPLATE.lines().find_map(|line| line.strip_prefix("WantedBy=")).expect("data/ballast.service has WantedBy=")
}

/// Installs the desktop entry and icon, then the unit (enabled) or, without a systemd
/// user session, the XDG autostart entry. With the unit, an XDG autostart entry written
/// before (where no user manager ran) is removed, so one session starts one agent. Returns
/// what was done, line by line.
pub fn enable(places: &Places, exe: &Path, use_systemd: bool) -> Result<Vec<String>, AutostartError> {
    let mut done = Vec::new();
    write(&places.app_entry(), desktop_entry(exe, false).as_bytes())?;
    write(&places.icon(), ICON)?;
    done.push(format!("installed {} and {}", places.app_entry().display(), places.icon().display()));
    if use_systemd {
        write(&places.unit(), unit_text(exe).as_bytes())?;
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", UNIT])?;
        done.push(format!("enabled {} (starts with {}, after plasmashell)", places.unit().display(), wanted_by()));
        if remove(&places.autostart_entry())? {
            done.push(format!("removed {}: the unit starts the agent now", places.autostart_entry().display()));
        }
    } else {
        write(&places.autostart_entry(), desktop_entry(exe, true).as_bytes())?;
        done.push(format!("no systemd user session: wrote {} (XDG autostart)", places.autostart_entry().display()));
    }
    Ok(done)
}

/// For `agent --defer-to-unit` (what the XDG autostart entry runs): true when this
/// session's user manager starts ballast.service itself, because the unit is enabled
/// (`autostart enable`, or home-manager's graphical-session.target.wants/ link). False
/// without a user manager or when the unit is not enabled.
pub async fn unit_starts_agent() -> bool {
    let Ok(manager) = crate::launch::UserManager::connect().await else { return false };
    manager.unit_file_state(UNIT).await.is_ok_and(|state| matches!(state.as_str(), "enabled" | "enabled-runtime"))
}

/// Disables and removes the unit (with a systemd user session) and removes the XDG autostart
/// entry; the desktop entry and icon stay. Returns what was done, line by line.
pub fn disable(places: &Places, use_systemd: bool) -> Result<Vec<String>, AutostartError> {
    let mut done = Vec::new();
    if use_systemd && places.unit().exists() {
        systemctl(&["disable", UNIT])?;
    }
    for path in [places.unit(), places.autostart_entry()] {
        if remove(&path)? {
            done.push(format!("removed {}", path.display()));
        }
    }
    if use_systemd {
        systemctl(&["daemon-reload"])?;
    }
    if done.is_empty() {
        done.push("autostart was not enabled".into());
    }
    Ok(done)
}

/// What starts the agent, line by line: the unit (and whether systemd has it enabled) and the
/// XDG autostart entry, or that autostart is not enabled.
pub fn status(places: &Places, use_systemd: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if places.unit().exists() {
        let enabled = if use_systemd {
            systemctl(&["is-enabled", UNIT]).unwrap_or_else(|e| e.to_string())
        } else {
            "no user manager to ask".into()
        };
        lines.push(format!("systemd unit {}: {enabled}", places.unit().display()));
    }
    if places.autostart_entry().exists() {
        lines.push(format!("XDG autostart entry {}", places.autostart_entry().display()));
    }
    if lines.is_empty() {
        lines.push("autostart is not enabled (`ballast autostart enable`)".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_starts_with_plasma_and_limits_itself() {
        let text = unit_text(Path::new("/usr/bin/ballast"));
        for line in [
            "ExecStart=/usr/bin/ballast agent",
            "WantedBy=graphical-session.target",
            "After=plasma-plasmashell.service",
            "PartOf=graphical-session.target",
            "Restart=on-failure",
            "MemoryMax=48M",
            "BusName=io.ballast.Agent",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(text.starts_with("[Unit]\n") && !text.contains('#') && !text.contains("@exe@"), "{text}");
        assert_eq!(wanted_by(), "graphical-session.target");
    }

    /// Plasma's plasma-workspace.target is Before=graphical-session.target: a unit wanted by
    /// it may not be After=graphical-session.target (an ordering cycle, FACTS.md).
    #[test]
    fn the_unit_is_not_ordered_after_the_target_that_wants_it() {
        let text = unit_text(Path::new("/usr/bin/ballast"));
        let after: Vec<&str> =
            text.lines().filter_map(|l| l.strip_prefix("After=")).flat_map(str::split_whitespace).collect();
        assert!(!after.contains(&wanted_by()), "{after:?}");
        assert!(
            !after.contains(&"graphical-session.target") && !wanted_by().contains("plasma-workspace.target"),
            "{text}"
        );
    }

    #[test]
    fn the_autostart_entry_replaces_exec_and_adds_keys() {
        let entry = desktop_entry(Path::new("/opt/b"), true);
        let execs: Vec<&str> = entry.lines().filter(|l| l.starts_with("Exec=")).collect();
        assert_eq!(execs, ["Exec=/opt/b agent --defer-to-unit"]);
        assert!(entry.ends_with("X-KDE-autostart-phase=2\nNoDisplay=true\n"), "{entry}");
        let plain = desktop_entry(Path::new("/opt/b"), false);
        assert_eq!(plain.lines().count() + 2, entry.lines().count(), "{plain}\n{entry}");
    }

    #[test]
    fn xdg_fallback_without_systemd() {
        let dir = tempfile::tempdir().unwrap();
        let places = Places { config_home: dir.path().join("config"), data_home: dir.path().join("data") };
        let done = enable(&places, Path::new("/opt/ballast"), false).unwrap();
        assert!(done.iter().any(|l| l.contains("XDG autostart")), "{done:?}");
        let entry = fs::read_to_string(places.autostart_entry()).unwrap();
        assert!(entry.contains("Exec=/opt/ballast agent --defer-to-unit") && entry.contains("X-KDE-autostart-phase=2"));
        assert!(places.app_entry().exists() && places.icon().exists());
        assert!(status(&places, false)[0].contains("XDG autostart"));
        disable(&places, false).unwrap();
        assert!(!places.autostart_entry().exists());
        assert_eq!(disable(&places, false).unwrap(), ["autostart was not enabled"]);
    }
}
