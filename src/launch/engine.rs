//! Which Chromium an Electron, CEF or Chromium-based app really runs, so its launch flags
//! are ones that Chromium has.
//!
//! Sources, in order: the `version` file Electron's distribution puts next to its binary
//! (`/opt/discord/version`: "37.2.1"); the Electron store path in a Nix wrapper script
//! (`/nix/store/<hash>-electron-unwrapped-37.2.1/...`); for a Chromium-based browser its own
//! `--version` ("Chromium 156.0.8078.114 built on Debian", "Brave Browser 131.1.73.89").
//! Electron N ships Chromium 2N+64 from Electron 14 on (Electron's release notes: 28 ->
//! 120, 38 -> 140). Parsing is pure; [`detect`] reads the files and runs the browser.

use crate::profile::{LaunchSettings, Toolkit};
use std::path::Path;

/// The Chromium under an app, and where that was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engine {
    /// Chromium's major version; None when no source told it.
    pub chromium: Option<u32>,
    /// What was read ("Electron 37.2.1 in /opt/discord/version"), or why nothing was.
    pub source: String,
}

/// The Chromium major version Electron `major` ships (Electron 14 and later).
pub fn chromium_of_electron(major: u32) -> u32 {
    2 * major + 64
}

/// The major of a dotted version ("37.2.1" -> 37), with text around it allowed.
fn major(version: &str) -> Option<u32> {
    version.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}

/// Electron's `version` file: one line, "37.2.1".
pub fn parse_version_file(text: &str) -> Option<u32> {
    text.lines().next().filter(|l| l.trim().contains('.')).and_then(major)
}

/// A Nix wrapper script's Electron: the version in its `-electron-[unwrapped-]X.Y.Z` store path.
pub fn parse_wrapper(script: &str) -> Option<String> {
    script.split("-electron-").skip(1).find_map(|rest| {
        let rest = rest.strip_prefix("unwrapped-").unwrap_or(rest);
        let version: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        (version.contains('.') && major(&version).is_some()).then_some(version)
    })
}

/// A Chromium-based browser's `--version` line: the first dotted number in it.
pub fn parse_version_output(text: &str) -> Option<u32> {
    text.split_whitespace()
        .find(|word| word.contains('.') && word.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(major)
}

/// Chromium's GPU flags for this display server and Chromium version, from the profile's
/// lists (written for current Chromium). Below Chromium 96 there is no ANGLE-on-GL: the
/// ANGLE pair becomes `--use-gl=desktop`, which is what those versions have. Unknown
/// version: the ANGLE pair is left out (Chromium picks its own GL), everything else in the
/// lists exists in every Chromium Electron 14+ ships or is ignored by it.
pub fn gpu_flags(settings: &LaunchSettings, display: super::DisplayServer, chromium: Option<u32>) -> Vec<String> {
    let list = match display {
        super::DisplayServer::X11 => &settings.gpu_flags_x11,
        super::DisplayServer::Wayland => &settings.gpu_flags_wayland,
    };
    let angle = |flag: &String| flag == "--use-gl=angle" || flag.starts_with("--use-angle=");
    let mut flags: Vec<String> = list.iter().filter(|f| !angle(f)).cloned().collect();
    match chromium {
        Some(major) if major >= 96 => flags = list.clone(),
        Some(_) if list.iter().any(angle) => flags.push("--use-gl=desktop".into()),
        _ => {}
    }
    flags
}

/// Finds the Chromium under `binary` for an app of this toolkit (Qt and native apps have none).
pub fn detect(toolkit: Toolkit, binary: &Path) -> Option<Engine> {
    match toolkit {
        Toolkit::Qt | Toolkit::Native => None,
        Toolkit::Chromium => Some(browser_version(binary)),
        Toolkit::Electron | Toolkit::Cef => Some(electron_version(binary)),
    }
}

fn electron_version(binary: &Path) -> Engine {
    let real = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    let version_file = real.parent().map(|dir| dir.join("version")).unwrap_or_default();
    if let Some(major) = std::fs::read_to_string(&version_file).ok().as_deref().and_then(parse_version_file) {
        return Engine {
            chromium: Some(chromium_of_electron(major)),
            source: format!("Electron {major} in {}", version_file.display()),
        };
    }
    let script = read_script(&real);
    match script.as_deref().and_then(parse_wrapper) {
        Some(version) => Engine {
            chromium: major(&version).map(chromium_of_electron),
            source: format!("Electron {version} in the wrapper {}", real.display()),
        },
        None => Engine {
            chromium: None,
            source: format!("no Electron version next to {} (no version file, no Electron store path)", real.display()),
        },
    }
}

/// The start of a script (at most 64 KiB); None for a binary.
fn read_script(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path).ok()?.take(64 << 10).read_to_end(&mut head).ok()?;
    head.starts_with(b"#!").then(|| String::from_utf8_lossy(&head).into_owned())
}

