//! Helpers for the tests/nix_*.rs files: Debian's Nix 2.8 (nix-bin) evaluating offline, with
//! no daemon, sandbox, build users or substituters, as any user.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root (the ballast package).
pub fn root() -> &'static Path {
    crate::harness::repository()
}

/// nix.conf for every Nix command here (FACTS.md, "Nix").
pub const NIX_CONFIG: &str = "build-users-group =\nsandbox = false\nexperimental-features = nix-command flakes\nsubstituters =\nwarn-dirty = false\n";

/// A program on PATH or in cargo's bin directory; a clear failure when it is missing.
pub fn tool(name: &str, install: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|dir| dir.join("bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is missing: {install} (`make test` installs it)"))
}

pub fn nix_tool(name: &str) -> PathBuf {
    tool(name, "install Debian's nix-bin (apt-get install nix-bin)")
}

/// A Nix command with this test suite's settings.
pub fn nix_command(name: &str) -> Command {
    let mut command = Command::new(nix_tool(name));
    command.env("NIX_CONFIG", NIX_CONFIG).env_remove("NIX_PATH").current_dir(root());
    command
}

/// A Nix string literal holding `text`.
pub fn nix_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"").replace("${", "\\${"))
}

/// A Nix path expression for an absolute path, whatever it holds.
pub fn nix_abs(path: &Path) -> String {
    format!("(/. + {})", nix_string(path.to_str().expect("a UTF-8 path")))
}

/// A Nix path expression for a file of this repository.
pub fn nix_path(relative: &str) -> String {
    nix_abs(&root().join(relative))
}

/// This flake's outputs, with the stand-in nixpkgs and home-manager (nix/tests/stubs) as
/// inputs, as a Nix expression (no flake machinery: nix-instantiate evaluates it).
pub fn flake_outputs() -> String {
    format!(
        r#"(let
          checkout = {{ outPath = {checkout}; }};
          stub = name: (import ({stubs} + "/${{name}}.nix")).outputs {{ self = checkout; }};
          self = (import {flake}).outputs {{ inherit self; nixpkgs = stub "nixpkgs"; home-manager = stub "home-manager"; }} // checkout;
        in self)"#,
        checkout = nix_string(root().to_str().expect("a UTF-8 checkout path")),
        stubs = nix_path("nix/tests/stubs"),
        flake = nix_path("flake.nix"),
    )
}

fn expect_success(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `nix-instantiate --eval --strict --json` of a builtins-only expression.
pub fn eval_json(expr: &str) -> serde_json::Value {
    let out = nix_command("nix-instantiate")
        .args(["--eval", "--strict", "--json", "--store", "dummy://", "-E", expr])
        .output()
        .expect("nix-instantiate runs");
    let out = expect_success(&format!("nix-instantiate --eval -E '{expr}'"), out);
    serde_json::from_slice(&out.stdout).expect("nix-instantiate prints JSON")
}

pub fn eval_string(expr: &str) -> String {
    match eval_json(expr) {
        serde_json::Value::String(text) => text,
        other => panic!("{expr} gave {other}, not a string"),
    }
}

/// ballast itself, with no user config and no BALLAST_PROFILE from the environment.
pub fn ballast(args: &[&str], config_home: &Path) -> Output {
    Command::new(crate::harness::ballast_binary())
        .args(args)
        .env_remove("BALLAST_PROFILE")
        .env("XDG_CONFIG_HOME", config_home)
        .output()
        .expect("ballast runs")
}

pub fn ballast_json(args: &[&str], config_home: &Path) -> serde_json::Value {
    let out = expect_success(&format!("ballast {}", args.join(" ")), ballast(args, config_home));
    serde_json::from_slice(&out.stdout).expect("ballast prints JSON")
}

/// Where two JSON values differ, path by path; numbers compare by value (Nix prints 10.0
/// as 10).
pub fn differences(path: &str, left: &serde_json::Value, right: &serde_json::Value, found: &mut Vec<String>) {
    use serde_json::Value;
    match (left, right) {
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let (x, y) = (a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null));
                differences(&format!("{path}.{key}"), x, y, found);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{index}]"), x, y, found);
            }
        }
        (a, b) if a == b => {}
        (a, b) => found.push(format!("{path}: {a} vs {b}")),
    }
}
