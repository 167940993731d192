//! Desktop notifications over org.freedesktop.Notifications (zbus, on the agent's own
//! connection). One notification per alert key, updated in place through replaces_id.
//!
//! notify-rust is not used: its tokio-capable releases depend on zbus 6 while ksni uses
//! zbus 5, and two zbus versions would double the agent's D-Bus code in memory.

use super::alerts::{Alert, AlertChange, AlertKey};
use std::collections::HashMap;
use zbus::zvariant::Value;

#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications"
)]
pub trait Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[&str],
        hints: HashMap<&str, Value<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;

    fn close_notification(&self, id: u32) -> zbus::Result<()>;

    #[zbus(signal)]
    fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;
}

/// The action keys ballast offers.
pub const OPEN_DASHBOARD: &str = "dashboard";
pub const STOP_APP: &str = "stop";

/// How long a Notify call may take before the notification is given up.
const NOTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Notifier {
    proxy: NotificationsProxy<'static>,
    shown: HashMap<AlertKey, (u32, Alert)>,
    /// Whether "no notification server" was already said (said once, not every tick).
    said_missing: bool,
}

impl Notifier {
    pub async fn new(connection: &zbus::Connection) -> zbus::Result<Notifier> {
        Ok(Notifier { proxy: NotificationsProxy::new(connection).await?, shown: HashMap::new(), said_missing: false })
    }

    pub fn proxy(&self) -> &NotificationsProxy<'static> {
        &self.proxy
    }

    /// The alert a notification id belongs to (for its actions).
    pub fn alert(&self, id: u32) -> Option<&Alert> {
        self.shown.values().find(|(shown, _)| *shown == id).map(|(_, alert)| alert)
    }

    pub async fn apply(&mut self, change: AlertChange) {
        match change {
            AlertChange::Show(alert) => {
                let replaces = self.shown.get(&alert.key).map_or(0, |(id, _)| *id);
                let mut actions = vec![OPEN_DASHBOARD, "Open dashboard"];
                if alert.stop_unit.is_some() {
                    actions.extend([STOP_APP, "Stop app"]);
                }
                let mut hints = HashMap::new();
                hints.insert("urgency", Value::from(alert.urgency as u8));
                hints.insert("desktop-entry", Value::from("io.ballast.Ballast"));
                let notify = self.proxy.notify("ballast", replaces, "ballast", &alert.summary, &alert.body, &actions, hints, -1);
                // A server that is only D-Bus-activatable and cannot start (no display) keeps
                // the bus from answering for its activation timeout (25 s in dbus-daemon): the
                // agent's tick does not wait for that.
                match tokio::time::timeout(NOTIFY_TIMEOUT, notify).await.unwrap_or_else(|_| Err(zbus::Error::Failure(format!("no answer in {} s", NOTIFY_TIMEOUT.as_secs())))) {
                    Ok(id) => {
                        self.said_missing = false;
                        self.shown.insert(alert.key.clone(), (id, alert));
                    }
                    Err(e) if !self.said_missing => {
                        self.said_missing = true;
                        eprintln!("ballast: no notification server answers ({e}); notifications are skipped until one does");
                    }
                    Err(_) => {}
                }
            }
            AlertChange::Clear(key) => {
                if let Some((id, _)) = self.shown.remove(&key) {
                    let _ = tokio::time::timeout(NOTIFY_TIMEOUT, self.proxy.close_notification(id)).await;
                }
            }
        }
    }
}
