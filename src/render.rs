//! The human-readable status table. Pure: Report in, text out.

use crate::budget::{Attribution, CategoryLine, Report, Status, ZramState};
use crate::sample::{Pressure, PressureSet};
use std::fmt::Write;

/// Bytes as people read them in a memory table: "530M", "1.2G".
pub fn human(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b >= K * K * K {
        format!("{:.1}G", b / (K * K * K))
    } else if b >= K * K {
        format!("{:.0}M", b / (K * K))
    } else if b >= K {
        format!("{:.0}K", b / K)
    } else {
        format!("{bytes}")
    }
}

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, status: Status, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match status {
            Status::Ok => "32",
            Status::Near => "33",
            Status::Breach => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

const BAR: usize = 20;

/// A bar of `used` against `limit`; past the limit the bar is full and ends in '!'.
fn bar(used: u64, limit: u64) -> String {
    if limit == 0 {
        return if used == 0 { format!("[{}]", "·".repeat(BAR)) } else { format!("[{}!]", "█".repeat(BAR - 1)) };
    }
    let filled = ((used as f64 / limit as f64) * BAR as f64).round() as usize;
    if filled > BAR || used > limit {
        format!("[{}!]", "█".repeat(BAR - 1))
    } else {
        format!("[{}{}]", "█".repeat(filled), "·".repeat(BAR - filled))
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Near => "near",
        Status::Breach => "OVER",
    }
}

fn pressure_text(p: &Option<Pressure>) -> String {
    match p {
        Some(p) => match p.full {
            Some(full) => format!("some {:.2} full {:.2}", p.some.avg10, full.avg10),
            None => format!("some {:.2}", p.some.avg10),
        },
        None => "n/a".into(),
    }
}

fn psi_line(psi: &PressureSet) -> String {
    format!(
        "memory {}  cpu {}  io {}  (% stalled, avg10)",
        pressure_text(&psi.memory),
        pressure_text(&psi.cpu),
        pressure_text(&psi.io)
    )
}

/// The agent's pressure watch in words: who tells it of pressure, and what is missing.
fn watch_line(watch: &crate::budget::PressureWatch) -> String {
    let mut line = match watch.mode {
        crate::budget::WatchMode::Triggers => format!(
            "pushed by the kernel: trigger `{}` on the system and {} cgroup(s)",
            watch.trigger,
            watch.cgroups.len()
        ),
        crate::budget::WatchMode::Polling => "read every tick (no PSI triggers)".to_owned(),
    };
    if let Some(problem) = &watch.problem {
        line.push_str(&format!("; {problem}"));
    }
    line
}

fn category_row(out: &mut String, style: &Style, c: &CategoryLine) {
    let (bar_text, state) = if c.reclaimable {
        (format!("{:<22}", "(reclaimable)"), style.dim("info"))
    } else {
        (bar(c.used, c.limit), style.paint(c.status, status_word(c.status)))
    };
    let cpu = c.cpu.map(|cpu| format!("  cpu {cpu:.2}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "  {:<20} {:>7} {:>7} {:>9}  {bar_text} {state}{cpu}",
        c.name,
        human(c.used),
        human(c.idle),
        human(c.workload)
    );
    for app in &c.apps {
        let events = app
            .events
            .filter(|e| e.high + e.max + e.oom_kill > 0)
            .map(|e| format!("  events: high {} max {} oom_kill {}", e.high, e.max, e.oom_kill))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {:<18} {:>7}  high {} max {}  ({} {}){events}",
            app.name,
            human(app.used),
            human(app.memory_high),
            human(app.memory_max),
            app.members,
            if app.members == 1 { "member" } else { "members" }
        );
    }
}

/// One line per GPU (unknown figures as "?", never 0), or why there is none.
pub fn gpu_lines(gpu: &crate::budget::GpuLine) -> Vec<String> {
    if gpu.report.devices.is_empty() {
        return vec![format!("none: {}", gpu.report.reason.as_deref().unwrap_or("no GPU found"))];
    }
    let percent = |v: Option<u32>| v.map_or("?".to_owned(), |v| format!("{v}%"));
    let size = |v: Option<u64>| v.map_or("?".to_owned(), human);
    gpu.report
        .devices
        .iter()
        .map(|d| {
            let temperature = d.temperature_c.map(|t| format!(", {t}°C")).unwrap_or_default();
            format!(
                "{}: {} of {} VRAM, busy {}, video decode {}, encode {}{temperature}",
                d.name.as_deref().unwrap_or("GPU"),
                size(d.memory_used),
                size(d.memory_total),
                percent(d.utilization.gpu),
                percent(d.utilization.decoder),
                percent(d.utilization.encoder),
            )
        })
        .chain(gpu.vram.as_ref().map(|v| format!("VRAM budget {}: {}", human(v.budget), status_word(v.status))))
        .collect()
}

/// The zram line of `status`: what is stored in how much, or why there is nothing.
fn zram_line(z: &crate::budget::ZramReport) -> String {
    match z.state {
        ZramState::Active => format!(
            "{} stored in {} ({}), {} of {} used, priority {}",
            human(z.orig_data),
            human(z.mem_used),
            z.ratio.map_or("nothing compressed yet".into(), |r| format!("{r:.1}x")),
            z.fill.map_or("?".into(), |f| format!("{:.0}%", f * 100.0)),
            human(z.disksize),
            z.swap_priority.map_or("?".into(), |p| p.to_string())
        ),
        ZramState::Unused => format!("{} device(s) present but no zram swap is active", z.devices.len()),
        ZramState::Absent => "no zram device".into(),
    }
}

/// The CPU line of `status`: each side's CPUs against its threads.
fn cpu_line(cpu: Option<&crate::budget::CpuSplit>) -> String {
    match cpu {
        Some(cpu) => format!(
            "os+essentials {:.2} of {:.0} threads, workload {:.2} of {:.0} threads (over {:.1} s)",
            cpu.os.used, cpu.os.budget, cpu.workload.used, cpu.workload.budget, cpu.interval_seconds
        ),
        None => "(needs a second sample)".into(),
    }
}

/// The human-readable status table of a report; `color` adds ANSI colours (for a terminal).
pub fn status_text(report: &Report, color: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    let state = report.state.as_str();
    let attribution = match report.sources.attribution {
        Attribution::Units => "per systemd unit",
        Attribution::Processes => "per process",
    };
    let _ = writeln!(
        out,
        "ballast · profile {} · {state} · cgroup {}, memory counted {attribution}",
        report.profile, report.sources.cgroup
    );
    let t = &report.total;
    let _ = writeln!(
        out,
        "RAM  used {} of {}, available {}   budget {} ({state})  {} {}",
        human(t.used),
        human(report.memory.total),
        human(report.memory.available),
        human(t.limit),
        bar(t.used, t.limit),
        style.paint(t.status, status_word(t.status))
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "  {:<20} {:>7} {:>7} {:>9}", "category", "used", "idle", "workload");
    for category in report.categories.iter().filter(|c| !c.reclaimable) {
        category_row(&mut out, &style, category);
    }
    let _ = writeln!(out, "  {:<20} {:>7}", "unclassified", human(report.unclassified));
    for category in report.categories.iter().filter(|c| c.reclaimable) {
        category_row(&mut out, &style, category);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "zram  {}", zram_line(&report.zram));
    let _ = writeln!(out, "swap  {} of {} used", human(report.memory.swap_used), human(report.memory.swap_total));
    let _ = writeln!(out, "PSI   {}", psi_line(&report.psi));
    if let Some(watch) = &report.pressure_watch {
        let _ = writeln!(out, "      {}", watch_line(watch));
    }
    let _ = writeln!(out, "CPU   {}", cpu_line(report.cpu.as_ref()));
    for line in gpu_lines(&report.gpu) {
        let _ = writeln!(out, "GPU   {line}");
    }
    for breach in &report.breaches {
        let _ = writeln!(
            out,
            "{}",
            style.paint(
                Status::Breach,
                &format!("OVER  {}: {} above its {} target", breach.id, human(breach.used), human(breach.limit))
            )
        );
    }
    for problem in &report.sources.problems {
        let _ = writeln!(out, "{}", style.dim(&format!("note  {problem}")));
    }
    out
}

/// `ballast apps`: one line per catalog app with its limits and where its binary is.
pub fn apps_table(apps: &[crate::launch::CatalogApp]) -> String {
    let mut out =
        format!("{:<15} {:<16} {:>6} {:>6} {:>5} {:>6}  installed\n", "app", "binary", "high", "max", "cpu", "v8 MB");
    for app in apps {
        let installed = app.binary.as_ref().map_or("no".to_owned(), |b| format!("yes ({})", b.display()));
        let _ = writeln!(
            out,
            "{:<15} {:<16} {:>6} {:>6} {:>5} {:>6}  {installed}",
            app.id,
            app.exec,
            app.memory_high.to_string(),
            app.memory_max.to_string(),
            app.cpu_quota.to_string(),
            app.v8_heap_mb.map_or("-".to_owned(), |m| m.to_string()),
        );
    }
    out
}

/// `ballast events`: one line per event, local time first; "no events" when there are none.
pub fn events_table(events: &[crate::events::Event]) -> String {
    if events.is_empty() {
        return "No kills seen yet.\n".into();
    }
    let mut out = format!("{:<19}  {:<13}  {:<20}  why\n", "time", "what", "app");
    for event in events {
        let _ = writeln!(
            out,
            "{:<19}  {:<13}  {:<20}  {} ({})",
            local_time(event.time),
            event.kind.as_str(),
            event.who,
            event.why,
            event.unit
        );
    }
    out
}

/// `ballast suggest`: each recorded app's limits now and the suggested ones, with the
/// evidence; where there is none yet, how it comes.
pub fn suggest_table(apps: &[crate::usage::AppLimits], record: &std::path::Path) -> String {
    use crate::usage::{MIN_DAYS, MIN_DAY_SAMPLES, SUGGEST_DAYS};
    if apps.is_empty() {
        return format!(
            "No catalog app on record yet. The agent records what each uses (cgroup v2) in {};\nlimits are suggested after {MIN_DAYS} days with {MIN_DAY_SAMPLES} samples or more.\n",
            record.display()
        );
    }
    let limits = |high: u64, max: u64| format!("{} / {}", human(high), human(max));
    let mut out = format!(
        "{:<16}  {:>4}  {:<17}  {:<17}  evidence ({SUGGEST_DAYS} newest days on record)\n",
        "app", "days", "now high / max", "suggested"
    );
    for app in apps {
        let (suggested, evidence) = match &app.suggestion {
            Some(s) => (
                limits(s.memory_high, s.memory_max),
                format!(
                    "p95 {}, peak {} at {}, {} samples",
                    human(s.memory.p95),
                    human(s.memory.max),
                    local_time(s.peak_at),
                    s.samples
                ),
            ),
            None => ("-".to_owned(), format!("{} more day(s) of use needed", app.days_needed())),
        };
        let now = limits(app.memory_high, app.memory_max);
        let _ = writeln!(out, "{:<16}  {:>4}  {now:<17}  {suggested:<17}  {evidence}", app.name, app.days);
    }
    out
}

/// `seconds` since the epoch as local time, `YYYY-MM-DD HH:MM:SS` (localtime_r(3)).
pub fn local_time(seconds: u64) -> String {
    let time = seconds as libc::time_t;
    // SAFETY: tm is plain data that localtime_r fills; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
        return seconds.to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// `ballast scopes`: one line per catalog app with its units' total use against the
/// catalog's limits, then its units (who started each, use, limits, events); units of no
/// catalog app last.
pub fn scopes_table(profile: &crate::profile::Profile, statuses: &[crate::launch::ScopeStatus]) -> String {
    let size = |v: Option<u64>| v.map_or("-".to_owned(), human);
    let mut out = format!(
        "{:<46} {:>7} {:>7} {:>7} {:>6} {:>8} {:>6}  {:<8} events (high/max/oom_kill)\n",
        "app / unit", "memory", "high", "max", "cpu", "cpu time", "stall", "started"
    );
    let unit_line = |out: &mut String, s: &crate::launch::ScopeStatus| {
        let events = s.events.map_or("-".to_owned(), |e| format!("{}/{}/{}", e.high, e.max, e.oom_kill));
        let held = match crate::launch::held_at_limit(&s.unit, s, false).map(|h| h.limit) {
            Some(crate::launch::Limit::MemoryHigh) => "  held at MemoryHigh",
            Some(crate::launch::Limit::MemoryMax) => "  near MemoryMax",
            None => "",
        };
        let starter =
            serde_json::to_value(s.starter).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<44} {:>7} {:>7} {:>7} {:>6} {:>7.1}s {:>6}  {starter:<8} {events}{held}",
            s.unit,
            size(s.memory_current),
            size(s.memory_high),
            size(s.memory_max),
            s.cpu_quota.map_or("-".to_owned(), |q| format!("{q}%")),
            s.cpu_usage_nsec.map_or(0.0, |n| n as f64 / 1e9),
            s.pressure.map_or("-".to_owned(), |p| format!("{:.0}%", p.some.avg10)),
        );
    };
    for app in &profile.apps {
        let units: Vec<&crate::launch::ScopeStatus> =
            statuses.iter().filter(|s| s.app.as_deref() == Some(app.id.as_str())).collect();
        if units.is_empty() {
            continue;
        }
        let total: u64 = units.iter().filter_map(|s| s.memory_current).sum();
        let governed = units.iter().filter(|s| s.governed).count();
        let note = match (governed, units.len()) {
            (0, _) => "not governed (its govern setting)".to_owned(),
            (1, 1) => "governed".to_owned(),
            (g, n) if g == n => format!("governed: {n} units, being gathered into one"),
            (g, n) => format!("{g} of {n} units governed"),
        };
        let _ = writeln!(
            out,
            "{:<46} {:>7} {:>7} {:>7} {:>6}  {note}",
            app.name,
            human(total),
            app.memory_high.to_string(),
            app.memory_max.to_string(),
            app.cpu_quota.to_string()
        );
        units.iter().for_each(|s| unit_line(&mut out, s));
    }
    let others: Vec<&crate::launch::ScopeStatus> = statuses.iter().filter(|s| s.app.is_none()).collect();
    if !others.is_empty() {
        out.push_str("not in the catalog\n");
        others.iter().for_each(|s| unit_line(&mut out, s));
    }
    out
}

