//! Desktop notifications as `dbus-monitor` prints them (dbus 1.16, the guest's): the
//! org.freedesktop.Notifications calls a program made, with the ids the server answered, and
//! the actions the server said were invoked.
//!
//! dbus-monitor prints one block per message, its header at column 0 (`method call ...
//! serial=N ... member=Notify`, `method return ... reply_serial=N`) and each top-level argument
//! on its own line indented by three spaces (`   string "..."`, `   uint32 7`); nested values
//! are indented further.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One Notify call (freedesktop Desktop Notifications spec 1.2, "Notify").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub summary: String,
    pub body: String,
    /// replaces_id: 0 for a new notification, else the one it updates.
    pub replaces: u32,
    /// The id the server answered with; None when no answer was seen.
    pub id: Option<u32>,
    /// The actions: key, label, key, label...
    pub actions: Vec<String>,
    /// expire_timeout in ms: -1 the server's default, 0 never.
    pub expire_timeout: i32,
    /// When dbus-monitor saw the call (its header's `time=`, seconds since the Unix epoch
    /// with µs): the bus delivered it by then.
    pub sent: Option<SystemTime>,
}

struct Block<'a> {
    header: &'a str,
    /// Top-level arguments: (type, value as printed: strings in their quotes, over several
    /// lines where the string has newlines).
    args: Vec<(&'a str, &'a str)>,
    /// The strings of the first top-level array (`   array [` ... `   ]`), in order.
    first_array: Vec<&'a str>,
}

impl<'a> Block<'a> {
    fn field(&self, name: &str) -> Option<&str> {
        self.header.split([' ', ';']).find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
    }

    /// The values of the top-level arguments of type `kind`, strings without their quotes.
    fn values(&self, kind: &str) -> Vec<&'a str> {
        let unquoted = |v: &'a str| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        self.args.iter().filter(|(k, _)| *k == kind).map(|(_, v)| unquoted(v)).collect()
    }

    /// The header's `time=`: seconds.microseconds since the Unix epoch.
    fn time(&self) -> Option<SystemTime> {
        let (seconds, micros) = self.field("time")?.split_once('.')?;
        let since_epoch = Duration::from_secs(seconds.parse().ok()?) + Duration::from_micros(micros.parse().ok()?);
        Some(UNIX_EPOCH + since_epoch)
    }

    fn is_call(&self, member: &str) -> bool {
        self.header.starts_with("method call ") && self.field("member") == Some(member)
    }
}

/// Whether `line` begins a message: dbus-monitor prints a string's newlines as they are, so
/// an unindented line may also go on the string above it.
fn is_header(line: &str) -> bool {
    ["method call ", "method return ", "signal ", "error "].iter().any(|kind| line.starts_with(kind))
}

fn blocks(log: &str) -> Vec<Block<'_>> {
    let offset = |part: &str| part.as_ptr() as usize - log.as_ptr() as usize;
    let mut blocks: Vec<Block> = Vec::new();
    for line in log.lines() {
        if is_header(line) {
            blocks.push(Block { header: line, args: Vec::new(), first_array: Vec::new() });
        } else if !line.starts_with(' ') {
            // The rest of the last top-level string: its value runs on to this line's end.
            if let Some((_, value)) = blocks.last_mut().and_then(|b| b.args.last_mut()) {
                *value = &log[offset(value)..offset(line) + line.len()];
            }
        } else if let (Some(block), Some(item)) = (blocks.last_mut(), line.strip_prefix("      string ")) {
            // Arrays are the only nested values before the first array's end.
            if block.args.iter().filter(|(k, _)| *k == "array").count() == 1
                && block.args.last().is_some_and(|(k, _)| *k == "array")
            {
                block.first_array.push(item.trim_matches('"'));
            }
        } else if let (Some(block), Some(arg)) =
            (blocks.last_mut(), line.strip_prefix("   ").filter(|a| !a.starts_with(' ')))
        {
            block.args.push(arg.split_once(' ').unwrap_or((arg, &arg[arg.len()..])));
        }
    }
    blocks
}

/// Every Notify call in the log, in order, with the server's answer.
pub fn notifications(log: &str) -> Vec<Notification> {
    let blocks = blocks(log);
    let answer = |call: &Block| {
        let (serial, sender) = (call.field("serial")?, call.field("sender")?);
        let reply = blocks.iter().find(|b| {
            b.header.starts_with("method return ")
                && b.field("reply_serial") == Some(serial)
                && b.field("destination") == Some(sender)
        })?;
        reply.values("uint32").first()?.parse().ok()
    };
    blocks
        .iter()
        .filter(|b| b.is_call("Notify"))
        .filter_map(|call| {
            // app_name, app_icon, summary, body are the top-level strings, in that order.
            let strings: Vec<&str> = call.values("string");
            let [_, _, summary, body, ..] = strings[..] else { return None };
            Some(Notification {
                summary: summary.to_owned(),
                body: body.to_owned(),
                replaces: call.values("uint32").first()?.parse().ok()?,
                id: answer(call),
                actions: call.first_array.iter().map(|a| a.to_string()).collect(),
                // Notify's only int32 argument.
                expire_timeout: call.values("int32").first()?.parse().ok()?,
                sent: call.time(),
            })
        })
        .collect()
}

/// The ids in every CloseNotification call in the log.
pub fn closed(log: &str) -> Vec<u32> {
    blocks(log)
        .iter()
        .filter(|b| b.is_call("CloseNotification"))
        .filter_map(|b| b.values("uint32").first()?.parse().ok())
        .collect()
}

