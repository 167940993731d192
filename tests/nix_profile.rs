//! The Nix side agrees with ballast itself: the hardware profile's numbers are ballast's
//! embedded default, the config file Nix writes is one ballast accepts, the agent's unit and
//! desktop entry are the ones `ballast autostart enable` writes, and the electronApps
//! wrappers hand their arguments to `ballast launch` untouched.

use testbed::harness::nix as common;

use common::{ballast, ballast_json, differences, eval_json, eval_string, nix_command, nix_path};
use serde_json::Value;
use std::path::Path;

fn lib() -> String {
    format!("(import {})", nix_path("nix/lib"))
}

/// `ballast profile --json` with the agent-only match rules taken out: the categories'
/// `units` and `exes` globs are the one part of the profile Nix does not restate.
fn embedded_profile(config_home: &Path) -> Value {
    let mut profile = ballast_json(&["profile", "--json"], config_home);
    for category in profile["category"].as_array_mut().unwrap() {
        let category = category.as_object_mut().unwrap();
        category.remove("units");
        category.remove("exes");
    }
    profile
}

#[test]
fn nix_profile_equals_the_embedded_default() {
    let home = tempfile::tempdir().unwrap();
    let rust = embedded_profile(home.path());
    let nix = eval_json(&format!("(import {}).ballast", nix_path("nix/profiles/shoshin.nix")));
    let mut found = Vec::new();
    differences("profile", &nix, &rust, &mut found);
    assert!(
        found.is_empty(),
        "nix/profiles/shoshin.nix (left) differs from src/profile/default.toml (right):\n{}",
        found.join("\n")
    );
}

