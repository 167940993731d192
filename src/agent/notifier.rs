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

    fn get_capabilities(&self) -> zbus::Result<Vec<String>>;

    #[zbus(signal)]
    fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

    #[zbus(signal)]
    fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
}

/// The action key of "Open dashboard"; the choices' keys are `Choice::key`.
pub const OPEN_DASHBOARD: &str = "dashboard";

/// What was shown: each alert key's notification id and alert (for its actions).
type Shown = Arc<Mutex<HashMap<AlertKey, (u32, Alert)>>>;

/// An action the user invoked on one of the agent's notifications (ActionInvoked): its key,
/// and the alert the notification showed.
pub struct Invoked {
    pub action_key: String,
    pub alert: Alert,
}

/// Sends notifications from a task of its own, one change after another in order, so the
/// agent's tick never waits for the notification server: plasmashell under load answers in
/// seconds, and an activatable server that cannot start keeps the bus from answering for its
/// activation timeout (25 s in dbus-daemon).
pub struct Notifier {
    changes: tokio::sync::mpsc::UnboundedSender<AlertChange>,
}

impl Notifier {
    /// Starts the notifier's tasks: one sends, one follows the server's signals. The receiver
    /// yields the actions invoked on the agent's notifications.
    pub async fn new(
        connection: &zbus::Connection,
    ) -> zbus::Result<(Notifier, tokio::sync::mpsc::UnboundedReceiver<Invoked>)> {
        let proxy = NotificationsProxy::new(connection).await?;
        let signals = proxy.inner().receive_all_signals().await?;
        let (changes, queue) = tokio::sync::mpsc::unbounded_channel();
        let (invoked, actions) = tokio::sync::mpsc::unbounded_channel();
        let shown = Shown::default();
        tokio::spawn(send_all(proxy, queue, shown.clone()));
        tokio::spawn(follow_server(signals, shown, invoked));
        Ok((Notifier { changes }, actions))
    }

    /// Queues a change; it is sent after those queued before it.
    pub fn apply(&self, change: AlertChange) {
        let _ = self.changes.send(change);
    }
}

/// Follows the server's signals in the order it sent them, until the bus goes. An action
/// invoked on one of the agent's notifications is passed on with its alert, looked up before
/// the NotificationClosed that follows (Plasma closes a notification as soon as one of its
/// actions is invoked) forgets it. A notification the user dismissed or that was closed is
/// forgotten: its actions can no longer be invoked, and its id is not reused. An expired one
/// (reason 1) is kept: Plasma keeps it in its history, where the end of its condition still
/// closes it.
async fn follow_server(
    mut signals: zbus::proxy::SignalStream<'static>,
    shown: Shown,
    invoked: tokio::sync::mpsc::UnboundedSender<Invoked>,
) {
    use futures_util::StreamExt;
    let lock = || shown.lock().expect("the notifier's lock is never poisoned");
    while let Some(message) = signals.next().await {
        if let Some(Ok(args)) = ActionInvoked::from_message(message.clone()).as_ref().map(ActionInvoked::args) {
            let alert = lock().values().find(|(id, _)| *id == args.id).map(|(_, alert)| alert.clone());
            if let Some(alert) = alert {
                let _ = invoked.send(Invoked { action_key: args.action_key.clone(), alert });
            }
        } else if let Some(Ok(args)) = NotificationClosed::from_message(message).as_ref().map(NotificationClosed::args)
        {
            if args.reason != EXPIRED {
                lock().retain(|_, (id, _)| *id != args.id);
            }
        }
    }
}

/// NotificationClosed's reason for a notification that expired (Desktop Notifications spec).
const EXPIRED: u32 = 1;

/// The actions of an alert: "Open dashboard", then its choices (key, label pairs as the
/// Desktop Notifications spec has them); none where the server shows none.
fn actions(alert: &Alert, shown: bool) -> Vec<&'static str> {
    if !shown {
        return Vec::new();
    }
    let choices = alert.choices.iter().flat_map(|c| [c.key(), c.label()]);
    [OPEN_DASHBOARD, "Open dashboard"].into_iter().chain(choices).collect()
}

/// Whether the server shows actions (GetCapabilities lists `actions`); None while it does
/// not answer. Asked before the first notification, not at start: an activatable server that
/// is not running keeps the call waiting for the bus's activation timeout.
async fn server_actions(proxy: &NotificationsProxy<'static>) -> Option<bool> {
    let actions = proxy.get_capabilities().await.ok()?.iter().any(|c| c == "actions");
    if !actions {
        eprintln!("ballast: the notification server shows no actions (GetCapabilities): freeze, give more and stop are in the tray menu");
    }
    Some(actions)
}

