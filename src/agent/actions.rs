//! What the tray menu, the D-Bus API and notifications can ask for; all end up here, so the
//! answers are the same either way. Successes are text meant for a person.

use super::command::{Choice, TuneAction};
use crate::doctor;
use crate::events::{Event, EventLog, Kind};
use crate::launch::govern::Limits;
use crate::launch::{self, LaunchError, UserManager};
use crate::profile::Profile;
use crate::render::human;
use crate::sample::{SampleError, Sampler};
use crate::tune::{self, Target, TuneError};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why an action was not done; the message is shown to the user as it is.
#[derive(Debug, Error)]
pub enum ActionError {
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("cannot run {what}: {source}")]
    Spawn { what: &'static str, source: std::io::Error },
    /// `ballast launch` refused; its own message.
    #[error("{0}")]
    LaunchRefused(String),
    #[error("the systemd user manager is not reachable")]
    NoUserManager,
    #[error("no running app scope named {unit}: it has ended")]
    NoSuchUnit { unit: String },
    /// Give it more: MemoryMax is at the profile's workload_total already (bytes).
    #[error("{unit} has all it may have: its limit is at the budget's workload_total ({})", human(*bound))]
    NoMore { unit: String, bound: u64 },
    #[error(transparent)]
    Tune(#[from] TuneError),
    /// Nothing was written: every changing file was refused (a line each, why).
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error("the doctor stopped: {0}")]
    Doctor(#[from] tokio::task::JoinError),
}

/// Launches a catalog app through `ballast launch` (the same race-free path as the CLI);
/// the unit name on success. Only catalog apps: the id is checked first.
pub async fn launch_app(
    profile: &Profile,
    profile_file: Option<&Path>,
    id: &str,
    args: &[String],
) -> Result<String, ActionError> {
    launch::resolve(profile, id)?;
    let exe = std::env::current_exe().map_err(|source| ActionError::Spawn { what: "ballast launch", source })?;
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
        .map_err(|source| ActionError::Spawn { what: "ballast launch", source })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(ActionError::LaunchRefused(
            String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("ballast: ").to_owned(),
        ))
    }
}

/// Carries out the user's choice for a running app unit and logs it in the event log (a log
/// that cannot be written is said in the answer); what was done, in words. A unit that is gone
/// by now (it ended between the notification and the click) is `NoSuchUnit`.
pub async fn choose(
    manager: Option<&UserManager>,
    profile: &Profile,
    choice: Choice,
    unit: &str,
) -> Result<String, ActionError> {
    let manager = manager.ok_or(ActionError::NoUserManager)?;
    let running = manager.app_units().await?;
    if !running.iter().any(|u| u.name == unit) {
        return Err(ActionError::NoSuchUnit { unit: unit.to_owned() });
    }
    let done = match choice {
        Choice::Freeze => {
            manager.freeze(unit).await.map(|()| "frozen: it keeps its memory and uses no CPU until thawed".to_owned())
        }
        Choice::Thaw => manager.thaw(unit).await.map(|()| "thawed".to_owned()),
        Choice::GiveMore => {
            return give_more(manager, profile, unit).await.and_then(|done| log(profile, choice, unit, done))
        }
        Choice::Stop => manager.stop(unit).await.map(|()| "stopped".to_owned()),
    }?;
    log(profile, choice, unit, done)
}

/// MemoryHigh and MemoryMax a quarter higher, up to the profile's `workload_total`.
async fn give_more(manager: &UserManager, profile: &Profile, unit: &str) -> Result<String, ActionError> {
    let properties = manager.properties_of(unit).await?;
    let now = Limits {
        memory_high: launch::known(&properties, "MemoryHigh"),
        memory_max: launch::known(&properties, "MemoryMax"),
    };
    let bound = profile.budget.workload_total.0;
    let more = now.more(bound).ok_or(ActionError::NoMore { unit: unit.to_owned(), bound })?;
    manager.set_memory_limits(unit, more).await?;
    let change = |name: &str, from: Option<u64>, to: Option<u64>| {
        from.zip(to).map(|(from, to)| format!("{name} {} → {}", human(from), human(to)))
    };
    let changes =
        [change("MemoryHigh", now.memory_high, more.memory_high), change("MemoryMax", now.memory_max, more.memory_max)];
    Ok(changes.into_iter().flatten().collect::<Vec<_>>().join(", ") + " until it stops")
}

