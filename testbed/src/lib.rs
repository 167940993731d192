//! The real-desktop test world (DESIGN.md, "The test worlds" 4): a Debian trixie guest with
//! systemd as PID 1, cgroup v2 and a logged-in Plasma 6 Wayland session, booted in qemu from
//! an image built by `image.sh`. The host talks to the guest through the guest agent (commands
//! as root, or as the session user inside the user's systemd manager), a 9p share (`/mnt/host`
//! in the guest) and the monitor (screenshots as PNG, power off).
//!
//! Layout of a cache directory (default `$XDG_CACHE_HOME/ballast/testbed`): `debs/` (every
//! .deb the image was built from), `image/` (rootfs.img, vmlinuz, initrd.img, key). A run
//! directory holds the disposable qcow2 overlay, the sockets, the serial console log, the
//! share and qemu's pid.

pub mod atspi;
pub mod footprint;
pub mod harness;
pub mod notifications;
mod protocol;
pub mod screen;

use base64::Engine;
use protocol::Channel;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TestbedError {
    #[error("{program} failed: {detail}")]
    Program { program: String, detail: String },
    #[error("{path}: {detail}")]
    Socket { path: PathBuf, detail: String },
    #[error("{command}: {detail}")]
    Command { command: String, detail: String },
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a readable PNG: {reason}")]
    Image { path: PathBuf, reason: String },
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout { what: String, seconds: u64 },
}

/// The user Plasma logs in (SDDM autologin) and their uid.
pub const USER: &str = "tester";
pub const UID: u32 = 1000;
/// Where the run directory's `share/` appears in the guest.
pub const GUEST_SHARE: &str = "/mnt/host";

/// The default cache directory: `$BALLAST_CACHE/testbed`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/ballast/testbed`.
pub fn default_cache() -> PathBuf {
    let base = std::env::var_os("BALLAST_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        });
        cache.join("ballast")
    });
    base.join("testbed")
}

/// The built image's files.
pub struct Image {
    pub rootfs: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The image's file tree, to chroot into.
    pub root: PathBuf,
}

/// Builds the image under `cache` (or reuses it when image.sh is unchanged): debootstrap and
/// apt in a chroot, then `mkfs.ext4 -d`. Needs root, debootstrap and e2fsprogs. Progress goes
/// to stderr. One build at a time: under flock(1) on `cache`/lock, which .ci/run takes too
/// when it builds the image beside the compiler; a second build waits, then finds it done.
pub fn build_image(cache: &Path) -> Result<Image, TestbedError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("image.sh");
    std::fs::create_dir_all(cache).map_err(|source| TestbedError::File { path: cache.to_owned(), source })?;
    run(Command::new("flock").arg(cache.join("lock")).arg("bash").arg(&script).arg(cache))?;
    let dir = cache.join("image");
    Ok(Image {
        rootfs: dir.join("rootfs.img"),
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.img"),
        root: dir.join("root"),
    })
}