/// What the NixOS modules set is what ballast checks against.
#[test]
fn module_numbers_come_from_the_embedded_default() {
    let home = tempfile::tempdir().unwrap();
    let rust = embedded_profile(home.path());
    let nix = eval_json(&format!(
        "let l = {lib}; in {{ zram = l.memory.zram l.reference; sysctl = l.memory.sysctl l.reference; slice = l.cgroups.userSlice l.reference.ballast.machine; split = l.cgroups.split l.reference.ballast.machine; }}",
        lib = lib()
    ));
    let fraction = rust["zram"]["fraction"].as_f64().unwrap();
    assert_eq!(nix["zram"]["memoryPercent"].as_f64().unwrap(), (fraction * 100.0).round());
    assert_eq!(nix["zram"]["algorithm"], rust["zram"]["algorithm"]);
    assert_eq!(nix["zram"]["priority"], rust["zram"]["priority"]);
    assert_eq!(nix["zram"]["size"], "12G", "75 % of 16G");
    for (key, value) in rust["sysctl"].as_object().unwrap() {
        assert_eq!(&nix["sysctl"][format!("vm.{key}")], value, "vm.{key}");
    }
    assert_eq!(nix["sysctl"].as_object().unwrap().len(), rust["sysctl"].as_object().unwrap().len());
    assert_eq!(rust["machine"]["ram"], "16G");
    assert_eq!(nix["slice"], serde_json::json!({ "MemoryHigh": "12G", "MemoryMax": "14G", "CPUQuota": "600%" }));
    // os_cores 2 and workload_cores 2 with 2 threads each: cores 0-1 and 2-3 with siblings.
    assert_eq!((rust["machine"]["os_cores"].as_u64(), rust["machine"]["workload_cores"].as_u64()), (Some(2), Some(2)));
    assert_eq!(nix["split"], serde_json::json!({ "os": "0-1,4-5", "workload": "2-3,6-7" }));
}

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn accepted(file: &Path, config_home: &Path) -> Value {
    let out = ballast(&["--profile", file.to_str().unwrap(), "profile", "--json"], config_home);
    assert!(
        out.status.success(),
        "ballast refused the file Nix wrote:\n{}\n--- {}:\n{}",
        String::from_utf8_lossy(&out.stderr),
        file.display(),
        std::fs::read_to_string(file).unwrap()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn app<'a>(profile: &'a Value, id: &str) -> &'a Value {
    profile["app"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap_or_else(|| panic!("app {id}"))
}

/// home-manager's options, as nix/lib/config.nix turns them into TOML, and ballast's reading.
#[test]
fn generated_config_is_accepted_by_ballast() {
    let dir = tempfile::tempdir().unwrap();
    let text = eval_string(&format!(
        r#"{lib}.config.text {{
          settings = {{
            budget = {{ idle_total = "3G"; near_fraction = 0.85; }};
            notify.pressure_some_avg10 = 12.0;
            category.browser.workload = "5G";
            app.discord.memory_max = "2.5G";
            app.element = {{
              name = "Element"; exec = "element-desktop"; toolkit = "electron"; category = "electron";
              v8_heap_mb = 512; memory_high = "1G"; memory_max = "1.5G"; cpu_quota = "100%";
            }};
            tune.baloo.exclude_folders = [ "$HOME/My \"Stuff\"/" "/nix/store/" ];
          }};
          execs.signal = "/opt/signal desktop/bin/signal-desktop";
        }}"#,
        lib = lib()
    ));
    let profile = accepted(&write_config(dir.path(), &text), dir.path());
    assert_eq!(profile["budget"]["idle_total"], "3G");
    assert_eq!(profile["budget"]["near_fraction"], 0.85);
    assert_eq!(profile["budget"]["workload_total"], "10G", "the rest stays the default's");
    assert_eq!(profile["notify"]["pressure_some_avg10"], 12.0);
    let browser = profile["category"].as_array().unwrap().iter().find(|c| c["id"] == "browser").unwrap();
    assert_eq!(browser["workload"], "5G");
    assert!(!browser["units"].as_array().unwrap().is_empty(), "match rules kept");
    assert_eq!(app(&profile, "discord")["memory_max"], "2.5G");
    assert_eq!(app(&profile, "discord")["exec"], "Discord");
    assert_eq!(app(&profile, "element")["v8_heap_mb"], 512);
    assert_eq!(app(&profile, "signal")["exec"], "/opt/signal desktop/bin/signal-desktop");
    assert_eq!(profile["tune"]["baloo"]["exclude_folders"][0], "$HOME/My \"Stuff\"/");
}

/// A hardware profile for another machine is written whole; ballast reads it back equal.
#[test]
fn another_machines_profile_is_accepted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let expr = format!(
        r#"let l = {lib}; p = l.extendProfile l.reference {{ ballast.machine = {{ name = "bigger"; ram = "32G"; workload_cores = 6; }}; ballast.zram.fraction = 0.5; }}; in"#,
        lib = lib()
    );
    let text =
        eval_string(&format!("{expr} l.config.text {{ profile = p.ballast; reference = l.reference.ballast; }}"));
    let profile = accepted(&write_config(dir.path(), &text), dir.path());
    assert_eq!(profile["machine"]["name"], "bigger");
    assert_eq!(profile["machine"]["ram"], "32G");
    assert_eq!(profile["zram"]["fraction"], 0.5);
    let mut found = Vec::new();
    let mut stripped = profile.clone();
    for category in stripped["category"].as_array_mut().unwrap() {
        category.as_object_mut().unwrap().retain(|k, _| k != "units" && k != "exes");
    }
    differences("profile", &eval_json(&format!("{expr} p.ballast")), &stripped, &mut found);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The home-manager module end to end (under the stand-in module system): options -> file.
