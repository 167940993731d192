use super::*;

fn overlay(text: &str) -> Result<Profile, ProfileError> {
    Profile::from_overlay(text, &Origin::File(PathBuf::from("/home/u/.config/ballast/config.toml")))
}

fn gib(x: f64) -> ByteSize {
    ByteSize((x * (1u64 << 30) as f64) as u64)
}

#[test]
fn embedded_default_is_the_reference_machine() {
    let p = Profile::embedded();
    assert_eq!(p.machine.ram, gib(16.0));
    assert_eq!((p.machine.os_cores, p.machine.workload_cores), (2, 2));
    assert_eq!(p.sample.tick_seconds, 2.0);
    assert_eq!(p.budget.idle_total, gib(3.5));
    assert_eq!(p.budget.workload_total, gib(10.0));
    let targets: Vec<(&str, String, String)> =
        p.categories.iter().map(|c| (c.id.as_str(), c.idle.to_string(), c.workload.to_string())).collect();
    let expect = [
        ("kernel", "400M", "600M"),
        ("services", "100M", "150M"),
        ("plasma", "500M", "800M"),
        ("audio", "50M", "100M"),
        ("electron", "0", "4G"),
        ("browser", "0", "4G"),
        ("devtools", "0", "4G"),
        ("cache", "2G", "1G"),
    ];
    assert_eq!(targets.len(), expect.len());
    for ((id, idle, work), (eid, eidle, ework)) in targets.iter().zip(expect) {
        assert_eq!((*id, idle.as_str(), work.as_str()), (eid, eidle, ework));
    }
    assert_eq!((p.zram.fraction, p.zram.algorithm.as_str(), p.zram.priority), (0.75, "zstd", 100));
    let s = &p.sysctl;
    assert_eq!((s.swappiness, s.vfs_cache_pressure, s.dirty_ratio, s.dirty_background_ratio), (10, 50, 10, 5));
}

#[test]
fn embedded_catalog_matches_the_design() {
    let p = Profile::embedded();
    let row = |id: &str| {
        let a = p.app(id).unwrap_or_else(|| panic!("app {id}"));
        (a.exec.clone(), a.v8_heap_mb, a.memory_high.to_string(), a.memory_max.to_string(), a.cpu_quota.to_string())
    };
    let s = |x: &str| x.to_string();
    assert_eq!(row("teams"), (s("teams-for-linux"), Some(1536), s("2.5G"), s("4G"), s("200%")));
    assert_eq!(row("discord"), (s("Discord"), Some(1024), s("2G"), s("3G"), s("150%")));
    assert_eq!(row("spotify"), (s("spotify"), None, s("2G"), s("3G"), s("100%")));
    assert_eq!(row("codium"), (s("codium"), Some(2048), s("4G"), s("5G"), s("200%")));
    assert_eq!(row("claude-desktop"), (s("claude-desktop"), Some(2048), s("4G"), s("6G"), s("200%")));
    assert_eq!(row("signal"), (s("signal-desktop"), Some(768), s("1.5G"), s("2G"), s("100%")));
    assert_eq!(row("zoom"), (s("zoom"), None, s("2.5G"), s("4G"), s("250%")));
    assert!(p.app("obsidian").is_some());
    assert_eq!(p.app("spotify").unwrap().toolkit, Toolkit::Cef);
    assert_eq!(p.app("zoom").unwrap().toolkit, Toolkit::Qt);
}

#[test]
fn empty_overlay_is_the_default_and_round_trips_through_toml() {
    let p = overlay("").unwrap();
    assert_eq!(p, Profile::embedded());
    let printed = toml::to_string(&p).unwrap();
    assert_eq!(overlay(&printed).unwrap(), p);
}

#[test]
fn overlay_merges_tables_and_entries_by_id() {
    let p = overlay(
        r#"
[budget]
idle_total = "3G"

[[app]]
id = "discord"
memory_max = "2.5G"

[[app]]
id = "element"
name = "Element"
exec = "element-desktop"
toolkit = "electron"
category = "electron"
v8_heap_mb = 512
memory_high = "1G"
memory_max = "1.5G"
cpu_quota = "100%"
args = ["--hidden", "two words"]
"#,
    )
    .unwrap();
    let default = Profile::embedded();
    assert_eq!(p.budget.idle_total, gib(3.0));
    assert_eq!(p.budget.workload_total, default.budget.workload_total);
    let discord = p.app("discord").unwrap();
    assert_eq!(discord.memory_max, gib(2.5));
    assert_eq!(discord.memory_high, default.app("discord").unwrap().memory_high);
    assert_eq!(p.apps.len(), default.apps.len() + 1);
    assert_eq!(p.app("element").unwrap().args, ["--hidden", "two words"]);
}

