use super::*;
use crate::report::{Fixture, Session};

fn session() -> Session {
    let text = include_str!("../../tests/fixtures/session-plasma-v2.json");
    match serde_json::from_str(text).expect("the session fixture reads") {
        Fixture::Session(session) => *session,
        Fixture::Report(_) => panic!("a session, not a bare report"),
    }
}

#[test]
fn sizes_read_like_system_monitor() {
    assert_eq!(size_text(0), "0 B");
    assert_eq!(size_text(3 << 10), "3 KiB");
    assert_eq!(size_text(738197504), "704 MiB");
    assert_eq!(size_text(10 << 30), "10.0 GiB");
}

#[test]
fn a_bare_report_reads_as_a_fixture_too() {
    let text = include_str!("../../tests/fixtures/report-plasma-v2.json");
    assert!(matches!(serde_json::from_str(text).unwrap(), Fixture::Report(_)));
}

#[test]
fn summary_and_marks_come_from_the_total_line() {
    let view = of_session(&session());
    let s = &view.summary;
    assert_eq!((s.profile.as_str(), s.state.as_str(), s.status.as_str()), ("shoshin", "workload", "ok"));
    assert_eq!((s.used_text.as_str(), s.limit_text.as_str(), s.ram_text.as_str()), ("7.9 GiB", "10.0 GiB", "15.5 GiB"));
    assert!((s.idle_mark - 3758096384.0 / 16695025664.0).abs() < 1e-9);
    assert!(s.idle_mark < s.workload_mark && s.workload_mark < 1.0);
}

#[test]
fn the_bar_stacks_used_categories_then_zram_other_and_cache_within_ram() {
    let view = of_session(&session());
    let kinds: Vec<&str> = view.segments.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["category"; 7].into_iter().chain(["zram", "unclassified", "cache"]).collect::<Vec<_>>());
    let mut end = 0.0;
    for segment in &view.segments {
        assert!((segment.start - end).abs() < 1e-12, "{segment:?} starts where the last ended");
        end = segment.start + segment.fraction;
    }
    assert!(end <= 1.0 + 1e-12);
    // Used memory (categories + zram pool + other) is exactly memory.used.
    let used: f64 = view.segments.iter().filter(|s| s.kind != "cache").map(|s| s.fraction).sum();
    assert!((used - 8469000192.0 / 16695025664.0).abs() < 1e-9);
    assert_eq!(view.segments[2].color_index, 2, "a category keeps its profile position for its color");
}

#[test]
fn category_rows_carry_targets_and_a_minute_trend() {
    let view = of_session(&session());
    let browser = view.categories.iter().find(|c| c.id == "browser").unwrap();
    assert_eq!(
        (browser.used_text.as_str(), browser.idle_text.as_str(), browser.workload_text.as_str()),
        ("1.7 GiB", "0 B", "4.0 GiB")
    );
    assert_eq!((browser.trend.as_str(), browser.trend_text.as_str()), ("up", "+1.7 GiB in 60 s"));
    let plasma = view.categories.iter().find(|c| c.id == "plasma").unwrap();
    assert_eq!(plasma.trend, "up");
    let audio = view.categories.iter().find(|c| c.id == "audio").unwrap();
    assert_eq!(audio.trend, "steady");
    let electron = view.categories.iter().find(|c| c.id == "electron").unwrap();
    assert_eq!(electron.apps_text, "Discord, Signal");
    let cache = view.categories.iter().find(|c| c.reclaimable).unwrap();
    assert_eq!(cache.fraction, 1.0, "over its target, capped for the bar");
}

#[test]
fn trends_compare_with_the_newest_report_at_least_a_minute_old() {
    let s = session();
    let browser = &s.report.categories[5];
    let mut trends = Trends::default();
    trends.observe(1000, &s.earlier.as_ref().unwrap().report);
    trends.observe(1030, &s.report);
    assert!(trends.of(browser, 1030).is_none(), "not a minute yet");
    for t in (1032..=1070).step_by(2) {
        trends.observe(t, &s.report);
    }
    assert_eq!(trends.of(browser, 1070).map(|(t, _)| t), Some("up"), "against the idle report at 1000");
    for t in (1072..=1090).step_by(2) {
        trends.observe(t, &s.report);
    }
    assert_eq!(trends.seen.front().map(|(t, _)| *t), Some(1030), "older points are dropped");
    assert_eq!(trends.of(browser, 1090).map(|(t, _)| t), Some("steady"));
}

