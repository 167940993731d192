//! The profile: budgets, the app catalog and tuning targets, in TOML.
//!
//! The embedded default describes the reference machine. A user file is an overlay:
//! tables merge key by key, `[[category]]` and `[[app]]` entries merge by `id` (new ids
//! are appended), any other array replaces the default's. The merged result is checked
//! whole before it is used, so a bad file never half-applies.

mod units;

pub use units::{ByteSize, CpuQuota, UnitError};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The embedded default profile (`src/profile/default.toml`), which every overlay merges onto.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// The effective profile: the embedded default with the user's overlay merged in, validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The machine the profile describes and its core split (`[machine]`).
    pub machine: Machine,
    /// Sampling settings (`[sample]`).
    pub sample: SampleSettings,
    /// Memory budgets and breach hysteresis (`[budget]`).
    pub budget: BudgetSettings,
    /// zram swap the doctor expects (`[zram]`).
    pub zram: ZramTargets,
    /// Memory sysctls the doctor expects (`[sysctl]`).
    pub sysctl: SysctlTargets,
    /// The budget categories, in matching order (`[[category]]`).
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
    /// How the session is kept from losing memory first (`[protect]`).
    pub protect: ProtectSettings,
    /// Where and how `ballast launch` starts apps (`[launch]`).
    pub launch: LaunchSettings,
    /// When the agent's alerts (desktop notifications) fire (`[notify]` in the TOML).
    #[serde(rename = "notify")]
    pub alerts: AlertSettings,
    /// Video memory budget and GPU sampling (`[gpu]`).
    pub gpu: GpuSettings,
    /// The app catalog (`[[app]]`).
    #[serde(rename = "app")]
    pub apps: Vec<App>,
    /// What `ballast tune` writes (`[tune.kwin]`, `[tune.baloo]`).
    pub tune: TuneTargets,
}

/// Video memory budget and GPU sampling (`[gpu]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSettings {
    /// Video memory the desktop and its apps may use together before it counts as a breach.
    pub vram_budget: ByteSize,
    /// GPU figures are read every this many ticks (walking DRM fdinfo is not free).
    pub sample_every_ticks: u32,
}

/// When the agent's alerts fire (`[notify]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// PSI memory "some" avg10 (% of time stalled) that counts as pressure once sustained.
    pub pressure_some_avg10: f64,
    /// zram fill (stored / size) that counts as nearly full.
    pub zram_full: f64,
    /// Least time between two notices of the same limit hit on the same scope.
    pub cooldown_seconds: u32,
}

/// How the session is kept from losing memory first (`[protect]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectSettings {
    /// MemoryLow= of the user manager's session.slice, capped at 10 % of RAM; 0: none.
    pub session_memory_low: ByteSize,
    /// ManagedOOMMemoryPressure=kill on the launch slice, for systemd-oomd.
    pub app_slice_oomd: bool,
}

/// Where and how `ballast launch` starts apps (`[launch]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchSettings {
    /// systemd user slice for ballast's app scopes (`[launch] slice`, "app.slice").
    pub slice: String,
    /// Which running units of catalog apps the agent keeps within the catalog's limits;
    /// an app's own `govern` overrides it.
    #[serde(default)]
    pub govern: Govern,
    /// Chromium GPU flags for Electron, CEF and Chromium apps under X11 (`[launch] gpu_flags_x11`).
    pub gpu_flags_x11: Vec<String>,
    /// Chromium GPU flags for Electron, CEF and Chromium apps under Wayland (`[launch] gpu_flags_wayland`).
    pub gpu_flags_wayland: Vec<String>,
}

/// The machine the profile describes (`[machine]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Profile name (the machine's), carried in every report (`[machine] name`).
    pub name: String,
    /// Installed RAM of the machine the profile describes (`[machine] ram`).
    pub ram: ByteSize,
    /// Physical cores reserved for the OS and essentials (`[machine] os_cores`).
    pub os_cores: u32,
    /// Physical cores for workloads (`[machine] workload_cores`).
    pub workload_cores: u32,
    /// Hardware threads per core; cores × this is each side's CPU budget (`[machine] threads_per_core`).
    pub threads_per_core: u32,
}

