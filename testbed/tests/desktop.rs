//! The end-to-end suite in a real Plasma 6 session (Debian trixie guest: systemd 257 as PID 1,
//! cgroup v2, SDDM autologin into Plasma Wayland). ballast is installed as a user has it: the
//! binary in ~/.local/bin, `ballast autostart enable`, then a reboot, so the session's login
//! starts the agent, not the test. Screenshots land in target/testbed/ for a person to see.
//!
//! The image is built once and cached (testbed/image.sh); each run boots a disposable overlay.
//! Under CI=true a guest that cannot start is a failure with the reason; elsewhere the suite
//! says why it skipped (no root, no qemu).

#[path = "../../tests/support/cases.rs"]
mod cases;

use std::path::PathBuf;
use std::time::Duration;
use testbed::{build_image, default_cache, Output, Vm, GUEST_SHARE};

const SESSION_TIMEOUT: Duration = Duration::from_secs(900);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

struct Env {
    vm: Vm,
    shots: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.vm.power_off();
    }
}

impl Env {
    /// A shell command as the session user; Err with its output unless it succeeds.
    fn user(&self, script: &str) -> Result<String, String> {
        let out = self.vm.exec_user(script, COMMAND_TIMEOUT).map_err(|e| e.to_string())?;
        checked(script, out)
    }

    fn root(&self, argv: &[&str]) -> Result<String, String> {
        let out = self.vm.exec(argv, COMMAND_TIMEOUT).map_err(|e| e.to_string())?;
        checked(&argv.join(" "), out)
    }

    /// The bus name of the agent's StatusNotifierItem (ksni names it after the agent's pid)
    /// as kded6's watcher lists it; None until it is registered.
    fn tray_service(&self) -> Result<Option<String>, String> {
        let pid = self.user("systemctl --user show -P MainPID ballast.service")?.trim().to_owned();
        let items = self.user("busctl --user get-property org.kde.StatusNotifierWatcher /StatusNotifierWatcher org.kde.StatusNotifierWatcher RegisteredStatusNotifierItems")?;
        Ok(items.split('"').find(|entry| entry.contains(&format!("-{pid}-"))).and_then(|entry| entry.split('/').next()).map(str::to_owned))
    }

    /// Waits (at most `seconds`) for the agent's tray item.
    fn wait_for_tray_service(&self, seconds: u64) -> Result<String, String> {
        let mut service = None;
        testbed::wait("the agent's tray item in kded6's watcher", Duration::from_secs(seconds), || {
            service = self.tray_service().ok().flatten();
            Ok(service.is_some())
        })
        .map_err(|e| e.to_string())?;
        Ok(service.expect("found above"))
    }
}

fn checked(what: &str, out: Output) -> Result<String, String> {
    if out.success() {
        Ok(out.stdout)
    } else {
        Err(format!("`{what}` exited with {}: {}{}", out.code, out.stdout, out.stderr))
    }
}

/// target/ of this workspace (the test binary runs from target/debug/deps/).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors().nth(3).expect("target/debug/deps/<test>").to_path_buf()
}

fn prerequisites() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root (debootstrap, chroot, mkfs.ext4 -d)".into());
    }
    for program in ["qemu-system-x86_64", "qemu-img", "debootstrap", "mkfs.ext4"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")]).any(|d| d.join(program).is_file());
        if !found {
            return Err(format!("{program} is missing (`make test` installs it: scripts/deps.sh)"));
        }
    }
    Ok(())
}

fn setup() -> Result<Env, String> {
    prerequisites()?;
    let ballast = target_dir().join("debug/ballast");
    if !ballast.is_file() {
        return Err(format!("{} is missing: build the workspace first (`cargo test --workspace` does)", ballast.display()));
    }
    let image = build_image(&default_cache()).map_err(|e| e.to_string())?;
    let dir = target_dir().join("testbed/e2e");
    let vm = Vm::boot(&image, &dir).map_err(|e| e.to_string())?;
    let env = Env { vm, shots: target_dir().join("testbed") };
    env.vm.wait_for_session(SESSION_TIMEOUT).map_err(|e| e.to_string())?;
    std::fs::copy(&ballast, env.vm.share().join("ballast")).map_err(|e| e.to_string())?;
    // As a user installs it: the binary in ~/.local/bin, autostart enabled, then a new login.
    env.user(&format!("install -D -m 755 {GUEST_SHARE}/ballast ~/.local/bin/ballast && ~/.local/bin/ballast autostart enable"))?;
    env.vm.reboot(SESSION_TIMEOUT).map_err(|e| e.to_string())?;
    Ok(env)
}

