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

    fn get_capabilities(&self) -> zbus::Result<Vec<String>>;

    #[zbus(signal)]
    fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

    #[zbus(signal)]
    fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
}

/// The action key of "Open dashboard"; the choices' keys are `Choice::key`.
pub const OPEN_DASHBOARD: &str = "dashboard";

/// An action the user invoked on one of the agent's notifications (ActionInvoked): its key,
/// and the alert the notification showed.
pub struct Invoked {
    pub action_key: String,
    pub alert: Alert,
}

/// Sends notifications from a task of its own, so the agent's tick never waits for the
/// notification server: plasmashell under load answers in seconds, and an activatable server
/// that cannot start keeps the bus from answering for its activation timeout (25 s in
/// dbus-daemon). Each notification's changes go in order; none waits for the server's answer
/// to another.
pub struct Notifier {
    changes: tokio::sync::mpsc::UnboundedSender<AlertChange>,
    /// Answered when the task has closed what it showed, after the last change.
    closed: tokio::sync::oneshot::Receiver<()>,
}

impl Notifier {
    /// Starts the notifier's task, which sends the changes and follows the server's signals.
    /// The receiver yields the actions invoked on the agent's notifications.
    pub async fn new(
        connection: &zbus::Connection,
    ) -> zbus::Result<(Notifier, tokio::sync::mpsc::UnboundedReceiver<Invoked>)> {
        let proxy = NotificationsProxy::new(connection).await?;
        let signals = proxy.inner().receive_all_signals().await?;
        let (changes, queue) = tokio::sync::mpsc::unbounded_channel();
        let (invoked, actions) = tokio::sync::mpsc::unbounded_channel();
        let server = Server {
            signals,
            shown: Shown::default(),
            invoked,
            calls: Default::default(),
            unanswered: Default::default(),
            late: Default::default(),
        };
        let sender = Sender { proxy, said_missing: false, capable: None };
        let (done, closed) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            send_all(sender, server, queue).await;
            let _ = done.send(());
        });
        Ok((Notifier { changes, closed }, actions))
    }

    /// Queues a change; it is sent after those of its key queued before it.
    pub fn apply(&self, change: AlertChange) {
        let _ = self.changes.send(change);
    }

    /// The agent stops: once the changes queued are sent, the notifications of conditions
    /// are closed, since no one will close them when their condition ends (a restarted agent
    /// does not know their ids); those of events stay. Waits `timeout` at most (at logout the
    /// server may be gone).
    pub async fn close_conditions(self, timeout: std::time::Duration) {
        drop(self.changes);
        let _ = tokio::time::timeout(timeout, self.closed).await;
    }
}

/// A signal of the notification server about one of its notifications (by id).
#[derive(Debug, PartialEq)]
enum ServerSignal {
    /// ActionInvoked: the user pressed the action `key`.
    Invoked { id: u32, key: String },
    /// NotificationClosed, for `reason` (Desktop Notifications spec: 1 expired, 2 dismissed
    /// by the user, 3 closed by CloseNotification, 4 other).
    Closed { id: u32, reason: u32 },
}

impl ServerSignal {
    /// The signal `message` is, where it is one of the two.
    fn from_message(message: zbus::Message) -> Option<ServerSignal> {
        if let Some(signal) = ActionInvoked::from_message(message.clone()) {
            let args = signal.args().ok()?;
            return Some(ServerSignal::Invoked { id: args.id, key: args.action_key });
        }
        let signal = NotificationClosed::from_message(message)?;
        let args = signal.args().ok()?;
        Some(ServerSignal::Closed { id: args.id, reason: args.reason })
    }
}

/// How long a call to the notification server may take: dbus-daemon's own default reply
/// timeout.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

/// What a call the server has not answered within `CALL_TIMEOUT` is said to have met.
fn no_answer() -> String {
    format!("no answer within {} s", CALL_TIMEOUT.as_secs())
}

/// A call to the server, waiting for its answer.
type Pending<R> = std::pin::Pin<Box<dyn std::future::Future<Output = zbus::Result<R>> + Send>>;

/// The id the server answered to a Notify after `CALL_TIMEOUT`, with the alert and the
/// key's change count when it was sent (`Shown::changed`).
struct LateAnswer {
    generation: u64,
    alert: Alert,
    id: u32,
}

/// NotificationClosed's reason for a notification that expired (Desktop Notifications spec).
const EXPIRED: u32 = 1;

