//! Which desktop notifications to show, update or close. Pure: reports and scope events
//! in, changes out; the notifier sends them.

use super::command::Choice;
use crate::budget::Report;
use crate::launch::{EventKind, HeldAtLimit, Limit, ScopeEvent, ScopeStatus};
use crate::profile::{AlertSettings, Profile, SampleSettings};
use crate::render::human;
use std::collections::HashMap;

/// What a notification is about: one notification per key, updated in place, closed by key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlertKey {
    /// A category id, or "total".
    Breach(String),
    /// Memory pressure (PSI memory some avg10) at the profile's threshold for 3 ticks.
    Pressure,
    /// zram filled to the profile's `zram_full` fraction.
    ZramFull,
    /// A scope event in an app scope: one notification per unit and kind.
    Scope {
        /// The scope's unit name.
        unit: String,
        /// The event: MemoryHigh hit, MemoryMax hit or OOM kill.
        kind: EventKind,
    },
    /// An app scope (the unit) held at its MemoryHigh, or near its MemoryMax.
    HeldAtLimit(String),
    /// The profile file failed to load; the previous profile stays in use.
    Config,
    /// The outcome of something the user asked for (launch, tune, doctor).
    Action(String),
    /// A kill outside the app units (the unit): told once.
    Kill(String),
    /// An app unit the user froze: shown until it is thawed or stopped.
    Frozen(String),
}

impl AlertKey {
    /// Whether the notification tells of a condition, which the agent closes when it ends (a
    /// breach, pressure, zram, an app held or frozen, a config that did not load), rather than
    /// of an event told once (a limit hit, a kill, an action's outcome).
    pub fn is_condition(&self) -> bool {
        !matches!(self, AlertKey::Scope { .. } | AlertKey::Action(_) | AlertKey::Kill(_))
    }
}

/// A notification's urgency, as the `urgency` hint's byte of the freedesktop Desktop
/// Notifications spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// 0: an app throttled at its MemoryHigh, or an action that succeeded.
    Low = 0,
    /// 1: most alerts.
    Normal = 1,
    /// 2: an app OOM-killed in its scope.
    Critical = 2,
}

/// One desktop notification: what it is about, its text and its urgency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// What the notification is about; it replaces an earlier one with the same key.
    pub key: AlertKey,
    /// The notification's title.
    pub summary: String,
    /// The notification's body text.
    pub body: String,
    /// The urgency it is sent with.
    pub urgency: Urgency,
    /// The app unit the choices act on.
    pub unit: Option<String>,
    /// What the notification offers to do with `unit`, as actions where the server has them.
    pub choices: Vec<Choice>,
}

/// A change to the notifications shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertChange {
    /// Show, or update in place when already shown.
    Show(Alert),
    /// The condition is over: close the notification.
    Clear(AlertKey),
}

impl AlertChange {
    /// The notification it changes.
    pub fn key(&self) -> &AlertKey {
        match self {
            AlertChange::Show(alert) => &alert.key,
            AlertChange::Clear(key) => key,
        }
    }
}

/// Decides each tick which notifications to show, update or close: sustained readings,
/// hysteresis and the cooldown of limit hits.
#[derive(Default)]
pub struct AlertPolicy {
    /// Conditions currently raised.
    raised: HashMap<AlertKey, ()>,
    /// Tick at which each scope event kind was last shown, for the cooldown.
    last_shown: HashMap<AlertKey, u64>,
    /// Events held back by the cooldown, shown with the next notification.
    deferred: HashMap<AlertKey, u64>,
    /// Consecutive ticks each app scope (by unit) has been held at its MemoryHigh.
    held_ticks: HashMap<String, u32>,
    /// The stuck-app alert raised for each unit, and the readings since it was last held:
    /// it stays raised until the app has been let go `SUSTAINED_TICKS` readings in a row, so
    /// a stall that hovers at the line does not close and reopen the notification.
    held_alerts: HashMap<String, (Alert, u32)>,
    pressure_high_ticks: u32,
    pressure_low_ticks: u32,
    tick: u64,
}

