//! The QML type `Dashboard`: the window's data as read-only properties (lists and maps built
//! from view::View) and the actions it can ask the agent for. D-Bus runs on the agent
//! client's thread; results come back through the Qt event loop.

#[cxx_qt::bridge]
pub mod qobject {
    unsafe extern "C++" {
        include!("cxx-qt-lib/qstring.h");
        type QString = cxx_qt_lib::QString;
        include!("cxx-qt-lib/qvariant.h");
        type QVariant = cxx_qt_lib::QVariant;
    }

    #[auto_cxx_name]
    extern "RustQt" {
        #[qobject]
        #[qml_element]
        // agent_state: "connecting", "live", "absent" (retrying) or "fixture".
        #[qproperty(QString, agent_state, READ, NOTIFY = agent_changed)]
        #[qproperty(QString, agent_message, READ, NOTIFY = agent_changed)]
        #[qproperty(QVariant, summary, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, segments, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, categories, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, history, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, zram, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, gpu, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, pressure, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, notices, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, scopes, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, apps, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, events, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, learnt, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, savings, READ, NOTIFY = view_changed)]
        #[qproperty(bool, has_view, READ, NOTIFY = view_changed)]
        #[qproperty(QVariant, doctor_checks, READ, NOTIFY = doctor_changed)]
        #[qproperty(QString, doctor_error, READ, NOTIFY = doctor_changed)]
        #[qproperty(bool, doctor_busy, READ, NOTIFY = doctor_changed)]
        #[qproperty(QString, tune_output, READ, NOTIFY = tune_changed)]
        #[qproperty(bool, tune_failed, READ, NOTIFY = tune_changed)]
        #[qproperty(bool, tune_busy, READ, NOTIFY = tune_changed)]
        // action_message: the answer to the last Launch or choice, shown in passing.
        #[qproperty(QString, action_message, READ, NOTIFY = action_changed)]
        type Dashboard = super::DashboardRust;

        #[qsignal]
        fn agent_changed(self: Pin<&mut Dashboard>);
        #[qsignal]
        fn view_changed(self: Pin<&mut Dashboard>);
        #[qsignal]
        fn doctor_changed(self: Pin<&mut Dashboard>);
        #[qsignal]
        fn tune_changed(self: Pin<&mut Dashboard>);
        #[qsignal]
        fn action_changed(self: Pin<&mut Dashboard>);

        /// Follows the agent over D-Bus from now on (the normal window).
        #[qinvokable]
        fn watch_agent(self: Pin<&mut Dashboard>);
        /// Shows a `--from-json` fixture instead; false (and a message) when it does not read.
        #[qinvokable]
        fn show_fixture(self: Pin<&mut Dashboard>, json: &QString) -> bool;
        #[qinvokable]
        fn launch(self: Pin<&mut Dashboard>, app: &QString);
        /// choice: freeze | thaw | give-more | stop (the notification's action keys).
        #[qinvokable]
        fn choose(self: Pin<&mut Dashboard>, unit: &QString, choice: &QString);
        /// target: kwin | baloo | all; action: preview | apply | rollback.
        #[qinvokable]
        fn tune(self: Pin<&mut Dashboard>, target: &QString, action: &QString);
        #[qinvokable]
        fn run_doctor(self: Pin<&mut Dashboard>);
    }

    impl cxx_qt::Threading for Dashboard {}
}

use crate::agent::{self, Request, Update};
use crate::qvariant::to_qvariant;
use crate::report::{DoctorCheck, Fixture};
use crate::view::{self, View};
use ballast::doctor::Verdict;
use core::pin::Pin;
use cxx_qt::{CxxQtType, Threading};
use cxx_qt_lib::{QString, QVariant};

