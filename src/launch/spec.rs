//! ScopeSpec: everything one launch needs, from a catalog entry and the user's arguments.
//! Pure: the caller resolves the binary and says which display server runs.

use crate::profile::{escape_unit_part, App, LaunchSettings, Toolkit};
use std::path::PathBuf;

/// The display server of the desktop session; serialized lowercase ("x11", "wayland").
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DisplayServer {
    /// X11: XDG_SESSION_TYPE=x11, or nothing says Wayland.
    X11,
    /// Wayland: XDG_SESSION_TYPE=wayland, or WAYLAND_DISPLAY set where the session type says neither.
    Wayland,
}

impl DisplayServer {
    /// From the session's environment: Wayland when XDG_SESSION_TYPE says so or a
    /// Wayland display is set, X11 otherwise.
    pub fn from_env(session_type: Option<&str>, wayland_display: Option<&str>) -> Self {
        match (session_type.and_then(DisplayServer::from_session_type), wayland_display) {
            (Some(display), _) => display,
            (None, Some(display)) if !display.is_empty() => DisplayServer::Wayland,
            _ => DisplayServer::X11,
        }
    }

    /// An XDG_SESSION_TYPE value ("x11", "wayland"); None for others ("tty").
    pub fn from_session_type(session_type: &str) -> Option<Self> {
        match session_type {
            "x11" => Some(DisplayServer::X11),
            "wayland" => Some(DisplayServer::Wayland),
            _ => None,
        }
    }
}

/// A transient scope and the command to run in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeSpec {
    /// The unit name, `app-ballast-<desktop file id, escaped>-<8 hex digits>.scope` (the systemd
    /// desktop-environment spec's `app-<launcher>-<ApplicationID>-<RANDOM>.scope`).
    pub unit: String,
    /// Slice= the scope runs in: `[launch] slice` ("app.slice").
    pub slice: String,
    /// Description=, e.g. "Discord (launched by ballast)".
    pub description: String,
    /// MemoryHigh= in bytes (systemd.resource-control(5)).
    pub memory_high: u64,
    /// MemoryMax= in bytes (systemd.resource-control(5)).
    pub memory_max: u64,
    /// systemd's CPUQuotaPerSecUSec.
    pub cpu_quota_per_sec_usec: u64,
    /// Failed scopes are collected too, so they do not pile up in `systemctl --user`.
    pub collect_mode: &'static str,
    /// An OOM kill of one process (a renderer) does not stop the whole app.
    pub oom_policy: &'static str,
    /// Written to /proc/self/oom_score_adj before the exec (1..=1000); None keeps the inherited score.
    pub oom_score_adj: Option<u16>,
    /// `argv[0]` is the resolved binary; no shell is involved, ever.
    pub argv: Vec<String>,
}

/// What a launch runs on: the display server, and the Chromium major version under the
/// app (None: not known, or no Chromium at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The session's display server.
    pub display: DisplayServer,
    /// The Chromium major version under the app; None when not known or there is none.
    pub chromium: Option<u32>,
}

/// Builds the spec. `binary` is `app.exec` resolved on PATH; `random` makes the unit
/// name unique (the spec's `<RANDOM>`).
pub fn scope_spec(
    app: &App,
    settings: &LaunchSettings,
    binary: PathBuf,
    target: Target,
    user_args: &[String],
    random: u32,
) -> ScopeSpec {
    let mut argv = vec![binary.to_string_lossy().into_owned()];
    if matches!(app.toolkit, Toolkit::Electron | Toolkit::Cef | Toolkit::Chromium) {
        argv.extend(super::engine::gpu_flags(settings, target.display, target.chromium));
    }
    if let (Toolkit::Electron, Some(heap)) = (app.toolkit, app.v8_heap_mb) {
        argv.push(format!("--js-flags=--max-old-space-size={heap}"));
    }
    argv.extend(app.args.iter().cloned());
    argv.extend(user_args.iter().cloned());
    ScopeSpec {
        unit: format!("app-ballast-{}-{random:08x}.scope", escape_unit_part(app.desktop_id())),
        slice: settings.slice.clone(),
        description: format!("{} (launched by ballast)", app.name),
        memory_high: app.memory_high.0,
        memory_max: app.memory_max.0,
        cpu_quota_per_sec_usec: app.cpu_quota.per_sec_usec(),
        collect_mode: "inactive-or-failed",
        oom_policy: "continue",
        oom_score_adj: app.oom_score_adj,
        argv,
    }
}

