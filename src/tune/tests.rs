use super::*;
use crate::launch::DisplayServer;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn places(dir: &Path) -> Places {
    Places {
        config_dir: dir.join("config"),
        config_dirs: vec![dir.join("xdg")],
        backups_dir: dir.join("state/ballast/backups"),
        home: "/home/me".into(),
        kconfig: Generation::Kf5,
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A session whose KWin says what it is: Plasma `plasma` on `display`.
fn session(plasma: Plasma, display: DisplayServer) -> Session {
    Session { plasma, display: Some(display), kwin_version: None, source: "test" }
}

fn x11_5() -> Session {
    session(Plasma::Five, DisplayServer::X11)
}

const KWINRC: &[u8] = b"# my kwinrc\r\n[Compositing]\r\nBackend=XRender\r\nOpenGLIsUnsafe=false\r\n\r\n[Plugins]\r\nwobblywindowsEnabled=true\r\n";

#[test]
fn preview_apply_twice_and_roll_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    let kwinrc = places.config_dir.join("kwinrc");
    write(&kwinrc, KWINRC);
    std::fs::set_permissions(&kwinrc, std::fs::Permissions::from_mode(0o644)).unwrap();
    let profile = Profile::embedded();

    let plans = plan(&profile, Target::Kwin, &x11_5(), &places).unwrap();
    let preview = diff(&plans);
    assert!(preview.contains("-Backend=XRender\r\n+Backend=OpenGL\r\n"), "{preview}");
    assert!(preview.contains("--- /dev/null"), "kdeglobals does not exist yet: {preview}");
    assert_eq!(std::fs::read(&kwinrc).unwrap(), KWINRC, "a preview writes nothing");

    let backup = apply(&plans, Target::Kwin, &places, None).unwrap().expect("something changed");
    let written = std::fs::read(&kwinrc).unwrap();
    assert!(
        written.starts_with(b"# my kwinrc\r\n[Compositing]\r\nBackend=OpenGL\r\nOpenGLIsUnsafe=false\r\n"),
        "{}",
        String::from_utf8_lossy(&written)
    );
    assert_eq!(std::fs::metadata(&kwinrc).unwrap().permissions().mode() & 0o777, 0o644, "permissions kept");
    assert_eq!(std::fs::read(backup.before("kwinrc")).unwrap(), KWINRC);
    let kwin_keys = &plans.iter().find(|p| p.file == "kwinrc").unwrap().changed;
    assert_eq!(kwin_keys[&b"Compositing".to_vec()].len(), 4);

    let again = plan(&profile, Target::Kwin, &x11_5(), &places).unwrap();
    assert!(diff(&again).is_empty());
    assert!(apply(&again, Target::Kwin, &places, None).unwrap().is_none(), "applying twice changes nothing");

    let (rolled, restored) = rollback(&places, Target::Kwin, None, false).unwrap();
    assert_eq!(rolled.name, backup.name);
    assert_eq!(std::fs::read(&kwinrc).unwrap(), KWINRC, "byte-identical after rollback");
    assert!(!places.config_dir.join("kdeglobals").exists(), "a file we created is removed again");
    assert!(restored.iter().any(|r| r.file == "kdeglobals" && !r.changed.is_empty()));
    assert!(
        matches!(rollback(&places, Target::Kwin, None, false), Err(TuneError::NoBackup { .. })),
        "nothing left to roll back"
    );
}

#[test]
fn a_file_edited_after_apply_is_not_overwritten_silently() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    let kwinrc = places.config_dir.join("kwinrc");
    write(&kwinrc, KWINRC);
    let plans = plan(&Profile::embedded(), Target::Kwin, &x11_5(), &places).unwrap();
    apply(&plans, Target::Kwin, &places, None).unwrap();
    let edited =
        String::from_utf8(std::fs::read(&kwinrc).unwrap()).unwrap().replace("GLTextureFilter=1", "GLTextureFilter=2");
    std::fs::write(&kwinrc, &edited).unwrap();

    let err = rollback(&places, Target::Kwin, None, false).err().expect("refused").to_string();
    assert!(err.contains("kwinrc [Compositing] GLTextureFilter") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&kwinrc).unwrap(), edited, "the user's edit is still there");
    assert!(places.config_dir.join("kdeglobals").exists(), "a conflict in one file leaves every file alone");
    rollback(&places, Target::Kwin, None, true).unwrap();
    assert_eq!(std::fs::read(&kwinrc).unwrap(), KWINRC);
}

