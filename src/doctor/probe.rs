//! Gathers the doctor's facts: a sample, sysctls, and what external tools say.

use super::{BalooFacts, Facts, SessionProtection, Unread};
use crate::budget::Budget;
use crate::profile::Profile;
use crate::sample::{SampleError, Sampler};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a probe command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandOutcome {
    /// It could not be started (not installed, or not on PATH).
    Missing,
    /// It ran past the 5-second deadline and was killed.
    TimedOut,
    /// It exited: whether successfully, and its stdout and stderr (lossy UTF-8).
    Ran {
        /// Exit status 0.
        success: bool,
        /// Its standard output.
        stdout: String,
        /// Its standard error.
        stderr: String,
    },
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a probe command with a deadline, so a hung tool cannot hang the doctor.
pub fn run(program: &str, args: &[&str]) -> CommandOutcome {
    let child =
        Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(_) => return CommandOutcome::Missing,
    };
    // Drain the pipes while waiting: a chatty tool would otherwise block on a full pipe.
    let stdout = child.stdout.take().map(|pipe| std::thread::spawn(move || read_pipe(pipe)));
    let stderr = child.stderr.take().map(|pipe| std::thread::spawn(move || read_pipe(pipe)));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return CommandOutcome::TimedOut;
            }
        }
    };
    let collect =
        |reader: Option<std::thread::JoinHandle<String>>| reader.and_then(|r| r.join().ok()).unwrap_or_default();
    CommandOutcome::Ran { success: status.success(), stdout: collect(stdout), stderr: collect(stderr) }
}

fn read_pipe(mut pipe: impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// Samples once and gathers every fact the checks need; Err when the sample fails.
pub fn gather(sampler: &mut Sampler, profile: &Profile) -> Result<Facts, SampleError> {
    let sample = sampler.sample()?;
    let report = Budget::new(profile.clone()).evaluate(&sample);
    let root = sampler.root().to_path_buf();
    let nvidia_version =
        read_trimmed(&root.join("proc/driver/nvidia/version")).and_then(|v| v.lines().next().map(str::to_owned));
    let nvidia_modeset =
        read_trimmed(&root.join("sys/module/nvidia_drm/parameters/modeset")).map(|v| v == "Y" || v == "1");
    Ok(Facts {
        report,
        units: sample.units,
        sysctls: sampler.sysctls(),
        systemd_user: run("systemctl", &["--user", "show", "-p", "SystemState", "--value"]),
        pressure_trigger: crate::sample::trigger::arm(
            &root.join("proc/pressure/memory"),
            crate::sample::trigger::MEMORY_TRIGGER,
        )
        .map(drop)
        .map_err(|e| e.to_string()),
        oomd: run("systemctl", &["is-active", "systemd-oomd"]),
        app_slice_oom: run(
            "systemctl",
            &["--user", "show", "-p", "ManagedOOMMemoryPressure", "--value", &profile.launch.slice],
        ),
        session_protection: session_protection(&root, sample.meminfo.total),
        nvidia_version,
        nvidia_modeset,
        libva_driver_name: std::env::var("LIBVA_DRIVER_NAME").ok(),
        nvd_backend: std::env::var("NVD_BACKEND").ok(),
        vainfo: run("vainfo", &[]),
        vdpauinfo: run("vdpauinfo", &[]),
        baloo: baloo_facts(),
        segfaults: segfaults(),
    })
}

/// session.slice's cgroup as the user manager names it, and memory.low of it and of every
/// cgroup above it, under `root`.
fn session_protection(root: &Path, ram: u64) -> Result<SessionProtection, String> {
    let cgroup = match run("systemctl", &["--user", "show", "-p", "ControlGroup", "--value", "session.slice"]) {
        CommandOutcome::Ran { success: true, stdout, .. } if stdout.trim().starts_with('/') => stdout.trim().to_owned(),
        CommandOutcome::Ran { stdout, stderr, .. } => {
            return Err(format!(
                "the user manager names no cgroup for session.slice ({})",
                super::first_line(&stdout, &stderr)
            ))
        }
        CommandOutcome::Missing => return Err("systemctl is not installed".into()),
        CommandOutcome::TimedOut => return Err("systemctl --user show did not answer in time".into()),
    };
    let chain = crate::protect::read_chain(&root.join("sys/fs/cgroup"), &cgroup).map_err(|e| e.to_string())?;
    let mounts = std::fs::read_to_string(root.join("proc/mounts")).unwrap_or_default();
    Ok(SessionProtection { chain, recursive: crate::protect::recursive_protection(&mounts), ram })
}

/// Reads baloofilerc as KDE reads it (ballast's KConfig cascade, checked against
/// kreadconfig5 and kreadconfig6), with no KDE tool needed: Plasma 6 has no kreadconfig5.
fn baloo_facts() -> Result<BalooFacts, Unread> {
    let session = crate::tune::Session::detect(None, &crate::tune::SessionEnv::from_env());
    let places = crate::tune::Places::from_env(session.plasma.kconfig());
    let keys = ["only basic indexing", "index hidden folders", "exclude folders"];
    let mut values = crate::tune::read_values(&places, "baloofilerc", "General", &keys)?.into_iter();
    let (basic, hidden, excludes) = (values.next().flatten(), values.next().flatten(), values.next().flatten());
    let flag = |value: Option<String>| match value.as_deref() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    Ok(BalooFacts {
        only_basic_indexing: flag(basic),
        index_hidden_folders: flag(hidden),
        exclude_folders: crate::tune::split_list(&excludes.unwrap_or_default()),
        home: Some(places.home),
    })
}

fn segfaults() -> Result<Vec<String>, Unread> {
    if !Path::new("/run/systemd/journal").exists() {
        return Err(Unread::NoJournald);
    }
    match run("journalctl", &["-b", "-k", "-q", "--no-pager", "-o", "cat", "-g", "segfault"]) {
        // journalctl exits 1 when --grep matches nothing.
        CommandOutcome::Ran { stdout, .. } => {
            Ok(stdout.lines().filter(|l| l.contains("segfault")).map(str::to_owned).collect())
        }
        CommandOutcome::Missing => Err(Unread::Missing("journalctl")),
        CommandOutcome::TimedOut => Err(Unread::TimedOut("journalctl")),
    }
}