/// The scope ballast moves a running app into when another launcher started it (Plasma's
/// `app-<id>@<uuid>.service`), so the app has one delegated unit with its catalog limits
/// that its other processes can be gathered into. No command: the processes already run.
pub fn adoption_spec(app: &App, settings: &LaunchSettings, from: &str, random: u32) -> ScopeSpec {
    ScopeSpec {
        description: format!("{} (started as {from}, governed by ballast)", app.name),
        argv: Vec::new(),
        oom_score_adj: None,
        ..scope_spec(app, settings, PathBuf::new(), Target { display: DisplayServer::X11, chromium: None }, &[], random)
    }
}

/// The dashboard's MemoryHigh and MemoryMax (bytes): a QML window with Mesa's llvmpipe costs
/// 136-149 MB (FACTS.md), so it gets room for that and a margin, not the whole machine.
const DASHBOARD_MEMORY_HIGH: u64 = 256 << 20;
const DASHBOARD_MEMORY_MAX: u64 = 512 << 20;

/// The dashboard's own scope in `settings.slice`, named by ballast's desktop file id as the
/// systemd desktop-environment spec names app scopes (`app-<launcher>-<ApplicationID>-<RANDOM>.scope`).
/// Without it the dashboard would run in the unit that started it: ballast.service, whose
/// MemoryHigh is sized for the agent alone, holds a dashboard at 24M (seen in Plasma 6).
pub fn dashboard_spec(settings: &LaunchSettings, binary: PathBuf, app_id: &str, random: u32) -> ScopeSpec {
    ScopeSpec {
        unit: format!("app-ballast-{}-{random:08x}.scope", escape_unit_part(app_id)),
        slice: settings.slice.clone(),
        description: "ballast dashboard".into(),
        memory_high: DASHBOARD_MEMORY_HIGH,
        memory_max: DASHBOARD_MEMORY_MAX,
        // systemd's "infinity": no CPU quota.
        cpu_quota_per_sec_usec: u64::MAX,
        collect_mode: "inactive-or-failed",
        oom_policy: "stop",
        oom_score_adj: None,
        argv: vec![binary.to_string_lossy().into_owned()],
    }
}