fn invalid(text: &str) -> (Option<(usize, usize)>, String) {
    match overlay(text) {
        Err(ProfileError::Invalid { position, message, .. }) => (position, message),
        other => panic!("expected an invalid-profile error, got {other:?}"),
    }
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let err = overlay("[budget]\nidle_total = \"3G\nworkload_total = 1\n").unwrap_err();
    let shown = err.to_string();
    assert!(shown.starts_with("/home/u/.config/ballast/config.toml:2:"), "{shown}");
}

#[test]
fn bad_size_names_key_position_and_expectation() {
    let (position, message) = invalid("# mine\n[[app]]\nid = \"discord\"\nmemory_max = \"3X\"\n");
    assert_eq!(position, Some((4, 1)));
    assert!(message.contains("app[1].memory_max"), "{message}");
    assert!(message.contains("\"512M\""), "{message}");
}

#[test]
fn unknown_key_is_refused_not_ignored() {
    let (position, message) = invalid("[budget]\nidle_totl = \"3G\"\n");
    assert_eq!(position, Some((2, 1)));
    assert!(message.contains("idle_totl"), "{message}");
}

#[test]
fn wrong_type_is_reported() {
    let (_, message) = invalid("[sample]\ntick_seconds = \"fast\"\n");
    assert!(message.contains("sample.tick_seconds"), "{message}");
}

#[test]
fn semantic_errors_point_at_the_entry() {
    let (position, message) = invalid("[[app]]\nid = \"discord\"\ncategory = \"kernel\"\n");
    assert_eq!(position, Some((3, 1)));
    assert!(message.contains("category \"kernel\""), "{message}");

    let (_, message) = invalid("[[app]]\nid = \"discord\"\nmemory_high = \"5G\"\n");
    assert!(message.contains("above memory_max"), "{message}");

    let (_, message) = invalid("[[app]]\nid = \"zoom\"\nv8_heap_mb = 512\n");
    assert!(message.contains("Electron apps only"), "{message}");

    let (_, message) = invalid("[sample]\ntick_seconds = 0\n");
    assert!(message.contains("at least 0.05"), "{message}");

    let (_, message) = invalid("[sample]\nidle_tick_seconds = nan\n");
    assert!(message.contains("idle_tick_seconds must be between 0.05 and 3600"), "{message}");
}

#[test]
fn new_app_with_missing_fields_is_refused() {
    let (position, message) = invalid("[[app]]\nid = \"element\"\nname = \"Element\"\n");
    assert_eq!(position, Some((1, 1)));
    assert!(message.contains("missing field"), "{message}");
}

#[test]
fn scope_pattern_follows_the_desktop_environment_spec() {
    let p = Profile::embedded();
    assert_eq!(p.app("discord").unwrap().scope_pattern(), "app-ballast-discord-*.scope");
}

#[test]
fn unit_name_parts_are_escaped_like_systemd_escape() {
    assert_eq!(escape_unit_part("discord"), "discord");
    assert_eq!(escape_unit_part("claude-desktop"), "claude\\x2ddesktop");
    assert_eq!(escape_unit_part("a b/c"), "a\\x20b\\x2fc");
    assert_eq!(escape_unit_part(".hidden"), "\\x2ehidden");
    assert_eq!(
        Profile::embedded().app("claude-desktop").unwrap().scope_pattern(),
        "app-ballast-claude\\x2ddesktop-*.scope"
    );
}

#[test]
fn oom_score_adj_can_only_raise() {
    assert_eq!(Profile::embedded().app("spotify").unwrap().oom_score_adj, Some(500));
    let (_, message) = invalid("[[app]]\nid = \"discord\"\noom_score_adj = 0\n");
    assert!(message.contains("only raise"), "{message}");
    assert!(overlay("[[app]]\nid = \"discord\"\noom_score_adj = -5\n").is_err());
}