/// Every NotificationClosed signal in the log (the server's, for whatever reason it closed
/// one): (notification id, reason: 1 expired, 2 dismissed by the user, 3 closed by a
/// CloseNotification call, 4 undefined; Desktop Notifications spec 1.2).
pub fn server_closed(log: &str) -> Vec<(u32, u32)> {
    blocks(log)
        .iter()
        .filter(|b| b.header.starts_with("signal ") && b.field("member") == Some("NotificationClosed"))
        .filter_map(|b| match b.values("uint32")[..] {
            [id, reason, ..] => Some((id.parse().ok()?, reason.parse().ok()?)),
            _ => None,
        })
        .collect()
}

/// Every ActionInvoked signal in the log (the server's, when the user pressed an action):
/// (notification id, action key).
pub fn invoked(log: &str) -> Vec<(u32, String)> {
    blocks(log)
        .iter()
        .filter(|b| b.header.starts_with("signal ") && b.field("member") == Some("ActionInvoked"))
        .filter_map(|b| Some((b.values("uint32").first()?.parse().ok()?, b.values("string").first()?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dbus-monitor in the guest while the agent raised a breach of a tiny total budget (and
    /// the stock session's Plasma breach), then closed the first when the budget was raised:
    /// the Notifications calls and their answers, cut from the whole log.
    const LOG: &str = include_str!("../fixtures/notifications.dbus-monitor");

    #[test]
    fn notify_calls_with_the_servers_answers() {
        let all = notifications(LOG);
        let seen: Vec<(&str, u32, Option<u32>)> = all.iter().map(|n| (n.summary.as_str(), n.replaces, n.id)).collect();
        assert_eq!(seen, [("Total memory over budget", 0, Some(2)), ("Plasma desktop over budget", 0, Some(3))]);
        assert_eq!(all[0].body, "Total memory uses 1017M, above its 100M target (idle state)");
        assert_eq!(all[0].actions, ["dashboard", "Open dashboard"]);
        let sent = all[0].sent.expect("dbus-monitor's time=").duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(sent, Duration::from_micros(1_796_053_868_956_086));
        assert_eq!(closed(LOG), [2]);
        assert!(all.iter().all(|n| n.expire_timeout == -1), "the server's default");
        let never = LOG.replace("   int32 -1", "   int32 0");
        assert!(notifications(&never).iter().all(|n| n.expire_timeout == 0));
    }

    /// notify-send in the guest with one action, pressed on plasmashell's popup through
    /// AT-SPI (testbed-press): the calls, their answers, plasmashell's ActionInvoked (sent to
    /// no one in particular) and notify-send closing it, cut from the whole log.
    const PRESSED: &str = include_str!("../fixtures/action-invoked.dbus-monitor");

    #[test]
    fn the_action_plasmashell_said_was_invoked() {
        let pressed = notifications(PRESSED);
        assert_eq!(pressed.iter().map(|n| (n.summary.as_str(), n.id)).collect::<Vec<_>>(), [("Capture", Some(53))]);
        assert_eq!(invoked(PRESSED), [(53, "freeze".to_owned())]);
        assert_eq!(closed(PRESSED), [53]);
        assert!(invoked(LOG).is_empty());
    }

    /// notify-send in the guest, then CloseNotification from another connection (busctl):
    /// plasmashell's NotificationClosed with reason 3, cut from the whole log.
    const CLOSED: &str = include_str!("../fixtures/notification-closed.dbus-monitor");

    #[test]
    fn the_servers_closing_with_its_reason() {
        assert_eq!(notifications(CLOSED).iter().map(|n| n.id).collect::<Vec<_>>(), [Some(10)]);
        assert_eq!(closed(CLOSED), [10]);
        assert_eq!(server_closed(CLOSED), [(10, 3)]);
        assert!(server_closed(LOG).is_empty() && server_closed(PRESSED).is_empty());
    }

    /// The agent's two Notify calls while dunst was stopped (tests/agent_live.rs), from
    /// dbus-monitor 1.14 on this host: the config error's body has a newline, printed as is.
    const MULTILINE: &str = include_str!("../fixtures/multiline-body.dbus-monitor");

    #[test]
    fn a_body_with_a_newline_stays_whole() {
        let all = notifications(MULTILINE);
        let summaries: Vec<&str> = all.iter().map(|n| n.summary.as_str()).collect();
        assert_eq!(summaries, ["Total memory over budget", "ballast: config not loaded"]);
        let body = &all[1].body;
        assert!(
            body.starts_with("/tmp/") && body.ends_with("found \"lots\"\nThe previous settings stay in use."),
            "{body:?}"
        );
        assert_eq!((all[1].actions.len(), all[1].expire_timeout), (2, -1));
        let apart = all[1].sent.unwrap().duration_since(all[0].sent.unwrap()).unwrap();
        assert_eq!(apart, Duration::from_micros(1_002_116));
    }

    #[test]
    fn an_answer_goes_to_the_caller_only() {
        // The same reply serial answered to another connection is not this call's id.
        let elsewhere = LOG.replace("destination=:1.157 serial=383", "destination=:1.99 serial=383");
        assert_eq!(notifications(&elsewhere)[0].id, None);
        let cut = &LOG[..LOG.find("method return").unwrap()];
        assert_eq!(notifications(cut)[0].id, None);
        assert!(closed(cut).is_empty());
    }
}
