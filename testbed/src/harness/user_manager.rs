//! A real `systemd --user` manager for tests, run for an unprivileged test user on a host whose
//! PID 1 is not systemd (containers, CI).
//!
//! Each [`UserManager`] owns a cgroup `/<name>/{mgr,session}` in every hierarchy the manager
//! needs, a directory `/tmp/<name>/{runtime,home}` and the manager process; instances share only
//! the test user, so tests may start them from parallel threads and test binaries. The manager
//! runs in a private mount namespace where `/run/systemd/system` exists (the "booted with
//! systemd" test); the host's `/run` is never changed. Clients made by [`UserManager::command`]
//! start in `/<name>/session`, a cgroup the user owns, so the manager may move them into scopes.
//!
//! Needs root, writable cgroup hierarchies under /sys/fs/cgroup, and the Debian packages
//! `systemd`, `dbus-user-session` and `passwd` (useradd). Every path from /tmp, and the path
//! to any program the test user runs, must be searchable by that user.

use crate::harness::HarnessError;
use std::collections::BTreeSet;
use std::ffi::{CString, OsStr};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

const TEST_USER: &str = "ballast-test";
/// Prefix of every instance's cgroup and directory name: `<prefix><pid>-<starttime>-<seq>`.
const INSTANCE_PREFIX: &str = "ballast-usermgr-";
const INSTANCE_PARENT: &str = "/tmp";
/// Serializes creating the test user across threads and test binaries.
const USER_LOCK: &str = "/tmp/ballast-usermgr.lock";
const USERADD: &str = "/usr/sbin/useradd";
const SYSTEMD: &str = "/lib/systemd/systemd";
/// The session bus the manager socket-activates at $XDG_RUNTIME_DIR/bus.
const DBUS_USER_SOCKET: &str = "/usr/lib/systemd/user/dbus.socket";
const SEARCH_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// v1 hierarchies the manager gets a delegated cgroup in (with the cgroup2 one, if mounted).
/// The manager moves itself into init.scope in each and enforces limits through them.
const DELEGATED_V1: &[&str] = &["name=systemd", "memory", "cpu", "cpuacct", "pids"];
/// cgroup2 controllers enabled below the instance cgroup on a host where cgroup2 has them.
const DELEGATED_V2: &[&str] = &["cpu", "io", "memory", "pids"];
const READY_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_GRACE: Duration = Duration::from_secs(2);
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(5);
const LOG_TAIL_BYTES: usize = 4000;

static NEXT_SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A running `systemd --user` for the test user; [`Drop`] removes every trace of it.
pub struct UserManager {
    name: String,
    uid: u32,
    gid: u32,
    instance_dir: PathBuf,
    runtime_dir: PathBuf,
    home_dir: PathBuf,
    /// Every cgroup mount, so `cgroup_dir` can also map hierarchies nothing was delegated in.
    hierarchies: Vec<Hierarchy>,
    /// None until spawned, so a failed `start` tears down through Drop too.
    manager: Option<Child>,
}

