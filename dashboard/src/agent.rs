//! The agent client: its own thread with a tokio runtime, so no D-Bus call ever blocks the
//! window. It follows io.ballast.Agent1 (a refresh every sampling tick and on ReportChanged),
//! runs the window's requests, and posts what it learns back as `Update`s. Without an agent
//! it says so and tries again every 2 s.

use crate::report::{AppLimits, CatalogApp, DoctorCheck, Measurement};
use crate::view::{self, Trends, View};
use ballast::agent::api::{self, Agent1Proxy, ApiError, HISTORY_SECONDS};
use ballast::agent::command::Choice;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

/// How often the window refreshes, and how often it looks for a missing agent.
const REFRESH: Duration = Duration::from_secs(2);
/// The catalog changes rarely (an app installed meanwhile): asked for this often.
const CATALOG_REFRESH: Duration = Duration::from_secs(30);
/// The newest events of the log the window lists.
const EVENTS_SHOWN: u32 = 20;

#[derive(Debug)]
pub enum Request {
    Launch(String),
    /// Freeze, Thaw, Give it more or Stop an app unit.
    Choose(Choice, String),
    Tune {
        target: String,
        action: String,
    },
    Doctor,
}

pub enum Update {
    /// state: "connecting", "live", "absent" or "fixture".
    Agent {
        state: &'static str,
        message: String,
    },
    View(Box<View>),
    Doctor(Result<Vec<DoctorCheck>, String>),
    Tune(Result<String, String>),
    /// The answer to a Launch or a choice.
    Action(String),
}

pub type Requests = mpsc::UnboundedSender<Request>;
type Post = Arc<dyn Fn(Update) + Send + Sync>;

/// Starts the client thread; `post` is called on that thread with each update.
pub fn spawn(post: impl Fn(Update) + Send + Sync + 'static) -> Requests {
    let (requests, incoming) = mpsc::unbounded_channel();
    let post: Post = Arc::new(post);
    std::thread::Builder::new()
        .name("agent-client".into())
        .spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
            runtime.block_on(follow_forever(post, incoming));
        })
        .expect("a thread starts");
    requests
}

async fn follow_forever(post: Post, mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut bus: Option<zbus::Connection> = None;
    let mut trends = Trends::default();
    loop {
        let reason = match &bus {
            Some(connection) => follow(connection, &post, &mut requests, &mut trends).await,
            None => match zbus::Connection::session().await {
                Ok(connection) => {
                    bus = Some(connection);
                    continue;
                }
                Err(e) => Lost::Bus(format!("There is no session bus ({e}).")),
            },
        };
        let message = match reason {
            Lost::WindowClosed => return,
            Lost::Agent(message) => message,
            Lost::Bus(message) => {
                bus = None;
                message
            }
        };
        post(Update::Agent {
            state: "absent",
            message: format!("{message} Trying again every {} s.", REFRESH.as_secs()),
        });
        let retry = tokio::time::sleep(REFRESH);
        tokio::pin!(retry);
        loop {
            tokio::select! {
                _ = &mut retry => break,
                request = requests.recv() => match request {
                    Some(request) => refuse(&post, request),
                    None => return,
                },
            }
        }
    }
}

enum Lost {
    /// The agent is gone or failing; the bus is fine.
    Agent(String),
    Bus(String),
    WindowClosed,
}

/// Follows a running agent until it goes away (or the window closes).
async fn follow(
    connection: &zbus::Connection,
    post: &Post,
    requests: &mut mpsc::UnboundedReceiver<Request>,
    trends: &mut Trends,
) -> Lost {
    let agent = match Agent1Proxy::new(connection).await {
        Ok(agent) => agent,
        Err(e) => return Lost::Bus(api::reply_text(e)),
    };
    let mut changes = match agent.receive_report_changed().await {
        Ok(changes) => changes,
        Err(e) => return Lost::Bus(api::reply_text(e)),
    };
    let mut catalog: Option<Catalog> = None;
    let mut live = false;
    let mut ticker = tokio::time::interval(REFRESH);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            Some(_) = changes.next() => ticker.reset(),
            request = requests.recv() => {
                match request {
                    Some(request) => {
                        tokio::spawn(answer(agent.clone(), post.clone(), request));
                        continue;
                    }
                    None => return Lost::WindowClosed,
                }
            }
        }
        if catalog.as_ref().is_none_or(|c| c.asked.elapsed() >= CATALOG_REFRESH) {
            // An older agent without Apps() still shows everything but the Launch buttons;
            // one without Suggestions(), or a record it cannot read, no learnt limits; one
            // without Savings(), or no measurement, no savings.
            let apps = agent.catalog().await.unwrap_or_default();
            let learnt = agent.learnt_limits().await.unwrap_or_default();
            let savings = agent.measured_savings().await.ok().flatten();
            catalog = Some(Catalog { asked: Instant::now(), apps, learnt, savings });
        }
        let current = catalog.as_ref().expect("asked above when missing");
        match refresh(&agent, current, trends).await {
            Ok(view) => {
                if !live {
                    live = true;
                    post(Update::Agent { state: "live", message: String::new() });
                }
                post(Update::View(Box::new(view)));
            }
            Err(lost) => return lost,
        }
    }
}

