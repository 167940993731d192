//! Keeping every instance of a catalog app within the catalog's limits, per app.
//!
//! The limit is per app, not per unit: two units with MemoryMax=3G would let an app use
//! 6G. So one unit per app, its *home*, holds all of the app's processes and carries the
//! catalog's MemoryHigh, MemoryMax and CPUQuota. The home is always a scope ballast
//! started, delegated (Delegate=yes), because systemd moves processes into delegated units
//! only ("Process migration not available on non-delegated units", systemd 252, seen):
//!
//! - an app `ballast launch` started already has one; the processes of every other unit of
//!   the app (the scope Chromium or Electron moves itself into, a second instance) are moved
//!   into it (AttachProcessesToUnit), after which systemd stops the emptied scope;
//! - an app another launcher started (Plasma's `app-<id>@<uuid>.service`) is *adopted*: a new
//!   scope with the catalog's limits is started around its processes (StartTransientUnit
//!   with PIDs=, as `systemd-run --scope` does). Plasma's service stays active while its
//!   main process lives, as systemd tracks that PID wherever it runs, and ends with it.
//!
//! Limiting every unit in place (SetUnitProperties) would be simpler, but would give an app
//! N times its limit in N units.
//!
//! Pure: recognising a unit takes its name and the command lines in it; planning takes the
//! recognised units and returns the steps. The agent does the D-Bus calls.

use crate::profile::{unescape_unit_part, App, Govern, Profile};
use serde::{Deserialize, Serialize};

/// Who started an app unit, as its name says (systemd's desktop-environment spec:
/// `app-[<launcher>-]<ApplicationID>-<RANDOM>.scope`, `app-[<launcher>-]<ApplicationID>[@<RANDOM>].service`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Starter {
    /// `ballast launch` (or the tray, the dashboard): `app-ballast-<id>-<random>.scope`.
    Ballast,
    /// The desktop: Plasma's launcher, KRunner, session restore (`app-<id>@<uuid>.service`
    /// on Plasma 6, `app-<id>-<uuid>.scope` on Plasma 5), or anything else naming no launcher.
    /// Also what an agent older than this field is read as.
    #[default]
    Desktop,
    /// Another launcher the name gives (`app-gnome-…`, `app-flatpak-…`).
    Launcher,
    /// The app itself, moving out of the unit it started in: `app-<id>-<pid>.scope` holding
    /// that PID (Chromium's and Electron's StartTransientUnit call).
    App,
}

/// One process in a unit, as systemd's GetUnitProcesses lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitProcess {
    /// The process id.
    pub pid: u32,
    /// The command line, arguments separated by spaces (systemd's rendering).
    pub cmdline: String,
}

/// What a unit is: the catalog app it belongs to (index into `Profile::apps`) and who started it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recognition {
    /// The catalog app, an index into `Profile::apps`; None when the unit is of no catalog app.
    pub app: Option<usize>,
    /// Who started the unit.
    pub starter: Starter,
}

/// The parts of an app unit's name, escapes decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
struct UnitName {
    launcher: Option<String>,
    /// The ApplicationID part, and (for names whose id was not escaped, like
    /// `app-signal-desktop-123.scope`) everything between `app-` and the random part.
    ids: Vec<String>,
    /// `<RANDOM>`, or the instance after `@`.
    random: Option<String>,
}

/// Splits `app-…` unit names as the spec builds them; None for anything else.
fn parse_unit_name(unit: &str) -> Option<UnitName> {
    let body = unit.strip_prefix("app-")?;
    let (body, is_scope) = match (body.strip_suffix(".scope"), body.strip_suffix(".service")) {
        (Some(body), _) => (body, true),
        (None, Some(body)) => (body, false),
        (None, None) => return None,
    };
    let (body, instance) = match body.split_once('@') {
        Some((body, instance)) => (body, Some(instance.to_owned())),
        None => (body, None),
    };
    let mut parts: Vec<&str> = body.split('-').collect();
    // Scopes always end in <RANDOM>; services carry it after '@' if at all.
    let random = if is_scope && parts.len() > 1 { parts.pop().map(str::to_owned) } else { instance };
    let whole = unescape_unit_part(&parts.join("-"));
    let id = unescape_unit_part(parts.last()?);
    let launcher = (parts.len() > 1).then(|| unescape_unit_part(parts[0]));
    let mut ids = vec![id];
    if parts.len() > 1 {
        ids.push(whole);
    }
    Some(UnitName { launcher, ids, random })
}

