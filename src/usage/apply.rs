//! `ballast suggest --apply`: suggested limits written into the user's profile file, or, where
//! Nix manages that file, the home-manager settings that say the same.
//!
//! The file is edited with toml_edit, so its comments, order and formatting stay as they are:
//! only the `memory_high` and `memory_max` of the apps' `[[app]]` tables change, and an app
//! without a table gets one (`id` and the two limits: an overlay merges it by id).

use crate::profile::{ByteSize, Origin, Profile, ProfileError};
use crate::tune::{Refusal, TuneError};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

/// Why the profile file cannot take the limits.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum ApplyError {
    /// Not TOML: toml_edit's message (with line and column).
    #[error("the profile file is not TOML: {0}")]
    Parse(#[from] toml_edit::TomlError),
    /// `app` is there but not an array of `[[app]]` tables.
    #[error("the profile file's `app` is not a list of [[app]] tables")]
    NotTables,
    /// The file with the limits would not load (a suggestion beyond a bound the profile sets).
    #[error("not written: {0}")]
    Invalid(#[from] ProfileError),
    /// The file could not be read, or is not one ballast writes (tune's refusals).
    #[error(transparent)]
    File(#[from] TuneError),
    /// Someone else owns the file (a symlink not into the Nix store, read-only).
    #[error("{path}: not written: {refusal}")]
    Refused { path: PathBuf, refusal: Refusal },
    /// The backup or the file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// What `write_profile` did.
#[derive(Debug, PartialEq)]
pub enum Written {
    /// The file holds the limits now.
    File {
        /// The profile file.
        path: PathBuf,
        /// The file as it was; None where there was none.
        backup: Option<PathBuf>,
    },
    /// Nix manages the file (a link into the Nix store): nothing written.
    NixManaged {
        /// The profile file.
        path: PathBuf,
        /// What to put in the home-manager configuration instead.
        settings: String,
    },
}

/// Sets the limits in the profile file at `path` (created when missing): checked to load,
/// the old file copied into `backups` first (as `NAME.TIME.N`), written atomically. A file Nix manages is left
/// alone and the home-manager settings are returned instead.
pub fn write_profile(path: &Path, backups: &Path, limits: &[Limits], now: u64) -> Result<Written, ApplyError> {
    match crate::tune::refusal(path)? {
        Some(refusal) if refusal.nix_managed() => {
            return Ok(Written::NixManaged { path: path.to_owned(), settings: home_manager_settings(limits) })
        }
        Some(refusal) => return Err(ApplyError::Refused { path: path.to_owned(), refusal }),
        None => {}
    }
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ApplyError::Write { path, source }
    };
    let old = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(TuneError::Read { path: path.to_owned(), source }.into()),
    };
    let new = apply_to_profile(old.as_deref().unwrap_or_default(), limits)?;
    Profile::from_overlay(&new, &Origin::File(path.to_owned()))?;
    let backup = match &old {
        Some(text) => {
            let name = path.file_name().map_or("profile".into(), |n| n.to_string_lossy().into_owned());
            let backup =
                (0..).map(|n| backups.join(format!("{name}.{now}.{n}"))).find(|b| !b.exists()).expect("a free name");
            std::fs::create_dir_all(backups).map_err(write_error(backups))?;
            crate::atomic::write(&backup, text.as_bytes()).map_err(write_error(&backup))?;
            Some(backup)
        }
        None => None,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    }
    crate::atomic::write(path, new.as_bytes()).map_err(write_error(path))?;
    Ok(Written::File { path: path.to_owned(), backup })
}

/// Limits for one app: its catalog id, MemoryHigh and MemoryMax in bytes.
pub type Limits<'a> = (&'a str, u64, u64);

/// `text` (a profile file, maybe empty) with each app's limits set.
pub fn apply_to_profile(text: &str, limits: &[Limits]) -> Result<String, ApplyError> {
    let mut document: DocumentMut = text.parse()?;
    let apps = document
        .entry("app")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or(ApplyError::NotTables)?;
    for &(id, high, max) in limits {
        let found = apps.iter().position(|t| t.get("id").and_then(Item::as_str) == Some(id));
        let index = match found {
            Some(index) => index,
            None => {
                let mut table = Table::new();
                table["id"] = toml_edit::value(id);
                apps.push(table);
                apps.len() - 1
            }
        };
        let table = apps.get_mut(index).expect("found or pushed above");
        set_size(table, "memory_high", high);
        set_size(table, "memory_max", max);
    }
    Ok(document.to_string())
}

/// Sets `key` to `bytes` as the profile writes sizes ("1.5G"), keeping the old value's
/// surroundings (the spaces and the comment after it on its line).
fn set_size(table: &mut Table, key: &str, bytes: u64) {
    let mut value = toml_edit::Value::from(ByteSize(bytes).to_string());
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *value.decor_mut() = old.decor().clone();
    }
    table[key] = Item::Value(value);
}

/// The home-manager settings for the same limits (`programs.ballast.settings`, whose `app`
/// takes an attribute set keyed by id).
pub fn home_manager_settings(limits: &[Limits]) -> String {
    let mut out = String::from("programs.ballast.settings.app = {\n");
    for &(id, high, max) in limits {
        let _ = writeln!(
            out,
            "  {} = {{ memory_high = \"{}\"; memory_max = \"{}\"; }};",
            nix_attribute(id),
            ByteSize(high),
            ByteSize(max)
        );
    }
    out.push_str("};\n");
    out
}

