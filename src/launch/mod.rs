//! Launching catalog apps into limited systemd user scopes, and watching those scopes.
//!
//! `ballast launch APP` is race-free the way `systemd-run --scope` is: the process that
//! will become the app puts its own PID into the new scope, waits for systemd's job to
//! finish, and only then execs the app. The default (detached) launch spawns that
//! process in a new session and reports the unit name once the scope exists.

pub mod engine;
mod exec;
pub mod govern;
mod spec;
mod systemd;
mod watch;

pub use exec::{exec_in_scope, redirect_output_to_journal};
pub use spec::{adoption_spec, dashboard_spec, resolve_binary, scope_spec, DisplayServer, ScopeSpec, Target};
pub use systemd::{ListedUnit, UserManager};
pub use watch::{
    held_at_limit, known, mark_governed, read_scope_events, recognise_with, running_apps, scope_events, scope_status,
    statuses_from_units, EventKind, HeldAtLimit, Limit, RunningApp, ScopeEvent, ScopeStatus,
};

use crate::profile::{ByteSize, CpuQuota, Profile, Toolkit};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use thiserror::Error;

/// Why launching, stopping or governing an app unit failed; the messages say what to do about it.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum LaunchError {
    /// The id names no catalog app; `known` lists the catalog's ids, comma-separated.
    #[error("unknown app \"{id}\"; the catalog has: {known} (add it as an [[app]] entry in your config)")]
    UnknownApp { id: String, known: String },
    /// The app's `exec` names no executable file: not found on PATH, or none at the path it gives.
    #[error("{name}'s binary \"{exec}\" is not on PATH: install it, or set exec = \"/full/path\" in the [[app]] entry with id = \"{id}\"")]
    MissingBinary { id: String, name: String, exec: String },
    /// No D-Bus session bus to connect to; `detail` is zbus's error.
    #[error("no D-Bus session bus ({detail}): run this inside your desktop session, or set DBUS_SESSION_BUS_ADDRESS")]
    NoSessionBus { detail: String },
    /// The systemd user manager (org.freedesktop.systemd1 on the session bus) does not answer, or a query to it failed.
    #[error("the systemd user manager does not answer on the session bus ({detail}): log in through a systemd session (for a headless one: loginctl enable-linger $USER)")]
    NoUserManager { detail: String },
    /// systemd did not start the scope: StartTransientUnit failed, or its job did not end "done" within 15 s.
    #[error("cannot start scope {unit}: {detail}")]
    ScopeFailed { unit: String, detail: String },
    /// The StopUnit call for the unit failed.
    #[error("cannot stop {unit}: {detail}")]
    StopFailed { unit: String, detail: String },
    /// systemd refused to freeze, thaw or change the limits of a unit (FreezeUnit fails on
    /// cgroup v1, where user units have no freezer, and for a unit that is gone).
    #[error("cannot {change} {unit}: {detail}")]
    ChangeFailed { unit: String, change: &'static str, detail: String },
    /// A unit's processes could not be listed (GetUnitProcesses) or moved into the app's home (AttachProcessesToUnit).
    #[error("cannot govern {unit}: {detail}")]
    GovernFailed { unit: String, detail: String },
    /// `ballast stop`'s argument is neither a running unit's name nor a catalog app with a running
    /// scope ballast started.
    #[error("no running app scope matches \"{what}\" (`ballast scopes` lists them)")]
    NoSuchScope { what: String },
    /// exec of the app's binary failed, in the process that was to become the app.
    #[error("cannot run {binary}: {source}")]
    Exec { binary: PathBuf, source: std::io::Error },
}

/// The catalog app `id` and its binary found on PATH: what a launch needs to exist.
pub fn resolve<'p>(profile: &'p Profile, id: &str) -> Result<(&'p crate::profile::App, PathBuf), LaunchError> {
    let app = profile.app(id).ok_or_else(|| LaunchError::UnknownApp {
        id: id.to_owned(),
        known: profile.apps.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", "),
    })?;
    let path = std::env::var("PATH").ok();
    let binary = resolve_binary(&app.exec, path.as_deref(), is_executable).ok_or_else(|| {
        LaunchError::MissingBinary { id: app.id.clone(), name: app.name.clone(), exec: app.exec.clone() }
    })?;
    Ok((app, binary))
}