impl UserManager {
    /// Creates the test user if missing, removes leftovers of killed test runs, and starts a
    /// manager that answers on its bus. An Err says what is missing or what failed (with the
    /// manager's log); a test may treat "needs root" / "not writable" as a reason to skip.
    pub fn start() -> Result<UserManager, HarnessError> {
        check_prerequisites()?;
        let hierarchies = mounted_hierarchies()?;
        if !hierarchies.iter().any(Hierarchy::is_delegated) {
            return Err(format!(
                "no cgroup hierarchy to delegate in /proc/self/mountinfo (need cgroup2 or v1 {})",
                DELEGATED_V1.join(", ")
            )
            .into());
        }
        remove_stale_instances(&hierarchies);
        let (uid, gid) = ensure_test_user()?;

        let name = format!(
            "{INSTANCE_PREFIX}{}-{}-{}",
            std::process::id(),
            process_start_time(std::process::id())?,
            NEXT_SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        let instance_dir = Path::new(INSTANCE_PARENT).join(&name);
        let mut instance = UserManager {
            runtime_dir: instance_dir.join("runtime"),
            home_dir: instance_dir.join("home"),
            instance_dir,
            name,
            uid,
            gid,
            hierarchies,
            manager: None,
        };
        instance.create_directories()?;
        instance.create_cgroups()?;
        instance.spawn_manager()?;
        instance.wait_until_ready()?;
        Ok(instance)
    }

    /// A command that runs as the test user inside this instance's session cgroup, with only
    /// HOME, USER, PATH, XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS set, in HOME. Do not call
    /// `uid`/`gid`/`groups` on it: the pre_exec hook drops privileges itself, after moving the
    /// child into the session cgroups (which needs root on cgroup2).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let session_procs = self.cgroup_procs_files("session");
        let (uid, gid) = (self.uid, self.gid);
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("HOME", &self.home_dir)
            .env("USER", TEST_USER)
            .env("PATH", SEARCH_PATH)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus_address())
            .current_dir(&self.home_dir);
        // SAFETY: the hook only makes async-signal-safe syscalls on data prepared before fork.
        unsafe {
            command.pre_exec(move || {
                enter_cgroups(&session_procs)?;
                drop_privileges(uid, gid)
            });
        }
        command
    }

    /// `unix:path=$XDG_RUNTIME_DIR/bus`, the session bus of this manager.
    pub fn bus_address(&self) -> String {
        format!("unix:path={}", self.runtime_dir.join("bus").display())
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// XDG_RUNTIME_DIR of this instance (0700, owned by the test user).
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    /// HOME of this instance (0700, owned by the test user, empty at start).
    pub fn home_dir(&self) -> &Path {
        &self.home_dir
    }

    /// Directory of a unit's cgroup in one hierarchy. `control_group` is the unit's
    /// ControlGroup property as the manager reports it: an absolute path from the hierarchy
    /// root, e.g. `/<name>/mgr/app.slice/x.scope`. `controller` names a v1 hierarchy by its
    /// controllers ("memory", "cpu", "cpu,cpuacct", "systemd" for name=systemd) or "unified"
    /// for cgroup2; on a pure cgroup2 host any controller cgroup2 offers maps to it. On v1 the
    /// manager creates a unit's cgroup only in the hierarchies its settings need (a scope
    /// without CPU settings stays in app.slice for "cpu"), so the directory may not exist.
    /// Panics if no mounted hierarchy matches.
    pub fn cgroup_dir(&self, controller: &str, control_group: &str) -> PathBuf {
        let hierarchy = self
            .hierarchies
            .iter()
            .find(|h| h.matches_v1(controller))
            .or_else(|| self.hierarchies.iter().find(|h| h.matches_v2(controller)))
            .unwrap_or_else(|| {
                let mounted: Vec<_> = self.hierarchies.iter().map(|h| &h.mount_point).collect();
                panic!("no cgroup hierarchy for controller {controller:?} among {mounted:?}")
            });
        hierarchy.mount_point.join(control_group.trim_start_matches('/'))
    }

    fn create_directories(&self) -> Result<(), HarnessError> {
        make_dir(&self.instance_dir, 0o755, None)?;
        make_dir(&self.runtime_dir, 0o700, Some((self.uid, self.gid)))?;
        make_dir(&self.home_dir, 0o700, Some((self.uid, self.gid)))
    }

    /// `/<name>/{mgr,session}` in every delegated hierarchy, all owned by the test user: on
    /// cgroup2 the user must own the common parent to move PIDs from session into mgr.
    fn create_cgroups(&self) -> Result<(), HarnessError> {
        for hierarchy in self.hierarchies.iter().filter(|h| h.is_delegated()) {
            let base = hierarchy.mount_point.join(&self.name);
            fs::create_dir(&base).map_err(|e| {
                format!("cannot create cgroup {}: {e} (needs root and a writable /sys/fs/cgroup)", base.display())
            })?;
            if hierarchy.v1_options.is_none() {
                enable_v2_controllers(&hierarchy.mount_point, &base)?;
            }
            for child in ["mgr", "session"] {
                let dir = base.join(child);
                fs::create_dir(&dir).map_err(HarnessError::io(format!("mkdir {}", dir.display())))?;
            }
            chown_tree(&base, self.uid, self.gid)?;
        }
        Ok(())
    }

    fn spawn_manager(&mut self) -> Result<(), HarnessError> {
        let log_path = self.log_path();
        let log = File::create(&log_path).map_err(HarnessError::io(format!("create {}", log_path.display())))?;
        let log_err = log.try_clone().map_err(|e| format!("dup {}: {e}", log_path.display()))?;
        let namespace = PrivateBootedRun::for_host()?;
        let mgr_procs = self.cgroup_procs_files("mgr");
        let (uid, gid) = (self.uid, self.gid);

        let mut command = Command::new(SYSTEMD);
        command
            .arg("--user")
            .env_clear()
            .env("HOME", &self.home_dir)
            .env("USER", TEST_USER)
            .env("PATH", SEARCH_PATH)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("SYSTEMD_LOG_TARGET", "console")
            .current_dir(&self.home_dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // SAFETY: the hook only makes async-signal-safe syscalls on data prepared before fork.
        unsafe {
            command.pre_exec(move || {
                // Own session, as under a login: no controlling terminal, and job-control
                // signals for the test runner's process group (Ctrl-C) do not reach it.
                if libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
                enter_cgroups(&mgr_procs)?;
                namespace.enter()?;
                drop_privileges(uid, gid)
            });
        }
        let child = command.spawn().map_err(|e| {
            format!(
                "spawn {SYSTEMD} --user (setsid, join {}/mgr, private mount namespace, \
                 setuid {uid}): {e}",
                self.name
            )
        })?;
        self.manager = Some(child);
        Ok(())
    }

    /// Polls SystemState: `is-system-running` would ask the host's /run and say "offline".
    fn wait_until_ready(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(manager) = self.manager.as_mut() {
                if let Ok(Some(status)) = manager.try_wait() {
                    return Err(
                        format!("{SYSTEMD} --user exited during start-up ({status}); {}", self.log_excerpt()).into()
                    );
                }
            }
            let probe = self
                .command("systemctl")
                .args(["--user", "show", "--property=SystemState", "--value"])
                .output()
                .map_err(HarnessError::io("run systemctl --user show"))?;
            let state = String::from_utf8_lossy(&probe.stdout).trim().to_owned();
            if state == "running" || state == "degraded" {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{SYSTEMD} --user not ready after {} s (last probe: SystemState {state:?}, \
                     {}, stderr {:?}); {}",
                    READY_TIMEOUT.as_secs(),
                    probe.status,
                    String::from_utf8_lossy(&probe.stderr).trim(),
                    self.log_excerpt()
                )
                .into());
            }
            sleep(Duration::from_millis(50));
        }
    }

    fn cgroup_procs_files(&self, child: &str) -> Vec<CString> {
        self.hierarchies
            .iter()
            .filter(|h| h.is_delegated())
            .map(|h| {
                let path = h.mount_point.join(&self.name).join(child).join("cgroup.procs");
                CString::new(path.into_os_string().into_vec()).expect("cgroup path without NUL")
            })
            .collect()
    }

    fn log_path(&self) -> PathBuf {
        self.instance_dir.join("manager.log")
    }

    fn log_excerpt(&self) -> String {
        let path = self.log_path();
        match fs::read(&path) {
            Ok(log) => {
                let tail = &log[log.len().saturating_sub(LOG_TAIL_BYTES)..];
                format!("manager log {}:\n{}", path.display(), String::from_utf8_lossy(tail))
            }
            Err(e) => format!("manager log {} unreadable: {e}", path.display()),
        }
    }
}

