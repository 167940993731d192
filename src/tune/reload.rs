//! Telling running programs about changed files: the org.kde.kconfig.notify signal that
//! KConfig itself emits, KWin's reconfigure and Baloo's updateConfig.

use crate::kconfig::ChangedKeys;
use std::collections::HashMap;

/// What became of each notification, in words, for the user.
pub type Outcome = Vec<String>;

/// Sends ConfigChanged for exactly the changed keys of each file, then asks KWin and
/// Baloo to reread what concerns them, and has KWin load or unload `effects` (name, load).
/// A program that is not running is not an error.
pub async fn tell_programs(
    connection: &zbus::Connection,
    changes: &[(&str, ChangedKeys)],
    effects: &[(String, bool)],
) -> Outcome {
    let mut outcome = Vec::new();
    for (file, keys) in changes.iter().filter(|(_, keys)| !keys.is_empty()) {
        // a{saay}: group (nested groups joined by \x1d) -> changed key names as bytes.
        let body: HashMap<String, Vec<Vec<u8>>> = keys
            .iter()
            .map(|(group, keys)| (String::from_utf8_lossy(group).into_owned(), keys.iter().cloned().collect()))
            .collect();
        let path = format!("/{file}");
        match connection
            .emit_signal(None::<&str>, path.as_str(), "org.kde.kconfig.notify", "ConfigChanged", &(body,))
            .await
        {
            Ok(()) => outcome.push(format!(
                "{file}: ConfigChanged sent for {} key(s)",
                keys.values().map(|k| k.len()).sum::<usize>()
            )),
            Err(e) => outcome.push(format!("{file}: could not send ConfigChanged: {e}")),
        }
    }
    let changed = |name: &str| changes.iter().any(|(file, keys)| *file == name && !keys.is_empty());
    if changed("kwinrc") {
        if has_owner(connection, "org.kde.KWin").await {
            outcome.push(match reconfigure_kwin(connection).await {
                Ok(()) => "KWin: reconfigure sent (the compositor restarts: a short flicker)".to_owned(),
                Err(e) => format!("KWin: reconfigure failed: {e}"),
            });
            if !effects.is_empty() {
                outcome.push(switch_effects(connection, effects).await);
            }
        } else {
            outcome.push("KWin is not running: it reads the new settings when it starts".to_owned());
        }
    }
    if changed("baloofilerc") {
        outcome.push(if has_owner(connection, "org.kde.baloo").await {
            match connection
                .call_method(Some("org.kde.baloo"), "/", Some("org.kde.baloo.main"), "updateConfig", &())
                .await
            {
                Ok(_) => "Baloo: updateConfig done".to_owned(),
                Err(e) => format!("Baloo: updateConfig failed: {e}"),
            }
        } else {
            "Baloo is not running: it reads the new settings when it starts".to_owned()
        });
    }
    outcome
}

/// org.kde.kwin.Effects loadEffect / unloadEffect for each effect; one line for the user.
async fn switch_effects(connection: &zbus::Connection, effects: &[(String, bool)]) -> String {
    let mut done = Vec::new();
    for (effect, load) in effects {
        let method = if *load { "loadEffect" } else { "unloadEffect" };
        let reply = connection
            .call_method(Some("org.kde.KWin"), "/Effects", Some("org.kde.kwin.Effects"), method, &(effect.as_str(),))
            .await;
        done.push(match (reply, load) {
            (Ok(_), true) => format!("loaded {effect}"),
            (Ok(_), false) => format!("unloaded {effect}"),
            (Err(e), _) => format!("could not {method} {effect}: {e}"),
        });
    }
    format!("KWin effects: {}", done.join(", "))
}

