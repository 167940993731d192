//! The agent's D-Bus contract, io.ballast.Agent1 at /io/ballast/Agent on the session bus
//! (so only the session's own user reaches it), in one place: the server the agent runs
//! ([`Api`]), the client the CLI and the dashboard use ([`Agent1Proxy`], with typed readers),
//! and the payload types. Payloads travel as JSON strings (the `--json` schemas: docs/); the
//! readers turn them back into these types.

use super::actions;
use super::command;
use super::Shared;
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use zbus::fdo;
use zbus::object_server::SignalEmitter;

pub use super::history::Point as HistoryPoint;
pub use crate::budget::Report;
pub use crate::doctor::Check as DoctorCheck;
pub use crate::launch::{CatalogApp, ScopeStatus};

/// The agent's well-known name on the session bus.
pub const BUS_NAME: &str = "io.ballast.Agent";
/// The object path of io.ballast.Agent1.
pub const OBJECT_PATH: &str = "/io/ballast/Agent";
/// History() keeps at most this many seconds.
pub const HISTORY_SECONDS: u32 = 600;

// zbus generates the signal's argument type and stream without docs of their own.
#[allow(missing_docs)]
mod client {
    /// The client side of io.ballast.Agent1; each method is documented on [`Api`](super::Api)'s.
    #[zbus::proxy(
        interface = "io.ballast.Agent1",
        default_service = "io.ballast.Agent",
        default_path = "/io/ballast/Agent"
    )]
    pub trait Agent1 {
        /// The latest report as JSON (the `ballast status --json` schema).
        fn status(&self) -> zbus::Result<String>;
        /// The points of the last `seconds` (at most [`HISTORY_SECONDS`](super::HISTORY_SECONDS)) as JSON.
        fn history(&self, seconds: u32) -> zbus::Result<String>;
        /// The app catalog as JSON (the `ballast apps --json` schema).
        fn apps(&self) -> zbus::Result<String>;
        /// The running app units as JSON (the `ballast scopes --json` schema).
        fn scopes(&self) -> zbus::Result<String>;
        /// Launches catalog app `app` with `args` in its scope; returns the unit name.
        fn launch(&self, app: &str, args: &[&str]) -> zbus::Result<String>;
        /// The newest `last` events of the event log as JSON (the `ballast events --json` schema).
        fn events(&self, last: u32) -> zbus::Result<String>;
        /// Stops a running app unit; returns what was done, in words.
        fn stop(&self, unit: &str) -> zbus::Result<String>;
        /// Freezes a running app unit; returns what was done, in words.
        fn freeze(&self, unit: &str) -> zbus::Result<String>;
        /// Thaws a frozen app unit; returns what was done, in words.
        fn thaw(&self, unit: &str) -> zbus::Result<String>;
        /// Raises a running app unit's memory limits by a quarter; returns the new limits, in words.
        fn give_more(&self, unit: &str) -> zbus::Result<String>;
        /// Tunes `target` (kwin|baloo|all) with `action` (preview|apply|rollback); the outcome in words.
        fn tune(&self, target: &str, action: &str) -> zbus::Result<String>;
        /// The doctor's checks as JSON (the `ballast doctor --json` schema).
        fn doctor(&self) -> zbus::Result<String>;
        /// The apps on the usage record with their limits and the suggested ones as JSON (the
        /// `ballast suggest --json` schema).
        fn suggestions(&self) -> zbus::Result<String>;
        /// The last `ballast tune --measure` as JSON (the `--json` schema), `null` when none
        /// was taken.
        fn savings(&self) -> zbus::Result<String>;
        /// The new report (Status()'s JSON), sent when what the tray shows changed.
        #[zbus(signal)]
        fn report_changed(&self, report: &str) -> zbus::Result<()>;
    }
}
pub use client::*;

