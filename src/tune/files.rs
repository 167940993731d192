//! Reading config files, writing them atomically, and the backups that make every
//! change reversible byte for byte.

use super::TuneError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The file's bytes, or None when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, TuneError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TuneError::Read { path: path.to_path_buf(), source }),
    }
}

/// Why ballast leaves a config file alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A symlink: something else owns the file (home-manager's `xdg.configFile` and
    /// plasma-manager link into the read-only Nix store); writing would replace the link and
    /// home-manager's next switch would refuse to clobber the plain file.
    Symlink {
        /// Where the link points (read_link, not resolved further).
        target: PathBuf,
    },
    /// No write permission for anyone: someone made it read-only on purpose.
    ReadOnly,
}

impl Refusal {
    /// Whether the file is a link into the Nix store (home-manager, plasma-manager).
    pub fn nix_managed(&self) -> bool {
        matches!(self, Refusal::Symlink { target } if target.starts_with("/nix/store"))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Symlink { target } if self.nix_managed() => {
                write!(f, "it is a link into the Nix store ({}): home-manager manages it", target.display())
            }
            Refusal::Symlink { target } => {
                write!(f, "it is a symlink to {}: whatever made the link owns the file", target.display())
            }
            Refusal::ReadOnly => write!(f, "it is read-only (no write permission for anyone)"),
        }
    }
}

/// Whether `path` may be written: None when it is a plain writable file or does not exist.
pub fn refusal(path: &Path) -> Result<Option<Refusal>, TuneError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(TuneError::Read { path: path.to_path_buf(), source }),
    };
    if metadata.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(|source| TuneError::Read { path: path.to_path_buf(), source })?;
        return Ok(Some(Refusal::Symlink { target }));
    }
    Ok((metadata.permissions().mode() & 0o222 == 0).then_some(Refusal::ReadOnly))
}

/// Writes `bytes` to `path` atomically (crate::atomic): the old file or the new one, never
/// half of either.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TuneError> {
    crate::atomic::write(path, bytes).map_err(|source| TuneError::Write { path: path.to_path_buf(), source })
}

/// One file of a backup: where it lives and what it held before and after our write.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JournalFile {
    /// The config file's name ("kwinrc", "kdeglobals", "baloofilerc"); the same under before/
    /// and after/.
    pub file: String,
    /// Where the file lives.
    pub path: PathBuf,
    /// False when we created the file: rolling back removes it.
    pub existed: bool,
}

/// journal.json of one backup.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Journal {
    /// When the backup was made: RFC 3339, UTC, to the second.
    pub created: String,
    /// The target applied: "kwin", "baloo" or "all".
    pub target: String,
    /// The files backed up.
    pub files: Vec<JournalFile>,
    /// Whether a rollback has restored this backup.
    pub rolled_back: bool,
    /// KWin's loaded effects just before the apply (org.kde.kwin.Effects loadedEffects), so a
    /// rollback that unsets an `<effect>Enabled` key can put the effect back as it was; None
    /// when KWin did not answer (and in journals from before this field).
    #[serde(default)]
    pub loaded_effects: Option<Vec<String>>,
}

/// A backup directory: `journal.json`, `before/<file>` and `after/<file>`.
pub struct Backup {
    /// The directory's name: the UTC time it was made (20250101T120000Z), -2, -3... on a clash.
    pub name: String,
    /// The backup's directory under $XDG_STATE_HOME/ballast/backups.
    pub dir: PathBuf,
    /// Its journal.json.
    pub journal: Journal,
}

/// A file about to be tuned: its journal entry, its bytes now (None: it does not exist) and
/// the bytes about to be written.
pub type Contents<'a> = (JournalFile, Option<&'a [u8]>, &'a [u8]);

impl Backup {
    /// Where `file`'s bytes from before the apply are kept: `before/<file>`.
    pub fn before(&self, file: &str) -> PathBuf {
        self.dir.join("before").join(file)
    }

    /// Where the bytes the apply wrote to `file` are kept: `after/<file>`.
    pub fn after(&self, file: &str) -> PathBuf {
        self.dir.join("after").join(file)
    }

    /// Creates a new backup named after the current UTC time, holding each file's
    /// current bytes (before) and the bytes about to be written (after).
    pub fn create(
        backups: &Path,
        target: &str,
        files: &[Contents<'_>],
        loaded_effects: Option<Vec<String>>,
    ) -> Result<Backup, TuneError> {
        let stamp: String = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        let mut name = stamp.clone();
        let mut attempt = 1;
        while backups.join(&name).exists() {
            attempt += 1;
            name = format!("{stamp}-{attempt}");
        }
        let dir = backups.join(&name);
        let write = |path: PathBuf, bytes: &[u8]| -> Result<(), TuneError> {
            fs::create_dir_all(path.parent().expect("inside the backup"))
                .map_err(|source| TuneError::Write { path: path.clone(), source })?;
            fs::write(&path, bytes).map_err(|source| TuneError::Write { path, source })
        };
        let journal = Journal {
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            target: target.to_owned(),
            files: files.iter().map(|(f, ..)| f.clone()).collect(),
            rolled_back: false,
            loaded_effects,
        };
        let backup = Backup { name, dir, journal };
        for (file, before, after) in files {
            if let Some(before) = before {
                write(backup.before(&file.file), before)?;
            }
            write(backup.after(&file.file), after)?;
        }
        backup.save()?;
        Ok(backup)
    }

    /// Writes journal.json atomically.
    pub fn save(&self) -> Result<(), TuneError> {
        let text = serde_json::to_string_pretty(&self.journal).expect("a journal serializes");
        write_atomically(&self.dir.join("journal.json"), text.as_bytes())
    }

    fn load(dir: &Path) -> Result<Backup, TuneError> {
        let path = dir.join("journal.json");
        let text = fs::read_to_string(&path).map_err(|source| TuneError::Read { path: path.clone(), source })?;
        let journal = serde_json::from_str(&text).map_err(|e| TuneError::Journal { path, detail: e.to_string() })?;
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Backup { name, dir: dir.to_path_buf(), journal })
    }

    /// Every backup, oldest first (names sort by time).
    pub fn list(backups: &Path) -> Result<Vec<Backup>, TuneError> {
        let entries = match fs::read_dir(backups) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(TuneError::Read { path: backups.to_path_buf(), source }),
        };
        let mut dirs: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.join("journal.json").exists()).collect();
        dirs.sort();
        dirs.iter().map(|d| Backup::load(d)).collect()
    }
}