/// What is shown: each alert key's notification id and alert (for its actions). It follows
/// the server's signals and the server's answers in the order the server sent them: Plasma
/// gives a Notify that replaces notification N the id N again, even when N was closed just
/// before, so a NotificationClosed of N taken after the answer would forget the new one.
#[derive(Default)]
struct Shown {
    /// The id and alert of each notification the server holds, by key.
    ids: HashMap<AlertKey, (u32, Alert)>,
    /// How many changes (Notify or close) were sent for each key (`Shown::changed`).
    changes: HashMap<AlertKey, u64>,
    /// Events (a limit hit, a kill, an outcome) that expired into the server's history, oldest
    /// first: their ids are kept for an action invoked there, the latest `EXPIRED_EVENTS_KEPT`.
    expired_events: std::collections::VecDeque<(AlertKey, u32)>,
}

/// How many expired events keep their ids: each launch and kill brings a key of its own, so
/// keeping them all would grow the agent over a long session.
const EXPIRED_EVENTS_KEPT: usize = 32;

impl Shown {
    /// Counts a change sent for `key` (a Notify or a close); the count at a Notify tells
    /// whether its late answer is still the latest for the key.
    fn changed(&mut self, key: &AlertKey) -> u64 {
        let generation = self.changes.entry(key.clone()).or_default();
        *generation += 1;
        *generation
    }

    /// Drops the change counts where `none_pending` (no late answer holds one): they are only
    /// read against a late answer's, and would otherwise grow by a key per app launched.
    fn forget_changes(&mut self, none_pending: bool) {
        if none_pending {
            self.changes.clear();
        }
    }

    /// A Notify's answer that came after `CALL_TIMEOUT`: the server did show it. Kept where
    /// no change for its key was sent since; else true: the id is to be closed (except where
    /// it is the key's current id: Plasma gives a replacing Notify the id it replaced).
    fn late(&mut self, answer: LateAnswer) -> bool {
        let LateAnswer { generation, alert, id } = answer;
        if self.changes.get(&alert.key) == Some(&generation) {
            self.showing(id, alert);
            return false;
        }
        self.id(&alert.key) != id
    }

    /// Follows one of the server's signals. An action invoked on one of the agent's
    /// notifications is passed on with its alert, looked up before the NotificationClosed
    /// that follows (Plasma closes a notification as soon as one of its actions is invoked)
    /// forgets it. A notification the user dismissed or that was closed is forgotten: its
    /// actions can no longer be invoked, and its id is not replaced. An expired one (reason 1)
    /// is kept: Plasma keeps it in its history, where the end of its condition still closes it.
    fn follow(&mut self, signal: ServerSignal) -> Option<Invoked> {
        match signal {
            ServerSignal::Invoked { id, key } => {
                let (_, alert) = self.ids.values().find(|(shown, _)| *shown == id)?;
                Some(Invoked { action_key: key, alert: alert.clone() })
            }
            ServerSignal::Closed { id, reason: EXPIRED } => {
                self.expired(id);
                None
            }
            ServerSignal::Closed { id, .. } => {
                self.ids.retain(|_, (shown, _)| *shown != id);
                self.expired_events.retain(|(_, shown)| *shown != id);
                None
            }
        }
    }

    /// The server shows `alert` as notification `id` (on screen again, if it had expired).
    fn showing(&mut self, id: u32, alert: Alert) {
        self.expired_events.retain(|(key, _)| *key != alert.key);
        self.ids.insert(alert.key.clone(), (id, alert));
    }

    /// Notification `id` expired. A condition's stays (the end of its condition closes it in
    /// the history); an event's is queued, and the oldest beyond `EXPIRED_EVENTS_KEPT` are
    /// forgotten.
    fn expired(&mut self, id: u32) {
        let Some(key) = self.ids.iter().find(|(key, (shown, _))| *shown == id && !key.is_condition()).map(|(k, _)| k)
        else {
            return;
        };
        self.expired_events.push_back((key.clone(), id));
        if self.expired_events.len() > EXPIRED_EVENTS_KEPT {
            if let Some((oldest, id)) = self.expired_events.pop_front() {
                self.ids.retain(|key, (shown, _)| *key != oldest || *shown != id);
            }
        }
    }

    /// The id of the notification shown for `key`; 0 (none, in Notify's replaces_id) where
    /// none is.
    fn id(&self, key: &AlertKey) -> u32 {
        self.ids.get(key).map_or(0, |(id, _)| *id)
    }
}

