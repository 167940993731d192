//! The `ballast` command line: each command's edge (reading arguments, printing); the work
//! is in the library.

mod cli;

use anyhow::{Context, Result};
use ballast::agent::{self, command::Choice};
use ballast::budget::{Budget, Report};
use ballast::doctor;
use ballast::launch::{self, UserManager};
use ballast::profile::{self, Origin, Profile};
use ballast::render;
use ballast::sample::Sampler;
use ballast::tune;
use ballast::xdg;
use clap::Parser;
use cli::{AutostartAction, Cli, Command};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn main() {
    let cli = Cli::parse();
    ballast::sample::raise_open_file_limit();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("ballast: {}", error_text(&error));
            std::process::exit(2);
        }
    }
}

/// The error and its causes, each said once: the library's messages already include their
/// source ("cannot read {path}: {source}"), which anyhow's chain would repeat.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain().map(ToString::to_string) {
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

fn run(cli: Cli) -> Result<i32> {
    let Cli { profile: profile_file, root, command } = cli;
    let (profile, origin) = profile::load(profile_file.as_deref())?;
    let Some(command) = command else {
        return match block_on_agent(profile_file.clone(), root.clone()) {
            Err(e @ (agent::AgentError::NoGraphicalSession | agent::AgentError::NoSessionBus(_))) => {
                eprintln!("ballast: {e}: showing `ballast status --watch` instead of the tray agent");
                status(profile, Sampler::with_root(&root), false, true)
            }
            other => finish_agent(other),
        };
    };
    match command {
        Command::Agent { defer_to_unit } => agent_command(profile_file, root, defer_to_unit),
        Command::Autostart { action } => autostart(action),
        Command::Dashboard => dashboard(&profile),
        Command::Status { json, watch } => status_command(profile_file.is_some(), &root, profile, json, watch),
        Command::Doctor { json } => doctor_command(&profile, &root, json),
        Command::Apps { json } => apps(&profile, json),
        Command::Tune {
            target,
            apply,
            rollback,
            status,
            measure,
            settle,
            to,
            force,
            plasma,
            session,
            json,
            dry_run: _,
        } => {
            let session = tune_session(plasma.as_deref(), session.as_deref());
            let places = tune::Places::from_env(session.plasma.kconfig());
            if measure {
                tune_measure(&profile, target, &session, &places, Duration::from_secs(settle), json)
            } else if apply {
                tune_apply(&profile, target, &session, &places)
            } else if rollback {
                tune_rollback(&places, target, to.as_deref(), force)
            } else if status {
                tune_status(&profile, target, &session, &places, json)
            } else {
                tune_preview(&profile, target, &session, &places)
            }
        }
        Command::Launch { app, foreground, detached_child, args } => {
            launch(&profile, profile_file.as_deref(), &app, foreground, detached_child, &args)
        }
        Command::Scopes { json } => scopes(&profile, &root, json),
        Command::Stop { target } => choose(&profile, Choice::Stop, &target),
        Command::Freeze { target } => choose(&profile, Choice::Freeze, &target),
        Command::Thaw { target } => choose(&profile, Choice::Thaw, &target),
        Command::More { target } => choose(&profile, Choice::GiveMore, &target),
        Command::Events { json, last } => events_command(json, last),
        Command::Suggest { json, apply } => suggest_command(&profile, profile_file.as_deref(), json, apply),
        Command::Profile { json } => profile_command(&profile, &origin, json),
    }
}

fn agent_command(profile_file: Option<PathBuf>, root: PathBuf, defer_to_unit: bool) -> Result<i32> {
    if defer_to_unit && block_on(async { Ok(agent::autostart::unit_starts_agent().await) })? {
        println!(
            "ballast: the user manager starts {} in this session; the autostart entry defers to it",
            agent::autostart::UNIT
        );
        return Ok(0);
    }
    finish_agent(block_on_agent(profile_file, root))
}