/// Sampling settings (`[sample]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSettings {
    /// Seconds between samples; fractions allowed (0.1 for soak tests), at least 0.05.
    pub tick_seconds: f64,
    /// Seconds between samples at most while the kernel pushes pressure events (PSI triggers
    /// armed) and nothing changes; the tick doubles from `tick_seconds` up to this (0.05-3600;
    /// below `tick_seconds`, `tick_seconds`).
    pub idle_tick_seconds: f64,
}

/// Memory budgets and breach hysteresis (`[budget]`); totals count MemTotal - MemAvailable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    /// Bytes the desktop may use while idle (`[budget] idle_total`).
    pub idle_total: ByteSize,
    /// Bytes the desktop may use under workload (`[budget] workload_total`).
    pub workload_total: ByteSize,
    /// Bytes a workload category may use before the desktop counts as under workload
    /// (`[budget] workload_threshold`).
    pub workload_threshold: ByteSize,
    /// Fraction of a limit (0.0-1.0) from which a line counts as near (`[budget] near_fraction`).
    pub near_fraction: f64,
    /// A breach ends only below limit × (1 - this); 0.0 up to, not including, 1.0
    /// (`[budget] leave_margin`).
    pub leave_margin: f64,
    /// Ticks in a row below limit × (1 - `leave_margin`) before a breach ends (`[budget] leave_ticks`).
    pub leave_ticks: u32,
}

/// zram swap the doctor expects (`[zram]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZramTargets {
    /// zram size as a fraction of RAM, 0.0-1.0 (`[zram] fraction`).
    pub fraction: f64,
    /// Compression algorithm, e.g. "zstd" (`[zram] algorithm`).
    pub algorithm: String,
    /// Swap priority of the zram device (`[zram] priority`).
    pub priority: i32,
}

/// Memory sysctls the doctor expects (`[sysctl]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysctlTargets {
    /// `vm.swappiness` (`[sysctl] swappiness`).
    pub swappiness: u32,
    /// `vm.vfs_cache_pressure` (`[sysctl] vfs_cache_pressure`).
    pub vfs_cache_pressure: u32,
    /// `vm.dirty_ratio`, % of memory (`[sysctl] dirty_ratio`).
    pub dirty_ratio: u32,
    /// `vm.dirty_background_ratio`, % of memory (`[sysctl] dirty_background_ratio`).
    pub dirty_background_ratio: u32,
}

/// Where a category's memory figure comes from (`[[category]] source`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CategorySource {
    /// Kernel memory from /proc/meminfo (unreclaimable slab, stacks, page tables,
    /// per-CPU, vmalloc).
    Kernel,
    /// Buffers + page cache (minus shmem) + reclaimable slab: memory the kernel gives back.
    Cache,
    /// Units and processes picked by `units` and `exes` patterns.
    #[default]
    Match,
}

/// Which side of the profile's core split a category's CPU time counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuGroup {
    /// The OS side: `[machine] os_cores`.
    Os,
    /// The workload side: `[machine] workload_cores`; its categories also decide the load state.
    Workload,
}

/// A budget category (`[[category]]`): idle and workload targets and what it matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Unique key; apps' `category` names it and overlays merge by it.
    pub id: String,
    /// Display name in reports.
    pub name: String,
    /// Where its figure comes from (`source`; default `match`).
    #[serde(default)]
    pub source: CategorySource,
    /// Bytes it may use while the desktop is idle (`idle`); a workload category gets at least
    /// `[budget] workload_threshold`.
    pub idle: ByteSize,
    /// Bytes it may use under workload (`workload`).
    pub workload: ByteSize,
    /// Which side of the core split its CPU time counts against (`cpu`: "os" or "workload").
    pub cpu: CpuGroup,
    /// Globs on the systemd unit name, or on the cgroup path when they contain '/' (`units`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// Globs on the process name (comm) and the basename of `argv[0]` (`exes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exes: Vec<String>,
}

