//! The `ballast` command line.

use anyhow::{Context, Result};
use ballast::agent;
use ballast::budget::{Budget, Report};
use ballast::doctor;
use ballast::launch::{self, UserManager};
use ballast::profile::{self, Origin, Profile};
use ballast::render;
use ballast::sample::Sampler;
use ballast::tune;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "ballast", version, about = "Keeps a KDE Plasma desktop inside a memory budget")]
#[command(
    after_help = "Without a command, ballast starts the agent, or shows `status --watch` where there is no desktop session."
)]
struct Cli {
    /// Profile file (an overlay on the embedded default). Default:
    /// $XDG_CONFIG_HOME/ballast/config.toml when it exists, else the embedded profile.
    #[arg(long, global = true, env = "BALLAST_PROFILE", value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Read /proc and /sys below DIR instead of / (for captured fixture trees).
    #[arg(long, global = true, env = "BALLAST_ROOT", value_name = "DIR", default_value = "/")]
    root: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
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
        target: tune::Target,
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
        /// With --status: print JSON.
        #[arg(long, requires = "status")]
        json: bool,
    },
    /// Stop a scope by unit name, or every scope ballast started for an app.
    Stop {
        /// A unit (app-ballast-discord-1a2b3c4d.scope) or a catalog app id (discord).
        target: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AutostartAction {
    Enable,
    Disable,
    Status,
}

fn main() {
    let cli = Cli::parse();
    ballast::sample::raise_open_file_limit();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("ballast: {error:#}");
            std::process::exit(2);
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    let (profile, origin) = profile::load(cli.profile.as_deref())?;
    let Some(command) = cli.command else {
        return match block_on_agent(cli.profile.clone(), cli.root.clone()) {
            Err(e @ (agent::AgentError::NoGraphicalSession | agent::AgentError::NoSessionBus(_))) => {
                eprintln!("ballast: {e}: showing `ballast status --watch` instead of the tray agent");
                status(profile, Sampler::with_root(&cli.root), false, true)
            }
            other => finish_agent(other),
        };
    };
    match command {
        Command::Agent { defer_to_unit } => {
            if defer_to_unit && block_on(async { Ok(agent::autostart::unit_starts_agent().await) })? {
                println!(
                    "ballast: the user manager starts {} in this session; the autostart entry defers to it",
                    agent::autostart::UNIT
                );
                return Ok(0);
            }
            finish_agent(block_on_agent(cli.profile.clone(), cli.root.clone()))
        }
        Command::Autostart { action } => {
            let places = agent::autostart::Places::from_env();
            let use_systemd = agent::autostart::has_user_manager();
            let lines = match action {
                AutostartAction::Enable => agent::autostart::enable(&places, &std::env::current_exe()?, use_systemd)?,
                AutostartAction::Disable => agent::autostart::disable(&places, use_systemd)?,
                AutostartAction::Status => agent::autostart::status(&places, use_systemd),
            };
            lines.iter().for_each(|line| println!("{line}"));
            Ok(0)
        }
        Command::Dashboard => {
            use std::os::unix::process::CommandExt;
            let beside = std::env::current_exe()?.with_file_name("ballast-dashboard");
            let path = std::env::var("PATH").ok();
            let binary = launch::is_executable(&beside)
                .then_some(beside)
                .or_else(|| launch::resolve_binary("ballast-dashboard", path.as_deref(), launch::is_executable))
                .context(
                    "the dashboard is not installed (ballast-dashboard is built from dashboard/ in the source tree)",
                )?;
            // Its own scope, out of the caller's unit (the agent's, when the tray opens it).
            let spec = launch::dashboard_spec(
                &profile.launch,
                binary.clone(),
                agent::autostart::APP_ID,
                launch::random_suffix(),
            );
            if let Err(e) =
                block_on(async { Ok(UserManager::connect().await?.start_scope(&spec, &[std::process::id()]).await?) })
            {
                eprintln!("ballast: the dashboard runs without a scope of its own: {e}");
            }
            Err(anyhow::Error::from(std::process::Command::new(&binary).exec())
                .context(format!("cannot run {}", binary.display())))
        }
        Command::Status { json, watch } => {
            // The running agent already has a report (with CPU use over its last tick):
            // ask it, unless this command was pointed at another profile or tree.
            let own_view = cli.profile.is_some() || cli.root != std::path::Path::new("/");
            let from_agent = if watch || own_view { None } else { report_from_agent() };
            match from_agent {
                Some(report) => {
                    print_report(&report, json);
                    Ok(0)
                }
                None => status(profile, Sampler::with_root(&cli.root), json, watch),
            }
        }
        Command::Doctor { json } => {
            let mut sampler = Sampler::with_root(&cli.root);
            let facts = doctor::gather(&mut sampler, &profile).context("cannot sample memory")?;
            let checks = doctor::checks(&profile, &facts);
            if json {
                println!("{}", serde_json::to_string_pretty(&checks)?);
            } else {
                print!("{}", doctor_text(&checks, std::io::stdout().is_terminal()));
            }
            Ok(doctor::exit_code(&checks))
        }
        Command::Apps { json } => apps(&profile, json),
        Command::Tune { target, apply, rollback, status, to, force, plasma, session, json, dry_run: _ } => {
            let session = tune_session(plasma.as_deref(), session.as_deref());
            let places = tune::Places::from_env(session.plasma.kconfig());
            if apply {
                tune_apply(&profile, target, &session, &places)
            } else if rollback {
                tune_rollback(&places, target, to.as_deref(), force)
            } else if status {
                tune_status(&profile, target, &session, &places, json)
            } else {
                let plans = tune::plan(&profile, target, &session, &places)?;
                let (preview, refusals) = (tune::diff(&plans), tune::refusals(&plans));
                refusals.iter().chain(&tune::unread(&plans, &session)).for_each(|line| println!("{line}"));
                if preview.is_empty() && refusals.is_empty() {
                    println!("nothing to change: {} is already tuned", target.name());
                }
                print!("{preview}");
                Ok(0)
            }
        }
        Command::Launch { app, foreground, detached_child, args } => {
            launch(&profile, cli.profile.as_deref(), &app, foreground, detached_child, &args)
        }
        Command::Scopes { json } => scopes(&profile, &cli.root, json),
        Command::Stop { target } => block_on(async {
            let manager = UserManager::connect().await?;
            let running = manager.app_units().await?;
            for unit in launch::units_to_stop(&profile, &target, &running)? {
                manager.stop(&unit).await?;
                println!("stopped {unit}");
            }
            Ok(0)
        }),
        Command::Profile { json } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&profile)?);
            } else {
                if let Origin::File(_) = origin {
                    println!("# effective profile: {origin} over the embedded default");
                } else {
                    println!("# effective profile: {origin}");
                }
                print!("{}", toml::to_string(&profile)?);
            }
            Ok(0)
        }
    }
}

