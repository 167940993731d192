//! The long-running agent: one sampling tick, the tray item, notifications, the D-Bus
//! API. A tokio current-thread runtime drives it all; Qt never enters this process.

mod actions;
pub mod alerts;
pub mod api;
pub mod autostart;
mod cadence;
pub mod command;
mod governor;
mod history;
pub mod kills;
mod notifier;
pub mod wake;

pub use actions::choose;
pub use api::{BUS_NAME, OBJECT_PATH};

use crate::budget::Budget;
use crate::doctor::{self, Verdict};
use crate::launch::{self, ScopeStatus, UserManager};
use crate::profile::{self, Profile};
use crate::sample::{cgroup_mode, CgroupMode, MemoryEvents, Sampler};
use crate::tray::{BallastTray, TrayView};
use alerts::{AlertChange, AlertKey, AlertPolicy, Urgency};
use command::{Choice, Command};
use history::History;
use ksni::TrayMethods;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use thiserror::Error;
use tokio::time::Instant;

/// Why the agent cannot run.
#[derive(Debug, Error)]
pub enum AgentError {
    /// Neither DISPLAY nor WAYLAND_DISPLAY is set.
    #[error("no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)")]
    NoGraphicalSession,
    /// The session bus cannot be reached; the connection's error.
    #[error("no D-Bus session bus ({0})")]
    NoSessionBus(String),
    /// Another agent owns io.ballast.Agent on this session bus.
    #[error("the ballast agent is already running in this session")]
    AlreadyRunning,
    /// Starting failed: a D-Bus error, or the profile or the tokio runtime failing; the message.
    #[error("D-Bus: {0}")]
    Bus(String),
    /// A tick could not sample memory; the sampler's error.
    #[error("cannot sample memory: {0}")]
    Sample(String),
}

