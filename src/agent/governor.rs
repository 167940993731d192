//! The agent's side of governing (launch::govern has the design): what it remembers between
//! ticks about app units, and the D-Bus calls that carry out each tick's plan.

use crate::launch::govern::{self, Recognition, Step};
use crate::launch::{self, ScopeStatus, UserManager};
use crate::profile::Profile;
use crate::sample::CgroupMode;
use std::collections::{HashMap, HashSet};

/// How long (in ticks) a unit whose processes were moved out is not looked at again for
/// governing; after that a process started there since (a restarted service) is moved too.
const EMPTIED_TICKS: u64 = 30;

#[derive(Default)]
pub struct Governor {
    /// What each running app unit is, recognised once (by name, else by its programs).
    recognitions: HashMap<String, Recognition>,
    /// Steps systemd refused: not tried again while their units live.
    refused: HashSet<Step>,
    /// Units whose processes were moved out, and the tick they were: left out of planning
    /// for `EMPTIED_TICKS` (a Plasma service stays active while its moved main process lives).
    emptied: HashMap<String, u64>,
    /// Whether "MemoryHigh is not enforced on cgroup v1" was said (once per run).
    said_v1: bool,
}

impl Governor {
    /// Fills in what each unit is: remembered, else from the programs in it (one
    /// GetUnitProcesses per new unit; a unit with no process yet is asked again next tick).
    pub async fn recognise(&mut self, manager: &UserManager, profile: &Profile, statuses: &mut [ScopeStatus]) {
        for status in statuses.iter_mut() {
            if let Some(recognition) = self.recognitions.get(&status.unit) {
                status.recognised(profile, *recognition);
                continue;
            }
            let Ok(processes) = manager.unit_processes(&status.unit).await else { continue };
            if processes.is_empty() {
                continue;
            }
            launch::recognise_with(profile, status, &processes);
            self.recognitions.insert(status.unit.clone(), status.observed(profile).recognition);
        }
    }

    /// Forgets units that are gone, and emptied units after `EMPTIED_TICKS`.
    pub fn forget_gone(&mut self, statuses: &[ScopeStatus], tick: u64) {
        let running = |unit: &str| statuses.iter().any(|s| s.unit == unit);
        self.recognitions.retain(|unit, _| running(unit));
        self.refused.retain(|step| step.units().into_iter().all(running));
        self.emptied.retain(|unit, at| tick - *at < EMPTIED_TICKS && running(unit));
    }

    /// Plans (launch::govern::plan) and carries out each step not refused before; what was
    /// done or refused goes to the journal (stderr).
    pub async fn carry_out(
        &mut self,
        manager: &UserManager,
        profile: &Profile,
        statuses: &mut [ScopeStatus],
        tick: u64,
        mode: CgroupMode,
    ) {
        let observed: Vec<govern::Observed> =
            statuses.iter().filter(|s| !self.emptied.contains_key(&s.unit)).map(|s| s.observed(profile)).collect();
        for step in govern::plan(profile, &observed) {
            if self.refused.contains(&step) {
                continue;
            }
            match launch::carry_out(manager, profile, &step).await {
                Ok(done) => {
                    done.into_iter().for_each(|line| eprintln!("ballast: {line}"));
                    if mode == CgroupMode::V1 && !std::mem::replace(&mut self.said_v1, true) {
                        eprintln!("ballast: cgroup v1: the kernel does not enforce MemoryHigh, so governed apps are held at MemoryMax only");
                    }
                    self.emptied.extend(step.emptied().into_iter().map(|unit| (unit.to_owned(), tick)));
                    // Read before the step: thawed now, so the "App frozen" notifications close
                    // in this tick.
                    let thawed = step.thawed();
                    statuses.iter_mut().filter(|s| thawed.contains(&s.unit.as_str())).for_each(|s| s.frozen = false);
                }
                Err(e) => {
                    eprintln!("ballast: {e}; not tried again while these units run");
                    self.refused.insert(step);
                }
            }
        }
    }
}
