//! The proportional set size (PSS) of every process of a cgroup: /proc/PID/smaps_rollup
//! (proc.rst, "smaps_rollup") summed over the cgroup's cgroup.procs (cgroup-v2.rst: a list
//! of PIDs, one per line, unsorted and possibly repeated). What a unit uses, counting each
//! page shared with other processes by its share: the measure `ballast tune --measure`
//! compares before and after tuning.

use super::process::parse_smaps_rollup;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Reading a cgroup's PSS failed.
#[derive(Debug, Error)]
pub enum PssError {
    /// cgroup.procs could not be read (the unit is gone, or cgroup v1).
    #[error("cannot read {path}: {source}")]
    Procs {
        /// The cgroup.procs file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The cgroup has processes, but none whose smaps_rollup could be read (another user's).
    #[error("none of the {processes} processes of {cgroup} could be read (smaps_rollup)")]
    Unreadable {
        /// The cgroup, below the cgroup2 mount.
        cgroup: String,
        /// How many it listed.
        processes: usize,
    },
}

/// A cgroup's PSS: bytes, and how many processes it was summed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupPss {
    /// Sum of `Pss` over the processes read, bytes.
    pub bytes: u64,
    /// The processes read.
    pub processes: usize,
}

/// The PSS of `cgroup` (its path below the cgroup2 mount, `/user.slice/...`) under `root`
/// (`/` on a live system). A process that exits between the listing and its read is left
/// out; an empty cgroup has 0 bytes over 0 processes.
pub fn cgroup_pss(root: &Path, cgroup: &str) -> Result<CgroupPss, PssError> {
    let path = root.join("sys/fs/cgroup").join(cgroup.trim_start_matches('/')).join("cgroup.procs");
    let text = std::fs::read_to_string(&path).map_err(|source| PssError::Procs { path, source })?;
    let mut pids: Vec<u32> = text.lines().filter_map(|line| line.trim().parse().ok()).collect();
    pids.sort_unstable();
    pids.dedup();
    let read: Vec<u64> = pids
        .iter()
        .filter_map(|pid| std::fs::read_to_string(root.join(format!("proc/{pid}/smaps_rollup"))).ok())
        .filter_map(|text| parse_smaps_rollup(&text).ok())
        .map(|rollup| rollup.pss)
        .collect();
    if read.is_empty() && !pids.is_empty() && pids.iter().any(|pid| root.join(format!("proc/{pid}")).exists()) {
        return Err(PssError::Unreadable { cgroup: cgroup.to_owned(), processes: pids.len() });
    }
    Ok(CgroupPss { bytes: read.iter().sum(), processes: read.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "/user.slice/user-1000.slice/user@1000.service";

    #[test]
    fn pss_is_summed_over_the_units_processes() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2"));
        let kwin = cgroup_pss(root, &format!("{SESSION}/session.slice/plasma-kwin_x11.service")).unwrap();
        assert_eq!(kwin, CgroupPss { bytes: 137078 * 1024, processes: 1 });
        // 1530 listed twice counts once; 4242 has exited.
        let baloo = cgroup_pss(root, &format!("{SESSION}/background.slice/kde-baloo.service")).unwrap();
        assert_eq!(baloo, CgroupPss { bytes: 34572 * 1024, processes: 1 });
        let gone = cgroup_pss(root, &format!("{SESSION}/session.slice/plasma-gone.service")).unwrap_err();
        assert!(gone.to_string().contains("plasma-gone.service/cgroup.procs"), "{gone}");
    }

    #[test]
    fn processes_that_cannot_be_read_are_an_error_not_zero() {
        let root = tempfile::tempdir().unwrap();
        let unit = root.path().join("sys/fs/cgroup/a.service");
        std::fs::create_dir_all(&unit).unwrap();
        std::fs::write(unit.join("cgroup.procs"), "7\n").unwrap();
        // Another user's process: its /proc entry is there, its smaps_rollup is not readable.
        std::fs::create_dir_all(root.path().join("proc/7")).unwrap();
        assert!(matches!(cgroup_pss(root.path(), "/a.service"), Err(PssError::Unreadable { processes: 1, .. })));
        std::fs::write(unit.join("cgroup.procs"), "").unwrap();
        assert_eq!(cgroup_pss(root.path(), "/a.service").unwrap(), CgroupPss { bytes: 0, processes: 0 });
    }
}
