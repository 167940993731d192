//! The tray item (StatusNotifierItem through ksni): a gauge icon drawn from the budget,
//! a tooltip with the totals, and the menu. `TrayView` is what it shows, built purely from
//! a report; the agent updates the item only when the view changes.

pub mod icon;

pub use icon::{gauge, Marks};

use crate::budget::{Report, Status};
use crate::launch::ScopeStatus;
use crate::profile::Profile;
use crate::render::human;

/// Sizes as the tray shows them: two significant figures, so that memory moving by a
/// few megabytes does not redraw the item (and wake the panel) every tick.
fn rough(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if !(100 * MIB..1 << 30).contains(&bytes) {
        human(bytes)
    } else {
        format!("{}M", (bytes + 5 * MIB) / (10 * MIB) * 10)
    }
}
use crate::agent::command::{Choice, Command, TuneAction};
use crate::tune::Target;
use tokio::sync::mpsc::UnboundedSender;

/// One catalog app in the Launch submenu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchEntry {
    /// The app's catalog id, as Launch takes it.
    pub id: String,
    /// Menu text: the name and its memory.high / memory.max and CPU quota.
    pub label: String,
    /// Whether the app's program is found on PATH; the entry is disabled when not.
    pub installed: bool,
}

/// One running app: a catalog app's units together (its memory summed against its
/// catalog limit), or one unit of no catalog app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningEntry {
    /// What Stop stops.
    pub units: Vec<String>,
    /// Menu text: the name, memory in use and its limit.
    pub label: String,
    /// The frozen ones among `units`: what Thaw thaws.
    pub frozen: Vec<String>,
}

/// The Running submenu's entries, one per app (see [`RunningEntry`]).
fn running_entries(profile: &Profile, scopes: &[ScopeStatus]) -> Vec<RunningEntry> {
    crate::launch::running_apps(scopes)
        .into_iter()
        .map(|app| {
            let total = &app.total;
            let name =
                total.app.as_deref().and_then(|id| profile.app(id)).map_or(total.unit.as_str(), |a| a.name.as_str());
            let used = total.memory_current.map_or("?".into(), rough);
            let max = total.memory_max.map_or("no limit".into(), human);
            let more = if app.units.len() > 1 { format!(" in {} units", app.units.len()) } else { String::new() };
            let frozen: Vec<String> =
                scopes.iter().filter(|s| s.frozen && app.units.contains(&s.unit)).map(|s| s.unit.clone()).collect();
            let state = if frozen.is_empty() { "" } else { ", frozen" };
            RunningEntry { label: format!("{name}: {used} of {max}{more}{state}"), units: app.units, frozen }
        })
        .collect()
}

/// A running app as the gist has it: its units, and the frozen ones among them.
pub type AppGist<'a> = (&'a [String], &'a [String]);

/// Everything the item shows. Numbers are kept as the text shown, so a change the user
/// cannot see does not redraw anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrayView {
    /// The worst status of the total and the non-reclaimable categories (icon colour).
    pub status: Status,
    /// Used memory against the current state's total budget, in percent (icon gauge).
    pub percent: u32,
    /// Tooltip text: total used of budget, and the state.
    pub tooltip: String,
    /// The menu's read-only lines: total, categories, zram, memory pressure, GPU.
    pub lines: Vec<String>,
    /// The Launch submenu, one entry per catalog app.
    pub launch: Vec<LaunchEntry>,
    /// The Running submenu, one entry per running app.
    pub running: Vec<RunningEntry>,
    /// Memory pressure and frozen apps, as the icon shows them.
    pub marks: Marks,
}

impl TrayView {
    /// What the icon shows and which apps the menu lists: a change here is news. The figures
    /// of the menu's lines move a little at every reading and are not; they are refreshed at
    /// the next tick.
    pub fn gist(&self) -> (Status, u32, Marks, Vec<AppGist<'_>>) {
        let running = self.running.iter().map(|r| (r.units.as_slice(), r.frozen.as_slice())).collect();
        (self.status, self.percent, self.marks, running)
    }

    /// What the gauge is drawn from: the fill (% of the budget), the colour and the marks.
    fn gauge_inputs(&self) -> (u32, Status, Marks) {
        (self.percent, self.status, self.marks)
    }