fn autostart(action: AutostartAction) -> Result<i32> {
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

/// Becomes ballast-dashboard (installed beside ballast, else on $PATH) in a scope of its own.
fn dashboard(profile: &Profile) -> Result<i32> {
    use std::os::unix::process::CommandExt;
    let beside = std::env::current_exe()?.with_file_name("ballast-dashboard");
    let path = std::env::var("PATH").ok();
    let binary = launch::is_executable(&beside)
        .then_some(beside)
        .or_else(|| launch::resolve_binary("ballast-dashboard", path.as_deref(), launch::is_executable))
        .context("the dashboard is not installed (ballast-dashboard is built from dashboard/ in the source tree)")?;
    // Its own scope, out of the caller's unit (the agent's, when the tray opens it).
    let spec =
        launch::dashboard_spec(&profile.launch, binary.clone(), agent::autostart::APP_ID, launch::random_suffix());
    if let Err(e) =
        block_on(async { Ok(UserManager::connect().await?.start_scope(&spec, &[std::process::id()]).await?) })
    {
        eprintln!("ballast: the dashboard runs without a scope of its own: {e}");
    }
    Err(anyhow::Error::from(std::process::Command::new(&binary).exec())
        .context(format!("cannot run {}", binary.display())))
}

/// `ballast events`: the event log, as a table or JSON; unreadable lines are said on stderr.
fn events_command(json: bool, last: Option<usize>) -> Result<i32> {
    let log = ballast::events::EventLog::from_env();
    let read = log.newest(last.unwrap_or(usize::MAX))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&read.events)?);
    } else {
        print!("{}", render::events_table(&read.events));
    }
    if read.unreadable > 0 {
        eprintln!("ballast: {} line(s) of {} are not events and were skipped", read.unreadable, log.path().display());
    }
    Ok(0)
}

/// `ballast suggest`: the recorded apps' limits now and suggested; with `apply`, written into
/// the profile file (`explicit`, else the user's) or given as home-manager settings.
fn suggest_command(profile: &Profile, explicit: Option<&Path>, json: bool, apply: bool) -> Result<i32> {
    let (apps, problems) = ballast::usage::store::user_app_limits(profile)?;
    problems.iter().for_each(|e| eprintln!("ballast: {e}"));
    if json {
        println!("{}", serde_json::to_string_pretty(&apps)?);
    } else {
        print!("{}", render::suggest_table(&apps, &ballast::usage::store::user_dir()));
    }
    if !apply {
        return Ok(0);
    }
    let limits: Vec<ballast::usage::apply::Limits> = apps
        .iter()
        .filter_map(|a| a.suggestion.as_ref().map(|s| (a.app.as_str(), s.memory_high, s.memory_max)))
        .collect();
    if limits.is_empty() {
        eprintln!("ballast: nothing to apply: no app has enough evidence yet");
        return Ok(1);
    }
    let path = explicit.map_or_else(|| xdg::config_home().join("ballast/config.toml"), Path::to_path_buf);
    let backups = xdg::state_dir().join("backups");
    // With --json, stdout holds the JSON alone.
    let say = |text: String| if json { eprint!("{text}") } else { print!("{text}") };
    match ballast::usage::apply::write_profile(&path, &backups, &limits, agent::now())? {
        ballast::usage::apply::Written::File { path, backup } => {
            say(format!("Wrote the suggested limits of {} app(s) into {}.\n", limits.len(), path.display()));
            if let Some(backup) = backup {
                say(format!("The file as it was: {}\n", backup.display()));
            }
            say("The running agent takes them at its next tick; apps launched from now on get them.\n".into());
        }
        ballast::usage::apply::Written::NixManaged { path, settings } => {
            say(format!(
                "{} is managed by Nix: nothing written. In your home-manager configuration:\n\n",
                path.display()
            ));
            say(settings);
        }
    }
    Ok(0)
}