/// Runs a host program; its stdout, or an error with its stderr.
fn run(command: &mut Command) -> Result<String, TestbedError> {
    let program = format!("{:?}", command.get_program());
    let out = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| TestbedError::Program { program: program.clone(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(TestbedError::Program { program, detail: out.status.to_string() });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a command in the guest printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// A booted guest. Dropping it does not stop qemu: call [`Vm::power_off`] (tests) or keep it
/// running for later `attach`es (the `testbed up` command).
pub struct Vm {
    dir: PathBuf,
}

/// Whether /dev/kvm can run a guest here; TCG otherwise (FACTS.md: this host's kvm_pvm
/// cannot run a stock kernel, so KVM is used only when BALLAST_TESTBED_KVM=1 says it works).
fn accelerator() -> &'static str {
    if std::env::var_os("BALLAST_TESTBED_KVM").is_some_and(|v| v == "1") {
        "kvm"
    } else {
        "tcg,thread=multi"
    }
}

impl Vm {
    /// Boots `image` with a fresh overlay in `dir` (created; an old run there is removed), to
    /// multi-user.target: no one is logged in until `login`, so what a user installs before
    /// logging in is there at the first login.
    pub fn boot(image: &Image, dir: &Path) -> Result<Vm, TestbedError> {
        let _ = Vm::attach(dir).power_off();
        let _ = std::fs::remove_dir_all(dir);
        let share = dir.join("share");
        std::fs::create_dir_all(&share).map_err(|source| TestbedError::File { path: share.clone(), source })?;
        let overlay = dir.join("overlay.qcow2");
        run(Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(&image.rootfs)
            .arg(&overlay))?;
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        run(Command::new("qemu-system-x86_64")
            .args(["-accel", accelerator(), "-cpu", "max", "-smp", "2", "-m", "4096", "-nic", "none"])
            .args(["-kernel", &image.kernel.to_string_lossy(), "-initrd", &image.initrd.to_string_lossy()])
            .args(["-append", "root=/dev/vda rw console=ttyS0 quiet systemd.unit=multi-user.target"])
            .args(["-drive", &format!("file={},if=virtio,format=qcow2", path("overlay.qcow2"))])
            .args(["-device", "virtio-vga", "-display", "none"])
            .args(["-virtfs", &format!("local,path={},mount_tag=host,security_model=none", share.display())])
            .args(["-chardev", &format!("socket,path={},server=on,wait=off,id=qga0", path("qga.sock"))])
            .args(["-device", "virtio-serial", "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"])
            .args(["-qmp", &format!("unix:{},server=on,wait=off", path("qmp.sock"))])
            .args(["-serial", &format!("file:{}", path("console.log"))])
            .args(["-pidfile", &path("qemu.pid"), "-daemonize"]))?;
        Ok(Vm { dir: dir.to_path_buf() })
    }

    /// A guest that `boot` started earlier in `dir`.
    pub fn attach(dir: &Path) -> Vm {
        Vm { dir: dir.to_path_buf() }
    }

    /// The host side of the guest's /mnt/host.
    pub fn share(&self) -> PathBuf {
        self.dir.join("share")
    }

    fn monitor(&self) -> Result<Channel, TestbedError> {
        let mut monitor = Channel::connect(&self.dir.join("qmp.sock"), Duration::from_secs(30))?;
        monitor.read()?;
        monitor.execute("qmp_capabilities", Value::Null)?;
        Ok(monitor)
    }

    fn agent(&self, timeout: Duration) -> Result<Channel, TestbedError> {
        let mut agent = Channel::connect(&self.dir.join("qga.sock"), timeout)?;
        let id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_micros() as u64 % 1_000_000_000);
        agent.sync_guest_agent(id)?;
        Ok(agent)
    }

    /// Waits until the guest agent answers (the guest booted to multi-user).
    pub fn wait_for_agent(&self, timeout: Duration) -> Result<(), TestbedError> {
        wait(&format!("the guest agent (console: {})", self.dir.join("console.log").display()), timeout, || {
            Ok(self.agent(Duration::from_secs(3)).is_ok())
        })
    }

    /// Runs `argv` in the guest as root and waits for it (at most `timeout`). Programs that
    /// stay in the background must not keep stdout/stderr open: the agent waits for them.
    pub fn exec(&self, argv: &[&str], timeout: Duration) -> Result<Output, TestbedError> {
        let mut agent = self.agent(Duration::from_secs(10))?;
        let started =
            agent.execute("guest-exec", json!({ "path": argv[0], "arg": &argv[1..], "capture-output": true }))?;
        let pid = started["pid"].clone();
        let what = argv.join(" ");
        let deadline = Instant::now() + timeout;
        loop {
            let status = agent.execute("guest-exec-status", json!({ "pid": pid }))?;
            if status["exited"].as_bool() == Some(true) {
                // The agent keeps at most 16 MiB of each stream (qga GUEST_EXEC_MAX_OUTPUT):
                // a part is not passed off as the whole.
                if status["out-truncated"].as_bool() == Some(true) || status["err-truncated"].as_bool() == Some(true) {
                    return Err(TestbedError::Command {
                        command: what,
                        detail: "its output was cut at the guest agent's 16 MiB".into(),
                    });
                }
                let text = |key: &str| {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(status[key].as_str().unwrap_or_default())
                        .unwrap_or_default();
                    String::from_utf8_lossy(&bytes).into_owned()
                };
                let code =
                    status["exitcode"].as_i64().or_else(|| status["signal"].as_i64().map(|s| 128 + s)).unwrap_or(-1);
                return Ok(Output { code, stdout: text("out-data"), stderr: text("err-data") });
            }
            if Instant::now() > deadline {
                return Err(TestbedError::Timeout { what, seconds: timeout.as_secs() });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A shell command as the session user, in a transient unit of the user's systemd manager
    /// (so with the session's environment: WAYLAND_DISPLAY, DISPLAY, the session bus).
    pub fn exec_user(&self, script: &str, timeout: Duration) -> Result<Output, TestbedError> {
        let runtime = format!("XDG_RUNTIME_DIR=/run/user/{UID}");
        let bus = format!("DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{UID}/bus");
        self.exec(
            &[
                "/usr/sbin/runuser",
                "-u",
                USER,
                "--",
                "/usr/bin/env",
                &runtime,
                &bus,
                "systemd-run",
                "--user",
                "--quiet",
                "--wait",
                "--pipe",
                "--collect",
                "--",
                "/bin/bash",
                "-c",
                script,
            ],
            timeout,
        )
    }

    /// Installs ballast as a user has it: `binaries` (ballast, ballast-dashboard) through the
    /// share into ~/.local/bin, then `ballast autostart enable`. The next login starts it.
    /// Before the first login the user's systemd manager is started for it (as lingering
    /// does); `login` stops it again.
    pub fn install_ballast(&self, binaries: &[&Path]) -> Result<(), TestbedError> {
        self.root_script(&format!("systemctl start user@{UID}.service"))?;
        let mut names = Vec::new();
        for binary in binaries {
            let name = binary.file_name().ok_or_else(|| TestbedError::File {
                path: binary.to_path_buf(),
                source: std::io::ErrorKind::InvalidInput.into(),
            })?;
            let copy = self.share().join(name);
            std::fs::copy(binary, &copy).map_err(|source| TestbedError::File { path: copy, source })?;
            names.push(format!("{GUEST_SHARE}/{}", name.to_string_lossy()));
        }
        let script =
            format!("install -D -m 755 -t ~/.local/bin {} && ~/.local/bin/ballast autostart enable", names.join(" "));
        succeeded(&script, self.exec_user(&script, Duration::from_secs(300))?)
    }

    /// Waits until Plasma's session is up: plasmashell owns org.freedesktop.Notifications and
    /// the StatusNotifierWatcher answers.
    pub fn wait_for_session(&self, timeout: Duration) -> Result<(), TestbedError> {
        self.wait_for_agent(timeout)?;
        wait(
            "the Plasma session (plasmashell's notification server and kded6's StatusNotifierWatcher)",
            timeout,
            || {
                let out = self.exec_user("busctl --user status org.freedesktop.Notifications | grep -q '^Comm=plasmashell' && busctl --user status org.kde.StatusNotifierWatcher >/dev/null", Duration::from_secs(30));
                Ok(out.is_ok_and(|o| o.success()))
            },
        )
    }

    /// Logs the session user in anew (SDDM's autologin, its session as
    /// /etc/sddm.conf.d/autologin.conf names it) and waits for the Plasma session. A session
    /// of theirs ends first, and their systemd user manager with it, so the login starts a
    /// fresh manager, as the first login after a boot does. A guest still booting is waited
    /// for.
    pub fn login(&self, timeout: Duration) -> Result<(), TestbedError> {
        self.wait_for_agent(timeout)?;
        let logout = format!(
            "systemctl stop display-manager.service; loginctl terminate-user {USER} 2>/dev/null; systemctl stop user@{UID}.service"
        );
        self.root_script(&logout)?;
        wait("the user's systemd manager to stop", Duration::from_secs(120), || {
            let state = self
                .exec(&["/usr/bin/systemctl", "is-active", &format!("user@{UID}.service")], Duration::from_secs(30))?;
            Ok(matches!(state.stdout.trim(), "inactive" | "failed"))
        })?;
        self.root_script("systemctl start display-manager.service")?;
        self.wait_for_session(timeout)
    }

    /// A shell command as root that must succeed.
    fn root_script(&self, script: &str) -> Result<(), TestbedError> {
        succeeded(script, self.exec(&["/bin/sh", "-c", script], Duration::from_secs(180))?)
    }

    /// The guest's screen as a PNG file.
    pub fn screenshot(&self, png: &Path) -> Result<(), TestbedError> {
        self.monitor()?.execute("screendump", json!({ "filename": png.to_string_lossy(), "format": "png" }))?;
        Ok(())
    }

    /// Stops qemu at once (the overlay is disposable).
    pub fn power_off(&self) -> Result<(), TestbedError> {
        let result = self.monitor().and_then(|mut m| m.execute("quit", Value::Null).map(|_| ()));
        let pid_file = self.dir.join("qemu.pid");
        let _ = wait("qemu to exit", Duration::from_secs(10), || Ok(!pid_file.exists()));
        result
    }
}

/// `out` of `command`, an error with its output unless it succeeded.
fn succeeded(command: &str, out: Output) -> Result<(), TestbedError> {
    if out.success() {
        Ok(())
    } else {
        Err(TestbedError::Command { command: command.to_owned(), detail: format!("{}{}", out.stdout, out.stderr) })
    }
}

/// Polls `done` every second until it says true or `timeout` passes.
pub fn wait(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> Result<bool, TestbedError>,
) -> Result<(), TestbedError> {
    let deadline = Instant::now() + timeout;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(TestbedError::Timeout { what: what.to_owned(), seconds: timeout.as_secs() });
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