/// How long a one-shot `status` waits between its two samples to measure CPU use.
const CPU_WINDOW: Duration = Duration::from_millis(250);

fn status(profile: Profile, mut sampler: Sampler, json: bool, watch: bool) -> Result<i32> {
    let tick = profile.sample.tick();
    let mut budget = Budget::new(profile);
    let color = !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut evaluate = |sampler: &mut Sampler| -> Result<Report> {
        let sample = sampler.sample().context("cannot sample memory")?;
        Ok(budget.evaluate(&sample))
    };
    if !watch {
        evaluate(&mut sampler)?;
        std::thread::sleep(CPU_WINDOW);
        print_report(&evaluate(&mut sampler)?, json);
        return Ok(0);
    }
    let mut stdout = std::io::stdout().lock();
    let in_place = color || (!json && std::io::stdout().is_terminal());
    loop {
        let report = evaluate(&mut sampler)?;
        if json {
            writeln!(stdout, "{}", serde_json::to_string(&report)?)?;
        } else if in_place {
            // Home the cursor and clear, so the table refreshes in place.
            write!(stdout, "\x1b[H\x1b[2J{}", render::status_text(&report, color))?;
        } else {
            writeln!(stdout, "{}", render::status_text(&report, false))?;
        }
        stdout.flush()?;
        std::thread::sleep(tick);
    }
}

fn doctor_text(checks: &[doctor::Check], color: bool) -> String {
    let mut out = String::new();
    for check in checks {
        let word = check.verdict.as_str().to_owned();
        let painted = match (color, check.verdict) {
            (false, _) => word,
            (true, doctor::Verdict::Pass) => format!("\x1b[32m{word}\x1b[0m"),
            (true, doctor::Verdict::Skip) => format!("\x1b[2m{word}\x1b[0m"),
            (true, doctor::Verdict::Warn) => format!("\x1b[33m{word}\x1b[0m"),
            (true, doctor::Verdict::Fail) => format!("\x1b[1;31m{word}\x1b[0m"),
        };
        out.push_str(&format!("{painted:<4}  {:<13} {}\n", check.id, check.message));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("      {:<13} fix: {fix}\n", ""));
        }
    }
    out
}

/// Runs async D-Bus work on a current-thread runtime, as the agent will.
fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(work)
}

fn apps(profile: &Profile, json: bool) -> Result<i32> {
    let apps = launch::catalog(profile, std::env::var("PATH").ok().as_deref());
    if json {
        println!("{}", serde_json::to_string_pretty(&apps)?);
    } else {
        print!("{}", render::apps_table(&apps));
    }
    Ok(0)
}

