//! `ballast tune`: KWin and Baloo settings written into their KConfig files, with a
//! preview (unified diff), backups, atomic writes, rollback and notification of the
//! running programs. `plan` is pure; `files` and `reload` (telling the running programs) are the edges.

mod files;
pub mod measure;
mod plan;
pub mod reload;
mod run;
mod session;
mod target;

pub use files::{refusal, Backup, Journal, JournalFile, Refusal};
pub use plan::{
    apply_settings, baloo_settings, effect_config_name, kwin_settings, reversal, split_list, Plasma, Reversal, Setting,
};
pub use run::{apply_and_tell, rollback_and_tell, Applied, RolledBack};
pub use session::{KwinIdentity, Session, SessionEnv};
pub use target::Target;

use crate::kconfig::{changed_keys, Cascade, ChangedKeys, Document, Generation, KconfigError, LockLevel};
use crate::profile::Profile;
use std::path::PathBuf;
use thiserror::Error;

/// Why a tune preview, apply, rollback or status failed.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum TuneError {
    /// A config file, backup or the backups directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// A config file or backup could not be written (or, in a rollback, removed).
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    /// A setting cannot go into the file: an immutable `[$i]` mark, or a name KConfig would not
    /// read back.
    #[error("{path}: {source}")]
    Kconfig { path: PathBuf, source: KconfigError },
    /// A backup's journal.json does not parse.
    #[error("backup journal {path} is unreadable: {detail}")]
    Journal { path: PathBuf, detail: String },
    /// No backup of the target is left to roll back (none made, or all rolled back).
    #[error("no backup to roll back to in {dir}")]
    NoBackup { dir: PathBuf },
    /// `--to` names no backup; `available` lists those there are.
    #[error("no backup named {name}; there are: {available}")]
    UnknownBackup { name: String, available: String },
    /// Keys ballast set were changed since the apply; rolling back needs `--force`.
    #[error("settings ballast wrote were changed since: {keys}; roll back anyway with --force (those edits are lost)")]
    ChangedSinceApply { keys: String },
}

/// Where the files are: XDG_CONFIG_HOME, XDG_CONFIG_DIRS, XDG_STATE_HOME and HOME of this
/// session.
#[derive(Clone, Debug)]
pub struct Places {
    /// $XDG_CONFIG_HOME (default ~/.config): the user's files, the ones ballast writes.
    pub config_dir: PathBuf,
    /// The system config directories, most important first (XDG Base Directory spec;
    /// default /etc/xdg). NixOS sets several.
    pub config_dirs: Vec<PathBuf>,
    /// $XDG_STATE_HOME/ballast/backups (default ~/.local/state/ballast/backups).
    pub backups_dir: PathBuf,
    /// $HOME ("/" when unset), which `$HOME` in values expands to.
    pub home: String,
    /// The KConfig that reads these files (the session's Plasma: KF5 or KF6).
    pub kconfig: Generation,
}

impl Places {
    /// From this session's environment (an unset, empty or relative variable takes its XDG
    /// default: crate::xdg);
    /// `kconfig` is the KConfig that reads the files.
    pub fn from_env(kconfig: Generation) -> Places {
        Places {
            config_dir: crate::xdg::config_home(),
            config_dirs: config_dirs(std::env::var("XDG_CONFIG_DIRS").ok().as_deref()),
            backups_dir: crate::xdg::state_dir().join("backups"),
            home: crate::xdg::home().to_string_lossy().into_owned(),
            kconfig,
        }
    }

    /// `bytes` as this session's KConfig reads them.
    fn parse(&self, bytes: &[u8]) -> Document {
        Document::parse_as(bytes, self.kconfig)
    }

    /// The existing files named `name` in the system config directories, least important
    /// first: the order KConfig reads them in, below the user's own.
    fn system_files(&self, name: &str) -> Result<Vec<(PathBuf, Document)>, TuneError> {
        let mut found = Vec::new();
        for dir in self.config_dirs.iter().rev() {
            let path = dir.join(name);
            if let Some(bytes) = files::read_optional(&path)? {
                found.push((path, self.parse(&bytes)));
            }
        }
        Ok(found)
    }
}

/// $XDG_CONFIG_DIRS as the spec reads it: `:`-separated absolute paths, /etc/xdg when unset
/// or empty; relative entries are ignored.
fn config_dirs(value: Option<&str>) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> =
        value.unwrap_or_default().split(':').filter(|d| d.starts_with('/')).map(PathBuf::from).collect();
    if dirs.is_empty() {
        vec![PathBuf::from("/etc/xdg")]
    } else {
        dirs
    }
}