/// What an app is built on, which decides its launch flags (`[[app]] toolkit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Toolkit {
    /// Electron: Chromium's GPU flags, and `v8_heap_mb` as a V8 heap cap.
    Electron,
    /// Chromium Embedded Framework (e.g. Spotify): Chromium's GPU flags, no V8 cap.
    Cef,
    /// A Chromium-based browser (Chromium, Brave, Chrome): Chromium's flags, no V8 cap.
    Chromium,
    /// Qt: no extra flags.
    Qt,
    /// Anything else (e.g. Firefox): no extra flags.
    Native,
}

/// Which units of a catalog app the agent governs: applies the catalog's limits to, and
/// gathers the app's processes into, so the limits hold per app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Govern {
    /// Every instance, however it started (Plasma's launcher, KRunner, session restore,
    /// ballast, the app moving itself).
    #[default]
    All,
    /// Only instances `ballast launch` started, and the units they move themselves into.
    Launched,
    /// None: ballast's own scopes keep the limits they were started with, nothing more.
    None,
}

/// A catalog app (`[[app]]`): how to launch it and the limits its unit gets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Unique key, part of unit names: letters, digits, '-', '_' or '.'; overlays merge by it.
    pub id: String,
    /// Display name in reports and scope descriptions.
    pub name: String,
    /// Desktop file ids (without ".desktop") the app is known by: the first names ballast's
    /// scopes (`app-ballast-<id>-<random>.scope`, so xdg-desktop-portal identifies the
    /// app), all of them recognise units other launchers start. Empty: the app's `id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub desktop_ids: Vec<String>,
    /// Overrides `[launch] govern` for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub govern: Option<Govern>,
    /// The real binary: a name looked up on PATH, or an absolute path.
    pub exec: String,
    /// Arguments passed after ballast's own flags and before the user's (`args`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// What the app is built on (`toolkit`).
    pub toolkit: Toolkit,
    /// The category whose budget this app's memory counts against (its own line there).
    pub category: String,
    /// Electron only: MB each V8 isolate's old space may grow to (`v8_heap_mb`, passed as
    /// `--max-old-space-size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v8_heap_mb: Option<u32>,
    /// Bytes above which the kernel throttles and reclaims the app: its unit's MemoryHigh=
    /// (`memory_high`); at most `memory_max`.
    pub memory_high: ByteSize,
    /// Bytes the app may never exceed: its unit's MemoryMax= (`memory_max`).
    pub memory_max: ByteSize,
    /// CPU time the app may use, in percent of one CPU: its unit's CPUQuota= (`cpu_quota`).
    pub cpu_quota: CpuQuota,
    /// Raises the app's OOM-killer score (1..=1000); it can only raise, never protect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<u16>,
    /// Extra process-name patterns beyond the basename of `exec`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exes: Vec<String>,
}

impl App {
    /// The unit-name pattern of scopes that `ballast launch` starts for this app
    /// (systemd desktop-environment spec: `app-<launcher>-<appid>-<random>.scope`).
    pub fn scope_pattern(&self) -> String {
        format!("app-ballast-{}-*.scope", escape_unit_part(self.desktop_id()))
    }

    /// The desktop file id ballast's scopes carry: the first of `desktop_ids`, else `id`.
    pub fn desktop_id(&self) -> &str {
        self.desktop_ids.first().unwrap_or(&self.id)
    }

    /// Every desktop file id the app is known by: `desktop_ids`, else its `id`.
    pub fn known_desktop_ids(&self) -> &[String] {
        if self.desktop_ids.is_empty() {
            std::slice::from_ref(&self.id)
        } else {
            &self.desktop_ids
        }
    }

    /// The file name of `exec` (after the last '/'); the app's processes match it.
    pub fn exec_basename(&self) -> &str {
        self.exec.rsplit('/').next().unwrap_or(&self.exec)
    }
}

/// What `ballast tune` writes (`[tune.kwin]`, `[tune.baloo]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneTargets {
    /// KWin and animation settings (`[tune.kwin]`).
    pub kwin: KwinTargets,
    /// Baloo indexing settings (`[tune.baloo]`).
    pub baloo: BalooTargets,
}

