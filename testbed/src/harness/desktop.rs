//! Real KDE/desktop programs in an isolated session, for integration tests.
//!
//! A [`Session`] owns a fresh temporary HOME (XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_CACHE_HOME,
//! XDG_STATE_HOME and a 0700 XDG_RUNTIME_DIR under it), a private `dbus-daemon` listening on
//! `$XDG_RUNTIME_DIR/bus` and, on request, an `Xvfb` display. The starters run the real programs
//! (kwin_x11, baloo_file, dunst, kded5 with the statusnotifierwatcher module) and return once the
//! program answers on the bus. Drop ends every process that carries this session's marker in its
//! environment (also what dbus-daemon activated: kglobalaccel5, kactivitymanagerd, ...), then
//! removes the temporary directory.
//!
//! D-Bus calls go through `dbus-send` (package dbus-bin, which dbus-daemon depends on): `busctl
//! --user` needs the systemd package and a user manager, `gdbus` needs libglib2.0-bin and `qdbus`
//! needs qdbus-qt5. `dbus-send` cannot build variants of containers (a{sv}, a{saay}); run `gdbus`
//! through [`Session::command`] when a test needs those.
//!
//! Debian 12 packages (with --no-install-recommends): dbus-daemon (pulls dbus-bin: dbus-send,
//! dbus-monitor), xvfb, kwin-x11, baloo-kf5, dunst, libnotify-bin (notify-send), systemd (busctl,
//! which `dunstctl history` runs), kded5, plasma-workspace (the watcher module),
//! libkf5config-bin (kconf_update).
//!
//! Set `BALLAST_DESKTOP_KEEP=1` to keep the temporary directory (logs/ holds each program's
//! output) after a failing test; the processes are still ended.

use crate::harness::HarnessError;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

/// Every process of a session carries `BALLAST_DESKTOP_SESSION=<owner pid>:<owner start
/// time>:<session dir>`; Drop ends exactly those, and a later session ends those whose owner died.
pub const MARKER_VAR: &str = "BALLAST_DESKTOP_SESSION";
/// Keep the temporary directory after Drop when set to a non-empty value other than `0`.
pub const KEEP_VAR: &str = "BALLAST_DESKTOP_KEEP";
/// How long a starter, a call or a wait may take unless [`SessionBuilder::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

const POLL: Duration = Duration::from_millis(50);
const PROBE_INTERFACE: &str = "org.ballast.DesktopTest.Probe";

pub const KWIN_SERVICE: &str = "org.kde.KWin";
pub const BALOO_SERVICE: &str = "org.kde.baloo";
pub const NOTIFICATIONS_SERVICE: &str = "org.freedesktop.Notifications";
pub const KDED_SERVICE: &str = "org.kde.kded5";
pub const WATCHER_SERVICE: &str = "org.kde.StatusNotifierWatcher";

/// Environment variables passed through from the test process (besides PATH), when set: where
/// a non-FHS system (Nix) finds data files and plugins.
const PASSTHROUGH: &[&str] = &["XDG_DATA_DIRS", "XDG_CONFIG_DIRS", "QT_PLUGIN_PATH", "USER", "LOGNAME"];

/// Configures a [`Session`] before it starts.
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    display: bool,
    timeout: Duration,
    env: Vec<(String, String)>,
}

impl Default for SessionBuilder {
    fn default() -> Self {
        SessionBuilder { display: false, timeout: DEFAULT_TIMEOUT, env: Vec::new() }
    }
}

impl SessionBuilder {
    /// Start an Xvfb display (needed by kwin_x11 and dunst).
    pub fn display(mut self, yes: bool) -> Self {
        self.display = yes;
        self
    }

    /// Limit for each starter, call and wait.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// An extra variable for every program of the session, dbus-daemon's activations included
    /// (e.g. `XDG_CURRENT_DESKTOP=KDE`, or `LC_ALL=C.UTF-8` for non-ASCII text). Overrides the
    /// defaults.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn start(self) -> Result<Session, HarnessError> {
        Session::start_with(self)
    }
}

/// One program started by the session.
struct Program {
    name: String,
    command: String,
    log: PathBuf,
    child: Child,
    /// Kept open: Xvfb and dbus-daemon print to it once; closing it early could SIGPIPE them.
    _stdout: Option<BufReader<ChildStdout>>,
}

/// `dunstctl count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DunstCount {
    pub waiting: u32,
    pub displayed: u32,
    pub history: u32,
}

impl DunstCount {
    pub fn total(&self) -> u32 {
        self.waiting + self.displayed + self.history
    }
}

/// One notification as dunst received it, recorded by the script rule of the session's dunstrc
/// (dunst 1.9's `dunstctl history` has no urgency and lists only closed notifications).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DunstNotification {
    pub id: u32,
    /// `LOW`, `NORMAL` or `CRITICAL`.
    pub urgency: String,
    pub app_name: String,
    pub summary: String,
    pub body: String,
    pub category: String,
    pub icon_path: String,
    /// Milliseconds as dunst applies it (0 = until closed; critical is 0 by default).
    pub timeout_ms: String,
}

/// A real desktop session for one test. See the module documentation.
pub struct Session {
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    home: PathBuf,
    runtime: PathBuf,
    logs: PathBuf,
    marker: String,
    address: String,
    display: Option<String>,
    timeout: Duration,
    env: Vec<(String, String)>,
    xvfb: Option<Program>,
    bus: Option<Program>,
    programs: Vec<Program>,
    kconf_updated: bool,
}

impl Session {
    /// A session without a display (QT_QPA_PLATFORM=offscreen for every program).
    pub fn start() -> Result<Session, HarnessError> {
        SessionBuilder::default().start()
    }

