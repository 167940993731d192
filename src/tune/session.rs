//! Which Plasma is running and on which display server, as tuning needs to know: KWin's own
//! supportInformation first (the running compositor), then the session's environment
//! (KDE_SESSION_VERSION, XDG_SESSION_TYPE, set by Plasma and the display manager), then the
//! installed Plasma 6 tools. Pure except [`Session::probe`].

use super::plan::{Plasma, Setting};
use crate::launch::DisplayServer;

/// The running session. `display` is None when nothing says (a console login with no KWin on
/// the bus): plans then write every key, for whichever session the user starts next.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    /// The Plasma generation.
    pub plasma: Plasma,
    /// The display server; None when nothing says.
    pub display: Option<DisplayServer>,
    /// KWin's version as it reports it ("6.3.6"), when it answered.
    pub kwin_version: Option<String>,
    /// What the answer came from, for the user: "KWin", "environment" or "installed tools".
    pub source: &'static str,
}

/// The session's environment variables that say which Plasma runs where.
#[derive(Clone, Debug, Default)]
pub struct SessionEnv {
    /// $KDE_SESSION_VERSION ("5", "6"), set by Plasma.
    pub kde_session_version: Option<String>,
    /// $XDG_SESSION_TYPE ("x11", "wayland"), set by the display manager.
    pub xdg_session_type: Option<String>,
    /// Whether balooctl6 or kwriteconfig6 is on PATH.
    pub has_plasma6_tools: bool,
}

impl SessionEnv {
    /// From this process's environment and PATH.
    pub fn from_env() -> SessionEnv {
        let path = std::env::var("PATH").ok();
        let installed =
            |tool: &str| crate::launch::resolve_binary(tool, path.as_deref(), crate::launch::is_executable).is_some();
        SessionEnv {
            kde_session_version: std::env::var("KDE_SESSION_VERSION").ok(),
            xdg_session_type: std::env::var("XDG_SESSION_TYPE").ok(),
            has_plasma6_tools: ["balooctl6", "kwriteconfig6"].into_iter().any(installed),
        }
    }
}

/// What KWin's supportInformation says about itself: the "KWin version:" and
/// "Operation Mode:" lines of its Version section (KWin 5.27 and 6: "X11 only",
/// "Wayland Only", "Xwayland"; 6.3 prints "Wayland").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KwinIdentity {
    /// The "KWin version:" value ("6.3.6").
    pub version: String,
    /// From "Operation Mode:": X11 for X11 only, Wayland for the Wayland modes (Xwayland too);
    /// None for anything else or no such line.
    pub display: Option<DisplayServer>,
}

impl KwinIdentity {
    /// Reads supportInformation's text; None without a "KWin version:" line.
    pub fn parse(support_information: &str) -> Option<KwinIdentity> {
        let value =
            |name: &str| support_information.lines().find_map(|line| line.trim().strip_prefix(name).map(str::trim));
        let version = value("KWin version:")?.to_owned();
        let display = value("Operation Mode:").and_then(|mode| {
            let mode = mode.to_ascii_lowercase();
            if mode.starts_with("x11") {
                Some(DisplayServer::X11)
            } else if mode.contains("wayland") {
                Some(DisplayServer::Wayland)
            } else {
                None
            }
        });
        Some(KwinIdentity { version, display })
    }
}

impl Session {
    /// KWin's answer where there is one, else the environment, else the tools.
    pub fn detect(kwin: Option<&KwinIdentity>, env: &SessionEnv) -> Session {
        let env_plasma = env.kde_session_version.as_deref().and_then(Plasma::from_major);
        let env_display = env.xdg_session_type.as_deref().and_then(DisplayServer::from_session_type);
        let kwin_plasma = kwin.and_then(|k| Plasma::from_major(&k.version));
        let tools = if env.has_plasma6_tools { Plasma::Six } else { Plasma::Five };
        Session {
            plasma: kwin_plasma.or(env_plasma).unwrap_or(tools),
            display: kwin.and_then(|k| k.display).or(env_display),
            kwin_version: kwin.map(|k| k.version.clone()),
            source: if kwin_plasma.is_some() {
                "KWin"
            } else if env_plasma.is_some() || env_display.is_some() {
                "environment"
            } else {
                "installed tools"
            },
        }
    }

    /// This session, asking KWin on `connection` (None: no session bus) first.
    pub async fn probe(connection: Option<&zbus::Connection>) -> Session {
        let information = match connection {
            Some(connection) => super::reload::kwin_support_information(connection).await,
            None => None,
        };
        Session::detect(information.as_deref().and_then(KwinIdentity::parse).as_ref(), &SessionEnv::from_env())
    }

    /// The KWin program of this session, for messages: "kwin_wayland 6", "kwin_x11 5".
    pub fn kwin(&self) -> String {
        let generation = match self.plasma {
            Plasma::Five => 5,
            Plasma::Six => 6,
        };
        match self.display {
            Some(DisplayServer::X11) => format!("kwin_x11 {generation}"),
            Some(DisplayServer::Wayland) => format!("kwin_wayland {generation}"),
            None => format!("KWin {generation}"),
        }
    }

