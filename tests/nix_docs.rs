//! The Nix examples in docs/nix.md (and README.md) are real: every ```nix block parses, and
//! each block that starts with `# example: nixos` or `# example: home-manager` is evaluated
//! as a module next to the flake's modules (stand-in module system, stand-in inputs), with no
//! option that ballast's modules do not declare and no failed assertion.

use testbed::harness::nix as common;

use common::{eval_json, flake_outputs, nix_command, nix_path, root};

fn nix_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```nix") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

fn documents() -> Vec<(&'static str, Vec<String>)> {
    ["docs/nix.md", "README.md"]
        .into_iter()
        .map(|name| (name, nix_blocks(&std::fs::read_to_string(root().join(name)).unwrap_or_default())))
        .collect()
}

#[test]
fn every_nix_block_parses() {
    let dir = tempfile::tempdir().unwrap();
    for (document, blocks) in documents() {
        for (index, block) in blocks.iter().enumerate() {
            // Snippets may name what a configuration has in scope.
            let file = dir.path().join(format!("block{index}.nix"));
            std::fs::write(
                &file,
                format!("let ballast = null; inputs = null; pkgs = null; lib = null; config = null; in\n{block}"),
            )
            .unwrap();
            let out =
                nix_command("nix-instantiate").args(["--parse", "--store", "dummy://"]).arg(&file).output().unwrap();
            assert!(
                out.status.success(),
                "{document}, nix block {}:\n{block}\n{}",
                index + 1,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn module_examples_use_real_options() {
    let dir = tempfile::tempdir().unwrap();
    let mut kinds = Vec::new();
    for (document, blocks) in documents() {
        for (index, block) in blocks.iter().enumerate() {
            let kind = match block.lines().next() {
                Some("# example: nixos") => "nixos",
                Some("# example: home-manager") => "home-manager",
                _ => continue,
            };
            let file = dir.path().join(format!("example{index}.nix"));
            std::fs::write(&file, block).unwrap();
            let result = eval_json(&format!(
                r#"let
                  m = import {support};
                  e = m.{eval} {{ modules = [ (import {file}) ]; specialArgs.inputs.ballast = {flake}; }};
                  home = e.config.programs.ballast or {{ }};
                in {{
                  inherit (e) undeclared failedAssertions;
                  config = builtins.deepSeq (m.prune e.config) true;
                  wantedBy = if home.enable or false then e.config.systemd.user.services.ballast.Install.WantedBy else null;
                  execs = home.appExecs or {{ }};
                }}"#,
                support = nix_path("nix/tests/support/modules.nix"),
                // home-manager examples run with the home-manager options' real types.
                eval = if kind == "home-manager" { "evalHome" } else { "evalModules" },
                file = common::nix_abs(&file),
                flake = flake_outputs(),
            ));
            assert_eq!(
                result["undeclared"],
                serde_json::json!([]),
                "{document}, example {}: options that do not exist:\n{block}",
                index + 1
            );
            assert_eq!(
                result["failedAssertions"],
                serde_json::json!([]),
                "{document}, example {}:\n{block}",
                index + 1
            );
            if kind == "home-manager" {
                // home-manager maps over WantedBy: a list, and the target that does not cycle.
                assert_eq!(
                    result["wantedBy"],
                    serde_json::json!(["graphical-session.target"]),
                    "{document}, example {}",
                    index + 1
                );
            }
            if block.contains("pkgs.discord-ptb") {
                // The pin is the package's own binary (meta.mainProgram), not the catalog's name.
                let exec = result["execs"]["discord"].as_str().unwrap_or_default();
                assert!(
                    exec.ends_with("-discord-ptb/bin/DiscordPTB"),
                    "{document}, example {}: discord pinned to {exec:?}",
                    index + 1
                );
            }
            if document == "docs/nix.md" {
                kinds.push(kind);
            }
        }
    }
    assert!(
        kinds.contains(&"nixos") && kinds.contains(&"home-manager"),
        "docs/nix.md has a NixOS and a home-manager example"
    );
}

/// The settings `ballast suggest --apply` prints when the profile file is Nix-managed are
/// taken by the home-manager module as they are: pasted into a configuration, they declare
/// nothing unknown and land in the config file it writes.
#[test]
fn suggested_home_manager_settings_evaluate_in_the_module() {
    let lines = ballast::usage::apply::home_manager_settings(&[
        ("discord", 1536 << 20, 2560 << 20),
        ("claude-desktop", 1 << 30, 2 << 30),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suggested.nix");
    std::fs::write(
        &file,
        format!(
            "{{ inputs, ... }}:\n{{\n  imports = [ inputs.ballast.homeManagerModules.default ];\n  programs.ballast.enable = true;\n  programs.ballast.checkConfig = false;\n  {lines}}}\n"
        ),
    )
    .unwrap();
    let result = eval_json(&format!(
        r#"let
          m = import {support};
          e = m.evalHome {{ modules = [ (import {file}) ]; specialArgs.inputs.ballast = {flake}; }};
        in {{
          inherit (e) undeclared;
          toml = e.config.xdg.configFile."ballast/config.toml".source.text;
        }}"#,
        support = nix_path("nix/tests/support/modules.nix"),
        file = common::nix_abs(&file),
        flake = flake_outputs(),
    ));
    assert_eq!(result["undeclared"], serde_json::json!([]), "{lines}");
    let toml = result["toml"].as_str().unwrap_or_default();
    for entry in [
        "id = \"discord\"\nmemory_high = \"1.5G\"\nmemory_max = \"2.5G\"",
        "id = \"claude-desktop\"\nmemory_high = \"1G\"\nmemory_max = \"2G\"",
    ] {
        assert!(toml.contains(entry), "{entry:?} not in the config file home-manager writes:\n{toml}");
    }
}