/// KWin settings `ballast tune` writes to kwinrc and kdeglobals (`[tune.kwin]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KwinTargets {
    /// kwinrc `[Compositing]` Backend, e.g. "OpenGL".
    pub backend: String,
    /// kwinrc `[Compositing]` GLPreferBufferSwap, e.g. "a" (automatic).
    pub gl_prefer_buffer_swap: String,
    /// kwinrc `[Compositing]` GLTextureFilter.
    pub gl_texture_filter: u32,
    /// kwinrc `[Compositing]` WindowsBlockCompositing: whether windows may suspend compositing.
    pub windows_block_compositing: bool,
    /// kdeglobals `[KDE]` AnimationDurationFactor: animation length multiplier (0.5 halves it).
    pub animation_duration_factor: f64,
    /// KWin effects to enable (kwinrc `[Plugins]` `<effect>Enabled=true`).
    pub effects_on: Vec<String>,
    /// KWin effects to disable (kwinrc `[Plugins]` `<effect>Enabled=false`).
    pub effects_off: Vec<String>,
}

/// Baloo settings `ballast tune` writes to baloofilerc `[General]` (`[tune.baloo]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalooTargets {
    /// `only basic indexing`: file names and metadata only, no file contents.
    pub only_basic_indexing: bool,
    /// `index hidden folders`.
    pub index_hidden_folders: bool,
    /// Folders added to `exclude folders` (the user's own entries stay); `$HOME` is allowed.
    pub exclude_folders: Vec<String>,
}

/// A desktop file id as the Desktop Entry spec allows one, without its ".desktop".
fn is_desktop_file_id(id: &str) -> bool {
    !id.is_empty()
        && !id.ends_with(".desktop")
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Escapes a part of a unit name as systemd-escape does: '-' separates the parts of an
/// app unit name, so it (and anything outside [A-Za-z0-9:_.]) becomes \xNN.
pub fn escape_unit_part(part: &str) -> String {
    let mut escaped = String::with_capacity(part.len());
    for (index, byte) in part.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric() || byte == b':' || byte == b'_' || (byte == b'.' && index > 0);
        if plain {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("\\x{byte:02x}"));
        }
    }
    escaped
}

/// Reverses [`escape_unit_part`] (and systemd-escape): each `\xNN` becomes its byte. A
/// malformed escape stays as it is written.
pub fn unescape_unit_part(part: &str) -> String {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 2..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], bytes.get(i + 1), hex) {
            (b'\\', Some(b'x'), Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, ..) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the effective profile came from, for messages and `ballast profile`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The embedded default alone: no user file.
    Embedded,
    /// This user file, merged over the embedded default.
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Embedded => f.write_str("embedded default profile"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why the effective profile could not be loaded.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum ProfileError {
    /// The user file could not be read.
    #[error("cannot read profile {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The profile does not parse or breaks a rule; `position` is the 1-based line and column
    /// in the user file, when known.
    #[error("{origin}{}: {message}", position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid { origin: Origin, position: Option<(usize, usize)>, message: String },
}

impl SampleSettings {
    /// One tick (`tick_seconds`) as a Duration.
    pub fn tick(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.tick_seconds)
    }

    /// The longest tick while idle (`idle_tick_seconds`) as a Duration.
    pub fn idle_tick(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.idle_tick_seconds)
    }

    /// How many ticks make up `seconds` (at least one).
    pub fn ticks_in(&self, seconds: f64) -> u64 {
        ((seconds / self.tick_seconds).round() as u64).max(1)
    }
}

impl Profile {
    /// The embedded default profile, with no overlay.
    pub fn embedded() -> Profile {
        Profile::from_overlay("", &Origin::Embedded).expect("the embedded default profile is valid")
    }

