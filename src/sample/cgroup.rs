//! cgroup v2 units under the systemd tree: memory and CPU per service and scope.

use super::Malformed;
use serde::{Deserialize, Serialize};

/// One leaf systemd unit (a .service or .scope with no units or slices below it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UnitSample {
    /// Path below the cgroup root, e.g. "user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope".
    pub path: String,
    /// memory.current less reclaimable page cache (memory.stat file - shmem).
    pub memory: u64,
    /// Reclaimable page cache charged to the unit.
    pub cache: u64,
    /// CPU time used (cpu.stat `usage_usec`), in µs; 0 when unreadable.
    pub cpu_usec: u64,
    /// memory.high / memory.max; None when "max" (no limit). Read for app units only.
    pub memory_high: Option<u64>,
    /// memory.max in bytes; None when "max". Read for app units only.
    pub memory_max: Option<u64>,
    /// memory.events counters; None except for app units.
    pub events: Option<MemoryEvents>,
    /// memory.pressure: how much this unit stalls on memory. Read for app units only.
    pub pressure: Option<super::Pressure>,
    /// cgroup.events `frozen 1`: the cgroup v2 freezer holds it (FreezeUnit). App units only.
    pub frozen: bool,
}

impl UnitSample {
    /// The unit's name: the last component of `path`.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// memory.events counters since the cgroup was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryEvents {
    /// Times the cgroup was reclaimed while under its memory.low protection.
    pub low: u64,
    /// Times the cgroup was throttled and made to reclaim for going over memory.high.
    pub high: u64,
    /// Times the cgroup was about to go over memory.max.
    pub max: u64,
    /// Times an allocation was about to fail at the limit (OOM).
    pub oom: u64,
    /// Processes in the cgroup killed by an OOM killer.
    pub oom_kill: u64,
}

/// Counters of several cgroups added up (an app's units).
impl std::ops::AddAssign for MemoryEvents {
    fn add_assign(&mut self, other: MemoryEvents) {
        self.low += other.low;
        self.high += other.high;
        self.max += other.max;
        self.oom += other.oom;
        self.oom_kill += other.oom_kill;
    }
}

/// "max" or a byte count (memory.high, memory.max).
pub fn parse_limit(text: &str) -> Result<Option<u64>, Malformed> {
    match text.trim() {
        "max" => Ok(None),
        value => value
            .parse()
            .map(Some)
            .map_err(|_| Malformed::at(1, format!("expected a byte count or `max`, found {value:?}"))),
    }
}

/// Parses a file holding one byte count (memory.current, zram disksize).
pub fn parse_current(text: &str) -> Result<u64, Malformed> {
    let value = text.trim();
    value.parse().map_err(|_| Malformed::at(1, format!("expected a byte count, found {value:?}")))
}

/// Reads `key value` lines (memory.events, memory.stat, cpu.stat), keeping the wanted keys.
pub fn parse_keyed<const N: usize>(text: &str, keys: [&str; N]) -> Result<[u64; N], Malformed> {
    let mut values = [0; N];
    for (index, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        if let Some(slot) = keys.iter().position(|k| *k == key) {
            values[slot] = value
                .trim()
                .parse()
                .map_err(|_| Malformed::at(index + 1, format!("expected `{key} N`, found {line:?}")))?;
        }
    }
    Ok(values)
}

/// Whether a cgroup.events text says `frozen 1` (kernel doc cgroup-v2.rst, "cgroup.events"):
/// the freezer holds the cgroup. A file without the key (before Linux 5.2) is not frozen.
pub fn is_frozen(events: &str) -> bool {
    parse_keyed(events, ["frozen"]).is_ok_and(|[frozen]| frozen == 1)
}

/// Reads memory.events (kernel doc: Documentation/admin-guide/cgroup-v2.rst); other keys are skipped.
pub fn parse_events(text: &str) -> Result<MemoryEvents, Malformed> {
    let [low, high, max, oom, oom_kill] = parse_keyed(text, ["low", "high", "max", "oom", "oom_kill"])?;
    Ok(MemoryEvents { low, high, max, oom, oom_kill })
}

/// Whether a cgroup directory name is a systemd unit that can hold memory.
pub fn is_unit_name(name: &str) -> bool {
    name.ends_with(".service") || name.ends_with(".scope")
}

/// Whether a cgroup directory name is a systemd slice.
pub fn is_slice_name(name: &str) -> bool {
    name.ends_with(".slice")
}

/// App units per the desktop-environment spec: ours and those Plasma or others start.
pub fn is_app_unit(name: &str) -> bool {
    name.starts_with("app-") && is_unit_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_current() {
        assert_eq!(parse_limit("max\n"), Ok(None));
        assert_eq!(parse_limit("3221225472\n"), Ok(Some(3221225472)));
        assert!(parse_limit("abc").is_err());
        assert_eq!(parse_current("123\n"), Ok(123));
        assert!(parse_current("abc\n").unwrap_err().reason.contains("abc"));
    }

    #[test]
    fn events_and_stat_keys() {
        let e = parse_events("low 0\nhigh 17\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n").unwrap();
        assert_eq!(e, MemoryEvents { low: 0, high: 17, max: 3, oom: 1, oom_kill: 1 });
        let [file, shmem] = parse_keyed("anon 100\nfile 4096\nkernel 5\nshmem 1024\n", ["file", "shmem"]).unwrap();
        assert_eq!((file, shmem), (4096, 1024));
        assert_eq!(parse_keyed("usage_usec x\n", ["usage_usec"]).unwrap_err().line, 1);
    }

    #[test]
    fn unit_names() {
        assert!(is_unit_name("plasma-kwin_x11.service") && is_unit_name("app-ballast-discord-1a.scope"));
        assert!(!is_unit_name("app.slice"));
        assert!(is_app_unit("app-org.kde.dolphin@abc.service") && !is_app_unit("pipewire.service"));
        assert!(is_frozen("populated 1\nfrozen 1\n") && !is_frozen("populated 1\nfrozen 0\n"));
        assert!(!is_frozen("populated 1\n"), "Linux before 5.2 has no freezer");
    }
}
