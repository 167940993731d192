//! What the tray menu and the D-Bus API can ask for; both end up here, so the answers
//! are the same either way. Results are text meant for a person.

use crate::doctor;
use crate::launch::{self, UserManager};
use crate::profile::Profile;
use crate::sample::Sampler;
use crate::tray::TuneAction;
use crate::tune::{self, Target};
use std::path::{Path, PathBuf};

/// Launches a catalog app through `ballast launch` (the same race-free path as the CLI);
/// the unit name on success. Only catalog apps: the id is checked first.
pub async fn launch_app(
    profile: &Profile,
    profile_file: Option<&Path>,
    id: &str,
    args: &[String],
) -> Result<String, String> {
    launch::resolve(profile, id).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the ballast binary: {e}"))?;
    let mut command = tokio::process::Command::new(exe);
    if let Some(file) = profile_file {
        command.arg("--profile").arg(file);
    }
    let out = command
        .args(["launch", id, "--"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("ballast: ").to_owned())
    }
}

pub async fn stop_unit(manager: Option<&UserManager>, unit: &str) -> Result<String, String> {
    let manager = manager.ok_or("the systemd user manager is not reachable")?;
    let running = manager.app_units().await.map_err(|e| e.to_string())?;
    if !running.iter().any(|u| u.name == unit) {
        return Err(format!("no running app scope named {unit}"));
    }
    manager.stop(unit).await.map_err(|e| e.to_string())?;
    Ok(format!("stopped {unit}"))
}

/// Preview, apply or roll back a tuning target; tells running programs on `connection`.
pub async fn tune(
    profile: &Profile,
    connection: &zbus::Connection,
    target: Target,
    action: TuneAction,
) -> Result<String, String> {
    let session = tune::Session::probe(Some(connection)).await;
    let places = tune::Places::from_env(session.plasma.kconfig());
    let text = |e: tune::TuneError| e.to_string();
    match action {
        TuneAction::Preview => {
            let plans = tune::plan(profile, target, &session, &places).map_err(text)?;
            let (diff, refusals) = (tune::diff(&plans), tune::refusals(&plans));
            let last = match (diff.is_empty(), refusals.is_empty()) {
                (false, _) => diff,
                (true, true) => format!("{} is already tuned: nothing to change", target.name()),
                (true, false) => String::new(),
            };
            Ok(refusals
                .into_iter()
                .chain(tune::unread(&plans, &session))
                .chain([last])
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n"))
        }
        TuneAction::Apply => {
            let plans = tune::plan(profile, target, &session, &places).map_err(text)?;
            let refusals = tune::refusals(&plans);
            let loaded = tune::notify::loaded_effects(connection).await;
            let Some(backup) = tune::apply(&plans, target, &places, loaded).map_err(text)? else {
                return if refusals.is_empty() {
                    Ok(format!("{} is already tuned: nothing to change", target.name()))
                } else {
                    Err(refusals.join("\n"))
                };
            };
            let changes: Vec<(&str, _)> = plans.iter().map(|p| (p.file, p.changed.clone())).collect();
            let told = tune::notify::tell_programs(connection, &changes, &tune::applied_effects(&plans, &places)).await;
            let notes = refusals.into_iter().chain(tune::unread(&plans, &session));
            Ok(notes.chain([format!("applied; backup {}", backup.name)]).chain(told).collect::<Vec<_>>().join("\n"))
        }
        TuneAction::Rollback => {
            let (backup, restored) = tune::rollback(&places, target, None, false).map_err(text)?;
            let changes: Vec<(&str, _)> = restored.iter().map(|r| (r.file.as_str(), r.changed.clone())).collect();
            let effects: Vec<(String, bool)> = restored.iter().flat_map(|r| r.effects.clone()).collect();
            let told = tune::notify::tell_programs(connection, &changes, &effects).await;
            Ok(format!("rolled back {}\n{}", backup.name, told.join("\n")))
        }
    }
}

/// The doctor's checks as JSON (the `ballast doctor --json` schema). Its probes run
/// external tools, so it runs off the agent's thread.
pub async fn doctor_json(profile: Profile, root: PathBuf) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let facts = doctor::gather(&mut Sampler::with_root(root), &profile).map_err(|e| e.to_string())?;
        serde_json::to_string(&doctor::checks(&profile, &facts)).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Starts the dashboard process; it reads everything from this agent's D-Bus API.
pub fn open_dashboard() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    tokio::process::Command::new(exe)
        .arg("dashboard")
        .stdin(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("cannot start the dashboard: {e}"))
}