/// What the D-Bus API reads between ticks.
pub struct Shared {
    /// The profile in effect; replaced when an edited file loads.
    pub profile: Profile,
    /// The `--profile` file (or `BALLAST_PROFILE`), if one was given.
    pub profile_file: Option<PathBuf>,
    /// The directory /proc and /sys are read below (`--root` or `BALLAST_ROOT`, else /).
    pub root: PathBuf,
    /// The latest report as JSON, for Status(); empty until the first tick.
    pub report: tokio::sync::watch::Sender<String>,
    /// The last ten minutes of points, for History().
    pub history: History,
    /// Running app scopes as of the last tick, for Scopes().
    pub scopes: Vec<ScopeStatus>,
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How often (in ticks) systemd is asked about app scopes where cgroup v2 cannot tell.
const DBUS_SCOPE_TICKS: u64 = 3;

/// How soon a tick follows a wake-up: events that come together are read in one tick.
const WAKE_DELAY: Duration = Duration::from_millis(200);
/// The least time between a tick and one a wake-up brings (but the first fire of a pressure
/// episode, `Wake::is_news`): pressure that lasts fires its trigger every 2 s, and more than
/// a tick a second is only cost.
const MIN_WAKE_GAP: Duration = Duration::from_secs(1);

/// A unit's failing with `oom-kill` this soon after its kill was logged is the same kill.
const KILL_SEEN_SECONDS: u64 = 60;

/// How often (in ticks) the catalog's binaries are looked up on PATH again.
const INSTALLED_REFRESH_TICKS: u64 = 30;

struct Agent {
    profile: Profile,
    profile_file: Option<PathBuf>,
    profile_mtime: Option<SystemTime>,
    budget: Budget,
    sampler: Sampler,
    mode: CgroupMode,
    root: PathBuf,
    connection: zbus::Connection,
    manager: Option<UserManager>,
    notifier: Option<notifier::Notifier>,
    tray: Option<ksni::Handle<BallastTray>>,
    shared: Arc<Mutex<Shared>>,
    alerts: AlertPolicy,
    scope_counters: HashMap<String, MemoryEvents>,
    /// Whether the app scopes were looked at once: units that appear later are new.
    scopes_watched: bool,
    scopes: Vec<ScopeStatus>,
    /// Units whose "App frozen" notification is shown: closed once the unit is thawed or
    /// gone, however that came about (a thaw, a launch that gathered it, `systemctl`).
    frozen_shown: HashSet<String>,
    governor: governor::Governor,
    installed: Vec<bool>,
    view: Option<TrayView>,
    ticks: u64,
    wakers: wake::Wakers,
    /// OOM kills in the whole session (cgroup v2 under a user manager only).
    kill_watch: Option<kills::KillWatch>,
    events: crate::events::EventLog,
    /// Whether a failure to write the event log was said (it is said once).
    event_log_failed: bool,
    /// Cgroups whose pressure trigger fired since the last tick.
    pressed: Vec<String>,
    /// Whether the user manager loaded an app unit since the last tick (its UnitNew).
    unit_new: bool,
    /// Units that failed with `oom-kill` since the last tick.
    failed: Vec<String>,
    /// systemd-oomd's kills below the user manager since the last tick.
    oomd: Vec<kills::OomdKill>,
    /// The user manager's cgroup (`/user.slice/user-1000.slice/user@1000.service`), on cgroup
    /// v2 under a user manager.
    manager_cgroup: Option<String>,
    /// When each unit's last kill was logged (s since the epoch): one kill seen by the kernel's
    /// counters and again as the unit's Result is logged once.
    last_kill: HashMap<String, u64>,
    /// What the apps and Plasma components use, day by day (cgroup v2 only: the units say it).
    usage: Option<crate::usage::recorder::Recorder>,
    /// Whether a failure to write the usage record was said (it is said once).
    usage_failed: bool,
    /// Whether the profile's session protection was set in the user manager (tried once per
    /// profile: at start, and after an edit).
    protected: bool,
}

/// Runs the agent until Quit (tray) or the session bus goes away.
pub async fn run(profile_file: Option<PathBuf>, root: PathBuf) -> Result<(), AgentError> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err(AgentError::NoGraphicalSession);
    }
    let connection = zbus::Connection::session().await.map_err(|e| AgentError::NoSessionBus(e.to_string()))?;
    let (profile, _) = profile::load(profile_file.as_deref()).map_err(|e| AgentError::Bus(e.to_string()))?;
    let shared = Arc::new(Mutex::new(Shared {
        profile: profile.clone(),
        profile_file: profile_file.clone(),
        root: root.clone(),
        report: tokio::sync::watch::Sender::new(String::new()),
        history: History::new(&profile.sample),
        scopes: Vec::new(),
    }));
    let (asks, mut asked) = tokio::sync::mpsc::unbounded_channel();
    serve_api(&connection, api::Api { shared: shared.clone(), asks }).await?;
    let manager =
        UserManager::connect().await.map_err(|e| eprintln!("ballast: {e}; launching and scope watching are off")).ok();
    let (notifier, mut actions) = match notifier::Notifier::new(&connection).await {
        Ok((notifier, actions)) => (Some(notifier), Some(actions)),
        Err(e) => {
            eprintln!("ballast: no notifications ({e}); alerts show in the tray");
            (None, None)
        }
    };
    let mut agent = Agent::new(profile, profile_file, root, connection, shared, manager, notifier);
    if let Some(manager) = &agent.manager {
        match manager.new_units().await {
            Ok(units) => agent.wakers.watch_new_units(units),
            Err(e) => eprintln!("ballast: {e}; apps started elsewhere are found at the next tick"),
        }
        match manager.oom_killed_units().await {
            Ok(units) => agent.wakers.watch_oom_killed_units(units),
            Err(e) => eprintln!("ballast: {e}; units that fail with oom-kill are not told"),
        }
    }
    if let Some(cgroup) = agent.manager_cgroup.clone() {
        match kills::oomd_kills().await {
            Ok(kills) if kills::oomd_running().await => agent.wakers.watch_oomd(kills, &cgroup),
            Ok(kills) => {
                eprintln!("ballast: systemd-oomd is not running: its kills are heard once it starts");
                agent.wakers.watch_oomd(kills, &cgroup);
            }
            Err(e) => eprintln!("ballast: {e}; only the kernel's kills are told"),
        }
    }
    agent.tick().await?;
    let (commands, mut command_queue) = tokio::sync::mpsc::unbounded_channel();
    let tray = BallastTray::new(agent.view.clone().expect("set by the first tick"), commands);
    // assume_sni_available: the agent may start before plasmashell's watcher.
    agent.tray = tray
        .assume_sni_available(true)
        .spawn()
        .await
        .map_err(|e| eprintln!("ballast: no tray item ({e}); the agent runs on"))
        .ok();

    let mut cadence = cadence::Cadence::new(agent.profile.sample.tick(), agent.profile.sample.idle_tick());
    let mut last_tick = Instant::now();
    let mut next = last_tick + cadence.base();
    let timer = cadence::TickTimer::new();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        let next_action = async {
            match actions.as_mut() {
                Some(actions) => actions.recv().await,
                None => std::future::pending().await,
            }
        };
        let (command, reply) = tokio::select! {
            () = timer.sleep_until(next) => {
                let quiet = agent.tick().await?;
                last_tick = Instant::now();
                next = last_tick + cadence.after_tick(quiet, agent.wakers.armed());
                continue;
            }
            wake = agent.wakers.next() => {
                if wake.settles() {
                    cadence.wake();
                }
                let gap = if wake.is_news() { Duration::ZERO } else { MIN_WAKE_GAP };
                agent.woken(wake);
                next = next.min((Instant::now() + WAKE_DELAY).max(last_tick + gap));
                continue;
            }
            Some(command) = command_queue.recv() => (command, None),
            () = &mut stop => (Command::Quit, None),
            Some(asked) = asked.recv() => (Command::Choose(asked.choice, asked.unit), Some(asked.reply)),
            Some(invoked) = next_action => match action_command(&invoked) {
                Some(command) => (command, None),
                None => continue,
            },
        };
        if command == Command::Quit {
            break;
        }
        agent.handle(command, reply).await;
        cadence.wake();
        next = next.min(Instant::now() + cadence.base());
    }
    if let Some(usage) = &mut agent.usage {
        let saved = usage.save();
        agent.say_usage_failed(saved);
    }
    // At logout the bus may be going away: the tray's goodbye is not waited for long.
    if let Some(tray) = agent.tray.take() {
        let _ = tokio::time::timeout(SHUTDOWN_WAIT, tray.shutdown()).await;
    }
    if let Some(notifier) = agent.notifier.take() {
        notifier.close_conditions(SHUTDOWN_WAIT).await;
    }
    Ok(())
}

