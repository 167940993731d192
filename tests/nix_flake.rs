//! `nix flake show` and `nix flake check --no-build` on this flake, offline: nixpkgs and
//! home-manager are replaced (--override-input) by the stand-ins of nix/tests/stubs/, whose
//! packages are never built and whose nixosSystem/homeManagerConfiguration are the stand-in
//! module system. So this checks what Nix checks about a flake (output names and types,
//! modules, overlays, apps, derivations instantiate) and evaluates nix/checks.nix; it does
//! not check nixpkgs' real options or build anything. `nix flake check` with the real
//! inputs does that where they can be fetched.

use testbed::harness::nix as common;

use common::{nix_command, root};
use std::path::Path;

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

/// The flake (without target/ and .git) and the two stand-in input flakes, each beside a
/// copy of nix/ (the stand-ins use nix/tests/support/modules.nix).
fn assemble(dir: &Path) -> Vec<String> {
    let source = dir.join("source");
    for part in ["flake.nix", "Cargo.toml", "Cargo.lock", "nix", "icons", "data"] {
        copy(&root().join(part), &source.join(part));
    }
    let mut overrides = Vec::new();
    for input in ["nixpkgs", "home-manager"] {
        let stand_in = dir.join(input);
        copy(&root().join("nix"), &stand_in.join("nix"));
        copy(&root().join(format!("nix/tests/stubs/{input}.nix")), &stand_in.join("flake.nix"));
        overrides.extend(["--override-input".to_owned(), input.to_owned(), format!("path:{}", stand_in.display())]);
    }
    overrides.push(format!("path:{}", source.display()));
    overrides
}

fn nix_flake(dir: &Path, args: &[&str], flake: &[String]) -> std::process::Output {
    // A store of its own under the temporary directory: works without root and leaves
    // /nix/store alone.
    let store = dir.join("store");
    nix_command("nix")
        .args(["flake"])
        .args(args)
        .args(["--no-write-lock-file", "--store", store.to_str().unwrap()])
        .args(flake)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("nix runs")
}

#[test]
fn flake_outputs_have_the_right_names_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let flake = assemble(dir.path());
    let out = nix_flake(dir.path(), &["show", "--json"], &flake);
    assert!(out.status.success(), "nix flake show:\n{}", String::from_utf8_lossy(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let system = "x86_64-linux";
    for (path, kind) in [
        (vec!["packages", system, "default"], "derivation"),
        (vec!["packages", system, "ballast"], "derivation"),
        (vec!["apps", system, "default"], "app"),
        (vec!["overlays", "default"], "nixpkgs-overlay"),
        (vec!["overlays", "systemLibs"], "nixpkgs-overlay"),
        (vec!["nixosModules", "default"], "nixos-module"),
        (vec!["nixosModules", "memory"], "nixos-module"),
        (vec!["nixosModules", "cgroups"], "nixos-module"),
        (vec!["nixosModules", "systemLibs"], "nixos-module"),
        (vec!["nixosModules", "vaapi"], "nixos-module"),
        (vec!["devShells", system, "default"], "derivation"),
        (vec!["formatter", system], "derivation"),
        (vec!["checks", system, "package"], "derivation"),
        (vec!["checks", system, "nix-lib"], "derivation"),
        (vec!["checks", system, "nixos-modules"], "derivation"),
        (vec!["checks", system, "home-modules"], "derivation"),
        (vec!["checks", system, "config"], "derivation"),
        (vec!["checks", system, "profile"], "derivation"),
        (vec!["checks", system, "lint"], "derivation"),
        // outputs Nix has no type for
        (vec!["homeManagerModules"], "unknown"),
        (vec!["lib"], "unknown"),
    ] {
        let node = path.iter().fold(&shown, |node, key| &node[key]);
        assert_eq!(node["type"], kind, "{} in {shown}", path.join("."));
    }
    assert_eq!(shown["packages"][system]["ballast"]["name"], "ballast-0.1.0");
}

#[test]
fn flake_check_passes_with_stand_in_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let flake = assemble(dir.path());
    let out = nix_flake(dir.path(), &["check", "--no-build"], &flake);
    assert!(out.status.success(), "nix flake check --no-build:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// The flake's outputs as a user's configuration imports them: several module outputs at
/// once (each file is imported by path, so its options are declared once), and `lib`.
/// Evaluated with nix-instantiate on flake.nix's outputs function and the stand-in inputs.
#[test]
fn flake_modules_can_be_imported_together() {
    let expr = format!(
        r#"let
          self = {flake_outputs};
          m = import {support};
          nixos = m.evalModules {{ modules = [ self.nixosModules.default self.nixosModules.memory self.nixosModules.vaapi {{ ballast.memory.enable = true; }} ]; }};
          home = m.evalModules {{ modules = [ self.homeManagerModules.default self.homeManagerModules.electronApps self.homeManagerModules.systemLibs {{ programs.ballast.enable = true; }} ]; }};
        in [ nixos.config.zramSwap.memoryPercent (map (p: p.name) home.config.home.packages) (self.lib.flags.cflags self.lib.profiles.shoshin.cpu) ]"#,
        flake_outputs = common::flake_outputs(),
        support = common::nix_path("nix/tests/support/modules.nix"),
    );
    assert_eq!(common::eval_json(&expr), serde_json::json!([75, ["ballast"], "-march=skylake -mtune=skylake -O3"]));
}
