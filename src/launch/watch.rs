//! Running app scopes: use against their limits, and memory events turned into words.

use super::govern::{self, Limits, Observed, Recognition, Starter, UnitProcess};
use super::systemd::{ListedUnit, UserManager};
use super::LaunchError;
use crate::profile::Profile;
use crate::render::human;
use crate::sample::{cgroup, pressure, CgroupMode, MemoryEvents, Pressure};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use zbus::zvariant::OwnedValue;

/// One running app unit (scope or service) and its use against its limits: one entry of
/// `ballast scopes --json` and the agent's scope list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScopeStatus {
    /// The unit name, e.g. `app-ballast-discord-3f9a1c.scope`.
    pub unit: String,
    /// The catalog app this unit belongs to (by the desktop file id in its name, or by the
    /// programs running in it).
    pub app: Option<String>,
    /// Who started the unit, as its name says.
    #[serde(default)]
    pub starter: Starter,
    /// Whether ballast keeps this unit within its app's catalog limits (`govern`): it is the
    /// app's one unit with those limits, or its processes are being gathered into that one.
    #[serde(default)]
    pub governed: bool,
    /// The unit's Description=; empty where the status comes from a cgroup sample.
    pub description: String,
    /// The unit's cgroup (systemd's ControlGroup): its path from the hierarchy's root, starting
    /// with `/`; None when not known.
    pub control_group: Option<String>,
    /// Memory in use, bytes (systemd's MemoryCurrent; page cache included); None when not known.
    pub memory_current: Option<u64>,
    /// MemoryHigh= in bytes; None when the unit has none ("infinity") or it is not known.
    pub memory_high: Option<u64>,
    /// MemoryMax= in bytes; None when the unit has none ("infinity") or it is not known.
    pub memory_max: Option<u64>,
    /// CPU time used since the scope started, in nanoseconds.
    pub cpu_usage_nsec: Option<u64>,
    /// CPUQuota in percent of one CPU.
    pub cpu_quota: Option<u64>,
    /// Counters since the scope started; None where the cgroup cannot tell.
    pub events: Option<MemoryEvents>,
    /// The scope's memory.pressure (cgroup v2 only): how much its tasks stall on memory.
    pub pressure: Option<Pressure>,
    /// Frozen by the cgroup v2 freezer (FreezeUnit): its processes use no CPU until thawed.
    #[serde(default)]
    pub frozen: bool,
}

impl ScopeStatus {
    /// Sets the catalog app and starter from a recognition of this unit.
    pub fn recognised(&mut self, profile: &Profile, recognition: Recognition) {
        self.app = recognition.app.map(|i| profile.apps[i].id.clone());
        self.starter = recognition.starter;
    }

    /// The unit as the governance planner sees it.
    pub fn observed(&self, profile: &Profile) -> Observed {
        let app = self.app.as_deref().and_then(|id| profile.apps.iter().position(|a| a.id == id));
        Observed {
            unit: self.unit.clone(),
            recognition: Recognition { app, starter: self.starter },
            limits: Limits { memory_high: self.memory_high, memory_max: self.memory_max },
            frozen: self.frozen,
        }
    }

    /// A status for `unit` with what its name says (app, starter); the figures are unknown
    /// until the caller fills them in.
    pub fn named(profile: &Profile, unit: &str) -> ScopeStatus {
        let recognition = govern::recognise(profile, unit, &[]);
        ScopeStatus {
            unit: unit.to_owned(),
            app: recognition.app.map(|i| profile.apps[i].id.clone()),
            starter: recognition.starter,
            governed: false,
            description: String::new(),
            control_group: None,
            memory_current: None,
            memory_high: None,
            memory_max: None,
            cpu_usage_nsec: None,
            cpu_quota: None,
            events: None,
            pressure: None,
            frozen: false,
        }
    }
}