/// How long the agent waits for its tray item to unregister when it quits.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// SIGTERM (systemd stopping the unit, the session ending) or SIGINT (Ctrl+C): the agent
/// quits as from the tray, keeping what it recorded. A signal that cannot be caught is never.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let caught = |kind: SignalKind| async move {
        match signal(kind) {
            Ok(mut signals) => {
                signals.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = caught(SignalKind::terminate()) => {}
        () = caught(SignalKind::interrupt()) => {}
    }
}

/// Serves io.ballast.Agent1 on `connection` and takes its name: one agent per session.
async fn serve_api(connection: &zbus::Connection, api: api::Api) -> Result<(), AgentError> {
    connection.object_server().at(OBJECT_PATH, api).await.map_err(|e| AgentError::Bus(e.to_string()))?;
    match connection.request_name_with_flags(BUS_NAME, zbus::fdo::RequestNameFlags::DoNotQueue.into()).await {
        Ok(zbus::fdo::RequestNameReply::PrimaryOwner) => Ok(()),
        Ok(_) | Err(zbus::Error::NameTaken) => Err(AgentError::AlreadyRunning),
        Err(e) => Err(AgentError::Bus(e.to_string())),
    }
}

fn profile_file_mtime(file: Option<&Path>) -> Option<SystemTime> {
    profile::user_profile_path(file).and_then(|path| std::fs::metadata(path).ok()?.modified().ok())
}

fn installed(profile: &Profile) -> Vec<bool> {
    let path = std::env::var("PATH").ok();
    profile
        .apps
        .iter()
        .map(|app| launch::resolve_binary(&app.exec, path.as_deref(), launch::is_executable).is_some())
        .collect()
}

impl Agent {
    fn new(
        profile: Profile,
        profile_file: Option<PathBuf>,
        root: PathBuf,
        connection: zbus::Connection,
        shared: Arc<Mutex<Shared>>,
        manager: Option<UserManager>,
        notifier: Option<notifier::Notifier>,
    ) -> Self {
        let mut sampler = Sampler::with_root(&root);
        sampler.set_gpu_every(profile.gpu.sample_every_ticks);
        let mode = cgroup_mode(&root);
        let manager_cgroup = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|text| wake::manager_cgroup(&text))
            .filter(|_| mode.per_unit());
        Agent {
            kill_watch: manager_cgroup
                .as_ref()
                .map(|cgroup| kills::KillWatch::new(root.join("sys/fs/cgroup").join(cgroup.trim_start_matches('/')))),
            events: crate::events::EventLog::from_env(),
            event_log_failed: false,
            wakers: wake::Wakers::start(
                &root,
                manager_cgroup.as_deref(),
                profile::user_profile_path(profile_file.as_deref()).as_deref().and_then(Path::parent),
            ),
            usage: mode.per_unit().then(|| open_usage_record(manager_cgroup.clone())),
            manager_cgroup,
            pressed: Vec::new(),
            unit_new: false,
            failed: Vec::new(),
            oomd: Vec::new(),
            last_kill: HashMap::new(),
            usage_failed: false,
            protected: false,
            budget: Budget::new(profile.clone()),
            profile_mtime: profile_file_mtime(profile_file.as_deref()),
            sampler,
            mode,
            installed: installed(&profile),
            profile,
            profile_file,
            root,
            connection,
            manager,
            notifier,
            tray: None,
            shared,
            alerts: AlertPolicy::default(),
            scope_counters: HashMap::new(),
            scopes_watched: false,
            scopes: Vec::new(),
            frozen_shown: HashSet::new(),
            governor: governor::Governor::default(),
            view: None,
            ticks: 0,
        }
    }
}