/// The session started ballast.service at login, after plasmashell, and it runs.
fn agent_is_started_by_the_session(env: &Env) -> Result<(), String> {
    // Under TCG the agent's unit starts some 40 s after plasmashell (seen); allow 3 minutes.
    let active = || env.user("systemctl --user is-active ballast.service").is_ok_and(|state| state.trim() == "active");
    if testbed::wait("ballast.service to be active", Duration::from_secs(180), || Ok(active())).is_err() {
        let status = env.user("systemctl --user status --no-pager ballast.service; journalctl --user -b -u ballast.service --no-pager | tail -20").unwrap_or_else(|e| e);
        return Err(format!("ballast.service is not active 3 minutes after login:\n{status}"));
    }
    let times = env.user("systemctl --user show -P ActiveEnterTimestampMonotonic ballast.service plasma-plasmashell.service")?;
    let times: Vec<u64> = times.split_whitespace().filter_map(|t| t.parse().ok()).collect();
    match times[..] {
        [agent, shell] if shell > 0 && agent >= shell => Ok(()),
        _ => Err(format!("ballast.service and plasmashell became active at {times:?} µs: not after plasmashell")),
    }
}

/// kded6's StatusNotifierWatcher lists the agent's item, and its menu answers over dbusmenu.
fn tray_item_is_registered_and_its_menu_answers(env: &Env) -> Result<(), String> {
    // The item registers right after the agent owns its bus name: give it 30 s.
    let service = env.wait_for_tray_service(30)?;
    // `--`: the -1 (the whole tree) is an argument, not an option.
    let layout = env.user(&format!("busctl --user -- call {service} /MenuBar com.canonical.dbusmenu GetLayout iias 0 -1 0"))?;
    if !layout.contains("label") {
        return Err(format!("the menu's layout has no entries: {layout}"));
    }
    Ok(())
}

/// Categories come from the session's real units (cgroup v2, attribution by unit). PipeWire's
/// units make the audio line: its figure lies between their anonymous memory and their
/// memory.current (ballast counts memory.current less page cache). Plasma's units (the
/// profile's globs) make the Plasma line: at least their anonymous memory, at most all of
/// user.slice and the display manager.
fn categories_come_from_the_session_units(env: &Env) -> Result<(), String> {
    let report: serde_json::Value = serde_json::from_str(&env.user("~/.local/bin/ballast status --json")?).map_err(|e| e.to_string())?;
    if report["sources"]["cgroup"] != "v2" || report["sources"]["attribution"] != "units" {
        return Err(format!("sources {}", report["sources"]));
    }
    let used = |id: &str| report["categories"].as_array().into_iter().flatten().find(|c| c["id"] == id).and_then(|c| c["used"].as_u64());
    // Σ anon and Σ memory.current over the cgroups named like the globs (find -name).
    let sums = |names: &str| -> Result<(u64, u64), String> {
        let script = format!(
            "anon=0; current=0; for cg in $(find /sys/fs/cgroup -type d \\( {names} \\)); do current=$((current + $(cat $cg/memory.current))); anon=$((anon + $(awk '$1==\"anon\"{{print $2}}' $cg/memory.stat))); done; echo $anon $current"
        );
        let out = env.root(&["/bin/sh", "-c", &script])?;
        match out.split_whitespace().filter_map(|n| n.parse().ok()).collect::<Vec<u64>>()[..] {
            [anon, current] => Ok((anon, current)),
            _ => Err(format!("{script}: {out}")),
        }
    };
    let audio = used("audio").ok_or("no audio category")?;
    let (anon, current) = sums("-name 'pipewire*.service' -o -name wireplumber.service")?;
    // The reads are a moment apart: 10 % slack either way.
    if !(anon > 0 && audio * 10 >= anon * 9 && audio * 10 <= current * 11) {
        return Err(format!("audio: ballast says {audio} bytes, PipeWire's units have anon {anon} and memory.current {current}"));
    }
    let plasma = used("plasma").ok_or("no plasma category")?;
    let (anon, _) = sums("-name 'plasma-*.service' -o -name 'kde-*.service' -o -name 'kwin*.service' -o -name 'kded*.service' -o -name 'baloo*.service'")?;
    let (_, ceiling) = sums("-path /sys/fs/cgroup/user.slice -o -path /sys/fs/cgroup/system.slice/sddm.service")?;
    if !(anon > 0 && plasma * 10 >= anon * 9 && plasma <= ceiling) {
        return Err(format!("plasma: ballast says {plasma} bytes, Plasma's units have anon {anon}, user.slice + sddm {ceiling}"));
    }
    Ok(())
}