#[test]
fn history_is_seconds_before_now_with_a_pressure_axis_of_at_least_ten_percent() {
    let view = of_session(&session());
    let h = &view.history;
    assert_eq!(h.times.len(), 300);
    assert_eq!((h.times[0], *h.times.last().unwrap()), (-598.0, 0.0));
    assert_eq!(h.memory_max, 16695025664.0);
    assert_eq!(h.pressure_max, 10.0);
    assert_eq!(h.zram_text, "1.1 GiB");
}

#[test]
fn zram_shows_original_against_compressed() {
    let z = of_session(&session()).zram;
    assert_eq!(
        (z.original_text.as_str(), z.compressed_text.as_str(), z.ratio_text.as_str()),
        ("1.1 GiB", "287 MiB", "4.1×")
    );
    assert!((z.compressed_fraction - 301463127.0 / 1228800000.0).abs() < 1e-9);
    assert_eq!(z.device_text, "zram0 · zstd · priority 100");
    assert_eq!(z.state_text, "1 device as swap");
}

#[test]
fn no_gpu_says_none_and_why() {
    let text = include_str!("../../tests/fixtures/report-plasma-v2.json");
    let session = serde_json::from_str::<Fixture>(text).unwrap().into_session();
    let gpu = of_session(&session).gpu;
    assert_eq!(gpu.text, "none");
    assert!(gpu.reason.starts_with("no GPU found"), "{}", gpu.reason);
    assert!(gpu.devices.is_empty() && gpu.vram_text.is_empty());
}

#[test]
fn a_gpu_shows_memory_use_video_engines_and_memory_per_category() {
    let gpu = of_session(&session()).gpu;
    assert_eq!(gpu.text, "NVIDIA GeForce GTX 960");
    let device = &gpu.devices[0];
    assert_eq!(device.memory_text, "1.0 GiB of 4.0 GiB");
    assert!((device.memory_fraction - 1112539136.0 / 4294967296.0).abs() < 1e-9);
    assert_eq!(
        (device.utilization_text.as_str(), device.video_text.as_str(), device.sensors_text.as_str()),
        ("busy 14\u{a0}% · memory 9\u{a0}%", "decode 23\u{a0}% · encode 0\u{a0}%", "41\u{a0}°C")
    );
    assert_eq!((gpu.vram_text.as_str(), gpu.vram_status.as_str()), ("1.0 GiB of the 4.0 GiB budget", "ok"));
    let names: Vec<&str> = gpu.memory.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Plasma desktop", "Electron apps", "Browser"]);
    assert_eq!(gpu.memory[1].apps_text, "Discord 180 MiB, Signal 70 MiB");
}