/// A running app: a catalog app's units together, or one unit of no catalog app.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningApp {
    /// The units added up: memory and event counters summed; unit, limits and the rest from
    /// the unit that holds the app's limits (its home), else the first.
    pub total: ScopeStatus,
    /// The names of the app's units, in the order they were listed.
    pub units: Vec<String>,
}

/// The running apps, in the order their first unit is listed.
pub fn running_apps(statuses: &[ScopeStatus]) -> Vec<RunningApp> {
    let mut apps: Vec<RunningApp> = Vec::new();
    for status in statuses {
        let same = apps.iter_mut().find(|a| status.app.is_some() && a.total.app == status.app);
        let Some(app) = same else {
            apps.push(RunningApp { total: status.clone(), units: vec![status.unit.clone()] });
            continue;
        };
        app.units.push(status.unit.clone());
        let sum = |a: Option<u64>, b: Option<u64>| {
            if a.is_none() && b.is_none() {
                None
            } else {
                Some(a.unwrap_or(0) + b.unwrap_or(0))
            }
        };
        let memory = sum(app.total.memory_current, status.memory_current);
        let events = match (app.total.events, status.events) {
            (Some(a), Some(b)) => Some(MemoryEvents {
                low: a.low + b.low,
                high: a.high + b.high,
                max: a.max + b.max,
                oom: a.oom + b.oom,
                oom_kill: a.oom_kill + b.oom_kill,
            }),
            (a, b) => a.or(b),
        };
        if app.total.memory_max.is_none() && status.memory_max.is_some() {
            app.total = status.clone();
        }
        app.total.memory_current = memory;
        app.total.events = events;
    }
    apps
}

/// Marks the units ballast governs under the profile's `govern` (see [`govern::governs`]).
pub fn mark_governed(profile: &Profile, statuses: &mut [ScopeStatus]) {
    let observed: Vec<Observed> = statuses.iter().map(|s| s.observed(profile)).collect();
    for (status, seen) in statuses.iter_mut().zip(&observed) {
        status.governed = govern::governs(profile, seen, &observed);
    }
}

/// Recognises a unit by its name and the processes in it.
pub fn recognise_with(profile: &Profile, status: &mut ScopeStatus, processes: &[UnitProcess]) {
    status.recognised(profile, govern::recognise(profile, &status.unit, processes));
}

/// App scopes straight from a cgroup v2 sample, which already read their memory, limits
/// and events: no D-Bus round trip per scope and tick.
pub fn statuses_from_units(profile: &Profile, units: &[crate::sample::UnitSample]) -> Vec<ScopeStatus> {
    units
        .iter()
        .filter(|u| cgroup::is_app_unit(u.name()))
        .map(|u| ScopeStatus {
            control_group: Some(format!("/{}", u.path)),
            memory_current: Some(u.memory + u.cache),
            memory_high: u.memory_high,
            memory_max: u.memory_max,
            cpu_usage_nsec: Some(u.cpu_usec * 1000),
            events: u.events,
            pressure: u.pressure,
            frozen: u.frozen,
            ..ScopeStatus::named(profile, u.name())
        })
        .collect()
}

/// A byte or count property of a unit; None for systemd's u64::MAX ("no limit" or "not known").
pub fn known(properties: &HashMap<String, OwnedValue>, key: &str) -> Option<u64> {
    properties.get(key).and_then(|v| u64::try_from(v).ok()).filter(|v| *v != u64::MAX)
}

