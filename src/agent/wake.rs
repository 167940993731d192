//! What wakes the agent between ticks, so that it need not look often:
//! - PSI triggers (`sample::trigger`) on /proc/pressure/memory, on the session's session.slice
//!   and on each governed app unit: the kernel says when tasks stall on memory;
//! - inotify on the user manager's memory.events, which on cgroup v2 counts the whole subtree
//!   and "generates a file modified event" on each change (kernel doc cgroup-v2.rst): an OOM
//!   kill anywhere in the session; and on the profile file's directory;
//! - the user manager's UnitNew signal: an app unit started elsewhere, to adopt; and its
//!   units failing with `oom-kill`;
//! - systemd-oomd's Killed signal on the system bus, for cgroups below the user manager.
//!
//! Each source runs as a task of its own and sends a `Wake` to the agent's loop.

use crate::budget::{PressureWatch, WatchMode};
use crate::sample::trigger::{self, MEMORY_TRIGGER};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// Why the agent was woken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wake {
    /// A PSI trigger fired.
    Pressure {
        /// "system", or the cgroup path of the unit or slice.
        source: String,
        /// Whether the fire begins a pressure episode (`Wakers::next`).
        begins: bool,
    },
    /// The user manager's memory.events changed (limit hits, OOM kills in the session).
    SessionEvents,
    /// The user manager loaded an app unit (`launch::cgroup::is_app_unit`).
    NewUnit,
    /// A file was written or moved into the profile file's directory.
    Profile,
    /// A user unit failed with Result `oom-kill` (the unit's name).
    UnitOomKilled(String),
    /// systemd-oomd killed a cgroup below the user manager.
    OomdKilled(crate::agent::kills::OomdKill),
}

impl Wake {
    /// Whether the ticks after this wake-up stay at the base tick for a while (`Cadence::
    /// wake`): a new unit is adopted over a few ticks, and the others come with changes to
    /// follow. A pressure trigger asks for one look only: while the stall lasts the kernel
    /// fires it again every 2 s, and a reading over the threshold keeps the base tick by
    /// itself (not calm); a stall of a moment (seen at idle in the guest) costs one tick,
    /// not six.
    pub fn settles(&self) -> bool {
        !matches!(self, Wake::Pressure { .. })
    }

    /// Whether the tick it brings may come sooner than a second after the last: the first
    /// fire of a pressure episode is news that reaches the user within 2 s; the fires that go
    /// on with it (every 2 s) and the other wakes wait out the gap.
    pub fn is_news(&self) -> bool {
        matches!(self, Wake::Pressure { begins: true, .. })
    }
}

/// A task that stops when dropped.
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The wake sources and the channel they send on.
pub struct Wakers {
    sender: UnboundedSender<Wake>,
    receiver: UnboundedReceiver<Wake>,
    root: PathBuf,
    system: Option<Task>,
    /// Triggers on cgroups, by cgroup path (from the hierarchy's root, starting with `/`).
    cgroups: BTreeMap<String, Task>,
    /// Cgroups whose trigger the kernel refused, and why: not asked again.
    refused: HashMap<String, String>,
    /// Why triggers are off, when the system's trigger is refused.
    system_problem: Option<String>,
    session_slice: Option<String>,
    _inotify: Option<Task>,
    new_units: Option<Task>,
    oom_killed: Option<Task>,
    oomd: Option<Task>,
    episodes: Episodes,
}

/// How long a trigger stays quiet before its next fire begins a new pressure episode: while
/// a stall lasts the kernel fires it once a window (2 s).
const EPISODE_GAP: Duration = Duration::from_secs(10);

/// When each source's trigger last fired, to tell the first fire of an episode from the ones
/// that go on with it.
#[derive(Debug, Default)]
struct Episodes {
    last: HashMap<String, Instant>,
}