/// Builds the spec for a catalog app from the process environment (PATH, session type)
/// and the Chromium the app really runs (engine::detect), which it also returns.
pub fn prepare(
    profile: &Profile,
    id: &str,
    user_args: &[String],
) -> Result<(ScopeSpec, Option<engine::Engine>), LaunchError> {
    let (app, binary) = resolve(profile, id)?;
    let display = DisplayServer::from_env(
        std::env::var("XDG_SESSION_TYPE").ok().as_deref(),
        std::env::var("WAYLAND_DISPLAY").ok().as_deref(),
    );
    let engine = engine::detect(app.toolkit, &binary);
    let target = Target { display, chromium: engine.as_ref().and_then(|e| e.chromium) };
    Ok((scope_spec(app, &profile.launch, binary, target, user_args, random_suffix()), engine))
}

/// Carries out one governing step (see [`govern`]); says what it did, or None when there
/// was nothing to move.
pub async fn carry_out(
    manager: &UserManager,
    profile: &Profile,
    step: &govern::Step,
) -> Result<Option<String>, LaunchError> {
    match step {
        govern::Step::Gather { from, into, app, thaw } => {
            if *thaw {
                // The home, so the gathered processes run; and the unit emptied, so nothing of
                // the app stays frozen (systemd cannot stop a frozen unit once it is empty).
                manager.thaw(into).await?;
                manager.thaw(from).await?;
            }
            let moved = manager.gather(from, into).await?;
            let thawed = if *thaw {
                format!("started again while frozen: thawed {from} and {into}, and ")
            } else {
                String::new()
            };
            Ok((moved > 0 || *thaw).then(|| {
                format!(
                    "{}: {thawed}moved {moved} processes from {from} into {into}, which holds the app's limits",
                    profile.apps[*app].name
                )
            }))
        }
        govern::Step::Adopt { from, app } => {
            let app = &profile.apps[*app];
            let spec = adoption_spec(app, &profile.launch, &from[0], random_suffix());
            // A process that exits between the listing and the start fails the whole start:
            // list again and try once more.
            let mut pids = processes_of(manager, from).await?;
            if pids.is_empty() {
                return Ok(None);
            }
            if manager.start_scope(&spec, &pids).await.is_err() {
                pids = processes_of(manager, from).await?;
                manager.start_scope(&spec, &pids).await?;
            }
            Ok(Some(format!(
                "{}: {} processes of {} now run in {} with MemoryHigh={} MemoryMax={} CPUQuota={}",
                app.name,
                pids.len(),
                from.join(", "),
                spec.unit,
                app.memory_high,
                app.memory_max,
                app.cpu_quota
            )))
        }
    }
}

/// The PIDs in these units.
async fn processes_of(manager: &UserManager, units: &[String]) -> Result<Vec<u32>, LaunchError> {
    let mut pids = Vec::new();
    for unit in units {
        pids.extend(manager.unit_processes(unit).await?.into_iter().map(|p| p.pid));
    }
    Ok(pids)
}

/// One catalog app as `ballast apps --json` and the agent's Apps() show it: its limits as
/// the profile writes them and whether its binary is installed. Fields in name order, as
/// the JSON has always printed them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogApp {
    /// The binary `exec` resolves to on `$PATH`; None when it is not installed.
    pub binary: Option<PathBuf>,
    /// The budget category its memory counts in.
    pub category: String,
    /// CPUQuota=, % of one CPU.
    pub cpu_quota: CpuQuota,
    /// The profile's `exec`: a name looked up on `$PATH`, or a path.
    pub exec: String,
    /// The catalog id (`ballast launch ID`).
    pub id: String,
    /// Whether `binary` was found.
    pub installed: bool,
    /// MemoryHigh=, bytes (written "2G").
    pub memory_high: ByteSize,
    /// MemoryMax=, bytes (written "3G").
    pub memory_max: ByteSize,
    /// The app's name as people know it ("Discord").
    pub name: String,
    /// The OOM-killer score its processes get (1..=1000, only ever raised); None: inherited.
    pub oom_score_adj: Option<u16>,
    /// What the app is built on (Electron, CEF, Chromium, Qt, native), which decides its GPU and V8 flags.
    pub toolkit: Toolkit,
    /// V8's old-space limit for Electron apps, MiB.
    pub v8_heap_mb: Option<u32>,
}

