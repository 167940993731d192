//! What to write where, from the profile's tuning targets. Pure: documents in, documents out.

use crate::kconfig::{Document, KconfigError};
use crate::profile::{BalooTargets, KwinTargets};

/// The Plasma generation, which decides effect names and which keys KWin still uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Plasma {
    /// Plasma 5, with KDE Frameworks 5; serialized "5".
    #[serde(rename = "5")]
    Five,
    /// Plasma 6, with KDE Frameworks 6; serialized "6".
    #[serde(rename = "6")]
    Six,
}

impl Plasma {
    /// From a major version, as KDE_SESSION_VERSION or a KWin version ("6.3.6") begins.
    pub fn from_major(version: &str) -> Option<Plasma> {
        match version.split('.').next() {
            Some("5") => Some(Plasma::Five),
            Some("6") => Some(Plasma::Six),
            _ => None,
        }
    }

    /// The KConfig this Plasma reads its files with.
    pub fn kconfig(self) -> crate::kconfig::Generation {
        match self {
            Plasma::Five => crate::kconfig::Generation::Kf5,
            Plasma::Six => crate::kconfig::Generation::Kf6,
        }
    }
}

/// One setting: `key` in `group` (nested groups joined by \x1d) of a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The config file's name under $XDG_CONFIG_HOME ("kwinrc", "kdeglobals", "baloofilerc").
    pub file: &'static str,
    /// The group (nested groups joined by \x1d).
    pub group: String,
    /// The key.
    pub key: String,
    /// The value to write.
    pub value: String,
    /// Written as `key[$e]`, so `$HOME` in the value expands when read.
    pub expandable: bool,
}

impl Setting {
    fn plain(file: &'static str, group: &str, key: &str, value: impl Into<String>) -> Self {
        Setting { file, group: group.into(), key: key.into(), value: value.into(), expandable: false }
    }
}

/// Plasma 5 names its scripted (JavaScript) effects kwin4_effect_<name> in kwinrc
/// [Plugins]; Plasma 6 and every built-in C++ effect use the plain name.
const PLASMA5_SCRIPTED_EFFECTS: &[&str] = &[
    "dialogparent",
    "eyeonscreen",
    "fade",
    "fadedesktop",
    "fadingpopups",
    "frozenapp",
    "fullscreen",
    "login",
    "logout",
    "maximize",
    "morphingpopups",
    "scale",
    "sessionquit",
    "squash",
    "translucency",
    "windowaperture",
];

/// `effect`'s name in kwinrc `[Plugins]` under `plasma`: `kwin4_effect_<name>` for Plasma 5's
/// scripted effects, the plain name otherwise.
pub fn effect_config_name(effect: &str, plasma: Plasma) -> String {
    let plain = effect.strip_prefix("kwin4_effect_").unwrap_or(effect);
    match plasma {
        Plasma::Five if PLASMA5_SCRIPTED_EFFECTS.contains(&plain) => format!("kwin4_effect_{plain}"),
        _ => plain.to_owned(),
    }
}

/// KWin: kwinrc `[Compositing]` and `[Plugins]`, and the animation speed, which KWin reads
/// from kdeglobals `[KDE]` since Plasma 5.18. No GLCore: neither KWin 5.27 nor 6 reads it.
/// Which of these a session's KWin uses is `Session::unread`'s business.
pub fn kwin_settings(targets: &KwinTargets, plasma: Plasma) -> Vec<Setting> {
    let compositing = |key: &str, value: String| Setting::plain("kwinrc", "Compositing", key, value);
    let mut settings = vec![
        compositing("Backend", targets.backend.clone()),
        compositing("GLPreferBufferSwap", targets.gl_prefer_buffer_swap.clone()),
        compositing("GLTextureFilter", targets.gl_texture_filter.to_string()),
        compositing("WindowsBlockCompositing", targets.windows_block_compositing.to_string()),
    ];
    let effects = targets.effects_on.iter().map(|e| (e, true)).chain(targets.effects_off.iter().map(|e| (e, false)));
    settings.extend(effects.map(|(effect, on)| {
        Setting::plain("kwinrc", "Plugins", &format!("{}Enabled", effect_config_name(effect, plasma)), on.to_string())
    }));
    settings.push(Setting::plain(
        "kdeglobals",
        "KDE",
        "AnimationDurationFactor",
        format_factor(targets.animation_duration_factor),
    ));
    settings
}

/// KConfig writes doubles in their shortest form: 0.5, 1, 0.25.
fn format_factor(value: f64) -> String {
    format!("{value}")
}