/// A budget breach gives exactly one notification through plasmashell's server, which
/// answers Notify with an id. target/testbed/notification.png is taken as the Notify is seen
/// (under TCG the popup is often not drawn yet: asserting it is still to do).
fn a_breach_notifies_once_through_plasmashell(env: &Env) -> Result<(), String> {
    let monitor = "systemd-run --user --quiet --unit=ballast-test-monitor -p StandardOutput=file:/tmp/notify.log dbus-monitor --session \"type='method_call',interface='org.freedesktop.Notifications',member='Notify'\" \"type='method_return'\"";
    let tiny = "mkdir -p ~/.config/ballast && printf '[budget]\\nidle_total = \"100M\"\\nworkload_total = \"200M\"\\n' > ~/.config/ballast/config.toml && systemctl --user restart ballast.service";
    env.user(&format!("{monitor} && sleep 2 && {tiny}"))?;
    let summary = "string \"Total memory over budget\"";
    testbed::wait("the breach's notification", Duration::from_secs(40), || Ok(env.vm.exec_user(&format!("grep -q '{summary}' /tmp/notify.log"), COMMAND_TIMEOUT)?.success()))
        .map_err(|e| e.to_string())?;
    env.vm.screenshot(&env.shots.join("notification.png")).map_err(|e| e.to_string())?;
    // More ticks with the breach still on: no second notification.
    std::thread::sleep(Duration::from_secs(20));
    let log = env.user("systemctl --user stop ballast-test-monitor; cat /tmp/notify.log; rm ~/.config/ballast/config.toml; systemctl --user restart ballast.service")?;
    // dbus-monitor prints one block per message, each starting at column 0.
    let blocks: Vec<&str> = log.split("\nmethod ").collect();
    let calls: Vec<&&str> = blocks.iter().filter(|b| b.starts_with("call") && b.contains("member=Notify") && b.contains(summary)).collect();
    let [call] = calls[..] else {
        return Err(format!("{} notifications for the total's breach, not 1:\n{log}", calls.len()));
    };
    let serial = call.split_whitespace().find_map(|w| w.strip_prefix("serial=")).unwrap_or("?");
    let answered = blocks.iter().any(|b| b.starts_with("return") && b.contains(&format!("reply_serial={serial}\n")) && b.contains("uint32 "));
    if !answered {
        return Err(format!("plasmashell did not answer Notify (serial {serial}) with an id:\n{log}"));
    }
    Ok(())
}

/// The dbusmenu id of the entry labelled `label` in a GetLayout answer printed by
/// `busctl --json=short`: `{"data":[revision,[id,{props},[children]]]}`, children as variants.
fn menu_id(node: &serde_json::Value, label: &str) -> Option<i64> {
    let node = node.get("data").unwrap_or(node);
    let (id, props, children) = (node.get(0)?, node.get(1)?, node.get(2)?);
    if props["label"]["data"] == label {
        return id.as_i64();
    }
    children.as_array()?.iter().find_map(|child| menu_id(child, label))
}