/// Today's usage record of the units below `manager` (the user's own), carried on from an
/// earlier run; one that cannot be read is said.
fn open_usage_record(manager: Option<String>) -> crate::usage::recorder::Recorder {
    let (recorder, problem) =
        crate::usage::recorder::Recorder::open(crate::usage::store::user_dir(), manager, SystemTime::now());
    if let Some(e) = problem {
        eprintln!("ballast: {e}");
    }
    recorder
}

/// Of the `shown` units (told frozen), those `now` thawed or gone. Judged against what is told,
/// not against the last reading: a unit frozen and gone between two readings is never seen
/// frozen in one.
fn thawed(shown: &HashSet<String>, now: &[ScopeStatus]) -> Vec<String> {
    let frozen_now = |unit: &str| now.iter().any(|s| s.unit == unit && s.frozen);
    shown.iter().filter(|unit| !frozen_now(unit)).cloned().collect()
}

/// The command an action invoked on one of the agent's notifications asks for: Open dashboard,
/// or one of the choices the alert offered for its unit; None for anything else.
fn action_command(invoked: &notifier::Invoked) -> Option<Command> {
    if invoked.action_key == notifier::OPEN_DASHBOARD {
        return Some(Command::Dashboard);
    }
    let choice = Choice::from_key(&invoked.action_key).filter(|c| invoked.alert.choices.contains(c))?;
    Some(Command::Choose(choice, invoked.alert.unit.clone()?))
}

impl Agent {
    /// One tick: sample, judge, alert, publish. Quiet (Ok(true)) when the gist of the tray's
    /// view is unchanged and no alert changed or is building up: the tick may then stretch.
    async fn tick(&mut self) -> Result<bool, AgentError> {
        self.ticks += 1;
        self.reload_profile_if_changed();
        if self.ticks % INSTALLED_REFRESH_TICKS == 0 {
            self.installed = installed(&self.profile);
        }
        let sample = self.sampler.sample().map_err(|e| AgentError::Sample(e.to_string()))?;
        if !std::mem::replace(&mut self.protected, true) {
            self.protect_session(sample.meminfo.total).await;
        }
        let mut report = self.budget.evaluate(&sample);
        let (events, held) = self.watch_scopes(&sample).await;
        if let Some(usage) = &mut self.usage {
            let added = usage.add(&sample.units, &self.scopes, SystemTime::now());
            self.say_usage_failed(added);
        }
        self.record_kills(&events).await;
        self.wakers.sync(&self.governed_cgroups());
        report.pressure_watch = Some(self.wakers.report());
        self.pressed.clear();
        let largest = || alerts::largest_app(&self.profile, &self.scopes);
        let changes = self.alerts.update(&self.profile.alerts, &self.profile.sample, &report, &events, &held, largest);
        let quiet = changes.is_empty() && self.alerts.calm();
        if let Some(notifier) = &self.notifier {
            changes.into_iter().for_each(|change| notifier.apply(change));
        }
        let report_json = serde_json::to_string(&report).expect("a report serializes");
        {
            let mut shared = self.shared.lock().expect("the agent's state lock is never poisoned");
            shared.history.push(now(), &report);
            shared.report.send_replace(report_json.clone());
            shared.scopes = self.scopes.clone();
        }
        let view = TrayView::new(&report, &self.profile, &self.installed, &self.scopes);
        if self.view.as_ref() == Some(&view) {
            return Ok(quiet);
        }
        let same_gist = self.view.as_ref().is_some_and(|old| old.gist() == view.gist());
        self.view = Some(view.clone());
        if let Some(tray) = &self.tray {
            tray.update(|tray| tray.show(view)).await;
        }
        if let Ok(emitter) = zbus::object_server::SignalEmitter::new(&self.connection, OBJECT_PATH) {
            let _ = api::Api::report_changed(&emitter, &report_json).await;
        }
        Ok(quiet && same_gist)
    }