/// `own_profile`: a profile file was given on the command line.
fn status_command(own_profile: bool, root: &Path, profile: Profile, json: bool, watch: bool) -> Result<i32> {
    // The running agent already has a report (with CPU use over its last tick):
    // ask it, unless this command was pointed at another profile or tree.
    let own_view = own_profile || root != Path::new("/");
    let from_agent = if watch || own_view { None } else { report_from_agent() };
    match from_agent {
        Some(report) => {
            print_report(&report, json);
            Ok(0)
        }
        None => status(profile, Sampler::with_root(root), json, watch),
    }
}

fn doctor_command(profile: &Profile, root: &Path, json: bool) -> Result<i32> {
    let facts = doctor::gather(&mut Sampler::with_root(root), profile).context("cannot sample memory")?;
    let checks = doctor::checks(profile, &facts);
    if json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        print!("{}", render::doctor_text(&checks, std::io::stdout().is_terminal()));
    }
    Ok(doctor::exit_code(&checks))
}

fn tune_preview(
    profile: &Profile,
    target: tune::Target,
    session: &tune::Session,
    places: &tune::Places,
) -> Result<i32> {
    let plans = tune::plan(profile, target, session, places)?;
    let (preview, refusals) = (tune::diff(&plans), tune::refusals(&plans));
    refusals.iter().chain(&tune::unread(&plans, session)).for_each(|line| println!("{line}"));
    if preview.is_empty() && refusals.is_empty() {
        println!("nothing to change: {} is already tuned", target.name());
    }
    print!("{preview}");
    Ok(0)
}

/// Freeze, thaw, give more to or stop the app units `target` names, as the notification's
/// actions do (the same code, the same event log): through the running agent when there is
/// one, so its notifications and tray follow, else directly; what was done to each.
fn choose(profile: &Profile, choice: Choice, target: &str) -> Result<i32> {
    block_on(async {
        let manager = UserManager::connect().await?;
        let running = manager.app_units().await?;
        let units = launch::units_named(profile, target, &running)?;
        let agent = running_agent().await;
        for unit in units {
            let done = match &agent {
                Some(agent) => {
                    agent.choose(choice, &unit).await.map_err(|e| anyhow::anyhow!(agent::api::reply_text(e)))?
                }
                None => agent::choose(Some(&manager), profile, choice, &unit).await?,
            };
            println!("{done}");
        }
        Ok(0)
    })
}

/// The agent of this session, when one answers on the session bus.
async fn running_agent() -> Option<agent::api::Agent1Proxy<'static>> {
    let connection = zbus::Connection::session().await.ok()?;
    if !tune::reload::has_owner(&connection, agent::BUS_NAME).await {
        return None;
    }
    agent::api::Agent1Proxy::new(&connection).await.ok()
}