    /// Parses a user overlay (possibly empty) over the embedded default.
    pub fn from_overlay(text: &str, origin: &Origin) -> Result<Profile, ProfileError> {
        let invalid = |span: Option<std::ops::Range<usize>>, message: String| ProfileError::Invalid {
            origin: origin.clone(),
            position: span.map(|s| line_column(text, s.start)),
            message,
        };
        let mut merged: toml::Table = toml::from_str(DEFAULT_TOML).map_err(|e| ProfileError::Invalid {
            origin: Origin::Embedded,
            position: None,
            message: e.to_string(),
        })?;
        let overlay: toml::Table =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim_end().to_string()))?;
        merge_table(&mut merged, overlay);
        let merged = toml::Value::Table(merged);
        let profile: Profile = serde_path_to_error::deserialize(merged.clone()).map_err(|e| {
            let keys = path_keys(e.path());
            let key_path = e.path().to_string();
            let message = format!("{key_path}: {}", e.into_inner().message().trim_end());
            invalid(locate_keys(text, &merged, &keys), message)
        })?;
        profile.validate().map_err(|(keys, message)| invalid(locate_keys(text, &merged, &keys), message))?;
        Ok(profile)
    }

    /// The category with this `id`, if any.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The catalog app with this `id`, if any.
    pub fn app(&self, id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.id == id)
    }

    /// Cross-field rules serde cannot express. Errors carry the key path they concern.
    fn validate(&self) -> Result<(), (Vec<PathKey>, String)> {
        let cat =
            |i: usize, key: &str| vec![PathKey::Name("category".into()), PathKey::Index(i), PathKey::Name(key.into())];
        for (i, category) in self.categories.iter().enumerate() {
            if self.categories[..i].iter().any(|c| c.id == category.id) {
                return Err((cat(i, "id"), format!("category id {:?} is used twice", category.id)));
            }
            if category.source != CategorySource::Match && !(category.units.is_empty() && category.exes.is_empty()) {
                return Err((cat(i, "units"), format!("category {:?}: a {:?} category takes its figure from /proc/meminfo and cannot have units or exes", category.id, category.source)));
            }
        }
        for (i, entry) in self.apps.iter().enumerate() {
            self.validate_app(i, entry)?;
        }
        let b = &self.budget;
        if !(0.0..1.0).contains(&b.leave_margin) || !(0.0..=1.0).contains(&b.near_fraction) {
            return Err((
                vec![PathKey::Name("budget".into()), PathKey::Name("leave_margin".into())],
                "budget.leave_margin must be in [0, 1) and near_fraction in [0, 1]".into(),
            ));
        }
        // Written so that NaN is refused too.
        if self.sample.tick_seconds.is_nan() || self.sample.tick_seconds < 0.05 {
            return Err((
                vec![PathKey::Name("sample".into()), PathKey::Name("tick_seconds".into())],
                "sample.tick_seconds must be at least 0.05".into(),
            ));
        }
        let idle = self.sample.idle_tick_seconds;
        if !(0.05..=3600.0).contains(&idle) {
            return Err((
                vec![PathKey::Name("sample".into()), PathKey::Name("idle_tick_seconds".into())],
                "sample.idle_tick_seconds must be between 0.05 and 3600 (below tick_seconds, tick_seconds is used)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The rules of the catalog entry `entry` at index `i`.
    fn validate_app(&self, i: usize, entry: &App) -> Result<(), (Vec<PathKey>, String)> {
        let app = |i: usize, key: &str| vec![PathKey::Name("app".into()), PathKey::Index(i), PathKey::Name(key.into())];
        if self.apps[..i].iter().any(|a| a.id == entry.id) {
            return Err((app(i, "id"), format!("app id {:?} is used twice", entry.id)));
        }
        if entry.id.is_empty()
            || !entry.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err((
                app(i, "id"),
                format!(
                    "app id {:?} must be letters, digits, '-', '_' or '.' (it becomes part of a unit name)",
                    entry.id
                ),
            ));
        }
        match self.category(&entry.category) {
            Some(c) if c.source == CategorySource::Match => {}
            _ => {
                return Err((
                    app(i, "category"),
                    format!(
                        "app {:?}: category {:?} is not a units/exes category of this profile",
                        entry.id, entry.category
                    ),
                ))
            }
        }
        if let Some(bad) = entry.desktop_ids.iter().find(|d| !is_desktop_file_id(d)) {
            return Err((app(i, "desktop_ids"), format!("app {:?}: desktop id {bad:?} is not a desktop file id (letters, digits, '-', '_' and '.', without \".desktop\")", entry.id)));
        }
        if entry.memory_high > entry.memory_max {
            return Err((
                app(i, "memory_high"),
                format!(
                    "app {:?}: memory_high {} is above memory_max {}",
                    entry.id, entry.memory_high, entry.memory_max
                ),
            ));
        }
        if entry.oom_score_adj.is_some_and(|adj| adj == 0 || adj > 1000) {
            return Err((
                app(i, "oom_score_adj"),
                format!("app {:?}: oom_score_adj must be 1..=1000 (it can only raise the OOM score)", entry.id),
            ));
        }
        if entry.v8_heap_mb.is_some() && entry.toolkit != Toolkit::Electron {
            return Err((
                app(i, "v8_heap_mb"),
                format!(
                    "app {:?}: v8_heap_mb applies to Electron apps only (toolkit is {:?})",
                    entry.id, entry.toolkit
                ),
            ));
        }
        Ok(())
    }
}

/// Which file the effective profile comes from: `--profile`/`BALLAST_PROFILE` (must exist),
/// else `$XDG_CONFIG_HOME/ballast/config.toml` (or ~/.config/...) when present.
pub fn user_profile_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let path = crate::xdg::config_home().join("ballast/config.toml");
    path.exists().then_some(path)
}

/// Loads the effective profile (I/O edge of this module).
pub fn load(explicit: Option<&Path>) -> Result<(Profile, Origin), ProfileError> {
    match user_profile_path(explicit) {
        None => Ok((Profile::embedded(), Origin::Embedded)),
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).map_err(|source| ProfileError::Read { path: path.clone(), source })?;
            let origin = Origin::File(path);
            Ok((Profile::from_overlay(&text, &origin)?, origin))
        }
    }
}

