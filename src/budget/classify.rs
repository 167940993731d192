//! Which budget line a unit or process belongs to, by the profile's patterns.

use crate::profile::{CategorySource, Profile};
use std::collections::HashMap;
use wildmatch::WildMatch;

/// Where memory is counted: a catalog app (its own line inside its category), a
/// category, or nowhere the profile names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A catalog app's line: indices into the profile's `apps` and `categories`.
    App {
        /// Index into the profile's `apps`.
        app: usize,
        /// Index into the profile's `categories`: the app's category.
        category: usize,
    },
    /// A category, no app: index into the profile's `categories`.
    Category(usize),
    /// No pattern of the profile matches.
    Unclassified,
}

impl Owner {
    /// The category index and, for an app, the app index; None when unclassified.
    pub fn lines(self) -> Option<(usize, Option<usize>)> {
        match self {
            Owner::App { app, category } => Some((category, Some(app))),
            Owner::Category(category) => Some((category, None)),
            Owner::Unclassified => None,
        }
    }
}

/// What is known about the thing being classified.
#[derive(Clone, Copy, Debug, Default)]
pub struct Subject<'a> {
    /// cgroup path below the cgroup root, without a leading '/'.
    pub cgroup_path: Option<&'a str>,
    /// The process name (the kernel's `comm`); None for a unit.
    pub comm: Option<&'a str>,
    /// Basename of the process's `argv[0]`; None for a unit or a kernel thread.
    pub argv0: Option<&'a str>,
}

impl Subject<'_> {
    fn unit_name(&self) -> Option<&str> {
        let path = self.cgroup_path?;
        path.rsplit('/').find(|c| crate::sample::cgroup::is_unit_name(c))
    }

    fn cache_key(&self) -> String {
        format!("{}\0{}\0{}", self.cgroup_path.unwrap_or(""), self.comm.unwrap_or(""), self.argv0.unwrap_or(""))
    }
}

struct Rules {
    owner: Owner,
    /// Matched against the unit name.
    unit_names: Vec<WildMatch>,
    /// Matched against the whole cgroup path (patterns containing '/').
    unit_paths: Vec<WildMatch>,
    exes: Vec<WildMatch>,
}

impl Rules {
    fn matches_unit_name(&self, subject: &Subject) -> bool {
        subject.unit_name().is_some_and(|name| self.unit_names.iter().any(|p| p.matches(name)))
    }

    fn matches_unit_path(&self, subject: &Subject) -> bool {
        subject.cgroup_path.is_some_and(|path| self.unit_paths.iter().any(|p| p.matches(path)))
    }

    fn matches_exe(&self, subject: &Subject) -> bool {
        [subject.comm, subject.argv0].into_iter().flatten().any(|name| self.exes.iter().any(|p| p.matches(name)))
    }
}

/// Classifies units and processes by the profile's patterns, memoising the answers.
pub struct Classifier {
    rules: Vec<Rules>,
    cache: HashMap<String, (Owner, bool)>,
}

impl Classifier {
    /// The rules of `profile`: its catalog apps first, then its categories that match by pattern.
    pub fn new(profile: &Profile) -> Self {
        let category_index = |id: &str| profile.categories.iter().position(|c| c.id == id);
        let mut rules = Vec::new();
        // Catalog apps first: an app's own line wins over its category's generic patterns.
        for (app, entry) in profile.apps.iter().enumerate() {
            let Some(category) = category_index(&entry.category) else {
                continue;
            };
            let mut exes = vec![WildMatch::new(entry.exec_basename())];
            exes.extend(entry.exes.iter().map(|p| WildMatch::new(p)));
            rules.push(Rules {
                owner: Owner::App { app, category },
                // Our scopes, and app units others start, by desktop file id
                // (app-com.discordapp.Discord@….service, app-org.chromium.Chromium-<pid>.scope)
                // or by the id in any case (app-discord-….scope).
                unit_names: [entry.scope_pattern(), format!("app-*{}*", entry.id)]
                    .iter()
                    .map(|p| WildMatch::new_case_insensitive(p))
                    .chain(entry.known_desktop_ids().iter().flat_map(|id| {
                        let id = crate::profile::escape_unit_part(id);
                        [WildMatch::new(&format!("app-*{id}-*")), WildMatch::new(&format!("app-*{id}@*"))]
                    }))
                    .collect(),
                unit_paths: Vec::new(),
                exes,
            });
        }
        for (index, category) in profile.categories.iter().enumerate() {
            if category.source != CategorySource::Match {
                continue;
            }
            let (paths, names): (Vec<&String>, Vec<&String>) = category.units.iter().partition(|p| p.contains('/'));
            rules.push(Rules {
                owner: Owner::Category(index),
                unit_names: names.into_iter().map(|p| WildMatch::new(p)).collect(),
                unit_paths: paths.into_iter().map(|p| WildMatch::new(p)).collect(),
                exes: category.exes.iter().map(|p| WildMatch::new(p)).collect(),
            });
        }
        Classifier { rules, cache: HashMap::new() }
    }