/// The desktop file ids an app unit's name may carry (`app-org.kde.dolphin@1.service` gives
/// `org.kde.dolphin`), most likely first; none for other units.
pub fn desktop_ids(unit: &str) -> Vec<String> {
    parse_unit_name(unit).map(|name| name.ids).unwrap_or_default()
}

/// The catalog app an app unit belongs to, and who started it: by the desktop file id in
/// its name first, else by the programs running in it (the first word of a command line,
/// its basename against the app's `exec` and `exes`).
pub fn recognise(profile: &Profile, unit: &str, processes: &[UnitProcess]) -> Recognition {
    let Some(name) = parse_unit_name(unit) else { return Recognition { app: None, starter: Starter::Desktop } };
    let by_name = profile.apps.iter().position(|app| name.ids.iter().any(|id| knows_id(app, id)));
    let app = by_name.or_else(|| profile.apps.iter().position(|app| processes.iter().any(|p| runs(app, &p.cmdline))));
    let self_made = name
        .random
        .as_deref()
        .and_then(|r| r.parse::<u32>().ok())
        .is_some_and(|pid| processes.iter().any(|p| p.pid == pid));
    // An unescaped id with dashes (`app-signal-desktop-77.scope`) names no launcher.
    let whole_id = by_name.is_some_and(|i| !knows_id(&profile.apps[i], &name.ids[0]));
    let starter = match name.launcher.as_deref().filter(|_| !whole_id) {
        _ if self_made => Starter::App,
        Some("ballast") => Starter::Ballast,
        Some(_) => Starter::Launcher,
        None => Starter::Desktop,
    };
    Recognition { app, starter }
}

/// Whether `id` from a unit name is one of the app's desktop file ids (or its catalog id,
/// which names scopes of ballast before 0.4).
fn knows_id(app: &App, id: &str) -> bool {
    id == app.id || app.known_desktop_ids().iter().any(|d| d == id)
}

/// Whether a command line runs the app's program.
fn runs(app: &App, cmdline: &str) -> bool {
    let program = cmdline.split(' ').next().unwrap_or_default();
    let name = program.rsplit('/').next().unwrap_or(program);
    name == app.exec_basename() || app.exes.iter().any(|pattern| wildmatch::WildMatch::new(pattern).matches(name))
}

/// The limits a unit has now, as systemd reports them (None: infinity or not known).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Bytes.
    pub memory_high: Option<u64>,
    /// Bytes.
    pub memory_max: Option<u64>,
}

impl Limits {
    /// Whether these are the app's catalog limits. The kernel rounds a limit down to whole
    /// pages, so a few pages less still counts.
    pub fn hold(&self, app: &App) -> bool {
        let near = |have: Option<u64>, want: u64| have.is_some_and(|h| h <= want && want - h < 4096 * 2);
        near(self.memory_high, app.memory_high.0) && near(self.memory_max, app.memory_max.0)
    }

    /// "Give it more": the limits a quarter higher, none above `bound` (bytes: the profile's
    /// `[budget] workload_total`), MemoryHigh kept in the same ratio to MemoryMax. None when
    /// the unit has no limit to raise or its highest one is at the bound already.
    pub fn more(&self, bound: u64) -> Option<Limits> {
        let top = self.memory_max.or(self.memory_high)?;
        let raised = top.saturating_add(top / 4).min(bound);
        if raised <= top {
            return None;
        }
        let scale = |limit: u64| (u128::from(limit) * u128::from(raised) / u128::from(top)) as u64;
        Some(Limits { memory_high: self.memory_high.map(scale), memory_max: self.memory_max.map(scale) })
    }
}

/// A running app unit as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The unit name.
    pub unit: String,
    /// Its catalog app and starter.
    pub recognition: Recognition,
    /// Its MemoryHigh= and MemoryMax= now.
    pub limits: Limits,
    /// Frozen by the cgroup v2 freezer (FreezeUnit).
    pub frozen: bool,
}

/// One thing to do so an app's limits hold. A home's limits are the catalog's at its start
/// or adoption; a later change (`systemctl --user set-property`, an edited profile) is the
/// user's and stays until the app is started again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Start the app's home around every process of these units (none is ballast's).
    Adopt {
        /// The units whose processes the new home scope takes in.
        from: Vec<String>,
        /// The catalog app, an index into the profile's `apps`.
        app: usize,
    },
    /// Move every process of `from` into the app's home unit `into`.
    Gather {
        /// The unit emptied.
        from: String,
        /// The app's home: the delegated scope ballast started, with the catalog's limits.
        into: String,
        /// The catalog app, an index into the profile's `apps`.
        app: usize,
        /// The app is frozen (its home, or `from`): no frozen process can start another, so
        /// the app was started again from outside, and whoever started it wants it running.
        /// The home is thawed first (gathered into a frozen cgroup a process stops; moved out
        /// of one it runs: the kernel's cgroup-v2.rst, "cgroup.freeze").
        thaw: bool,
    },
}