impl Episodes {
    /// Notes that `source`'s trigger fired at `at`; true when that begins an episode (no fire
    /// in the `EPISODE_GAP` before it). Sources quiet for longer are forgotten.
    fn begins(&mut self, source: &str, at: Instant) -> bool {
        self.last.retain(|_, last| at.saturating_duration_since(*last) < EPISODE_GAP);
        self.last.insert(source.to_owned(), at).is_none()
    }
}

impl Wakers {
    /// Arms the system's trigger below `root` and, when the agent runs under a user manager on
    /// cgroup v2 (`manager_cgroup`, e.g. `/user.slice/user-1000.slice/user@1000.service`),
    /// session.slice's trigger and the inotify watches on it; and an inotify watch on
    /// `profile_dir`. Refusals are kept for `report`.
    pub fn start(root: &Path, manager_cgroup: Option<&str>, profile_dir: Option<&Path>) -> Wakers {
        let (sender, receiver) = unbounded_channel();
        let mut wakers = Wakers {
            sender,
            receiver,
            root: root.to_owned(),
            system: None,
            cgroups: BTreeMap::new(),
            refused: HashMap::new(),
            system_problem: None,
            session_slice: manager_cgroup.map(|m| format!("{m}/session.slice")),
            _inotify: None,
            new_units: None,
            oom_killed: None,
            oomd: None,
            episodes: Episodes::default(),
        };
        match trigger::arm(&root.join("proc/pressure/memory"), MEMORY_TRIGGER) {
            Ok(file) => wakers.system = watch_trigger(file, "system".into(), wakers.sender.clone()),
            Err(e) => wakers.system_problem = Some(e.to_string()),
        }
        use inotify::WatchMask;
        let mut watches = Vec::new();
        if let Some(manager) = manager_cgroup {
            let dir = wakers.cgroup_dir(manager);
            watches.push((dir.join("memory.events"), WatchMask::MODIFY, Wake::SessionEvents));
        }
        if let Some(dir) = profile_dir {
            watches.push((dir.to_owned(), WatchMask::CLOSE_WRITE | WatchMask::MOVED_TO, Wake::Profile));
        }
        wakers._inotify = watch_files(watches, wakers.sender.clone());
        wakers.sync(&[]);
        wakers
    }

    /// Wakes the agent when the user manager loads an app unit (from `units`, its UnitNew
    /// names), so that apps started elsewhere are adopted without waiting for a long tick.
    pub fn watch_new_units(&mut self, units: impl futures_util::Stream<Item = String> + Send + 'static) {
        self.new_units =
            Some(self.forward(units, |unit| crate::sample::cgroup::is_app_unit(&unit).then_some(Wake::NewUnit)));
    }

    /// Wakes the agent with each unit that fails with `oom-kill` (from `units`).
    pub fn watch_oom_killed_units(&mut self, units: impl futures_util::Stream<Item = String> + Send + 'static) {
        self.oom_killed = Some(self.forward(units, |unit| Some(Wake::UnitOomKilled(unit))));
    }

    /// Wakes the agent with each systemd-oomd kill (from `kills`) of a cgroup below
    /// `manager_cgroup`: oomd signals the kills of every user's units to everyone.
    pub fn watch_oomd(
        &mut self,
        kills: impl futures_util::Stream<Item = crate::agent::kills::OomdKill> + Send + 'static,
        manager_cgroup: &str,
    ) {
        let below = format!("{manager_cgroup}/");
        self.oomd =
            Some(self.forward(kills, move |kill| kill.cgroup.starts_with(&below).then_some(Wake::OomdKilled(kill))));
    }