/// One alert per breach of the report, named as the user knows the line.
fn breach_alerts(report: &Report) -> Vec<Alert> {
    let alert = |breach: &crate::budget::Breach| {
        let name = report.breach_name(&breach.id);
        Alert {
            key: AlertKey::Breach(breach.id.to_string()),
            summary: format!("{name} over budget"),
            body: format!(
                "{name} uses {}, above its {} target ({} state)",
                human(breach.used),
                human(breach.limit),
                report.state.as_str()
            ),
            urgency: Urgency::Normal,
            unit: None,
            choices: Vec::new(),
        }
    };
    report.breaches.iter().map(alert).collect()
}

/// The notification of a kill outside the app units, from its event.
pub fn kill_alert(event: &crate::events::Event) -> Alert {
    Alert {
        key: AlertKey::Kill(event.unit.clone()),
        summary: match event.kind {
            crate::events::Kind::OomdKill => format!("{} killed by systemd-oomd", event.who),
            _ => format!("{} killed: out of memory", event.who),
        },
        body: if event.who == event.unit {
            format!("{} was killed: {}", event.who, event.why)
        } else {
            format!("{} ({}) was killed: {}", event.who, event.unit, event.why)
        },
        urgency: Urgency::Critical,
        unit: None,
        choices: Vec::new(),
    }
}

/// The notification of an app the user froze (`done`: what was done, in words), with Thaw.
pub fn frozen_alert(unit: &str, done: String) -> Alert {
    Alert {
        key: AlertKey::Frozen(unit.to_owned()),
        summary: "App frozen".into(),
        body: done,
        urgency: Urgency::Normal,
        unit: Some(unit.to_owned()),
        choices: vec![Choice::Thaw, Choice::Stop],
    }
}

/// The running app (a scope of a catalog app) using the most memory: what the pressure alert
/// offers to freeze or stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LargestApp {
    /// Its unit.
    pub unit: String,
    /// Its catalog name.
    pub who: String,
    /// memory.current, bytes.
    pub bytes: u64,
}

/// The largest of `scopes` that belongs to a catalog app of `profile`.
pub fn largest_app(profile: &Profile, scopes: &[ScopeStatus]) -> Option<LargestApp> {
    scopes
        .iter()
        .filter_map(|s| Some((s, profile.app(s.app.as_deref()?)?, s.memory_current?)))
        .max_by_key(|(_, _, bytes)| *bytes)
        .map(|(s, app, bytes)| LargestApp { unit: s.unit.clone(), who: app.name.clone(), bytes })
}

/// Ticks a pressure reading must hold before it counts as sustained (or as over).
const SUSTAINED_TICKS: u32 = 3;

impl AlertPolicy {
    /// `held`: the app scopes held at their MemoryHigh in this tick's reading; `largest` is
    /// asked only while the pressure alert is wanted.
    pub fn update(
        &mut self,
        settings: &AlertSettings,
        sample: &SampleSettings,
        report: &Report,
        events: &[ScopeEvent],
        held: &[HeldAtLimit],
        largest: impl FnOnce() -> Option<LargestApp>,
    ) -> Vec<AlertChange> {
        self.tick += 1;
        let mut wanted = breach_alerts(report);
        wanted.extend(self.pressure_alert(settings, sample, report, largest));
        wanted.extend(self.zram_alert(settings, report));
        wanted.extend(self.held_at_limit(sample, held));
        let mut changes = self.raise_and_clear(&wanted);
        changes.extend(self.scope_alerts(settings, sample, events));
        changes
    }

    /// Whether nothing is building up: no pressure reading or held app being counted towards
    /// an alert. A condition already shown (a breach that lasts) needs no fast tick: a change
    /// in the readings shows in the tray's view, which brings the base tick back.
    pub fn calm(&self) -> bool {
        self.pressure_high_ticks == 0 && self.held_ticks.is_empty() && self.held_alerts.is_empty()
    }

    /// The user chose what to do with app `unit` (froze it, gave it more, stopped or thawed
    /// it): its stuck episode is over. Its stuck notification is closed where still raised,
    /// and a new stall is a new episode, told anew (the server closed the old notification
    /// when the choice was invoked on it).
    pub fn settled(&mut self, unit: &str) -> Option<AlertChange> {
        self.held_ticks.remove(unit);
        self.held_alerts.remove(unit);
        let key = AlertKey::HeldAtLimit(unit.to_owned());
        self.raised.remove(&key).map(|()| AlertChange::Clear(key))
    }