/// A setting a system file locks: KDE keeps reading that file's value, whatever the user's
/// file says, so ballast does not write it.
#[derive(Clone, Debug)]
pub struct LockedSetting {
    /// The setting ballast would have written.
    pub setting: Setting,
    /// The locking file.
    pub by: PathBuf,
    /// What the mark locks: the whole file, the group or the key.
    pub level: LockLevel,
}

impl std::fmt::Display for LockedSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = format!("[{}]", self.setting.group.replace('\x1d', "]["));
        let mark = match self.level {
            LockLevel::File => "[$i] before any group: the whole file".to_owned(),
            LockLevel::Group => format!("{group}[$i]"),
            LockLevel::Key => format!("{}[$i]", self.setting.key),
        };
        write!(
            f,
            "{} {group} {}: locked by {} ({mark}); KDE keeps reading that file's value",
            self.setting.file,
            self.setting.key,
            self.by.display()
        )
    }
}

/// One file's change: its bytes before and after, and the keys that differ.
#[derive(Clone, Debug)]
pub struct FilePlan {
    /// The config file's name ("kwinrc", "kdeglobals", "baloofilerc").
    pub file: &'static str,
    /// The user's file: `$XDG_CONFIG_HOME/<file>`.
    pub path: PathBuf,
    /// Its bytes now; None when it does not exist.
    pub before: Option<Vec<u8>>,
    /// Its bytes with the settings applied.
    pub after: Vec<u8>,
    /// The keys that differ, by group (ConfigChanged's body).
    pub changed: ChangedKeys,
    /// The target's settings in this file that it can take.
    pub settings: Vec<Setting>,
    /// The target's settings in this file that a system file locks.
    pub locked: Vec<LockedSetting>,
    /// The target's settings in this file that this session's KWin does not use, with why:
    /// not written.
    pub unread: Vec<(Setting, &'static str)>,
    /// Why this file is left alone (a symlink, read-only); None when it can be written.
    pub refused: Option<Refusal>,
}

impl FilePlan {
    /// Whether the settings change the file's bytes (whether or not it may be written).
    pub fn changes_anything(&self) -> bool {
        self.before.as_deref() != Some(&self.after[..])
    }

    /// Whether applying writes this file: it changes and is ours to write.
    pub fn writes(&self) -> bool {
        self.changes_anything() && self.refused.is_none()
    }