    /// A task sending the wake `wake` makes of each item from `items`, until either end goes.
    fn forward<T: Send + 'static>(
        &self,
        items: impl futures_util::Stream<Item = T> + Send + 'static,
        wake: impl Fn(T) -> Option<Wake> + Send + 'static,
    ) -> Task {
        let sender = self.sender.clone();
        Task(tokio::spawn(async move {
            let mut items = std::pin::pin!(items);
            while let Some(item) = items.next().await {
                if wake(item).is_some_and(|wake| sender.send(wake).is_err()) {
                    return;
                }
            }
        }))
    }

    /// Whether the kernel pushes pressure events (the system's trigger is armed).
    pub fn armed(&self) -> bool {
        self.system.is_some()
    }

    /// Keeps one trigger on session.slice and on each of `units` (cgroup paths), and none on
    /// cgroups that are gone.
    pub fn sync(&mut self, units: &[String]) {
        if !self.armed() {
            return;
        }
        let wanted: Vec<&String> = self.session_slice.iter().chain(units).collect();
        self.cgroups.retain(|cgroup, _| wanted.contains(&cgroup));
        self.refused.retain(|cgroup, _| wanted.contains(&cgroup));
        for cgroup in wanted {
            if self.cgroups.contains_key(cgroup) || self.refused.contains_key(cgroup) {
                continue;
            }
            let path = self.cgroup_dir(cgroup).join("memory.pressure");
            match trigger::arm(&path, MEMORY_TRIGGER) {
                Ok(file) => {
                    if let Some(task) = watch_trigger(file, cgroup.clone(), self.sender.clone()) {
                        self.cgroups.insert(cgroup.clone(), task);
                    }
                }
                Err(e) => {
                    self.refused.insert(cgroup.clone(), e.to_string());
                }
            }
        }
    }

    /// The next wake-up. The first fire of each pressure episode is said, with its time (UTC,
    /// RFC 3339): when the kernel's event reached the agent.
    pub async fn next(&mut self) -> Wake {
        let mut wake = self.receiver.recv().await.expect("the wakers hold a sender");
        if let Wake::Pressure { source, begins } = &mut wake {
            *begins = self.episodes.begins(source, Instant::now());
            if *begins {
                let at = humantime::format_rfc3339_millis(SystemTime::now());
                eprintln!("ballast: the memory pressure trigger on {source} fired at {at}");
            }
        }
        wake
    }

    /// How pressure is learnt, for the report.
    pub fn report(&self) -> PressureWatch {
        let problem = self.system_problem.clone().or_else(|| {
            let mut refused: Vec<&String> = self.refused.values().collect();
            refused.sort();
            refused.first().map(|first| first.to_string())
        });
        PressureWatch {
            mode: if self.armed() { WatchMode::Triggers } else { WatchMode::Polling },
            trigger: MEMORY_TRIGGER.to_string(),
            cgroups: self.cgroups.keys().cloned().collect(),
            problem,
        }
    }

    fn cgroup_dir(&self, cgroup: &str) -> PathBuf {
        self.root.join("sys/fs/cgroup").join(cgroup.trim_start_matches('/'))
    }
}

/// A task sending `Wake::Pressure` for `source` each time the trigger fires; it ends when its
/// cgroup is removed (POLLERR). None when the file cannot be polled.
fn watch_trigger(file: std::fs::File, source: String, sender: UnboundedSender<Wake>) -> Option<Task> {
    let interest = Interest::PRIORITY | Interest::ERROR;
    // SAFETY: the File owns its descriptor, and nothing replaces or closes it while the
    // AsyncFd holds it.
    let fd = unsafe { AsyncFd::register_with_interest(file, interest) }
        .map_err(|e| eprintln!("ballast: cannot poll the pressure trigger of {source}: {e}"))
        .ok()?;
    Some(Task(tokio::spawn(async move {
        while let Ok(mut guard) = fd.ready(interest).await {
            let ready = guard.ready();
            guard.clear_ready();
            if ready.is_error() || sender.send(Wake::Pressure { source: source.clone(), begins: false }).is_err() {
                return;
            }
        }
    })))
}