fn launch(
    profile: &Profile,
    profile_file: Option<&std::path::Path>,
    id: &str,
    foreground: bool,
    detached_child: bool,
    args: &[String],
) -> Result<i32> {
    if !(foreground || detached_child) {
        launch::resolve(profile, id)?;
        return launch_detached(profile_file, id, args);
    }
    let (spec, engine) = launch::prepare(profile, id, args)?;
    block_on(async {
        let manager = UserManager::connect().await?;
        manager.start_scope(&spec, &[std::process::id()]).await?;
        Ok(())
    })?;
    println!("{}", spec.unit);
    std::io::stdout().flush()?;
    if detached_child {
        launch::redirect_output_to_journal(id);
    }
    if let Some(engine) = engine {
        match engine.chromium {
            Some(major) => eprintln!("ballast: {id} runs Chromium {major} ({}): GPU flags for it", engine.source),
            None => eprintln!("ballast: {id}: {}; conservative GPU flags (no --use-gl/--use-angle)", engine.source),
        }
    }
    Err(launch::exec_in_scope(&spec).into())
}

/// Starts `ballast launch --detached-child` in a new session and reports the unit name
/// it prints once the scope exists (or its error, with its exit code).
fn launch_detached(profile_file: Option<&std::path::Path>, id: &str, args: &[String]) -> Result<i32> {
    use std::io::{BufRead, Read};
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new(std::env::current_exe()?);
    if let Some(file) = profile_file {
        child.arg("--profile").arg(file);
    }
    child.args(["launch", id, "--detached-child", "--"]).args(args);
    child.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    // SAFETY: setsid is async-signal-safe; the app must outlive this terminal session.
    unsafe {
        child.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = child.spawn().context("cannot start the launch process")?;
    let mut unit = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut unit)?;
    if !unit.trim().is_empty() {
        println!("{}", unit.trim());
        return Ok(0);
    }
    let mut error = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut error)?;
    eprint!("{error}");
    Ok(child.wait()?.code().unwrap_or(2))
}

fn scopes(profile: &Profile, root: &std::path::Path, json: bool) -> Result<i32> {
    let mode = ballast::sample::cgroup_mode(root);
    let mut statuses = block_on(async {
        let manager = UserManager::connect().await?;
        let mut statuses = Vec::new();
        for unit in manager.app_units().await? {
            let mut status = launch::scope_status(&manager, profile, &unit, root, mode).await?;
            let processes = manager.unit_processes(&unit.name).await.unwrap_or_default();
            launch::recognise_with(profile, &mut status, &processes);
            statuses.push(status);
        }
        Ok(statuses)
    })?;
    launch::mark_governed(profile, &mut statuses);
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
        return Ok(0);
    }
    if statuses.is_empty() {
        println!("no app scope is running");
        return Ok(0);
    }
    print!("{}", render::scopes_table(profile, &statuses));
    Ok(0)
}

/// The session `tune` plans for: the running one (tune::Session::probe), with the user's
/// --plasma and --session in its place where given.
fn tune_session(plasma: Option<&str>, display: Option<&str>) -> tune::Session {
    let probed = block_on(async { Ok(tune::Session::probe(zbus::Connection::session().await.ok().as_ref()).await) });
    let mut session = probed.unwrap_or_else(|_| tune::Session::detect(None, &tune::SessionEnv::from_env()));
    // clap allows only "5"/"6" and "x11"/"wayland" here.
    if let Some(plasma) = plasma.and_then(tune::Plasma::from_major) {
        session.plasma = plasma;
    }
    if let Some(display) = display.and_then(launch::DisplayServer::from_session_type) {
        session.display = Some(display);
    }
    session
}

fn tune_apply(profile: &Profile, target: tune::Target, session: &tune::Session, places: &tune::Places) -> Result<i32> {
    let applied = block_on(async {
        let connection = zbus::Connection::session().await.ok();
        Ok(tune::apply_and_tell(profile, target, session, places, connection.as_ref()).await?)
    })?;
    let refusals = tune::refusals(&applied.plans);
    refusals.iter().for_each(|line| eprintln!("ballast: {line}"));
    tune::unread(&applied.plans, session).iter().for_each(|line| println!("{line}"));
    let Some(backup) = applied.backup else {
        if !refusals.is_empty() {
            return Ok(1);
        }
        println!("nothing to change: {} is already tuned", target.name());
        return Ok(0);
    };
    for plan in applied.plans.iter().filter(|p| p.writes()) {
        let keys: usize = plan.changed.values().map(|k| k.len()).sum();
        println!("wrote {} ({keys} key(s))", plan.path.display());
    }
    println!("backup: {} (undo with `ballast tune {} --rollback`)", backup.dir.display(), target.name());
    applied.told.iter().for_each(|line| println!("  {line}"));
    Ok(0)
}

