//! The Chromium version under a real browser: Debian's chromium, read the way `ballast
//! launch` reads it (engine::detect), against what dpkg says is installed.

use ballast::launch::engine;
use ballast::profile::Toolkit;
use std::path::Path;

const CHROMIUM: &str = "/usr/lib/chromium/chromium";

#[test]
fn debian_chromiums_version_picks_its_flags() {
    if !Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "{CHROMIUM} is missing: scripts/deps.sh test installs chromium");
        eprintln!("skipped: {CHROMIUM} is not installed (apt install chromium)");
        return;
    }
    let dpkg = std::process::Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "chromium"])
        .output()
        .expect("dpkg-query runs");
    let installed: u32 = String::from_utf8_lossy(&dpkg.stdout)
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("dpkg knows chromium's version");
    let engine =
        engine::detect(Toolkit::Chromium, Path::new(CHROMIUM)).expect("a Chromium-based browser has an engine");
    assert_eq!(engine.chromium, Some(installed), "{}", engine.source);
    let flags = engine::gpu_flags(
        &ballast::profile::Profile::embedded().launch,
        ballast::launch::DisplayServer::X11,
        engine.chromium,
    );
    assert!(
        flags.contains(&"--use-angle=gl".to_owned()) && !flags.contains(&"--use-gl=desktop".to_owned()),
        "{flags:?}"
    );
}
