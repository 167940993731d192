//! The last step of a launch, in the process that becomes the app.

use super::{LaunchError, ScopeSpec};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// Replaces this process (already in its scope) with the app. Returns only on failure.
pub fn exec_in_scope(spec: &ScopeSpec) -> LaunchError {
    if let Some(score) = spec.oom_score_adj {
        // Raising the score needs no privilege and survives exec. A failure only means
        // the kernel keeps the inherited score, so it does not stop the launch.
        let _ = std::fs::write("/proc/self/oom_score_adj", score.to_string());
    }
    let binary = PathBuf::from(&spec.argv[0]);
    let source = std::process::Command::new(&binary).args(&spec.argv[1..]).exec();
    LaunchError::Exec { binary, source }
}

/// Sends this process's stdout and stderr to the journal (as systemd does for the
/// units it starts), tagged with `identifier`; to /dev/null where there is no journald.
pub fn redirect_output_to_journal(identifier: &str) {
    let journal = std::os::unix::net::UnixStream::connect("/run/systemd/journal/stdout").and_then(|mut stream| {
        // journald's stream header: identifier, unit, priority (6 = info), level prefix,
        // forward to syslog, to kmsg, to console.
        stream.write_all(format!("{identifier}\n\n6\n0\n0\n0\n0\n").as_bytes())?;
        Ok(std::os::fd::OwnedFd::from(stream))
    });
    let target = match journal {
        Ok(fd) => fd,
        Err(_) => match std::fs::OpenOptions::new().write(true).open("/dev/null") {
            Ok(file) => file.into(),
            Err(_) => return,
        },
    };
    // SAFETY: dup2 onto the standard descriptors; `target` stays valid for both calls.
    unsafe {
        libc::dup2(target.as_raw_fd(), libc::STDOUT_FILENO);
        libc::dup2(target.as_raw_fd(), libc::STDERR_FILENO);
    }
}