    /// Memory pressure (PSI some avg10) at the profile's threshold for `SUSTAINED_TICKS`
    /// readings; once raised, it stays until it has been below half of it as long.
    /// Where an app is running, the largest is offered to freeze or stop.
    fn pressure_alert(
        &mut self,
        settings: &AlertSettings,
        sample: &SampleSettings,
        report: &Report,
        largest: impl FnOnce() -> Option<LargestApp>,
    ) -> Option<Alert> {
        let pressure = report.psi.memory.map(|p| p.some.avg10 as f64).unwrap_or(0.0);
        if pressure >= settings.pressure_some_avg10 {
            self.pressure_high_ticks += 1;
            self.pressure_low_ticks = 0;
        } else if pressure < settings.pressure_some_avg10 / 2.0 {
            self.pressure_low_ticks += 1;
            self.pressure_high_ticks = 0;
        }
        let raised = self.raised.contains_key(&AlertKey::Pressure);
        let sustained = self.pressure_high_ticks >= SUSTAINED_TICKS;
        (sustained || (raised && self.pressure_low_ticks < SUSTAINED_TICKS)).then(|| {
            let body = format!(
                "Tasks stalled on memory {pressure:.0}% of the time over the last 10 s (for {:.0} s or more)",
                f64::from(SUSTAINED_TICKS) * sample.tick_seconds
            );
            let largest = largest();
            Alert {
                key: AlertKey::Pressure,
                summary: "Memory pressure".into(),
                body: match &largest {
                    Some(app) => format!(
                        "{body}. The largest app, {}, uses {}: freeze it or stop it.",
                        app.who,
                        human(app.bytes)
                    ),
                    None => body,
                },
                urgency: Urgency::Normal,
                choices: largest.as_ref().map_or(Vec::new(), |_| vec![Choice::Freeze, Choice::Stop]),
                unit: largest.map(|app| app.unit),
            }
        })
    }

    /// zram filled to the profile's fraction; once raised, until 10 points below it.
    fn zram_alert(&self, settings: &AlertSettings, report: &Report) -> Option<Alert> {
        let fill = report.zram.fill.unwrap_or(0.0);
        let raised = self.raised.contains_key(&AlertKey::ZramFull);
        (fill >= settings.zram_full || (raised && fill >= settings.zram_full - 0.1)).then(|| Alert {
            key: AlertKey::ZramFull,
            summary: "zram nearly full".into(),
            body: format!(
                "{} of {} compressed swap used ({:.0}%)",
                human(report.zram.orig_data),
                human(report.zram.disksize),
                fill * 100.0
            ),
            urgency: Urgency::Normal,
            unit: None,
            choices: Vec::new(),
        })
    }

    /// Conditions: each `wanted` one shown once when raised, each raised one no longer
    /// wanted closed. Scope events, config errors and action outcomes are not conditions.
    fn raise_and_clear(&mut self, wanted: &[Alert]) -> Vec<AlertChange> {
        let mut changes = Vec::new();
        for alert in wanted {
            if self.raised.insert(alert.key.clone(), ()).is_none() {
                changes.push(AlertChange::Show(alert.clone()));
            }
        }
        let over: Vec<AlertKey> = self
            .raised
            .keys()
            .filter(|key| {
                !matches!(
                    key,
                    AlertKey::Scope { .. }
                        | AlertKey::Config
                        | AlertKey::Action(_)
                        | AlertKey::Kill(_)
                        | AlertKey::Frozen(_)
                ) && !wanted.iter().any(|a| &a.key == *key)
            })
            .cloned()
            .collect();
        for key in over {
            self.raised.remove(&key);
            changes.push(AlertChange::Clear(key));
        }
        changes
    }

