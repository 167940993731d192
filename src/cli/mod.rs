//! The command line's shape: clap's derive types, and nothing else, so that build.rs can
//! read them too (the man page and the shell completions).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "ballast", version, about = "Keeps a KDE Plasma desktop inside a memory budget")]
#[command(
    after_help = "Without a command, ballast starts the agent, or shows `status --watch` where there is no desktop session."
)]
pub struct Cli {
    /// Profile file (an overlay on the embedded default). Default:
    /// $XDG_CONFIG_HOME/ballast/config.toml when it exists, else the embedded profile.
    #[arg(long, global = true, env = "BALLAST_PROFILE", value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Read /proc and /sys below DIR instead of / (for captured fixture trees).
    #[arg(long, global = true, env = "BALLAST_ROOT", value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// The tray agent: budget, notifications, D-Bus API (io.ballast.Agent1). One per session.
    Agent {
        /// Exit at once when the session's systemd user manager starts ballast.service
        /// itself (the unit is enabled): what the XDG autostart entry runs, so an
        /// autostart entry and an enabled unit start one agent, not two.
        #[arg(long)]
        defer_to_unit: bool,
    },
    /// Start the agent with the Plasma session (a systemd user unit, else XDG autostart).
    Autostart {
        #[arg(value_enum)]
        action: AutostartAction,
    },
    /// Open the dashboard window (a separate Qt process that reads the agent's D-Bus API).
    Dashboard,
    /// Memory by category against the budget, zram, pressure and the CPU split.
    Status {
        /// Print the report as JSON (schema: docs/status-json.md).
        #[arg(long)]
        json: bool,
        /// Refresh every sampling tick until interrupted (JSON: one report per line).
        #[arg(long)]
        watch: bool,
    },
    /// Check the system against the profile; PASS/WARN/FAIL with fixes. Exit 1 on FAIL.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Print the effective profile (TOML, or JSON with --json).
    Profile {
        #[arg(long)]
        json: bool,
    },
    /// List the app catalog with its limits and whether each binary is installed.
    Apps {
        #[arg(long)]
        json: bool,
    },
    /// Start a catalog app in its own limited systemd user scope; prints the unit name.
    Launch {
        /// The app's id in the catalog (`ballast apps` lists them).
        app: String,
        /// Become the app in this terminal instead of starting it in the background.
        #[arg(long)]
        foreground: bool,
        /// Internal: the background half of a launch.
        #[arg(long, hide = true)]
        detached_child: bool,
        /// Arguments for the app, after `--`; passed as they are, no shell involved.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Running app scopes (ours and other launchers') with use against their limits.
    Scopes {
        #[arg(long)]
        json: bool,
    },
    /// KWin and Baloo settings: preview (default), apply, roll back, or show their state.
    Tune {
        #[arg(value_enum)]
        target: crate::tune::Target,
        /// Show a unified diff of what --apply would change (the default).
        #[arg(long, group = "action")]
        dry_run: bool,
        /// Back up, write the files atomically and tell the running programs.
        #[arg(long, group = "action")]
        apply: bool,
        /// Restore the files of the latest backup byte for byte and tell the programs.
        #[arg(long, group = "action")]
        rollback: bool,
        /// Each target setting: the value in its file and, where the program can tell, live.
        #[arg(long, group = "action")]
        status: bool,
        /// Apply, and measure what it saved: the memory (PSS) of KWin and plasmashell (kwin) and
        /// Baloo's indexer (baloo, restarted) before, and after a settle time.
        #[arg(long, group = "action")]
        measure: bool,
        /// With --measure: seconds to wait after the apply before the second reading.
        #[arg(long, requires = "measure", value_name = "SECONDS", default_value_t = 60)]
        settle: u64,
        /// With --rollback: the backup to restore (a name under $XDG_STATE_HOME/ballast/backups).
        #[arg(long, requires = "rollback", value_name = "TIME")]
        to: Option<String>,
        /// With --rollback: restore even files changed since ballast wrote them.
        #[arg(long, requires = "rollback")]
        force: bool,
        /// Plasma generation (default: the running KWin's version, else KDE_SESSION_VERSION,
        /// else the installed tools).
        #[arg(long, value_parser = ["5", "6"])]
        plasma: Option<String>,
        /// The session to tune for (default: the running KWin's operation mode, else
        /// XDG_SESSION_TYPE); keys that session's KWin does not use are not written.
        #[arg(long, value_parser = ["x11", "wayland"])]
        session: Option<String>,
        /// With --status or --measure: print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The kills the agent saw and the choices made, oldest first.
    ///
    /// From the event log $XDG_STATE_HOME/ballast/events.jsonl: the kernel's OOM kills in
    /// user units (oom-kill), units that failed with oom-kill (unit-oom-kill), systemd-oomd's
    /// kills (oomd-kill), and the choices made from a notification, the tray, the dashboard or
    /// this command line (freeze, thaw, give-more, stop).
    Events {
        /// Print JSON: a list of events (time in seconds since the epoch, kind, who, unit, why).
        #[arg(long)]
        json: bool,
        /// Only the newest N events.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
    },
    /// Limits learnt from what each catalog app used, beside the ones it has.
    ///
    /// From the usage record the agent keeps on cgroup v2 ($XDG_STATE_HOME/ballast/usage, a
    /// file a day): over the newest 14 days on record, MemoryHigh = p95 x 1.2 and MemoryMax =
    /// peak x 1.3, rounded up to 64 MiB, once an app was used on 3 of them (30 samples a day
    /// or more).
    Suggest {
        /// Print JSON: the apps on record, limits in bytes, each suggestion with its evidence
        /// (null until there is enough).
        #[arg(long)]
        json: bool,
        /// Write the suggested limits into the profile file (comments and order kept, the old
        /// file backed up under $XDG_STATE_HOME/ballast/backups); where Nix manages the file,
        /// print the home-manager settings instead (on stderr with --json).
        #[arg(long)]
        apply: bool,
    },
    /// Stop a scope by unit name, or every scope ballast started for an app.
    ///
    /// systemd StopUnit. Kept in the event log. Like freeze, thaw and more, it goes through
    /// the running agent when there is one (its notifications and tray follow at once).
    Stop {
        /// A unit (app-ballast-discord-1a2b3c4d.scope) or a catalog app id (discord).
        target: String,
    },
    /// Freeze an app's scope until it is thawed.
    ///
    /// Its processes keep their memory and use no CPU (systemd FreezeUnit; cgroup v2). Kept
    /// in the event log; the running agent shows an "App frozen" notification with Thaw.
    Freeze {
        /// A unit (app-ballast-discord-1a2b3c4d.scope) or a catalog app id (discord).
        target: String,
    },
    /// Thaw a frozen app's scope.
    ///
    /// systemd ThawUnit. Kept in the event log.
    Thaw {
        /// A unit (app-ballast-discord-1a2b3c4d.scope) or a catalog app id (discord).
        target: String,
    },
    /// Give an app's scope a quarter more memory until it stops.
    ///
    /// MemoryHigh and MemoryMax +25 %, up to the profile's [budget] workload_total (systemd
    /// SetUnitProperties, runtime). Kept in the event log.
    More {
        /// A unit (app-ballast-discord-1a2b3c4d.scope) or a catalog app id (discord).
        target: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AutostartAction {
    Enable,
    Disable,
    Status,
}