/// `ballast doctor`: a line per check (its verdict colored on a terminal), then its fix.
pub fn doctor_text(checks: &[crate::doctor::Check], color: bool) -> String {
    let mut out = String::new();
    for check in checks {
        let word = check.verdict.as_str().to_owned();
        let painted = match (color, check.verdict) {
            (false, _) => word,
            (true, crate::doctor::Verdict::Pass) => format!("\x1b[32m{word}\x1b[0m"),
            (true, crate::doctor::Verdict::Skip) => format!("\x1b[2m{word}\x1b[0m"),
            (true, crate::doctor::Verdict::Warn) => format!("\x1b[33m{word}\x1b[0m"),
            (true, crate::doctor::Verdict::Fail) => format!("\x1b[1;31m{word}\x1b[0m"),
        };
        let _ = writeln!(out, "{painted:<4}  {:<13} {}", check.id, check.message);
        if let Some(fix) = &check.fix {
            let _ = writeln!(out, "      {:<13} fix: {fix}", "");
        }
    }
    out
}

/// `ballast tune TARGET --status`: the session, each setting's file value against its target
/// (`ok`, `->` to change, `!!` locked, `--` unused by this session), then the live state.
pub fn tune_status_text(
    target: crate::tune::Target,
    session: &crate::tune::Session,
    status: &[crate::tune::SettingStatus],
    config_dir: &std::path::Path,
    live: &crate::tune::reload::Live,
) -> String {
    use crate::tune::Target;
    let version = session.kwin_version.as_deref().unwrap_or("version unknown");
    let mut out = format!("session: {} ({version}, from {})\n", session.kwin(), session.source);
    for s in status {
        let mark = match (&s.unused, s.matches, &s.locked_by) {
            (Some(_), _, _) => "-- ",
            (None, true, _) => "ok ",
            (None, false, Some(_)) => "!! ",
            (None, false, None) => "-> ",
        };
        let from = match (&s.unused, &s.locked_by, &s.source) {
            (Some(why), _, _) => format!("; {why}"),
            (None, Some(lock), _) => format!("; locked by {}", lock.display()),
            (None, None, Some(source)) if !source.starts_with(config_dir) => format!("; from {}", source.display()),
            _ => String::new(),
        };
        let value = s.file_value.as_deref().unwrap_or("(unset)");
        let group = s.group.replace('\x1d', "][");
        let _ = writeln!(out, "{mark} {:<12} [{group}] {} = {value}  (target {}{from})", s.file, s.key, s.target);
    }
    if matches!(target, Target::Kwin | Target::All) {
        let _ = match &live.kwin {
            None => writeln!(out, "KWin: not running on this session bus (live values unknown)"),
            Some(kwin) => writeln!(
                out,
                "KWin live: {}; effects loaded: {}",
                kwin.support_information.join(", "),
                kwin.loaded_effects.join(" ")
            ),
        };
    }
    if matches!(target, Target::Baloo | Target::All) {
        let _ = match &live.baloo_state {
            Some(state) => writeln!(out, "Baloo live: running, {state}"),
            None => writeln!(out, "Baloo: not running on this session bus"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(530 << 20), "530M");
        assert_eq!(human(1288 << 20), "1.3G");
        assert_eq!(human(0), "0");
        assert_eq!(human(12 << 10), "12K");
    }

    #[test]
    fn bars_fill_and_overflow() {
        assert_eq!(bar(0, 100), format!("[{}]", "·".repeat(20)));
        assert_eq!(bar(50, 100), format!("[{}{}]", "█".repeat(10), "·".repeat(10)));
        assert_eq!(bar(101, 100), format!("[{}!]", "█".repeat(19)));
        assert_eq!(bar(5, 0), format!("[{}!]", "█".repeat(19)));
    }
}