/// Baloo: basic indexing only, no hidden folders, and the profile's excludes added to
/// the user's own (which stay, in their order). The list is written `[$e]` so `$HOME`
/// stays portable; `home` tells which existing entries already cover a target.
pub fn baloo_settings(targets: &BalooTargets, current: &Document, home: &str) -> Vec<Setting> {
    let general = |key: &str, value: String| Setting::plain("baloofilerc", "General", key, value);
    let existing: Vec<String> = current
        .get("General", "exclude folders")
        .map(|entry| split_list(&String::from_utf8_lossy(&entry.value)))
        .unwrap_or_default();
    let expanded = |entry: &str| entry.replace("${HOME}", home).replace("$HOME", home);
    let normal = |entry: &str| expanded(entry).trim_end_matches('/').to_owned();
    let mut folders = existing.clone();
    for target in &targets.exclude_folders {
        if !folders.iter().any(|have| normal(have) == normal(target)) {
            folders.push(target.clone());
        }
    }
    vec![
        general("only basic indexing", targets.only_basic_indexing.to_string()),
        general("index hidden folders", targets.index_hidden_folders.to_string()),
        Setting {
            file: "baloofilerc",
            group: "General".into(),
            key: "exclude folders".into(),
            value: join_list(&folders),
            expandable: true,
        },
    ]
}

/// A KConfig string list: entries split on ',' except an escaped '\,'.
pub fn split_list(value: &str) -> Vec<String> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(',') => current.push(','),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            ',' => entries.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if !current.is_empty() || !entries.is_empty() {
        entries.push(current);
    }
    entries
}

fn join_list(entries: &[String]) -> String {
    entries.iter().map(|e| e.replace(',', "\\,")).collect::<Vec<_>>().join(",")
}

/// Applies the settings of one file to its document; returns the edited document.
pub fn apply_settings<'a>(
    document: &Document,
    settings: impl IntoIterator<Item = &'a Setting>,
) -> Result<Document, KconfigError> {
    let mut edited = document.clone();
    for setting in settings {
        if setting.expandable {
            edited.set_expandable(&setting.group, &setting.key, &setting.value)?;
        } else {
            edited.set(&setting.group, &setting.key, &setting.value)?;
        }
    }
    Ok(edited)
}

/// How a file ballast wrote goes back to what it was.
#[derive(Debug)]
pub enum Reversal {
    /// Nobody touched it since: restore the backed-up bytes exactly.
    Whole,
    /// Others changed other keys (KWin rewrites kwinrc, for one): only the keys ballast
    /// set go back, everything else stays as it is now.
    Keys(Document),
    /// Someone changed keys ballast had set (`[group] key` each); needs --force.
    Conflict(Vec<String>),
}