/// A call to the agent that failed, or an answer that does not read as its type.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum ApiError {
    /// The call failed: no agent on the bus, or the agent's error reply.
    #[error(transparent)]
    Call(#[from] zbus::Error),
    /// The answer's JSON does not read as the method's payload type.
    #[error("the agent's answer to {method}() does not read: {source}")]
    Payload { method: &'static str, source: serde_json::Error },
}

/// A failed call's message: the agent's own words for an error it replied, else zbus's.
pub fn reply_text(error: zbus::Error) -> String {
    match error {
        zbus::Error::MethodError(_, Some(message), _) => message,
        zbus::Error::FDO(fdo) => match *fdo {
            fdo::Error::Failed(message) => message,
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

fn decode<T: DeserializeOwned>(method: &'static str, json: zbus::Result<String>) -> Result<T, ApiError> {
    serde_json::from_str(&json?).map_err(|source| ApiError::Payload { method, source })
}

/// The typed readers of the JSON payloads.
impl Agent1Proxy<'_> {
    /// The agent's latest [`Report`] (Status()).
    pub async fn report(&self) -> Result<Report, ApiError> {
        decode("Status", self.status().await)
    }

    /// Points of the last `seconds` (at most [`HISTORY_SECONDS`]).
    pub async fn history_points(&self, seconds: u32) -> Result<Vec<HistoryPoint>, ApiError> {
        decode("History", self.history(seconds).await)
    }

    /// The app catalog with each app's limits and whether it is installed (Apps()).
    pub async fn catalog(&self) -> Result<Vec<CatalogApp>, ApiError> {
        decode("Apps", self.apps().await)
    }

    /// The newest `last` events of the event log, oldest first (Events()).
    pub async fn event_log(&self, last: u32) -> Result<Vec<crate::events::Event>, ApiError> {
        decode("Events", self.events(last).await)
    }

    /// The apps on the usage record, each with its limits and the suggested ones (Suggestions()).
    pub async fn learnt_limits(&self) -> Result<Vec<crate::usage::AppLimits>, ApiError> {
        decode("Suggestions", self.suggestions().await)
    }

    /// The last measurement of what tuning saved (Savings()); None when none was taken.
    pub async fn measured_savings(&self) -> Result<Option<crate::tune::measure::Measurement>, ApiError> {
        decode("Savings", self.savings().await)
    }

    /// The running app units with their use, limits and memory events (Scopes()).
    pub async fn scope_statuses(&self) -> Result<Vec<ScopeStatus>, ApiError> {
        decode("Scopes", self.scopes().await)
    }

    /// Has the agent carry out `choice` for app unit `unit` (Freeze(), Thaw(), GiveMore() or
    /// Stop()); what was done, in words.
    pub async fn choose(&self, choice: command::Choice, unit: &str) -> zbus::Result<String> {
        match choice {
            command::Choice::Freeze => self.freeze(unit).await,
            command::Choice::Thaw => self.thaw(unit).await,
            command::Choice::GiveMore => self.give_more(unit).await,
            command::Choice::Stop => self.stop(unit).await,
        }
    }

    /// The doctor's checks (Doctor()).
    pub async fn doctor_checks(&self) -> Result<Vec<DoctorCheck>, ApiError> {
        decode("Doctor", self.doctor().await)
    }
}

/// A payload as its JSON; every payload type serializes.
fn encode(payload: &impl serde::Serialize) -> String {
    serde_json::to_string(payload).expect("payload types serialize to JSON")
}

/// The io.ballast.Agent1 server the agent runs at [`OBJECT_PATH`].
pub struct Api {
    /// The state the agent updates each tick; the methods read it.
    pub shared: Arc<Mutex<Shared>>,
    /// Choices go to the agent's loop, which carries them out as the tray's.
    pub asks: tokio::sync::mpsc::UnboundedSender<command::Asked>,
}

/// An action's error as D-Bus carries it: org.freedesktop.DBus.Error.Failed with its message.
fn failed(error: impl std::fmt::Display) -> fdo::Error {
    fdo::Error::Failed(error.to_string())
}

impl Api {
    fn snapshot<T>(&self, read: impl FnOnce(&Shared) -> T) -> T {
        read(&self.shared.lock().expect("the agent's state lock is never poisoned"))
    }

    /// Has the agent carry out a choice for an app unit and waits for the outcome.
    async fn choose(&self, choice: command::Choice, unit: &str) -> fdo::Result<String> {
        let stopping = || failed("the agent is stopping");
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.asks.send(command::Asked { choice, unit: unit.to_owned(), reply }).map_err(|_| stopping())?;
        outcome.await.map_err(|_| stopping())?.map_err(fdo::Error::Failed)
    }
}

// zbus generates the signal's emitter trait without docs of its own.
#[allow(missing_docs)]
mod server {
    use super::*;

    #[zbus::interface(name = "io.ballast.Agent1")]
    impl Api {
        /// The latest [`Report`] as JSON: the `ballast status --json` schema.
        async fn status(&self) -> String {
            // The bus name is taken before the first tick (one agent per session): a call
            // in between waits for the first report.
            let mut report = self.snapshot(|s| s.report.subscribe());
            let first = report.wait_for(|json| !json.is_empty()).await.map(|json| json.clone());
            first.unwrap_or_default()
        }

        /// [`HistoryPoint`]s of the last `seconds` (at most [`HISTORY_SECONDS`]).
        async fn history(&self, seconds: u32) -> String {
            self.snapshot(|s| encode(&s.history.since(crate::agent::now(), seconds)))
        }

        /// The app catalog ([`CatalogApp`]s) as JSON: the `ballast apps --json` schema.
        async fn apps(&self) -> String {
            let profile = self.snapshot(|s| s.profile.clone());
            encode(&crate::launch::catalog(&profile, std::env::var("PATH").ok().as_deref()))
        }

        /// Each catalog app on the usage record with its limits and those the record suggests
        /// ([`AppLimits`](crate::usage::AppLimits)) as JSON: the `ballast suggest --json` schema.
        async fn suggestions(&self) -> fdo::Result<String> {
            let profile = self.snapshot(|s| s.profile.clone());
            let (apps, _) = crate::usage::store::user_app_limits(&profile).map_err(failed)?;
            Ok(encode(&apps))
        }

        /// The last `ballast tune --measure` ([`Measurement`](crate::tune::measure::Measurement))
        /// as JSON, `null` when none was taken.
        async fn savings(&self) -> fdo::Result<String> {
            let measurement = crate::tune::measure::load(&crate::tune::measure::saved_path()).map_err(failed)?;
            Ok(encode(&measurement))
        }

        /// Running app units ([`ScopeStatus`]es) as JSON: the `ballast scopes --json` schema.
        async fn scopes(&self) -> String {
            self.snapshot(|s| encode(&s.scopes))
        }

        /// Launches a catalog app in its scope; returns the unit name.
        async fn launch(&self, app: String, args: Vec<String>) -> fdo::Result<String> {
            let (profile, file) = self.snapshot(|s| (s.profile.clone(), s.profile_file.clone()));
            actions::launch_app(&profile, file.as_deref(), &app, &args).await.map_err(failed)
        }

        /// The newest `last` events of the event log (kills and choices, oldest first) as
        /// JSON: the `ballast events --json` schema.
        async fn events(&self, last: u32) -> fdo::Result<String> {
            let read = crate::events::EventLog::from_env().newest(last as usize).map_err(failed)?;
            Ok(encode(&read.events))
        }

        /// Stops a running app unit; what was done, in words (logged in the event log).
        async fn stop(&self, unit: String) -> fdo::Result<String> {
            self.choose(command::Choice::Stop, &unit).await
        }

        /// Freezes a running app unit (FreezeUnit): it keeps its memory and uses no CPU.
        async fn freeze(&self, unit: String) -> fdo::Result<String> {
            self.choose(command::Choice::Freeze, &unit).await
        }

        /// Thaws a frozen app unit (ThawUnit).
        async fn thaw(&self, unit: String) -> fdo::Result<String> {
            self.choose(command::Choice::Thaw, &unit).await
        }

        /// Raises a running app unit's MemoryHigh and MemoryMax by a quarter until it stops,
        /// up to the profile's `[budget] workload_total`.
        async fn give_more(&self, unit: String) -> fdo::Result<String> {
            self.choose(command::Choice::GiveMore, &unit).await
        }

        /// target: kwin | baloo | all; action: preview | apply | rollback.
        async fn tune(
            &self,
            target: String,
            action: String,
            #[zbus(connection)] connection: &zbus::Connection,
        ) -> fdo::Result<String> {
            let (target, action) = command::parse_tune(&target, &action).map_err(failed)?;
            let profile = self.snapshot(|s| s.profile.clone());
            actions::tune(&profile, connection, target, action).await.map_err(failed)
        }

        /// The doctor's [`DoctorCheck`]s as JSON: the `ballast doctor --json` schema.
        async fn doctor(&self) -> fdo::Result<String> {
            let (profile, root) = self.snapshot(|s| (s.profile.clone(), s.root.clone()));
            actions::doctor_checks(profile, root).await.map(|checks| encode(&checks)).map_err(failed)
        }

        /// Sent when what the tray shows changed; carries the new report (Status()'s JSON).
        #[zbus(signal)]
        pub async fn report_changed(emitter: &SignalEmitter<'_>, report: &str) -> zbus::Result<()>;
    }
}