    /// The view of `report`; `installed` is per `profile.apps` entry, `scopes` the running app units.
    pub fn new(report: &Report, profile: &Profile, installed: &[bool], scopes: &[ScopeStatus]) -> TrayView {
        let total = &report.total;
        let status = report
            .categories
            .iter()
            .filter(|c| !c.reclaimable)
            .map(|c| c.status)
            .chain([total.status])
            .max()
            .unwrap_or(Status::Ok);
        // In steps of 5 %: finer than the gauge can show is only a redraw.
        let percent =
            if total.limit == 0 { 0 } else { ((total.used as f64 / total.limit as f64) * 20.0).round() as u32 * 5 };
        let mut lines = vec![format!(
            "Total {} of {} ({}, {})",
            rough(total.used),
            rough(total.limit),
            report.state.as_str(),
            status_word(total.status)
        )];
        lines.extend(report.categories.iter().filter(|c| !c.reclaimable).map(|c| {
            format!(
                "{}: {} of {}{}",
                c.name,
                rough(c.used),
                rough(c.limit),
                if c.status == Status::Ok { String::new() } else { format!(" ({})", status_word(c.status)) }
            )
        }));
        lines.push(match report.zram.ratio {
            Some(ratio) => {
                format!("zram: {} in {} ({ratio:.1}x)", rough(report.zram.orig_data), rough(report.zram.mem_used))
            }
            None => format!("zram: {}", report.zram.state.as_str()),
        });
        lines.push(match report.psi.memory {
            Some(p) => format!("Memory pressure: {:.0}%", p.some.avg10),
            None => "Memory pressure: n/a".into(),
        });
        lines.extend(crate::render::gpu_lines(&report.gpu).into_iter().map(|line| format!("GPU: {line}")));
        let launch = profile
            .apps
            .iter()
            .zip(installed)
            .map(|(app, &installed)| LaunchEntry {
                id: app.id.clone(),
                label: format!("{} ({} / {}, {})", app.name, app.memory_high, app.memory_max, app.cpu_quota),
                installed,
            })
            .collect();
        let running = running_entries(profile, scopes);
        let stalled = report.psi.memory.is_some_and(|p| f64::from(p.some.avg10) >= profile.alerts.pressure_some_avg10);
        let marks = Marks { pressure: stalled, frozen: running.iter().any(|r| !r.frozen.is_empty()) };
        TrayView {
            marks,
            status,
            percent,
            tooltip: format!("{} of {} used ({})", rough(total.used), rough(total.limit), report.state.as_str()),
            lines,
            launch,
            running,
        }
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Near => "near",
        Status::Breach => "over budget",
    }
}

/// The ksni tray item: shows a view and sends menu actions to the agent.
pub struct BallastTray {
    /// What the item shows now.
    view: TrayView,
    /// Where menu actions and clicks go (the agent's command loop).
    commands: UnboundedSender<Command>,
    /// The gauge drawn for `view` at each size: ksni asks for the pixmaps at every update to
    /// see what changed, and drawing them (some 5 600 pixels) was a tenth of an idle tick's
    /// CPU in the guest (perf).
    icons: Vec<ksni::Icon>,
}

/// The sizes the gauge is drawn at (pixels): a panel's, and larger for HiDPI.
const ICON_SIZES: [i32; 3] = [22, 32, 64];

impl BallastTray {
    /// The item showing `view`, its actions sent to `commands`.
    pub fn new(view: TrayView, commands: UnboundedSender<Command>) -> Self {
        let icons = draw(&view);
        BallastTray { view, commands, icons }
    }

    /// Shows `view`; the gauge is drawn again only when what it shows changed.
    pub fn show(&mut self, view: TrayView) {
        if view.gauge_inputs() != self.view.gauge_inputs() {
            self.icons = draw(&view);
        }
        self.view = view;
    }

    fn item(&self, label: &str, command: Command) -> ksni::MenuItem<Self> {
        ksni::menu::StandardItem {
            label: label.into(),
            activate: Box::new(move |tray: &mut Self| {
                let _ = tray.commands.send(command.clone());
            }),
            ..Default::default()
        }
        .into()
    }

    /// An item that carries out `choice` for each of the entry's units (Thaw: its frozen
    /// ones).
    fn choice_item(&self, choice: Choice, entry: &RunningEntry) -> ksni::MenuItem<Self> {
        let units = if choice == Choice::Thaw { entry.frozen.clone() } else { entry.units.clone() };
        ksni::menu::StandardItem {
            label: choice.label().into(),
            activate: Box::new(move |tray: &mut Self| {
                units.iter().for_each(|unit| drop(tray.commands.send(Command::Choose(choice, unit.clone()))))
            }),
            ..Default::default()
        }
        .into()
    }