/// `id` as a Nix attribute name: bare where Nix allows it, else quoted.
fn nix_attribute(id: &str) -> String {
    let bare = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
    if bare {
        id.to_owned()
    } else {
        format!("\"{id}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Origin, Profile};

    const G: u64 = 1 << 30;
    const M: u64 = 1 << 20;

    const FILE: &str = "# my desktop\n[budget]\nidle_total = \"3G\"  # measured\n\n[[app]]\nid = \"discord\" # chat\nmemory_high = \"2G\"   # by hand\nmemory_max = \"3G\"\ncpu_quota = \"150%\"\n";

    #[test]
    fn limits_change_in_place_and_everything_else_stays_byte_for_byte() {
        let out = apply_to_profile(FILE, &[("discord", 1536 * M, 2560 * M)]).unwrap();
        assert_eq!(out, FILE.replace("\"2G\"", "\"1.5G\"").replace("\"3G\"\ncpu", "\"2.5G\"\ncpu"));
        let profile = Profile::from_overlay(&out, &Origin::Embedded).unwrap();
        let discord = profile.app("discord").unwrap();
        assert_eq!((discord.memory_high.0, discord.memory_max.0), (1536 * M, 2560 * M));
        assert_eq!(profile.budget.idle_total.0, 3 * G, "the rest of the file still reads the same");
    }

    #[test]
    fn an_app_without_a_table_gets_one_that_merges_by_id() {
        let out = apply_to_profile(FILE, &[("spotify", G, 2 * G)]).unwrap();
        assert!(out.starts_with(FILE), "appended after what was there:\n{out}");
        assert!(out.ends_with("\n[[app]]\nid = \"spotify\"\nmemory_high = \"1G\"\nmemory_max = \"2G\"\n"), "{out}");
        let profile = Profile::from_overlay(&out, &Origin::Embedded).unwrap();
        let spotify = profile.app("spotify").unwrap();
        assert_eq!((spotify.memory_high.0, spotify.memory_max.0), (G, 2 * G));
        assert_eq!(spotify.exec, Profile::embedded().app("spotify").unwrap().exec, "the catalog's entry, merged");
        let empty = apply_to_profile("", &[("spotify", G, 2 * G)]).unwrap();
        assert!(Profile::from_overlay(&empty, &Origin::Embedded).is_ok(), "{empty}");
    }

    #[test]
    fn a_file_that_cannot_take_them_says_why() {
        assert!(matches!(apply_to_profile("app = 3\n", &[("x", G, G)]), Err(ApplyError::NotTables)));
        assert!(matches!(apply_to_profile("[budget\n", &[("x", G, G)]), Err(ApplyError::Parse(_))));
    }

    #[test]
    fn the_file_is_backed_up_and_written_or_left_to_nix() {
        let dir = tempfile::tempdir().unwrap();
        let (path, backups) = (dir.path().join("ballast/config.toml"), dir.path().join("backups"));
        let limits = [("discord", 1536 * M, 2560 * M)];
        let first = write_profile(&path, &backups, &limits, 7).unwrap();
        assert_eq!(first, Written::File { path: path.clone(), backup: None }, "a new file has nothing to back up");
        std::fs::write(&path, FILE).unwrap();
        let second = write_profile(&path, &backups, &limits, 8).unwrap();
        let backup = backups.join("config.toml.8.0");
        assert_eq!(second, Written::File { path: path.clone(), backup: Some(backup.clone()) });
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), FILE);
        assert!(std::fs::read_to_string(&path).unwrap().contains("memory_high = \"1.5G\""));
        let too_big = write_profile(&path, &backups, &[("discord", 4 * G, 2 * G)], 9);
        assert!(matches!(too_big, Err(ApplyError::Invalid(_))), "{too_big:?}");
        assert!(!backups.join("config.toml.9.0").exists(), "nothing written for a refused change");
        write_profile(&path, &backups, &limits, 8).unwrap();
        assert!(backups.join("config.toml.8.1").exists(), "a second apply in the same second keeps the first backup");
        let linked = dir.path().join("linked.toml");
        std::os::unix::fs::symlink("/nix/store/0000-home-manager-files/.config/ballast/config.toml", &linked).unwrap();
        match write_profile(&linked, &backups, &limits, 10).unwrap() {
            Written::NixManaged { settings, .. } => assert!(settings.contains("discord = {"), "{settings}"),
            other => panic!("{other:?}"),
        }
        assert!(std::fs::symlink_metadata(&linked).unwrap().file_type().is_symlink(), "the link is left alone");
    }

    #[test]
    fn home_manager_settings_are_nix_keyed_by_id() {
        let nix =
            home_manager_settings(&[("discord", 1536 * M, 2560 * M), ("claude-desktop", G, 2 * G), ("0ad", G, G)]);
        assert_eq!(
            nix,
            "programs.ballast.settings.app = {\n  discord = { memory_high = \"1.5G\"; memory_max = \"2.5G\"; };\n  claude-desktop = { memory_high = \"1G\"; memory_max = \"2G\"; };\n  \"0ad\" = { memory_high = \"1G\"; memory_max = \"1G\"; };\n};\n"
        );
    }
}