#[test]
fn other_keys_changed_since_apply_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    let kwinrc = places.config_dir.join("kwinrc");
    write(&kwinrc, KWINRC);
    let plans = plan(&Profile::embedded(), Target::Kwin, &x11_5(), &places).unwrap();
    apply(&plans, Target::Kwin, &places, None).unwrap();
    let mut rewritten = std::fs::read(&kwinrc).unwrap();
    rewritten.extend_from_slice(b"\r\n[Desktops]\r\nNumber=2\r\n");
    std::fs::write(&kwinrc, &rewritten).unwrap();
    rollback(&places, Target::Kwin, None, false).unwrap();
    let mut expected = KWINRC.to_vec();
    expected.extend_from_slice(b"\r\n[Desktops]\r\nNumber=2\r\n");
    assert_eq!(std::fs::read(&kwinrc).unwrap(), expected);
}

#[test]
fn rollback_to_a_named_backup() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    let err = rollback(&places, Target::Baloo, Some("20260101T000000Z"), false).err().unwrap();
    assert!(matches!(err, TuneError::NoBackup { .. } | TuneError::UnknownBackup { .. }));
    let plans = plan(&Profile::embedded(), Target::Baloo, &x11_5(), &places).unwrap();
    let backup = apply(&plans, Target::Baloo, &places, None).unwrap().unwrap();
    let err = rollback(&places, Target::Baloo, Some("nope"), false).err().unwrap().to_string();
    assert!(err.contains(&backup.name), "{err}");
    rollback(&places, Target::Baloo, Some(&backup.name), false).unwrap();
    assert!(!places.config_dir.join("baloofilerc").exists());
}

#[test]
fn immutable_settings_are_refused_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    write(&places.config_dir.join("kwinrc"), b"[Compositing][$i]\nBackend=XRender\n");
    let err = plan(&Profile::embedded(), Target::Kwin, &x11_5(), &places).unwrap_err().to_string();
    assert!(err.contains("kwinrc") && err.contains("immutable"), "{err}");
}

#[test]
fn status_reads_files_as_kde_does() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    let profile = Profile::embedded();
    let plans = plan(&profile, Target::All, &x11_5(), &places).unwrap();
    apply(&plans, Target::All, &places, None).unwrap();
    let all = settings(&profile, Target::All, Plasma::Five, &places).unwrap();
    let status = file_status(&all, &x11_5(), &places).unwrap();
    assert!(status.iter().all(|s| s.matches), "{status:#?}");
    let excludes = status.iter().find(|s| s.key == "exclude folders").unwrap();
    assert!(excludes.file_value.as_deref().unwrap().starts_with("/home/me/.cache/,"), "{excludes:?}");
}

#[test]
fn a_symlinked_or_read_only_file_is_left_alone_and_the_rest_applied() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    // As home-manager leaves it: ~/.config/kwinrc a link to a 0444 file elsewhere.
    let store = dir.path().join("store/kwinrc");
    write(&store, KWINRC);
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::create_dir_all(&places.config_dir).unwrap();
    std::os::unix::fs::symlink(&store, places.config_dir.join("kwinrc")).unwrap();
    // And a kdeglobals someone made read-only.
    let kdeglobals = places.config_dir.join("kdeglobals");
    write(&kdeglobals, b"[KDE]\nAnimationDurationFactor=1\n");
    std::fs::set_permissions(&kdeglobals, std::fs::Permissions::from_mode(0o444)).unwrap();
    write(&places.config_dir.join("baloofilerc"), b"[Basic Settings]\nIndexing-Enabled=true\n");

    let plans = plan(&Profile::embedded(), Target::All, &x11_5(), &places).unwrap();
    let refused = refusals(&plans);
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("kwinrc alone: it is a symlink to") && !refused[0].contains("Nix"), "{}", refused[0]);
    assert!(refused.iter().any(|r| r.contains("kdeglobals alone: it is read-only")));
    assert!(!diff(&plans).contains("kwinrc"), "a refused file is not previewed as written");

    apply(&plans, Target::All, &places, None).unwrap().expect("baloofilerc is written");
    assert_eq!(std::fs::read(&store).unwrap(), KWINRC, "the link's target is untouched");
    assert!(
        std::fs::symlink_metadata(places.config_dir.join("kwinrc")).unwrap().file_type().is_symlink(),
        "the link stays a link"
    );
    assert_eq!(std::fs::read(&kdeglobals).unwrap(), b"[KDE]\nAnimationDurationFactor=1\n");
    assert_ne!(
        std::fs::read(places.config_dir.join("baloofilerc")).unwrap(),
        b"[Basic Settings]\nIndexing-Enabled=true\n"
    );
}

