//! OOM kills anywhere in the user's session, not only in app units: the user manager's
//! memory.events counts the kernel's kills in its whole subtree (cgroup v2, kernel doc
//! cgroup-v2.rst "memory.events"), so one file read per tick says whether there was one, and
//! only then are the units below it read to find where. systemd-oomd's kills are not the
//! kernel's: they come as its `Killed(s cgroup, s reason)` signal on the system bus
//! (org.freedesktop.oom1(5), systemd 252+).

use crate::events::{Event, Kind};
use crate::profile::Profile;
use crate::render::human;
use crate::sample::cgroup;
use crate::sample::files::OpenFiles;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why systemd-oomd's kills cannot be watched.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum KillsError {
    /// No system bus, or it refused the match rule.
    #[error("systemd-oomd's kills cannot be watched on the system bus ({detail})")]
    NoSystemBus { detail: String },
}

/// A kill by systemd-oomd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OomdKill {
    /// The cgroup it killed, from the hierarchy's root:
    /// `/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope`.
    pub cgroup: String,
    /// `memory-pressure` (ManagedOOMMemoryPressure) or `memory-used` (ManagedOOMSwap); the
    /// man page says more may come.
    pub reason: String,
}

/// systemd-oomd's kills as it signals them. The stream holds its own system-bus connection;
/// it ends with the bus. Whether oomd runs is `oomd_running`'s question: the signal is
/// matched on its bus name, so an oomd started later is heard too.
pub async fn oomd_kills() -> Result<impl futures_util::Stream<Item = OomdKill>, KillsError> {
    let failed = |e: zbus::Error| KillsError::NoSystemBus { detail: e.to_string() };
    let system = zbus::Connection::system().await.map_err(failed)?;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.oom1")
        .and_then(|b| b.path("/org/freedesktop/oom1"))
        .and_then(|b| b.interface("org.freedesktop.oom1.Manager"))
        .and_then(|b| b.member("Killed"))
        .map_err(failed)?
        .build();
    let stream = zbus::MessageStream::for_match_rule(rule, &system, None).await.map_err(failed)?;
    Ok(stream.filter_map(|message| async move {
        let (cgroup, reason): (String, String) = message.ok()?.body().deserialize().ok()?;
        Some(OomdKill { cgroup, reason })
    }))
}

/// Whether systemd-oomd holds its bus name on the system bus now.
pub async fn oomd_running() -> bool {
    let Ok(system) = zbus::Connection::system().await else { return false };
    let Ok(bus) = zbus::fdo::DBusProxy::new(&system).await else { return false };
    let name = zbus::names::BusName::try_from("org.freedesktop.oom1").expect("a valid bus name");
    bus.name_has_owner(name).await.unwrap_or(false)
}

/// A unit whose processes the kernel's OOM killer killed since the last look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Killed {
    /// The unit's name, e.g. `plasma-baloorunner.service`.
    pub unit: String,
    /// Kills since the last look.
    pub count: u64,
    /// memory.max in bytes; None when the unit has no limit of its own ("max").
    pub memory_max: Option<u64>,
    /// memory.peak in bytes (Linux 5.19+); None where the kernel has none.
    pub peak: Option<u64>,
}

/// The kill counters of the user manager's cgroup and of each unit below it.
pub struct KillWatch {
    /// The user manager's cgroup directory, e.g. /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service.
    dir: PathBuf,
    total: u64,
    units: HashMap<String, u64>,
    /// The user manager's memory.events, held open: read every tick.
    events: OpenFiles,
    buffer: Vec<u8>,
}

impl KillWatch {
    /// Starts from the counts as they are now: kills before the agent started are not news.
    pub fn new(dir: PathBuf) -> KillWatch {
        let mut watch =
            KillWatch { total: 0, units: unit_kills(&dir), dir, events: OpenFiles::new(1), buffer: Vec::new() };
        watch.total = watch.oom_kills().unwrap_or(0);
        watch
    }

    /// The session's memory.events `oom_kill`; None when unreadable.
    fn oom_kills(&mut self) -> Option<u64> {
        self.events.read(&self.dir.join("memory.events"), &mut self.buffer).ok()?;
        oom_kill(std::str::from_utf8(&self.buffer).ok()?)
    }

    /// The units with kills since the last call; reads the units only when the session's
    /// count rose. A unit that appeared since the last look counts from zero.
    pub fn check(&mut self) -> Vec<Killed> {
        let Some(total) = self.oom_kills() else { return Vec::new() };
        if total <= self.total {
            self.total = total;
            return Vec::new();
        }
        self.total = total;
        let now = unit_kills(&self.dir);
        let mut killed = Vec::new();
        for (path, &count) in &now {
            let before = self.units.get(path).copied().unwrap_or(0);
            // memory.events is hierarchical: the deepest unit that rose is where it happened.
            let inner_rose = now.iter().any(|(other, &n)| {
                other.starts_with(&format!("{path}/")) && n > self.units.get(other).copied().unwrap_or(0)
            });
            if count > before && !inner_rose {
                killed.extend(self.killed(path, count - before));
            }
        }
        self.units = now;
        killed.sort_by(|a, b| a.unit.cmp(&b.unit));
        killed
    }