impl Drop for UserManager {
    fn drop(&mut self) {
        if let Some(manager) = self.manager.take() {
            stop_manager(manager);
        }
        if let Err(e) = remove_instance(&self.name, &self.hierarchies) {
            eprintln!("user_manager: teardown of {}: {e}", self.name);
        }
    }
}

/// SIGTERM makes the manager stop its units and reap their processes itself (10-50 ms here);
/// SIGKILL would orphan them to PID 1, which in some containers reaps only every ~2 s, so they
/// would linger as zombies of the test user. SIGKILL after a grace period for stuck units.
fn stop_manager(mut manager: Child) {
    // A reaped child's PID may already belong to another process: never signal it.
    if let Ok(Some(_)) = manager.try_wait() {
        return;
    }
    let deadline = Instant::now() + STOP_GRACE;
    // SAFETY: kill has no memory-safety preconditions; the child is not reaped yet.
    unsafe { libc::kill(manager.id() as libc::pid_t, libc::SIGTERM) };
    while Instant::now() < deadline {
        if let Ok(Some(_)) = manager.try_wait() {
            return;
        }
        sleep(Duration::from_millis(5));
    }
    let _ = manager.kill();
    let _ = manager.wait();
}

/// One mounted cgroup hierarchy.
struct Hierarchy {
    mount_point: PathBuf,
    /// Super options of a v1 mount ("rw", "memory", "name=systemd", ...); None for cgroup2.
    v1_options: Option<Vec<String>>,
}