/// Finds `exec` as the shell would, without a shell: a path is taken as is, a name is
/// looked up in each PATH directory for an executable file.
pub fn resolve_binary(
    exec: &str,
    path_var: Option<&str>,
    is_executable: impl Fn(&std::path::Path) -> bool,
) -> Option<PathBuf> {
    if exec.contains('/') {
        let path = PathBuf::from(exec);
        return is_executable(&path).then_some(path);
    }
    path_var?
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| PathBuf::from(dir).join(exec))
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn spec(id: &str, display: DisplayServer, user_args: &[&str]) -> ScopeSpec {
        let profile = Profile::embedded();
        let app = profile.app(id).unwrap();
        let args: Vec<String> = user_args.iter().map(|a| a.to_string()).collect();
        scope_spec(
            app,
            &profile.launch,
            PathBuf::from(format!("/usr/bin/{}", app.exec)),
            Target { display, chromium: Some(140) },
            &args,
            0x3f9a1c,
        )
    }

    #[test]
    fn the_dashboard_gets_its_own_scope_named_by_its_desktop_id() {
        let spec = dashboard_spec(
            &Profile::embedded().launch,
            PathBuf::from("/usr/bin/ballast-dashboard"),
            "io.ballast.Ballast",
            0x3f9a1c,
        );
        assert_eq!(
            (spec.unit.as_str(), spec.slice.as_str()),
            ("app-ballast-io.ballast.Ballast-003f9a1c.scope", "app.slice")
        );
        assert_eq!((spec.memory_high, spec.memory_max, spec.cpu_quota_per_sec_usec), (256 << 20, 512 << 20, u64::MAX));
        assert_eq!(spec.argv, ["/usr/bin/ballast-dashboard"]);
    }

    #[test]
    fn discord_on_x11() {
        let s = spec("discord", DisplayServer::X11, &["--start-minimized"]);
        assert_eq!(s.unit, "app-ballast-discord-003f9a1c.scope");
        assert_eq!(s.slice, "app.slice");
        assert_eq!((s.memory_high, s.memory_max), (2 << 30, 3 << 30));
        assert_eq!(s.cpu_quota_per_sec_usec, 1_500_000);
        assert_eq!((s.collect_mode, s.oom_policy), ("inactive-or-failed", "continue"));
        assert_eq!(s.argv[0], "/usr/bin/Discord");
        assert!(s.argv.contains(&"--use-angle=gl".to_string()));
        assert!(!s.argv.iter().any(|a| a == "--use-gl=desktop"), "desktop GL is gone from Chromium");
        let heap = s.argv.iter().position(|a| a == "--js-flags=--max-old-space-size=1024").unwrap();
        assert_eq!(s.argv.last().unwrap(), "--start-minimized", "user arguments come last");
        assert!(heap < s.argv.len() - 1);
    }

    #[test]
    fn an_adopted_app_gets_a_scope_with_its_limits_and_no_command() {
        let profile = Profile::embedded();
        let spec =
            adoption_spec(profile.app("chromium").unwrap(), &profile.launch, "app-chromium@0b5a.service", 0x3f9a1c);
        assert_eq!(
            (spec.unit.as_str(), spec.slice.as_str()),
            ("app-ballast-chromium\\x2dbrowser-003f9a1c.scope", "app.slice")
        );
        assert_eq!((spec.memory_high, spec.memory_max, spec.cpu_quota_per_sec_usec), (3 << 30, 4 << 30, 3_000_000));
        assert_eq!(spec.description, "Chromium (started as app-chromium@0b5a.service, governed by ballast)");
        assert!(spec.argv.is_empty());
    }

    #[test]
    fn wayland_gets_wayland_flags() {
        let s = spec("signal", DisplayServer::Wayland, &[]);
        assert!(s.argv.contains(&"--ozone-platform=wayland".to_string()));
        assert!(!s.argv.contains(&"--use-angle=gl".to_string()));
    }

    #[test]
    fn cef_gets_gpu_flags_but_no_v8_cap_and_qt_gets_neither() {
        let spotify = spec("spotify", DisplayServer::X11, &[]);
        assert!(spotify.argv.contains(&"--enable-gpu-rasterization".to_string()));
        assert!(!spotify.argv.iter().any(|a| a.starts_with("--js-flags")));
        assert_eq!(spotify.oom_score_adj, Some(500));
        let zoom = spec("zoom", DisplayServer::X11, &["--url=zoommtg://x"]);
        assert_eq!(zoom.argv, ["/usr/bin/zoom", "--url=zoommtg://x"]);
    }

    #[test]
    fn user_arguments_pass_untouched() {
        let tricky = ["; rm -rf ~", "$(whoami)", "two words", "--", ""];
        let s = spec("codium", DisplayServer::X11, &tricky);
        assert_eq!(&s.argv[s.argv.len() - tricky.len()..], tricky);
    }

    #[test]
    fn units_are_named_by_the_desktop_file_id_escaped() {
        assert_eq!(
            spec("claude-desktop", DisplayServer::X11, &[]).unit,
            "app-ballast-claude\\x2ddesktop-003f9a1c.scope"
        );
        assert_eq!(spec("signal", DisplayServer::X11, &[]).unit, "app-ballast-signal-003f9a1c.scope");
        assert_eq!(spec("chromium", DisplayServer::X11, &[]).unit, "app-ballast-chromium\\x2dbrowser-003f9a1c.scope");
    }

    #[test]
    fn display_server_from_the_session() {
        assert_eq!(DisplayServer::from_env(Some("wayland"), None), DisplayServer::Wayland);
        assert_eq!(DisplayServer::from_env(Some("x11"), Some("wayland-0")), DisplayServer::X11);
        assert_eq!(DisplayServer::from_env(None, Some("wayland-0")), DisplayServer::Wayland);
        assert_eq!(DisplayServer::from_env(None, None), DisplayServer::X11);
    }

    #[test]
    fn binaries_resolve_like_the_shell() {
        let exists = |p: &std::path::Path| p == std::path::Path::new("/opt/bin/Discord");
        assert_eq!(
            resolve_binary("Discord", Some("/usr/bin::/opt/bin"), exists),
            Some(PathBuf::from("/opt/bin/Discord"))
        );
        assert_eq!(resolve_binary("Discord", Some("/usr/bin"), exists), None);
        assert_eq!(resolve_binary("/opt/bin/Discord", None, exists), Some(PathBuf::from("/opt/bin/Discord")));
        assert_eq!(resolve_binary("Discord", None, exists), None);
    }
}