    /// A session with an Xvfb display.
    pub fn with_display() -> Result<Session, HarnessError> {
        SessionBuilder::default().display(true).start()
    }

    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    fn start_with(builder: SessionBuilder) -> Result<Session, HarnessError> {
        static REAP_STALE: Once = Once::new();
        REAP_STALE.call_once(reap_stale_sessions);

        let dir = tempfile::Builder::new()
            .prefix("ballast-desktop-")
            .tempdir()
            .map_err(|e| format!("cannot create the session's temporary directory: {e}"))?;
        let root = dir.path().to_path_buf();
        let home = root.join("home");
        let runtime = home.join(".run");
        let logs = root.join("logs");
        let config = home.join(".config");
        let data = home.join(".local/share");
        let cache = home.join(".cache");
        let state = home.join(".local/state");
        for d in [&home, &runtime, &logs, &config, &data, &cache, &state] {
            fs::create_dir_all(d).map_err(HarnessError::io(format!("mkdir {}", d.display())))?;
        }
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700))
            .map_err(HarnessError::io(format!("chmod 0700 {}", runtime.display())))?;
        let socket = runtime.join("bus");
        if socket.as_os_str().len() > 100 {
            return Err(
                format!("bus socket path too long for AF_UNIX: {} (set a shorter TMPDIR)", socket.display()).into()
            );
        }

        let marker = format!("{}:{}:{}", std::process::id(), own_start_time(), root.display());
        let mut env: Vec<(String, String)> = Vec::new();
        env.push(("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())));
        for key in PASSTHROUGH {
            if let Ok(value) = std::env::var(key) {
                env.push(((*key).into(), value));
            }
        }
        for (key, path) in [
            ("HOME", &home),
            ("XDG_CONFIG_HOME", &config),
            ("XDG_DATA_HOME", &data),
            ("XDG_CACHE_HOME", &cache),
            ("XDG_STATE_HOME", &state),
            ("XDG_RUNTIME_DIR", &runtime),
        ] {
            env.push((key.into(), path.display().to_string()));
        }
        env.push(("LC_ALL".into(), "C".into()));
        env.push((MARKER_VAR.into(), marker.clone()));
        if !builder.display {
            env.push(("QT_QPA_PLATFORM".into(), "offscreen".into()));
        }

        let mut session = Session {
            dir: Some(dir),
            root,
            home,
            runtime,
            logs,
            marker,
            address: String::new(),
            display: None,
            timeout: builder.timeout,
            env,
            xvfb: None,
            bus: None,
            programs: Vec::new(),
            kconf_updated: false,
        };
        // Debian ships two activatable org.freedesktop.Notifications (dunst, and Plasma's
        // plasma_waitforname); dbus-daemon would start either on the first Notify. This file in
        // $XDG_DATA_HOME (searched first) makes such an activation fail at once instead:
        // only start_notification_server provides the server.
        let services = data.join("dbus-1/services");
        fs::create_dir_all(&services).map_err(HarnessError::io(format!("mkdir {}", services.display())))?;
        let blocker = services.join("org.freedesktop.Notifications.service");
        fs::write(&blocker, "[D-BUS Service]\nName=org.freedesktop.Notifications\nExec=/bin/false\n")
            .map_err(HarnessError::io(format!("write {}", blocker.display())))?;

        // From here on, Drop cleans up whatever a failing step left.
        if builder.display {
            session.start_xvfb()?;
        }
        for (key, value) in builder.env {
            session.set_env(&key, &value);
        }
        session.start_bus()?;
        Ok(session)
    }

    fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    fn start_xvfb(&mut self) -> Result<(), HarnessError> {
        let mut cmd = self.command("Xvfb");
        cmd.args(["-displayfd", "1", "-nolisten", "tcp", "-noreset", "+extension", "GLX"]);
        cmd.args(["-screen", "0", "1280x1024x24"]);
        let (mut program, line) = self.spawn_printing("xvfb", cmd)?;
        let number = line.trim();
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            let why = format!("{}: expected a display number on -displayfd, got {line:?}", program.command);
            return Err(stop_failed(&mut program, why).into());
        }
        let display = format!(":{number}");
        self.set_env("DISPLAY", &display);
        self.display = Some(display);
        self.xvfb = Some(program);
        Ok(())
    }

    fn start_bus(&mut self) -> Result<(), HarnessError> {
        let conf = self.root.join("session-bus.conf");
        let text = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Debian's session.conf, listening on $XDG_RUNTIME_DIR/bus instead of an abstract socket. -->
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <standard_session_servicedirs/>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            self.runtime.join("bus").display()
        );
        fs::write(&conf, text).map_err(HarnessError::io(format!("write {}", conf.display())))?;
        let mut cmd = self.command("dbus-daemon");
        cmd.arg(format!("--config-file={}", conf.display())).args(["--nofork", "--print-address=1"]);
        let (mut program, line) = self.spawn_printing("dbus-daemon", cmd)?;
        let address = line.trim().to_owned();
        if !address.starts_with("unix:") {
            let why = format!("{}: expected a bus address, got {line:?}", program.command);
            return Err(stop_failed(&mut program, why).into());
        }
        self.set_env("DBUS_SESSION_BUS_ADDRESS", &address);
        self.address = address;
        self.bus = Some(program);
        Ok(())
    }

    // ----- environment -----

    /// The environment every program of this session gets (PATH, HOME, XDG_*, LC_ALL=C,
    /// DBUS_SESSION_BUS_ADDRESS, DISPLAY or QT_QPA_PLATFORM=offscreen, the marker, extras).
    pub fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// A command with exactly [`Session::env`] (env cleared first), run in HOME, stdin from
    /// /dev/null.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(self.env.iter().map(|(k, v)| (k, v))).current_dir(&self.home).stdin(Stdio::null());
        cmd
    }

    pub fn bus_address(&self) -> &str {
        &self.address
    }

    /// `:N` when the session has a display.
    pub fn display(&self) -> Option<&str> {
        self.display.as_deref()
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn config_home(&self) -> PathBuf {
        self.home.join(".config")
    }

    /// `$XDG_CONFIG_HOME/<name>`, e.g. `config_file("kwinrc")`.
    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config_home().join(name)
    }

    pub fn data_home(&self) -> PathBuf {
        self.home.join(".local/share")
    }

    pub fn runtime_dir(&self) -> &Path {
        &self.runtime
    }

    /// The marker value (see [`MARKER_VAR`]); [`processes_with_marker`] finds what is left.
    pub fn marker(&self) -> &str {
        &self.marker
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The output (stdout and stderr) a started program wrote so far: `xvfb`, `dbus-daemon`,
    /// `kwin_x11`, `baloo_file`, `dunst`, `kded5`, `kconf_update`.
    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.logs.join(format!("{name}.log"))).unwrap_or_default()
    }

    /// pid of a program this session started and that still runs.
    pub fn pid(&mut self, name: &str) -> Option<u32> {
        let program = self.programs.iter_mut().find(|p| p.name == name)?;
        match program.child.try_wait() {
            Ok(None) => Some(program.child.id()),
            _ => None,
        }
    }

    /// Processes (pid, comm) that carry this session's marker right now.
    pub fn processes(&self) -> Vec<(u32, String)> {
        processes_with_marker(&self.marker)
    }

    // ----- running commands and D-Bus calls -----

    /// Runs `program args` to completion with the session environment; stdout on exit 0, else an
    /// error naming the command with its status and stderr. Killed after the session timeout.
    pub fn run<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> Result<String, HarnessError> {
        let mut cmd = self.command(program);
        cmd.args(args);
        self.output(cmd)
    }

    fn output(&self, mut cmd: Command) -> Result<String, HarnessError> {
        let line = self.describe(&cmd);
        // A little over the timeout, so that dbus-send's own --reply-timeout reports first.
        let limit = self.timeout + Duration::from_secs(5);
        let (status, stdout, stderr) = run_with_timeout(&mut cmd, limit).map_err(|e| format!("{line}: {e}"))?;
        if status.success() {
            Ok(stdout)
        } else {
            let mut err = format!("{line}: {status}\n{}{}", stderr.trim_end(), hint_for(&line, &stderr));
            if let Err(dead) = self.check_programs() {
                err.push('\n');
                err.push_str(&dead.to_string());
            }
            Err(err.into())
        }
    }

    /// Ok while every program the session started still runs; else names those that ended,
    /// with how and their last output. Failing calls append this to their error.
    pub fn check_programs(&self) -> Result<(), HarnessError> {
        let mut report = String::new();
        for program in self.xvfb.iter().chain(self.bus.iter()).chain(self.programs.iter()) {
            if let Some(how) = peek_exit(program.child.id()) {
                let why = format!("note: {} ({}) is no longer running: {how}", program.name, program.command);
                report.push_str(&with_log(why, &program.log));
                report.push('\n');
            }
        }
        if report.is_empty() {
            Ok(())
        } else {
            Err(report.into())
        }
    }

    /// A method call through `dbus-send --session --print-reply=literal`:
    /// `call(&["org.kde.KWin", "/KWin", "org.kde.KWin.supportInformation"])`; further items are
    /// dbus-send arguments (`string:x`, `int32:1`, `boolean:true`, `array:string:a,b`,
    /// `variant:int32:1`). Returns the reply trimmed, e.g. `boolean true`, `int32 0`, the raw
    /// text of a string, `` for an empty reply.
    pub fn call(&self, args: &[&str]) -> Result<String, HarnessError> {
        self.dbus_send("--print-reply=literal", args).map(|out| out.trim().to_owned())
    }

    /// Like [`Session::call`] with `--print-reply`: typed output (`string "x"`, `array [`,
    /// `dict entry(`), without the `method return ...` header line.
    pub fn call_typed(&self, args: &[&str]) -> Result<String, HarnessError> {
        let out = self.dbus_send("--print-reply", args)?;
        Ok(out.lines().skip_while(|l| l.starts_with("method return")).collect::<Vec<_>>().join("\n"))
    }

    /// The strings of a typed reply, e.g. of an `as` or a variant holding one.
    pub fn call_strings(&self, args: &[&str]) -> Result<Vec<String>, HarnessError> {
        self.call_typed(args).map(|out| reply_strings(&out))
    }

    /// `org.freedesktop.DBus.Properties.Get`, literal, without the `variant` prefix:
    /// `int32 0`, `boolean true`, `string "x"`, or an array's items separated by whitespace.
    pub fn property(&self, dest: &str, path: &str, interface: &str, name: &str) -> Result<String, HarnessError> {
        let out = self.call(&[
            dest,
            path,
            "org.freedesktop.DBus.Properties.Get",
            &format!("string:{interface}"),
            &format!("string:{name}"),
        ])?;
        Ok(out.strip_prefix("variant").unwrap_or(&out).trim().to_owned())
    }

    /// A string-list property, e.g. KWin's `loadedEffects` or the watcher's
    /// `RegisteredStatusNotifierItems`.
    pub fn property_strings(
        &self,
        dest: &str,
        path: &str,
        interface: &str,
        name: &str,
    ) -> Result<Vec<String>, HarnessError> {
        self.call_strings(&[
            dest,
            path,
            "org.freedesktop.DBus.Properties.Get",
            &format!("string:{interface}"),
            &format!("string:{name}"),
        ])
    }

    /// Emits a signal: `emit("/kdeglobals", "org.example.Iface.Member", &["string:x"])`.
    pub fn emit(&self, path: &str, interface_member: &str, args: &[&str]) -> Result<(), HarnessError> {
        let mut cmd = self.command("dbus-send");
        cmd.args(["--session", "--type=signal", path, interface_member]).args(args);
        self.output(cmd).map(|_| ())
    }

    fn dbus_send(&self, print: &str, args: &[&str]) -> Result<String, HarnessError> {
        let (dest, rest) = args
            .split_first()
            .ok_or_else(|| "call: expected [destination, path, interface.method, args...]".to_owned())?;
        let mut cmd = self.command("dbus-send");
        cmd.args(["--session", print])
            .arg(format!("--reply-timeout={}", self.timeout.as_millis()))
            .arg(format!("--dest={dest}"))
            .args(rest);
        self.output(cmd)
    }

    pub fn name_has_owner(&self, name: &str) -> Result<bool, HarnessError> {
        let out = self.call(&[
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{name}"),
        ])?;
        Ok(out.ends_with("true"))
    }

    /// pid of the connection that owns `name` (tells our dunst from an activated one).
    pub fn name_owner_pid(&self, name: &str) -> Result<u32, HarnessError> {
        let out = self.call(&[
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            &format!("string:{name}"),
        ])?;
        out.rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("GetConnectionUnixProcessID {name}: unexpected reply {out:?}").into())
    }

    pub fn wait_for_name(&self, name: &str) -> Result<(), HarnessError> {
        self.wait_until(&format!("{name} is owned on the bus"), || self.name_has_owner(name))
    }

    pub fn wait_for_name_gone(&self, name: &str) -> Result<(), HarnessError> {
        self.wait_until(&format!("{name} is released"), || self.name_has_owner(name).map(|owned| !owned))
    }

    /// Polls `check` every 50 ms until it says true; the error names `what` and the last error.
    pub fn wait_until(
        &self,
        what: &str,
        mut check: impl FnMut() -> Result<bool, HarnessError>,
    ) -> Result<(), HarnessError> {
        let deadline = Instant::now() + self.timeout;
        let mut last = String::new();
        loop {
            match check() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                let last = if last.is_empty() { String::new() } else { format!(" (last error: {last})") };
                return Err(format!("timed out after {:?} waiting until {what}{last}", self.timeout).into());
            }
            thread::sleep(POLL);
        }
    }

    /// Captures `dbus-monitor --session <rule>` in the background, e.g.
    /// `monitor("type='signal',interface='org.kde.kconfig.notify'")`. Returns once the monitor
    /// is attached (a probe signal came through), so what the test triggers next is captured.
    /// An empty rule captures everything.
    pub fn monitor(&self, rule: &str) -> Result<Monitor, HarnessError> {
        static MONITORS: AtomicUsize = AtomicUsize::new(0);
        let n = MONITORS.fetch_add(1, Ordering::Relaxed);
        let path = self.logs.join(format!("monitor-{n}.log"));
        let file = fs::File::create(&path).map_err(HarnessError::io(format!("create {}", path.display())))?;
        let err = file.try_clone().map_err(|e| format!("dup {}: {e}", path.display()))?;
        let probe_rule = format!("type='signal',interface='{PROBE_INTERFACE}'");
        let mut cmd = self.command("dbus-monitor");
        cmd.args(["--session", rule, &probe_rule]).stdout(file).stderr(err);
        let command = self.describe(&cmd);
        let child = cmd.spawn().map_err(|e| format!("{command}: cannot start: {e}{}", package_hint("dbus-monitor")))?;
        let mut monitor = Monitor { child, path, command, timeout: self.timeout };
        let token = format!("ready-{}", n);
        let attached = self.wait_until("dbus-monitor shows a probe signal", || {
            if let Ok(Some(status)) = monitor.child.try_wait() {
                return Err(format!("{} exited with {status}: {}", monitor.command, monitor.raw().trim()).into());
            }
            self.emit("/org/ballast/DesktopTest", &format!("{PROBE_INTERFACE}.Ready"), &[&format!("string:{token}")])?;
            Ok(monitor.raw().contains(&token))
        });
        match attached {
            Ok(()) => Ok(monitor),
            Err(e) => Err(format!("{}: {e}", monitor.command).into()),
        }
    }

    // ----- program lifecycle -----

    fn describe(&self, cmd: &Command) -> String {
        let mut line = String::new();
        for (key, value) in cmd.get_envs() {
            let (Some(key), Some(value)) = (key.to_str(), value.and_then(|v| v.to_str())) else {
                continue;
            };
            if !self.env.iter().any(|(k, v)| k == key && v == value) {
                let _ = write!(line, "{key}={value} ");
            }
        }
        line.push_str(&cmd.get_program().to_string_lossy());
        for arg in cmd.get_args() {
            let arg = arg.to_string_lossy();
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                let _ = write!(line, " '{}'", arg.replace('\'', r"'\''"));
            } else {
                let _ = write!(line, " {arg}");
            }
        }
        line
    }

    fn open_log(&self, name: &str) -> Result<(PathBuf, fs::File), HarnessError> {
        let path = self.logs.join(format!("{name}.log"));
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(HarnessError::io(format!("open {}", path.display())))?;
        Ok((path, file))
    }

    /// Spawns a program whose stdout and stderr go to logs/<name>.log.
    fn spawn(&self, name: &str, mut cmd: Command) -> Result<Program, HarnessError> {
        let (log, file) = self.open_log(name)?;
        let err = file.try_clone().map_err(|e| format!("dup {}: {e}", log.display()))?;
        cmd.stdout(file).stderr(err);
        let command = self.describe(&cmd);
        let child = cmd.spawn().map_err(|e| {
            format!("{command}: cannot start: {e}{}", package_hint(&cmd.get_program().to_string_lossy()))
        })?;
        Ok(Program { name: name.to_owned(), command, log, child, _stdout: None })
    }

    /// Spawns a program that prints one line on stdout once it is ready (Xvfb -displayfd,
    /// dbus-daemon --print-address); stderr goes to logs/<name>.log.
    fn spawn_printing(&self, name: &str, mut cmd: Command) -> Result<(Program, String), HarnessError> {
        let (log, file) = self.open_log(name)?;
        cmd.stdout(Stdio::piped()).stderr(file);
        let command = self.describe(&cmd);
        let mut child = cmd.spawn().map_err(|e| {
            format!("{command}: cannot start: {e}{}", package_hint(&cmd.get_program().to_string_lossy()))
        })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let result = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send((result, reader));
        });
        let mut program = Program { name: name.to_owned(), command, log, child, _stdout: None };
        match rx.recv_timeout(self.timeout) {
            Ok((Ok(line), reader)) if !line.is_empty() => {
                program._stdout = Some(reader);
                Ok((program, line))
            }
            Ok((result, _)) => {
                let why = match result {
                    Err(e) => format!("{}: reading its stdout: {e}", program.command),
                    Ok(_) => format!("{}: closed its stdout without printing", program.command),
                };
                Err(stop_failed(&mut program, why).into())
            }
            Err(_) => {
                let why = format!("{}: printed nothing within {:?}", program.command, self.timeout);
                Err(stop_failed(&mut program, why).into())
            }
        }
    }

    /// Starts `cmd` (made by [`Session::command`]) in the background as `name`, its output in
    /// logs/<name>.log, and waits until `ready` says true; `what` names that condition in errors.
    /// On failure the program is stopped and the error carries the command line, the reason and
    /// the program's last output. Use it for the program under test, e.g.
    /// `s.start_program("ballast", s.command(bin), "org.example owned", |s| s.name_has_owner("org.example"))`.
    /// Drop and [`Session::stop`] end it.
    pub fn start_program(
        &mut self,
        name: &str,
        cmd: Command,
        what: &str,
        mut ready: impl FnMut(&Session) -> Result<bool, HarnessError>,
    ) -> Result<(), HarnessError> {
        let mut program = self.spawn(name, cmd)?;
        let deadline = Instant::now() + self.timeout;
        let mut last = String::new();
        loop {
            if let Ok(Some(status)) = program.child.try_wait() {
                let why = format!("{} exited with {status} before {what}", program.command);
                return Err(with_log(why, &program.log).into());
            }
            match ready(self) {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                let last = if last.is_empty() { String::new() } else { format!(" (last error: {last})") };
                let why = format!("{}: not ready after {:?}: {what}{last}", program.command, self.timeout);
                return Err(stop_failed(&mut program, why).into());
            }
            thread::sleep(POLL);
        }
        self.programs.push(program);
        Ok(())
    }

    /// Stops a program this session started (SIGTERM, SIGKILL after the timeout) and reaps it.
    pub fn stop(&mut self, name: &str) -> Result<(), HarnessError> {
        let index = self
            .programs
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| format!("stop {name}: this session did not start it"))?;
        let mut program = self.programs.remove(index);
        terminate(&mut program.child, self.timeout).map_err(|e| format!("stop {}: {e}", program.command).into())
    }

    fn require_display(&self, program: &str) -> Result<(), HarnessError> {
        if self.display.is_some() {
            Ok(())
        } else {
            Err(format!("{program} needs a display: start the session with Session::with_display()").into())
        }
    }

    // ----- starters -----

    /// `kconf_update` in the session's HOME (kded5 blocks on its first-run update without it).
    /// Done once per session; the starters that need it call it.
    pub fn kconf_update(&mut self) -> Result<(), HarnessError> {
        if self.kconf_updated {
            return Ok(());
        }
        let program =
            find_kconf_update().ok_or_else(|| format!("kconf_update not found{}", package_hint("kconf_update")))?;
        let (log, file) = self.open_log("kconf_update")?;
        let mut cmd = self.command(&program);
        cmd.stdout(file.try_clone().map_err(|e| format!("dup {}: {e}", log.display()))?).stderr(file);
        let line = self.describe(&cmd);
        let status = status_with_timeout(&mut cmd, self.timeout).map_err(|e| format!("{line}: {e}"))?;
        if !status.success() {
            return Err(with_log(format!("{line}: {status}"), &log).into());
        }
        self.kconf_updated = true;
        Ok(())
    }

    /// `kwin_x11 --replace` on the session's Xvfb (Mesa llvmpipe); ready when
    /// org.kde.KWin answers `supportInformation` and it says "Compositing is active".
    pub fn start_kwin(&mut self) -> Result<(), HarnessError> {
        self.require_display("kwin_x11")?;
        let mut cmd = self.command("kwin_x11");
        cmd.arg("--replace").env("LIBGL_ALWAYS_SOFTWARE", "1");
        self.start_program("kwin_x11", cmd, "org.kde.KWin answers supportInformation with compositing active", |s| {
            if !s.name_has_owner(KWIN_SERVICE)? {
                return Ok(false);
            }
            let info = s.kwin_support_information()?;
            Ok(info.lines().any(|l| l.trim() == "Compositing is active"))
        })
    }

    /// org.kde.KWin /KWin supportInformation.
    pub fn kwin_support_information(&self) -> Result<String, HarnessError> {
        self.call(&[KWIN_SERVICE, "/KWin", "org.kde.KWin.supportInformation"])
    }

    /// org.kde.KWin /KWin reconfigure, then waits until `supportInformation` satisfies `check`
    /// (reconfigure returns before KWin re-read its config, so `check` must test for the new
    /// value, not merely succeed). Returns the new supportInformation.
    pub fn kwin_reconfigure_until(&self, mut check: impl FnMut(&str) -> bool) -> Result<String, HarnessError> {
        self.call(&[KWIN_SERVICE, "/KWin", "org.kde.KWin.reconfigure"])?;
        let mut info = String::new();
        self.wait_until("KWin's supportInformation shows the new configuration", || {
            info = self.kwin_support_information()?;
            Ok(check(&info))
        })?;
        Ok(info)
    }

    /// KWin's `loadedEffects` property (/Effects org.kde.kwin.Effects).
    pub fn kwin_loaded_effects(&self) -> Result<Vec<String>, HarnessError> {
        self.property_strings(KWIN_SERVICE, "/Effects", "org.kde.kwin.Effects", "loadedEffects")
    }

    /// `baloo_file`; ready when org.kde.baloo is owned. Debian's default has indexing off
    /// (baloo_file prints "Baloo File Indexing has been disabled" and exits 0), so unless
    /// baloofilerc already has an Indexing-Enabled key in [Basic Settings], `Indexing-Enabled=true`
    /// is added there first. It then indexes the (empty) temporary HOME.
    pub fn start_baloo(&mut self) -> Result<(), HarnessError> {
        let rc = self.config_file("baloofilerc");
        enable_baloo_indexing(&rc).map_err(|e| format!("edit {}: {e}", rc.display()))?;
        let cmd = self.command("baloo_file");
        self.start_program("baloo_file", cmd, "org.kde.baloo is owned", |s| s.name_has_owner(BALOO_SERVICE))
    }

    /// `dunst -config <dunstrc>` on the session's display; ready when org.freedesktop.Notifications
    /// is owned by it. The dunstrc holds dunst's defaults except `stack_duplicates = false` (so
    /// each notification counts) and a rule whose script records every notification for
    /// [`Session::dunst_notifications`].
    pub fn start_notification_server(&mut self) -> Result<(), HarnessError> {
        self.require_display("dunst")?;
        let record = self.logs.join("dunst-notifications.log");
        let script = self.root.join("dunst-record.sh");
        let script_text = format!(
            "#!/bin/sh\n# dunst runs this for each notification (rule ballast_record in dunstrc).\n\
             printf 'id=%s\\037urgency=%s\\037appname=%s\\037summary=%s\\037body=%s\\037category=%s\\037icon=%s\\037timeout=%s\\036\\n' \
             \"$DUNST_ID\" \"$DUNST_URGENCY\" \"$DUNST_APP_NAME\" \"$DUNST_SUMMARY\" \"$DUNST_BODY\" \"$DUNST_CATEGORY\" \
             \"$DUNST_ICON_PATH\" \"$DUNST_TIMEOUT\" >> '{}'\n",
            record.display()
        );
        fs::write(&script, script_text).map_err(HarnessError::io(format!("write {}", script.display())))?;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
            .map_err(HarnessError::io(format!("chmod {}", script.display())))?;
        let conf = self.root.join("dunstrc");
        let conf_text = format!(
            "# Written by testbed/src/harness/desktop.rs: dunst's defaults, plus these.\n\
             [global]\n    stack_duplicates = false\n\n\
             [ballast_record]\n    script = {}\n",
            script.display()
        );
        fs::write(&conf, conf_text).map_err(HarnessError::io(format!("write {}", conf.display())))?;
        let mut cmd = self.command("dunst");
        cmd.arg("-config").arg(&conf);
        self.start_program("dunst", cmd, "org.freedesktop.Notifications is owned", |s| {
            s.name_has_owner(NOTIFICATIONS_SERVICE)
        })?;
        let ours = self.pid("dunst").unwrap_or(0);
        match self.name_owner_pid(NOTIFICATIONS_SERVICE) {
            Ok(owner) if owner == ours => Ok(()),
            Ok(owner) => {
                let _ = self.stop("dunst");
                Err(format!("org.freedesktop.Notifications is owned by pid {owner}, not by our dunst (pid {ours}): something D-Bus-activated another server first").into())
            }
            Err(e) => Err(e),
        }
    }

    /// `dunstctl history` (JSON as busctl --json=pretty prints it). Lists only notifications
    /// that were closed or expired: call [`Session::dunst_close_all`] first to move the displayed
    /// ones there. Needs busctl (package systemd).
    pub fn dunst_history(&self) -> Result<String, HarnessError> {
        self.run("dunstctl", &["history"])
    }

    /// `dunstctl count`, parsed.
    pub fn dunst_count(&self) -> Result<DunstCount, HarnessError> {
        let out = self.run("dunstctl", &["count"])?;
        let mut count = DunstCount::default();
        for line in out.lines() {
            let Some((label, value)) = line.split_once(':') else {
                continue;
            };
            let value: u32 = value.trim().parse().map_err(|_| format!("dunstctl count: unexpected line {line:?}"))?;
            match label.trim() {
                "Waiting" => count.waiting = value,
                "Currently displayed" => count.displayed = value,
                "History" => count.history = value,
                _ => {}
            }
        }
        Ok(count)
    }

    /// `dunstctl close-all`: displayed notifications move to the history.
    pub fn dunst_close_all(&self) -> Result<(), HarnessError> {
        self.run("dunstctl", &["close-all"]).map(|_| ())
    }

    /// Every notification dunst showed, with its urgency, in arrival order.
    pub fn dunst_notifications(&self) -> Vec<DunstNotification> {
        let text = fs::read_to_string(self.logs.join("dunst-notifications.log")).unwrap_or_default();
        parse_dunst_records(&text)
    }

    /// Waits until dunst showed at least `count` notifications, and returns them all.
    pub fn wait_dunst_notifications(&self, count: usize) -> Result<Vec<DunstNotification>, HarnessError> {
        let mut seen = Vec::new();
        self.wait_until(&format!("dunst recorded {count} notification(s)"), || {
            seen = self.dunst_notifications();
            Ok(seen.len() >= count)
        })
        .map_err(|e| format!("{e}; recorded: {seen:?}"))?;
        Ok(seen)
    }

    /// kded5 (QT_QPA_PLATFORM=offscreen) with its statusnotifierwatcher module loaded; ready when
    /// org.kde.StatusNotifierWatcher is owned. Runs kconf_update first.
    pub fn start_tray_watcher(&mut self) -> Result<(), HarnessError> {
        self.kconf_update()?;
        let mut cmd = self.command("kded5");
        cmd.env("QT_QPA_PLATFORM", "offscreen");
        self.start_program("kded5", cmd, "org.kde.kded5 answers loadedModules", |s| {
            Ok(s.name_has_owner(KDED_SERVICE)?
                && s.call(&[KDED_SERVICE, "/kded", "org.kde.kded5.loadedModules"]).is_ok())
        })?;
        let loaded = self.call(&[KDED_SERVICE, "/kded", "org.kde.kded5.loadModule", "string:statusnotifierwatcher"])?;
        if loaded != "boolean true" {
            let why =
                format!("kded5 loadModule statusnotifierwatcher answered {loaded:?} (is plasma-workspace installed?)");
            return Err(with_log(why, &self.logs.join("kded5.log")).into());
        }
        self.wait_for_name(WATCHER_SERVICE)
    }

    /// Ends kded5 (SIGTERM) and waits until org.kde.StatusNotifierWatcher is gone.
    pub fn stop_tray_watcher(&mut self) -> Result<(), HarnessError> {
        self.stop("kded5")?;
        self.wait_for_name_gone(WATCHER_SERVICE)
    }

    /// The watcher goes away and comes back (a new kded5): items must register again.
    pub fn restart_tray_watcher(&mut self) -> Result<(), HarnessError> {
        self.stop_tray_watcher()?;
        self.start_tray_watcher()
    }

    /// The watcher's RegisteredStatusNotifierItems.
    pub fn tray_items(&self) -> Result<Vec<String>, HarnessError> {
        self.property_strings(
            WATCHER_SERVICE,
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        )
    }

    // ----- teardown -----

    fn shutdown(&mut self) {
        let grace = Duration::from_secs(3);
        let infrastructure: Vec<u32> = self.xvfb.iter().chain(self.bus.iter()).map(|p| p.child.id()).collect();
        // Clients first, so they do not spin on a vanished bus or display.
        signal_marked(&self.marker, libc::SIGTERM, &infrastructure);
        self.wait_marked_gone(grace, &infrastructure);
        signal_marked(&self.marker, libc::SIGTERM, &[]);
        self.wait_marked_gone(grace, &[]);
        for _ in 0..3 {
            if processes_with_marker(&self.marker).is_empty() {
                break;
            }
            signal_marked(&self.marker, libc::SIGKILL, &[]);
            self.wait_marked_gone(grace, &[]);
        }
        for program in self.programs.iter_mut().chain(self.xvfb.iter_mut()).chain(self.bus.iter_mut()) {
            let _ = program.child.kill();
            let _ = program.child.wait();
        }
        self.programs.clear();
        self.xvfb = None;
        self.bus = None;
        if let Some(dir) = self.dir.take() {
            if std::env::var(KEEP_VAR).map(|v| !v.is_empty() && v != "0").unwrap_or(false) {
                eprintln!("desktop session kept in {}", dir.keep().display());
            } else if let Err(e) = dir.close() {
                eprintln!("desktop session: removing {}: {e}", self.root.display());
            }
        }
    }

    /// Waits until no marked process is left (other than `except`), reaping our own children.
    fn wait_marked_gone(&mut self, grace: Duration, except: &[u32]) {
        let deadline = Instant::now() + grace;
        loop {
            for program in self.programs.iter_mut() {
                let _ = program.child.try_wait();
            }
            let left = processes_with_marker(&self.marker);
            if left.iter().all(|(pid, _)| except.contains(pid)) || Instant::now() >= deadline {
                return;
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Never panic in Drop: a panic here during unwinding would abort the test binary.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.shutdown()));
        if result.is_err() {
            eprintln!("desktop session: teardown panicked; processes may be left: {}", self.marker);
        }
    }
}

