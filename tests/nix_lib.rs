//! The Nix library's tests (nix/tests/*.nix), evaluated by nix-instantiate --eval --strict:
//! profile -> flags, zram, slices, unit text, wrappers, the config writer, the overlays, and
//! the modules under the stand-in module system (nix/tests/support/modules.nix).

use testbed::harness::nix as common;

use common::{eval_json, nix_path, root};

fn suites() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("nix/tests"))
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|n| n.strip_suffix(".nix")).map(str::to_owned))
        .filter(|name| name != "default" && name != "runner")
        .collect();
    names.sort();
    names
}

#[test]
fn every_nix_test_passes() {
    let mut report = Vec::new();
    let mut total = 0;
    for suite in suites() {
        let result = eval_json(&format!(
            "(import {}).run (import {})",
            nix_path("nix/tests/runner.nix"),
            nix_path(&format!("nix/tests/{suite}.nix"))
        ));
        let count = result["total"].as_u64().unwrap();
        assert!(count > 0, "nix/tests/{suite}.nix has no tests");
        total += count;
        for failure in result["failures"].as_array().unwrap() {
            report.push(format!(
                "nix/tests/{suite}.nix {}:\n  expected {}\n  got      {}",
                failure["name"].as_str().unwrap(),
                failure["expected"],
                failure["actual"]
            ));
        }
    }
    assert!(report.is_empty(), "{} of {total} Nix tests failed:\n{}", report.len(), report.join("\n"));
    assert!(total >= 100, "only {total} Nix tests");
}

/// nix/tests/default.nix (the flake's nix-lib check) runs the same suites as this file.
#[test]
fn the_flake_check_runs_every_suite() {
    let listed: Vec<String> =
        serde_json::from_value(eval_json(&format!("builtins.attrNames (import {})", nix_path("nix/tests")))).unwrap();
    assert_eq!(listed, suites());
}