impl Step {
    /// The units the step acts on.
    pub fn units(&self) -> Vec<&str> {
        match self {
            Step::Adopt { from, .. } => from.iter().map(String::as_str).collect(),
            Step::Gather { from, into, .. } => vec![from, into],
        }
    }

    /// The units the step thaws (a frozen app started again): both ends of the gather.
    pub fn thawed(&self) -> Vec<&str> {
        match self {
            Step::Gather { from, into, thaw: true, .. } => vec![from, into],
            _ => Vec::new(),
        }
    }

    /// The units the step moves every process out of.
    pub fn emptied(&self) -> Vec<&str> {
        match self {
            Step::Adopt { from, .. } => from.iter().map(String::as_str).collect(),
            Step::Gather { from, .. } => vec![from],
        }
    }
}

/// The app's `govern`, else the profile's.
pub fn policy(profile: &Profile, app: usize) -> Govern {
    profile.apps[app].govern.unwrap_or(profile.launch.govern)
}

/// Whether ballast governs this unit: the catalog app's policy takes it in, given the
/// other units of the same app (`launched` takes an app's units only while ballast
/// launched one of them, and then only those it started and those the app made).
pub fn governs(profile: &Profile, observed: &Observed, all: &[Observed]) -> bool {
    let Some(app) = observed.recognition.app else { return false };
    match policy(profile, app) {
        Govern::All => true,
        Govern::None => false,
        Govern::Launched => {
            let launched =
                all.iter().any(|o| o.recognition.app == Some(app) && o.recognition.starter == Starter::Ballast);
            launched && matches!(observed.recognition.starter, Starter::Ballast | Starter::App)
        }
    }
}

/// What to do so each governed app has one home with the catalog's limits and no process
/// elsewhere. `units` is every running app unit.
pub fn plan(profile: &Profile, units: &[Observed]) -> Vec<Step> {
    let mut steps = Vec::new();
    for index in 0..profile.apps.len() {
        let mut governed: Vec<&Observed> =
            units.iter().filter(|o| o.recognition.app == Some(index) && governs(profile, o, units)).collect();
        governed.sort_by(|a, b| (home_rank(a), &a.unit).cmp(&(home_rank(b), &b.unit)));
        let Some((home, others)) = governed.split_first() else { continue };
        if home.recognition.starter != Starter::Ballast {
            steps.push(Step::Adopt { from: governed.iter().map(|o| o.unit.clone()).collect(), app: index });
            continue;
        }
        steps.extend(others.iter().map(|o| Step::Gather {
            from: o.unit.clone(),
            into: home.unit.clone(),
            app: index,
            thaw: home.frozen || o.frozen,
        }));
    }
    steps
}