/// KWin's loaded effects (org.kde.kwin.Effects loadedEffects), or None when KWin does not
/// answer.
pub async fn loaded_effects(connection: &zbus::Connection) -> Option<Vec<String>> {
    let reply = connection
        .call_method(
            Some("org.kde.KWin"),
            "/Effects",
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.kde.kwin.Effects", "loadedEffects"),
        )
        .await
        .ok()?;
    Vec::<String>::try_from(reply.body().deserialize::<zbus::zvariant::OwnedValue>().ok()?).ok()
}

/// Whether `name` has an owner on the bus (the program runs); false when the bus does not answer.
pub async fn has_owner(connection: &zbus::Connection, name: &str) -> bool {
    let Ok(dbus) = zbus::fdo::DBusProxy::new(connection).await else { return false };
    let Ok(name) = zbus::names::BusName::try_from(name) else { return false };
    dbus.name_has_owner(name).await.unwrap_or(false)
}

/// KWin's reconfigure is declared Q_NOREPLY: send it without waiting for an answer.
async fn reconfigure_kwin(connection: &zbus::Connection) -> zbus::Result<()> {
    let message = zbus::Message::method_call("/KWin", "reconfigure")?
        .destination("org.kde.KWin")?
        .interface("org.kde.KWin")?
        .with_flags(zbus::message::Flags::NoReplyExpected)?
        .build(&())?;
    connection.send(&message).await
}

/// KWin's supportInformation text, or None when KWin does not answer on `connection`.
pub async fn kwin_support_information(connection: &zbus::Connection) -> Option<String> {
    let reply = connection
        .call_method(Some("org.kde.KWin"), "/KWin", Some("org.kde.KWin"), "supportInformation", &())
        .await
        .ok()?;
    reply.body().deserialize().ok()
}

/// What the running programs say of the tuned settings (`tune --status`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Live {
    /// Baloo's scheduler state; None when Baloo does not answer.
    pub baloo_state: Option<String>,
    /// None when KWin is not on the bus.
    pub kwin: Option<KwinLive>,
}

/// KWin's live state (`tune --status`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KwinLive {
    /// The effects KWin has loaded (org.kde.kwin.Effects loadedEffects).
    pub loaded_effects: Vec<String>,
    /// The lines of supportInformation about the tuned settings, as KWin prints them.
    pub support_information: Vec<String>,
}

/// The supportInformation lines that show the tuned settings' live values.
const LIVE_KEYS: [&str; 4] = ["glSmoothScale:", "glPreferBufferSwap:", "windowsBlockCompositing:", "compositingMode:"];

/// Asks KWin and Baloo on `connection` for their live state.
pub async fn live(connection: &zbus::Connection) -> Live {
    let kwin = match kwin_support_information(connection).await {
        Some(information) => Some(KwinLive {
            loaded_effects: loaded_effects(connection).await.unwrap_or_default(),
            support_information: information
                .lines()
                .map(str::trim)
                .filter(|l| LIVE_KEYS.iter().any(|k| l.starts_with(k)))
                .map(str::to_owned)
                .collect(),
        }),
        None => None,
    };
    Live { baloo_state: baloo_state(connection).await, kwin }
}

/// Baloo's scheduler state (baloo's IndexerState), or None when Baloo does not answer.
pub async fn baloo_state(connection: &zbus::Connection) -> Option<String> {
    const STATES: [&str; 11] = [
        "idle",
        "suspended",
        "first run",
        "new files",
        "modified files",
        "extended attributes",
        "content indexing",
        "unindexed file check",
        "stale index cleanup",
        "low-power idle",
        "starting",
    ];
    let reply = connection
        .call_method(
            Some("org.kde.baloo"),
            "/scheduler",
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.kde.baloo.scheduler", "state"),
        )
        .await
        .ok()?;
    let state = i32::try_from(reply.body().deserialize::<zbus::zvariant::OwnedValue>().ok()?).ok()?;
    Some(
        usize::try_from(state)
            .ok()
            .and_then(|i| STATES.get(i))
            .map_or(format!("state {state}"), |name| (*name).to_owned()),
    )
}