/// Logs a choice's outcome as an event of the app (`done` is its why) and returns the answer.
fn log(profile: &Profile, choice: Choice, unit: &str, done: String) -> Result<String, ActionError> {
    let who = crate::agent::kills::who(profile, unit, &crate::agent::kills::data_dirs());
    let event = Event {
        time: crate::agent::now(),
        kind: Kind::from(choice),
        who: who.clone(),
        unit: unit.to_owned(),
        why: done,
    };
    match EventLog::from_env().append(&event) {
        Ok(()) => Ok(format!("{who} ({unit}): {}", event.why)),
        Err(e) => Ok(format!("{who} ({unit}): {} ({e}; not kept)", event.why)),
    }
}

/// Preview, apply or roll back a tuning target; tells running programs on `connection`.
pub async fn tune(
    profile: &Profile,
    connection: &zbus::Connection,
    target: Target,
    action: TuneAction,
) -> Result<String, ActionError> {
    let session = tune::Session::probe(Some(connection)).await;
    let places = tune::Places::from_env(session.plasma.kconfig());
    match action {
        TuneAction::Preview => {
            let plans = tune::plan(profile, target, &session, &places)?;
            let (diff, refusals) = (tune::diff(&plans), tune::refusals(&plans));
            let last = match (diff.is_empty(), refusals.is_empty()) {
                (false, _) => diff,
                (true, true) => already_tuned(target),
                (true, false) => String::new(),
            };
            Ok(lines(refusals.into_iter().chain(tune::unread(&plans, &session)).chain([last])))
        }
        TuneAction::Apply => {
            let applied = tune::apply_and_tell(profile, target, &session, &places, Some(connection)).await?;
            let refusals = tune::refusals(&applied.plans);
            let Some(backup) = applied.backup else {
                return if refusals.is_empty() {
                    Ok(already_tuned(target))
                } else {
                    Err(ActionError::Refused(refusals))
                };
            };
            let notes = refusals.into_iter().chain(tune::unread(&applied.plans, &session));
            Ok(lines(notes.chain([format!("applied; backup {}", backup.name)]).chain(applied.told)))
        }
        TuneAction::Rollback => {
            let rolled = tune::rollback_and_tell(&places, target, None, false, Some(connection)).await?;
            Ok(lines([format!("rolled back {}", rolled.backup.name)].into_iter().chain(rolled.told)))
        }
    }
}

fn already_tuned(target: Target) -> String {
    format!("{} is already tuned: nothing to change", target.name())
}

/// The non-empty lines, one text.
fn lines(lines: impl IntoIterator<Item = String>) -> String {
    lines.into_iter().filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// The doctor's checks. Its probes run external tools, so it runs off the agent's thread.
pub async fn doctor_checks(profile: Profile, root: PathBuf) -> Result<Vec<doctor::Check>, ActionError> {
    let checks = tokio::task::spawn_blocking(move || {
        let facts = doctor::gather(&mut Sampler::with_root(root), &profile)?;
        Ok::<_, SampleError>(doctor::checks(&profile, &facts))
    });
    Ok(checks.await??)
}

/// Starts the dashboard process; it reads everything from this agent's D-Bus API.
pub fn open_dashboard() -> Result<(), ActionError> {
    let spawn = |source| ActionError::Spawn { what: "the dashboard", source };
    let exe = std::env::current_exe().map_err(spawn)?;
    tokio::process::Command::new(exe)
        .arg("dashboard")
        .stdin(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(spawn)
}