    /// The same settings as plasma-manager's `programs.plasma.configFile`, for a file
    /// home-manager manages (plasma-manager's README: values are bool, int, float or string;
    /// `shellExpand` writes the `[$e]` flag).
    pub fn nix_setting(&self) -> String {
        let quote =
            |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"").replace("${", "\\${"));
        let attr = |name: &str| {
            if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-')
            {
                name.to_owned()
            } else {
                quote(name)
            }
        };
        self.settings
            .iter()
            .map(|s| {
                let value = match s.value.as_str() {
                    "true" | "false" => s.value.clone(),
                    v if v.parse::<i64>().is_ok() => s.value.clone(),
                    v if s.expandable => format!("{{ value = {}; shellExpand = true; }}", quote(v)),
                    v => quote(v),
                };
                format!("programs.plasma.configFile.{}.{}.{} = {value};", attr(self.file), attr(&s.group), attr(&s.key))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The settings a target stands for (Baloo's excludes merge with the current file).
pub fn settings(profile: &Profile, target: Target, plasma: Plasma, places: &Places) -> Result<Vec<Setting>, TuneError> {
    let mut settings = Vec::new();
    if matches!(target, Target::Kwin | Target::All) {
        settings.extend(kwin_settings(&profile.tune.kwin, plasma));
    }
    if matches!(target, Target::Baloo | Target::All) {
        let path = places.config_dir.join("baloofilerc");
        let current = places.parse(&files::read_optional(&path)?.unwrap_or_default());
        settings.extend(baloo_settings(&profile.tune.baloo, &current, &places.home));
    }
    Ok(settings)
}

/// What applying `target` would do to each file in `session`.
pub fn plan(profile: &Profile, target: Target, session: &Session, places: &Places) -> Result<Vec<FilePlan>, TuneError> {
    let settings = settings(profile, target, session.plasma, places)?;
    let mut names: Vec<&'static str> = settings.iter().map(|s| s.file).collect();
    names.dedup();
    names
        .into_iter()
        .map(|file| {
            let path = places.config_dir.join(file);
            let before = files::read_optional(&path)?;
            let document = places.parse(before.as_deref().unwrap_or_default());
            let system = places.system_files(file)?;
            let cascade = Cascade::new(system.iter().map(|(_, d)| d).chain([&document]).collect());
            let (mut ours, mut locked, mut unread) = (Vec::new(), Vec::new(), Vec::new());
            for setting in settings.iter().filter(|s| s.file == file).cloned() {
                match (session.unread(&setting), cascade.lock(&setting.group, &setting.key)) {
                    (Some(why), _) => unread.push((setting, why)),
                    (None, Some(lock)) => {
                        locked.push(LockedSetting { setting, by: system[lock.file].0.clone(), level: lock.level })
                    }
                    (None, None) => ours.push(setting),
                }
            }
            let edited = apply_settings(&document, ours.iter())
                .map_err(|source| TuneError::Kconfig { path: path.clone(), source })?;
            let refused = refusal(&path)?;
            Ok(FilePlan {
                file,
                changed: changed_keys(&document, &edited),
                after: edited.to_bytes(),
                path,
                before,
                settings: ours,
                locked,
                unread,
                refused,
            })
        })
        .collect()
}

/// What to tell the user about what the target cannot change: each setting a system file
/// locks (which file, which mark), and each refused file the target would change (why, and
/// for a Nix-managed one the same settings in Nix).
pub fn refusals(plans: &[FilePlan]) -> Vec<String> {
    let locked = plans.iter().flat_map(|p| &p.locked).map(LockedSetting::to_string);
    let refused = plans.iter().filter(|p| p.changes_anything()).filter_map(|p| {
        let why = p.refused.as_ref()?;
        let nix = if why.nix_managed() {
            format!(
                "\n  set them in your home-manager configuration instead (plasma-manager):\n    {}",
                p.nix_setting().replace('\n', "\n    ")
            )
        } else {
            String::new()
        };
        Some(format!("left {} alone: {why}{nix}", p.path.display()))
    });
    locked.chain(refused).collect()
}

/// The settings this session's KWin would not use, one line each: shown, not written.
pub fn unread(plans: &[FilePlan], session: &Session) -> Vec<String> {
    plans
        .iter()
        .flat_map(|p| &p.unread)
        .map(|(s, why)| {
            format!("{} [{}] {}: not written; {} does not use it: {why}", s.file, s.group, s.key, session.kwin())
        })
        .collect()
}

/// A unified diff of every file the plans write; empty when nothing would be written.
pub fn diff(plans: &[FilePlan]) -> String {
    let mut out = String::new();
    for plan in plans.iter().filter(|p| p.writes()) {
        let before = String::from_utf8_lossy(plan.before.as_deref().unwrap_or_default()).into_owned();
        let after = String::from_utf8_lossy(&plan.after).into_owned();
        let shown = plan.path.display().to_string();
        let old = if plan.before.is_some() { shown.clone() } else { "/dev/null".to_owned() };
        out.push_str(&similar::TextDiff::from_lines(&before, &after).unified_diff().header(&old, &shown).to_string());
    }
    out
}

/// Writes the changing files after backing them up, leaving refused files (symlinks,
/// read-only) alone; None when nothing is written (applying twice writes nothing the second
/// time).
pub fn apply(
    plans: &[FilePlan],
    target: Target,
    places: &Places,
    loaded_effects: Option<Vec<String>>,
) -> Result<Option<Backup>, TuneError> {
    let changing: Vec<&FilePlan> = plans.iter().filter(|p| p.writes()).collect();
    if changing.is_empty() {
        return Ok(None);
    }
    let entries: Vec<files::Contents<'_>> = changing
        .iter()
        .map(|p| {
            (
                JournalFile { file: p.file.to_owned(), path: p.path.clone(), existed: p.before.is_some() },
                p.before.as_deref(),
                &p.after[..],
            )
        })
        .collect();
    let backup = Backup::create(&places.backups_dir, target.name(), &entries, loaded_effects)?;
    for plan in changing {
        files::write_atomically(&plan.path, &plan.after)?;
    }
    Ok(Some(backup))
}

/// The effects an apply of `plans` switches (see [`effect_switches`]).
pub fn applied_effects(plans: &[FilePlan], places: &Places) -> Vec<(String, bool)> {
    plans
        .iter()
        .filter(|p| p.file == "kwinrc" && p.writes())
        .flat_map(|p| effect_switches(&p.changed, &places.parse(&p.after), None))
        .collect()
}

/// A file put back by a rollback, with the keys that changed back and, for kwinrc, the
/// effects to load or unload.
pub struct Restored {
    /// The config file's name ("kwinrc", "kdeglobals", "baloofilerc").
    pub file: String,
    /// Where it was put back.
    pub path: PathBuf,
    /// The keys the rollback changed, by group (ConfigChanged's body).
    pub changed: ChangedKeys,
    /// The KWin effects to load (true) or unload (false); empty except for kwinrc.
    pub effects: Vec<(String, bool)>,
}

/// The KWin effects to load (true) or unload (false) once kwinrc's `changed` keys read as in
/// `now`: KWin 6 on Wayland does not act on `[Plugins]` after `reconfigure` (seen in the guest),
/// so each changed `<effect>Enabled` key is carried out through org.kde.kwin.Effects. A key
/// now unset puts its effect back as `loaded` (KWin's effects before the apply) had it; with
/// no record, it is left to KWin's next start.
pub fn effect_switches(changed: &ChangedKeys, now: &Document, loaded: Option<&[String]>) -> Vec<(String, bool)> {
    let Some(keys) = changed.get(&b"Plugins".to_vec()) else { return Vec::new() };
    keys.iter()
        .filter_map(|key| {
            let effect = String::from_utf8_lossy(key.strip_suffix(b"Enabled")?).into_owned();
            let on = match now.get("Plugins", key).map(|e| e.value.into_owned()) {
                Some(value) => value == b"true",
                None => loaded?.contains(&effect),
            };
            Some((effect, on))
        })
        .collect()
}

/// Restores the files of the latest backup of `target` not yet rolled back (any
/// target's for `all`), or of the backup named `to`: byte for byte when nobody touched
/// them since; only ballast's keys when others changed other keys; and, when someone
/// changed keys ballast had set, not at all unless `force` (then byte for byte).
pub fn rollback(
    places: &Places,
    target: Target,
    to: Option<&str>,
    force: bool,
) -> Result<(Backup, Vec<Restored>), TuneError> {
    let backups = Backup::list(&places.backups_dir)?;
    let mut backup = match to {
        Some(name) => backups.into_iter().find(|b| b.name == name).ok_or_else(|| TuneError::UnknownBackup {
            name: name.to_owned(),
            available: Backup::list(&places.backups_dir)
                .map(|all| all.iter().map(|b| b.name.clone()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
        })?,
        None => backups
            .into_iter()
            .rev()
            .find(|b| !b.journal.rolled_back && (target == Target::All || b.journal.target == target.name()))
            .ok_or(TuneError::NoBackup { dir: places.backups_dir.clone() })?,
    };
    // Decide for every file before writing any, so a conflict leaves all of them alone.
    let mut decided = Vec::new();
    let mut conflicts = Vec::new();
    for entry in &backup.journal.files {
        let now = files::read_optional(&entry.path)?;
        let before = if entry.existed { files::read_optional(&backup.before(&entry.file))? } else { None };
        let after = files::read_optional(&backup.after(&entry.file))?.unwrap_or_default();
        let parse = |bytes: &Option<Vec<u8>>| places.parse(bytes.as_deref().unwrap_or_default());
        let way = reversal(&parse(&before), &places.parse(&after), &parse(&now))
            .map_err(|source| TuneError::Kconfig { path: entry.path.clone(), source })?;
        if let Reversal::Conflict(keys) = &way {
            conflicts.extend(keys.iter().map(|k| format!("{} {k}", entry.file)));
        }
        decided.push((entry, now, before, way));
    }
    if !conflicts.is_empty() && !force {
        return Err(TuneError::ChangedSinceApply { keys: conflicts.join(", ") });
    }
    let mut restored = Vec::new();
    for (entry, now, before, way) in decided {
        let result = match way {
            Reversal::Keys(document) => Some(document.to_bytes()),
            Reversal::Whole | Reversal::Conflict(_) => before,
        };
        match &result {
            Some(bytes) => files::write_atomically(&entry.path, bytes)?,
            None => match std::fs::remove_file(&entry.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(TuneError::Write { path: entry.path.clone(), source }),
            },
        }
        let result = places.parse(result.as_deref().unwrap_or_default());
        let changed = changed_keys(&places.parse(now.as_deref().unwrap_or_default()), &result);
        let effects = if entry.file == "kwinrc" {
            effect_switches(&changed, &result, backup.journal.loaded_effects.as_deref())
        } else {
            Vec::new()
        };
        restored.push(Restored { file: entry.file.clone(), path: entry.path.clone(), changed, effects });
    }
    backup.journal.rolled_back = true;
    backup.save()?;
    Ok((backup, restored))
}

/// One target setting: the value KDE reads now (through the cascade, `$HOME` expanded), the
/// file it comes from and the file that locks it, if any.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SettingStatus {
    /// The config file's name ("kwinrc", "kdeglobals", "baloofilerc").
    pub file: String,
    /// The group (nested groups joined by \x1d).
    pub group: String,
    /// The key.
    pub key: String,
    /// The value ballast writes, with `$HOME` expanded where the key is `[$e]`.
    pub target: String,
    /// The effective value; None when no file sets it.
    pub file_value: Option<String>,
    /// The file the effective value comes from.
    pub source: Option<PathBuf>,
    /// The system file that locks the key against the user's file.
    pub locked_by: Option<PathBuf>,
    /// Why this session's KWin does not use the key (then ballast does not write it).
    pub unused: Option<String>,
    /// Whether the effective value is the target.
    pub matches: bool,
}

/// Each setting's status: the value KDE reads, the file it comes from, the file that locks it,
/// and whether `session`'s KWin uses it.
pub fn file_status(settings: &[Setting], session: &Session, places: &Places) -> Result<Vec<SettingStatus>, TuneError> {
    let mut stacks: std::collections::HashMap<&str, Vec<(PathBuf, Document)>> = std::collections::HashMap::new();
    let mut status = Vec::new();
    for setting in settings {
        if !stacks.contains_key(setting.file) {
            stacks.insert(setting.file, places.stack(setting.file)?);
        }
        let stack = &stacks[setting.file];
        let cascade = Cascade::new(stack.iter().map(|(_, d)| d).collect());
        let effective = places.effective(&cascade, &setting.group, &setting.key);
        let target =
            if setting.expandable { setting.value.replace("$HOME", &places.home) } else { setting.value.clone() };
        status.push(SettingStatus {
            file: setting.file.to_owned(),
            group: setting.group.clone(),
            key: setting.key.clone(),
            matches: effective.as_ref().map(|(value, _)| value) == Some(&target),
            source: effective.as_ref().map(|(_, file)| stack[*file].0.clone()),
            locked_by: cascade.lock(&setting.group, &setting.key).map(|lock| stack[lock.file].0.clone()),
            unused: session.unread(setting).map(|why| format!("{} does not use it: {why}", session.kwin())),
            target,
            file_value: effective.map(|(value, _)| value),
        });
    }
    Ok(status)
}

/// The values KDE reads for `keys` of `group` in config `file` (the cascade, `$HOME`
/// expanded, as kreadconfig5/6 print them); None where no file sets a key.
pub fn read_values(places: &Places, file: &str, group: &str, keys: &[&str]) -> Result<Vec<Option<String>>, TuneError> {
    let stack = places.stack(file)?;
    let cascade = Cascade::new(stack.iter().map(|(_, d)| d).collect());
    Ok(keys.iter().map(|key| places.effective(&cascade, group, key).map(|(value, _)| value)).collect())
}

impl Places {
    /// Config `file` as KConfig stacks it: the system files, least important first, then the
    /// user's (which may not exist).
    fn stack(&self, file: &str) -> Result<Vec<(PathBuf, Document)>, TuneError> {
        let mut stack = self.system_files(file)?;
        let path = self.config_dir.join(file);
        let bytes = files::read_optional(&path)?.unwrap_or_default();
        stack.push((path, self.parse(&bytes)));
        Ok(stack)
    }

    /// The effective value of `key` with `$HOME` expanded, and the index of the file it
    /// comes from.
    fn effective(&self, cascade: &Cascade, group: &str, key: &str) -> Option<(String, usize)> {
        let env = |name: &str| (name == "HOME").then(|| self.home.clone());
        cascade.get(group, key).map(|e| (String::from_utf8_lossy(&e.entry.expanded(env)).into_owned(), e.file))
    }
}

#[cfg(test)]
mod tests;