    /// The kill in the unit at `path`; None when its cgroup is already gone (its limit can no
    /// longer be read): a unit systemd stops on an OOM kill (OOMPolicy=stop) is then told by
    /// its Result `oom-kill`, with the limits the user manager keeps.
    fn killed(&self, path: &str, count: u64) -> Option<Killed> {
        let dir = self.dir.join(path);
        let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
        Some(Killed {
            unit: path.rsplit('/').next().unwrap_or(path).to_owned(),
            count,
            memory_max: cgroup::parse_limit(&read("memory.max")?).ok().flatten(),
            peak: read("memory.peak").and_then(|t| cgroup::parse_current(&t).ok()),
        })
    }
}

/// memory.events `oom_kill` of the cgroup `dir`; None when unreadable.
fn oom_kills(dir: &Path) -> Option<u64> {
    oom_kill(&std::fs::read_to_string(dir.join("memory.events")).ok()?)
}

/// `oom_kill` of memory.events `text`; None when malformed.
fn oom_kill(text: &str) -> Option<u64> {
    cgroup::parse_events(text).ok().map(|events| events.oom_kill)
}

/// `oom_kill` of every unit below `dir`, by path relative to it.
fn unit_kills(dir: &Path) -> HashMap<String, u64> {
    let mut found = HashMap::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&relative)) else { continue };
        for entry in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(cgroup::is_unit_name(&name) || cgroup::is_slice_name(&name)) {
                continue;
            }
            let path = relative.join(&name);
            if cgroup::is_unit_name(&name) {
                if let Some(count) = oom_kills(&entry.path()) {
                    found.insert(path.to_string_lossy().into_owned(), count);
                }
            }
            pending.push(path);
        }
    }
    found
}

/// The app as the user knows it: the catalog's name, else the Name of the desktop entry its
/// unit name carries (looked up in `data_dirs`' applications/), else the unit.
pub fn who(profile: &Profile, unit: &str, data_dirs: &[PathBuf]) -> String {
    if let Some(app) = crate::launch::ScopeStatus::named(profile, unit).app.and_then(|id| profile.app(&id)) {
        return app.name.clone();
    }
    crate::launch::govern::desktop_ids(unit)
        .iter()
        .find_map(|id| data_dirs.iter().find_map(|dir| desktop_name(&dir.join(format!("applications/{id}.desktop")))))
        .unwrap_or_else(|| unit.to_owned())
}

/// `[Desktop Entry] Name` of a desktop file (freedesktop Desktop Entry spec), untranslated.
fn desktop_name(file: &Path) -> Option<String> {
    let bytes = std::fs::read(file).ok()?;
    let document = crate::kconfig::Document::parse(&bytes);
    let name = document.get("Desktop Entry", "Name")?;
    Some(String::from_utf8_lossy(&name.value).into_owned())
}

/// $XDG_DATA_HOME and $XDG_DATA_DIRS, most important first (XDG Base Directory spec defaults).
pub fn data_dirs() -> Vec<PathBuf> {
    let data_home = crate::xdg::data_home();
    let dirs = std::env::var("XDG_DATA_DIRS").ok().filter(|v| !v.is_empty());
    let dirs = dirs.as_deref().unwrap_or("/usr/local/share:/usr/share");
    std::iter::once(data_home).chain(dirs.split(':').filter(|d| !d.is_empty()).map(PathBuf::from)).collect()
}

/// The event for a kill, with why in words.
pub fn event(time: u64, who: String, killed: &Killed) -> Event {
    let why = match (killed.peak, killed.memory_max) {
        (Some(peak), Some(max)) => format!("used {} of its {} MemoryMax", human(peak), human(max)),
        (None, Some(max)) => format!("reached its {} MemoryMax", human(max)),
        (_, None) => "no limit of its own: the system ran out of memory".to_owned(),
    };
    let why = if killed.count > 1 { format!("{why} ({} processes killed)", killed.count) } else { why };
    Event { time, kind: Kind::OomKill, who, unit: killed.unit.clone(), why }
}