/// How to take a file back from `after` (what ballast wrote) to `before` (the backup), given
/// the file as it is `now`.
pub fn reversal(before: &Document, after: &Document, now: &Document) -> Result<Reversal, KconfigError> {
    if now.to_bytes() == after.to_bytes() {
        return Ok(Reversal::Whole);
    }
    let ours = crate::kconfig::changed_keys(before, after);
    let value = |doc: &Document, group: &[u8], key: &[u8]| doc.get(group, key).map(|e| e.value.into_owned());
    let conflicts: Vec<String> = ours
        .iter()
        .flat_map(|(group, keys)| keys.iter().map(move |key| (group, key)))
        .filter(|(group, key)| value(now, group, key) != value(after, group, key))
        .map(|(group, key)| {
            format!("[{}] {}", String::from_utf8_lossy(group).replace('\x1d', "]["), String::from_utf8_lossy(key))
        })
        .collect();
    if !conflicts.is_empty() {
        return Ok(Reversal::Conflict(conflicts));
    }
    let mut reverted = now.clone();
    for (group, keys) in &ours {
        for key in keys {
            match before.get(group, key) {
                Some(entry) if entry.expand => reverted.set_expandable(group, key, &entry.value)?,
                Some(entry) => reverted.set(group, key, &entry.value)?,
                None => reverted.remove(group, key)?,
            };
        }
    }
    Ok(Reversal::Keys(reverted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn keys(settings: &[Setting]) -> Vec<String> {
        settings.iter().map(|s| format!("{}:{}/{}={}", s.file, s.group, s.key, s.value)).collect()
    }

    #[test]
    fn kwin_plan_for_plasma5() {
        let profile = Profile::embedded();
        let plan = keys(&kwin_settings(&profile.tune.kwin, Plasma::Five));
        assert_eq!(
            plan,
            [
                "kwinrc:Compositing/Backend=OpenGL",
                "kwinrc:Compositing/GLPreferBufferSwap=a",
                "kwinrc:Compositing/GLTextureFilter=1",
                "kwinrc:Compositing/WindowsBlockCompositing=true",
                "kwinrc:Plugins/blurEnabled=true",
                "kwinrc:Plugins/contrastEnabled=false",
                "kwinrc:Plugins/wobblywindowsEnabled=false",
                "kwinrc:Plugins/magiclampEnabled=false",
                "kdeglobals:KDE/AnimationDurationFactor=0.5",
            ]
        );
        assert!(!plan.iter().any(|s| s.contains("GLCore")), "KWin ignores GLCore");
    }

    #[test]
    fn plasma6_drops_effect_prefixes() {
        let mut targets = Profile::embedded().tune.kwin;
        targets.effects_off.push("kwin4_effect_scale".into());
        let six = keys(&kwin_settings(&targets, Plasma::Six));
        assert!(six.contains(&"kwinrc:Plugins/scaleEnabled=false".to_string()));
        let five = keys(&kwin_settings(&targets, Plasma::Five));
        assert!(five.contains(&"kwinrc:Plugins/kwin4_effect_scaleEnabled=false".to_string()));
    }

    #[test]
    fn baloo_excludes_merge_with_the_users_own() {
        let targets = BalooTargets {
            only_basic_indexing: true,
            index_hidden_folders: false,
            exclude_folders: vec!["$HOME/.cache/".into(), "/nix/store/".into()],
        };
        let current = Document::parse(b"[General]\nexclude folders[$e]=/home/me/Private/,/home/me/.cache\n");
        let plan = baloo_settings(&targets, &current, "/home/me");
        let folders = plan.iter().find(|s| s.key == "exclude folders").unwrap();
        assert!(folders.expandable);
        assert_eq!(folders.value, "/home/me/Private/,/home/me/.cache,/nix/store/");
        let edited = apply_settings(&current, &plan).unwrap();
        assert_eq!(
            edited.to_bytes(),
            b"[General]\nexclude folders[$e]=/home/me/Private/,/home/me/.cache,/nix/store/\nonly basic indexing=true\nindex hidden folders=false\n"
        );
    }

    #[test]
    fn lists_split_like_kconfig() {
        assert_eq!(split_list("a/,b\\,c/,d"), ["a/", "b,c/", "d"]);
        assert!(split_list("").is_empty());
        assert_eq!(join_list(&["b,c/".into(), "d".into()]), "b\\,c/,d");
    }

    #[test]
    fn reversal_keeps_what_others_changed() {
        let before = Document::parse(b"[Compositing]\nBackend=XRender\n");
        let after = Document::parse(b"[Compositing]\nBackend=OpenGL\nGLTextureFilter=1\n");
        assert!(matches!(reversal(&before, &after, &after).unwrap(), Reversal::Whole));
        // KWin rewrote the file: added a group, kept our keys.
        let rewritten = Document::parse(b"[Compositing]\nBackend=OpenGL\nGLTextureFilter=1\n\n[Desktops]\nNumber=1\n");
        let Reversal::Keys(reverted) = reversal(&before, &after, &rewritten).unwrap() else { panic!("keys only") };
        assert_eq!(reverted.to_bytes(), b"[Compositing]\nBackend=XRender\n\n[Desktops]\nNumber=1\n");
        // The user changed one of ours.
        let edited = Document::parse(b"[Compositing]\nBackend=OpenGL\nGLTextureFilter=2\n");
        let Reversal::Conflict(keys) = reversal(&before, &after, &edited).unwrap() else { panic!("conflict") };
        assert_eq!(keys, ["[Compositing] GLTextureFilter"]);
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let profile = Profile::embedded();
        let plan = kwin_settings(&profile.tune.kwin, Plasma::Five);
        let kwinrc: Vec<&Setting> = plan.iter().filter(|s| s.file == "kwinrc").collect();
        let once =
            apply_settings(&Document::parse(b"# mine\n[Compositing]\nBackend=XRender\n"), kwinrc.iter().copied())
                .unwrap();
        let twice = apply_settings(&once, kwinrc.iter().copied()).unwrap();
        assert_eq!(once.to_bytes(), twice.to_bytes());
        assert!(once.to_bytes().starts_with(b"# mine\n[Compositing]\nBackend=OpenGL\n"));
    }
}