/// The actions of an alert: "Open dashboard", then its choices (key, label pairs as the
/// Desktop Notifications spec has them); none where the server shows none.
fn actions(alert: &Alert, shown: bool) -> Vec<&'static str> {
    if !shown {
        return Vec::new();
    }
    let choices = alert.choices.iter().flat_map(|c| [c.key(), c.label()]);
    [OPEN_DASHBOARD, "Open dashboard"].into_iter().chain(choices).collect()
}

/// Notify's expire_timeout (Desktop Notifications spec: -1 the server's default, 0 never).
/// A condition that offers choices (an app stuck or near its limit, pressure with the largest
/// app, an app frozen) stays on screen until the user chooses, dismisses it, or the condition
/// ends and the agent closes it: Plasma's default hides the popup after 5 s, easily missed
/// before the kill. Events, and alerts shown without actions, take the server's default.
fn expire_timeout(alert: &Alert, with_actions: bool) -> i32 {
    if with_actions && alert.key.is_condition() && !alert.choices.is_empty() {
        0
    } else {
        -1
    }
}

/// Of changes queued while the server was busy, the last for each key, in the order of
/// those last changes: a notification updated or closed before it was sent is not sent
/// (plasmashell under load takes longer per notification than a tick, and the queue would
/// otherwise lag behind by minutes).
fn latest_per_key(changes: Vec<AlertChange>) -> Vec<AlertChange> {
    let mut latest: Vec<AlertChange> = Vec::with_capacity(changes.len());
    for change in changes {
        latest.retain(|earlier| earlier.key() != change.key());
        latest.push(change);
    }
    latest
}

/// The notifier's task: follows the server's signals and answers, and sends the changes as
/// they come, until the agent drops its sender; then closes the conditions it showed.
async fn send_all(
    mut sender: Sender,
    mut server: Server,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<AlertChange>,
) {
    use futures_util::StreamExt;
    // Changes not sent yet: those of a key whose Notify is unanswered wait for its id.
    let mut waiting: Vec<AlertChange> = Vec::new();
    let mut open = true;
    while open || !waiting.is_empty() || !server.calls.is_empty() {
        tokio::select! {
            biased;
            Some(answered) = server.calls.next() => {
                if let Some(answered) = answered {
                    sender.take_answer(answered, &mut server);
                }
            }
            Some(late) = server.late.next() => {
                if let Some(answer) = late {
                    sender.take_late(answer, &mut server);
                }
            }
            Some(message) = server.signals.next() => server.follow(message),
            change = queue.recv(), if open => match change {
                Some(change) => waiting.push(change),
                None => open = false,
            },
        }
        while let Ok(change) = queue.try_recv() {
            waiting.push(change);
        }
        waiting = sender.send_ready(latest_per_key(std::mem::take(&mut waiting)), &mut server).await;
    }
    sender.close_conditions(&mut server);
    while server.calls.next().await.is_some() {}
}

/// A call to the server in flight: a Notify's answer, or None for a call whose answer tells
/// nothing (CloseNotification).
type Call = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Answered>> + Send>>;

/// The server's answer to a Notify of `alert`: its id, its failure, or the call still
/// pending after `CALL_TIMEOUT`.
struct Answered {
    generation: u64,
    alert: Alert,
    answer: Result<zbus::Result<u32>, Pending<u32>>,
}

/// The server's side: its signals, what they leave shown, the calls it has not answered yet,
/// and where invoked actions go.
struct Server {
    signals: zbus::proxy::SignalStream<'static>,
    shown: Shown,
    invoked: tokio::sync::mpsc::UnboundedSender<Invoked>,
    /// Calls sent and not answered yet, each for `CALL_TIMEOUT` at most. Many are in flight
    /// at once: a notification (a choice before the kill) never waits for the server's
    /// answer to another (plasmashell under memory pressure answers in seconds).
    calls: futures_util::stream::FuturesUnordered<Call>,
    /// The keys whose Notify is in `calls`: their next change waits for its id.
    unanswered: std::collections::HashSet<AlertKey>,
    /// Notify calls the server had not answered within `CALL_TIMEOUT`: a late answer still
    /// names a notification shown, which must be kept or closed (`Shown::late`), never lost.
    late: futures_util::stream::FuturesUnordered<
        std::pin::Pin<Box<dyn std::future::Future<Output = Option<LateAnswer>> + Send>>,
    >,
}

