//! Every Nix file parses (nix-instantiate), is formatted (nixpkgs-fmt --check) and has no
//! dead code (deadnix --fail). The two linters exit 0 on a file that does not parse, hence
//! the parse check first. nixpkgs cannot be fetched here; tests/nix_lib.rs and
//! tests/nix_flake.rs evaluate what can be evaluated without it.

use testbed::harness::nix as common;

use common::{nix_command, root, tool};
use std::path::{Path, PathBuf};
use std::process::Command;

fn nix_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" || name == "result" {
            continue;
        }
        if path.is_dir() {
            nix_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "nix") {
            found.push(path);
        }
    }
}

fn all_nix_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    nix_files(root(), &mut files);
    files.sort();
    for expected in [
        "flake.nix",
        "nix/package.nix",
        "nix/lib/default.nix",
        "nix/profiles/shoshin.nix",
        "nix/modules/nixos/default.nix",
        "nix/modules/home/ballast.nix",
        "nix/tests/default.nix",
    ] {
        assert!(files.iter().any(|f| f.ends_with(expected)), "{expected} is found");
    }
    files
}

#[test]
fn every_nix_file_parses() {
    for file in all_nix_files() {
        let out = nix_command("nix-instantiate").args(["--parse", "--store", "dummy://"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_nix_file_is_formatted() {
    let fmt = tool("nixpkgs-fmt", "cargo install --locked nixpkgs-fmt");
    let out = Command::new(fmt).arg("--check").args(all_nix_files()).output().unwrap();
    assert!(
        out.status.success(),
        "nixpkgs-fmt --check: run `nixpkgs-fmt .` (or `nix fmt`) on these:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_nix_file_has_dead_code() {
    let deadnix = tool("deadnix", "cargo install --locked deadnix");
    let out = Command::new(deadnix).args(["--fail", "--output-format", "json"]).args(all_nix_files()).output().unwrap();
    assert!(
        out.status.success(),
        "deadnix --fail found unused bindings (run `deadnix` for a readable report):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