fn tune_rollback(places: &tune::Places, target: tune::Target, to: Option<&str>, force: bool) -> Result<i32> {
    let rolled = block_on(async {
        let connection = zbus::Connection::session().await.ok();
        Ok(tune::rollback_and_tell(places, target, to, force, connection.as_ref()).await?)
    })?;
    for file in &rolled.restored {
        println!("restored {}", file.path.display());
    }
    println!("rolled back {}", rolled.backup.name);
    rolled.told.iter().for_each(|line| println!("  {line}"));
    Ok(0)
}

fn tune_status(
    profile: &Profile,
    target: tune::Target,
    session: &tune::Session,
    places: &tune::Places,
    json: bool,
) -> Result<i32> {
    let settings = tune::settings(profile, target, session.plasma, places)?;
    let status = tune::file_status(&settings, session, places)?;
    let live = block_on(async {
        let connection = zbus::Connection::session().await?;
        let kwin = tune::notify::kwin_live(&connection).await;
        let baloo = tune::notify::baloo_state(&connection).await;
        Ok((kwin, baloo))
    })
    .ok();
    let (kwin, baloo_state) = live.unwrap_or((None, None));
    let kwin_lines: Vec<String> = kwin
        .as_ref()
        .map(|(information, _)| {
            information
                .lines()
                .map(str::trim)
                .filter(|l| {
                    ["glSmoothScale:", "glPreferBufferSwap:", "windowsBlockCompositing:", "compositingMode:"]
                        .iter()
                        .any(|k| l.starts_with(k))
                })
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let effects = kwin.as_ref().map(|(_, effects)| effects.clone());
    if json {
        let value = serde_json::json!({
            "session": session,
            "settings": status,
            "kwin": kwin.as_ref().map(|_| serde_json::json!({ "support_information": kwin_lines, "loaded_effects": effects })),
            "baloo_state": baloo_state,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    println!(
        "session: {} ({}, from {})",
        session.kwin(),
        session.kwin_version.as_deref().unwrap_or("version unknown"),
        session.source
    );
    for s in &status {
        let mark = if s.unused.is_some() {
            "-- "
        } else if s.matches {
            "ok "
        } else if s.locked_by.is_some() {
            "!! "
        } else {
            "-> "
        };
        let from = match (&s.unused, &s.locked_by, &s.source) {
            (Some(why), _, _) => format!("; {why}"),
            (None, Some(lock), _) => format!("; locked by {}", lock.display()),
            (None, None, Some(source)) if !source.starts_with(&places.config_dir) => {
                format!("; from {}", source.display())
            }
            _ => String::new(),
        };
        println!(
            "{mark} {:<12} [{}] {} = {}  (target {}{from})",
            s.file,
            s.group.replace('\x1d', "]["),
            s.key,
            s.file_value.as_deref().unwrap_or("(unset)"),
            s.target
        );
    }
    if matches!(target, tune::Target::Kwin | tune::Target::All) {
        match (&kwin_lines[..], &effects) {
            (_, None) => println!("KWin: not running on this session bus (live values unknown)"),
            (lines, Some(effects)) => {
                println!("KWin live: {}; effects loaded: {}", lines.join(", "), effects.join(" "))
            }
        }
    }
    if matches!(target, tune::Target::Baloo | tune::Target::All) {
        match &baloo_state {
            Some(state) => println!("Baloo live: running, {state}"),
            None => println!("Baloo: not running on this session bus"),
        }
    }
    Ok(0)
}

fn block_on_agent(profile_file: Option<PathBuf>, root: PathBuf) -> Result<(), agent::AgentError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| agent::AgentError::Bus(e.to_string()))?;
    runtime.block_on(agent::run(profile_file, root))
}

/// Exit codes of the agent: 0 when it ends or one already runs, 1 when it cannot run
/// (so systemd's Restart=on-failure retries).
fn finish_agent(result: Result<(), agent::AgentError>) -> Result<i32> {
    match result {
        Ok(()) => Ok(0),
        Err(agent::AgentError::AlreadyRunning) => {
            println!("ballast: the agent is already running in this session");
            Ok(0)
        }
        Err(e) => {
            eprintln!("ballast: {e}");
            Ok(1)
        }
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).expect("a report serializes"));
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", render::status_text(report, color));
    }
}

/// The running agent's latest report, when an agent answers on the session bus.
fn report_from_agent() -> Option<Report> {
    block_on(async {
        let connection = zbus::Connection::session().await?;
        if !tune::notify::has_owner(&connection, agent::BUS_NAME).await {
            return Ok(None);
        }
        Ok(agent::api::Agent1Proxy::new(&connection).await?.report().await.ok())
    })
    .ok()
    .flatten()
}
