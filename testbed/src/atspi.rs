//! Pressing a button of a running app through AT-SPI, as a screen reader does: the app's own
//! toolkit (Qt's AT-SPI bridge) carries the press out, exactly as a click on the button would.
//! The real-desktop suite presses the actions of plasmashell's notification popups with it
//! (`testbed-press`, run in the guest), so the agent sees the ActionInvoked that plasmashell
//! itself emits.
//!
//! The interfaces are at-spi2-core's (xml/Accessible.xml, Action.xml, Bus.xml). The AT-SPI bus
//! is found through org.a11y.Bus on the session bus; setting org.a11y.Status.IsEnabled asks
//! the toolkits to export their trees.

use std::time::{Duration, Instant};
use zbus::proxy::CacheProperties;
use zbus::zvariant::OwnedObjectPath;

#[zbus::proxy(interface = "org.a11y.Bus", default_service = "org.a11y.Bus", default_path = "/org/a11y/bus")]
trait Bus {
    fn get_address(&self) -> zbus::Result<String>;
}

#[zbus::proxy(interface = "org.a11y.Status", default_service = "org.a11y.Bus", default_path = "/org/a11y/bus")]
trait Status {
    #[zbus(property)]
    fn is_enabled(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn set_is_enabled(&self, enabled: bool) -> zbus::Result<()>;
}

#[zbus::proxy(interface = "org.a11y.atspi.Accessible")]
trait Accessible {
    fn get_children(&self) -> zbus::Result<Vec<(String, OwnedObjectPath)>>;
    fn get_role_name(&self) -> zbus::Result<String>;
    fn get_state(&self) -> zbus::Result<Vec<u32>>;
    #[zbus(property)]
    fn name(&self) -> zbus::Result<String>;
}

#[zbus::proxy(interface = "org.a11y.atspi.Action")]
trait Action {
    /// (name, localized name, key binding) of each action, in index order.
    fn get_actions(&self) -> zbus::Result<Vec<(String, String, String)>>;
    fn do_action(&self, index: i32) -> zbus::Result<bool>;
}

/// The AT-SPI registry's root: its children are the applications.
const REGISTRY: (&str, &str) = ("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root");
/// AtspiStateType's SHOWING and VISIBLE (at-spi2-core atspi-constants.h): bits of GetState's
/// two 32-bit words.
const SHOWING: u32 = 25;
const VISIBLE: u32 = 30;
/// A bound on the nodes walked in one look, against a tree that keeps growing.
const MOST_NODES: usize = 20_000;

/// Where pressing failed.
#[derive(Debug, thiserror::Error)]
pub enum AtspiError {
    #[error("AT-SPI (org.a11y.Bus on the session bus, then the AT-SPI bus): {0}")]
    Bus(#[from] zbus::Error),
    #[error("no shown push button {label:?} in {app} within {seconds} s; its buttons: {seen:?}")]
    NotFound { app: String, label: String, seconds: u64, seen: Vec<String> },
    #[error("{label:?} in {app} refused to be pressed (DoAction answered false)")]
    Refused { app: String, label: String },
}

/// An object on the AT-SPI bus: its owner's bus name and its path.
type Node = (String, OwnedObjectPath);

/// Enables accessibility, waits (at most `timeout`) until `app` (the application's
/// accessible name, e.g. "plasmashell") shows a push button named `label`, and presses it.
pub async fn press(app: &str, label: &str, timeout: Duration) -> Result<(), AtspiError> {
    let session = zbus::Connection::session().await?;
    StatusProxy::new(&session).await?.set_is_enabled(true).await?;
    let address = BusProxy::new(&session).await?.get_address().await?;
    let bus = zbus::connection::Builder::address(address.as_str())?.build().await?;
    let started = Instant::now();
    loop {
        let (found, seen) = find_button(&bus, app, label).await?;
        if let Some(button) = found {
            let refused = || AtspiError::Refused { app: app.to_owned(), label: label.to_owned() };
            return invoke_press(&bus, &button).await?.then_some(()).ok_or_else(refused);
        }
        if started.elapsed() >= timeout {
            let (app, label, seconds) = (app.to_owned(), label.to_owned(), timeout.as_secs());
            return Err(AtspiError::NotFound { app, label, seconds, seen });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A proxy of interface `P` for `node`, reading properties when asked (no cache: a tree walk
/// touches each node once).
async fn object<'a, P>(bus: &zbus::Connection, (owner, path): &'a Node) -> zbus::Result<P>
where
    P: From<zbus::Proxy<'a>> + zbus::proxy::Defaults,
{
    zbus::proxy::Builder::<P>::new(bus)
        .destination(owner.as_str())?
        .path(path.as_ref())?
        .cache_properties(CacheProperties::No)
        .build()
        .await
}

async fn accessible<'a>(bus: &zbus::Connection, node: &'a Node) -> zbus::Result<AccessibleProxy<'a>> {
    object(bus, node).await
}

/// The shown push button named `label` in `app`'s tree, if any, and the names of the push
/// buttons seen, hidden ones marked (for the error). Nodes that vanish while walked (a popup closing) are skipped.
async fn find_button(bus: &zbus::Connection, app: &str, label: &str) -> zbus::Result<(Option<Node>, Vec<String>)> {
    let root = (REGISTRY.0.to_owned(), OwnedObjectPath::try_from(REGISTRY.1)?);
    let mut stack = Vec::new();
    for child in accessible(bus, &root).await?.get_children().await? {
        if accessible(bus, &child).await?.name().await.is_ok_and(|name| name == app) {
            stack.push(child);
        }
    }
    let (mut seen, mut walked) = (Vec::new(), 0);
    while let Some(node) = stack.pop() {
        walked += 1;
        if walked > MOST_NODES {
            break;
        }
        let Ok(proxy) = accessible(bus, &node).await else { continue };
        if proxy.get_role_name().await.is_ok_and(|role| role == "push button") {
            let name = proxy.name().await.unwrap_or_default();
            let on_screen = proxy.get_state().await.is_ok_and(|state| shown(&state));
            if name == label && on_screen {
                return Ok((Some(node), seen));
            }
            seen.push(if on_screen { name } else { format!("{name} (hidden)") });
        }
        stack.extend(proxy.get_children().await.unwrap_or_default());
    }
    Ok((None, seen))
}

/// Whether GetState's words say SHOWING and VISIBLE.
fn shown(state: &[u32]) -> bool {
    [SHOWING, VISIBLE].iter().all(|bit| state.get(*bit as usize / 32).is_some_and(|word| word >> (bit % 32) & 1 == 1))
}

/// Invokes the button's "Press" action (Qt names it so: QAccessibleActionInterface::pressAction).
async fn invoke_press(bus: &zbus::Connection, node: &Node) -> zbus::Result<bool> {
    let action: ActionProxy = object(bus, node).await?;
    let names = action.get_actions().await?;
    let index = press_index(&names);
    action.do_action(index).await
}

/// The index of the action named "Press"; the first action where none is.
fn press_index(actions: &[(String, String, String)]) -> i32 {
    actions.iter().position(|(name, _, _)| name == "Press").and_then(|i| i32::try_from(i).ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_needs_both_showing_and_visible() {
        // ENABLED, FOCUSABLE, SENSITIVE, SHOWING, VISIBLE: a button on screen.
        let on_screen = (1 << 8) | (1 << 11) | (1 << 24) | (1 << SHOWING) | (1 << VISIBLE);
        assert!(shown(&[on_screen, 0]));
        assert!(!shown(&[on_screen & !(1 << SHOWING), 0]));
        assert!(!shown(&[on_screen & !(1 << VISIBLE), 0]));
        assert!(!shown(&[]));
    }

    #[test]
    fn press_is_found_by_name_else_the_first_action() {
        let action = |name: &str| (name.to_owned(), String::new(), String::new());
        assert_eq!(press_index(&[action("SetFocus"), action("Press")]), 1);
        assert_eq!(press_index(&[action("Toggle")]), 0);
    }
}
