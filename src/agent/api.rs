//! The agent's D-Bus API: io.ballast.Agent1 at /io/ballast/Agent on the session bus
//! (so only the session's own user reaches it).

use super::actions;
use super::Shared;
use crate::tray::TuneAction;
use crate::tune::Target;
use std::sync::{Arc, Mutex};
use zbus::fdo;
use zbus::object_server::SignalEmitter;

pub const BUS_NAME: &str = "io.ballast.Agent";
pub const OBJECT_PATH: &str = "/io/ballast/Agent";

pub struct Api {
    pub shared: Arc<Mutex<Shared>>,
}

fn failed(message: String) -> fdo::Error {
    fdo::Error::Failed(message)
}

impl Api {
    fn snapshot<T>(&self, read: impl FnOnce(&Shared) -> T) -> T {
        read(&self.shared.lock().expect("the agent's state lock is never poisoned"))
    }
}

#[zbus::interface(name = "io.ballast.Agent1")]
impl Api {
    /// The latest report as JSON: the `ballast status --json` schema.
    async fn status(&self) -> String {
        self.snapshot(|s| s.report_json.clone())
    }

    /// Points of the last `seconds` (at most 600): time, used, zram_stored, pressure.
    async fn history(&self, seconds: u32) -> String {
        self.snapshot(|s| serde_json::to_string(&s.history.since(super::now(), seconds)).unwrap_or_default())
    }

    /// The app catalog as JSON: the `ballast apps --json` schema.
    async fn apps(&self) -> String {
        let profile = self.snapshot(|s| s.profile.clone());
        serde_json::to_string(&crate::launch::catalog_json(&profile, std::env::var("PATH").ok().as_deref()))
            .unwrap_or_default()
    }

    /// Running app scopes as JSON: unit, app (catalog id or null), description, control_group,
    /// memory_current, memory_high, memory_max, cpu_usage_nsec, cpu_quota, events.
    async fn scopes(&self) -> String {
        self.snapshot(|s| serde_json::to_string(&s.scopes).unwrap_or_default())
    }

    /// Launches a catalog app in its scope; returns the unit name.
    async fn launch(&self, app: String, args: Vec<String>) -> fdo::Result<String> {
        let (profile, file) = self.snapshot(|s| (s.profile.clone(), s.profile_file.clone()));
        actions::launch_app(&profile, file.as_deref(), &app, &args).await.map_err(failed)
    }

    /// Stops a running app scope.
    async fn stop(&self, unit: String) -> fdo::Result<String> {
        let manager = crate::launch::UserManager::connect().await.ok();
        actions::stop_unit(manager.as_ref(), &unit).await.map_err(failed)
    }

    /// target: kwin | baloo | all; action: preview | apply | rollback.
    async fn tune(
        &self,
        target: String,
        action: String,
        #[zbus(connection)] connection: &zbus::Connection,
    ) -> fdo::Result<String> {
        let target = match target.as_str() {
            "kwin" => Target::Kwin,
            "baloo" => Target::Baloo,
            "all" => Target::All,
            other => return Err(failed(format!("unknown target {other:?}: kwin, baloo or all"))),
        };
        let action = match action.as_str() {
            "preview" => TuneAction::Preview,
            "apply" => TuneAction::Apply,
            "rollback" => TuneAction::Rollback,
            other => return Err(failed(format!("unknown action {other:?}: preview, apply or rollback"))),
        };
        let profile = self.snapshot(|s| s.profile.clone());
        actions::tune(&profile, connection, target, action).await.map_err(failed)
    }

    /// The doctor's checks as JSON: the `ballast doctor --json` schema.
    async fn doctor(&self) -> fdo::Result<String> {
        let (profile, root) = self.snapshot(|s| (s.profile.clone(), s.root.clone()));
        actions::doctor_json(profile, root).await.map_err(failed)
    }

    /// Sent when what the tray shows changed; carries the new report (Status()'s JSON).
    #[zbus(signal)]
    pub async fn report_changed(emitter: &SignalEmitter<'_>, report: &str) -> zbus::Result<()>;
}
