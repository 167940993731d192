//! `ballast tune` against the real programs: kwin_x11 under Xvfb and baloo_file, each on a
//! private session bus with a fresh HOME (testbed/src/harness/desktop.rs).

use testbed::harness::desktop;

use ballast::kconfig::Document;
use desktop::{support_value, Session};
use std::process::Output;

fn ballast(session: &Session, args: &[&str]) -> Output {
    session.command(env!("CARGO_BIN_EXE_ballast")).args(args).output().expect("ballast runs")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn session() -> Session {
    match Session::with_display() {
        Ok(session) => session,
        Err(why) => {
            panic!("a desktop session for the test: {why} (make test installs xvfb, kwin-x11, baloo-kf5, dbus)")
        }
    }
}

#[test]
fn kwin_takes_the_settings_live_and_rollback_brings_the_old_ones_back() {
    let mut s = session();
    s.start_kwin().unwrap();
    let before = s.kwin_support_information().unwrap();
    assert_eq!(support_value(&before, "glSmoothScale").as_deref(), Some("2"));
    assert_eq!(support_value(&before, "glPreferBufferSwap").as_deref(), Some("101"));
    assert!(!s.kwin_loaded_effects().unwrap().contains(&"blur".to_string()));

    let signals = s.monitor("type='signal',interface='org.kde.kconfig.notify'").unwrap();
    // "a" (automatic) shows live as the strategy KWin picks for the driver; "c" (copy) is
    // reported as itself, so it proves the value reached KWin.
    let profile = s.home().join("profile.toml");
    std::fs::write(&profile, "[tune.kwin]\ngl_prefer_buffer_swap = \"c\"\n").unwrap();
    let profile = profile.to_str().unwrap().to_owned();
    let applied = stdout(&ballast(&s, &["--profile", &profile, "tune", "kwin", "--apply"]));
    assert!(applied.contains("KWin: reconfigure sent"), "{applied}");
    let tuned = s.wait_until("KWin shows the tuned values", || {
        let info = s.kwin_support_information()?;
        Ok(support_value(&info, "glSmoothScale").as_deref() == Some("1")
            && support_value(&info, "glPreferBufferSwap").as_deref() == Some("99"))
    });
    if let Err(why) = tuned {
        let info = s.kwin_support_information().unwrap_or_default();
        let shown: Vec<&str> = info.lines().filter(|l| l.contains("gl") || l.contains("ompositing")).collect();
        panic!(
            "{why}\n{}\nkwinrc:\n{}\nballast said:\n{applied}",
            shown.join("\n"),
            std::fs::read_to_string(s.config_file("kwinrc")).unwrap_or_default()
        );
    }
    let info = s.kwin_support_information().unwrap();
    assert_eq!(support_value(&info, "windowsBlockCompositing").as_deref(), Some("true"));
    assert_eq!(support_value(&info, "compositingMode").as_deref(), Some("1"), "OpenGL");
    s.wait_until("blur is loaded", || Ok(s.kwin_loaded_effects()?.contains(&"blur".to_string()))).unwrap();

    // One ConfigChanged per file, naming exactly the changed keys.
    let text = signals.wait_for("AnimationDurationFactor").unwrap();
    assert!(text.contains("path=/kwinrc; interface=org.kde.kconfig.notify; member=ConfigChanged"), "{text}");
    assert!(text.contains("path=/kdeglobals; interface=org.kde.kconfig.notify; member=ConfigChanged"), "{text}");
    for key in [
        "Backend",
        "GLPreferBufferSwap",
        "GLTextureFilter",
        "WindowsBlockCompositing",
        "blurEnabled",
        "contrastEnabled",
        "wobblywindowsEnabled",
        "magiclampEnabled",
    ] {
        assert!(text.contains(&format!("array of bytes \"{key}\"")), "{key} in {text}");
    }
    assert!(
        text.contains("string \"Compositing\"")
            && text.contains("string \"Plugins\"")
            && text.contains("string \"KDE\""),
        "{text}"
    );
    assert_eq!(text.matches("member=ConfigChanged").count(), 2, "{text}");

    let status = stdout(&ballast(&s, &["--profile", &profile, "tune", "kwin", "--status"]));
    assert!(status.contains("glSmoothScale: 1") && status.contains("blur"), "{status}");

    stdout(&ballast(&s, &["tune", "kwin", "--rollback"]));
    s.wait_until("KWin shows the old values", || {
        let info = s.kwin_support_information()?;
        Ok(support_value(&info, "glSmoothScale").as_deref() == Some("2")
            && support_value(&info, "glPreferBufferSwap").as_deref() == Some("101"))
    })
    .unwrap();
    s.wait_until("blur is unloaded", || Ok(!s.kwin_loaded_effects()?.contains(&"blur".to_string()))).unwrap();
}

#[test]
fn baloo_is_told_to_reread_its_config() {
    let mut s = session();
    s.start_baloo().unwrap();
    let rc_before = std::fs::read(s.config_file("baloofilerc")).unwrap();
    let traffic = s.monitor("interface='org.kde.baloo.main'").unwrap();
    let signals = s.monitor("type='signal',interface='org.kde.kconfig.notify'").unwrap();
    let applied = stdout(&ballast(&s, &["tune", "baloo", "--apply"]));
    assert!(applied.contains("Baloo: updateConfig done"), "{applied}");
    let call = traffic.wait_for("member=updateConfig").unwrap();
    assert!(call.contains("destination=org.kde.baloo"), "{call}");
    let changed = signals.wait_for("exclude folders").unwrap();
    assert!(
        changed.contains("path=/baloofilerc") && changed.contains("array of bytes \"only basic indexing\""),
        "{changed}"
    );
    // baloo_file keeps running on the new settings, which KDE's own reader sees.
    assert!(s.name_has_owner("org.kde.baloo").unwrap());
    let basic = s
        .run("kreadconfig5", &["--file", "baloofilerc", "--group", "General", "--key", "only basic indexing"])
        .unwrap();
    assert_eq!(basic.trim(), "true");
    let excludes =
        s.run("kreadconfig5", &["--file", "baloofilerc", "--group", "General", "--key", "exclude folders"]).unwrap();
    assert!(excludes.contains(&format!("{}/.cache/", s.home().display())), "{excludes}");
    let status = stdout(&ballast(&s, &["tune", "baloo", "--status"]));
    assert!(status.contains("Baloo live: running, "), "{status}");
    assert!(status.contains("ok  baloofilerc  [General] only basic indexing = true"), "{status}");

    stdout(&ballast(&s, &["tune", "baloo", "--rollback"]));
    // baloo_file writes its own keys into baloofilerc when it rereads the config (dbVersion,
    // exclude filters: seen), so the file is byte for byte only when it did not; either way
    // every key reads as before, and the keys ballast set are back.
    let (before, after) =
        (Document::parse(&rc_before), Document::parse(&std::fs::read(s.config_file("baloofilerc")).unwrap()));
    for group in before.groups().into_iter().chain(after.groups()) {
        for key in before.keys(group).into_iter().chain(after.keys(group)) {
            let (was, is) = (
                before.get(group, key).map(|e| e.value.into_owned()),
                after.get(group, key).map(|e| e.value.into_owned()),
            );
            let baloos_own =
                was.is_none() && [&b"dbVersion"[..], b"exclude filters", b"exclude filters version"].contains(&key);
            assert!(
                was == is || baloos_own,
                "[{}] {} was {was:?}, after rollback {is:?}",
                String::from_utf8_lossy(group),
                String::from_utf8_lossy(key)
            );
        }
    }
}