    /// Scope events: one notification per scope and kind, updated in place; limit hits
    /// wait out the cooldown (and are counted into the next notice), OOM kills never do.
    fn scope_alerts(
        &mut self,
        settings: &AlertSettings,
        sample: &SampleSettings,
        events: &[ScopeEvent],
    ) -> Vec<AlertChange> {
        let cooldown_ticks = sample.ticks_in(f64::from(settings.cooldown_seconds));
        let mut changes = Vec::new();
        for event in events {
            let key = AlertKey::Scope { unit: event.unit.clone(), kind: event.kind };
            let deferred = self.deferred.remove(&key).unwrap_or(0);
            let waiting = self.last_shown.get(&key).is_some_and(|last| self.tick - last < cooldown_ticks);
            if waiting && event.kind != EventKind::OomKill {
                self.deferred.insert(key, deferred + event.count);
                continue;
            }
            self.last_shown.insert(key.clone(), self.tick);
            let total = deferred + event.count;
            let (summary, urgency) = match event.kind {
                EventKind::OomKill => ("App killed: out of memory", Urgency::Critical),
                EventKind::HitMax => ("App at its memory limit", Urgency::Normal),
                EventKind::HitHigh => ("App throttled: memory high", Urgency::Low),
            };
            let body = if total > event.count {
                format!("{} ({total} times since the last notice)", event.message)
            } else {
                event.message.clone()
            };
            let (unit, choices) = (Some(event.unit.clone()), vec![Choice::Stop]);
            changes.push(AlertChange::Show(Alert { key, summary: summary.into(), body, urgency, unit, choices }));
        }
        changes
    }

    /// Apps held at MemoryHigh for `SUSTAINED_TICKS` readings in a row, or at once when the
    /// kernel's pressure trigger on the app fired: the kernel will not kill them, so the user
    /// has to choose (stop the app, or raise its limit). Raised ones linger as `held_alerts`
    /// says.
    fn held_at_limit(&mut self, sample: &SampleSettings, held: &[HeldAtLimit]) -> Vec<Alert> {
        self.held_ticks.retain(|unit, _| held.iter().any(|h| &h.unit == unit));
        for scope in held {
            let ticks = self.held_ticks.entry(scope.unit.clone()).or_default();
            *ticks += 1;
            if *ticks >= SUSTAINED_TICKS || scope.pushed {
                self.held_alerts.insert(scope.unit.clone(), (held_alert(scope, *ticks, sample), 0));
            }
        }
        for (unit, (_, let_go)) in &mut self.held_alerts {
            *let_go = if held.iter().any(|h| &h.unit == unit) { 0 } else { *let_go + 1 };
        }
        self.held_alerts.retain(|_, (_, let_go)| *let_go < SUSTAINED_TICKS);
        self.held_alerts.values().map(|(alert, _)| alert.clone()).collect()
    }
}