/// Which unit makes the better home: ballast's, the desktop's, another launcher's, then one
/// the app made for itself; among equals, one already limited.
fn home_rank(observed: &Observed) -> (Starter, bool) {
    (observed.recognition.starter, observed.limits.memory_max.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, cmdline: &str) -> UnitProcess {
        UnitProcess { pid, cmdline: cmdline.into() }
    }

    fn recognised(unit: &str, processes: &[UnitProcess]) -> (Option<String>, Starter) {
        let profile = Profile::embedded();
        let r = recognise(&profile, unit, processes);
        (r.app.map(|i| profile.apps[i].id.clone()), r.starter)
    }

    fn id(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn more_is_a_quarter_up_to_the_bound() {
        let limits = Limits { memory_high: Some(3 << 30), memory_max: Some(4 << 30) };
        let more = limits.more(10 << 30).unwrap();
        assert_eq!((more.memory_high, more.memory_max), (Some(3840 << 20), Some(5 << 30)));
        let capped = limits.more(9 << 29).unwrap();
        assert_eq!(capped.memory_max, Some(9 << 29), "MemoryMax stops at the bound");
        assert_eq!(capped.memory_high, Some((9 << 29) / 4 * 3), "MemoryHigh keeps its share");
        assert_eq!(limits.more(4 << 30), None, "at the bound: nothing to give");
        let high_only = Limits { memory_high: Some(1 << 30), memory_max: None };
        assert_eq!(high_only.more(10 << 30), Some(Limits { memory_high: Some(1280 << 20), memory_max: None }));
        assert_eq!(Limits::default().more(10 << 30), None, "no limit to raise");
    }

    #[test]
    fn unit_names_split_as_the_spec_builds_them() {
        let name = parse_unit_name("app-ballast-signal\\x2ddesktop-003f9a1c.scope").unwrap();
        assert_eq!(
            (name.launcher.as_deref(), name.ids[0].as_str(), name.random.as_deref()),
            (Some("ballast"), "signal-desktop", Some("003f9a1c"))
        );
        let name = parse_unit_name("app-org.kde.konsole@2c8b1d3e0f.service").unwrap();
        assert_eq!(
            (name.launcher, name.ids, name.random.as_deref()),
            (None, vec!["org.kde.konsole".to_owned()], Some("2c8b1d3e0f"))
        );
        let name = parse_unit_name("app-signal-desktop-4711.scope").unwrap();
        assert_eq!(name.ids, ["desktop", "signal-desktop"]);
        assert_eq!(parse_unit_name("plasma-kwin_wayland.service"), None);
        assert_eq!(parse_unit_name("app.slice"), None);
    }

    #[test]
    fn apps_are_recognised_by_desktop_id_in_every_launchers_shape() {
        assert_eq!(recognised("app-ballast-discord-003f9a1c.scope", &[]), (id("discord"), Starter::Ballast));
        assert_eq!(recognised("app-ballast-signal\\x2ddesktop-1.scope", &[]), (id("signal"), Starter::Ballast));
        // Scopes of ballast before desktop ids: named by the catalog id.
        assert_eq!(recognised("app-ballast-signal-1.scope", &[]), (id("signal"), Starter::Ballast));
        // Plasma 6 (KIO's systemd runner) and Plasma 5 (KIO's scope runner).
        assert_eq!(
            recognised("app-discord@0b5ab9f2c3e44f0f8a1d6e2b7c9d4a11.service", &[]),
            (id("discord"), Starter::Desktop)
        );
        assert_eq!(
            recognised("app-signal\\x2ddesktop-0b5ab9f2c3e44f0f8a1d6e2b7c9d4a11.scope", &[]),
            (id("signal"), Starter::Desktop)
        );
        assert_eq!(
            recognised("app-flatpak-com.discordapp.Discord-4242.scope", &[]),
            (id("discord"), Starter::Launcher)
        );
        assert_eq!(
            recognised("app-org.kde.konsole@1.service", &[process(5, "/usr/bin/konsole")]),
            (None, Starter::Desktop)
        );
    }

    #[test]
    fn a_unit_the_app_made_for_itself_is_told_by_the_pid_in_its_name() {
        let browser = [process(4242, "/usr/lib/chromium/chromium --enable-features=X")];
        assert_eq!(recognised("app-org.chromium.Chromium-4242.scope", &browser), (id("chromium"), Starter::App));
        // An unescaped Electron desktopName with a dash.
        assert_eq!(
            recognised("app-signal-desktop-77.scope", &[process(77, "/opt/Signal/signal-desktop")]),
            (id("signal"), Starter::App)
        );
        // A number that is no PID in the unit is only a random part.
        assert_eq!(
            recognised("app-discord-1234.scope", &[process(99, "/opt/discord/Discord")]),
            (id("discord"), Starter::Desktop)
        );
    }

    #[test]
    fn apps_are_recognised_by_the_programs_inside_when_the_name_says_nothing() {
        let firefox = [
            process(10, "/usr/lib/firefox-esr/firefox-esr"),
            process(11, "/usr/lib/firefox-esr/firefox-esr -contentproc"),
        ];
        assert_eq!(recognised("app-org.example.Launcher@3.service", &firefox), (id("firefox"), Starter::Desktop));
        assert_eq!(
            recognised("app-gnome-org.example.Run-12.scope", &[process(7, "/opt/discord/Discord --type=renderer")]),
            (id("discord"), Starter::Launcher)
        );
        assert_eq!(recognised("app-x@1.service", &[process(7, "/bin/sh -c Discord")]), (None, Starter::Desktop));
    }

    fn observed(unit: &str, app: &str, starter: Starter, limits: Limits) -> Observed {
        let profile = Profile::embedded();
        Observed {
            unit: unit.into(),
            recognition: Recognition { app: profile.apps.iter().position(|a| a.id == app), starter },
            limits,
            frozen: false,
        }
    }

    fn discord_limits() -> Limits {
        Limits { memory_high: Some(2 << 30), memory_max: Some(3 << 30) }
    }

    #[test]
    fn a_self_made_scope_is_gathered_into_ballasts_scope() {
        let profile = Profile::embedded();
        let units = [
            observed("app-ballast-discord-1.scope", "discord", Starter::Ballast, discord_limits()),
            observed("app-discord-4242.scope", "discord", Starter::App, Limits::default()),
        ];
        let discord = profile.apps.iter().position(|a| a.id == "discord").unwrap();
        let gather = |thaw: bool| Step::Gather {
            from: "app-discord-4242.scope".into(),
            into: "app-ballast-discord-1.scope".into(),
            app: discord,
            thaw,
        };
        assert_eq!(plan(&profile, &units), [gather(false)]);
        // Started again while its home is frozen: thawed before the new process moves in.
        let frozen = [Observed { frozen: true, ..units[0].clone() }, units[1].clone()];
        assert_eq!(plan(&profile, &frozen), [gather(true)]);
        let frozen = [units[0].clone(), Observed { frozen: true, ..units[1].clone() }];
        assert_eq!(plan(&profile, &frozen), [gather(true)], "the new home is thawed already: said all the same");
        assert_eq!(gather(true).thawed(), ["app-discord-4242.scope", "app-ballast-discord-1.scope"]);
        assert!(gather(false).thawed().is_empty());
    }

    #[test]
    fn a_desktop_started_app_is_adopted_with_its_strays() {
        let profile = Profile::embedded();
        let chromium = profile.apps.iter().position(|a| a.id == "chromium").unwrap();
        let units = [
            observed("app-org.chromium.Chromium-4242.scope", "chromium", Starter::App, Limits::default()),
            observed("app-chromium@0b5a.service", "chromium", Starter::Desktop, Limits::default()),
        ];
        let from = vec!["app-chromium@0b5a.service".to_owned(), "app-org.chromium.Chromium-4242.scope".to_owned()];
        assert_eq!(plan(&profile, &units), [Step::Adopt { from, app: chromium }]);
        // Once adopted there is nothing left to do.
        let limited = Limits { memory_high: Some(3 << 30), memory_max: Some(4 << 30) };
        assert_eq!(
            plan(&profile, &[observed("app-ballast-chromium-1.scope", "chromium", Starter::Ballast, limited)]),
            []
        );
    }

    #[test]
    fn two_instances_share_one_budget() {
        let profile = Profile::embedded();
        let units = [
            observed("app-ballast-discord-b.scope", "discord", Starter::Ballast, Limits::default()),
            observed("app-ballast-discord-a.scope", "discord", Starter::Ballast, discord_limits()),
        ];
        let steps = plan(&profile, &units);
        assert!(
            matches!(&steps[..], [Step::Gather { from, into, .. }] if from == "app-ballast-discord-b.scope" && into == "app-ballast-discord-a.scope"),
            "{steps:?}"
        );
        // Limits the user changed on ballast's scope stay as they are.
        let changed = Limits { memory_high: Some(5 << 30), memory_max: Some(6 << 30) };
        assert_eq!(
            plan(&profile, &[observed("app-ballast-discord-1.scope", "discord", Starter::Ballast, changed)]),
            []
        );
    }

    #[test]
    fn govern_launched_and_none() {
        let mut profile = Profile::embedded();
        profile.launch.govern = Govern::Launched;
        let desktop = [observed("app-discord@a.service", "discord", Starter::Desktop, Limits::default())];
        assert_eq!(plan(&profile, &desktop), []);
        let launched = [
            observed("app-ballast-discord-1.scope", "discord", Starter::Ballast, discord_limits()),
            observed("app-discord-4242.scope", "discord", Starter::App, Limits::default()),
            observed("app-discord@a.service", "discord", Starter::Desktop, Limits::default()),
        ];
        let steps = plan(&profile, &launched);
        assert!(matches!(&steps[..], [Step::Gather { from, .. }] if from == "app-discord-4242.scope"), "{steps:?}");
        // A per-app setting wins over the profile's.
        let discord = profile.apps.iter().position(|a| a.id == "discord").unwrap();
        profile.apps[discord].govern = Some(Govern::None);
        assert_eq!(plan(&profile, &launched), []);
        profile.launch.govern = Govern::All;
        profile.apps[discord].govern = Some(Govern::All);
        assert_eq!(plan(&profile, &launched).len(), 2, "both other units are gathered into ballast's");
    }

    #[test]
    fn units_of_no_catalog_app_are_left_alone() {
        let profile = Profile::embedded();
        let konsole = Observed {
            unit: "app-org.kde.konsole@1.service".into(),
            recognition: Recognition { app: None, starter: Starter::Desktop },
            limits: Limits::default(),
            frozen: false,
        };
        assert_eq!(plan(&profile, std::slice::from_ref(&konsole)), []);
        assert!(!governs(&profile, &konsole, &[]));
    }
}
