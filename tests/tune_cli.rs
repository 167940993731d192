//! `ballast tune` as a user runs it, on a private XDG_CONFIG_HOME (the live KWin and Baloo
//! are in tests/tune_live.rs).

use std::path::Path;
use std::process::{Command, Output};

/// A command in `home`'s private environment: its own config home, and `home/xdg` as the
/// only system config directory.
fn in_home(program: &str, home: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CONFIG_DIRS", home.join("xdg"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("LC_ALL", "C")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    command
}

fn ballast(home: &Path, args: &[&str]) -> Output {
    in_home(env!("CARGO_BIN_EXE_ballast"), home).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const KDEGLOBALS: &[u8] = b"[General]\r\nColorScheme=BreezeDark\r\n\r\n[KDE]\r\n# faster please\r\nAnimationDurationFactor=1\r\nSingleClick=false\r\n";

#[test]
fn preview_apply_status_rollback() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join(".config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("kdeglobals"), KDEGLOBALS).unwrap();

    let preview = stdout(&ballast(home.path(), &["tune", "kwin"]));
    assert!(preview.contains("-AnimationDurationFactor=1\r\n+AnimationDurationFactor=0.5\r\n"), "{preview}");
    assert_eq!(std::fs::read(config.join("kdeglobals")).unwrap(), KDEGLOBALS);

    let applied = stdout(&ballast(home.path(), &["tune", "kwin", "--apply"]));
    assert!(applied.contains("backup: ") && applied.contains("no session bus"), "{applied}");
    let tuned = std::fs::read(config.join("kdeglobals")).unwrap();
    assert_eq!(tuned, b"[General]\r\nColorScheme=BreezeDark\r\n\r\n[KDE]\r\n# faster please\r\nAnimationDurationFactor=0.5\r\nSingleClick=false\r\n");
    assert!(stdout(&ballast(home.path(), &["tune", "kwin", "--apply"])).contains("already tuned"));

    let status: serde_json::Value =
        serde_json::from_str(&stdout(&ballast(home.path(), &["tune", "kwin", "--status", "--json"]))).unwrap();
    assert!(status["settings"].as_array().unwrap().iter().all(|s| s["matches"] == true), "{status:#}");
    assert!(status["kwin"].is_null(), "no KWin on this bus");

    let rolled = stdout(&ballast(home.path(), &["tune", "kwin", "--rollback"]));
    assert!(rolled.contains("rolled back"), "{rolled}");
    assert_eq!(std::fs::read(config.join("kdeglobals")).unwrap(), KDEGLOBALS, "byte for byte");
    assert!(!config.join("kwinrc").exists(), "the kwinrc ballast created is gone again");

    let nothing = ballast(home.path(), &["tune", "kwin", "--rollback"]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no backup to roll back to"));
}

#[test]
fn rollback_refuses_to_overwrite_a_users_edit() {
    let home = tempfile::tempdir().unwrap();
    stdout(&ballast(home.path(), &["tune", "baloo", "--apply"]));
    let baloofilerc = home.path().join(".config/baloofilerc");
    let edited = String::from_utf8(std::fs::read(&baloofilerc).unwrap())
        .unwrap()
        .replace("only basic indexing=true", "only basic indexing=false");
    std::fs::write(&baloofilerc, &edited).unwrap();
    let refused = ballast(home.path(), &["tune", "baloo", "--rollback"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&baloofilerc).unwrap(), edited);
    stdout(&ballast(home.path(), &["tune", "baloo", "--rollback", "--force"]));
    assert!(!baloofilerc.exists());
}

/// home-manager's links (into the Nix store) are never written through: apply leaves them,
/// says so with the plasma-manager settings to use instead, and fails when nothing was
/// written; the preview shows the same.
#[test]
fn nix_managed_files_are_refused_with_the_nix_setting() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join(".config");
    std::fs::create_dir_all(&config).unwrap();
    for file in ["kwinrc", "kdeglobals"] {
        std::os::unix::fs::symlink(format!("/nix/store/0000-home-manager-files/.config/{file}"), config.join(file))
            .unwrap();
    }
    let preview = stdout(&ballast(home.path(), &["tune", "kwin"]));
    assert!(preview.contains("kdeglobals alone: it is a link into the Nix store"), "{preview}");
    let applied = ballast(home.path(), &["tune", "kwin", "--apply"]);
    let told = String::from_utf8_lossy(&applied.stderr);
    assert_eq!(applied.status.code(), Some(1), "nothing could be applied: {told}");
    assert!(told.contains("programs.plasma.configFile.kdeglobals.KDE.AnimationDurationFactor = \"0.5\";"), "{told}");
    for file in ["kwinrc", "kdeglobals"] {
        assert!(
            std::fs::symlink_metadata(config.join(file)).unwrap().file_type().is_symlink(),
            "{file} is still a link"
        );
    }
    assert!(!home.path().join(".local/state/ballast/backups").exists(), "no backup of nothing");
}

/// A system kwinrc that locks [Compositing] (as a kiosk setup or plasma-manager's
/// `immutable = true` leaves /etc/xdg/kwinrc): apply names the lock and writes the rest, and
/// status reads every setting as kreadconfig5 reads it, through the same cascade.
#[test]
fn locks_in_system_files_are_named_and_status_agrees_with_kreadconfig5() {
    let home = tempfile::tempdir().unwrap();
    let (xdg, config) = (home.path().join("xdg"), home.path().join(".config"));
    std::fs::create_dir_all(&xdg).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(xdg.join("kwinrc"), "[Compositing][$i]\nGLTextureFilter=2\nBackend=XRender\n").unwrap();
    std::fs::write(xdg.join("kdeglobals"), "[KDE]\nAnimationDurationFactor=0.75\n").unwrap();

    let applied = ballast(home.path(), &["tune", "kwin", "--apply"]);
    let told = String::from_utf8_lossy(&applied.stderr);
    assert!(applied.status.success(), "the unlocked settings apply: {told}");
    assert!(
        told.contains(&format!("kwinrc [Compositing] GLTextureFilter: locked by {}", xdg.join("kwinrc").display())),
        "{told}"
    );

    let status: serde_json::Value =
        serde_json::from_str(&stdout(&ballast(home.path(), &["tune", "kwin", "--status", "--json"]))).unwrap();
    for setting in status["settings"].as_array().unwrap() {
        let (file, group, key) =
            (setting["file"].as_str().unwrap(), setting["group"].as_str().unwrap(), setting["key"].as_str().unwrap());
        let peer = in_home("kreadconfig5", home.path())
            .args(["--file", file, "--group", group, "--key", key, "--default", "\u{1}"])
            .output()
            .expect("kreadconfig5 (libkf5config-bin)");
        let peer = String::from_utf8_lossy(&peer.stdout).trim_end_matches('\n').to_owned();
        let ours = setting["file_value"].as_str().unwrap_or("\u{1}");
        assert_eq!(ours, peer, "[{group}] {key} in {file}");
    }
    let filter = status["settings"].as_array().unwrap().iter().find(|s| s["key"] == "GLTextureFilter").unwrap();
    assert_eq!((filter["file_value"].as_str(), filter["matches"].as_bool()), (Some("2"), Some(false)));
    assert_eq!(filter["locked_by"].as_str(), Some(xdg.join("kwinrc").to_str().unwrap()));
    let factor = status["settings"].as_array().unwrap().iter().find(|s| s["key"] == "AnimationDurationFactor").unwrap();
    assert_eq!(
        (factor["file_value"].as_str(), factor["matches"].as_bool()),
        (Some("0.5"), Some(true)),
        "the user's value overrides an unlocked system one"
    );
}

#[test]
fn measure_without_a_user_manager_changes_nothing_and_says_why() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join(".config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("kdeglobals"), KDEGLOBALS).unwrap();
    let out = ballast(home.path(), &["tune", "kwin", "--measure", "--settle", "1", "--plasma", "6"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no D-Bus session bus"), "{err}");
    assert_eq!(std::fs::read(config.join("kdeglobals")).unwrap(), KDEGLOBALS, "nothing applied without a measurement");
    assert!(!home.path().join(".local/state/ballast/savings.json").exists());
}