    fn submenu(label: &str, submenu: Vec<ksni::MenuItem<Self>>) -> ksni::MenuItem<Self> {
        ksni::menu::SubMenu { label: label.into(), enabled: !submenu.is_empty(), submenu, ..Default::default() }.into()
    }
}

/// The gauge of `view` at every `ICON_SIZES`.
fn draw(view: &TrayView) -> Vec<ksni::Icon> {
    let (percent, status, marks) = view.gauge_inputs();
    ICON_SIZES.into_iter().map(|size| gauge(percent, status, marks, size)).collect()
}

impl ksni::Tray for BallastTray {
    fn id(&self) -> String {
        "ballast".into()
    }

    fn title(&self) -> String {
        "ballast".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::SystemServices
    }

    /// Active whatever the budget says: the gauge's colour shows a breach. Plasma 6's system
    /// tray pulses a NeedsAttention item for as long as it stays so (PulseAnimation, loops:
    /// Infinite, in plasma-workspace's applets/systemtray), which keeps plasmashell and KWin
    /// drawing every frame: a breach that lasts would cost the desktop more than ballast.
    fn status(&self) -> ksni::Status {
        ksni::Status::Active
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        self.icons.clone()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip { title: "ballast".into(), description: self.view.tooltip.clone(), ..Default::default() }
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        let _ = self.commands.send(Command::Dashboard);
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        let mut menu: Vec<ksni::MenuItem<Self>> = self
            .view
            .lines
            .iter()
            .map(|line| {
                ksni::menu::StandardItem { label: line.replace('_', "__"), enabled: false, ..Default::default() }.into()
            })
            .collect();
        menu.push(ksni::MenuItem::Separator);
        let launch = self
            .view
            .launch
            .iter()
            .map(|entry| {
                let id = entry.id.clone();
                ksni::menu::StandardItem {
                    label: entry.label.replace('_', "__"),
                    enabled: entry.installed,
                    activate: Box::new(move |tray: &mut Self| {
                        let _ = tray.commands.send(Command::Launch(id.clone()));
                    }),
                    ..Default::default()
                }
                .into()
            })
            .collect();
        menu.push(Self::submenu("Launch", launch));
        let running = self
            .view
            .running
            .iter()
            .map(|entry| {
                let thaw = !entry.frozen.is_empty();
                let choices = if thaw { [Choice::Thaw, Choice::Stop] } else { [Choice::Freeze, Choice::Stop] };
                let mut items: Vec<_> = choices.iter().map(|&c| self.choice_item(c, entry)).collect();
                if !thaw {
                    items.insert(1, self.choice_item(Choice::GiveMore, entry));
                }
                Self::submenu(&entry.label.replace('_', "__"), items)
            })
            .collect();
        menu.push(Self::submenu("Running", running));
        let tune = [("KWin", Target::Kwin), ("Baloo", Target::Baloo)]
            .into_iter()
            .map(|(name, target)| {
                Self::submenu(
                    name,
                    vec![
                        self.item("Preview", Command::Tune(target, TuneAction::Preview)),
                        self.item("Apply", Command::Tune(target, TuneAction::Apply)),
                        self.item("Roll back", Command::Tune(target, TuneAction::Rollback)),
                    ],
                )
            })
            .collect();
        menu.push(Self::submenu("Tune", tune));
        menu.push(ksni::MenuItem::Separator);
        menu.push(self.item("Dashboard", Command::Dashboard));
        menu.push(self.item("Doctor", Command::Doctor));
        menu.push(self.item("Quit", Command::Quit));
        menu
    }