impl Hierarchy {
    fn is_delegated(&self) -> bool {
        match &self.v1_options {
            None => true,
            Some(options) => options.iter().any(|o| DELEGATED_V1.contains(&o.as_str())),
        }
    }

    fn matches_v1(&self, controller: &str) -> bool {
        let Some(options) = &self.v1_options else {
            return false;
        };
        controller
            .split(',')
            .all(|wanted| options.iter().any(|o| o == wanted || o.strip_prefix("name=") == Some(wanted)))
    }

    fn matches_v2(&self, controller: &str) -> bool {
        if self.v1_options.is_some() {
            return false;
        }
        if controller == "unified" {
            return true;
        }
        let available = fs::read_to_string(self.mount_point.join("cgroup.controllers")).unwrap_or_default();
        controller.split(',').all(|wanted| available.split_whitespace().any(|c| c == wanted))
    }
}

fn check_prerequisites() -> Result<(), HarnessError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root: it creates a user, cgroups and a mount namespace".into());
    }
    for (path, package) in [(SYSTEMD, "systemd"), (DBUS_USER_SOCKET, "dbus-user-session"), (USERADD, "passwd")] {
        if !Path::new(path).exists() {
            return Err(format!("{path} is missing: install the Debian package {package}").into());
        }
    }
    Ok(())
}

fn mounted_hierarchies() -> Result<Vec<Hierarchy>, HarnessError> {
    let mountinfo =
        fs::read_to_string("/proc/self/mountinfo").map_err(HarnessError::io("read /proc/self/mountinfo"))?;
    Ok(cgroup_hierarchies(&mountinfo))
}

/// The cgroup hierarchies of this mount namespace, from /proc/self/mountinfo's text (kernel
/// doc: filesystems/proc.rst, "mountinfo"). Only those under /sys/fs/cgroup: a chroot with
/// /sys bind-mounted (a Plasma chroot on the test machine) shows the same hierarchies again
/// under its root, and creating cgroups there fails with "File exists".
fn cgroup_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    // Fields: id parent dev root mount-point options [optional...] - fstype source super-options
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mount_point = PathBuf::from(before.split(' ').nth(4)?);
            if !mount_point.starts_with(CGROUP_ROOT) {
                return None;
            }
            let mut after = after.split(' ');
            let fstype = after.next()?;
            let super_options = after.nth(1)?;
            match fstype {
                "cgroup2" => Some(Hierarchy { mount_point, v1_options: None }),
                "cgroup" => Some(Hierarchy {
                    mount_point,
                    v1_options: Some(super_options.split(',').map(str::to_owned).collect()),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Where the host mounts its cgroup hierarchies.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Removes instances whose owning test process is gone (killed before its Drop ran).
fn remove_stale_instances(hierarchies: &[Hierarchy]) {
    let mut names = BTreeSet::new();
    let parents = hierarchies.iter().map(|h| h.mount_point.as_path()).chain([Path::new(INSTANCE_PARENT)]);
    for parent in parents {
        let Ok(entries) = fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(INSTANCE_PREFIX) {
                names.insert(name);
            }
        }
    }
    for name in names.into_iter().filter(|name| is_stale(name)) {
        if let Err(e) = remove_instance(&name, hierarchies) {
            eprintln!("user_manager: removing stale instance {name}: {e}");
        }
    }
}

/// An instance is stale when no process with its owner's PID and start time exists; a name
/// that does not parse is left alone.
fn is_stale(name: &str) -> bool {
    let mut fields = name[INSTANCE_PREFIX.len()..].split('-');
    let (Some(Ok(pid)), Some(Ok(start_time))) =
        (fields.next().map(str::parse::<u32>), fields.next().map(str::parse::<u64>))
    else {
        return false;
    };
    process_start_time(pid).ok() != Some(start_time)
}

/// Field 22 of /proc/PID/stat (clock ticks after boot): PID plus start time names a process
/// uniquely even after the PID is reused.
fn process_start_time(pid: u32) -> Result<u64, HarnessError> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).map_err(HarnessError::io(format!("read {path}")))?;
    // The command name (field 2) may contain spaces and parentheses: count from its end.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(19))
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| format!("no start time in {path}: {stat:?}").into())
}