/// The status of one unit: systemd's accounting plus the cgroup's event counters.
pub async fn scope_status(
    manager: &UserManager,
    profile: &Profile,
    unit: &ListedUnit,
    root: &Path,
    mode: CgroupMode,
) -> Result<ScopeStatus, LaunchError> {
    let properties = manager.unit_properties(unit).await?;
    let control_group =
        properties.get("ControlGroup").and_then(|v| String::try_from(v.clone()).ok()).filter(|s| !s.is_empty());
    Ok(ScopeStatus {
        description: unit.description.clone(),
        events: control_group.as_deref().and_then(|cg| read_scope_events(root, mode, cg)),
        pressure: control_group
            .as_deref()
            .filter(|_| mode == CgroupMode::V2)
            .and_then(|cg| read_scope_pressure(root, cg)),
        frozen: control_group.as_deref().is_some_and(|cg| mode == CgroupMode::V2 && read_scope_frozen(root, cg)),
        control_group,
        memory_current: known(&properties, "MemoryCurrent"),
        memory_high: known(&properties, "MemoryHigh"),
        memory_max: known(&properties, "MemoryMax"),
        cpu_usage_nsec: known(&properties, "CPUUsageNSec"),
        cpu_quota: known(&properties, "CPUQuotaPerSecUSec").map(|usec| usec / 10_000),
        ..ScopeStatus::named(profile, &unit.name)
    })
}

/// memory.events on cgroup v2. On v1 the closest counters: memory.failcnt (times the
/// limit was hit: `max`) and memory.oom_control's oom_kill; v1 does not enforce
/// MemoryHigh, so `high` stays 0.
pub fn read_scope_events(root: &Path, mode: CgroupMode, control_group: &str) -> Option<MemoryEvents> {
    let relative = control_group.trim_start_matches('/');
    match mode {
        CgroupMode::V2 => {
            let text = std::fs::read_to_string(root.join("sys/fs/cgroup").join(relative).join("memory.events")).ok()?;
            cgroup::parse_events(&text).ok()
        }
        CgroupMode::V1 => {
            let dir = root.join("sys/fs/cgroup/memory").join(relative);
            let failcnt = std::fs::read_to_string(dir.join("memory.failcnt")).ok()?;
            let oom_control = std::fs::read_to_string(dir.join("memory.oom_control")).unwrap_or_default();
            let [oom_kill] = cgroup::parse_keyed(&oom_control, ["oom_kill"]).ok()?;
            Some(MemoryEvents { max: failcnt.trim().parse().ok()?, oom_kill, ..MemoryEvents::default() })
        }
        CgroupMode::V2NoMemory | CgroupMode::None => None,
    }
}

/// memory.pressure of a cgroup v2 unit (kernel doc: Documentation/accounting/psi.rst).
fn read_scope_pressure(root: &Path, control_group: &str) -> Option<Pressure> {
    pressure::parse(&read_scope_file(root, control_group, "memory.pressure")?).ok()
}

/// cgroup.events `frozen 1` (cgroup v2): the freezer holds the unit.
fn read_scope_frozen(root: &Path, control_group: &str) -> bool {
    read_scope_file(root, control_group, "cgroup.events").is_some_and(|text| cgroup::is_frozen(&text))
}

fn read_scope_file(root: &Path, control_group: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(root.join("sys/fs/cgroup").join(control_group.trim_start_matches('/')).join(file)).ok()
}

/// How close to a limit counts as "at" it: memory.current at or above this share.
const AT_LIMIT: f64 = 0.9;
/// memory.pressure `some avg10` (%) above which an app at its limit counts as held there.
const HELD_STALL_PERCENT: f32 = 50.0;

/// The limit an app is held at (systemd.resource-control(5)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The kernel throttles the app there and reclaims; it is not killed.
    MemoryHigh,
    /// The kernel reclaims there, then OOM-kills inside the unit.
    MemoryMax,
}

/// An app held at its limit. At MemoryHigh the kernel throttles it instead of killing it,
/// and with nothing to reclaim (no swap, anonymous memory) it can sit stalled for minutes;
/// near MemoryMax (no MemoryHigh below it) the next step is the OOM killer.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldAtLimit {
    /// The unit held there.
    pub unit: String,
    /// The app's name as people know it.
    pub who: String,
    /// Which limit.
    pub limit: Limit,
    /// The limit, bytes.
    pub bytes: u64,
    /// memory.current, bytes.
    pub current: u64,
    /// memory.pressure `some avg10`: % of the last 10 s its tasks stalled on memory.
    pub stall: f32,
    /// The unit's PSI trigger fired since the last look: the kernel measured the stall, so
    /// it need not be seen to last.
    pub pushed: bool,
    /// Its slice is in systemd-oomd's care (ManagedOOMMemoryPressure=kill, `[protect]
    /// app_slice_oomd`): a stall that lasts gets it killed there, MemoryHigh or not. The
    /// agent sets it; `held_at_limit` leaves it false.
    pub oomd: bool,
}

