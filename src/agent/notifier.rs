//! Desktop notifications over org.freedesktop.Notifications (zbus, on the agent's own
//! connection). One notification per alert key, updated in place through replaces_id.
//!
//! notify-rust is not used: its tokio-capable releases depend on zbus 6 while ksni uses
//! zbus 5, and two zbus versions would double the agent's D-Bus code in memory.

use super::alerts::{Alert, AlertChange, AlertKey};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// What was shown: each alert key's notification id and alert (for its actions).
type Shown = Arc<Mutex<HashMap<AlertKey, (u32, Alert)>>>;

/// Sends notifications from a task of its own, one change after another in order, so the
/// agent's tick never waits for the notification server: plasmashell under load answers in
/// seconds, and an activatable server that cannot start keeps the bus from answering for its
/// activation timeout (25 s in dbus-daemon).
pub struct Notifier {
    proxy: NotificationsProxy<'static>,
    changes: tokio::sync::mpsc::UnboundedSender<AlertChange>,
    shown: Shown,
}

impl Notifier {
    pub async fn new(connection: &zbus::Connection) -> zbus::Result<Notifier> {
        let proxy = NotificationsProxy::new(connection).await?;
        let (changes, queue) = tokio::sync::mpsc::unbounded_channel();
        let shown = Shown::default();
        tokio::spawn(send_all(proxy.clone(), queue, shown.clone()));
        Ok(Notifier { proxy, changes, shown })
    }

    pub fn proxy(&self) -> &NotificationsProxy<'static> {
        &self.proxy
    }

    /// The alert a notification id belongs to (for its actions).
    pub fn alert(&self, id: u32) -> Option<Alert> {
        let shown = self.shown.lock().expect("the notifier's lock is never poisoned");
        shown.values().find(|(shown, _)| *shown == id).map(|(_, alert)| alert.clone())
    }

    /// Queues a change; it is sent after those queued before it.
    pub fn apply(&self, change: AlertChange) {
        let _ = self.changes.send(change);
    }
}

/// The notifier's task: sends each change as it comes, until the agent drops its sender.
async fn send_all(
    proxy: NotificationsProxy<'static>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<AlertChange>,
    shown: Shown,
) {
    let mut said_missing = false;
    while let Some(change) = queue.recv().await {
        match change {
            AlertChange::Show(alert) => {
                let replaces = shown
                    .lock()
                    .expect("the notifier's lock is never poisoned")
                    .get(&alert.key)
                    .map_or(0, |(id, _)| *id);
                let mut actions = vec![OPEN_DASHBOARD, "Open dashboard"];
                if alert.stop_unit.is_some() {
                    actions.extend([STOP_APP, "Stop app"]);
                }
                let mut hints = HashMap::new();
                hints.insert("urgency", Value::from(alert.urgency as u8));
                hints.insert("desktop-entry", Value::from("io.ballast.Ballast"));
                match proxy
                    .notify("ballast", replaces, "ballast", &alert.summary, &alert.body, &actions, hints, -1)
                    .await
                {
                    Ok(id) => {
                        said_missing = false;
                        shown
                            .lock()
                            .expect("the notifier's lock is never poisoned")
                            .insert(alert.key.clone(), (id, alert));
                    }
                    Err(e) if !std::mem::replace(&mut said_missing, true) => eprintln!(
                        "ballast: no notification server answers ({e}); notifications are skipped until one does"
                    ),
                    Err(_) => {}
                }
            }
            AlertChange::Clear(key) => {
                let id = shown.lock().expect("the notifier's lock is never poisoned").remove(&key).map(|(id, _)| id);
                if let Some(id) = id {
                    let _ = proxy.close_notification(id).await;
                }
            }
        }
    }
}
