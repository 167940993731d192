//! Protecting the session: the desktop is the last thing to lose memory.
//!
//! memory.low (systemd's MemoryLow=) is best-effort protection from reclaim, and it is
//! hierarchical: a cgroup's effective protection is bounded by its ancestors' (kernel
//! Documentation/admin-guide/cgroup-v2.rst, "memory.low"). With the `memory_recursiveprot`
//! mount option (systemd mounts cgroup2 with it where the kernel has it), a cgroup that sets
//! none shares in its parent's. So MemoryLow= on the user manager's session.slice holds only
//! as far as user.slice, user-UID.slice and user@UID.service grant it; those belong to the
//! system manager (root). This module works out, from the memory.low of each level, how much
//! session.slice keeps and which level holds it back.

use crate::profile::ProtectSettings;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Reading the protection of the session's cgroup chain failed.
#[derive(Debug, Error)]
pub enum ProtectError {
    /// A cgroup's memory.low could not be read (no memory controller there, cgroup v1, gone).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The memory.low file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A cgroup's memory.low held neither a number of bytes nor "max".
    #[error("{path} holds {text:?}, not bytes or \"max\"")]
    Parse {
        /// The memory.low file.
        path: PathBuf,
        /// What it held.
        text: String,
    },
}

/// One cgroup on the way from the root down to session.slice, and its memory.low.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// The cgroup's path below the cgroup2 mount, e.g. `/user.slice/user-1000.slice`.
    pub cgroup: String,
    /// Its memory.low in bytes (u64::MAX for "max").
    pub memory_low: u64,
}

impl Level {
    /// The cgroup's own name: its unit (`user-1000.slice`).
    pub fn unit(&self) -> &str {
        self.cgroup.rsplit('/').next().unwrap_or(&self.cgroup)
    }
}

/// The MemoryLow= for session.slice: the profile's, capped at 10 % of `ram` (bytes), as
/// uresourced caps its reservation.
pub fn session_memory_low(settings: &ProtectSettings, ram: u64) -> u64 {
    settings.session_memory_low.0.min(ram / 10)
}

/// What session.slice keeps: its effective protection at most (siblings that also claim a
/// share of a parent's protection get theirs from the same amount), and the levels that hold
/// it below `wanted`, top first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protection {
    /// Bytes of memory.low that reach the last level.
    pub effective: u64,
    /// The units of the levels that cut it below `wanted`.
    pub short: Vec<String>,
}

/// Works out the protection that reaches the last level of `chain` (the root's children
/// first). A top-level cgroup keeps its own memory.low; below it a level keeps the smaller of
/// its own and its parent's, and one between that sets none keeps its parent's where
/// protection is recursive (`memory_recursiveprot`), none otherwise. The last level must
/// claim its own: what it inherits unclaimed it shares with its siblings (app.slice's apps).
pub fn protection(chain: &[Level], recursive: bool, wanted: u64) -> Protection {
    let mut effective = u64::MAX;
    let mut short = Vec::new();
    for (depth, level) in chain.iter().enumerate() {
        let between = depth > 0 && depth + 1 < chain.len();
        let inherits = between && level.memory_low == 0 && recursive;
        if !inherits {
            effective = effective.min(level.memory_low);
            if level.memory_low < wanted {
                short.push(level.unit().to_owned());
            }
        }
    }
    Protection { effective: if chain.is_empty() { 0 } else { effective }, short }
}

/// Reads memory.low of `cgroup` (a path below the cgroup2 mount at `root`) and of each of
/// its ancestors below the root, top first.
pub fn read_chain(root: &Path, cgroup: &str) -> Result<Vec<Level>, ProtectError> {
    let mut chain = Vec::new();
    let mut path = String::new();
    for part in cgroup.split('/').filter(|p| !p.is_empty()) {
        path = format!("{path}/{part}");
        let file = root.join(path.trim_start_matches('/')).join("memory.low");
        let text =
            std::fs::read_to_string(&file).map_err(|source| ProtectError::Read { path: file.clone(), source })?;
        let memory_low = match text.trim() {
            "max" => u64::MAX,
            bytes => bytes.parse().map_err(|_| ProtectError::Parse { path: file, text: text.clone() })?,
        };
        chain.push(Level { cgroup: path.clone(), memory_low });
    }
    Ok(chain)
}

