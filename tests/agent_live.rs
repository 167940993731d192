//! The agent in a real session: private dbus-daemon, Xvfb, the kded5 StatusNotifierWatcher
//! and dunst (testbed/src/harness/desktop.rs). Launching from the menu under a real systemd
//! user manager is in tests/agent_launch.rs.

use testbed::harness::desktop;

use desktop::Session;
use std::time::Duration;

const AGENT: &str = "io.ballast.Agent";
const PATH: &str = "/io/ballast/Agent";

fn agent_call(s: &Session, method: &str, args: &[&str]) -> Result<String, String> {
    let member = format!("io.ballast.Agent1.{method}");
    let mut call = vec![AGENT, PATH, member.as_str()];
    call.extend_from_slice(args);
    Ok(s.call(&call)?)
}

fn start(profile: &str) -> (Session, std::path::PathBuf) {
    let mut s = Session::with_display().unwrap_or_else(|why| panic!("desktop session: {why}"));
    s.start_notification_server().unwrap();
    s.start_tray_watcher().unwrap();
    let file = s.home().join("ballast.toml");
    std::fs::write(&file, profile).unwrap();
    let mut agent = s.command(env!("CARGO_BIN_EXE_ballast"));
    agent.arg("--profile").arg(&file).arg("agent");
    s.start_program("ballast", agent, "io.ballast.Agent is owned", |s| s.name_has_owner(AGENT)).unwrap();
    (s, file)
}

/// The tray item's bus name, once the watcher lists it.
fn tray_item(s: &Session) -> String {
    let mut item = String::new();
    s.wait_until("the ballast item is registered", || {
        item = s.tray_items()?.into_iter().find(|i| i.ends_with("/StatusNotifierItem")).unwrap_or_default();
        Ok(!item.is_empty())
    })
    .unwrap();
    item.split('/').next().unwrap().to_owned()
}

// The threshold keeps the state idle whatever else this machine runs (compilers, say).
const TINY_BUDGET: &str = "[sample]\ntick_seconds = 1\n\n[budget]\nidle_total = \"1M\"\nworkload_total = \"1M\"\nworkload_threshold = \"64G\"\n";
const ROOMY_BUDGET: &str = "[sample]\ntick_seconds = 1\n\n[budget]\nidle_total = \"64G\"\nworkload_total = \"64G\"\nworkload_threshold = \"64G\"\n";

#[test]
fn tray_item_and_its_menu() {
    let (mut s, _) = start(ROOMY_BUDGET);
    let item = tray_item(&s);
    let menu = s.property(&item, "/StatusNotifierItem", "org.kde.StatusNotifierItem", "Menu").unwrap();
    let menu_path = menu.split_whitespace().last().unwrap().trim_matches('"').to_owned();
    let layout = s
        .call(&[&item, &menu_path, "com.canonical.dbusmenu.GetLayout", "int32:0", "int32:-1", "array:string:"])
        .unwrap();
    for label in [
        "Total ",
        "Plasma desktop: ",
        "zram: ",
        "Memory pressure",
        "GPU: ",
        "Launch",
        "Discord (2G / 3G, 150%)",
        "Running",
        "Tune",
        "KWin",
        "Baloo",
        "Preview",
        "Apply",
        "Roll back",
        "Dashboard",
        "Doctor",
        "Quit",
    ] {
        assert!(layout.contains(label), "menu has {label:?}:\n{layout}");
    }
    let icon = s
        .call(&[
            &item,
            "/StatusNotifierItem",
            "org.freedesktop.DBus.Properties.Get",
            "string:org.kde.StatusNotifierItem",
            "string:IconPixmap",
        ])
        .unwrap();
    assert!(
        icon.contains("int32 22") && icon.contains("int32 32"),
        "a drawn gauge icon: {}",
        &icon[..icon.len().min(300)]
    );
    let tooltip = s
        .call(&[
            &item,
            "/StatusNotifierItem",
            "org.freedesktop.DBus.Properties.Get",
            "string:org.kde.StatusNotifierItem",
            "string:ToolTip",
        ])
        .unwrap();
    assert!(tooltip.contains("used ("), "{tooltip}");

    // plasmashell restarts: the watcher goes away and comes back; the item registers again.
    s.restart_tray_watcher().unwrap();
    assert_eq!(tray_item(&s), item);

    // One agent per session: a second start says so and exits 0.
    let second = s.command(env!("CARGO_BIN_EXE_ballast")).arg("agent").output().unwrap();
    assert_eq!(second.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&second.stdout).contains("already running"));
}