#[test]
fn scopes_show_use_against_their_limits_and_events() {
    let view = of_session(&session());
    let discord = &view.scopes[0];
    assert_eq!(discord.unit, "app-ballast-discord-3f2a91c0.scope");
    assert_eq!(
        (discord.name.as_str(), discord.high_text.as_str(), discord.max_text.as_str()),
        ("Discord", "2.0 GiB", "3.0 GiB")
    );
    assert!((discord.used_fraction - 1123340288.0 / 3221225472.0).abs() < 1e-9);
    assert!((discord.high_mark - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        (discord.events_text.as_str(), discord.events_level.as_str()),
        ("1843 limit hits · 0 OOM kills", "warning")
    );
    assert_eq!(view.scopes[1].events_level, "ok");
    // A second unit of Discord (the app moved part of itself out) adds to Discord's row.
    let mut moved = session();
    let mut stray = moved.scopes[0].clone();
    stray.unit = "app-discord-4242.scope".into();
    stray.memory_current = Some(100 << 20);
    moved.scopes.push(stray);
    let view = of_session(&moved);
    assert_eq!(view.scopes.len(), session().scopes.len());
    assert_eq!(view.scopes[0].used_text, size_text(1123340288 + (100 << 20)));
}

#[test]
fn launch_buttons_follow_the_catalog() {
    let view = of_session(&session());
    assert_eq!(view.apps.len(), session().apps.len());
    let discord = view.apps.iter().find(|a| a.id == "discord").unwrap();
    assert!(discord.installed && discord.running);
    assert_eq!(discord.limits_text, "high 2G · max 3G · CPU 150%");
    let teams = view.apps.iter().find(|a| a.id == "teams").unwrap();
    assert!(!teams.installed && !teams.running);
}

#[test]
fn breaches_unread_sources_and_a_new_schema_become_notices() {
    let mut s = session();
    s.report.breaches.push(ballast::budget::Breach {
        id: ballast::budget::BreachId::Category("plasma".into()),
        used: 900 << 20,
        limit: 800 << 20,
        since_tick: 3,
    });
    s.report.sources.problems.push("/proc/pressure/io: permission denied".into());
    let notices = of_session(&s).notices;
    assert_eq!(notices[0].text, "Plasma desktop is over budget: 900 MiB of 800 MiB");
    assert_eq!(notices[0].level, "error");
    assert_eq!(notices[1].text, "Not measured: /proc/pressure/io: permission denied");
    s.report.schema = 3;
    assert!(of_session(&s).notices[0].text.starts_with("The agent sends report schema 3"));
}

#[test]
fn pressure_rows_and_the_cpu_split() {
    let view = of_session(&session());
    let names: Vec<&str> = view.pressure.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Memory", "CPU", "I/O"]);
    assert_eq!(view.pressure.rows[0].some_text, "0.3 %");
    assert!(!view.pressure.cpu_known, "the fixture is a first sample");
}

#[test]
fn events_are_listed_newest_first_with_how_long_ago_and_kills_in_red() {
    let view = of_session(&session());
    let rows: Vec<(&str, &str, &str, &str)> =
        view.events.iter().map(|e| (e.ago_text.as_str(), e.who.as_str(), e.what.as_str(), e.level.as_str())).collect();
    assert_eq!(
        rows,
        [
            ("4 min ago", "Signal", "Frozen", "ok"),
            ("25 min ago", "Discord", "OOM-killed", "error"),
            ("3 h ago", "Google Chrome", "Killed by systemd-oomd", "error"),
        ]
    );
    assert_eq!(view.events[1].why, "used 3.0G of its 3.0G MemoryMax");
    let frozen: Vec<bool> = view.scopes.iter().map(|s| s.frozen).collect();
    assert_eq!(frozen, [false, true], "Signal's scope is frozen in the fixture");
}

#[test]
fn learnt_limits_sit_beside_the_current_ones_with_their_evidence() {
    let view = of_session(&session());
    let rows: Vec<(&str, &str, &str)> =
        view.learnt.iter().map(|r| (r.name.as_str(), r.now_text.as_str(), r.suggested_text.as_str())).collect();
    assert_eq!(rows, [("Discord", "2.0 GiB / 3.0 GiB", "2.2 GiB / 2.4 GiB"), ("Signal", "1.5 GiB / 2.0 GiB", "")]);
    assert_eq!(view.learnt[0].evidence_text, "p95 1.8 GiB, peak 1.8 GiB · 4 days, 480 samples");
    assert_eq!(view.learnt[1].evidence_text, "2 more days of use needed");
}

#[test]
fn measured_savings_show_before_after_and_the_seeds_claim() {
    let view = of_session(&session());
    let rows: Vec<(&str, &str, &str, &str)> = view
        .savings
        .rows
        .iter()
        .map(|r| (r.component.as_str(), r.before_text.as_str(), r.savings_text.as_str(), r.claim_text.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("KWin", "39 MiB", "1 KiB (0%)", "150-300MB -> 100-200MB"),
            ("Plasma shell", "1.4 GiB", "-13 KiB (0%)", ""),
            ("Baloo", "6 MiB", "16 KiB (0%)", "")
        ]
    );
    assert_eq!(view.savings.when_text, "tune all, 3 h ago, read 20 s after the apply");
}