pub struct DashboardRust {
    agent_state: QString,
    agent_message: QString,
    summary: QVariant,
    segments: QVariant,
    categories: QVariant,
    history: QVariant,
    zram: QVariant,
    gpu: QVariant,
    pressure: QVariant,
    notices: QVariant,
    scopes: QVariant,
    apps: QVariant,
    events: QVariant,
    learnt: QVariant,
    savings: QVariant,
    has_view: bool,
    doctor_checks: QVariant,
    doctor_error: QString,
    doctor_busy: bool,
    tune_output: QString,
    tune_failed: bool,
    tune_busy: bool,
    action_message: QString,
    /// Where actions go; None until watch_agent (a fixture has no agent to ask).
    requests: Option<agent::Requests>,
}

impl Default for DashboardRust {
    fn default() -> Self {
        let parts = ViewParts::from(&View::default());
        DashboardRust {
            agent_state: QString::from("connecting"),
            agent_message: QString::from("Connecting to the ballast agent…"),
            summary: parts.summary,
            segments: parts.segments,
            categories: parts.categories,
            history: parts.history,
            zram: parts.zram,
            gpu: parts.gpu,
            pressure: parts.pressure,
            notices: parts.notices,
            scopes: parts.scopes,
            apps: parts.apps,
            events: parts.events,
            learnt: parts.learnt,
            savings: parts.savings,
            has_view: false,
            doctor_checks: to_qvariant(&serde_json::json!([])),
            doctor_error: QString::default(),
            doctor_busy: false,
            tune_output: QString::default(),
            tune_failed: false,
            tune_busy: false,
            action_message: QString::default(),
            requests: None,
        }
    }
}

/// A view as the QML properties hold it.
struct ViewParts {
    summary: QVariant,
    segments: QVariant,
    categories: QVariant,
    history: QVariant,
    zram: QVariant,
    gpu: QVariant,
    pressure: QVariant,
    notices: QVariant,
    scopes: QVariant,
    apps: QVariant,
    events: QVariant,
    learnt: QVariant,
    savings: QVariant,
}

impl From<&View> for ViewParts {
    fn from(view: &View) -> Self {
        let value = serde_json::to_value(view).expect("a view serializes");
        let part = |key: &str| to_qvariant(&value[key]);
        ViewParts {
            summary: part("summary"),
            segments: part("segments"),
            categories: part("categories"),
            history: part("history"),
            zram: part("zram"),
            gpu: part("gpu"),
            pressure: part("pressure"),
            notices: part("notices"),
            scopes: part("scopes"),
            apps: part("apps"),
            events: part("events"),
            learnt: part("learnt"),
            savings: part("savings"),
        }
    }
}

impl qobject::Dashboard {
    fn watch_agent(mut self: Pin<&mut Self>) {
        if self.requests.is_some() {
            return;
        }
        let thread = self.qt_thread();
        let requests = agent::spawn(move |update| {
            // Fails only once the window is gone, when nothing is left to update.
            let _ = thread.queue(move |dashboard| dashboard.apply(update));
        });
        self.as_mut().rust_mut().requests = Some(requests);
    }

    fn show_fixture(mut self: Pin<&mut Self>, json: &QString) -> bool {
        let fixture = match serde_json::from_str::<Fixture>(&json.to_string()) {
            Ok(fixture) => fixture,
            Err(e) => {
                self.apply(Update::Agent {
                    state: "absent",
                    message: format!("The fixture does not read as a report: {e}"),
                });
                return false;
            }
        };
        self.as_mut()
            .apply(Update::Agent { state: "fixture", message: "Showing a saved report, not live data.".into() });
        let session = fixture.into_session();
        let view = view::of_session(&session);
        self.as_mut().apply(Update::View(Box::new(view)));
        if !session.doctor.is_empty() {
            self.as_mut().apply(Update::Doctor(Ok(session.doctor)));
        }
        if let Some(preview) = session.tune_preview {
            self.apply(Update::Tune(Ok(preview)));
        }
        true
    }

    fn launch(self: Pin<&mut Self>, app: &QString) {
        self.ask(Request::Launch(app.to_string()));
    }