#[test]
fn one_notification_per_breach_and_recovery_clears_it() {
    let (mut s, file) = start(TINY_BUDGET);
    let shown = s.wait_dunst_notifications(1).unwrap();
    assert_eq!(shown[0].summary, "Total memory over budget");
    assert_eq!((shown[0].urgency.as_str(), shown[0].app_name.as_str()), ("NORMAL", "ballast"));
    assert!(shown[0].body.contains("above its 1M target (idle state)"), "{}", shown[0].body);
    std::thread::sleep(Duration::from_secs(3));
    let all = s.dunst_notifications();
    assert_eq!(all.iter().filter(|n| n.summary == "Total memory over budget").count(), 1, "never a flood: {all:?}");

    let changed = s.monitor("type='signal',interface='io.ballast.Agent1',member='ReportChanged'").unwrap();
    std::fs::write(&file, ROOMY_BUDGET).unwrap();
    s.wait_until("recovery closes the notification", || Ok(s.dunst_count()?.displayed == 0)).unwrap();
    let signal = changed.wait_for("\"schema\":2").unwrap();
    assert!(signal.contains("member=ReportChanged"), "{signal}");

    // A bad edit keeps the old profile and says why.
    std::fs::write(&file, "[budget]\nidle_total = \"lots\"\n").unwrap();
    let shown = s.wait_dunst_notifications(2).unwrap();
    let config = shown.iter().find(|n| n.summary == "ballast: config not loaded").expect("a config notification");
    assert!(config.body.contains("ballast.toml:2:") && config.body.contains("previous settings"), "{}", config.body);
    assert!(s.name_has_owner(AGENT).unwrap(), "the agent keeps running");

    // Stopped (SIGTERM, as systemd stops it), the agent closes what no one else would: the
    // config's notification tells of a condition only it watches.
    s.stop("ballast").unwrap();
    s.wait_until("the agent's stop closes its notification", || Ok(s.dunst_count()?.displayed == 0)).unwrap();
}

/// A notification never waits for the server's answer to another: with dunst stopped (as
/// plasmashell under memory pressure answers late), the breach's Notify goes unanswered, and
/// the config error's Notify still goes out at once, not after the agent's 25 s wait for the
/// first answer. Once dunst runs again, it shows both.
#[test]
fn a_notification_does_not_wait_for_the_answer_to_another() {
    let (mut s, file) = start(TINY_BUDGET);
    s.wait_dunst_notifications(1).unwrap();
    std::fs::write(&file, ROOMY_BUDGET).unwrap();
    s.wait_until("recovery closes the notification", || Ok(s.dunst_count()?.displayed == 0)).unwrap();
    let calls = s.monitor("type='method_call',interface='org.freedesktop.Notifications',member='Notify'").unwrap();
    let dunst = s.pid("dunst").expect("dunst runs");
    signal(dunst, "-STOP");
    std::fs::write(&file, TINY_BUDGET).unwrap();
    calls.wait_for("Total memory over budget").unwrap();
    std::fs::write(&file, "[budget]\nidle_total = \"lots\"\n").unwrap();
    let text = calls.wait_for("ballast: config not loaded").unwrap();
    signal(dunst, "-CONT");
    let sent = testbed::notifications::notifications(&text);
    let at = |summary: &str| sent.iter().find(|n| n.summary == summary).and_then(|n| n.sent).unwrap();
    let apart = at("ballast: config not loaded").duration_since(at("Total memory over budget")).unwrap();
    assert!(apart < Duration::from_secs(10), "the second Notify waited {apart:?} for the first's answer");
    let shown = s.wait_dunst_notifications(3).unwrap();
    let summaries: Vec<&str> = shown.iter().map(|n| n.summary.as_str()).collect();
    assert_eq!(summaries[1..], ["Total memory over budget", "ballast: config not loaded"], "dunst shows both");
    assert!(!s.log("ballast").contains("no notification server answers"), "{}", s.log("ballast"));
}

