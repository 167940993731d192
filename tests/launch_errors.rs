//! `ballast launch`, `scopes` and `stop` when something is missing: one clear line,
//! exit code 2. (Launches under a real user manager are in tests/launch.rs.)

use testbed::harness::session_bus;

use std::process::{Command, Output};

fn ballast(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ballast"));
    command.args(args).env_remove("BALLAST_PROFILE").env("XDG_CONFIG_HOME", env!("CARGO_TARGET_TMPDIR"));
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn one_line_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

/// A directory with a fake `Discord` so the binary lookup succeeds.
fn fake_discord() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Discord");
    std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn unknown_app() {
    let err = one_line_error(&ballast(&["launch", "winamp"], &[]));
    assert!(err.contains("unknown app \"winamp\"") && err.contains("discord"), "{err}");
}

#[test]
fn missing_binary() {
    let err = one_line_error(&ballast(&["launch", "discord"], &[("PATH", "/nonexistent")]));
    assert!(err.contains("\"Discord\" is not on PATH"), "{err}");
}

#[test]
fn no_session_bus() {
    let bin = fake_discord();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let no_bus = [("PATH", path.as_str()), ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    for args in [&["launch", "discord"][..], &["launch", "discord", "--foreground"], &["scopes"], &["stop", "discord"]]
    {
        let err = one_line_error(&ballast(args, &no_bus));
        assert!(err.contains("no D-Bus session bus"), "{args:?}: {err}");
    }
}

#[test]
fn no_user_manager_on_the_bus() {
    let bus = session_bus::SessionBus::start();
    let bin = fake_discord();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let env = [("PATH", path.as_str()), ("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
    for args in [&["launch", "discord"][..], &["scopes"]] {
        let err = one_line_error(&ballast(args, &env));
        assert!(err.contains("systemd user manager does not answer"), "{args:?}: {err}");
    }
}