/// The catalog, each app's binary looked up on `path` (`$PATH`'s value).
pub fn catalog(profile: &Profile, path: Option<&str>) -> Vec<CatalogApp> {
    profile
        .apps
        .iter()
        .map(|app| {
            let binary = resolve_binary(&app.exec, path, is_executable);
            CatalogApp {
                installed: binary.is_some(),
                binary,
                category: app.category.clone(),
                cpu_quota: app.cpu_quota,
                exec: app.exec.clone(),
                id: app.id.clone(),
                memory_high: app.memory_high,
                memory_max: app.memory_max,
                name: app.name.clone(),
                oom_score_adj: app.oom_score_adj,
                toolkit: app.toolkit,
                v8_heap_mb: app.v8_heap_mb,
            }
        })
        .collect()
}

/// Whether `path` is a regular file (symlinks followed) with an execute bit set for anyone.
pub fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The spec's `<RANDOM>`: unique per launch without a random-number crate.
pub fn random_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.finish() as u32
}

/// The app units a `ballast stop|freeze|thaw|more` argument names: a unit name as is, or
/// every running scope ballast started for a catalog app id.
pub fn units_named(profile: &Profile, what: &str, running: &[ListedUnit]) -> Result<Vec<String>, LaunchError> {
    let names: Vec<String> = if what.ends_with(".scope") || what.ends_with(".service") {
        running.iter().filter(|u| u.name == what).map(|u| u.name.clone()).collect()
    } else {
        let app = profile.app(what).ok_or_else(|| LaunchError::NoSuchScope { what: what.to_owned() })?;
        let pattern = wildmatch::WildMatch::new(&app.scope_pattern());
        running.iter().filter(|u| pattern.matches(&u.name)).map(|u| u.name.clone()).collect()
    };
    if names.is_empty() {
        return Err(LaunchError::NoSuchScope { what: what.to_owned() });
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str) -> ListedUnit {
        ListedUnit {
            name: name.into(),
            description: String::new(),
            active_state: "active".into(),
            path: zbus::zvariant::OwnedObjectPath::try_from("/org/freedesktop/systemd1/unit/x").unwrap(),
        }
    }

    #[test]
    fn stop_by_app_or_unit() {
        let p = Profile::embedded();
        let running =
            [unit("app-ballast-discord-1.scope"), unit("app-ballast-discord-2.scope"), unit("app-firefox-3.scope")];
        assert_eq!(
            units_named(&p, "discord", &running).unwrap(),
            ["app-ballast-discord-1.scope", "app-ballast-discord-2.scope"]
        );
        assert_eq!(units_named(&p, "app-firefox-3.scope", &running).unwrap(), ["app-firefox-3.scope"]);
        assert!(matches!(units_named(&p, "signal", &running), Err(LaunchError::NoSuchScope { .. })));
        assert!(matches!(units_named(&p, "nope", &running), Err(LaunchError::NoSuchScope { .. })));
    }

    #[test]
    fn unknown_and_missing_apps_say_what_to_do() {
        let p = Profile::embedded();
        let err = resolve(&p, "winamp").unwrap_err().to_string();
        assert!(err.contains("discord") && err.contains("[[app]]"), "{err}");
        let mut p = Profile::embedded();
        p.apps[0].exec = "/nonexistent/teams".into();
        let err = resolve(&p, &p.apps[0].id.clone()).unwrap_err().to_string();
        assert!(err.contains("\"/nonexistent/teams\" is not on PATH") && err.contains("exec ="), "{err}");
    }

    #[test]
    fn random_suffixes_differ() {
        assert_ne!(random_suffix(), random_suffix());
    }
}