    /// Classifies, memoised: units and processes keep their owner while they live.
    pub fn classify(&mut self, subject: &Subject) -> Owner {
        let key = subject.cache_key();
        if let Some((owner, seen)) = self.cache.get_mut(&key) {
            *seen = true;
            return *owner;
        }
        // The most specific kind of pattern wins: a unit name (sddm.service) over a broad
        // path (system.slice/*), and either over a process name.
        let owner = [Rules::matches_unit_name, Rules::matches_unit_path, Rules::matches_exe]
            .iter()
            .find_map(|matches| self.rules.iter().find(|r| matches(r, subject)))
            .map_or(Owner::Unclassified, |r| r.owner);
        self.cache.insert(key, (owner, true));
        owner
    }

    /// Forgets subjects not seen since the last sweep, so the memo cannot grow without bound.
    pub fn sweep(&mut self) {
        self.cache.retain(|_, (_, seen)| std::mem::take(seen));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner_name(profile: &Profile, owner: Owner) -> String {
        match owner {
            Owner::App { app, category } => format!("{}/{}", profile.categories[category].id, profile.apps[app].id),
            Owner::Category(c) => profile.categories[c].id.clone(),
            Owner::Unclassified => "-".into(),
        }
    }

    fn unit(path: &str) -> String {
        let profile = Profile::embedded();
        let mut classifier = Classifier::new(&profile);
        owner_name(&profile, classifier.classify(&Subject { cgroup_path: Some(path), ..Default::default() }))
    }

    fn process(comm: &str, argv0: &str) -> String {
        let profile = Profile::embedded();
        let mut classifier = Classifier::new(&profile);
        let subject = Subject { cgroup_path: Some(""), comm: Some(comm), argv0: Some(argv0) };
        owner_name(&profile, classifier.classify(&subject))
    }

    const USER: &str = "user.slice/user-1000.slice/user@1000.service";

    #[test]
    fn units_by_the_reference_desktop_rules() {
        assert_eq!(unit(&format!("{USER}/app.slice/app-ballast-discord-3f9a1c.scope")), "electron/discord");
        assert_eq!(unit(&format!("{USER}/app.slice/app-com.discordapp.Discord@12.service")), "electron/discord");
        assert_eq!(unit(&format!("{USER}/app.slice/app-ballast-codium-1.scope")), "devtools/codium");
        // Known only by a desktop file id.
        assert_eq!(unit(&format!("{USER}/app.slice/app-org.signal.Signal-4242.scope")), "electron/signal");
        assert_eq!(unit(&format!("{USER}/app.slice/app-us.zoom.Zoom@0b5a.service")), "electron/zoom");
        assert_eq!(unit(&format!("{USER}/app.slice/app-firefox-4f2e1a9b.scope")), "browser/firefox");
        assert_eq!(unit(&format!("{USER}/app.slice/app-org.kde.konsole-6a1b.scope")), "devtools");
        assert_eq!(unit(&format!("{USER}/session.slice/plasma-kwin_x11.service")), "plasma");
        assert_eq!(unit(&format!("{USER}/background.slice/kde-baloo.service")), "plasma");
        assert_eq!(unit(&format!("{USER}/session.slice/pipewire-pulse.service")), "audio");
        assert_eq!(unit(&format!("{USER}/session.slice/wireplumber.service")), "audio");
        assert_eq!(unit(&format!("{USER}/init.scope")), "services");
        assert_eq!(unit("system.slice/NetworkManager.service"), "services");
        // The display server is part of the desktop, though its unit sits in system.slice.
        assert_eq!(unit("system.slice/sddm.service"), "plasma");
        assert_eq!(unit("system.slice/display-manager.service"), "plasma");
        assert_eq!(unit("init.scope"), "services");
        assert_eq!(unit("user.slice/user-1000.slice/session-2.scope"), "services");
        assert_eq!(unit(&format!("{USER}/app.slice/app-org.gnome.Mines-1.scope")), "-");
    }

    #[test]
    fn processes_by_name_when_units_cannot_tell() {
        assert_eq!(process("Discord", "Discord"), "electron/discord");
        assert_eq!(process("signal-desktop", "signal-desktop"), "electron/signal");
        assert_eq!(process("Isolated Web Co", "firefox"), "browser/firefox");
        // Firefox's content processes count as Firefox wherever they run.
        assert_eq!(process("Web Content", "/usr/lib/firefox-esr/firefox-esr"), "browser/firefox");
        assert_eq!(process("chrome", "/opt/google/chrome/chrome"), "browser");
        assert_eq!(process("kwin_x11", "kwin_x11"), "plasma");
        assert_eq!(process("pipewire", "pipewire"), "audio");
        assert_eq!(process("rust-analyzer", "rust-analyzer"), "devtools");
        assert_eq!(process("systemd-journal", "systemd-journald"), "services");
        assert_eq!(process("mystery", "mystery"), "-");
    }

    #[test]
    fn memo_is_swept_of_subjects_gone_away() {
        let profile = Profile::embedded();
        let mut classifier = Classifier::new(&profile);
        let gone = Subject { cgroup_path: Some("system.slice/a.service"), ..Default::default() };
        let stays = Subject { cgroup_path: Some("system.slice/b.service"), ..Default::default() };
        classifier.classify(&gone);
        classifier.classify(&stays);
        classifier.sweep();
        classifier.classify(&stays);
        classifier.sweep();
        assert_eq!(classifier.cache.len(), 1);
    }
}