impl Server {
    fn follow(&mut self, message: zbus::Message) {
        if let Some(invoked) = ServerSignal::from_message(message).and_then(|signal| self.shown.follow(signal)) {
            let _ = self.invoked.send(invoked);
        }
    }

    /// Follows the signals already read from the bus: those the server sent before an
    /// answer just taken (zbus reads the bus in order, so they are in the stream by the time
    /// the answer is).
    fn follow_queued(&mut self) {
        use futures_util::{FutureExt, StreamExt};
        while let Some(Some(message)) = self.signals.next().now_or_never() {
            self.follow(message);
        }
    }

    /// The answer to `call`, its signals followed meanwhile, or a failure where the server
    /// has not answered within `CALL_TIMEOUT` (the call is left to finish unheard). Only
    /// while no other call is in flight: their answers would be taken out of order.
    async fn answer_alone<R>(&mut self, mut call: Pending<R>) -> zbus::Result<R> {
        use futures_util::StreamExt;
        let deadline = tokio::time::sleep(CALL_TIMEOUT);
        tokio::pin!(deadline);
        let answer = loop {
            tokio::select! {
                biased;
                answer = &mut call => break answer,
                () = &mut deadline => return Err(zbus::Error::Failure(no_answer())),
                Some(message) = self.signals.next() => self.follow(message),
            }
        };
        self.follow_queued();
        answer
    }

    /// Sends `call`, a Notify of `alert` (its key's change `generation`), to be answered in
    /// `calls`.
    fn send_notify(&mut self, generation: u64, alert: Alert, mut call: Pending<u32>) {
        self.unanswered.insert(alert.key.clone());
        self.calls.push(Box::pin(async move {
            let answer = tokio::time::timeout(CALL_TIMEOUT, &mut call).await.map_err(|_| call);
            Some(Answered { generation, alert, answer })
        }));
    }
}

/// The sending side: the server's proxy, and what it learnt of the server.
struct Sender {
    proxy: NotificationsProxy<'static>,
    /// A failure to reach the server was said (once, until one answers again).
    said_missing: bool,
    /// Whether the server shows actions; None until it answers GetCapabilities.
    capable: Option<bool>,
}

impl Sender {
    /// Sends `changes` (one per key) but those whose key waits for a Notify's answer, which
    /// are handed back.
    async fn send_ready(&mut self, changes: Vec<AlertChange>, server: &mut Server) -> Vec<AlertChange> {
        server.shown.forget_changes(server.late.is_empty() && server.calls.is_empty());
        let (waiting, ready): (Vec<_>, Vec<_>) =
            changes.into_iter().partition(|change| server.unanswered.contains(change.key()));
        for change in ready {
            match change {
                AlertChange::Show(alert) => self.show(alert, server).await,
                AlertChange::Clear(key) => self.close(&key, server),
            }
        }
        waiting
    }

    /// Shows `alert`, in place of the notification of its key where one is shown.
    async fn show(&mut self, alert: Alert, server: &mut Server) {
        if self.capable.is_none() && server.calls.is_empty() {
            self.capable = self.server_actions(server).await;
        }
        let actions = actions(&alert, self.capable.unwrap_or(true));
        let mut hints = HashMap::new();
        hints.insert("urgency", Value::from(alert.urgency as u8));
        hints.insert("desktop-entry", Value::from("io.ballast.Ballast"));
        let replaces = server.shown.id(&alert.key);
        let timeout = expire_timeout(&alert, !actions.is_empty());
        let (proxy, summary, body) = (self.proxy.clone(), alert.summary.clone(), alert.body.clone());
        let call = Box::pin(async move {
            proxy.notify("ballast", replaces, "ballast", &summary, &body, &actions, hints, timeout).await
        });
        let generation = server.shown.changed(&alert.key);
        server.send_notify(generation, alert, call);
    }