    /// Why this session's KWin does not use `setting`, or None when it does. With the
    /// display unknown, only what neither session uses counts. docs/kwin-settings.md has the
    /// evidence for each row.
    pub fn unread(&self, setting: &Setting) -> Option<&'static str> {
        if setting.file != "kwinrc" || setting.group != "Compositing" {
            return None;
        }
        let applies = |sessions: &[DisplayServer]| match self.display {
            Some(display) => sessions.contains(&display),
            None => sessions.len() == 2,
        };
        KWIN_UNUSED
            .iter()
            .find(|row| row.key == setting.key && row.plasma.contains(&self.plasma) && applies(row.sessions))
            .map(|row| row.why)
    }
}

/// A kwinrc [Compositing] key that some KWins read into their options but never act on in
/// some sessions.
struct Unused {
    key: &'static str,
    plasma: &'static [Plasma],
    sessions: &'static [DisplayServer],
    why: &'static str,
}

const BOTH: &[DisplayServer] = &[DisplayServer::X11, DisplayServer::Wayland];
const WAYLAND: &[DisplayServer] = &[DisplayServer::Wayland];

/// Every tuned key not listed here is used in both sessions (docs/kwin-settings.md).
const KWIN_UNUSED: &[Unused] = &[
    Unused {
        key: "GLTextureFilter",
        plasma: &[Plasma::Six],
        sessions: BOTH,
        why: "KWin 6 parses it but no code uses it, and KWin 6.4 on no longer reads it",
    },
    Unused {
        key: "GLPreferBufferSwap",
        plasma: &[Plasma::Five, Plasma::Six],
        sessions: WAYLAND,
        why: "only kwin_x11's GLX and EGL backends use it",
    },
    Unused {
        key: "WindowsBlockCompositing",
        plasma: &[Plasma::Five, Plasma::Six],
        sessions: WAYLAND,
        why: "a Wayland compositor cannot be suspended: only kwin_x11 lets windows block compositing",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    /// The Version section of kwin_wayland 6.3.6's supportInformation in the trixie guest.
    const WAYLAND_63: &str = "Version\n=======\nKWin version: 6.3.6\nQt Version: 6.8.2\nQt compile version: 6.8.2\nXCB compile version: 1.17.0\n\nOperation Mode: Wayland\n";

    fn env(version: Option<&str>, session_type: Option<&str>, tools: bool) -> SessionEnv {
        SessionEnv {
            kde_session_version: version.map(Into::into),
            xdg_session_type: session_type.map(Into::into),
            has_plasma6_tools: tools,
        }
    }

    #[test]
    fn kwin_says_which_kwin_and_where() {
        assert_eq!(
            KwinIdentity::parse(WAYLAND_63),
            Some(KwinIdentity { version: "6.3.6".into(), display: Some(DisplayServer::Wayland) })
        );
        let x11 = KwinIdentity::parse("KWin version: 5.27.5\nOperation Mode: X11 only\n").unwrap();
        assert_eq!(x11.display, Some(DisplayServer::X11));
        assert_eq!(KwinIdentity::parse("Operation Mode: X11 only\n"), None);
    }

    #[test]
    fn kwin_outranks_the_environment_which_outranks_the_tools() {
        let kwin = KwinIdentity::parse(WAYLAND_63).unwrap();
        let session = Session::detect(Some(&kwin), &env(Some("5"), Some("x11"), false));
        assert_eq!(
            (session.plasma, session.display, session.source),
            (Plasma::Six, Some(DisplayServer::Wayland), "KWin")
        );
        let session = Session::detect(None, &env(Some("6"), Some("x11"), false));
        assert_eq!(
            (session.plasma, session.display, session.source),
            (Plasma::Six, Some(DisplayServer::X11), "environment")
        );
        assert_eq!(Session::detect(None, &env(Some("5"), None, true)).plasma, Plasma::Five);
        let console = Session::detect(None, &env(None, Some("tty"), true));
        assert_eq!((console.plasma, console.display, console.source), (Plasma::Six, None, "installed tools"));
        assert_eq!(Session::detect(None, &env(None, None, false)).plasma, Plasma::Five);
    }

    fn unread_keys(plasma: Plasma, display: Option<DisplayServer>) -> Vec<String> {
        let session = Session { plasma, display, kwin_version: None, source: "test" };
        super::super::kwin_settings(&Profile::embedded().tune.kwin, plasma)
            .iter()
            .filter(|s| session.unread(s).is_some())
            .map(|s| s.key.clone())
            .collect()
    }

    #[test]
    fn each_session_names_the_keys_its_kwin_ignores() {
        assert_eq!(
            unread_keys(Plasma::Six, Some(DisplayServer::Wayland)),
            ["GLPreferBufferSwap", "GLTextureFilter", "WindowsBlockCompositing"]
        );
        assert_eq!(unread_keys(Plasma::Six, Some(DisplayServer::X11)), ["GLTextureFilter"]);
        assert_eq!(unread_keys(Plasma::Six, None), ["GLTextureFilter"]);
        assert!(unread_keys(Plasma::Five, Some(DisplayServer::X11)).is_empty());
        assert_eq!(
            unread_keys(Plasma::Five, Some(DisplayServer::Wayland)),
            ["GLPreferBufferSwap", "WindowsBlockCompositing"]
        );
    }
}
