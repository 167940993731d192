//! The window, rendered offscreen: QML checks against a saved session, a bare report, a
//! session bus without the agent and one with the agent, and screenshots at 1x and 2x,
//! light and dark (kept in target/dashboard-screenshots/). Each case runs in its own
//! process, since Qt wants one application per process on its main thread, under a
//! timeout; a QML warning or error in a case's log fails it.

use ballast_dashboard::window::{self, Options};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
/// Set in a child process: the QML checklist it runs, and the fixture it shows.
const CASE_QML: &str = "BALLAST_DASHBOARD_TEST_QML";
const CASE_FIXTURE: &str = "BALLAST_DASHBOARD_TEST_FIXTURE";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures").join(name)
}

/// target/dashboard-screenshots, next to the profile directories.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors().nth(3).expect("target/<profile>/deps/<binary>").join("dashboard-screenshots")
}

struct Case {
    name: &'static str,
    command: Command,
    /// A screenshot the case must leave, and its width.
    screenshot: Option<(PathBuf, u32)>,
    /// Programs the case runs against (a private session bus, the agent); stopped after it.
    peers: Vec<Child>,
    /// Why the case could not be set up; it fails with this.
    setup_failure: Option<String>,
}

impl Case {
    fn new(name: &'static str, command: Command) -> Case {
        Case { name, command, screenshot: None, peers: Vec::new(), setup_failure: None }
    }
}

/// This binary again, running one QML checklist in-process.
fn checklist(name: &'static str, qml: &str, fixture_file: Option<&str>) -> Case {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command.env(CASE_QML, manifest_dir().join("tests/qml").join(qml));
    if let Some(file) = fixture_file {
        command.env(CASE_FIXTURE, fixture(file));
    }
    Case::new(name, command)
}

/// A checklist against the session bus (and programs) that `setup` starts in `dir`.
fn on_bus(mut case: Case, dir: &Path, setup: impl FnOnce(&Path) -> Result<(Vec<Child>, String), String>) -> Case {
    match setup(dir) {
        Ok((peers, address)) => {
            case.command.env("DBUS_SESSION_BUS_ADDRESS", address);
            case.peers = peers;
        }
        Err(e) => case.setup_failure = Some(e),
    }
    case
}

fn screenshot(name: &'static str, scale: u32, dark: bool) -> Case {
    let file = screenshot_dir().join(format!("{}-{scale}x.png", if dark { "dark" } else { "light" }));
    let mut command = Command::new(env!("CARGO_BIN_EXE_ballast-dashboard"));
    command
        .arg("--screenshot")
        .arg(&file)
        .arg("--from-json")
        .arg(fixture("session-plasma-v2.json"))
        .args(["--scale", &scale.to_string()]);
    if dark {
        command.arg("--dark");
    }
    Case { screenshot: Some((file, 1280 * scale)), ..Case::new(name, command) }
}

/// A session bus of its own, so what the window sees does not depend on this machine.
fn private_bus(dir: &Path) -> Result<(Vec<Child>, String), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let socket = dir.join("bus");
    let address = format!("unix:path={}", socket.display());
    let bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", &format!("--address={address}")])
        .stdout(Stdio::null())
        // As root it says it cannot raise its fd limit: noise here.
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start dbus-daemon (package dbus): {e}"))?;
    let started = Instant::now();
    while !socket.exists() {
        if started.elapsed() > Duration::from_secs(5) {
            return Err("dbus-daemon did not make its socket in 5 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((vec![bus], address))
}

/// The agent of this build (target/<profile>/ballast, built with the workspace) on a
/// private bus, sampling the plasma-v2 fixture tree, with a home of its own.
fn agent_on_private_bus(dir: &Path) -> Result<(Vec<Child>, String), String> {
    let binary = Path::new(env!("CARGO_BIN_EXE_ballast-dashboard")).with_file_name("ballast");
    if !binary.exists() {
        return Err(format!("{} is not built: run the tests with --workspace", binary.display()));
    }
    let (mut peers, address) = private_bus(dir)?;
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".config")).map_err(|e| e.to_string())?;
    let agent = Command::new(binary)
        .arg("--root")
        .arg(manifest_dir().join("../tests/fixtures/plasma-v2"))
        .arg("agent")
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        // Only tells the agent it runs in a graphical session: no tray watcher or
        // notification server here, which it allows.
        .env("DISPLAY", ":0")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_RUNTIME_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the agent: {e}"))?;
    peers.push(agent);
    Ok((peers, address))
}