/// Of changes queued while the server was busy, the last for each key, in the order of
/// those last changes: a notification updated or closed before it was sent is not sent
/// (plasmashell under load takes longer per notification than a tick, and the queue would
/// otherwise lag behind by minutes).
fn latest_per_key(changes: Vec<AlertChange>) -> Vec<AlertChange> {
    let key = |change: &AlertChange| match change {
        AlertChange::Show(alert) => alert.key.clone(),
        AlertChange::Clear(key) => key.clone(),
    };
    let mut latest: Vec<AlertChange> = Vec::with_capacity(changes.len());
    for change in changes {
        latest.retain(|earlier| key(earlier) != key(&change));
        latest.push(change);
    }
    latest
}

/// The notifier's task: sends the changes as they come, until the agent drops its sender.
async fn send_all(
    proxy: NotificationsProxy<'static>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<AlertChange>,
    shown: Shown,
) {
    let mut sender = Sender { proxy, shown, said_missing: false, capable: None };
    while let Some(first) = queue.recv().await {
        let mut waiting = vec![first];
        while let Ok(change) = queue.try_recv() {
            waiting.push(change);
        }
        for change in latest_per_key(waiting) {
            match change {
                AlertChange::Show(alert) => sender.show(alert).await,
                AlertChange::Clear(key) => sender.close(&key).await,
            }
        }
    }
}

/// The notifier task's state: what is shown, and what it learnt of the server.
struct Sender {
    proxy: NotificationsProxy<'static>,
    shown: Shown,
    /// A failure to reach the server was said (once, until one answers again).
    said_missing: bool,
    /// Whether the server shows actions; None until it answers GetCapabilities.
    capable: Option<bool>,
}

impl Sender {
    /// Shows `alert`, in place of the notification of its key where one is shown.
    async fn show(&mut self, alert: Alert) {
        if self.capable.is_none() {
            self.capable = server_actions(&self.proxy).await;
        }
        let replaces = self.lock().get(&alert.key).map_or(0, |(id, _)| *id);
        let actions = actions(&alert, self.capable.unwrap_or(true));
        let mut hints = HashMap::new();
        hints.insert("urgency", Value::from(alert.urgency as u8));
        hints.insert("desktop-entry", Value::from("io.ballast.Ballast"));
        let sent =
            self.proxy.notify("ballast", replaces, "ballast", &alert.summary, &alert.body, &actions, hints, -1).await;
        match sent {
            Ok(id) => {
                self.said_missing = false;
                self.lock().insert(alert.key.clone(), (id, alert));
            }
            Err(e) if !std::mem::replace(&mut self.said_missing, true) => {
                eprintln!("ballast: no notification server answers ({e}); notifications are skipped until one does")
            }
            Err(_) => {}
        }
    }

    /// Closes the notification of `key`, where one is shown.
    async fn close(&mut self, key: &AlertKey) {
        let id = self.lock().remove(key).map(|(id, _)| id);
        if let Some(id) = id {
            let _ = self.proxy.close_notification(id).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AlertKey, (u32, Alert)>> {
        self.shown.lock().expect("the notifier's lock is never poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::alerts::{frozen_alert, Urgency};
    use crate::agent::command::Choice;

    #[test]
    fn actions_are_key_label_pairs_and_none_without_the_capability() {
        let frozen = frozen_alert("app-x.scope", "X: frozen".into());
        assert_eq!(actions(&frozen, true), ["dashboard", "Open dashboard", "thaw", "Thaw", "stop", "Stop app"]);
        assert!(actions(&frozen, false).is_empty());
        let plain = Alert { choices: Vec::new(), unit: None, urgency: Urgency::Low, ..frozen };
        assert_eq!(actions(&plain, true), ["dashboard", "Open dashboard"]);
        assert!(Choice::ALL.iter().all(|c| Choice::from_key(c.key()) == Some(*c)));
    }

    #[test]
    fn a_backlog_sends_only_the_last_change_of_each_notification() {
        let alert = |unit: &str, body: &str| frozen_alert(unit, body.into());
        let (a, b) = (AlertKey::Frozen("a.scope".into()), AlertKey::Frozen("b.scope".into()));
        let queued = vec![
            AlertChange::Show(alert("a.scope", "first")),
            AlertChange::Show(alert("b.scope", "only")),
            AlertChange::Clear(a.clone()),
            AlertChange::Show(alert("a.scope", "again")),
            AlertChange::Clear(b.clone()),
        ];
        let sent = latest_per_key(queued);
        assert_eq!(sent, [AlertChange::Show(alert("a.scope", "again")), AlertChange::Clear(b)]);
        assert_eq!(latest_per_key(vec![AlertChange::Clear(a.clone())]), [AlertChange::Clear(a)]);
    }
}