/// Kills every process in the instance's cgroups, removes them depth-first, then its directory.
fn remove_instance(name: &str, hierarchies: &[Hierarchy]) -> Result<(), HarnessError> {
    let bases: Vec<PathBuf> =
        hierarchies.iter().map(|h| h.mount_point.join(name)).filter(|base| base.is_dir()).collect();
    let deadline = Instant::now() + TEARDOWN_TIMEOUT;
    // Repeated because a process may fork between reading cgroup.procs and the kill.
    loop {
        let mut pids = BTreeSet::new();
        for base in &bases {
            pids.extend(processes_below(base)?);
        }
        if pids.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("processes {pids:?} still in cgroups {bases:?}").into());
        }
        for pid in pids {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        sleep(Duration::from_millis(10));
    }
    for base in &bases {
        remove_cgroup_tree(base, deadline)?;
    }
    let instance_dir = Path::new(INSTANCE_PARENT).join(name);
    match fs::remove_dir_all(&instance_dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(format!("remove {}: {e}", instance_dir.display()).into()),
        _ => Ok(()),
    }
}

/// PIDs in `dir`'s cgroup.procs and in those of all cgroups below it.
fn processes_below(dir: &Path) -> Result<BTreeSet<libc::pid_t>, HarnessError> {
    let procs_file = dir.join("cgroup.procs");
    let mut pids: BTreeSet<libc::pid_t> = match fs::read_to_string(&procs_file) {
        Ok(text) => text.lines().filter_map(|line| line.trim().parse().ok()).collect(),
        // Removed concurrently (the manager cleaning up a unit): nothing left in it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(format!("read {}: {e}", procs_file.display()).into()),
    };
    for child in child_dirs(dir)? {
        pids.extend(processes_below(&child)?);
    }
    Ok(pids)
}

fn child_dirs(dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            Ok(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()).collect())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("list {}: {e}", dir.display()).into()),
    }
}

/// rmdir depth-first (a cgroup's control files cannot be deleted, only the empty directory);
/// retried while the kernel still counts a just-killed process as a member (EBUSY).
fn remove_cgroup_tree(dir: &Path, deadline: Instant) -> Result<(), HarnessError> {
    for child in child_dirs(dir)? {
        remove_cgroup_tree(&child, deadline)?;
    }
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("rmdir {}: {e}", dir.display()).into()),
        }
    }
}