/// Lines of a case's log that are Qt warnings or worse (QML errors are warnings there).
fn warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| ["[warning]", "[critical]", "[fatal]"].iter().any(|kind| line.starts_with(kind)))
        .collect()
}

/// Width and height from a PNG's header.
fn png_size(file: &Path) -> Result<(u32, u32), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" {
        return Err(format!("{} is not a PNG", file.display()));
    }
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    Ok((number(16), number(20)))
}

fn run(mut case: Case, runtime: &Path) -> Result<(), String> {
    if let Some(why) = case.setup_failure.take() {
        return Err(why);
    }
    let log_file = runtime.join(format!("{}.log", case.name));
    let log = std::fs::File::create(&log_file).map_err(|e| e.to_string())?;
    let mut child = case
        .command
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("QT_MESSAGE_PATTERN", "[%{type}] %{message}")
        .env("XDG_RUNTIME_DIR", runtime)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the case: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for mut peer in case.peers.drain(..).rev() {
        let _ = peer.kill();
        let _ = peer.wait();
    }
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    let problem = match status {
        None => Some(format!("no exit within {} s", TIMEOUT.as_secs())),
        Some(status) if !status.success() => Some(format!("exit {status}")),
        Some(_) if !warnings(&log).is_empty() => Some(format!("QML warnings: {:?}", warnings(&log))),
        Some(_) => match &case.screenshot {
            Some((file, width)) => match png_size(file) {
                Ok((w, h)) if w == *width && h > w / 2 => None,
                Ok((w, h)) => Some(format!("{} is {w}x{h}, expected {width} wide", file.display())),
                Err(e) => Some(e),
            },
            None => None,
        },
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(format!("{problem}\n--- log ---\n{log}")),
    }
}

fn main() {
    if let Ok(qml) = std::env::var(CASE_QML) {
        let options = Options { fixture: std::env::var_os(CASE_FIXTURE).map(PathBuf::from), ..Options::default() };
        let code = window::run(&format!("file://{qml}"), &options).unwrap_or_else(|e| {
            eprintln!("{e}");
            1
        });
        std::process::exit(code);
    }

    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let runtime = std::env::temp_dir().join(format!("ballast-dashboard-window-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).expect("a runtime directory");
    // Qt wants XDG_RUNTIME_DIR private.
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("a private runtime directory");
    std::fs::create_dir_all(screenshot_dir()).expect("the screenshot directory");

    let cases = vec![
        checklist("session_fixture_shows_every_part", "FixtureChecks.qml", Some("session-plasma-v2.json")),
        checklist("bare_report_shows_what_it_has", "ReportChecks.qml", Some("report-plasma-v2.json")),
        screenshot("screenshot_light_1x", 1, false),
        screenshot("screenshot_light_2x", 2, false),
        screenshot("screenshot_dark_1x", 1, true),
        screenshot("screenshot_dark_2x", 2, true),
        on_bus(
            checklist("without_the_agent_it_says_so_and_retries", "NoAgentChecks.qml", None),
            &runtime.join("no-agent"),
            private_bus,
        ),
        on_bus(
            checklist("live_agent_answers_every_action", "LiveChecks.qml", None),
            &runtime.join("live"),
            agent_on_private_bus,
        ),
    ];

    let started = Instant::now();
    let (mut passed, mut failed) = (0, 0);
    for case in cases {
        let name = case.name;
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        match run(case, &runtime) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED\n{e}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&runtime);
    println!("screenshots in {}", screenshot_dir().display());
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
        if failed == 0 { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    std::process::exit(i32::from(failed > 0));
}