    /// Follows a Notify's answer (after the signals the server sent before it): the id it
    /// shows, or why not, said once. A call unanswered in `CALL_TIMEOUT` goes on as late, and
    /// its key's next change is sent meanwhile.
    fn take_answer(&mut self, answered: Answered, server: &mut Server) {
        server.follow_queued();
        let Answered { generation, alert, answer } = answered;
        server.unanswered.remove(&alert.key);
        let failure = match answer {
            Ok(Ok(id)) => {
                self.said_missing = false;
                server.shown.showing(id, alert);
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(pending) => {
                let late = async move { Some(LateAnswer { generation, alert, id: pending.await.ok()? }) };
                server.late.push(Box::pin(late));
                no_answer()
            }
        };
        if !std::mem::replace(&mut self.said_missing, true) {
            eprintln!("ballast: no notification server answers ({failure}); notifications are skipped until one does")
        }
    }

    /// Follows a Notify's answer that came after `CALL_TIMEOUT`: its id is kept, or closed
    /// where its alert changed since (`Shown::late`).
    fn take_late(&self, answer: LateAnswer, server: &mut Server) {
        server.follow_queued();
        let id = answer.id;
        let close = server.shown.late(answer);
        let fate = if close { "closed: its alert changed since" } else { "kept" };
        eprintln!(
            "ballast: the notification server answered a Notify after {} s (id {id}); {fate}",
            CALL_TIMEOUT.as_secs()
        );
        if close {
            self.close_id(id, server);
        }
    }

    /// Closes the notification of `key`, where one is shown.
    fn close(&self, key: &AlertKey, server: &mut Server) {
        server.shown.changed(key);
        if let Some((id, _)) = server.shown.ids.remove(key) {
            self.close_id(id, server);
        }
    }

    /// Sends CloseNotification(id); its answer, which tells nothing, is awaited in `calls`
    /// for `CALL_TIMEOUT` at most. A Notify sent after it reaches the server after it (the
    /// bus keeps one connection's messages in order).
    fn close_id(&self, id: u32, server: &mut Server) {
        let proxy = self.proxy.clone();
        server.calls.push(Box::pin(async move {
            let _ = tokio::time::timeout(CALL_TIMEOUT, proxy.close_notification(id)).await;
            None
        }));
    }

    /// Closes the notifications shown of conditions (AlertKey::is_condition).
    fn close_conditions(&self, server: &mut Server) {
        let conditions: Vec<AlertKey> = server.shown.ids.keys().filter(|key| key.is_condition()).cloned().collect();
        for key in conditions {
            self.close(&key, server);
        }
    }

    /// Whether the server shows actions (GetCapabilities lists `actions`); None while it does
    /// not answer. Asked before the first notification, not at start: an activatable server
    /// that is not running keeps the call waiting for the bus's activation timeout.
    async fn server_actions(&self, server: &mut Server) -> Option<bool> {
        let proxy = self.proxy.clone();
        let capabilities = server.answer_alone(Box::pin(async move { proxy.get_capabilities().await })).await.ok()?;
        let actions = capabilities.iter().any(|c| c == "actions");
        if !actions {
            eprintln!("ballast: the notification server shows no actions (GetCapabilities): freeze, give more and stop are in the tray menu");
        }
        Some(actions)
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
    fn a_late_answer_is_kept_when_still_the_latest_else_closed() {
        let key = AlertKey::Frozen("a.scope".into());
        let alert = |body: &str| frozen_alert("a.scope", body.into());
        let mut shown = Shown::default();
        // A Notify unanswered in time, then answered with 7: nothing changed since, kept.
        let generation = shown.changed(&key);
        assert!(!shown.late(LateAnswer { generation, alert: alert("first"), id: 7 }), "kept");
        assert_eq!(shown.id(&key), 7, "kept, so the end of its condition closes it");
        // Unanswered in time, and the condition ended (a close sent) before the answer: the
        // late one is closed.
        let generation = shown.changed(&key);
        shown.ids.remove(&key);
        shown.changed(&key);
        assert!(shown.late(LateAnswer { generation, alert: alert("second"), id: 9 }), "closed");
        assert_eq!(shown.id(&key), 0);
        // Unanswered in time, then a newer Notify answered 11: the late 10 is closed, 11 kept.
        let generation = shown.changed(&key);
        shown.changed(&key);
        shown.ids.insert(key.clone(), (11, alert("newer")));
        assert!(shown.late(LateAnswer { generation, alert: alert("third"), id: 10 }), "closed");
        // Plasma answers a replacing Notify with the id it replaced: that one stays.
        let generation = shown.changed(&key);
        shown.changed(&key);
        assert!(!shown.late(LateAnswer { generation, alert: alert("fourth"), id: 11 }), "kept");
        assert_eq!(shown.id(&key), 11);
    }

    #[test]
    fn change_counts_are_kept_only_while_a_late_answer_may_read_them() {
        let key = AlertKey::Frozen("a.scope".into());
        let mut shown = Shown::default();
        let generation = shown.changed(&key);
        shown.forget_changes(false);
        let alert = frozen_alert("a.scope", "late".into());
        assert!(!shown.late(LateAnswer { generation, alert, id: 7 }), "pending: its count kept");
        shown.forget_changes(true);
        assert!(shown.changes.is_empty(), "none pending: one count per key launched is not kept");
    }

    #[test]
    fn conditions_with_choices_stay_until_chosen_and_the_rest_expire() {
        let frozen = frozen_alert("app-x.scope", "X: frozen".into());
        assert_eq!(expire_timeout(&frozen, true), 0, "stays until thawed, dismissed or closed");
        assert_eq!(expire_timeout(&frozen, false), -1, "nothing to press: the server's default");
        let plain = Alert { choices: Vec::new(), ..frozen.clone() };
        assert_eq!(expire_timeout(&plain, true), -1);
        let kill = Alert { key: AlertKey::Kill("app-x.scope".into()), ..frozen };
        assert_eq!(expire_timeout(&kill, true), -1, "an event is told, not waited on");
    }

    #[test]
    fn signals_and_answers_in_server_order_keep_what_is_open() {
        let (a, b) = (AlertKey::Frozen("a.scope".into()), AlertKey::Frozen("b.scope".into()));
        let mut shown = Shown::default();
        shown.ids.insert(a.clone(), (7, frozen_alert("a.scope", "first".into())));
        shown.ids.insert(b.clone(), (8, frozen_alert("b.scope", "other".into())));
        let invoked = shown.follow(ServerSignal::Invoked { id: 7, key: "thaw".into() });
        assert_eq!(invoked.map(|i| (i.action_key, i.alert.body)), Some(("thaw".into(), "first".into())));
        // Plasma closes 7 when its action is pressed, then answers a Notify replacing 7 with
        // the id 7 again: in this order, the new notification is kept.
        assert!(shown.follow(ServerSignal::Closed { id: 7, reason: 2 }).is_none());
        assert_eq!(shown.id(&a), 0, "closed: not replaced");
        shown.ids.insert(a.clone(), (7, frozen_alert("a.scope", "again".into())));
        assert_eq!((shown.id(&a), shown.id(&b)), (7, 8));
        shown.follow(ServerSignal::Closed { id: 8, reason: EXPIRED });
        assert_eq!(shown.id(&b), 8, "expired: kept in Plasma's history, still closed by the agent");
        assert!(shown.follow(ServerSignal::Invoked { id: 9, key: "thaw".into() }).is_none(), "not ours");
    }

    #[test]
    fn expired_events_keep_only_the_latest_ids_and_conditions_keep_theirs() {
        let kill = |n: u32| AlertKey::Kill(format!("app-{n}.scope"));
        let alert = |key: AlertKey| Alert { key, ..frozen_alert("x.scope", "killed".into()) };
        let frozen = AlertKey::Frozen("a.scope".into());
        let mut shown = Shown::default();
        shown.ids.insert(frozen.clone(), (1, frozen_alert("a.scope", "frozen".into())));
        shown.follow(ServerSignal::Closed { id: 1, reason: EXPIRED });
        let kills = u32::try_from(EXPIRED_EVENTS_KEPT).unwrap() + 5;
        for n in 0..kills {
            shown.showing(100 + n, alert(kill(n)));
            shown.follow(ServerSignal::Closed { id: 100 + n, reason: EXPIRED });
        }
        assert_eq!(shown.ids.len(), EXPIRED_EVENTS_KEPT + 1, "the latest events and the condition");
        assert_eq!(shown.id(&kill(4)), 0, "the oldest forgotten");
        assert_eq!(shown.id(&kill(5)), 105);
        assert_eq!(shown.id(&frozen), 1, "a condition's is kept until the agent closes it");
        let invoked = shown.follow(ServerSignal::Invoked { id: 100 + kills - 1, key: "dashboard".into() });
        assert!(invoked.is_some(), "an action in the history still reaches the agent");
        // Shown again (Plasma reuses the id it replaces): on screen, out of the queue; one
        // cleared from the history: out of both.
        shown.showing(110, alert(kill(10)));
        shown.follow(ServerSignal::Closed { id: 120, reason: 2 });
        assert_eq!(shown.expired_events.len(), EXPIRED_EVENTS_KEPT - 2);
        assert_eq!((shown.id(&kill(10)), shown.id(&kill(20))), (110, 0));
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