#[test]
fn a_file_home_manager_links_gets_the_nix_setting() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    std::fs::create_dir_all(&places.config_dir).unwrap();
    std::os::unix::fs::symlink("/nix/store/0000-home-manager-files/.config/kwinrc", places.config_dir.join("kwinrc"))
        .unwrap();
    let plans = plan(&Profile::embedded(), Target::Kwin, &x11_5(), &places).unwrap();
    let kwinrc = plans.iter().find(|p| p.file == "kwinrc").unwrap();
    assert!(kwinrc.refused.as_ref().is_some_and(Refusal::nix_managed));
    let told = refusals(&plans).join("\n");
    assert!(told.contains("home-manager manages it"), "{told}");
    assert!(told.contains("programs.plasma.configFile.kwinrc.Compositing.GLTextureFilter = 1;"), "{told}");
    assert!(told.contains("programs.plasma.configFile.kwinrc.Compositing.Backend = \"OpenGL\";"), "{told}");
}

#[test]
fn settings_a_system_file_locks_are_named_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    // /etc/xdg/kwinrc as a kiosk setup or plasma-manager's `immutable = true` leaves it.
    write(&dir.path().join("xdg/kwinrc"), b"[Compositing][$i]\nGLTextureFilter=2\nBackend=XRender\n");
    write(&places.config_dir.join("kwinrc"), KWINRC);
    let plans = plan(&Profile::embedded(), Target::Kwin, &x11_5(), &places).unwrap();
    let kwinrc = plans.iter().find(|p| p.file == "kwinrc").unwrap();
    let locked: Vec<&str> = kwinrc.locked.iter().map(|l| l.setting.key.as_str()).collect();
    assert!(locked.contains(&"GLTextureFilter") && locked.contains(&"Backend"), "{locked:?}");
    assert!(
        !kwinrc.changed.contains_key(b"Compositing".as_slice()),
        "no [Compositing] key is written: {:?}",
        kwinrc.changed
    );
    let told = refusals(&plans).join("\n");
    assert!(
        told.contains(&format!(
            "kwinrc [Compositing] GLTextureFilter: locked by {} ([Compositing][$i])",
            dir.path().join("xdg/kwinrc").display()
        )),
        "{told}"
    );

    // The rest applies; status shows what KDE reads and who locks it.
    apply(&plans, Target::Kwin, &places, None).unwrap().expect("[Plugins] and kdeglobals change");
    let status =
        file_status(&settings(&Profile::embedded(), Target::Kwin, Plasma::Five, &places).unwrap(), &x11_5(), &places)
            .unwrap();
    let filter = status.iter().find(|s| s.key == "GLTextureFilter").unwrap();
    assert_eq!((filter.file_value.as_deref(), filter.matches), (Some("2"), false));
    assert_eq!(filter.locked_by.as_deref(), Some(dir.path().join("xdg/kwinrc").as_path()));
    assert_eq!(filter.source.as_deref(), Some(dir.path().join("xdg/kwinrc").as_path()));
    let plugins: Vec<_> = status.iter().filter(|s| s.group == "Plugins").collect();
    assert!(
        plugins.iter().all(|s| s.matches
            && s.locked_by.is_none()
            && s.source.as_deref() == Some(places.config_dir.join("kwinrc").as_path())),
        "{plugins:#?}"
    );
}

