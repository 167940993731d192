//! What the window reads: the agent's payloads (the contract in ballast::agent::api) and
//! the `--from-json` fixtures that stand in for a running agent.

pub use ballast::agent::api::{CatalogApp, DoctorCheck, HistoryPoint, Report, ScopeStatus};
pub use ballast::events::Event;
pub use ballast::tune::measure::Measurement;
pub use ballast::usage::AppLimits;
use serde::Deserialize;

/// A `--from-json` fixture: a bare report, or a whole session (the report and what the
/// other calls would answer), so a screenshot shows every part of the window.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Fixture {
    Session(Box<Session>),
    Report(Box<Report>),
}

impl Fixture {
    pub fn into_session(self) -> Session {
        match self {
            Fixture::Session(session) => *session,
            Fixture::Report(report) => Session {
                report: *report,
                earlier: None,
                history: Vec::new(),
                scopes: Vec::new(),
                apps: Vec::new(),
                events: Vec::new(),
                learnt: Vec::new(),
                savings: None,
                doctor: Vec::new(),
                tune_preview: None,
            },
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Session {
    pub report: Report,
    /// The report a minute earlier, for the trend column.
    pub earlier: Option<Earlier>,
    #[serde(default)]
    pub history: Vec<HistoryPoint>,
    #[serde(default)]
    pub scopes: Vec<ScopeStatus>,
    #[serde(default)]
    pub apps: Vec<CatalogApp>,
    /// What Events() answered: the event log, oldest first.
    #[serde(default)]
    pub events: Vec<Event>,
    /// What Suggestions() answered: the apps on the usage record.
    #[serde(default)]
    pub learnt: Vec<AppLimits>,
    /// What Savings() answered: the last `ballast tune --measure`.
    #[serde(default)]
    pub savings: Option<Measurement>,
    #[serde(default)]
    pub doctor: Vec<DoctorCheck>,
    /// What Tune(kwin, preview) answered.
    pub tune_preview: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Earlier {
    pub seconds_ago: u64,
    pub report: Report,
}