fn ensure_test_user() -> Result<(u32, u32), HarnessError> {
    if let Some(ids) = lookup_user(TEST_USER)? {
        return Ok(ids);
    }
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(USER_LOCK)
        .map_err(HarnessError::io(format!("open {USER_LOCK}")))?;
    // SAFETY: flock on a descriptor this function owns; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("flock {USER_LOCK}: {}", io::Error::last_os_error()).into());
    }
    if let Some(ids) = lookup_user(TEST_USER)? {
        return Ok(ids);
    }
    let output = Command::new(USERADD)
        .args(["--system", "--user-group", "--no-create-home"])
        .args(["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", TEST_USER])
        .output()
        .map_err(HarnessError::io(format!("run {USERADD}")))?;
    if !output.status.success() {
        return Err(format!(
            "{USERADD} {TEST_USER}: {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    lookup_user(TEST_USER)?.ok_or_else(|| format!("{TEST_USER} still unknown after {USERADD}").into())
}

fn lookup_user(name: &str) -> Result<Option<(u32, u32)>, HarnessError> {
    let c_name = CString::new(name).expect("user name without NUL");
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid passwd (null pointers, zero ids); getpwnam_r fills it.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to a live local of the size passed.
    let error =
        unsafe { libc::getpwnam_r(c_name.as_ptr(), &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut result) };
    if error != 0 {
        return Err(format!("getpwnam_r({name}): {}", io::Error::from_raw_os_error(error)).into());
    }
    Ok((!result.is_null()).then_some((entry.pw_uid, entry.pw_gid)))
}

fn make_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<(), HarnessError> {
    fs::DirBuilder::new().mode(mode).create(path).map_err(HarnessError::io(format!("mkdir {}", path.display())))?;
    // The umask may have narrowed the mode.
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(HarnessError::io(format!("chmod {}", path.display())))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(HarnessError::io(format!("chown {}", path.display())))?;
    }
    Ok(())
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), HarnessError> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(HarnessError::io(format!("chown {}", path.display())))?;
    if path.is_dir() {
        let entries = fs::read_dir(path).map_err(|e| format!("list {}: {e}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("list {}: {e}", path.display()))?;
            chown_tree(&entry.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// On cgroup2, controllers must be enabled in the instance cgroup for mgr to get them; on a
/// hybrid host the cgroup2 root offers none and this does nothing.
fn enable_v2_controllers(root: &Path, base: &Path) -> Result<(), HarnessError> {
    let offered_file = root.join("cgroup.subtree_control");
    let offered =
        fs::read_to_string(&offered_file).map_err(HarnessError::io(format!("read {}", offered_file.display())))?;
    let wanted: Vec<String> =
        offered.split_whitespace().filter(|c| DELEGATED_V2.contains(c)).map(|c| format!("+{c}")).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let control = base.join("cgroup.subtree_control");
    fs::write(&control, wanted.join(" ")).map_err(HarnessError::io(format!(
        "write {:?} to {}",
        wanted.join(" "),
        control.display()
    )))
}

/// The mount-namespace setup that makes the manager believe the system booted with systemd:
/// a tmpfs holding `systemd/system`, private to the manager and its children.
struct PrivateBootedRun {
    tmpfs_target: CString,
    dirs_to_create: Vec<CString>,
}

impl PrivateBootedRun {
    /// Covers /run/systemd when the host has it (keeps /run/user, /run/dbus visible), else
    /// all of /run: creating /run/systemd on the host would fake a booted host.
    fn for_host() -> Result<PrivateBootedRun, HarnessError> {
        let c = |s: &str| CString::new(s).expect("static path without NUL");
        Ok(if Path::new("/run/systemd").is_dir() {
            PrivateBootedRun { tmpfs_target: c("/run/systemd"), dirs_to_create: vec![c("/run/systemd/system")] }
        } else if Path::new("/run").is_dir() {
            PrivateBootedRun {
                tmpfs_target: c("/run"),
                dirs_to_create: vec![c("/run/systemd"), c("/run/systemd/system")],
            }
        } else {
            return Err("/run is missing".into());
        })
    }

    /// Runs in the forked child: async-signal-safe syscalls only.
    fn enter(&self) -> io::Result<()> {
        // SAFETY: plain syscalls on NUL-terminated strings that outlive the calls.
        unsafe {
            check(libc::unshare(libc::CLONE_NEWNS))?;
            // Without this, the tmpfs would propagate back to the host through shared mounts.
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"tmpfs".as_ptr(),
                self.tmpfs_target.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=0755".as_ptr().cast(),
            ))?;
            for dir in &self.dirs_to_create {
                check(libc::mkdir(dir.as_ptr(), 0o755))?;
            }
        }
        Ok(())
    }
}

/// Moves the calling process into the given cgroup.procs files ("0" means the writer itself).
/// Runs in a forked child: async-signal-safe syscalls only.
fn enter_cgroups(procs_files: &[CString]) -> io::Result<()> {
    for file in procs_files {
        // SAFETY: plain syscalls on a NUL-terminated path and a static buffer.
        unsafe {
            let fd = check(libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC))?;
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            let write_error = io::Error::last_os_error();
            libc::close(fd);
            if written != 1 {
                return Err(write_error);
            }
        }
    }
    Ok(())
}

/// setgroups, setgid, setuid to the test user. Runs in a forked child: async-signal-safe only.
fn drop_privileges(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain syscalls; the group list is a local array.
    unsafe {
        check(libc::setgroups(1, &gid))?;
        check(libc::setgid(gid))?;
        check(libc::setuid(uid))?;
    }
    Ok(())
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's cgroup v1 mounts (Debian 12 without systemd as PID 1), then the same
    /// bind-mounted into a Plasma chroot under /tmp.
    const MOUNTINFO: &str = "\
25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
36 31 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
90 88 0:22 / /tmp/plasma6/root/sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
91 90 0:26 / /tmp/plasma6/root/sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
93 91 0:30 / /tmp/plasma6/root/sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
94 91 0:31 / /tmp/plasma6/root/sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
";

    #[test]
    fn only_the_hosts_own_cgroup_mounts_count_not_a_chroots_bind_mount() {
        let hierarchies = cgroup_hierarchies(MOUNTINFO);
        let points: Vec<&Path> = hierarchies.iter().map(|h| h.mount_point.as_path()).collect();
        assert_eq!(
            points,
            [
                Path::new("/sys/fs/cgroup/unified"),
                Path::new("/sys/fs/cgroup/cpu,cpuacct"),
                Path::new("/sys/fs/cgroup/memory")
            ]
        );
        assert_eq!(hierarchies[0].v1_options, None, "cgroup2");
        assert!(hierarchies[2].v1_options.as_ref().is_some_and(|o| o.iter().any(|o| o == "memory")));
    }
}