#[test]
fn xdg_config_dirs_as_the_spec_reads_them() {
    assert_eq!(config_dirs(None), [PathBuf::from("/etc/xdg")]);
    assert_eq!(config_dirs(Some("")), [PathBuf::from("/etc/xdg")]);
    assert_eq!(
        config_dirs(Some("/etc/profiles/per-user/me/etc/xdg:relative:/run/current-system/sw/etc/xdg")),
        [PathBuf::from("/etc/profiles/per-user/me/etc/xdg"), PathBuf::from("/run/current-system/sw/etc/xdg")]
    );
}

#[test]
fn keys_a_wayland_kwin_6_ignores_are_named_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    write(&places.config_dir.join("kwinrc"), KWINRC);
    let wayland = session(Plasma::Six, DisplayServer::Wayland);
    let plans = plan(&Profile::embedded(), Target::Kwin, &wayland, &places).unwrap();
    let kwinrc = plans.iter().find(|p| p.file == "kwinrc").unwrap();
    let written = String::from_utf8(kwinrc.after.clone()).unwrap();
    assert!(
        written.contains("Backend=OpenGL")
            && !written.contains("GLTextureFilter")
            && !written.contains("WindowsBlockCompositing")
            && !written.contains("GLPreferBufferSwap"),
        "{written}"
    );
    let told = unread(&plans, &wayland).join("\n");
    assert!(
        told.contains("kwinrc [Compositing] WindowsBlockCompositing: not written; kwin_wayland 6 does not use it"),
        "{told}"
    );
    assert_eq!(told.lines().count(), 3, "{told}");

    // On X11 the same KWin 6 swaps through GLX: GLPreferBufferSwap is written there.
    let x11 = plan(&Profile::embedded(), Target::Kwin, &session(Plasma::Six, DisplayServer::X11), &places).unwrap();
    assert!(String::from_utf8_lossy(&x11[0].after).contains("GLPreferBufferSwap=a"));

    let status =
        file_status(&settings(&Profile::embedded(), Target::Kwin, Plasma::Six, &places).unwrap(), &wayland, &places)
            .unwrap();
    let filter = status.iter().find(|s| s.key == "GLTextureFilter").unwrap();
    assert!(
        filter.unused.as_deref().is_some_and(|why| why.starts_with("kwin_wayland 6 does not use it")),
        "{filter:?}"
    );
    assert!(status.iter().filter(|s| s.group == "Plugins").all(|s| s.unused.is_none()));
}

#[test]
fn effects_follow_the_plugins_keys_and_rollback_restores_what_was_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let places = places(dir.path());
    write(&places.config_dir.join("kwinrc"), KWINRC);
    let plans = plan(&Profile::embedded(), Target::Kwin, &x11_5(), &places).unwrap();
    let switched = applied_effects(&plans, &places);
    assert_eq!(
        switched,
        [
            ("blurEnabled", true),
            ("contrastEnabled", false),
            ("magiclampEnabled", false),
            ("wobblywindowsEnabled", false)
        ]
        .map(|(k, on)| (k.trim_end_matches("Enabled").to_owned(), on))
    );
    // KWin had contrast and wobbly windows loaded (KWINRC enables wobbly) before the apply.
    let loaded = vec!["contrast".to_owned(), "wobblywindows".to_owned()];
    apply(&plans, Target::Kwin, &places, Some(loaded)).unwrap().expect("kwinrc changes");
    let (_, restored) = rollback(&places, Target::Kwin, None, false).unwrap();
    let mut effects: Vec<(String, bool)> = restored.iter().flat_map(|r| r.effects.clone()).collect();
    effects.sort();
    // wobblywindowsEnabled=true comes back from the file; the others were unset, so they go
    // back to how KWin had them.
    assert_eq!(
        effects,
        [("blur", false), ("contrast", true), ("magiclamp", false), ("wobblywindows", true)]
            .map(|(e, on)| (e.to_owned(), on))
    );
}