fn profile_command(profile: &Profile, origin: &Origin, json: bool) -> Result<i32> {
    if json {
        println!("{}", serde_json::to_string_pretty(profile)?);
    } else {
        match origin {
            Origin::File(_) => println!("# effective profile: {origin} over the embedded default"),
            _ => println!("# effective profile: {origin}"),
        }
        print!("{}", toml::to_string(profile)?);
    }
    Ok(0)
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
    profile_file: Option<&Path>,
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
fn launch_detached(profile_file: Option<&Path>, id: &str, args: &[String]) -> Result<i32> {
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

fn scopes(profile: &Profile, root: &Path, json: bool) -> Result<i32> {
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
    say_applied(&applied, target, session)
}

/// Applies `target` and measures what it saved (tune::measure): PSS of each component it
/// touches before, and `settle` after; progress on stderr, the table (or JSON) on stdout, and
/// the measurement kept for the dashboard in $XDG_STATE_HOME/ballast/savings.json.
fn tune_measure(
    profile: &Profile,
    target: tune::Target,
    session: &tune::Session,
    places: &tune::Places,
    settle: Duration,
    json: bool,
) -> Result<i32> {
    let components = tune::measure::components(target, session);
    let (applied, rows) = block_on(async {
        let manager = UserManager::connect().await?;
        let connection = zbus::Connection::session().await.ok();
        // A fresh start is not a saving: what is restarted after the apply is restarted first.
        restart_and_settle(&manager, &components, settle).await;
        eprintln!("ballast: reading the memory of {}", names(&components));
        let before = read_pss(&manager, &components).await;
        let applied = tune::apply_and_tell(profile, target, session, places, connection.as_ref()).await?;
        restart_and_settle(&manager, &components, settle).await;
        if !components.iter().any(|c| c.restart) {
            eprintln!("ballast: waiting {} s for the settings to settle", settle.as_secs());
            tokio::time::sleep(settle).await;
        }
        let after = read_pss(&manager, &components).await;
        Ok((applied, tune::measure::rows(&components, before, after)))
    })?;
    let code = if json { 0 } else { say_applied(&applied, target, session)? };
    let measurement = tune::measure::Measurement {
        time: agent::now(),
        target: target.name().into(),
        settle_seconds: settle.as_secs(),
        rows,
    };
    if let Err(e) = tune::measure::save(&tune::measure::saved_path(), &measurement) {
        eprintln!("ballast: the measurement is not kept for the dashboard: {e}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&measurement)?);
    } else {
        print!("{}", tune::measure::render(&measurement));
    }
    Ok(code)
}

/// Restarts the components that take their settings only at a start, and waits `settle`.
async fn restart_and_settle(manager: &UserManager, components: &[tune::measure::Component], settle: Duration) {
    let restarted: Vec<&str> = components.iter().filter(|c| c.restart).map(|c| c.unit).collect();
    for unit in &restarted {
        if manager.control_group(unit).await.is_some() {
            if let Err(e) = manager.restart(unit).await {
                eprintln!("ballast: {e}");
            }
        }
    }
    if !restarted.is_empty() {
        eprintln!("ballast: restarted {}; waiting {} s for it to settle", restarted.join(", "), settle.as_secs());
        tokio::time::sleep(settle).await;
    }
}

/// Each component's PSS now, or why it was not read.
async fn read_pss(manager: &UserManager, components: &[tune::measure::Component]) -> Vec<Result<u64, String>> {
    let mut read = Vec::with_capacity(components.len());
    for component in components {
        read.push(match manager.control_group(component.unit).await {
            Some(cgroup) => ballast::sample::pss::cgroup_pss(Path::new("/"), &cgroup)
                .map(|pss| pss.bytes)
                .map_err(|e| e.to_string()),
            None => Err(format!("not running ({} has no processes)", component.unit)),
        });
    }
    read
}

fn names(components: &[tune::measure::Component]) -> String {
    components.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// What an apply wrote, refused and told; 1 when it refused and wrote nothing.
fn say_applied(applied: &tune::Applied, target: tune::Target, session: &tune::Session) -> Result<i32> {
    let refusals = tune::refusals(&applied.plans);
    refusals.iter().for_each(|line| eprintln!("ballast: {line}"));
    tune::unread(&applied.plans, session).iter().for_each(|line| println!("{line}"));
    let Some(backup) = &applied.backup else {
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
    let live =
        block_on(async { Ok(tune::reload::live(&zbus::Connection::session().await?).await) }).unwrap_or_default();
    if json {
        // Through a serde_json::Value, whose maps print in key order, as this JSON always has.
        #[derive(serde::Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            live: &'a tune::reload::Live,
            session: &'a tune::Session,
            settings: &'a [tune::SettingStatus],
        }
        let value = serde_json::to_value(Json { live: &live, session, settings: &status })?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", render::tune_status_text(target, session, &status, &places.config_dir, &live));
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
        Ok(match running_agent().await {
            Some(agent) => agent.report().await.ok(),
            None => None,
        })
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn each_cause_is_said_once() {
        let os = std::io::Error::from_raw_os_error(2);
        let repeated = anyhow::Error::new(ballast::tune::TuneError::Read { path: "/x/kwinrc".into(), source: os })
            .context("cannot plan kwin");
        assert_eq!(
            error_text(&repeated),
            "cannot plan kwin: cannot read /x/kwinrc: No such file or directory (os error 2)"
        );
        let chained = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(error_text(&chained), "outer: middle: inner");
    }
}