/// Whether this scope is held at its limit right now: memory.current within 10 % of its
/// MemoryHigh (else of its MemoryMax, where it has no MemoryHigh below that) and its tasks
/// stalled on memory more than half the time, or its PSI trigger fired (`pushed`). One
/// reading; the alert policy asks an unpushed one to last. A frozen scope is not held: its
/// tasks wait on the freezer, not on memory (its stall average only decays).
pub fn held_at_limit(who: &str, status: &ScopeStatus, pushed: bool) -> Option<HeldAtLimit> {
    if status.frozen {
        return None;
    }
    let (current, stall) = (status.memory_current?, status.pressure?.some.avg10);
    let (limit, bytes) = match (status.memory_high, status.memory_max) {
        (Some(high), Some(max)) if high >= max => (Limit::MemoryMax, max),
        (Some(high), _) => (Limit::MemoryHigh, high),
        (None, Some(max)) => (Limit::MemoryMax, max),
        (None, None) => return None,
    };
    (current as f64 >= bytes as f64 * AT_LIMIT && (pushed || stall >= HELD_STALL_PERCENT)).then(|| HeldAtLimit {
        unit: status.unit.clone(),
        who: who.to_owned(),
        limit,
        bytes,
        current,
        stall,
        pushed,
        oomd: false,
    })
}

/// Which memory event a scope's counters report (cgroup v2 memory.events; memory.failcnt and
/// memory.oom_control on v1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// It went over MemoryHigh and was throttled (memory.events `high`).
    HitHigh,
    /// It reached MemoryMax (memory.events `max`; memory.failcnt on v1).
    HitMax,
    /// The OOM killer killed processes in it (memory.events `oom_kill`).
    OomKill,
}

/// Something that happened to a scope between two looks at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScopeEvent {
    /// The unit it happened to.
    pub unit: String,
    /// What happened.
    pub kind: EventKind,
    /// How many times since the last look.
    pub count: u64,
    /// One line for people, e.g. "Discord hit its 2.0G MemoryHigh".
    pub message: String,
}