/// A background `dbus-monitor`; ended on drop. Its output lives in the session's directory:
/// drop it before the [`Session`] (declare it after the session).
pub struct Monitor {
    child: Child,
    path: PathBuf,
    command: String,
    timeout: Duration,
}

impl Monitor {
    fn raw(&self) -> String {
        fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// What dbus-monitor printed so far, without the harness's probe signals and the monitor's
    /// own NameAcquired/NameLost.
    pub fn text(&self) -> String {
        filter_monitor_output(&self.raw())
    }

    /// Waits until [`Monitor::text`] contains `needle`; returns the text.
    pub fn wait_for(&self, needle: &str) -> Result<String, HarnessError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() >= deadline {
                return Err(
                    format!("{}: no {needle:?} within {:?}; captured:\n{text}", self.command, self.timeout).into()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Ends dbus-monitor and returns everything it captured.
    pub fn stop(mut self) -> String {
        let _ = terminate(&mut self.child, Duration::from_secs(2));
        self.text()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- helpers (free functions, usable without a session) -----

/// `key: value` of a supportInformation line, e.g. `support_value(&info, "glSmoothScale")`.
pub fn support_value(info: &str, key: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (k, v) = line.trim().split_once(':')?;
        (k == key).then(|| v.trim().to_owned())
    })
}

/// The list under a supportInformation heading such as `Loaded Effects` or `Currently Active
/// Effects` (the lines between the dashes and the next blank line or heading).
pub fn support_section(info: &str, heading: &str) -> Vec<String> {
    let mut lines = info.lines().map(str::trim).skip_while(|l| *l != format!("{heading}:"));
    if lines.next().is_none() {
        return Vec::new();
    }
    lines
        .skip_while(|l| l.chars().all(|c| c == '-') && !l.is_empty())
        .take_while(|l| !l.is_empty() && !l.ends_with(':'))
        .map(str::to_owned)
        .collect()
}

/// The values of `string "..."` lines of a typed dbus-send reply.
pub fn reply_strings(typed: &str) -> Vec<String> {
    typed
        .lines()
        .filter_map(|line| {
            let start = line.find("string \"")? + "string \"".len();
            let end = line.rfind('"')?;
            (end >= start).then(|| line[start..end].to_owned())
        })
        .collect()
}

fn parse_dunst_records(text: &str) -> Vec<DunstNotification> {
    text.split("\u{1e}\n")
        .filter(|r| !r.trim().is_empty())
        .map(|record| {
            let mut n = DunstNotification::default();
            for field in record.split('\u{1f}') {
                let Some((key, value)) = field.split_once('=') else {
                    continue;
                };
                let value = value.to_owned();
                match key {
                    "id" => n.id = value.parse().unwrap_or(0),
                    "urgency" => n.urgency = value,
                    "appname" => n.app_name = value,
                    "summary" => n.summary = value,
                    "body" => n.body = value,
                    "category" => n.category = value,
                    "icon" => n.icon_path = value,
                    "timeout" => n.timeout_ms = value,
                    _ => {}
                }
            }
            n
        })
        .collect()
}

/// Drops the probe signals and dbus-monitor's own NameAcquired/NameLost blocks.
fn filter_monitor_output(raw: &str) -> String {
    let mut out = String::new();
    let mut block = String::new();
    let flush = |block: &mut String, out: &mut String| {
        let header = block.lines().next().unwrap_or("");
        let own_name_signal = header.contains("sender=org.freedesktop.DBus")
            && (header.contains("member=NameAcquired") || header.contains("member=NameLost"))
            && header
                .split_whitespace()
                .find_map(|w| w.strip_prefix("destination="))
                .is_some_and(|dest| block.contains(&format!("string \"{dest}\"")));
        if !header.contains(PROBE_INTERFACE) && !own_name_signal {
            out.push_str(block);
        }
        block.clear();
    };
    for line in raw.split_inclusive('\n') {
        if !line.starts_with(char::is_whitespace) && !block.is_empty() {
            flush(&mut block, &mut out);
        }
        block.push_str(line);
    }
    if !block.is_empty() {
        flush(&mut block, &mut out);
    }
    out
}

/// Adds `Indexing-Enabled=true` to [Basic Settings] unless that group already sets the key.
fn enable_baloo_indexing(rc: &Path) -> io::Result<()> {
    let text = match fs::read_to_string(rc) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut out = String::new();
    let mut in_group = false;
    let mut found_group = false;
    let mut has_key = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_group = trimmed == "[Basic Settings]";
            found_group |= in_group;
            out.push_str(line);
            out.push('\n');
            if in_group {
                out.push_str("Indexing-Enabled=true\n");
            }
            continue;
        }
        if in_group && trimmed.split('=').next().map(str::trim) == Some("Indexing-Enabled") {
            has_key = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    if has_key {
        return Ok(()); // the test chose; leave the file alone
    }
    if !found_group {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str("[Basic Settings]\nIndexing-Enabled=true\n");
    }
    fs::write(rc, out)
}

fn find_kconf_update() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(entries) = fs::read_dir("/usr/lib") {
        for entry in entries.flatten() {
            candidates.push(entry.path().join("libexec/kf5/kconf_update"));
        }
    }
    candidates.push("/usr/libexec/kf5/kconf_update".into());
    candidates.push("/usr/lib/kf5/kconf_update".into());
    if let Ok(path) = std::env::var("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("kconf_update")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn package_hint(program: &str) -> String {
    let base = program.rsplit('/').next().unwrap_or(program);
    let package = match base {
        "Xvfb" => "xvfb",
        "dbus-daemon" => "dbus-daemon",
        "dbus-send" | "dbus-monitor" => "dbus-bin",
        "kwin_x11" => "kwin-x11",
        "baloo_file" => "baloo-kf5",
        "dunst" | "dunstctl" => "dunst",
        "notify-send" => "libnotify-bin",
        "kded5" => "kded5 and plasma-workspace",
        "kconf_update" => "libkf5config-bin",
        "busctl" => "systemd",
        "gdbus" => "libglib2.0-bin",
        _ => return String::new(),
    };
    format!(" (Debian package {package})")
}

fn hint_for(line: &str, stderr: &str) -> String {
    if line.starts_with("dunstctl history") && stderr.contains("not running") {
        "\n(dunstctl history runs `busctl --user`: is the systemd package installed?)".to_owned()
    } else {
        String::new()
    }
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn with_log(why: String, log: &Path) -> String {
    format!("{why}\n--- {} (last 40 lines) ---\n{}", log.display(), log_tail(log))
}

/// Stops a program that failed to become ready, returning `why` with its log.
fn stop_failed(program: &mut Program, why: String) -> String {
    let _ = terminate(&mut program.child, Duration::from_secs(2));
    with_log(why, &program.log)
}

/// How our child `pid` ended, if it did, without reaping it (waitid WNOWAIT): `Child::try_wait`
/// still sees it later.
fn peek_exit(pid: u32) -> Option<String> {
    // SAFETY: waitid fills the zeroed siginfo_t; WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        if libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) != 0 || info.si_pid() == 0 {
            return None; // still running (or already reaped)
        }
        let status = info.si_status();
        Some(match info.si_code {
            libc::CLD_EXITED => format!("exit status {status}"),
            libc::CLD_KILLED | libc::CLD_DUMPED => format!("killed by signal {status}"),
            code => format!("ended (si_code {code}, status {status})"),
        })
    }
}

/// SIGTERM, then SIGKILL after `grace`; always reaps.
fn terminate(child: &mut Child, grace: Duration) -> Result<(), HarnessError> {
    if let Ok(Some(_)) = child.try_wait() {
        return Ok(());
    }
    // SAFETY: kill(2) on our own, not yet reaped child: the pid cannot have been reused.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().map(|_| ()).map_err(|e| format!("wait: {e}"))?;
    Err(format!("did not end within {grace:?} of SIGTERM; killed").into())
}

fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<(ExitStatus, String, String), HarnessError> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child =
        cmd.spawn().map_err(|e| format!("cannot start: {e}{}", package_hint(&cmd.get_program().to_string_lossy())))?;
    let mut out_pipe = child.stdout.take().expect("piped");
    let mut err_pipe = child.stderr.take().expect("piped");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = wait_with_deadline(&mut child, timeout)?;
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    Ok((status, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned()))
}

fn status_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<ExitStatus, HarnessError> {
    let mut child = cmd.spawn().map_err(|e| format!("cannot start: {e}"))?;
    wait_with_deadline(&mut child, timeout)
}

fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Result<ExitStatus, HarnessError> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {timeout:?}; killed").into());
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("wait: {e}").into()),
        }
    }
}