/// The tray menu's Launch entry of a catalog app starts it in its own scope in app.slice with
/// the catalog's MemoryHigh, MemoryMax and CPUQuota in the real cgroup v2 files.
fn a_launch_entry_starts_the_app_in_a_limited_scope(env: &Env) -> Result<(), String> {
    let app = "[[app]]\\nid = \"hold\"\\nname = \"Hold\"\\nexec = \"/usr/bin/sleep\"\\nargs = [\"300\"]\\ntoolkit = \"native\"\\ncategory = \"devtools\"\\nmemory_high = \"150M\"\\nmemory_max = \"200M\"\\ncpu_quota = \"50%%\"\\n"; // printf's format: %% is a %
    env.user(&format!("mkdir -p ~/.config/ballast && printf '{app}' > ~/.config/ballast/config.toml && systemctl --user restart ballast.service"))?;
    let label = "Hold (150M / 200M, 50%)";
    let service = env.wait_for_tray_service(60)?;
    let mut id = None;
    testbed::wait("the Launch entry in the agent's menu", Duration::from_secs(60), || {
        let out = env.vm.exec_user(&format!("busctl --user --json=short -- call {service} /MenuBar com.canonical.dbusmenu GetLayout iias 0 -1 0"), COMMAND_TIMEOUT)?;
        let layout: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
        id = menu_id(&layout["data"][1], label);
        Ok(id.is_some())
    })
    .map_err(|e| e.to_string())?;
    let id = id.expect("found above");
    env.user(&format!("busctl --user call {service} /MenuBar com.canonical.dbusmenu Event isvu {id} clicked i 0 0"))?;
    let mut unit = String::new();
    testbed::wait("the app's scope", Duration::from_secs(30), || {
        unit = env.vm.exec_user("systemctl --user list-units --no-legend --plain 'app-ballast-hold-*.scope' | cut -d' ' -f1", COMMAND_TIMEOUT)?.stdout.trim().to_owned();
        Ok(!unit.is_empty())
    })
    .map_err(|e| e.to_string())?;
    let limits = env.user(&format!("cg=/sys/fs/cgroup$(systemctl --user show -P ControlGroup {unit}); cat $cg/memory.high $cg/memory.max $cg/cpu.max; echo $cg"))?;
    let cleanup = env.user(&format!("systemctl --user stop {unit}; rm ~/.config/ballast/config.toml; systemctl --user restart ballast.service"));
    let lines: Vec<&str> = limits.lines().collect();
    match lines[..] {
        ["157286400", "209715200", "50000 100000", cgroup] if cgroup.contains("/app.slice/") => cleanup.map(|_| ()),
        _ => Err(format!("{unit}: memory.high, memory.max, cpu.max, cgroup = {lines:?}")),
    }
}

/// The desktop with ballast's tray icon, for a person to look at. KWin may not have painted
/// the output yet (an all-black frame is a 3 kB PNG): retried for up to 90 s.
fn screenshot_of_the_desktop(env: &Env) -> Result<(), String> {
    std::fs::create_dir_all(&env.shots).map_err(|e| e.to_string())?;
    let png = env.shots.join("desktop.png");
    let mut size = 0;
    testbed::wait("a painted screen", Duration::from_secs(90), || {
        env.vm.screenshot(&png)?;
        let bytes = std::fs::read(&png).map_err(|source| testbed::TestbedError::File { path: png.clone(), source })?;
        size = bytes.len();
        Ok(bytes.starts_with(b"\x89PNG") && size > 10_000)
    })
    .map_err(|e| format!("{e}: {} is {size} bytes", png.display()))?;
    println!("screenshot: {}", png.display());
    Ok(())
}

/// The guest is the user's world: systemd as PID 1 and cgroup v2 with memory delegated.
fn guest_runs_systemd_and_cgroup_v2(env: &Env) -> Result<(), String> {
    let fs = env.root(&["/usr/bin/stat", "-f", "-c", "%T", "/sys/fs/cgroup"])?;
    let controllers = env.root(&["/usr/bin/cat", "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers"])?;
    let init = env.root(&["/usr/bin/readlink", "/proc/1/exe"])?;
    if fs.trim() == "cgroup2fs" && controllers.contains("memory") && init.trim().ends_with("systemd") {
        Ok(())
    } else {
        Err(format!("cgroup fs {fs:?}, user@1000 controllers {controllers:?}, PID 1 {init:?}"))
    }
}

fn main() {
    cases::run(
        "the real-desktop suite (Plasma 6 in a Debian trixie guest)",
        setup(),
        &[
            ("guest_runs_systemd_and_cgroup_v2", guest_runs_systemd_and_cgroup_v2),
            ("agent_is_started_by_the_session", agent_is_started_by_the_session),
            ("tray_item_is_registered_and_its_menu_answers", tray_item_is_registered_and_its_menu_answers),
            ("screenshot_of_the_desktop", screenshot_of_the_desktop),
            ("categories_come_from_the_session_units", categories_come_from_the_session_units),
            ("a_breach_notifies_once_through_plasmashell", a_breach_notifies_once_through_plasmashell),
            ("a_launch_entry_starts_the_app_in_a_limited_scope", a_launch_entry_starts_the_app_in_a_limited_scope),
        ],
    );
}
