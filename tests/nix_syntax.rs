//! Every Nix file parses (Debian's nix-instantiate; nixpkgs itself cannot be fetched here).

use std::path::{Path, PathBuf};
use std::process::Command;

fn nix_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            nix_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "nix") {
            found.push(path);
        }
    }
}

#[test]
fn every_nix_file_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    nix_files(root, &mut files);
    assert!(files.iter().any(|f| f.ends_with("flake.nix")), "the flake is found");
    for file in files {
        let out = match Command::new("nix-instantiate").arg("--parse").arg(&file).output() {
            Ok(out) => out,
            Err(_) => panic!("nix-instantiate is missing: install nix-bin (make test does)"),
        };
        assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    }
}