// ----- /proc scanning -----

/// Processes (pid, comm) whose environment holds `BALLAST_DESKTOP_SESSION=<marker>`.
pub fn processes_with_marker(marker: &str) -> Vec<(u32, String)> {
    let wanted = format!("{MARKER_VAR}={marker}");
    processes_with_env_entry(&wanted)
}

/// Processes (pid, comm) whose initial environment contains exactly `entry` (`KEY=value`),
/// e.g. `DBUS_SESSION_BUS_ADDRESS=...`. Zombies have no readable environment and are skipped.
pub fn processes_with_env_entry(entry: &str) -> Vec<(u32, String)> {
    let own = std::process::id();
    all_pids()
        .into_iter()
        .filter(|&pid| pid != own && environ_has(pid, entry.as_bytes()))
        .map(|pid| (pid, fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned()))
        .collect()
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|dir| dir.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

fn environ(pid: u32) -> Vec<u8> {
    fs::read(format!("/proc/{pid}/environ")).unwrap_or_default()
}

fn environ_has(pid: u32, entry: &[u8]) -> bool {
    environ(pid).split(|&b| b == 0).any(|e| e == entry)
}

/// Start time (clock ticks since boot) of a process, field 22 of /proc/<pid>/stat.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn own_start_time() -> u64 {
    start_time(std::process::id()).unwrap_or(0)
}

