//! A lossless model of KConfig files (kwinrc, kdeglobals, baloofilerc, ...).
//!
//! [`Document::parse`] takes any bytes and [`Document::to_bytes`] gives exactly those
//! bytes back: comments, blank lines, order, duplicates, CRLF, a BOM, broken lines and
//! invalid UTF-8 all survive. Edits rewrite or insert only the lines they must.
//!
//! Reads follow KF5 5.103's parser, checked against kreadconfig5 (tests/kconfig_peer.rs), or
//! with [`Generation::Kf6`] KF6's (checked against kreadconfig6 6.13 in the real-desktop
//! guest), which differs in two places: it trims `\v` and `\f` too, and unescapes keys once.
//! - Lines are split on `\n` and lose every `\r` (Qt reads the file in text mode, so CRLF
//!   reads like LF and a stray `\r` vanishes). Lines, keys and values are trimmed of
//!   spaces and tabs, not `\v` or `\f`. A line starting with `#` is a comment. Keys
//!   before any header are in [`DEFAULT_GROUP`].
//! - `[A][B]` is the nested group named `A\x1dB` (parts joined by [`GROUP_SEPARATOR`]);
//!   groups and keys are named by these bytes everywhere in this API. Duplicate groups
//!   merge. A header without its `]` is ignored, and the keys below it stay in the group
//!   above. Text after a header's last `]` is ignored. `[]` names the group `""`, which
//!   is not the default group. `[<default>]` is the default group.
//! - `key=value`: both trimmed, the value is everything after the first `=`; the last
//!   line of a key wins. Escapes: `\s` `\t` `\n` `\r` `\\` `\xNN`; `\;` and `\,` stay as
//!   written; an unknown escape `\q` reads as `\`. KF5 unescapes keys twice (`a\\sb` is
//!   the key `a b`) but group names and values once.
//! - `key[$e]` expands `$VAR` and `${VAR}` on read ([`Entry::expanded`]); `$(cmd)` is
//!   never run. `key[$d]` deletes the key.
//! - `key[$i]`, `[Group][$i]` and a bare `[$i]` line (the whole file) mark things
//!   immutable: later lines cannot override an immutable key, and edits are refused.
//! - `key[de_DE]` is a translation. [`Document::get`], [`Document::set`] and
//!   [`Document::remove`] work on the untranslated key; [`Document::get_localized`]
//!   reads what a program in a given locale reads (for kreadconfig5 under `LC_ALL=C`,
//!   the locale `C`, where `key[]` and `key[C]` are translations too).
//! - Values are bytes; KConfig turns them into text as UTF-8, replacing each invalid
//!   byte with U+FFFD and dropping a leading BOM. A BOM at the start of the file is not
//!   skipped: it spoils the first line.
//!
//! ```
//! use ballast::kconfig::{changed_keys, Document};
//!
//! let before = Document::parse(b"[KDE]\nAnimationDurationFactor=1\n# kept\n");
//! let mut after = before.clone();
//! after.set("KDE", "AnimationDurationFactor", "0.5")?;
//! after.set_expandable("General", "exclude folders", "$HOME/.cache/")?;
//! assert_eq!(
//!     after.to_bytes(),
//!     b"[KDE]\nAnimationDurationFactor=0.5\n# kept\n\n[General]\nexclude folders[$e]=$HOME/.cache/\n",
//! );
//! let home = |name: &str| (name == "HOME").then(|| "/home/me".to_owned());
//! let folders = after.get("General", "exclude folders").expect("just set");
//! assert_eq!(&*folders.expanded(home), b"/home/me/.cache/");
//! assert_eq!(changed_keys(&before, &after).len(), 2);
//! # Ok::<(), ballast::kconfig::KconfigError>(())
//! ```

mod cascade;
mod document;
mod escape;
mod expand;
mod line;
mod resolve;

pub use cascade::{Cascade, Effective, Lock, LockLevel};
pub use document::{changed_keys, ChangedKeys, Document, Entry};

/// Which KConfig reads the files: KDE Frameworks 5 (Plasma 5) or 6 (Plasma 6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Generation {
    /// KF5 5.103: trims spaces and tabs, unescapes keys twice.
    #[default]
    Kf5,
    /// KF6: also trims `\v` and `\f`, and unescapes keys once.
    Kf6,
}

/// The group of the keys above the first header.
pub const DEFAULT_GROUP: &str = "<default>";

/// Joins the parts of a nested group's name: `[A][B]` is `A\x1dB`, the form the
/// org.kde.kconfig.notify ConfigChanged signal uses too.
pub const GROUP_SEPARATOR: u8 = 0x1d;

/// An edit KConfig itself would refuse, or one whose result it would misread.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum KconfigError {
    /// The file is locked by a `[$i]` line before any group.
    #[error("cannot change {} in {}: the file is marked immutable ([$i])", show_key(.key), show_group(.group))]
    ImmutableFile { group: Vec<u8>, key: Vec<u8> },
    /// The key's group is locked by a `[Group][$i]` header.
    #[error("cannot change {} in {}: the group is marked immutable ([$i])", show_key(.key), show_group(.group))]
    ImmutableGroup { group: Vec<u8>, key: Vec<u8> },
    /// The key is locked by a `key[$i]=` line.
    #[error("cannot change {} in {}: the key is marked immutable ([$i])", show_key(.key), show_group(.group))]
    ImmutableKey { group: Vec<u8>, key: Vec<u8> },
    /// The key name, once escaped and written, would not read back as itself.
    #[error("cannot write {} in {}: KConfig would not read that key name back", show_key(.key), show_group(.group))]
    UnwritableKey { group: Vec<u8>, key: Vec<u8> },
    /// No header for the group name would read back as that group.
    #[error("cannot write a header for {}: KConfig would not read that group name back", show_group(.group))]
    UnwritableGroup { group: Vec<u8> },
}

/// `A\x1dB` as `[A][B]`.
fn show_group(group: &[u8]) -> String {
    group.split(|&byte| byte == GROUP_SEPARATOR).map(|part| format!("[{}]", String::from_utf8_lossy(part))).collect()
}

fn show_key(key: &[u8]) -> String {
    format!("key {:?}", String::from_utf8_lossy(key))
}