/// The stuck-app alert of an app held at its limit for `ticks` readings.
fn held_alert(scope: &HeldAtLimit, ticks: u32, sample: &SampleSettings) -> Alert {
    let how_long = if ticks < SUSTAINED_TICKS {
        "its memory pressure trigger fired: 150 ms or more of stall within 2 s".to_owned()
    } else {
        format!("for {:.0} s or more", f64::from(ticks) * sample.tick_seconds)
    };
    let (who, limit, stall) = (&scope.who, human(scope.bytes), scope.stall);
    let (summary, body) = match scope.limit {
        Limit::MemoryHigh => (
            format!("{who} stuck at its memory limit"),
            format!("{who} is held at its {limit} MemoryHigh and stalled {stall:.0}% of the last 10 s ({how_long}). {}: freeze it, give it more memory, or stop it.", if scope.oomd {
                "The kernel will not kill it, but systemd-oomd may if the stall lasts"
            } else {
                "It will not be killed"
            }),
        ),
        Limit::MemoryMax => (
            format!("{who} near its memory limit"),
            format!("{who} uses {} of its {limit} MemoryMax and stalled {stall:.0}% of the last 10 s ({how_long}). The kernel kills it at that limit: freeze it, give it more memory, or stop it.", human(scope.current)),
        ),
    };
    Alert {
        key: AlertKey::HeldAtLimit(scope.unit.clone()),
        summary,
        body,
        urgency: Urgency::Normal,
        unit: Some(scope.unit.clone()),
        choices: vec![Choice::Freeze, Choice::GiveMore, Choice::Stop],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use crate::sample::{PressureLine, Sampler};

    fn report(mutate: impl FnOnce(&mut crate::sample::Sample)) -> Report {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2-idle");
        let mut sample = Sampler::with_root(root).sample().unwrap();
        mutate(&mut sample);
        // Roomy category targets: these tests are about the total, pressure, zram, scopes.
        let mut profile = Profile::embedded();
        for category in &mut profile.categories {
            category.idle = crate::profile::ByteSize(16 << 30);
            category.workload = crate::profile::ByteSize(16 << 30);
        }
        Budget::new(profile).evaluate(&sample)
    }

    /// "Hold" (app-ballast-hold-1.scope) held at its 150M MemoryHigh, stalled `stall` %.
    fn held_hold(stall: f32, pushed: bool) -> [HeldAtLimit; 1] {
        [HeldAtLimit {
            unit: "app-ballast-hold-1.scope".into(),
            who: "Hold".into(),
            limit: Limit::MemoryHigh,
            bytes: 150 << 20,
            current: 149 << 20,
            stall,
            pushed,
            oomd: false,
        }]
    }

    fn shown(changes: &[AlertChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                AlertChange::Show(a) => format!("show {}", a.summary),
                AlertChange::Clear(key) => format!("clear {key:?}"),
            })
            .collect()
    }

    fn settings() -> AlertSettings {
        Profile::embedded().alerts
    }

    /// One tick with no app held at MemoryHigh.
    fn tick(policy: &mut AlertPolicy, report: &Report, events: &[ScopeEvent]) -> Vec<AlertChange> {
        policy.update(&settings(), &Profile::embedded().sample, report, events, &[], || None)
    }

    #[test]
    fn conditions_are_closed_by_the_agent_events_are_told_once() {
        assert!(AlertKey::Breach("total".into()).is_condition());
        assert!(AlertKey::Frozen("app-x.scope".into()).is_condition());
        assert!(!AlertKey::Kill("app-x.scope".into()).is_condition());
        assert!(!AlertKey::Action("launch".into()).is_condition());
    }

    #[test]
    fn a_breach_is_shown_once_and_cleared_on_recovery() {
        let mut policy = AlertPolicy::default();
        let over = report(|s| s.meminfo.available = s.meminfo.total - (5 << 30));
        let fine = report(|_| {});
        assert_eq!(shown(&tick(&mut policy, &over, &[])), ["show Total memory over budget"]);
        assert!(tick(&mut policy, &over, &[]).is_empty(), "never a flood");
        assert_eq!(shown(&tick(&mut policy, &fine, &[])), ["clear Breach(\"total\")"]);
    }

    #[test]
    fn pressure_must_be_sustained() {
        let mut policy = AlertPolicy::default();
        let pressed = report(|s| {
            s.pressure.memory =
                Some(crate::sample::Pressure { some: PressureLine { avg10: 25.0, ..Default::default() }, full: None })
        });
        let calm = report(|_| {});
        let mut seen = Vec::new();
        for r in [&pressed, &pressed, &pressed, &pressed, &calm, &calm, &calm] {
            seen.push(shown(&tick(&mut policy, r, &[])));
        }
        assert_eq!(seen[..2], [Vec::<String>::new(), vec![]]);
        assert_eq!(seen[2], ["show Memory pressure"]);
        assert!(seen[3].is_empty() && seen[4].is_empty() && seen[5].is_empty());
        assert_eq!(seen[6], ["clear Pressure"]);
    }

    fn scope(unit: &str, bytes: u64) -> ScopeStatus {
        ScopeStatus { memory_current: Some(bytes), ..ScopeStatus::named(&Profile::embedded(), unit) }
    }

    #[test]
    fn sustained_pressure_offers_to_freeze_or_stop_the_largest_app() {
        let profile = Profile::embedded();
        let scopes = [
            scope("app-ballast-discord-1.scope", 900 << 20),
            scope("app-org.example.Big-2.scope", 3 << 30),
            scope("app-ballast-teams-3.scope", 1200 << 20),
        ];
        let largest = largest_app(&profile, &scopes).unwrap();
        assert_eq!((largest.unit.as_str(), largest.who.as_str()), ("app-ballast-teams-3.scope", "Microsoft Teams"));
        assert_eq!(largest_app(&profile, &scopes[1..2]), None, "only catalog apps are offered");
        let mut policy = AlertPolicy::default();
        let pressed = report(|s| {
            s.pressure.memory =
                Some(crate::sample::Pressure { some: PressureLine { avg10: 25.0, ..Default::default() }, full: None })
        });
        let sample = Profile::embedded().sample;
        let mut changes = Vec::new();
        for _ in 0..SUSTAINED_TICKS {
            changes.extend(policy.update(&settings(), &sample, &pressed, &[], &[], || Some(largest.clone())));
        }
        let [AlertChange::Show(alert)] = &changes[..] else { panic!("{changes:?}") };
        assert_eq!(alert.unit.as_deref(), Some("app-ballast-teams-3.scope"));
        assert_eq!(alert.choices, [Choice::Freeze, Choice::Stop], "more memory would not ease the system");
        assert!(
            alert.body.ends_with("The largest app, Microsoft Teams, uses 1.2G: freeze it or stop it."),
            "{}",
            alert.body
        );
    }

    fn event(kind: EventKind, count: u64) -> ScopeEvent {
        ScopeEvent { unit: "app-ballast-discord-1.scope".into(), kind, count, message: format!("Discord {kind:?}") }
    }

    #[test]
    fn limit_hits_wait_out_the_cooldown_and_oom_kills_do_not() {
        let mut policy = AlertPolicy::default();
        let fine = report(|_| {});
        let first = tick(&mut policy, &fine, &[event(EventKind::HitHigh, 1)]);
        assert_eq!(shown(&first), ["show App throttled: memory high"]);
        let AlertChange::Show(alert) = &first[0] else { unreachable!() };
        assert_eq!((alert.urgency, alert.unit.as_deref()), (Urgency::Low, Some("app-ballast-discord-1.scope")));
        assert!(tick(&mut policy, &fine, &[event(EventKind::HitHigh, 4)]).is_empty(), "held by the cooldown");
        let kill = tick(&mut policy, &fine, &[event(EventKind::OomKill, 1)]);
        let AlertChange::Show(alert) = &kill[0] else { unreachable!() };
        assert_eq!(alert.urgency, Urgency::Critical);
        for _ in 0..150 {
            tick(&mut policy, &fine, &[]);
        }
        let later = tick(&mut policy, &fine, &[event(EventKind::HitHigh, 1)]);
        let AlertChange::Show(alert) = &later[0] else { unreachable!() };
        assert!(alert.body.contains("(5 times since the last notice)"), "{}", alert.body);
    }

    #[test]
    fn zram_nearly_full_has_hysteresis() {
        let mut policy = AlertPolicy::default();
        let fill = |f: f64| {
            report(move |s| {
                s.zram[0].mm.orig_data = (s.zram[0].disksize as f64 * f) as u64;
                s.zram[0].mm.compr_data = s.zram[0].mm.orig_data / 4;
            })
        };
        assert_eq!(shown(&tick(&mut policy, &fill(0.95), &[])), ["show zram nearly full"]);
        assert!(tick(&mut policy, &fill(0.85), &[]).is_empty());
        assert_eq!(shown(&tick(&mut policy, &fill(0.5), &[])), ["clear ZramFull"]);
    }

    #[test]
    fn an_app_held_at_memory_high_is_told_once_and_cleared_when_it_moves() {
        let mut policy = AlertPolicy::default();
        let fine = report(|_| {});
        let sample = Profile::embedded().sample;
        let held = held_hold(98.0, false);
        let mut seen = Vec::new();
        for now in [&held[..], &held, &held, &held, &[], &held, &[], &[], &[]] {
            seen.push(policy.update(&settings(), &sample, &fine, &[], now, || None));
        }
        assert!(seen[0].is_empty() && seen[1].is_empty(), "one reading is not a trend");
        assert_eq!(shown(&seen[2]), ["show Hold stuck at its memory limit"]);
        let AlertChange::Show(alert) = &seen[2][0] else { unreachable!() };
        assert_eq!(alert.unit.as_deref(), Some("app-ballast-hold-1.scope"));
        assert_eq!(alert.choices, [Choice::Freeze, Choice::GiveMore, Choice::Stop], "a choice before the kill");
        assert!(alert.body.contains("150M MemoryHigh") && alert.body.contains("stalled 98%"), "{}", alert.body);
        assert!(seen[3..8].iter().all(Vec::is_empty), "never a flood, nor a close and reopen while it hovers");
        assert_eq!(shown(&seen[8]), ["clear HeldAtLimit(\"app-ballast-hold-1.scope\")"]);
        assert!(policy.calm());
        // Once closed, a break in the readings starts the count again.
        for now in [&held[..], &[], &held, &held] {
            assert!(policy.update(&settings(), &sample, &fine, &[], now, || None).is_empty());
        }
    }

    #[test]
    fn where_oomd_watches_the_slice_the_stuck_app_is_not_told_it_is_safe() {
        let mut policy = AlertPolicy::default();
        let held = [HeldAtLimit { oomd: true, ..held_hold(98.0, true)[0].clone() }];
        let told = policy.update(&settings(), &Profile::embedded().sample, &report(|_| {}), &[], &held, || None);
        let Some(AlertChange::Show(alert)) = told.first() else { panic!("not told: {told:?}") };
        assert!(alert.body.contains("systemd-oomd may if the stall lasts"), "{}", alert.body);
        assert!(!alert.body.contains("It will not be killed"), "{}", alert.body);
    }

    #[test]
    fn a_choice_ends_the_stuck_episode_and_a_new_stall_is_told_anew() {
        let mut policy = AlertPolicy::default();
        let (fine, sample) = (report(|_| {}), Profile::embedded().sample);
        let held = held_hold(98.0, true);
        let mut update = |now: &[HeldAtLimit]| shown(&policy.update(&settings(), &sample, &fine, &[], now, || None));
        assert_eq!(update(&held), ["show Hold stuck at its memory limit"]);
        assert_eq!(
            policy.settled("app-ballast-hold-1.scope"),
            Some(AlertChange::Clear(AlertKey::HeldAtLimit("app-ballast-hold-1.scope".into())))
        );
        assert_eq!(policy.settled("app-ballast-hold-1.scope"), None, "closed once");
        let mut update = |now: &[HeldAtLimit]| shown(&policy.update(&settings(), &sample, &fine, &[], now, || None));
        assert_eq!(update(&held), ["show Hold stuck at its memory limit"], "stuck again after the choice");
        assert!(update(&held).is_empty());
    }

    #[test]
    fn an_app_whose_pressure_trigger_fired_is_told_at_once() {
        let mut policy = AlertPolicy::default();
        let held = held_hold(4.0, true);
        let first = policy.update(&settings(), &Profile::embedded().sample, &report(|_| {}), &[], &held, || None);
        assert_eq!(shown(&first), ["show Hold stuck at its memory limit"]);
        let AlertChange::Show(alert) = &first[0] else { unreachable!() };
        assert!(alert.body.contains("its memory pressure trigger fired"), "{}", alert.body);
        assert!(alert.body.contains("It will not be killed"), "{}", alert.body);
        assert!(!policy.calm(), "a held app keeps the base tick");
        // An app with only a MemoryMax: near it, the kernel kills next.
        let near = HeldAtLimit {
            unit: "app-ballast-max-1.scope".into(),
            limit: Limit::MemoryMax,
            bytes: 400 << 20,
            current: 390 << 20,
            ..held[0].clone()
        };
        let second = policy.update(&settings(), &Profile::embedded().sample, &report(|_| {}), &[], &[near], || None);
        let Some(AlertChange::Show(alert)) = second.iter().find(|c| matches!(c, AlertChange::Show(_))) else {
            panic!("not told: {second:?}")
        };
        assert_eq!(alert.summary, "Hold near its memory limit");
        assert!(
            alert.body.contains("uses 390M of its 400M MemoryMax") && alert.body.contains("The kernel kills it"),
            "{}",
            alert.body
        );
        assert_eq!(alert.choices, [Choice::Freeze, Choice::GiveMore, Choice::Stop]);
    }
}