/// Sends `signal` (`kill`'s `-STOP`, `-CONT`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn every_api_method_answers() {
    let (s, _) = start(ROOMY_BUDGET);
    let status: serde_json::Value = serde_json::from_str(&agent_call(&s, "Status", &[]).unwrap()).unwrap();
    assert_eq!(status["schema"], 2);
    s.wait_until("two ticks of history", || {
        Ok(agent_call(&s, "History", &["uint32:60"])?.matches("\"time\"").count() >= 2)
    })
    .unwrap();
    let history: serde_json::Value = serde_json::from_str(&agent_call(&s, "History", &["uint32:60"]).unwrap()).unwrap();
    assert!(history[0]["used"].as_u64().unwrap() > 0);
    let unknown = agent_call(&s, "Launch", &["string:winamp", "array:string:"]).unwrap_err();
    assert!(unknown.contains("unknown app \"winamp\""), "{unknown}");
    let stop = agent_call(&s, "Stop", &["string:app-nothing-1.scope"]).unwrap_err();
    assert!(stop.contains("systemd user manager") || stop.contains("no running app scope"), "{stop}");
    let preview = agent_call(&s, "Tune", &["string:kwin", "string:preview"]).unwrap();
    assert!(preview.contains("+Backend=OpenGL"), "{preview}");
    let wrong = agent_call(&s, "Tune", &["string:kwin", "string:explode"]).unwrap_err();
    assert!(wrong.contains("preview, apply or rollback"), "{wrong}");
    let doctor: serde_json::Value = serde_json::from_str(&agent_call(&s, "Doctor", &[]).unwrap()).unwrap();
    assert_eq!(doctor.as_array().unwrap().len(), 15);
    // Suggestions() reads the user's usage record: three days of Discord at 0.5 to 1 GiB.
    let record = s.home().join(".local/state/ballast/usage");
    let mut discord = ballast::usage::DayUsage::default();
    (0..100u64).for_each(|i| discord.add((512 + 5 * i) << 20, 10.0, 1_790_000_000 + i));
    for day in ["2026-11-01", "2026-11-02", "2026-11-03"] {
        let record_of_day = ballast::usage::DayRecord::from([("discord".to_owned(), discord.clone())]);
        ballast::usage::store::save_day(&record, day, &record_of_day).unwrap();
    }
    let learnt: serde_json::Value = serde_json::from_str(&agent_call(&s, "Suggestions", &[]).unwrap()).unwrap();
    assert_eq!((learnt[0]["app"].as_str(), learnt[0]["days"].as_u64()), (Some("discord"), Some(3)), "{learnt}");
    assert!(learnt[0]["suggestion"]["memory_max"].as_u64().unwrap() >= 1300 << 20, "peak 1007M x 1.3: {learnt}");
    // Savings() reads the last `tune --measure`: none yet, then the one kept.
    assert_eq!(agent_call(&s, "Savings", &[]).unwrap(), "null");
    let measured =
        ballast::tune::measure::Measurement { time: 1, target: "kwin".into(), settle_seconds: 60, rows: Vec::new() };
    ballast::tune::measure::save(&s.home().join(".local/state/ballast/savings.json"), &measured).unwrap();
    let kept: serde_json::Value = serde_json::from_str(&agent_call(&s, "Savings", &[]).unwrap()).unwrap();
    assert_eq!((kept["target"].as_str(), kept["settle_seconds"].as_u64()), (Some("kwin"), Some(60)), "{kept}");

    // The CLI asks the running agent: its report carries the agent's 64G budget, not the
    // embedded 3.5G one this command would load by itself.
    let out = s.command(env!("CARGO_BIN_EXE_ballast")).args(["status", "--json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["total"]["idle"], 64u64 << 30);
    let text = s.command(env!("CARGO_BIN_EXE_ballast")).arg("status").output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("budget 64.0G (idle)"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let apps: serde_json::Value = serde_json::from_str(&agent_call(&s, "Apps", &[]).unwrap()).unwrap();
    assert!(
        apps.as_array().unwrap().iter().any(|app| app["id"] == "discord" && app["installed"].is_boolean()),
        "{apps}"
    );
    let scopes: serde_json::Value = serde_json::from_str(&agent_call(&s, "Scopes", &[]).unwrap()).unwrap();
    assert!(scopes.is_array(), "{scopes}");
}