/// Sends `signal` to every process marked `marker` except `except`. Goes through a pidfd and
/// re-checks the environment after opening it, so a reused pid is never signalled.
fn signal_marked(marker: &str, signal: i32, except: &[u32]) {
    let wanted = format!("{MARKER_VAR}={marker}");
    for (pid, _) in processes_with_env_entry(&wanted) {
        if !except.contains(&pid) {
            signal_if(pid, signal, wanted.as_bytes());
        }
    }
}

fn signal_if(pid: u32, signal: i32, entry: &[u8]) {
    // SAFETY: plain syscalls on integers; the fd is closed before returning.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) as libc::c_int;
        if fd < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) && environ_has(pid, entry) {
                libc::kill(pid as libc::pid_t, signal);
            }
            return;
        }
        if environ_has(pid, entry) {
            libc::syscall(libc::SYS_pidfd_send_signal, fd, signal, std::ptr::null::<libc::siginfo_t>(), 0);
        }
        libc::close(fd);
    }
}

/// Ends processes of sessions whose owning test process is gone (a test binary that was killed
/// or aborted before Drop ran), and removes their directories under the temp dir.
fn reap_stale_sessions() {
    let prefix = format!("{MARKER_VAR}=");
    let mut stale: Vec<(u32, String)> = Vec::new();
    for pid in all_pids() {
        let env = environ(pid);
        let Some(value) = env.split(|&b| b == 0).find_map(|e| e.strip_prefix(prefix.as_bytes())) else {
            continue;
        };
        let value = String::from_utf8_lossy(value).into_owned();
        let mut parts = value.splitn(3, ':');
        let (Some(owner), Some(started)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(owner), Ok(started)) = (owner.parse::<u32>(), started.parse::<u64>()) else {
            continue;
        };
        if start_time(owner) != Some(started) {
            stale.push((pid, value)); // its test process is gone (a live one may be another binary)
        }
    }
    if stale.is_empty() {
        return;
    }
    let entries: Vec<String> = stale.iter().map(|(_, value)| format!("{prefix}{value}")).collect();
    for ((pid, _), entry) in stale.iter().zip(&entries) {
        signal_if(*pid, libc::SIGTERM, entry.as_bytes());
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && stale.iter().zip(&entries).any(|((pid, _), e)| environ_has(*pid, e.as_bytes())) {
        thread::sleep(POLL);
    }
    for ((pid, _), entry) in stale.iter().zip(&entries) {
        signal_if(*pid, libc::SIGKILL, entry.as_bytes());
    }
    let tmp = std::env::temp_dir();
    for (_, value) in &stale {
        let Some(dir) = value.splitn(3, ':').nth(2).map(PathBuf::from) else {
            continue;
        };
        let ours = dir.starts_with(&tmp)
            && dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("ballast-desktop-"));
        if ours && dir.exists() {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}
