//! Samplers and budget on captured and hand-made trees (tests/fixtures/README.md
//! documents every number asserted here).

use ballast::budget::{Attribution, Budget, LoadState, Report, ZramState};
use ballast::profile::Profile;
use ballast::sample::{CgroupMode, Sample, Sampler};
use std::path::PathBuf;

fn root(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn sample(name: &str) -> Sample {
    Sampler::with_root(root(name)).sample().unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn report(sample: &Sample) -> Report {
    Budget::new(Profile::embedded()).evaluate(sample)
}

fn used(report: &Report, id: &str) -> u64 {
    report.categories.iter().find(|c| c.id == id).unwrap().used
}

const USER: &str = "user.slice/user-1000.slice/user@1000.service";

#[test]
fn plasma_v2_units_are_the_leaves() {
    let s = sample("plasma-v2");
    assert_eq!(s.cgroup, CgroupMode::V2);
    assert!(s.processes.is_empty(), "units answer on cgroup v2: no process walk");
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    assert_eq!(s.units.len(), 25, "{:#?}", s.units.iter().map(|u| &u.path).collect::<Vec<_>>());
    assert!(s.units.iter().all(|u| !u.path.ends_with(".slice") && !u.path.ends_with("user@1000.service")));
    let baloo = s.units.iter().find(|u| u.name() == "kde-baloo.service").unwrap();
    assert_eq!((baloo.memory, baloo.cache), (62705664 - 41943040, 41943040), "page cache is not the unit's use");
    let discord = s.units.iter().find(|u| u.name() == "app-ballast-discord-3f9a1c.scope").unwrap();
    assert_eq!((discord.memory_high, discord.memory_max), (Some(2147483648), Some(3221225472)));
    assert_eq!(discord.events.unwrap().high, 1843);
    assert!(discord.pressure.is_some(), "app units carry their memory.pressure");
    let firefox = s.units.iter().find(|u| u.name() == "app-firefox-4f2e1a9b.scope").unwrap();
    assert_eq!((firefox.memory_high, firefox.memory_max), (None, None));
    let leaves: u64 = s.units.iter().map(|u| u.memory + u.cache).sum();
    assert_eq!(leaves, 5734240256);
}

#[test]
fn plasma_v2_budget_under_workload() {
    let s = sample("plasma-v2");
    let r = report(&s);
    assert_eq!(r.state, LoadState::Workload);
    assert_eq!(r.memory.total, 16303736 * 1024);
    assert_eq!(r.memory.used, (16303736 - 8033228) * 1024);
    // KWin, plasmashell, kded5, ksmserver, baloorunner, Baloo without its page cache,
    // and the display manager's unit with Xorg.
    assert_eq!(used(&r, "plasma"), 190107648 + 369831936 + 66584576 + 18034688 + 12165120 + 20762624 + 60710912);
    assert_eq!(used(&r, "audio"), 13737984 + 19292160 + 14573568);
    let system_slice = 20131840 + 4927488 + 17092608 + 8495104 + 9854976 + 5451776;
    assert_eq!(used(&r, "services"), system_slice + 14262272 + 12374016 + 15622144 + 6606848);
    assert_eq!(used(&r, "electron"), 1123340288 + 459169792);
    assert_eq!(used(&r, "browser"), 1827459072);
    assert_eq!(used(&r, "devtools"), 1324875776 + 56832000);
    let electron = r.categories.iter().find(|c| c.id == "electron").unwrap();
    let apps: Vec<(&str, u64)> = electron.apps.iter().map(|a| (a.id.as_str(), a.used)).collect();
    assert_eq!(apps, [("discord", 1123340288), ("signal", 459169792)]);
    assert_eq!(r.categories.iter().find(|c| c.id == "devtools").unwrap().apps[0].id, "codium");

    assert_eq!(r.zram.state, ZramState::Active);
    assert_eq!(r.zram.swap_priority, Some(100));
    assert!((r.zram.ratio.unwrap() - 1228800000.0 / 301463127.0).abs() < 1e-9);
    assert_eq!(r.zram.devices[0].algorithm.as_deref(), Some("zstd"));
    let psi = r.psi.memory.unwrap();
    assert_eq!((psi.some.avg10, psi.full.unwrap().total_us), (0.31, 3812449));
    assert!(r.breaches.is_empty(), "{:?}", r.breaches);
}

#[test]
fn plasma_v2_idle_is_idle() {
    let r = report(&sample("plasma-v2-idle"));
    assert_eq!(r.state, LoadState::Idle);
    assert_eq!(r.memory.used, (16303736 - 13310904) * 1024);
    assert_eq!(r.zram.state, ZramState::Active);
    assert_eq!(r.zram.ratio, None, "nothing stored in zram yet");
    assert_eq!(r.total.limit, Profile::embedded().budget.idle_total.0);
}

#[test]
fn debian12_v1_takes_the_per_process_path() {
    let s = sample("debian12-v1");
    assert_eq!(s.cgroup, CgroupMode::None, "the fixture has no cgroup tree at all");
    assert!(s.units.is_empty());
    assert!(!s.processes.is_empty());
    assert!(s.processes.iter().all(|p| p.memory > 0), "kernel threads are skipped");
    let r = report(&s);
    assert_eq!(r.sources.attribution, Attribution::Processes);
    assert_eq!(r.zram.state, ZramState::Unused);
    assert_eq!(r.memory.total, 24684096 * 1024);
}

#[test]
fn per_process_path_reads_a_desktop_too() {
    // The plasma-v2 processes, classified by name and cgroup as on a v1 host: hide the
    // cgroup tree by pointing the sampler at a copy without sys/fs/cgroup.
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&root("plasma-v2/proc"), &copy.path().join("proc"));
    let s = Sampler::with_root(copy.path()).sample().unwrap();
    let r = report(&s);
    let discord =
        r.categories.iter().find(|c| c.id == "electron").unwrap().apps.iter().find(|a| a.id == "discord").unwrap();
    assert_eq!(discord.members, 3);
    let kwin = s.processes.iter().find(|p| p.comm == "kwin_x11").unwrap();
    assert_eq!(kwin.cgroup.as_deref(), Some(&*format!("/{USER}/session.slice/plasma-kwin_x11.service")));
    let sd_pam = s.processes.iter().find(|p| p.pid == 1189).unwrap();
    assert_eq!(sd_pam.comm, "(sd-pam)");
    let xorg = s.processes.iter().find(|p| p.comm == "Xorg").unwrap();
    assert_eq!(xorg.memory_kind, ballast::sample::ProcessMemory::Rss, "root's smaps_rollup is unreadable");
    assert_eq!(xorg.memory, 53212 * 1024);
}

#[test]
fn broken_meminfo_names_file_and_line() {
    let err = Sampler::with_root(root("broken")).sample().unwrap_err().to_string();
    assert!(err.contains("broken/proc/meminfo:4"), "{err}");
    assert!(err.contains("this line is garbage"), "{err}");
}

#[test]
fn broken_sources_are_listed_and_the_rest_still_reads() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&root("broken"), copy.path());
    std::fs::copy(root("plasma-v2/proc/meminfo"), copy.path().join("proc/meminfo")).unwrap();
    let s = Sampler::with_root(copy.path()).sample().unwrap();
    let problems = s.problems.join("\n");
    for file in ["proc/pressure", "zram0/mm_stat", "memory.current"] {
        assert!(problems.contains(file), "{file} should be reported:\n{problems}");
    }
    assert_eq!(s.meminfo.total, 16303736 * 1024);
    report(&s);
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Each fixture tree's `status --json` (embedded profile) against its golden
/// expected-status.json, byte for byte; the broken tree's error against expected-status.stderr.
/// BALLAST_UPDATE_GOLDEN=1 rewrites the goldens (review the diff before committing).
#[test]
fn every_tree_matches_its_golden_status() {
    let config_home = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root("")).unwrap() {
        let tree = entry.unwrap().path();
        let (json, stderr) = (tree.join("expected-status.json"), tree.join("expected-status.stderr"));
        let (golden, stream_of): (_, fn(&std::process::Output) -> &[u8]) = if json.is_file() {
            (json, |out| &out.stdout)
        } else if stderr.is_file() {
            (stderr, |out| &out.stderr)
        } else {
            continue;
        };
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballast"))
            .arg("--root")
            .arg(tree.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap())
            .args(["status", "--json"])
            .env_remove("BALLAST_PROFILE")
            .env("XDG_CONFIG_HOME", config_home.path())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(stream_of(&out)).into_owned();
        if std::env::var_os("BALLAST_UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap();
        let diff = similar::TextDiff::from_lines(&expected, &actual);
        assert!(expected == actual, "{}:\n{}", golden.display(), diff.unified_diff().header("expected", "actual"));
        checked += 1;
    }
    assert_eq!(checked, 4, "three trees with a report and the broken one");
}