/// Events between two readings of a scope's counters. `who` names the app as people
/// know it ("Discord"); the first reading of a scope is only a baseline.
pub fn scope_events(who: &str, before: Option<&MemoryEvents>, status: &ScopeStatus) -> Vec<ScopeEvent> {
    let (Some(before), Some(now)) = (before, status.events.as_ref()) else { return Vec::new() };
    let limit = |value: Option<u64>| value.map_or("no".to_owned(), human);
    let mut events = Vec::new();
    let mut push = |kind, count: u64, message: String| {
        if count > 0 {
            events.push(ScopeEvent { unit: status.unit.clone(), kind, count, message });
        }
    };
    push(
        EventKind::HitHigh,
        now.high.saturating_sub(before.high),
        format!("{who} hit its {} MemoryHigh", limit(status.memory_high)),
    );
    push(
        EventKind::HitMax,
        now.max.saturating_sub(before.max),
        format!("{who} hit its {} MemoryMax", limit(status.memory_max)),
    );
    let kills = now.oom_kill.saturating_sub(before.oom_kill);
    let processes = if kills == 1 { String::new() } else { format!(" ({kills} processes)") };
    push(
        EventKind::OomKill,
        kills,
        format!("{who} was OOM-killed inside its {} limit{processes}", limit(status.memory_max)),
    );
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(events: MemoryEvents) -> ScopeStatus {
        ScopeStatus {
            unit: "app-ballast-discord-1.scope".into(),
            app: Some("discord".into()),
            starter: Starter::Ballast,
            governed: true,
            description: String::new(),
            control_group: None,
            memory_current: Some(1 << 30),
            memory_high: Some(2 << 30),
            memory_max: Some(3 << 30),
            cpu_usage_nsec: None,
            cpu_quota: Some(150),
            events: Some(events),
            pressure: None,
            frozen: false,
        }
    }

    fn stalled(avg10: f32) -> Option<Pressure> {
        Some(Pressure { some: crate::sample::PressureLine { avg10, ..Default::default() }, full: None })
    }

    #[test]
    fn held_at_limit_needs_the_limit_reached_and_a_stall() {
        let at_high =
            ScopeStatus { memory_current: Some(2 << 30), pressure: stalled(97.0), ..status(MemoryEvents::default()) };
        let held = held_at_limit("Discord", &at_high, false).unwrap();
        assert_eq!(
            (held.who.as_str(), held.limit, held.bytes, held.stall, held.pushed),
            ("Discord", Limit::MemoryHigh, 2 << 30, 97.0, false)
        );
        // Well below MemoryHigh: stalls come from elsewhere (the disk, other cgroups).
        assert_eq!(
            held_at_limit("Discord", &ScopeStatus { memory_current: Some(1 << 30), ..at_high.clone() }, true),
            None
        );
        // At MemoryHigh but running freely: its cache is reclaimed as it goes.
        assert_eq!(held_at_limit("Discord", &ScopeStatus { pressure: stalled(10.0), ..at_high.clone() }, false), None);
        // ... unless its pressure trigger fired: the kernel saw it stall in the last 2 s.
        let pushed = held_at_limit("Discord", &ScopeStatus { pressure: stalled(10.0), ..at_high.clone() }, true);
        assert!(pushed.is_some_and(|held| held.pushed));
        // Frozen: its tasks wait on the freezer, whatever its stall average still says.
        assert_eq!(held_at_limit("Discord", &ScopeStatus { frozen: true, ..at_high.clone() }, true), None);
        // No PSI (cgroup v1): never held.
        assert_eq!(held_at_limit("Discord", &ScopeStatus { pressure: None, ..at_high.clone() }, true), None);
        // No MemoryHigh, or one at MemoryMax: near MemoryMax, where the kernel kills next.
        let only_max = ScopeStatus { memory_high: None, memory_current: Some(2900 << 20), ..at_high.clone() };
        let near = held_at_limit("Discord", &only_max, false).unwrap();
        assert_eq!((near.limit, near.bytes, near.current), (Limit::MemoryMax, 3 << 30, 2900 << 20));
        let high_at_max = ScopeStatus { memory_high: Some(3 << 30), ..only_max.clone() };
        assert_eq!(held_at_limit("Discord", &high_at_max, false).map(|h| h.limit), Some(Limit::MemoryMax));
        assert_eq!(held_at_limit("Discord", &ScopeStatus { memory_current: Some(2 << 30), ..only_max }, true), None);
        assert_eq!(
            held_at_limit("Discord", &ScopeStatus { memory_high: None, memory_max: None, ..at_high }, true),
            None
        );
    }

    #[test]
    fn counters_become_events() {
        let before = MemoryEvents { high: 2, ..Default::default() };
        let now = MemoryEvents { high: 5, max: 1, oom_kill: 1, ..Default::default() };
        let messages: Vec<String> =
            scope_events("Discord", Some(&before), &status(now)).into_iter().map(|e| e.message).collect();
        assert_eq!(
            messages,
            [
                "Discord hit its 2.0G MemoryHigh",
                "Discord hit its 3.0G MemoryMax",
                "Discord was OOM-killed inside its 3.0G limit"
            ]
        );
        let many = MemoryEvents { oom_kill: 3, ..Default::default() };
        let events = scope_events("Discord", Some(&MemoryEvents::default()), &status(many));
        assert_eq!((events[0].kind, events[0].count), (EventKind::OomKill, 3));
        assert!(events[0].message.ends_with("(3 processes)"));
    }

    #[test]
    fn v2_units_give_scope_statuses_without_dbus() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2");
        let sample = crate::sample::Sampler::with_root(root).sample().unwrap();
        let statuses = statuses_from_units(&Profile::embedded(), &sample.units);
        let names: Vec<&str> = statuses.iter().map(|s| s.unit.as_str()).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        let discord = statuses.iter().find(|s| s.unit == "app-ballast-discord-3f9a1c.scope").unwrap();
        assert_eq!(
            (discord.app.as_deref(), discord.memory_current, discord.memory_max),
            (Some("discord"), Some(1123340288), Some(3221225472))
        );
        assert_eq!(discord.events.unwrap().high, 1843);
        let firefox = statuses.iter().find(|s| s.unit.starts_with("app-firefox")).unwrap();
        assert_eq!((firefox.app.as_deref(), firefox.starter), (Some("firefox"), Starter::Desktop));
        assert!(statuses.iter().find(|s| s.unit.starts_with("app-org.kde.konsole")).unwrap().app.is_none());
    }

    #[test]
    fn an_apps_units_add_up_to_one_running_app() {
        let home = status(MemoryEvents { high: 3, ..Default::default() });
        let stray = ScopeStatus {
            unit: "app-discord-4242.scope".into(),
            memory_high: None,
            memory_max: None,
            memory_current: Some(100),
            starter: Starter::App,
            ..status(MemoryEvents { oom_kill: 1, ..Default::default() })
        };
        let other =
            ScopeStatus { unit: "app-org.kde.konsole@1.service".into(), app: None, ..status(MemoryEvents::default()) };
        let apps = running_apps(&[stray, other, home]);
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].units, ["app-discord-4242.scope", "app-ballast-discord-1.scope"]);
        let total = &apps[0].total;
        assert_eq!(
            (total.unit.as_str(), total.memory_current, total.memory_max),
            ("app-ballast-discord-1.scope", Some((1 << 30) + 100), Some(3 << 30))
        );
        assert_eq!(total.events.map(|e| (e.high, e.oom_kill)), Some((3, 1)));
        assert_eq!(apps[1].units, ["app-org.kde.konsole@1.service"]);
    }

    #[test]
    fn first_reading_is_a_baseline() {
        assert!(scope_events("Discord", None, &status(MemoryEvents { oom_kill: 4, ..Default::default() })).is_empty());
        assert!(scope_events("Discord", Some(&MemoryEvents::default()), &status(MemoryEvents::default())).is_empty());
    }

    #[test]
    fn v2_and_v1_counters_from_cgroupfs() {
        let root = tempfile::tempdir().unwrap();
        let v2 = root.path().join("sys/fs/cgroup/user.slice/app-x.scope");
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::write(v2.join("memory.events"), "low 0\nhigh 7\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n")
            .unwrap();
        let events = read_scope_events(root.path(), CgroupMode::V2, "/user.slice/app-x.scope").unwrap();
        assert_eq!((events.high, events.max, events.oom_kill), (7, 2, 1));

        let v1 = root.path().join("sys/fs/cgroup/memory/t/mgr/app.slice/app-x.scope");
        std::fs::create_dir_all(&v1).unwrap();
        std::fs::write(v1.join("memory.failcnt"), "12\n").unwrap();
        std::fs::write(v1.join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n").unwrap();
        let events = read_scope_events(root.path(), CgroupMode::V1, "/t/mgr/app.slice/app-x.scope").unwrap();
        assert_eq!((events.high, events.max, events.oom_kill), (0, 12, 1));
        assert_eq!(read_scope_events(root.path(), CgroupMode::V1, "/missing"), None);
    }
}