/// The event for an oomd kill of `unit`; `pressure`: the memory pressure (`full` avg10, %)
/// of the cgroup above it, which oomd watched, read just after the kill.
pub fn oomd_event(time: u64, who: String, unit: String, kill: &OomdKill, pressure: Option<f32>) -> Event {
    let watched = kill.cgroup.rsplit('/').nth(1).unwrap_or("its slice");
    let why = match kill.reason.as_str() {
        "memory-pressure" => {
            let now = pressure.map(|p| format!(", {p:.0} % over the last 10 s")).unwrap_or_default();
            format!("systemd-oomd: memory pressure in {watched} stayed over its limit{now}, and it reclaimed the most")
        }
        "memory-used" => "systemd-oomd: swap ran short, and it used the most memory and swap".to_owned(),
        other => format!("systemd-oomd: {other}"),
    };
    Event { time, kind: Kind::OomdKill, who, unit, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ballast-kills-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn set(dir: &Path, path: &str, kills: u64) {
        let unit = dir.join(path);
        std::fs::create_dir_all(&unit).unwrap();
        let events = format!("low 0\nhigh 0\nmax 3\noom 1\noom_kill {kills}\noom_group_kill 0\n");
        std::fs::write(unit.join("memory.events"), events).unwrap();
    }

    #[test]
    fn a_kill_is_found_in_the_deepest_unit_that_counted_it() {
        let dir = tree("deep");
        set(&dir, "", 2);
        set(&dir, "app.slice/app-org.kde.dolphin@1.service", 0);
        set(&dir, "app.slice/app-ballast-chromium-1.scope", 1);
        set(&dir, "app.slice/app-ballast-chromium-1.scope/renderer.scope", 0);
        let mut watch = KillWatch::new(dir.clone());
        assert!(watch.check().is_empty(), "kills before the start are not news");
        set(&dir, "", 4);
        set(&dir, "app.slice/app-ballast-chromium-1.scope", 2);
        set(&dir, "app.slice/app-ballast-chromium-1.scope/renderer.scope", 1);
        std::fs::write(dir.join("app.slice/app-ballast-chromium-1.scope/renderer.scope/memory.max"), "max\n").unwrap();
        set(&dir, "app.slice/app-org.kde.dolphin@1.service", 1);
        std::fs::remove_dir_all(dir.join("app.slice/app-org.kde.dolphin@1.service")).unwrap();
        set(&dir, "session.slice/plasma-kded6.service", 1);
        std::fs::write(dir.join("session.slice/plasma-kded6.service/memory.max"), "209715200\n").unwrap();
        std::fs::write(dir.join("session.slice/plasma-kded6.service/memory.peak"), "209000000\n").unwrap();
        let killed = watch.check();
        let units: Vec<(&str, u64)> = killed.iter().map(|k| (k.unit.as_str(), k.count)).collect();
        // dolphin's cgroup is gone before it is read: its Result tells of it instead.
        assert_eq!(units, [("plasma-kded6.service", 1), ("renderer.scope", 1)]);
        assert_eq!((killed[0].memory_max, killed[0].peak), (Some(200 << 20), Some(209_000_000)));
        assert_eq!(killed[1].memory_max, None, "\"max\": no limit of its own");
        assert!(watch.check().is_empty(), "each kill is news once");
    }

    #[test]
    fn why_says_the_limit_or_the_system() {
        let limited = Killed { unit: "x.service".into(), count: 1, memory_max: Some(3 << 30), peak: Some(3 << 30) };
        assert_eq!(event(0, "X".into(), &limited).why, "used 3.0G of its 3.0G MemoryMax");
        let free = Killed { memory_max: None, count: 2, ..limited };
        assert_eq!(
            event(0, "X".into(), &free).why,
            "no limit of its own: the system ran out of memory (2 processes killed)"
        );
    }

    #[test]
    fn an_oomd_kill_says_which_limit_and_where() {
        let kill = OomdKill {
            cgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope".into(),
            reason: "memory-pressure".into(),
        };
        let event = oomd_event(7, "X".into(), "app-x.scope".into(), &kill, Some(71.6));
        assert_eq!(
            event.why,
            "systemd-oomd: memory pressure in app.slice stayed over its limit, 72 % over the last 10 s, and it reclaimed the most"
        );
        assert_eq!((event.kind, event.unit.as_str()), (Kind::OomdKill, "app-x.scope"));
        let swap = OomdKill { reason: "memory-used".into(), ..kill.clone() };
        assert!(oomd_event(7, "X".into(), "u".into(), &swap, None).why.contains("swap ran short"));
        let newer = OomdKill { reason: "cpu-pressure".into(), ..kill };
        assert_eq!(oomd_event(7, "X".into(), "u".into(), &newer, None).why, "systemd-oomd: cpu-pressure");
    }

    #[test]
    fn who_is_the_catalog_name_else_the_desktop_entry_else_the_unit() {
        let dir = tree("who");
        std::fs::create_dir_all(dir.join("applications")).unwrap();
        std::fs::write(
            dir.join("applications/org.kde.dolphin.desktop"),
            "[Desktop Entry]\nName=Dolphin\nName[de]=Dolphin-DE\n",
        )
        .unwrap();
        let profile = Profile::embedded();
        let dirs = [dir];
        assert_eq!(who(&profile, "app-org.kde.dolphin@3f2a.service", &dirs), "Dolphin");
        assert_eq!(who(&profile, "app-ballast-discord-1a2b3c4d.scope", &dirs), "Discord");
        assert_eq!(who(&profile, "plasma-kded6.service", &dirs), "plasma-kded6.service");
    }
}
