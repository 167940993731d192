//! The systemd user manager over D-Bus (org.freedesktop.systemd1 on the session bus).

use super::spec::ScopeSpec;
use super::LaunchError;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Manager {
    fn subscribe(&self) -> zbus::Result<()>;

    fn start_transient_unit(
        &self,
        name: &str,
        mode: &str,
        properties: &[(&str, Value<'_>)],
        aux: &[(&str, &[(&str, Value<'_>)])],
    ) -> zbus::Result<OwnedObjectPath>;

    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;

    fn restart_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;

    fn attach_processes_to_unit(&self, name: &str, subcgroup: &str, pids: &[u32]) -> zbus::Result<()>;

    fn get_unit_processes(&self, name: &str) -> zbus::Result<Vec<(String, u32, String)>>;

    fn get_unit_file_state(&self, name: &str) -> zbus::Result<String>;

    fn get_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;

    fn freeze_unit(&self, name: &str) -> zbus::Result<()>;

    fn thaw_unit(&self, name: &str) -> zbus::Result<()>;

    fn set_unit_properties(&self, name: &str, runtime: bool, properties: &[(&str, Value<'_>)]) -> zbus::Result<()>;

    #[allow(clippy::type_complexity)]
    fn list_units_by_patterns(
        &self,
        states: &[&str],
        patterns: &[&str],
    ) -> zbus::Result<
        Vec<(String, String, String, String, String, String, OwnedObjectPath, u32, String, OwnedObjectPath)>,
    >;

    #[zbus(signal)]
    fn job_removed(&self, id: u32, job: OwnedObjectPath, unit: String, result: String) -> zbus::Result<()>;

    #[zbus(signal)]
    fn unit_new(&self, id: String, unit: OwnedObjectPath) -> zbus::Result<()>;
}

/// The unit a PropertiesChanged signal is about, when it says Result became `oom-kill`.
fn oom_killed(message: &zbus::Message) -> Option<String> {
    let (_, changed, _): (String, HashMap<String, OwnedValue>, Vec<String>) = message.body().deserialize().ok()?;
    let result: String = changed.get("Result")?.try_clone().ok()?.try_into().ok()?;
    if result != "oom-kill" {
        return None;
    }
    let path = message.header().path()?.to_string();
    Some(unit_from_object_path(path.strip_prefix("/org/freedesktop/systemd1/unit/")?))
}

/// A unit name from the last element of its object path: systemd escapes every byte but
/// [A-Za-z0-9] as `_xx` (hex; sd_bus_path_encode).
fn unit_from_object_path(element: &str) -> String {
    let bytes = element.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'_', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A unit change refused: the D-Bus error's own words.
fn changing(unit: &str, change: &'static str, e: &zbus::Error) -> LaunchError {
    LaunchError::ChangeFailed { unit: unit.to_owned(), change, detail: dbus_message(e) }
}

/// How long a scope job may take before we give up (systemd answers in milliseconds).
const JOB_TIMEOUT: Duration = Duration::from_secs(15);

/// The systemd user manager (org.freedesktop.systemd1.Manager) on the session bus, subscribed
/// to its JobRemoved signals.
pub struct UserManager {
    connection: zbus::Connection,
    manager: ManagerProxy<'static>,
}

/// A unit as ListUnitsByPatterns reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedUnit {
    /// The unit name, e.g. `app-ballast-discord-3f9a1c.scope`.
    pub name: String,
    /// The unit's Description=.
    pub description: String,
    /// systemd's ActiveState: "active", "activating", "deactivating", ...
    pub active_state: String,
    /// The unit's D-Bus object path (/org/freedesktop/systemd1/unit/…), where its properties are read.
    pub path: OwnedObjectPath,
}

impl UserManager {
    /// Connects to the session bus and checks that a user manager answers on it.
    pub async fn connect() -> Result<Self, LaunchError> {
        let connection =
            zbus::Connection::session().await.map_err(|e| LaunchError::NoSessionBus { detail: e.to_string() })?;
        let manager =
            ManagerProxy::new(&connection).await.map_err(|e| LaunchError::NoUserManager { detail: e.to_string() })?;
        // Also makes the manager emit JobRemoved to us.
        manager.subscribe().await.map_err(|e| LaunchError::NoUserManager { detail: e.to_string() })?;
        Ok(UserManager { connection, manager })
    }

    /// The names of units as the manager loads them (its UnitNew signal: a unit started, or
    /// loaded to be looked at), from now on.
    pub async fn new_units(&self) -> Result<impl futures_util::Stream<Item = String> + use<>, LaunchError> {
        let signals = self
            .manager
            .receive_unit_new()
            .await
            .map_err(|e| LaunchError::NoUserManager { detail: dbus_message(&e) })?;
        Ok(signals.filter_map(|signal| async move { signal.args().ok().map(|args| args.id) }))
    }

    /// Units that fail with Result `oom-kill` (their processes were OOM-killed and systemd
    /// stopped them, OOMPolicy=stop): the unit names, from the PropertiesChanged signals of
    /// its Service and Scope objects (sent while subscribed).
    pub async fn oom_killed_units(&self) -> Result<impl futures_util::Stream<Item = String> + use<>, LaunchError> {
        let mut streams = Vec::new();
        for interface in ["org.freedesktop.systemd1.Service", "org.freedesktop.systemd1.Scope"] {
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .sender("org.freedesktop.systemd1")
                .and_then(|b| b.interface("org.freedesktop.DBus.Properties"))
                .and_then(|b| b.member("PropertiesChanged"))
                .and_then(|b| b.path_namespace("/org/freedesktop/systemd1/unit"))
                .and_then(|b| b.arg(0, interface))
                .map_err(|e| LaunchError::NoUserManager { detail: e.to_string() })?
                .build();
            let stream = zbus::MessageStream::for_match_rule(rule, &self.connection, None)
                .await
                .map_err(|e| LaunchError::NoUserManager { detail: dbus_message(&e) })?;
            streams.push(stream);
        }
        Ok(futures_util::stream::select_all(streams).filter_map(|message| async move { oom_killed(&message.ok()?) }))
    }

    /// A unit file's enablement as `systemctl is-enabled` prints it ("enabled", "disabled",
    /// "static", "linked", "masked", ...; systemctl(1)), read from the unit files and their
    /// `[Install]` links, whether the unit is loaded or not.
    pub async fn unit_file_state(&self, unit: &str) -> Result<String, LaunchError> {
        self.manager
            .get_unit_file_state(unit)
            .await
            .map_err(|e| LaunchError::NoUserManager { detail: dbus_message(&e) })
    }

    /// The session-bus connection the manager is reached over.
    pub fn connection(&self) -> &zbus::Connection {
        &self.connection
    }

    /// Starts the scope with `pids` in it and waits until systemd has finished the job,
    /// so a process that is about to exec the app runs no app code before it is limited.
    /// The scope is delegated (Delegate=yes): systemd moves processes only into delegated
    /// units (AttachProcessesToUnit), which is how an app's strays are gathered into it.
    pub async fn start_scope(&self, spec: &ScopeSpec, pids: &[u32]) -> Result<(), LaunchError> {
        let failed = |detail: String| LaunchError::ScopeFailed { unit: spec.unit.clone(), detail };
        let mut removed = self.manager.receive_job_removed().await.map_err(|e| failed(e.to_string()))?;
        let properties: Vec<(&str, Value)> = vec![
            ("Description", Value::from(spec.description.as_str())),
            ("Slice", Value::from(spec.slice.as_str())),
            ("PIDs", Value::from(pids.to_vec())),
            ("Delegate", Value::from(true)),
            ("MemoryHigh", Value::from(spec.memory_high)),
            ("MemoryMax", Value::from(spec.memory_max)),
            ("CPUQuotaPerSecUSec", Value::from(spec.cpu_quota_per_sec_usec)),
            ("CollectMode", Value::from(spec.collect_mode)),
            ("OOMPolicy", Value::from(spec.oom_policy)),
        ];
        let job = self
            .manager
            .start_transient_unit(&spec.unit, "fail", &properties, &[])
            .await
            .map_err(|e| failed(dbus_message(&e)))?;
        let wait = async {
            while let Some(signal) = removed.next().await {
                let Ok(args) = signal.args() else { continue };
                if args.job.as_str() == job.as_str() {
                    return Some(args.result.clone());
                }
            }
            None
        };
        match tokio::time::timeout(JOB_TIMEOUT, wait).await {
            Ok(Some(result)) if result == "done" => Ok(()),
            Ok(Some(result)) => Err(failed(format!("the start job ended with \"{result}\""))),
            Ok(None) => Err(failed("the bus connection closed while waiting for the job".into())),
            Err(_) => Err(failed(format!("no answer from the user manager in {} s", JOB_TIMEOUT.as_secs()))),
        }
    }

    /// The processes in a unit's cgroup: PID and command line (GetUnitProcesses).
    pub async fn unit_processes(&self, unit: &str) -> Result<Vec<super::govern::UnitProcess>, LaunchError> {
        let listed = self
            .manager
            .get_unit_processes(unit)
            .await
            .map_err(|e| LaunchError::GovernFailed { unit: unit.to_owned(), detail: dbus_message(&e) })?;
        Ok(listed.into_iter().map(|(_, pid, cmdline)| super::govern::UnitProcess { pid, cmdline }).collect())
    }

    /// Moves every process of `from` into the running, delegated unit `into`
    /// (AttachProcessesToUnit). A process that exits meanwhile is skipped; returns how many
    /// were moved.
    pub async fn gather(&self, from: &str, into: &str) -> Result<usize, LaunchError> {
        let pids: Vec<u32> = self.unit_processes(from).await?.into_iter().map(|p| p.pid).collect();
        if pids.is_empty() {
            return Ok(0);
        }
        if self.manager.attach_processes_to_unit(into, "", &pids).await.is_ok() {
            return Ok(pids.len());
        }
        // One at a time: the call fails whole when one PID is gone.
        let mut moved = 0;
        let mut last = None;
        for pid in &pids {
            match self.manager.attach_processes_to_unit(into, "", &[*pid]).await {
                Ok(()) => moved += 1,
                Err(e) => last = Some(dbus_message(&e)),
            }
        }
        match last {
            Some(detail) if moved == 0 => Err(LaunchError::GovernFailed {
                unit: into.to_owned(),
                detail: format!("cannot move the processes of {from}: {detail}"),
            }),
            _ => Ok(moved),
        }
    }

    /// Stops a unit (StopUnit, mode "replace"); returns once systemd has queued the job, without
    /// waiting for it to finish. A frozen unit is thawed first: systemd queues the stop of a
    /// frozen unit and then fails it ("Cannot stop frozen unit", systemd 257).
    pub async fn stop(&self, unit: &str) -> Result<(), LaunchError> {
        // ThawUnit leaves a running unit as it is; a unit without a freezer (cgroup v1) cannot
        // have been frozen, so its refusal is no reason not to stop.
        let _ = self.manager.thaw_unit(unit).await;
        self.manager
            .stop_unit(unit, "replace")
            .await
            .map(|_| ())
            .map_err(|e| LaunchError::StopFailed { unit: unit.to_owned(), detail: dbus_message(&e) })
    }

    /// Restarts a running unit (RestartUnit, mode "replace"); returns once systemd has queued
    /// the job.
    pub async fn restart(&self, unit: &str) -> Result<(), LaunchError> {
        self.manager.restart_unit(unit, "replace").await.map(|_| ()).map_err(|e| changing(unit, "restart", &e))
    }

    /// The cgroup of a running unit (ControlGroup, below the cgroup2 mount); None when the
    /// unit is not loaded or has no processes.
    pub async fn control_group(&self, unit: &str) -> Option<String> {
        let properties = self.properties_of(unit).await.ok()?;
        let cgroup = properties.get("ControlGroup")?.downcast_ref::<String>().ok()?;
        (!cgroup.is_empty()).then_some(cgroup)
    }

    /// Freezes every process of a unit (FreezeUnit, systemd 246+: the cgroup v2 freezer);
    /// they keep their memory but use no CPU until thawed.
    pub async fn freeze(&self, unit: &str) -> Result<(), LaunchError> {
        self.manager.freeze_unit(unit).await.map_err(|e| changing(unit, "freeze", &e))
    }

    /// Thaws a frozen unit (ThawUnit).
    pub async fn thaw(&self, unit: &str) -> Result<(), LaunchError> {
        self.manager.thaw_unit(unit).await.map_err(|e| changing(unit, "thaw", &e))
    }

    /// Sets a unit's MemoryHigh and MemoryMax (None: "infinity") until it stops
    /// (SetUnitProperties with runtime=true: nothing is written to the unit's drop-ins on disk).
    pub async fn set_memory_limits(&self, unit: &str, limits: super::govern::Limits) -> Result<(), LaunchError> {
        let bytes = |limit: Option<u64>| Value::from(limit.unwrap_or(u64::MAX));
        let properties = [("MemoryHigh", bytes(limits.memory_high)), ("MemoryMax", bytes(limits.memory_max))];
        let set = self.manager.set_unit_properties(unit, true, &properties).await;
        set.map_err(|e| changing(unit, "change the limits of", &e))
    }

    /// Protects the session until the user manager stops (SetUnitProperties with
    /// runtime=true): MemoryLow= (bytes) of session.slice, and ManagedOOMMemoryPressure=
    /// ("kill", or "auto": systemd's default) of `app_slice`, the slice apps run in.
    pub async fn protect_session(
        &self,
        memory_low: u64,
        app_slice: &str,
        managed_oom: &str,
    ) -> Result<(), LaunchError> {
        let low = [("MemoryLow", Value::from(memory_low))];
        let set = self.manager.set_unit_properties("session.slice", true, &low).await;
        set.map_err(|e| changing("session.slice", "protect", &e))?;
        let oom = [("ManagedOOMMemoryPressure", Value::from(managed_oom))];
        let set = self.manager.set_unit_properties(app_slice, true, &oom).await;
        set.map_err(|e| changing(app_slice, "hand to systemd-oomd", &e))
    }

    /// Running app units: ours and those other launchers start (app-*.scope, app-*.service).
    pub async fn app_units(&self) -> Result<Vec<ListedUnit>, LaunchError> {
        let units = self
            .manager
            .list_units_by_patterns(&["active", "activating", "deactivating"], &["app-*.scope", "app-*.service"])
            .await
            .map_err(|e| LaunchError::NoUserManager { detail: dbus_message(&e) })?;
        let mut listed: Vec<ListedUnit> = units
            .into_iter()
            .map(|(name, description, _load, active_state, _sub, _following, path, ..)| ListedUnit {
                name,
                description,
                active_state,
                path,
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// The Service or Scope properties of a loaded unit by name (a failed unit stays loaded
    /// until reset): MemoryPeak, MemoryMax and the rest of its cgroup context.
    pub async fn properties_of(&self, name: &str) -> Result<HashMap<String, OwnedValue>, LaunchError> {
        let path =
            self.manager.get_unit(name).await.map_err(|e| LaunchError::NoUserManager { detail: dbus_message(&e) })?;
        let unit = ListedUnit { name: name.to_owned(), description: String::new(), active_state: String::new(), path };
        self.unit_properties(&unit).await
    }

    /// All properties of a unit's type interface (Scope or Service): ControlGroup,
    /// MemoryCurrent, MemoryHigh, MemoryMax, CPUUsageNSec, CPUQuotaPerSecUSec...
    pub async fn unit_properties(&self, unit: &ListedUnit) -> Result<HashMap<String, OwnedValue>, LaunchError> {
        let interface = if unit.name.ends_with(".scope") {
            "org.freedesktop.systemd1.Scope"
        } else {
            "org.freedesktop.systemd1.Service"
        };
        let properties = zbus::fdo::PropertiesProxy::builder(&self.connection)
            .destination("org.freedesktop.systemd1")
            .and_then(|b| b.path(unit.path.clone()))
            .map_err(|e| LaunchError::NoUserManager { detail: e.to_string() })?
            .build()
            .await
            .map_err(|e| LaunchError::NoUserManager { detail: e.to_string() })?;
        let name = zbus::names::InterfaceName::try_from(interface).expect("a valid interface name");
        properties.get_all(name).await.map_err(|e| LaunchError::NoUserManager { detail: e.to_string() })
    }
}

/// The D-Bus error's own message, without zbus's wrapping.
fn dbus_message(error: &zbus::Error) -> String {
    match error {
        zbus::Error::MethodError(name, Some(message), _) => format!("{message} ({})", name.as_str()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn object_paths_decode_to_unit_names() {
        assert_eq!(super::unit_from_object_path("g2_2eservice"), "g2.service");
        assert_eq!(
            super::unit_from_object_path("app_2dorg_2ekde_2edolphin_403f2a_2eservice"),
            "app-org.kde.dolphin@3f2a.service"
        );
    }
}