#[test]
fn home_manager_config_file_is_accepted_by_ballast() {
    let dir = tempfile::tempdir().unwrap();
    let text = eval_string(&format!(
        r#"let m = import {support}; in (m.evalModules {{ modules = [ {module} {{
          programs.ballast = {{
            enable = true;
            checkConfig = false;
            settings.app.zoom.cpu_quota = "300%";
            electronApps = {{ enable = true; apps = [ "discord" "codium" ]; }};
          }};
        }} ]; }}).config.programs.ballast.configFile.text"#,
        support = nix_path("nix/tests/support/modules.nix"),
        module = nix_path("nix/modules/home/ballast.nix")
    ));
    let profile = accepted(&write_config(dir.path(), &text), dir.path());
    assert_eq!(app(&profile, "zoom")["cpu_quota"], "300%");
    assert!(app(&profile, "discord")["exec"].as_str().unwrap().ends_with("-discord/bin/Discord"));
    assert!(app(&profile, "codium")["exec"].as_str().unwrap().ends_with("-vscodium/bin/codium"));
}

#[test]
fn agent_unit_is_what_autostart_writes() {
    let exe = "/nix/store/00000000000000000000000000000000-ballast-0.1.0/bin/ballast";
    let rust = ballast::agent::autostart::unit_text(Path::new(exe));
    let nix = eval_string(&format!("{}.systemd.agentUnitText \"{exe}\"", lib()));
    assert_eq!(nix, rust, "nix/lib/systemd.nix agentUnitText vs src/agent/autostart.rs unit_text");

    // home-manager's form: the same sections, keys and values.
    let attrs = eval_json(&format!("{}.systemd.agentUnit \"{exe}\"", lib()));
    let mut parsed = serde_json::Map::new();
    let mut section = String::new();
    for line in rust.lines().filter(|l| !l.is_empty()) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            parsed.insert(section.clone(), Value::Object(Default::default()));
        } else {
            let (key, value) = line.split_once('=').unwrap();
            // [Install] keys are lists of units, as home-manager maps over them.
            let value = match key {
                "WantedBy" | "RequiredBy" | "UpheldBy" | "Also" => {
                    Value::from(value.split_whitespace().collect::<Vec<_>>())
                }
                _ => Value::String(value.to_owned()),
            };
            parsed[&section].as_object_mut().unwrap().insert(key.to_owned(), value);
        }
    }
    assert_eq!(attrs, Value::Object(parsed));
    assert!(!rust.contains("OOMScoreAdjust"));
}

#[test]
fn desktop_entries_are_what_autostart_writes() {
    let exe = "/nix/store/00000000000000000000000000000000-ballast-0.1.0/bin/ballast";
    for (function, autostart) in [("desktopEntryText", false), ("autostartEntryText", true)] {
        let rust = ballast::agent::autostart::desktop_entry(Path::new(exe), autostart);
        let nix = eval_string(&format!("{}.systemd.{function} \"{exe}\"", lib()));
        assert_eq!(nix, rust, "nix/lib/systemd.nix {function} vs src/agent/autostart.rs desktop_entry");
    }
}

/// The wrapper script as the electronApps module writes it, with a stand-in ballast that
/// records its arguments: they arrive one by one, untouched, after `launch ID --foreground --`.
#[test]
fn electron_wrapper_passes_arguments_to_ballast_launch() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("argv");
    let fake = dir.path().join("fake ballast");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let plan = eval_json(&format!(
        r#"let l = {lib}; in l.apps.plan {{ catalog = l.reference.ballast.app; ballast = "{fake}"; wrapperDir = "/w"; choices.discord.exe = "/nix/store/x-discord/bin/Discord"; }}"#,
        lib = lib(),
        fake = fake.display()
    ));
    assert_eq!(plan["discord"]["name"], "Discord");
    let wrapper = dir.path().join("Discord");
    std::fs::write(&wrapper, format!("#!/bin/sh\n{}", plan["discord"]["body"].as_str().unwrap())).unwrap();

    let args = ["a b", "--flag", "$HOME", "'quoted'", "", "x\ny"];
    // Through sh, not exec'd: a test thread forking while the file was open for writing
    // makes execve fail with ETXTBSY (seen once in a full run).
    let status = std::process::Command::new("/bin/sh").arg(&wrapper).args(args).status().unwrap();
    assert!(status.success());
    let recorded = std::fs::read_to_string(&record).unwrap();
    let mut expected = vec!["launch", "discord", "--foreground", "--"];
    expected.extend(args);
    assert_eq!(recorded, expected.iter().map(|a| format!("{a}\n")).collect::<String>());
}

