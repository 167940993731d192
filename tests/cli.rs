//! The `ballast` binary as a user runs it.

use serde_json::Value;
use std::process::{Command, Output, Stdio};

fn ballast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .env_remove("BALLAST_PROFILE")
        .env_remove("BALLAST_ROOT")
        .env("XDG_CONFIG_HOME", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .expect("ballast runs")
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

#[test]
fn help_lists_the_commands() {
    let out = ballast(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["status", "doctor", "profile", "--profile", "--root"] {
        assert!(text.contains(command), "--help mentions {command}:\n{text}");
    }
}

#[test]
fn status_json_has_the_documented_schema() {
    let report = json(&ballast(&["status", "--json"]));
    assert_eq!(report["schema"], 2);
    // No GPU on this machine: said so, with the reason, not as an error.
    assert_eq!(report["gpu"]["source"], "none");
    assert!(report["gpu"]["reason"].as_str().is_some_and(|r| r.contains("no GPU found")), "{}", report["gpu"]);
    assert!(report["gpu"]["vram"].is_null());
    for key in ["total", "memory", "categories", "zram", "psi", "breaches", "sources", "state", "unclassified"] {
        assert!(report.get(key).is_some(), "key {key}");
    }
    let ids: Vec<&str> = report["categories"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["kernel", "services", "plasma", "audio", "electron", "browser", "devtools", "cache"]);
    for category in report["categories"].as_array().unwrap() {
        for key in ["used", "idle", "workload", "limit", "status"] {
            assert!(category[key].is_number() || category[key].is_string(), "{key} in {category}");
        }
    }
    assert!(report["cpu"]["interval_seconds"].as_f64().unwrap() > 0.0, "one-shot status measures CPU");
}

#[test]
fn status_text_shows_the_table() {
    let out = ballast(&["status"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Plasma desktop") && text.contains("zram") && text.contains("GPU   none"), "{text}");
    assert!(!text.contains("\x1b["), "no colour when stdout is not a terminal");
}

#[test]
fn watch_json_streams_one_report_per_tick() {
    use std::io::{BufRead, BufReader};
    let profile = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tick1.toml");
    std::fs::write(&profile, "[sample]\ntick_seconds = 1\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["--profile", profile.to_str().unwrap(), "status", "--watch", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first["cpu"].is_null(), "the first tick has no CPU interval yet");
    assert!(second["cpu"]["interval_seconds"].as_f64().unwrap() > 0.5);
}

#[test]
fn profile_prints_the_effective_profile() {
    let embedded = json(&ballast(&["profile", "--json"]));
    assert_eq!(embedded["machine"]["name"], "shoshin");
    assert_eq!(embedded["app"].as_array().unwrap().len(), 11);
    let toml_out = ballast(&["profile"]);
    let text = String::from_utf8_lossy(&toml_out.stdout);
    assert!(text.starts_with("# effective profile: embedded default profile"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "[[app]]\nid = \"discord\"\nmemory_max = \"2.5G\"\n").unwrap();
    let mine = json(&ballast(&["--profile", file.to_str().unwrap(), "profile", "--json"]));
    let discord = mine["app"].as_array().unwrap().iter().find(|a| a["id"] == "discord").unwrap();
    assert_eq!(discord["memory_max"], "2.5G");
    assert_eq!(discord["memory_high"], "2G");
}

#[test]
fn user_config_file_is_picked_up_from_xdg_config_home() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ballast")).unwrap();
    std::fs::write(dir.path().join("ballast/config.toml"), "[budget]\nidle_total = \"3G\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["profile", "--json"])
        .env_remove("BALLAST_PROFILE")
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(json(&out)["budget"]["idle_total"], "3G");
}

#[test]
fn malformed_profile_is_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[budget]\nidle_total = \"3G\"\n\n[[app]]\nid = \"discord\"\ncpu_quota = \"lots\"\n")
        .unwrap();
    let out = ballast(&["--profile", file.to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:6:1", file.display())), "{err}");
    assert!(err.contains("app[1].cpu_quota") && err.contains("150%"), "{err}");
    assert!(out.stdout.is_empty(), "nothing is half-applied or printed");

    let missing = ballast(&["--profile", "/nonexistent/ballast.toml", "status"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read profile /nonexistent/ballast.toml"));
}

#[test]
fn doctor_exit_code_follows_its_verdicts() {
    let out = ballast(&["doctor", "--json"]);
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = checks.as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "zram",
            "sysctl",
            "idle-memory",
            "cgroup",
            "systemd-user",
            "pressure-triggers",
            "systemd-oomd",
            "session-protection",
            "scope-limits",
            "nvidia",
            "vaapi-env",
            "vainfo",
            "vdpauinfo",
            "baloo",
            "segfaults"
        ]
    );
    let failed = checks.iter().any(|c| c["verdict"] == "FAIL");
    assert_eq!(out.status.code(), Some(i32::from(failed)));
    for check in checks.iter().filter(|c| c["verdict"] == "FAIL" || c["verdict"] == "WARN") {
        assert!(check["fix"].is_string(), "{check}");
    }
}

#[test]
fn status_and_doctor_on_a_fixture_tree() {
    let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2");
    let report = json(&ballast(&["--root", tree, "status", "--json"]));
    assert_eq!(report["state"], "workload");
    assert_eq!(report["sources"]["cgroup"], "v2");
    assert_eq!(report["zram"]["state"], "active");

    let out = ballast(&["--root", tree, "doctor", "--json"]);
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdict = |id: &str| checks.as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["verdict"].clone();
    for id in ["zram", "sysctl", "cgroup"] {
        assert_eq!(verdict(id), "PASS", "{id}: {checks:#}");
    }
    // Firefox runs in the tree as Plasma started it, without the catalog's limits: the agent
    // would adopt it; ballast's own scopes there hold theirs.
    let limits = checks.as_array().unwrap().iter().find(|c| c["id"] == "scope-limits").unwrap();
    assert_eq!(limits["verdict"], "WARN", "{limits:#}");
    assert_eq!(limits["message"], "app-firefox-4f2e1a9b.scope: high max max max (catalog 3G / 4G)");
    assert_eq!(verdict("idle-memory"), "SKIP", "a workload runs in this tree");
}

/// build.rs writes a man page per command and the shell completions from the same clap
/// types the binary parses with: every command `--help` lists has its page, and bash
/// completes a command's name and its options.
#[test]
fn man_pages_and_completions_cover_every_command() {
    let out = std::path::Path::new(env!("OUT_DIR"));
    let help = String::from_utf8_lossy(&ballast(&["--help"]).stdout).into_owned();
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 10 && commands.contains(&"tune"), "{help}");
    let page = |name: &str| std::fs::read_to_string(out.join("man").join(name));
    assert!(page("ballast.1").unwrap().contains("ballast\\-tune(1)"), "the main page lists the command pages");
    for command in &commands {
        let text = page(&format!("ballast-{command}.1")).unwrap_or_else(|e| panic!("ballast-{command}.1: {e}"));
        assert!(text.starts_with(".ie \\n(.g .ds Aq"), "ballast-{command}.1 is roff: {text:.80}");
    }
    assert!(page("ballast-tune.1").unwrap().contains("\\-\\-rollback"));
    let complete = |words: &str| {
        // As bash calls it: the words so far, the index of the current one, and the function
        // given the command, the current word and the one before.
        let script = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _ballast ballast \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo ${{COMPREPLY[@]}}",
            out.join("completions/ballast.bash").display()
        );
        let reply = Command::new("bash").args(["-c", &script]).output().expect("bash runs");
        String::from_utf8_lossy(&reply.stdout).into_owned()
    };
    assert!(complete("ballast tu").split_whitespace().any(|w| w == "tune"), "{}", complete("ballast tu"));
    assert!(complete("ballast tune kwin --ro").contains("--rollback"), "{}", complete("ballast tune kwin --ro"));
    for other in ["_ballast", "ballast.fish"] {
        assert!(out.join("completions").join(other).is_file(), "{other} is generated");
    }
}
