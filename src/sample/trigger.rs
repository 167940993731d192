//! PSI triggers: the kernel tells when memory stalls pass a threshold, instead of being
//! asked every tick (kernel doc Documentation/accounting/psi.rst, "Monitoring for pressure
//! thresholds").
//!
//! A trigger is armed by writing `<some|full> <stall µs> <window µs>` to an open PSI file
//! (/proc/pressure/memory, or a cgroup's memory.pressure); the file descriptor then polls
//! POLLPRI each time the stall within a window passes the threshold, at most once per window.
//! Unprivileged processes may arm triggers since Linux 6.4, with a window that is a multiple
//! of 2 s; the kernel answers EINVAL to other windows and EPERM before 6.4.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Which PSI line a trigger watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stall {
    /// At least one task stalled.
    Some,
    /// All non-idle tasks stalled at once.
    Full,
}

/// A threshold of stall time within a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TriggerSpec {
    /// The PSI line watched.
    pub stall: Stall,
    /// Stall time that fires the trigger, in µs.
    pub threshold_us: u64,
    /// The window the stall is summed over, in µs (a multiple of 2 s for unprivileged callers).
    pub window_us: u64,
}

/// The trigger ballast arms: tasks stalled 150 ms or more within 2 s (7.5 %): the shortest
/// window an unprivileged process is allowed, so an event reaches the user within 2 s.
pub const MEMORY_TRIGGER: TriggerSpec = TriggerSpec { stall: Stall::Some, threshold_us: 150_000, window_us: 2_000_000 };

impl std::fmt::Display for TriggerSpec {
    /// The line written to the PSI file, e.g. `some 150000 2000000`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stall = match self.stall {
            Stall::Some => "some",
            Stall::Full => "full",
        };
        write!(f, "{stall} {} {}", self.threshold_us, self.window_us)
    }
}

/// Why a trigger could not be armed. Each says what the kernel answered.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum TriggerError {
    /// The PSI file cannot be opened for writing (missing, PSI off, not permitted).
    #[error("cannot open {path} for a trigger: {}", explain(source))]
    Open { path: PathBuf, source: io::Error },
    /// The file is not the kernel's (procfs or cgroup2): a captured tree under `--root`.
    /// Nothing is written to it.
    #[error("{path} is not a kernel PSI file (not on procfs or cgroup2), so no trigger is armed on it")]
    NotKernel { path: PathBuf },
    /// The kernel refused the trigger line.
    #[error("the kernel refused the trigger `{trigger}` on {path}: {}", explain(source))]
    Refused { path: PathBuf, trigger: String, source: io::Error },
}

/// The kernel's answer in words a user can act on.
fn explain(error: &io::Error) -> String {
    let why = match error.raw_os_error() {
        Some(libc::EINVAL) => "unprivileged triggers need Linux 6.4 or later and a window that is a multiple of 2 s",
        Some(libc::EPERM) | Some(libc::EACCES) => "not permitted (unprivileged triggers need Linux 6.4 or later)",
        Some(libc::EOPNOTSUPP) => "PSI is turned off (psi=0 on the kernel command line)",
        Some(libc::ENOENT) => "no such file (a kernel without PSI, or a unit that is gone)",
        _ => return error.to_string(),
    };
    format!("{error}; {why}")
}

/// statfs(2) f_type of procfs and of cgroup2 (linux/magic.h).
const KERNEL_FILESYSTEMS: [i64; 2] = [0x9fa0, 0x6367_7270];

/// Opens `path` (a PSI file) and arms `spec` on it. The returned file polls POLLPRI when the
/// trigger fires, and POLLERR once its cgroup is removed; closing it disarms the trigger.
/// A file that is not on procfs or cgroup2 (a fixture tree) is refused before anything is
/// written.
pub fn arm(path: &Path, spec: TriggerSpec) -> Result<File, TriggerError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| TriggerError::Open { path: path.to_owned(), source })?;
    if !on_kernel_filesystem(&file) {
        return Err(TriggerError::NotKernel { path: path.to_owned() });
    }
    // The kernel overwrites the last byte it copies with NUL: the line goes with one.
    let line = format!("{spec}\0");
    file.write_all(line.as_bytes()).map_err(|source| TriggerError::Refused {
        path: path.to_owned(),
        trigger: spec.to_string(),
        source,
    })?;
    Ok(file)
}

/// Whether `file` lies on procfs or cgroup2 (fstatfs(2)).
fn on_kernel_filesystem(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: statfs is plain data that fstatfs fills; the descriptor is open for the call.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    let read = unsafe { libc::fstatfs(file.as_raw_fd(), &mut stat) } == 0;
    read && KERNEL_FILESYSTEMS.contains(&(stat.f_type as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_the_kernels_format() {
        assert_eq!(MEMORY_TRIGGER.to_string(), "some 150000 2000000");
        let full = TriggerSpec { stall: Stall::Full, threshold_us: 1, window_us: 500_000 };
        assert_eq!(full.to_string(), "full 1 500000");
    }

    #[test]
    fn refusals_say_what_to_do() {
        let refused = TriggerError::Refused {
            path: "/proc/pressure/memory".into(),
            trigger: "some 150000 1000000".into(),
            source: io::Error::from_raw_os_error(libc::EINVAL),
        };
        let text = refused.to_string();
        assert!(text.starts_with("the kernel refused the trigger `some 150000 1000000` on /proc/pressure/memory"));
        assert!(text.contains("multiple of 2 s"), "{text}");
        let missing = TriggerError::Open { path: "/x".into(), source: io::Error::from_raw_os_error(libc::ENOENT) };
        assert!(missing.to_string().contains("kernel without PSI"), "{missing}");
    }

    #[test]
    fn a_file_of_a_captured_tree_is_never_written() {
        let file = std::env::temp_dir().join(format!("ballast-trigger-tree-{}", std::process::id()));
        let text = "some avg10=0.31 avg60=0.52 avg300=0.47 total=9182734\n";
        std::fs::write(&file, text).unwrap();
        let error = arm(&file, MEMORY_TRIGGER).unwrap_err();
        assert!(matches!(error, TriggerError::NotKernel { .. }), "{error}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "byte-identical");
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn a_missing_file_is_an_open_error() {
        let dir = std::env::temp_dir().join(format!("ballast-trigger-{}", std::process::id()));
        let error = arm(&dir.join("memory.pressure"), MEMORY_TRIGGER).unwrap_err();
        assert!(matches!(error, TriggerError::Open { .. }), "{error}");
    }
}