fn merge_table(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(table)) => merge_table(base_table, table),
            (Some(toml::Value::Array(base_items)), toml::Value::Array(items)) if key == "category" || key == "app" => {
                merge_by_id(base_items, items)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn merge_by_id(base: &mut Vec<toml::Value>, overlay: Vec<toml::Value>) {
    let id_of = |v: &toml::Value| v.get("id").and_then(|id| id.as_str()).map(str::to_owned);
    for item in overlay {
        let existing = id_of(&item).and_then(|id| base.iter_mut().find(|b| id_of(b).as_deref() == Some(&id)));
        match (existing, item) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(table)) => merge_table(base_table, table),
            (_, item) => base.push(item),
        }
    }
}

/// One step of a key path: a table key, or an index in an array.
#[derive(Clone, Debug, PartialEq)]
enum PathKey {
    Name(String),
    Index(usize),
}

fn path_keys(path: &serde_path_to_error::Path) -> Vec<PathKey> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(PathKey::Name(key.clone())),
            Segment::Seq { index } => Some(PathKey::Index(*index)),
            Segment::Enum { variant } => Some(PathKey::Name(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// Finds where a merged-profile key path is written in the user's overlay text. Array
/// indices are those of the merged profile, so entries are found by the merged id instead:
/// the overlay may list fewer entries than the merge produced.
fn locate_keys(text: &str, merged: &toml::Value, keys: &[PathKey]) -> Option<std::ops::Range<usize>> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text).ok()?;
    let mut merged_cursor = merged;
    let mut cursor: &DeValue = &DeValue::Table(document.get_ref().clone());
    let mut span = None;
    for key in keys {
        match key {
            PathKey::Name(name) => {
                let DeValue::Table(table) = cursor else { break };
                let Some((found_key, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
                    break;
                };
                span = Some(found_key.span());
                cursor = value.get_ref();
                merged_cursor = merged_cursor.get(name.as_str())?;
            }
            PathKey::Index(index) => {
                let DeValue::Array(items) = cursor else { break };
                let wanted_id = merged_cursor.get(*index)?.get("id")?.as_str()?.to_owned();
                merged_cursor = merged_cursor.get(*index)?;
                let Some(item) = items.iter().find(|item| match item.get_ref() {
                    DeValue::Table(t) => t.iter().any(|(k, v)| {
                        k.get_ref().as_ref() == "id"
                            && matches!(v.get_ref(), DeValue::String(s) if s.as_ref() == wanted_id)
                    }),
                    _ => false,
                }) else {
                    break;
                };
                span = Some(item.span());
                cursor = item.get_ref();
            }
        }
    }
    span
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
