//! Apply and roll back with what surrounds them (the KWin effects loaded now, the backup,
//! telling the running programs), in one place for the CLI and the agent; each only words
//! the outcome.

use super::{reload, Backup, FilePlan, Places, Restored, Session, Target, TuneError};
use crate::profile::Profile;

/// What apply did: the plans (what was written, refused, or not read by this Plasma), the
/// backup (None: nothing needed writing) and what telling the running programs did.
pub struct Applied {
    /// Each file's plan: what was written, refused, or not used by this session's KWin.
    pub plans: Vec<FilePlan>,
    /// The backup made; None when nothing needed writing.
    pub backup: Option<Backup>,
    /// A line per program told, or why nobody was.
    pub told: Vec<String>,
}

/// What rollback did: the backup restored, each file put back, and who was told.
pub struct RolledBack {
    /// The backup restored, now marked rolled back.
    pub backup: Backup,
    /// Each file put back.
    pub restored: Vec<Restored>,
    /// A line per program told, or why nobody was.
    pub told: Vec<String>,
}

/// Plans `target` for `session`, backs up and writes what changes, and tells the running
/// programs on `connection` (None: no session bus; they read the files when they start).
pub async fn apply_and_tell(
    profile: &Profile,
    target: Target,
    session: &Session,
    places: &Places,
    connection: Option<&zbus::Connection>,
) -> Result<Applied, TuneError> {
    let plans = super::plan(profile, target, session, places)?;
    let loaded = match connection {
        Some(connection) => reload::loaded_effects(connection).await,
        None => None,
    };
    let backup = super::apply(&plans, target, places, loaded)?;
    let told = match &backup {
        Some(_) => {
            let changes: Vec<(&str, _)> = plans.iter().map(|p| (p.file, p.changed.clone())).collect();
            tell(connection, &changes, &super::applied_effects(&plans, places)).await
        }
        None => Vec::new(),
    };
    Ok(Applied { plans, backup, told })
}

/// Restores `target`'s newest backup (or the one named `to`) and tells the running programs;
/// `force` rolls back over settings changed since the apply.
pub async fn rollback_and_tell(
    places: &Places,
    target: Target,
    to: Option<&str>,
    force: bool,
    connection: Option<&zbus::Connection>,
) -> Result<RolledBack, TuneError> {
    let (backup, restored) = super::rollback(places, target, to, force)?;
    let changes: Vec<(&str, _)> = restored.iter().map(|r| (r.file.as_str(), r.changed.clone())).collect();
    let effects: Vec<(String, bool)> = restored.iter().flat_map(|r| r.effects.clone()).collect();
    let told = tell(connection, &changes, &effects).await;
    Ok(RolledBack { backup, restored, told })
}

async fn tell(
    connection: Option<&zbus::Connection>,
    changes: &[(&str, crate::kconfig::ChangedKeys)],
    effects: &[(String, bool)],
) -> Vec<String> {
    match connection {
        Some(connection) => reload::tell_programs(connection, changes, effects).await,
        None => vec!["no session bus: running programs were not told; they read the files when they start".into()],
    }
}