/// Whether the cgroup2 mount in `mounts` (/proc/mounts) has `memory_recursiveprot`.
pub fn recursive_protection(mounts: &str) -> bool {
    // Fields: device, mount point, type, options (proc(5), /proc/mounts).
    mounts.lines().map(|line| line.split_whitespace().collect::<Vec<_>>()).any(|fields| {
        fields.get(2) == Some(&"cgroup2")
            && fields.get(3).is_some_and(|o| o.split(',').any(|o| o == "memory_recursiveprot"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ByteSize;

    fn chain(lows: &[u64]) -> Vec<Level> {
        let names = ["user.slice", "user-1000.slice", "user@1000.service", "session.slice"];
        let mut path = String::new();
        names
            .iter()
            .zip(lows)
            .map(|(name, low)| {
                path = format!("{path}/{name}");
                Level { cgroup: path.clone(), memory_low: *low }
            })
            .collect()
    }

    const M: u64 = 1 << 20;

    #[test]
    fn protection_is_bounded_by_every_ancestor() {
        let all = chain(&[250 * M, 250 * M, 250 * M, 250 * M]);
        assert_eq!(protection(&all, true, 250 * M), Protection { effective: 250 * M, short: vec![] });
        // The user manager alone sets it (what an unprivileged agent can do): nothing holds.
        let session_only = chain(&[0, 0, 0, 250 * M]);
        assert_eq!(
            protection(&session_only, true, 250 * M),
            Protection { effective: 0, short: vec!["user.slice".into()] }
        );
        // Recursive protection passes user.slice's down through levels that set none.
        let top_and_session = chain(&[250 * M, 0, 0, 250 * M]);
        assert_eq!(protection(&top_and_session, true, 250 * M).effective, 250 * M);
        let flat = protection(&top_and_session, false, 250 * M);
        assert_eq!(
            flat,
            Protection { effective: 0, short: vec!["user-1000.slice".into(), "user@1000.service".into()] }
        );
        // A smaller level caps what reaches session.slice.
        let capped = protection(&chain(&[250 * M, 100 * M, 0, 250 * M]), true, 250 * M);
        assert_eq!(capped, Protection { effective: 100 * M, short: vec!["user-1000.slice".into()] });
        assert_eq!(protection(&[], true, 250 * M).effective, 0);
    }

    #[test]
    fn session_memory_low_is_capped_at_a_tenth_of_ram() {
        let settings = ProtectSettings { session_memory_low: ByteSize(250 * M), app_slice_oomd: true };
        assert_eq!(session_memory_low(&settings, 16 << 30), 250 * M);
        assert_eq!(session_memory_low(&settings, 2 << 30), (2 << 30) / 10);
    }

    #[test]
    fn the_chain_is_read_from_the_cgroup_files() {
        let root = tempfile::tempdir().unwrap();
        let levels = [("user.slice", "262144000\n"), ("user.slice/user-1000.slice", "max\n")];
        for (dir, low) in levels {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
            std::fs::write(root.path().join(dir).join("memory.low"), low).unwrap();
        }
        let read = read_chain(root.path(), "/user.slice/user-1000.slice").unwrap();
        assert_eq!(read[0], Level { cgroup: "/user.slice".into(), memory_low: 250 * M });
        assert_eq!((read[1].unit(), read[1].memory_low), ("user-1000.slice", u64::MAX));
        let missing = read_chain(root.path(), "/user.slice/user-1000.slice/user@1000.service").unwrap_err();
        assert!(missing.to_string().contains("user@1000.service/memory.low"), "{missing}");
        std::fs::write(root.path().join("user.slice/memory.low"), "lots").unwrap();
        assert!(matches!(read_chain(root.path(), "/user.slice"), Err(ProtectError::Parse { .. })));
    }

    #[test]
    fn recursive_protection_is_read_from_the_cgroup2_mount() {
        // /proc/mounts of the Plasma 6 guest (Debian trixie, systemd 257).
        let guest =
            "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0\n";
        assert!(recursive_protection(guest));
        // This Debian 12 host: cgroup v1 only.
        let host = "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n";
        assert!(!recursive_protection(host));
    }
}
