//! The cascade (each `$XDG_CONFIG_DIRS` file below the user's) read by [`Cascade`] and by
//! kreadconfig5 from the same files: the effective value of every key, and which file locks
//! what. Cases under tests/fixtures/kconfig/cascade/<case>/: `home/` is `$XDG_CONFIG_HOME`,
//! the `xdg*` directories the `$XDG_CONFIG_DIRS` entries (the order is in `CASES`).

use testbed::harness::kconfig_corpus as kconfig_support;

use std::path::Path;
use std::process::Command;

use kconfig_support::{fixture_dir, generation, tool};

use ballast::kconfig::{Cascade, Document, Lock, LockLevel};

/// A lock expected against the user's file: (group, key, lock).
type ExpectedLock = (&'static str, &'static str, Option<Lock>);

/// Case, config file, `$XDG_CONFIG_DIRS` entries (most important first, as the spec orders
/// them), and the locks expected against the user's file.
const CASES: &[(&str, &str, &[&str], &[ExpectedLock])] = &[
    (
        "file-lock",
        "kwinrc",
        &["xdg"],
        &[
            ("Compositing", "Backend", Some(Lock { file: 0, level: LockLevel::File })),
            ("Plugins", "blurEnabled", Some(Lock { file: 0, level: LockLevel::File })),
        ],
    ),
    (
        "group-lock",
        "kwinrc",
        &["xdg"],
        &[
            ("Compositing", "LatencyPolicy", Some(Lock { file: 0, level: LockLevel::Group })),
            ("Plugins", "blurEnabled", None),
        ],
    ),
    (
        "key-lock",
        "kdeglobals",
        &["xdg"],
        &[
            ("KDE", "AnimationDurationFactor", Some(Lock { file: 0, level: LockLevel::Key })),
            ("KDE", "SingleClick", None),
        ],
    ),
    ("two-dirs", "kwinrc", &["xdg-site", "xdg-vendor"], &[("Compositing", "Backend", None)]),
    ("deleted", "baloofilerc", &["xdg"], &[("General", "only basic indexing", None)]),
];

const MISSING: &str = "\u{1}missing\u{1}";

/// What kreadconfig5 (kreadconfig6 with BALLAST_KCONFIG_PEER=6) reads in the case's cascade.
fn kreadconfig(case: &Path, dirs: &[&str], file: &str, group: &str, key: &str) -> String {
    let xdg: Vec<String> = dirs.iter().map(|d| case.join(d).display().to_string()).collect();
    let out = Command::new(tool("kreadconfig"))
        .env_clear()
        .env("HOME", case.join("home"))
        .env("XDG_CONFIG_HOME", case.join("home"))
        .env("XDG_CONFIG_DIRS", xdg.join(":"))
        .env("LC_ALL", "C")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["--file", file, "--group", group, "--key", key, "--default", MISSING])
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e} (Debian: libkf5config-bin)", tool("kreadconfig")));
    String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned()
}

#[test]
fn the_cascade_reads_as_kreadconfig5_reads_it() {
    let fixtures = fixture_dir().join("cascade");
    let copy = tempfile::tempdir().unwrap();
    for (case, file, dirs, locks) in CASES {
        let dir = copy.path().join(case);
        // A copy: kreadconfig5 may create files in its HOME.
        for sub in dirs.iter().chain(&["home"]) {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            let source = fixtures.join(case).join(sub).join(file);
            if source.exists() {
                std::fs::copy(&source, dir.join(sub).join(file)).unwrap();
            }
        }
        let read =
            |sub: &str| Document::parse_as(&std::fs::read(dir.join(sub).join(file)).unwrap_or_default(), generation());
        // Least important first: the last XDG_CONFIG_DIRS entry, ..., the first, the user's.
        let documents: Vec<Document> = dirs.iter().rev().map(|d| read(d)).chain([read("home")]).collect();
        let cascade = Cascade::new(documents.iter().collect());
        let home = dir.join("home").display().to_string();
        let env = |name: &str| (name == "HOME").then(|| home.clone());
        for document in &documents {
            for group in document.groups() {
                let group = String::from_utf8_lossy(group).into_owned();
                for key in document.keys(&group) {
                    let key = String::from_utf8_lossy(key).into_owned();
                    let ours = cascade
                        .get(&group, &key)
                        .map_or(MISSING.to_owned(), |e| String::from_utf8_lossy(&e.entry.expanded(env)).into_owned());
                    assert_eq!(ours, kreadconfig(&dir, dirs, file, &group, &key), "{case}: [{group}] {key}");
                }
            }
        }
        for (group, key, lock) in locks.iter() {
            assert_eq!(cascade.lock(group, key), *lock, "{case}: lock of [{group}] {key}");
        }
    }
}