/// What the agent answers that changes slowly, asked every CATALOG_REFRESH.
struct Catalog {
    asked: Instant,
    apps: Vec<CatalogApp>,
    learnt: Vec<AppLimits>,
    savings: Option<Measurement>,
}

async fn refresh(agent: &Agent1Proxy<'_>, catalog: &Catalog, trends: &mut Trends) -> Result<View, Lost> {
    let report = agent.report().await.map_err(lost)?;
    let history = agent.history_points(HISTORY_SECONDS).await.map_err(lost)?;
    let scopes = agent.scope_statuses().await.unwrap_or_default();
    // An agent older than Events() shows no events; a log it cannot read, neither.
    let events = agent.event_log(EVENTS_SHOWN).await.unwrap_or_default();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    trends.observe(now, &report);
    let inputs = view::Inputs {
        now,
        report: &report,
        history: &history,
        scopes: &scopes,
        apps: &catalog.apps,
        events: &events,
        learnt: &catalog.learnt,
        savings: catalog.savings.as_ref(),
        trends,
    };
    Ok(view::build(&inputs))
}

/// Runs one request and posts its answer; the next refresh shows what it changed.
async fn answer(agent: Agent1Proxy<'static>, post: Post, request: Request) {
    let update = match request {
        Request::Launch(app) => Update::Action(match agent.launch(&app, &[]).await {
            Ok(unit) => format!("Started {app} in {unit}"),
            Err(e) => format!("Could not start {app}: {}", api::reply_text(e)),
        }),
        Request::Choose(choice, unit) => Update::Action(match agent.choose(choice, &unit).await {
            Ok(done) => done,
            Err(e) => format!("Could not {} {unit}: {}", verb(choice), api::reply_text(e)),
        }),
        Request::Tune { target, action } => Update::Tune(agent.tune(&target, &action).await.map_err(api::reply_text)),
        Request::Doctor => Update::Doctor(agent.doctor_checks().await.map_err(api_error_text)),
    };
    post(update);
}

/// What a choice does, as the verb of "Could not … UNIT".
fn verb(choice: Choice) -> &'static str {
    match choice {
        Choice::Freeze => "freeze",
        Choice::Thaw => "thaw",
        Choice::GiveMore => "give more memory to",
        Choice::Stop => "stop",
    }
}

fn refuse(post: &Post, request: Request) {
    let absent = "the ballast agent is not running".to_owned();
    post(match request {
        Request::Launch(_) | Request::Choose(..) => Update::Action(format!("Not done: {absent}.")),
        Request::Tune { .. } => Update::Tune(Err(absent)),
        Request::Doctor => Update::Doctor(Err(absent)),
    });
}

/// A failed call: the agent is not there (or broke, or sent what does not read), or the bus
/// itself went away.
fn lost(e: ApiError) -> Lost {
    let e = match e {
        ApiError::Call(e) => e,
        payload @ ApiError::Payload { .. } => return Lost::Agent(format!("Not understood: {payload}.")),
    };
    let not_running = match &e {
        zbus::Error::MethodError(name, _, _) => name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown",
        zbus::Error::FDO(fdo) => matches!(**fdo, zbus::fdo::Error::ServiceUnknown(_)),
        _ => false,
    };
    match e {
        _ if not_running => {
            Lost::Agent("The ballast agent is not running in this session: start it with `ballast`.".into())
        }
        zbus::Error::MethodError(..) | zbus::Error::FDO(_) => {
            Lost::Agent(format!("The ballast agent did not answer: {}.", api::reply_text(e)))
        }
        _ => Lost::Bus(format!("The session bus went away ({e}).")),
    }
}

fn api_error_text(e: ApiError) -> String {
    match e {
        ApiError::Call(e) => api::reply_text(e),
        payload @ ApiError::Payload { .. } => payload.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard reads the report of the agent it ships with; an older agent's report
    /// (schema 1 had `gpu: null`) is said to be unreadable, naming the call and the field.
    #[test]
    fn a_report_that_does_not_read_is_said_so() {
        let mut report: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/report-plasma-v2.json")).unwrap();
        report["gpu"] = serde_json::Value::Null;
        let source = serde_json::from_value::<ballast::budget::Report>(report).unwrap_err();
        let Lost::Agent(message) = lost(ApiError::Payload { method: "Status", source }) else {
            panic!("an unreadable report is the agent's problem, not the bus's");
        };
        assert!(message.starts_with("Not understood: the agent's answer to Status() does not read"), "{message}");
    }
}