    fn choose(mut self: Pin<&mut Self>, unit: &QString, choice: &QString) {
        match ballast::agent::command::Choice::from_key(&choice.to_string()) {
            Some(choice) => {
                self.ask(Request::Choose(choice, unit.to_string()));
            }
            None => {
                self.as_mut().rust_mut().action_message = QString::from(&format!("No such choice: {choice}"));
                self.action_changed();
            }
        }
    }

    fn tune(mut self: Pin<&mut Self>, target: &QString, action: &QString) {
        if self.as_mut().ask(Request::Tune { target: target.to_string(), action: action.to_string() }) {
            self.as_mut().rust_mut().tune_busy = true;
            self.tune_changed();
        }
    }

    fn run_doctor(mut self: Pin<&mut Self>) {
        if self.as_mut().ask(Request::Doctor) {
            self.as_mut().rust_mut().doctor_busy = true;
            self.doctor_changed();
        }
    }

    /// Sends a request to the agent; without one (a fixture), says so instead.
    fn ask(mut self: Pin<&mut Self>, request: Request) -> bool {
        match &self.requests {
            Some(requests) if requests.send(request).is_ok() => true,
            _ => {
                self.as_mut().rust_mut().action_message =
                    QString::from("Not connected to the agent: this window shows a saved report.");
                self.action_changed();
                false
            }
        }
    }

    fn apply(mut self: Pin<&mut Self>, update: Update) {
        match update {
            Update::Agent { state, message } => {
                let mut fields = self.as_mut().rust_mut();
                fields.agent_state = QString::from(state);
                fields.agent_message = QString::from(&message);
                self.agent_changed();
            }
            Update::View(view) => {
                let parts = ViewParts::from(&*view);
                let mut fields = self.as_mut().rust_mut();
                fields.summary = parts.summary;
                fields.segments = parts.segments;
                fields.categories = parts.categories;
                fields.history = parts.history;
                fields.zram = parts.zram;
                fields.gpu = parts.gpu;
                fields.pressure = parts.pressure;
                fields.notices = parts.notices;
                fields.scopes = parts.scopes;
                fields.apps = parts.apps;
                fields.events = parts.events;
                fields.learnt = parts.learnt;
                fields.savings = parts.savings;
                fields.has_view = true;
                self.view_changed();
            }
            Update::Doctor(result) => {
                let mut fields = self.as_mut().rust_mut();
                fields.doctor_busy = false;
                match result {
                    Ok(checks) => {
                        fields.doctor_checks =
                            to_qvariant(&serde_json::to_value(doctor_rows(checks)).expect("checks serialize"));
                        fields.doctor_error = QString::default();
                    }
                    Err(e) => fields.doctor_error = QString::from(&e),
                }
                self.doctor_changed();
            }
            Update::Tune(result) => {
                let mut fields = self.as_mut().rust_mut();
                fields.tune_busy = false;
                fields.tune_failed = result.is_err();
                fields.tune_output = QString::from(&result.unwrap_or_else(|e| e));
                self.tune_changed();
            }
            Update::Action(message) => {
                self.as_mut().rust_mut().action_message = QString::from(&message);
                self.action_changed();
            }
        }
    }
}

/// Problems first, the way a person reads a checklist.
fn doctor_rows(mut checks: Vec<DoctorCheck>) -> Vec<DoctorCheck> {
    let rank = |verdict: Verdict| match verdict {
        Verdict::Fail => 0,
        Verdict::Warn => 1,
        Verdict::Pass => 2,
        Verdict::Skip => 3,
    };
    checks.sort_by_key(|c| rank(c.verdict));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_lists_failures_first_and_keeps_order_otherwise() {
        let check =
            |id: &str, verdict: Verdict| DoctorCheck { id: id.into(), verdict, message: String::new(), fix: None };
        let rows = doctor_rows(vec![
            check("a", Verdict::Pass),
            check("b", Verdict::Skip),
            check("c", Verdict::Fail),
            check("d", Verdict::Warn),
            check("e", Verdict::Pass),
        ]);
        assert_eq!(rows.iter().map(|c| c.id.as_str()).collect::<String>(), "cdaeb");
    }
}