/// A task sending each watch's `Wake` when inotify reports its events, at most one a
/// second. A path that cannot be watched is said once and left out.
fn watch_files(watches: Vec<(PathBuf, inotify::WatchMask, Wake)>, sender: UnboundedSender<Wake>) -> Option<Task> {
    let inotify = inotify::Inotify::init().map_err(|e| eprintln!("ballast: no inotify ({e})")).ok()?;
    let mut wakes = HashMap::new();
    for (path, mask, wake) in watches {
        match inotify.watches().add(&path, mask) {
            Ok(descriptor) => {
                wakes.insert(descriptor, wake);
            }
            Err(e) => eprintln!("ballast: cannot watch {} ({e}); it is read each tick instead", path.display()),
        }
    }
    let mut stream = inotify.into_event_stream([0u8; 1024]).ok()?;
    Some(Task(tokio::spawn(async move {
        while let Some(Ok(event)) = stream.next().await {
            let Some(wake) = wakes.get(&event.wd) else { continue };
            if sender.send(wake.clone()).is_err() {
                return;
            }
            // memory.events changes at each limit hit, up to 100 times a second (the kernel's
            // notify interval) while an app is throttled: one wake a second is enough, and
            // inotify merges the same event queued meanwhile.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })))
}

/// The user manager's cgroup from /proc/self/cgroup's cgroup v2 line (`0::/user.slice/
/// user-1000.slice/user@1000.service/app.slice/ballast.service` gives `/user.slice/
/// user-1000.slice/user@1000.service`); None outside a user manager or on cgroup v1.
pub fn manager_cgroup(self_cgroup: &str) -> Option<String> {
    let path = self_cgroup.lines().find_map(|line| line.strip_prefix("0::"))?;
    let end = path.split('/').position(|part| part.starts_with("user@") && part.ends_with(".service"))?;
    Some(path.split('/').take(end + 1).collect::<Vec<_>>().join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pressure_trigger_asks_for_one_look_and_its_first_fire_is_news() {
        let fire = |begins| Wake::Pressure { source: "system".into(), begins };
        assert!(!fire(true).settles() && !fire(false).settles());
        assert!(fire(true).is_news() && !fire(false).is_news());
        assert!(!Wake::NewUnit.is_news());
        assert!([Wake::NewUnit, Wake::SessionEvents, Wake::Profile].iter().all(Wake::settles));
    }

    #[test]
    fn a_fire_begins_an_episode_after_a_quiet_gap() {
        let (mut episodes, start) = (Episodes::default(), Instant::now());
        let after = |secs| start + Duration::from_secs(secs);
        assert!(episodes.begins("system", start));
        assert!(!episodes.begins("system", after(2)), "the stall goes on: fired again a window later");
        assert!(episodes.begins("/app.slice/app-hog.scope", after(3)), "each source has its own");
        assert!(!episodes.begins("system", after(11)), "9 s after the last fire");
        assert!(episodes.begins("system", after(21)), "10 s quiet");
        assert_eq!(episodes.last.len(), 1, "the app's trigger, quiet for 18 s, is forgotten");
    }

    #[test]
    fn the_manager_cgroup_is_the_path_up_to_user_at() {
        let v2 = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/ballast.service\n";
        assert_eq!(manager_cgroup(v2).as_deref(), Some("/user.slice/user-1000.slice/user@1000.service"));
        let hybrid = "12:memory:/user.slice\n0::/user.slice/user-1000.slice/user@1000.service/session.slice/x\n";
        assert_eq!(manager_cgroup(hybrid).as_deref(), Some("/user.slice/user-1000.slice/user@1000.service"));
        assert_eq!(manager_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"), None, "a login shell");
        assert_eq!(manager_cgroup("4:memory:/user.slice/user-1000.slice/user@1000.service\n"), None, "v1 only");
    }

    #[tokio::test]
    async fn without_psi_the_agent_polls_and_says_why() {
        let root = std::env::temp_dir().join(format!("ballast-wake-{}", std::process::id()));
        let wakers = Wakers::start(&root, None, None);
        assert!(!wakers.armed());
        let report = wakers.report();
        assert_eq!(report.mode, WatchMode::Polling);
        assert!(report.problem.unwrap().contains("proc/pressure/memory"));
        assert!(report.cgroups.is_empty());
    }
}