/// ballast takes the wrapper's command line (clap accepts `launch ID --foreground -- ARGS`,
/// then reports the missing binary, not a usage error), and honours the pinned binary.
#[test]
fn ballast_accepts_the_wrapper_command_line_and_the_pin() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["launch", "discord", "--foreground", "--", "--some-flag", "x y"])
        .env_remove("BALLAST_PROFILE")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("\"Discord\" is not on PATH"), "{err}");

    let text = eval_string(&format!("{}.config.text {{ execs.discord = \"/bin/sh\"; }}", lib()));
    let file = write_config(dir.path(), &text);
    let apps = ballast_json(&["--profile", file.to_str().unwrap(), "apps", "--json"], dir.path());
    let discord = apps.as_array().unwrap().iter().find(|a| a["id"] == "discord").unwrap();
    assert_eq!((&discord["binary"], &discord["installed"]), (&Value::from("/bin/sh"), &Value::from(true)));
}

/// The home module evaluated with the stand-in home-manager, `extra` added to the
/// configuration, reading `what` of its config: the evaluation's stderr when it fails.
fn home_manager_error(extra: &str, what: &str) -> String {
    let expr = format!(
        r#"let m = import {support}; in builtins.deepSeq ((m.evalHome {{ modules = [ {module} {{ programs.ballast = {{ enable = true; checkConfig = false; }}; }} {{ {extra} }} ]; }}).config.{what}) true"#,
        support = nix_path("nix/tests/support/modules.nix"),
        module = nix_path("nix/modules/home/ballast.nix"),
    );
    let out = nix_command("nix-instantiate")
        .args(["--eval", "--strict", "--store", "dummy://", "-E", &expr])
        .output()
        .expect("nix-instantiate runs");
    assert!(!out.status.success(), "{extra} evaluated");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The stand-in home-manager fails where home-manager does: the unit ballast shipped before
/// (WantedBy a string) breaks every switch with home-manager's own message.
#[test]
fn stand_in_home_manager_rejects_a_string_wanted_by() {
    // `m` is the stand-in module system, in scope where `extra` lands.
    let error = home_manager_error(
        r#"systemd.user.services.ballast.Install.WantedBy = m.lib.mkForce "plasma-workspace.target";"#,
        "xdg.configFile",
    );
    assert!(error.contains("value is a string while a list was expected"), "{error}");
    let error = home_manager_error(
        r#"systemd.user.services.ballast.Service.ExecStart = m.lib.mkForce 5;"#,
        "systemd.user.services",
    );
    assert!(error.contains("systemd.user.services.ballast.Service.ExecStart' is not of type"), "{error}");
}

/// A wrong value in settings names its option and what a valid one looks like.
#[test]
fn a_wrong_app_limit_names_its_option() {
    let apps = "programs.ballast.electronApps = { enable = true; apps = [ \"discord\" ]; };";
    let error =
        home_manager_error(&format!("programs.ballast.settings.app.discord.cpu_quota = 150; {apps}"), "home.packages");
    assert!(
        error.contains("programs.ballast.settings.app.discord.cpu_quota = 150: expected a CPU quota like \"150%\""),
        "{error}"
    );
    let error = home_manager_error(
        &format!("programs.ballast.settings.app.discord.memory_max = \"5 gigs\"; {apps}"),
        "home.packages",
    );
    assert!(
        error.contains("programs.ballast.settings.app.discord.memory_max = \"5 gigs\": expected a size like \"512M\""),
        "{error}"
    );
}