    fn watcher_offline(&self, _reason: ksni::OfflineReason) -> bool {
        // Keep the item alive: it registers again when the watcher (plasmashell) returns.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use crate::sample::Sampler;

    fn view(mutate: impl FnOnce(&mut crate::sample::Sample)) -> TrayView {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2");
        let mut sample = Sampler::with_root(root).sample().unwrap();
        mutate(&mut sample);
        let profile = Profile::embedded();
        let installed: Vec<bool> = profile.apps.iter().map(|a| a.id == "discord").collect();
        TrayView::new(&Budget::new(profile.clone()).evaluate(&sample), &profile, &installed, &[])
    }

    #[test]
    fn the_view_shows_the_budget_and_the_catalog() {
        let v = view(|_| {});
        assert_eq!(v.lines[0], "Total 7.9G of 10.0G (workload, ok)");
        assert!(v.lines.iter().any(|l| l == "Plasma desktop: 700M of 800M"), "{:?}", v.lines);
        assert!(v.lines.iter().any(|l| l.starts_with("zram: 1.1G in 310M (4.1x)")), "{:?}", v.lines);
        assert_eq!(v.percent, 80);
        let discord = v.launch.iter().find(|l| l.id == "discord").unwrap();
        assert_eq!((discord.label.as_str(), discord.installed), ("Discord (2G / 3G, 150%)", true));
        assert!(!v.launch.iter().find(|l| l.id == "zoom").unwrap().installed);
    }

    #[test]
    fn a_breach_turns_the_gauge_red_but_never_asks_for_attention() {
        use ksni::Tray;
        let (commands, _) = tokio::sync::mpsc::unbounded_channel();
        let breach = view(|s| s.meminfo.available = 0);
        assert_eq!(breach.status, Status::Breach);
        let tray = BallastTray::new(breach, commands);
        assert!(matches!(tray.status(), ksni::Status::Active));
    }

    #[test]
    fn the_gauge_is_drawn_again_only_when_what_it_shows_changes() {
        use ksni::Tray;
        let (commands, _) = tokio::sync::mpsc::unbounded_channel();
        // ksni::Icon has no PartialEq: its pixels are compared.
        let pixels = |icons: Vec<ksni::Icon>| icons.into_iter().map(|i| (i.width, i.data)).collect::<Vec<_>>();
        let mut tray = BallastTray::new(view(|_| {}), commands);
        let ok = pixels(tray.icon_pixmap());
        assert_eq!(ok.len(), ICON_SIZES.len());
        tray.show(view(|s| s.meminfo.available -= 3 << 20));
        assert_eq!(pixels(tray.icon_pixmap()), ok);
        let breach = view(|s| s.meminfo.available = 0);
        let drawn = pixels(draw(&breach));
        tray.show(breach);
        assert_ne!(pixels(tray.icon_pixmap()), ok);
        assert_eq!(pixels(tray.icon_pixmap()), drawn, "the breach's gauge");
    }

    #[test]
    fn a_few_megabytes_do_not_change_the_view() {
        let base = view(|_| {});
        let moved = view(|s| s.meminfo.available -= 3 << 20);
        assert_eq!(base, moved);
        let grown = view(|s| s.meminfo.available -= 600 << 20);
        assert_ne!(base, grown);
    }

    #[test]
    fn running_apps_are_one_entry_each_with_their_total() {
        let profile = Profile::embedded();
        let status =
            |unit: &str, used: u64| ScopeStatus { memory_current: Some(used), ..ScopeStatus::named(&profile, unit) };
        let scopes = [
            ScopeStatus { memory_max: Some(4 << 30), ..status("app-ballast-chromium-1.scope", 1 << 30) },
            status("app-org.chromium.Chromium-4242.scope", 200 << 20),
            status("app-org.kde.konsole@1.service", 60 << 20),
        ];
        let entries = running_entries(&profile, &scopes);
        assert_eq!(entries[0].label, "Chromium: 1.2G of 4.0G in 2 units");
        assert_eq!(entries[0].units, ["app-ballast-chromium-1.scope", "app-org.chromium.Chromium-4242.scope"]);
        assert_eq!(entries[1].label, "app-org.kde.konsole@1.service: 60M of no limit");
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e.frozen.is_empty()));
    }

    #[test]
    fn a_frozen_app_is_marked_in_the_menu_and_the_icon() {
        let profile = Profile::embedded();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma-v2");
        let report = Budget::new(profile.clone()).evaluate(&Sampler::with_root(root).sample().unwrap());
        let frozen = ScopeStatus {
            memory_current: Some(1 << 30),
            frozen: true,
            ..ScopeStatus::named(&profile, "app-ballast-discord-1.scope")
        };
        let view = TrayView::new(&report, &profile, &[], std::slice::from_ref(&frozen));
        assert_eq!(view.running[0].label, "Discord: 1.0G of no limit, frozen");
        assert_eq!(view.running[0].frozen, ["app-ballast-discord-1.scope"]);
        assert!(view.marks.frozen);
        let thawed = TrayView::new(&report, &profile, &[], &[ScopeStatus { frozen: false, ..frozen }]);
        assert!(!thawed.marks.frozen);
        assert_ne!(view.gist(), thawed.gist(), "thawing is news");
    }

    #[test]
    fn rough_sizes() {
        assert_eq!(rough(584 << 20), "580M");
        assert_eq!(rough(586 << 20), "590M");
        assert_eq!(rough(45 << 20), "45M");
        assert_eq!(rough(3 << 30), "3.0G");
    }
}