    /// Says the first failure to write the usage record (until a write succeeds).
    fn say_usage_failed(&mut self, written: Result<(), crate::usage::store::StoreError>) {
        match written {
            Ok(()) => self.usage_failed = false,
            Err(e) if !std::mem::replace(&mut self.usage_failed, true) => {
                eprintln!("ballast: {e}; usage is recorded but not kept")
            }
            Err(_) => {}
        }
    }

    /// Logs each OOM kill in the session, the kernel's and systemd-oomd's, and tells the user
    /// of those no one else tells of (`untold`). Without a user manager's cgroup, the app
    /// units' kills are logged.
    async fn record_kills(&mut self, scope_events: &[launch::ScopeEvent]) {
        let logged: Vec<crate::events::Event> = match &mut self.kill_watch {
            Some(watch) => {
                let killed = watch.check();
                // Read only when there was a kill: this runs every tick.
                let data_dirs = if killed.is_empty() { Vec::new() } else { kills::data_dirs() };
                let profile = &self.profile;
                killed.iter().map(|k| kills::event(now(), kills::who(profile, &k.unit, &data_dirs), k)).collect()
            }
            None => scope_events
                .iter()
                .filter(|e| e.kind == launch::EventKind::OomKill)
                .map(|e| crate::events::Event {
                    time: now(),
                    kind: crate::events::Kind::OomKill,
                    who: kills::who(&self.profile, &e.unit, &kills::data_dirs()),
                    unit: e.unit.clone(),
                    why: e.message.clone(),
                })
                .collect(),
        };
        let mut logged = logged;
        logged.extend(self.oomd_events());
        logged.extend(self.failed_units().await);
        // A unit's failing with oom-kill follows its kill by the kernel or oomd: once.
        let last_kill = &mut self.last_kill;
        logged.retain(|e| {
            let seen = last_kill.get(&e.unit).is_some_and(|&t| e.time <= t + KILL_SEEN_SECONDS);
            let news = e.kind != crate::events::Kind::UnitOomKill || !seen;
            if news {
                last_kill.insert(e.unit.clone(), e.time);
            }
            news
        });
        for event in self.untold(&logged).await {
            self.send_alert(AlertChange::Show(alerts::kill_alert(event)));
        }
        for event in &logged {
            if let Err(e) = self.events.append(event) {
                if !std::mem::replace(&mut self.event_log_failed, true) {
                    eprintln!("ballast: {e}; kills are told but not kept");
                }
            }
        }
    }