/// How long a browser's `--version` may take.
const VERSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

fn browser_version(binary: &Path) -> Engine {
    let output = run_with_timeout(binary, VERSION_TIMEOUT);
    match output.as_deref().and_then(|text| parse_version_output(text).map(|major| (major, text.trim().to_owned()))) {
        Some((major, said)) => {
            Engine { chromium: Some(major), source: format!("\"{said}\" from {} --version", binary.display()) }
        }
        None => Engine { chromium: None, source: format!("{} --version told no version", binary.display()) },
    }
}

/// `binary --version`'s stdout, or None when it fails or takes longer than `timeout`.
fn run_with_timeout(binary: &Path, timeout: std::time::Duration) -> Option<String> {
    use std::io::Read;
    let mut child = std::process::Command::new(binary)
        .arg("--version")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + timeout;
    while child.try_wait().ok()?.is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut text = String::new();
    child.stdout.take()?.read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::DisplayServer;
    use crate::profile::Profile;

    #[test]
    fn electron_majors_map_to_the_chromium_they_ship() {
        assert_eq!([28, 38, 39].map(chromium_of_electron), [120, 140, 142]);
    }

    #[test]
    fn versions_from_each_source() {
        assert_eq!(parse_version_file("37.2.1\n"), Some(37));
        assert_eq!(parse_version_file("garbage"), None);
        let wrapper = "#!/nix/store/abc-bash/bin/bash\nexec \"/nix/store/k9-electron-unwrapped-35.7.5/libexec/electron/electron\" \"$@\"\n";
        assert_eq!(parse_wrapper(wrapper).as_deref(), Some("35.7.5"));
        assert_eq!(parse_wrapper("exec /nix/store/x-electron-32.2.7/bin/electron app.asar").as_deref(), Some("32.2.7"));
        assert_eq!(parse_wrapper("exec /usr/bin/electron-launcher"), None);
        assert_eq!(
            parse_version_output("Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)\n"),
            Some(156)
        );
        assert_eq!(parse_version_output("Brave Browser 131.1.73.89\n"), Some(131));
        assert_eq!(parse_version_output("Google Chrome 142.0.7444.59 \n"), Some(142));
        assert_eq!(parse_version_output("usage: ..."), None);
    }

    #[test]
    fn flags_follow_the_chromium_version() {
        let settings = Profile::embedded().launch;
        let x11 = |major| gpu_flags(&settings, DisplayServer::X11, major);
        assert!(x11(Some(140)).contains(&"--use-angle=gl".to_owned()));
        let old = x11(Some(91));
        assert!(
            old.contains(&"--use-gl=desktop".to_owned()) && !old.iter().any(|f| f.starts_with("--use-angle")),
            "{old:?}"
        );
        let unknown = x11(None);
        assert!(!unknown.iter().any(|f| f.starts_with("--use-gl") || f.starts_with("--use-angle")), "{unknown:?}");
        assert!(unknown.contains(&"--enable-gpu-rasterization".to_owned()));
        assert_eq!(gpu_flags(&settings, DisplayServer::Wayland, Some(140)), settings.gpu_flags_wayland);
        assert!(
            !settings
                .gpu_flags_wayland
                .iter()
                .chain(&settings.gpu_flags_x11)
                .any(|f| f.starts_with("--ozone-platform-hint")),
            "the hint is gone from Chromium 141"
        );
    }

    #[test]
    fn detection_reads_the_version_file_and_nix_wrappers() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("Discord");
        std::fs::write(&app, b"\x7fELF").unwrap();
        std::fs::write(dir.path().join("version"), "37.2.1\n").unwrap();
        let engine = detect(Toolkit::Electron, &app).unwrap();
        assert_eq!(engine.chromium, Some(138));
        assert!(engine.source.contains("Electron 37"), "{}", engine.source);
        let wrapper = dir.path().join("wrapped");
        std::fs::write(
            &wrapper,
            "#!/bin/sh\nexec /nix/store/h-electron-unwrapped-38.1.0/libexec/electron/electron x\n",
        )
        .unwrap();
        std::fs::remove_file(dir.path().join("version")).unwrap();
        assert_eq!(detect(Toolkit::Electron, &wrapper).unwrap().chromium, Some(140));
        assert_eq!(detect(Toolkit::Cef, &app).unwrap().chromium, None);
        assert_eq!(detect(Toolkit::Qt, &app), None);
    }
}
