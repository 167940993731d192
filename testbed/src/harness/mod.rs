//! ballast's test harness on the host: the real programs its integration tests, benchmarks
//! and the real-desktop suite run against, each in a module of its own, used the same way by
//! all (`use testbed::harness::desktop;`). The guest of the real-desktop world is the crate's
//! root.
//!
//! - [`user_manager`]: a real `systemd --user` manager for a test user (root, writable cgroups).
//! - [`desktop`]: an isolated session with a private dbus-daemon, Xvfb and real KDE programs.
//! - [`session_bus`]: a bare private session bus.
//! - [`workload`]: the program launch tests start in scopes (the test binary itself).
//! - [`cases`]: named cases against one expensive environment, with CI's closing line.
//! - [`nix`]: Debian's Nix evaluating offline.
//! - [`kconfig_corpus`]: the KConfig fixture corpus and a generator of KConfig files.
//!
//! Errors are [`HarnessError`]s: what failed, with the program's output or the OS error, and
//! what to install or check. Tests keep their own `Result<(), String>`: `?` turns a harness
//! error into its message.

pub mod cases;
pub mod desktop;
pub mod kconfig_corpus;
pub mod nix;
pub mod session_bus;
pub mod user_manager;
pub mod workload;

use std::path::{Path, PathBuf};

/// What went wrong while setting up or driving a real program.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A file or process operation failed: what was being done, and the OS error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, e.g. "read /proc/self/mountinfo".
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A program or a prerequisite failed; the text says which, with its output or what to
    /// install.
    #[error("{0}")]
    Failed(String),
}

impl HarnessError {
    /// An [`HarnessError::Io`] for `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
        let what = what.into();
        move |source| HarnessError::Io { what, source }
    }
}

impl From<String> for HarnessError {
    fn from(text: String) -> Self {
        HarnessError::Failed(text)
    }
}

impl From<&str> for HarnessError {
    fn from(text: &str) -> Self {
        HarnessError::Failed(text.to_owned())
    }
}

/// Tests report failures as text: `?` in a test's `Result<_, String>` takes the message.
impl From<HarnessError> for String {
    fn from(error: HarnessError) -> String {
        error.to_string()
    }
}

/// The repository's root: the ballast package, above the testbed crate.
pub fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The `ballast` binary cargo built with the running test or benchmark: `target/<profile>/
/// ballast`, beside the `deps/` directory the test binary runs from (cargo builds a
/// package's binaries for its integration tests and benchmarks). Panics, naming the path,
/// when it is not there.
pub fn ballast_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary = exe.parent().and_then(Path::parent).map(|dir| dir.join("ballast")).unwrap_or_default();
    assert!(binary.is_file(), "{} is missing: build it with `cargo build --workspace`", binary.display());
    binary
}