    /// The kills among `logged` that no one else tells of: the scope alerts tell of the
    /// kernel's kills in app units, and Plasma's oom-notifier of units failing with
    /// `oom-kill`; oomd's kills, with their reason, only ballast tells of.
    async fn untold<'a>(&self, logged: &'a [crate::events::Event]) -> Vec<&'a crate::events::Event> {
        use crate::events::Kind;
        let kernel = |e: &&crate::events::Event| e.kind != Kind::OomdKill;
        let candidates = logged.iter().filter(|e| !kernel(e) || !crate::sample::cgroup::is_app_unit(&e.unit));
        let mut untold: Vec<&crate::events::Event> = candidates.collect();
        if untold.iter().any(kernel) && plasma_tells_of_kills(&self.connection).await {
            untold.retain(|e| !kernel(e));
        }
        untold
    }

    /// The events of systemd-oomd's kills since the last tick, with the memory pressure of the
    /// cgroup oomd watched (the killed one's parent), read now.
    fn oomd_events(&mut self) -> Vec<crate::events::Event> {
        if self.oomd.is_empty() {
            return Vec::new();
        }
        let data_dirs = kills::data_dirs();
        let cgroups = self.root.join("sys/fs/cgroup");
        let kills = std::mem::take(&mut self.oomd);
        kills
            .iter()
            .map(|kill| {
                let path = Path::new(kill.cgroup.trim_start_matches('/'));
                let unit = path.file_name().map_or(kill.cgroup.clone(), |n| n.to_string_lossy().into_owned());
                let parent = cgroups.join(path.parent().unwrap_or(path)).join("memory.pressure");
                let text = std::fs::read_to_string(parent).unwrap_or_default();
                let pressure = crate::sample::pressure::parse(&text).ok().and_then(|p| p.full).map(|f| f.avg10);
                kills::oomd_event(now(), kills::who(&self.profile, &unit, &data_dirs), unit, kill, pressure)
            })
            .collect()
    }

    /// The events of the units that failed with `oom-kill` since the last tick, with their
    /// MemoryPeak and MemoryMax where the user manager still has them.
    async fn failed_units(&mut self) -> Vec<crate::events::Event> {
        let mut events = Vec::new();
        for unit in std::mem::take(&mut self.failed) {
            let properties = match &self.manager {
                Some(manager) => manager.properties_of(&unit).await.unwrap_or_default(),
                None => HashMap::new(),
            };
            let known = |key: &str| launch::known(&properties, key);
            let killed = kills::Killed {
                unit: unit.clone(),
                count: 1,
                memory_max: known("MemoryMax"),
                peak: known("MemoryPeak"),
            };
            let mut event = kills::event(now(), kills::who(&self.profile, &unit, &kills::data_dirs()), &killed);
            event.kind = crate::events::Kind::UnitOomKill;
            events.push(event);
        }
        events
    }

    /// The cgroups of the governed app units, for their pressure triggers.
    fn governed_cgroups(&self) -> Vec<String> {
        self.scopes.iter().filter(|s| s.governed).filter_map(|s| s.control_group.clone()).collect()
    }

    /// Notes what woke the agent, for the next tick.
    fn woken(&mut self, wake: wake::Wake) {
        match wake {
            wake::Wake::Pressure { source, .. } if !self.pressed.contains(&source) => self.pressed.push(source),
            wake::Wake::UnitOomKilled(unit) if !self.failed.contains(&unit) => self.failed.push(unit),
            wake::Wake::OomdKilled(kill) => self.oomd.push(kill),
            wake::Wake::NewUnit => {
                self.unit_new = true;
                self.sampler.rescan();
            }
            _ => {}
        }
    }

    /// Running app scopes, what happened to them since the last tick, and which are held at
    /// their MemoryHigh now. On cgroup v2 the sample already holds every app unit; elsewhere systemd is asked
    /// over D-Bus, every `DBUS_SCOPE_TICKS` ticks to keep idle wakeups down, and at once when
    /// it loaded an app unit (an app that moved itself out is gathered without waiting).
    async fn watch_scopes(
        &mut self,
        sample: &crate::sample::Sample,
    ) -> (Vec<launch::ScopeEvent>, Vec<launch::HeldAtLimit>) {
        let unit_new = std::mem::take(&mut self.unit_new);
        let mut statuses = if self.mode.per_unit() {
            launch::statuses_from_units(&self.profile, &sample.units)
        } else {
            let Some(manager) = &self.manager else { return Default::default() };
            if !unit_new && self.ticks % DBUS_SCOPE_TICKS != 1 {
                return Default::default();
            }
            let Ok(units) = manager.app_units().await else { return Default::default() };
            let mut statuses = Vec::with_capacity(units.len());
            for unit in &units {
                if let Ok(mut status) = launch::scope_status(manager, &self.profile, unit, &self.root, self.mode).await
                {
                    status.description = unit.description.clone();
                    statuses.push(status);
                }
            }
            statuses
        };
        self.govern(&mut statuses).await;
        let (mut events, mut held) = (Vec::new(), Vec::new());
        let mut counters = HashMap::new();
        for status in &statuses {
            let who = status
                .app
                .as_deref()
                .and_then(|id| self.profile.app(id))
                .map_or(status.unit.clone(), |a| a.name.clone());
            // A scope that appears after the first look started counting at zero: a kill
            // in its first seconds (before any tick saw it) is news too. Scopes running when
            // the agent started are only a baseline.
            let before = self
                .scope_counters
                .get(&status.unit)
                .copied()
                .or(self.scopes_watched.then_some(MemoryEvents::default()));
            events.extend(launch::scope_events(&who, before.as_ref(), status));
            let pushed = status.control_group.as_ref().is_some_and(|cgroup| self.pressed.contains(cgroup));
            let oomd = self.oomd_watches(status);
            held.extend(launch::held_at_limit(&who, status, pushed).map(|h| launch::HeldAtLimit { oomd, ..h }));
            if let Some(now) = status.events {
                counters.insert(status.unit.clone(), now);
            }
        }
        self.scope_counters = counters;
        self.scopes_watched = true;
        // Thawed (the app started again, `systemctl --user thaw`) or gone: not frozen any more.
        for unit in thawed(&self.frozen_shown, &statuses) {
            self.frozen_shown.remove(&unit);
            self.send_alert(AlertChange::Clear(AlertKey::Frozen(unit)));
        }
        self.scopes = statuses;
        (events, held)
    }

    /// Sets the profile's session protection in the user manager, until it stops: MemoryLow=
    /// of session.slice (capped at a tenth of `ram`, bytes) and ManagedOOMMemoryPressure= of the
    /// launch slice. Says what it set, or why not; `ballast doctor` says whether the system's
    /// levels above the user manager grant the protection.
    async fn protect_session(&self, ram: u64) {
        let Some(manager) = &self.manager else { return };
        if !self.mode.per_unit() {
            eprintln!("ballast: cgroup v1 has no memory.low: the session is not protected from reclaim");
            return;
        }
        let low = crate::protect::session_memory_low(&self.profile.protect, ram);
        let oom = if self.profile.protect.app_slice_oomd { "kill" } else { "auto" };
        let slice = &self.profile.launch.slice;
        match manager.protect_session(low, slice, oom).await {
            Ok(()) => eprintln!(
                "ballast: session.slice MemoryLow={}, {slice} ManagedOOMMemoryPressure={oom}, until logout",
                crate::render::human(low)
            ),
            Err(e) => eprintln!("ballast: {e}; the session is not protected (`ballast doctor` says more)"),
        }
    }

    /// Whether the agent handed the slice `status` runs in to systemd-oomd (`[protect]
    /// app_slice_oomd`, set on the launch slice).
    fn oomd_watches(&self, status: &ScopeStatus) -> bool {
        let slice = self.profile.launch.slice.as_str();
        self.profile.protect.app_slice_oomd
            && status.control_group.as_deref().is_some_and(|cgroup| cgroup.split('/').any(|level| level == slice))
    }

    /// Keeps every governed catalog app within its limits (see governor.rs).
    async fn govern(&mut self, statuses: &mut [ScopeStatus]) {
        let Some(manager) = &self.manager else { return };
        self.governor.recognise(manager, &self.profile, statuses).await;
        self.governor.forget_gone(statuses, self.ticks);
        launch::mark_governed(&self.profile, statuses);
        self.governor.carry_out(manager, &self.profile, statuses, self.ticks, self.mode).await;
    }

    /// Picks up an edited profile file; a bad edit keeps the old profile and says why.
    fn reload_profile_if_changed(&mut self) {
        let mtime = profile_file_mtime(self.profile_file.as_deref());
        if mtime == self.profile_mtime {
            return;
        }
        self.profile_mtime = mtime;
        match profile::load(self.profile_file.as_deref()) {
            Ok((profile, _)) => {
                self.budget = Budget::new(profile.clone());
                self.installed = installed(&profile);
                // Recognitions and steps name apps by their index in the catalog.
                self.governor = governor::Governor::default();
                self.shared.lock().expect("the agent's state lock is never poisoned").profile = profile.clone();
                self.profile = profile;
                self.protected = false;
                self.send_alert(AlertChange::Clear(AlertKey::Config));
            }
            Err(e) => {
                let alert = alerts::Alert {
                    key: AlertKey::Config,
                    summary: "ballast: config not loaded".into(),
                    body: format!("{e}\nThe previous settings stay in use."),
                    urgency: Urgency::Normal,
                    unit: None,
                    choices: Vec::new(),
                };
                self.send_alert(AlertChange::Show(alert));
            }
        }
    }

    /// Carries out a choice, whoever asked: the app's stuck episode ends, and a frozen app
    /// shows its "App frozen" notification until it is thawed or stopped.
    async fn choose(&mut self, choice: Choice, unit: &str) -> Result<String, actions::ActionError> {
        let done = choose(self.manager.as_ref(), &self.profile, choice, unit).await?;
        if let Some(clear) = self.alerts.settled(unit) {
            self.send_alert(clear);
        }
        match choice {
            Choice::Freeze => {
                self.frozen_shown.insert(unit.to_owned());
                self.send_alert(AlertChange::Show(alerts::frozen_alert(unit, done.clone())));
            }
            Choice::Thaw | Choice::Stop => {
                self.frozen_shown.remove(unit);
                self.send_alert(AlertChange::Clear(AlertKey::Frozen(unit.to_owned())));
            }
            Choice::GiveMore => {}
        }
        Ok(done)
    }

    /// Tells the outcome of a choice made in the tray or a notification: what was not done,
    /// or a thaw or more memory (a freeze shows as its own notification, a stop in the tray).
    fn tell_choice(&self, choice: Choice, result: Result<String, actions::ActionError>) {
        match (choice, result) {
            (Choice::Thaw | Choice::GiveMore, Ok(done)) => self.tell(choice.label(), Ok(done)),
            (Choice::Freeze | Choice::Stop, Ok(_)) => {}
            (_, Err(e)) => self.tell(&format!("{}: not done", choice.label()), Err(e)),
        }
    }

    fn send_alert(&self, change: AlertChange) {
        if let Some(notifier) = &self.notifier {
            notifier.apply(change);
        }
    }

    /// Shows the outcome of something the user asked for.
    fn tell(&self, summary: &str, result: Result<String, actions::ActionError>) {
        let (body, urgency) = match result {
            Ok(text) => (text, Urgency::Low),
            Err(error) => (error.to_string(), Urgency::Normal),
        };
        let alert = alerts::Alert {
            key: AlertKey::Action(summary.to_owned()),
            summary: summary.into(),
            body,
            urgency,
            unit: None,
            choices: Vec::new(),
        };
        self.send_alert(AlertChange::Show(alert));
    }

    /// Carries out a command; a choice asked over D-Bus replies with its outcome.
    async fn handle(&mut self, command: Command, reply: Option<command::Reply>) {
        match command {
            Command::Launch(id) => {
                let name = self.profile.app(&id).map_or(id.clone(), |a| a.name.clone());
                let result = actions::launch_app(&self.profile, self.profile_file.as_deref(), &id, &[]).await;
                if result.is_err() {
                    self.tell(&format!("Cannot launch {name}"), result);
                }
            }
            Command::Choose(choice, unit) => {
                let result = self.choose(choice, &unit).await;
                match reply {
                    Some(reply) => drop(reply.send(result.map_err(|e| e.to_string()))),
                    None => self.tell_choice(choice, result),
                }
            }
            Command::Tune(target, action) => {
                let result = actions::tune(&self.profile, &self.connection, target, action).await;
                self.tell(&format!("Tune {}: {}", target.name(), action.verb()), result);
            }
            Command::Dashboard => {
                if let Err(e) = actions::open_dashboard() {
                    self.tell("Dashboard", Err(e));
                }
            }
            Command::Doctor => {
                let result =
                    actions::doctor_checks(self.profile.clone(), self.root.clone()).await.map(|c| doctor_summary(&c));
                self.tell("Doctor", result);
            }
            Command::Quit => {}
        }
    }
}

/// Whether Plasma's kded module oom-notifier is loaded (`oom-notifier` in Plasma 6.3-6.6,
/// `oom_notifier` from 6.7): it tells of user units that fail with Result `oom-kill`.
async fn plasma_tells_of_kills(connection: &zbus::Connection) -> bool {
    let reply =
        connection.call_method(Some("org.kde.kded6"), "/kded", Some("org.kde.kded6"), "loadedModules", &()).await;
    let modules: Vec<String> = reply.ok().and_then(|r| r.body().deserialize().ok()).unwrap_or_default();
    modules.iter().any(|m| m == "oom-notifier" || m == "oom_notifier")
}

/// The doctor in a notification: the counts, then each problem on its own line.
fn doctor_summary(checks: &[doctor::Check]) -> String {
    let count = |verdict: Verdict| checks.iter().filter(|c| c.verdict == verdict).count();
    let problems = checks
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warn))
        .map(|c| format!("{} {}: {}", c.verdict.as_str(), c.id, c.message));
    let counts = format!("{} pass, {} warn, {} fail", count(Verdict::Pass), count(Verdict::Warn), count(Verdict::Fail));
    [counts].into_iter().chain(problems).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_asks_for_what_its_alert_offered() {
        let invoked = |key: &str| notifier::Invoked {
            action_key: key.into(),
            alert: alerts::frozen_alert("app-x.scope", "frozen".into()),
        };
        assert_eq!(action_command(&invoked("thaw")), Some(Command::Choose(Choice::Thaw, "app-x.scope".into())));
        assert_eq!(action_command(&invoked("dashboard")), Some(Command::Dashboard));
        assert_eq!(action_command(&invoked("give-more")), None, "not offered on a frozen app");
        assert_eq!(action_command(&invoked("default")), None, "a click on the notification itself");
    }

    #[test]
    fn a_frozen_app_thawed_or_gone_is_told_thawed_once() {
        let profile = Profile::embedded();
        let scope = |unit: &str, frozen: bool| ScopeStatus { frozen, ..ScopeStatus::named(&profile, unit) };
        let shown: HashSet<String> = ["app-a.scope", "app-b.scope", "app-c.scope"].map(String::from).into();
        let now = [scope("app-a.scope", false), scope("app-c.scope", true), scope("app-d.scope", true)];
        let mut told = thawed(&shown, &now);
        told.sort();
        assert_eq!(told, ["app-a.scope", "app-b.scope"], "thawed, and gone without a reading that saw it frozen");
        assert!(thawed(&HashSet::from(["app-c.scope".to_owned()]), &now).is_empty(), "still frozen: nothing to tell");
    }
}
