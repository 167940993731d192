//! The window's data, worked out from what the agent sent: sizes as text, fractions for bars,
//! trends, notices. Pure (data in, data out) so every figure is tested without Qt; the bridge
//! hands these structs to QML as plain lists and maps (camelCase keys).

use crate::report::{AppLimits, CatalogApp, Event, HistoryPoint, Measurement, Report, ScopeStatus, Session};
use ballast::budget::{CategoryLine, ZramState, SCHEMA_VERSION};
use ballast::gpu::GpuSource;
use ballast::sample::Pressure;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};

/// How far back the trend column looks.
const TREND_SECONDS: u64 = 60;
/// A change smaller than this over the trend window reads as steady.
const STEADY_BYTES: i64 = 16 << 20;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    pub summary: Summary,
    pub segments: Vec<Segment>,
    pub categories: Vec<CategoryRow>,
    pub history: HistoryChart,
    pub zram: ZramView,
    pub gpu: GpuView,
    pub pressure: PressureView,
    pub notices: Vec<Notice>,
    pub scopes: Vec<ScopeRow>,
    pub apps: Vec<AppButton>,
    /// The event log, newest first.
    pub events: Vec<EventRow>,
    /// The apps on the usage record: limits now and learnt.
    pub learnt: Vec<LearntRow>,
    /// What tuning saved, as `ballast tune --measure` measured it last.
    pub savings: SavingsView,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub profile: String,
    /// "idle" or "workload".
    pub state: String,
    /// "ok", "near" or "breach".
    pub status: String,
    pub used_text: String,
    pub limit_text: String,
    pub ram_text: String,
    pub available_text: String,
    pub swap_text: String,
    /// Where the idle and workload targets sit on the RAM bar (0..1).
    pub idle_mark: f64,
    pub workload_mark: f64,
    pub idle_text: String,
    pub workload_text: String,
}

/// A piece of the stacked RAM bar; `start` and `fraction` are shares of RAM.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// "category", "zram", "unclassified" or "cache" (reclaimable: drawn lighter).
    pub kind: String,
    /// The category's place in the profile, which picks its color; -1 for the others.
    pub color_index: i32,
    pub start: f64,
    pub fraction: f64,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRow {
    pub id: String,
    pub name: String,
    pub color_index: i32,
    pub used_text: String,
    pub idle_text: String,
    pub workload_text: String,
    pub status: String,
    /// Use against the current state's target, capped at 1 for the bar.
    pub fraction: f64,
    pub reclaimable: bool,
    pub cpu_text: String,
    pub apps_text: String,
    /// "up", "down", "steady" or "" while unknown.
    pub trend: String,
    pub trend_text: String,
}

/// The last ten minutes; x is seconds before now (negative), y values as they come.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryChart {
    pub seconds: f64,
    pub times: Vec<f64>,
    pub used: Vec<f64>,
    pub zram: Vec<f64>,
    pub pressure: Vec<f64>,
    /// Top of the memory axis: RAM.
    pub memory_max: f64,
    /// Top of the pressure axis: at least 10 %.
    pub pressure_max: f64,
    pub limit: f64,
    pub memory_max_text: String,
    pub pressure_max_text: String,
    pub used_text: String,
    pub zram_text: String,
    pub pressure_text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZramView {
    /// "active", "unused" or "absent".
    pub state: String,
    pub state_text: String,
    pub original_text: String,
    pub compressed_text: String,
    pub pool_text: String,
    pub ratio_text: String,
    /// Compressed size as a share of the original (the bar's inner part).
    pub compressed_fraction: f64,
    /// Original data against the device size.
    pub fill_text: String,
    pub device_text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuView {
    /// The devices' names, or "none".
    pub text: String,
    /// Why there is no GPU figure, and what could not be read this tick.
    pub reason: String,
    pub devices: Vec<GpuDeviceRow>,
    /// "" without a VRAM figure.
    pub vram_text: String,
    pub vram_fraction: f64,
    pub vram_status: String,
    /// Video memory by category (and its apps) where the GPU tells per process.
    pub memory: Vec<GpuMemoryRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuDeviceRow {
    pub name: String,
    pub memory_text: String,
    pub memory_fraction: f64,
    /// Each "" where the driver does not tell.
    pub utilization_text: String,
    pub video_text: String,
    pub sensors_text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuMemoryRow {
    pub name: String,
    pub memory_text: String,
    pub apps_text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PressureView {
    pub rows: Vec<PressureRow>,
    pub cpu_known: bool,
    pub cpu: Vec<CpuRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PressureRow {
    pub name: String,
    pub some_text: String,
    pub full_text: String,
    /// avg10 of "some" on a 0..1 scale where 1 is 10 % stalled (the point it hurts).
    pub fraction: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuRow {
    pub name: String,
    pub text: String,
    pub fraction: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// "error" or "information".
    pub level: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeRow {
    pub unit: String,
    pub name: String,
    /// Its freezer holds it (cgroup.events `frozen 1`): Thaw instead of Freeze.
    pub frozen: bool,
    pub used_text: String,
    pub high_text: String,
    pub max_text: String,
    /// Use and MemoryHigh as shares of MemoryMax (or of the larger of the two without a max).
    pub used_fraction: f64,
    pub high_mark: f64,
    pub events_text: String,
    /// "ok", "warning" (limit hits) or "error" (OOM kills).
    pub events_level: String,
}

/// One line of the event log: a kill and why, or what was chosen for an app.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    /// "just now", "5 min ago", "3 h ago", "2 d ago".
    pub ago_text: String,
    pub who: String,
    /// "OOM-killed", "Killed by systemd-oomd", "Frozen"...
    pub what: String,
    pub why: String,
    /// "error" for kills, "ok" for the user's choices.
    pub level: String,
}

/// One app on the usage record: its limits now, those learnt from its use, and the evidence.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearntRow {
    pub name: String,
    /// MemoryHigh / MemoryMax now: "2 GiB / 3 GiB".
    pub now_text: String,
    /// The suggested MemoryHigh / MemoryMax; empty until there is enough evidence.
    pub suggested_text: String,
    /// "p95 1.2 GiB, peak 1.9 GiB · 5 days, 3100 samples", or how many more days it needs.
    pub evidence_text: String,
}

/// The last measurement of what tuning saved: a row per component and when it was taken.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavingsView {
    pub rows: Vec<SavingRow>,
    /// "tune all, 3 h ago, read 60 s after the apply"; empty when nothing was measured.
    pub when_text: String,
}

/// One component: PSS before and after the apply, and the seed's claim.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavingRow {
    pub component: String,
    pub before_text: String,
    pub after_text: String,
    /// "12 MiB (8%)"; "-3 MiB (-1%)" when it grew; "–" without both readings.
    pub savings_text: String,
    /// The seed's claim, or empty.
    pub claim_text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppButton {
    pub id: String,
    pub name: String,
    pub installed: bool,
    pub running: bool,
    pub limits_text: String,
}

/// Sizes as Plasma's System Monitor writes them: binary units, one decimal from GiB up.
pub fn size_text(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.0} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.0} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Category use a while ago, to tell which way each one is going.
#[derive(Default)]
pub struct Trends {
    seen: VecDeque<(u64, HashMap<String, u64>)>,
}

impl Trends {
    pub fn observe(&mut self, time: u64, report: &Report) {
        self.seen.push_back((time, report.categories.iter().map(|c| (c.id.clone(), c.used)).collect()));
        // Keep the newest point at least TREND_SECONDS old, and nothing older.
        while self.seen.len() > 1 && self.seen[1].0 + TREND_SECONDS <= time {
            self.seen.pop_front();
        }
    }

    /// ("up" | "down" | "steady", text) for a category; None until a minute has been seen.
    fn of(&self, category: &CategoryLine, now: u64) -> Option<(&'static str, String)> {
        let (then, used) = self.seen.front()?;
        if then + TREND_SECONDS > now {
            return None;
        }
        let before = *used.get(&category.id)?;
        let change = category.used as i64 - before as i64;
        Some(match change {
            c if c > STEADY_BYTES => ("up", format!("+{} in {} s", size_text(c.unsigned_abs()), now - then)),
            c if c < -STEADY_BYTES => ("down", format!("−{} in {} s", size_text(c.unsigned_abs()), now - then)),
            _ => ("steady", "steady".to_owned()),
        })
    }
}

/// Everything but the doctor's checks, which come on request.
pub struct Inputs<'a> {
    pub now: u64,
    pub report: &'a Report,
    pub history: &'a [HistoryPoint],
    pub scopes: &'a [ScopeStatus],
    pub apps: &'a [CatalogApp],
    /// The event log, oldest first (Events()).
    pub events: &'a [Event],
    /// The apps on the usage record (Suggestions()).
    pub learnt: &'a [AppLimits],
    /// The last `ballast tune --measure` (Savings()).
    pub savings: Option<&'a Measurement>,
    pub trends: &'a Trends,
}

pub fn build(inputs: &Inputs) -> View {
    let report = inputs.report;
    View {
        summary: summary(report),
        segments: segments(report),
        categories: report
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| category_row(i, c, inputs.trends.of(c, inputs.now)))
            .collect(),
        history: history(report, inputs.history, inputs.now),
        zram: zram(report),
        gpu: gpu(report),
        pressure: pressure(report),
        notices: notices(report),
        // One row per app: a catalog app's units add up (ballast::launch::running_apps).
        scopes: ballast::launch::running_apps(inputs.scopes)
            .iter()
            .map(|app| scope_row(&app.total, inputs.apps))
            .collect(),
        apps: inputs
            .apps
            .iter()
            .map(|app| AppButton {
                id: app.id.clone(),
                name: app.name.clone(),
                installed: app.installed,
                running: inputs.scopes.iter().any(|s| s.app.as_deref() == Some(&app.id)),
                limits_text: format!("high {} · max {} · CPU {}", app.memory_high, app.memory_max, app.cpu_quota),
            })
            .collect(),
        events: inputs.events.iter().rev().map(|e| event_row(e, inputs.now)).collect(),
        learnt: inputs.learnt.iter().map(learnt_row).collect(),
        savings: inputs.savings.map(|m| savings(m, inputs.now)).unwrap_or_default(),
    }
}

fn savings(measurement: &Measurement, now: u64) -> SavingsView {
    let size = |bytes: Option<u64>| bytes.map_or("–".to_owned(), size_text);
    let rows = measurement
        .rows
        .iter()
        .map(|row| SavingRow {
            component: row.component.clone(),
            before_text: size(row.before),
            after_text: size(row.after),
            savings_text: row.savings_text(size_text).unwrap_or_else(|| "–".to_owned()),
            claim_text: row.claim.clone().unwrap_or_default(),
        })
        .collect();
    let when_text = format!(
        "tune {}, {}, read {} s after the apply",
        measurement.target,
        ago_text(now.saturating_sub(measurement.time)),
        measurement.settle_seconds
    );
    SavingsView { rows, when_text }
}

fn learnt_row(app: &AppLimits) -> LearntRow {
    let limits = |high: u64, max: u64| format!("{} / {}", size_text(high), size_text(max));
    let (suggested_text, evidence_text) = match &app.suggestion {
        Some(s) => (
            limits(s.memory_high, s.memory_max),
            format!(
                "p95 {}, peak {} · {} days, {} samples",
                size_text(s.memory.p95),
                size_text(s.memory.max),
                s.days,
                s.samples
            ),
        ),
        None => {
            let more = app.days_needed();
            (String::new(), format!("{more} more day{} of use needed", if more == 1 { "" } else { "s" }))
        }
    };
    LearntRow {
        name: app.name.clone(),
        now_text: limits(app.memory_high, app.memory_max),
        suggested_text,
        evidence_text,
    }
}

/// A saved session's view, on the session's own clock (its last history point), so the
/// same fixture always looks the same.
pub fn of_session(session: &Session) -> View {
    let now = session.history.last().map_or(0, |p| p.time);
    let mut trends = Trends::default();
    if let Some(earlier) = &session.earlier {
        trends.observe(now.saturating_sub(earlier.seconds_ago), &earlier.report);
    }
    trends.observe(now, &session.report);
    build(&Inputs {
        now,
        report: &session.report,
        history: &session.history,
        scopes: &session.scopes,
        apps: &session.apps,
        events: &session.events,
        learnt: &session.learnt,
        savings: session.savings.as_ref(),
        trends: &trends,
    })
}

fn summary(report: &Report) -> Summary {
    let ram = report.memory.total;
    Summary {
        profile: report.profile.clone(),
        state: report.state.as_str().to_owned(),
        status: report.total.status.as_str().to_owned(),
        used_text: size_text(report.total.used),
        limit_text: size_text(report.total.limit),
        ram_text: size_text(ram),
        available_text: size_text(report.memory.available),
        swap_text: format!("{} of {}", size_text(report.memory.swap_used), size_text(report.memory.swap_total)),
        idle_mark: share(report.total.idle, ram).min(1.0),
        workload_mark: share(report.total.workload, ram).min(1.0),
        idle_text: size_text(report.total.idle),
        workload_text: size_text(report.total.workload),
    }
}

/// Used memory by category, then zram's pool and what no category claims, then cache;
/// in that order along the bar, never past its end.
fn segments(report: &Report) -> Vec<Segment> {
    let ram = report.memory.total;
    let mut pieces: Vec<(&str, &str, i32, u64)> = report
        .categories
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.reclaimable)
        .map(|(i, c)| (c.name.as_str(), "category", i as i32, c.used))
        .collect();
    pieces.push(("zram pool", "zram", -1, report.zram.mem_used));
    pieces.push(("Other", "unclassified", -1, report.unclassified));
    pieces.extend(report.categories.iter().filter(|c| c.reclaimable).map(|c| (c.name.as_str(), "cache", -1, c.used)));
    let mut start = 0.0;
    pieces
        .into_iter()
        .filter(|piece| piece.3 > 0)
        .map(|(name, kind, color_index, used)| {
            let fraction = share(used, ram).min(1.0 - start);
            let segment = Segment {
                kind: kind.into(),
                color_index,
                start,
                fraction,
                text: format!("{name}: {}", size_text(used)),
            };
            start += fraction;
            segment
        })
        .collect()
}

fn category_row(index: usize, c: &CategoryLine, trend: Option<(&'static str, String)>) -> CategoryRow {
    let (trend, trend_text) = trend.map_or((String::new(), "—".to_owned()), |(t, text)| (t.to_owned(), text));
    CategoryRow {
        id: c.id.clone(),
        name: c.name.clone(),
        color_index: index as i32,
        used_text: size_text(c.used),
        idle_text: size_text(c.idle),
        workload_text: size_text(c.workload),
        status: c.status.as_str().to_owned(),
        fraction: if c.limit == 0 { f64::from(u8::from(c.used > 0)) } else { share(c.used, c.limit).min(1.0) },
        reclaimable: c.reclaimable,
        cpu_text: c.cpu.map_or(String::new(), |cpu| format!("{cpu:.1} CPU")),
        apps_text: c.apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
        trend,
        trend_text,
    }
}

fn history(report: &Report, points: &[HistoryPoint], now: u64) -> HistoryChart {
    let peak_pressure = points.iter().map(|p| f64::from(p.pressure)).fold(0.0, f64::max);
    let pressure_max = (peak_pressure * 1.25).max(10.0).ceil();
    let latest = points.last();
    HistoryChart {
        seconds: 600.0,
        times: points.iter().map(|p| p.time as f64 - now as f64).collect(),
        used: points.iter().map(|p| p.used as f64).collect(),
        zram: points.iter().map(|p| p.zram_stored as f64).collect(),
        pressure: points.iter().map(|p| f64::from(p.pressure)).collect(),
        memory_max: report.memory.total as f64,
        pressure_max,
        limit: report.total.limit as f64,
        memory_max_text: size_text(report.memory.total),
        pressure_max_text: format!("{pressure_max:.0} %"),
        used_text: latest.map_or("—".into(), |p| size_text(p.used)),
        zram_text: latest.map_or("—".into(), |p| size_text(p.zram_stored)),
        pressure_text: latest.map_or("—".into(), |p| format!("{:.1} %", p.pressure)),
    }
}

fn zram(report: &Report) -> ZramView {
    let z = &report.zram;
    let algorithm = z.devices.iter().filter_map(|d| d.algorithm.as_deref()).next().unwrap_or("unknown");
    ZramView {
        state: z.state.as_str().to_owned(),
        state_text: match z.state {
            ZramState::Active => {
                format!("{} device{} as swap", z.devices.len(), if z.devices.len() == 1 { "" } else { "s" })
            }
            ZramState::Unused => "devices exist, none is swap".into(),
            ZramState::Absent => "no zram device".into(),
        },
        original_text: size_text(z.orig_data),
        compressed_text: size_text(z.compr_data),
        pool_text: size_text(z.mem_used),
        ratio_text: z.ratio.map_or("—".into(), |r| format!("{r:.1}×")),
        compressed_fraction: share(z.compr_data, z.orig_data).min(1.0),
        fill_text: z.fill.map_or("empty".into(), |f| format!("{:.0} % of {}", f * 100.0, size_text(z.disksize))),
        device_text: match (z.devices.first(), z.swap_priority) {
            (Some(d), Some(priority)) => format!("{} · {algorithm} · priority {priority}", d.name),
            (Some(d), None) => format!("{} · {algorithm}", d.name),
            (None, _) => String::new(),
        },
    }
}

fn gpu(report: &Report) -> GpuView {
    let gpu = &report.gpu.report;
    if gpu.source == GpuSource::None || gpu.devices.is_empty() {
        return GpuView { text: "none".into(), reason: gpu.reason.clone().unwrap_or_default(), ..GpuView::default() };
    }
    let vram = report.gpu.vram.as_ref();
    // No-break spaces keep a figure and its unit on one line when the text wraps.
    let percent = |name: &str, value: Option<u32>| value.map(|v| format!("{name} {v}\u{a0}%"));
    let joined = |parts: Vec<Option<String>>| parts.into_iter().flatten().collect::<Vec<_>>().join(" · ");
    let devices: Vec<GpuDeviceRow> = gpu
        .devices
        .iter()
        .map(|d| GpuDeviceRow {
            name: d
                .name
                .clone()
                .unwrap_or_else(|| format!("{} GPU {}", d.vendor.as_deref().unwrap_or(""), d.index).trim().to_owned()),
            memory_text: match (d.memory_used, d.memory_total) {
                (Some(used), Some(total)) => format!("{} of {}", size_text(used), size_text(total)),
                (Some(used), None) => size_text(used),
                _ => "memory use unknown".into(),
            },
            memory_fraction: match (d.memory_used, d.memory_total) {
                (Some(used), Some(total)) => share(used, total).min(1.0),
                _ => 0.0,
            },
            utilization_text: joined(vec![percent("busy", d.utilization.gpu), percent("memory", d.utilization.memory)]),
            video_text: joined(vec![
                percent("decode", d.utilization.decoder),
                percent("encode", d.utilization.encoder),
            ]),
            sensors_text: joined(vec![
                d.temperature_c.map(|t| format!("{t}\u{a0}°C")),
                d.power_w.map(|w| format!("{w:.0}\u{a0}W")),
            ]),
        })
        .collect();
    let memory = report
        .categories
        .iter()
        .filter_map(|c| {
            let used = c.gpu_memory?;
            let apps = c
                .apps
                .iter()
                .filter_map(|a| Some(format!("{} {}", a.name, size_text(a.gpu_memory?))))
                .collect::<Vec<_>>();
            Some(GpuMemoryRow { name: c.name.clone(), memory_text: size_text(used), apps_text: apps.join(", ") })
        })
        .collect();
    GpuView {
        text: devices.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", "),
        reason: gpu.reason.iter().chain(&gpu.notes).cloned().collect::<Vec<_>>().join("; "),
        devices,
        vram_text: vram
            .map_or(String::new(), |v| format!("{} of the {} budget", size_text(v.used), size_text(v.budget))),
        vram_fraction: vram.map_or(0.0, |v| share(v.used, v.budget).min(1.0)),
        vram_status: vram.map_or(String::new(), |v| v.status.as_str().to_owned()),
        memory,
    }
}

fn pressure(report: &Report) -> PressureView {
    let row = |name: &str, line: &Option<Pressure>| {
        line.as_ref().map(|l| PressureRow {
            name: name.into(),
            some_text: format!("{:.1} %", l.some.avg10),
            full_text: l.full.as_ref().map_or("—".into(), |f| format!("{:.1} %", f.avg10)),
            fraction: (f64::from(l.some.avg10) / 10.0).min(1.0),
        })
    };
    let cpu = report.cpu.as_ref().map(|split| {
        [("System", &split.os), ("Workloads", &split.workload)]
            .into_iter()
            .map(|(name, share)| CpuRow {
                name: name.into(),
                text: format!("{:.1} of {:.0} threads", share.used, share.budget),
                fraction: if share.budget > 0.0 { (share.used / share.budget).min(1.0) } else { 0.0 },
            })
            .collect()
    });
    PressureView {
        rows: [row("Memory", &report.psi.memory), row("CPU", &report.psi.cpu), row("I/O", &report.psi.io)]
            .into_iter()
            .flatten()
            .collect(),
        cpu_known: cpu.is_some(),
        cpu: cpu.unwrap_or_default(),
    }
}

fn notices(report: &Report) -> Vec<Notice> {
    let schema = (report.schema > SCHEMA_VERSION).then(|| Notice {
        level: "information".into(),
        text: format!(
            "The agent sends report schema {}; this dashboard reads schema {SCHEMA_VERSION}, so some figures may be missing.",
            report.schema
        ),
    });
    schema
        .into_iter()
        .chain(report.breaches.iter().map(|b| Notice {
            level: "error".into(),
            text: format!(
                "{} is over budget: {} of {}",
                report.breach_name(&b.id),
                size_text(b.used),
                size_text(b.limit)
            ),
        }))
        .chain(
            report
                .sources
                .problems
                .iter()
                .map(|p| Notice { level: "information".into(), text: format!("Not measured: {p}") }),
        )
        .collect()
}

fn scope_row(scope: &ScopeStatus, apps: &[CatalogApp]) -> ScopeRow {
    let used = scope.memory_current.unwrap_or(0);
    let scale = scope.memory_max.or(scope.memory_high).unwrap_or(used).max(used);
    let (events_text, events_level) = match scope.events {
        None => ("no event counters (cgroup v1)".to_owned(), "ok"),
        Some(e) => {
            let hits = e.high + e.max;
            let level = if e.oom_kill > 0 {
                "error"
            } else if hits > 0 {
                "warning"
            } else {
                "ok"
            };
            (
                format!(
                    "{hits} limit hit{} · {} OOM kill{}",
                    if hits == 1 { "" } else { "s" },
                    e.oom_kill,
                    if e.oom_kill == 1 { "" } else { "s" }
                ),
                level,
            )
        }
    };
    let limit_text = |limit: Option<u64>| limit.map_or("none".to_owned(), size_text);
    ScopeRow {
        unit: scope.unit.clone(),
        name: scope
            .app
            .as_ref()
            .and_then(|id| apps.iter().find(|a| &a.id == id).map(|a| a.name.clone()))
            .unwrap_or_else(
                || if scope.description.is_empty() { scope.unit.clone() } else { scope.description.clone() },
            ),
        frozen: scope.frozen,
        used_text: scope.memory_current.map_or("unknown".into(), size_text),
        high_text: limit_text(scope.memory_high),
        max_text: limit_text(scope.memory_max),
        used_fraction: share(used, scale).min(1.0),
        high_mark: scope.memory_high.map_or(0.0, |h| share(h, scale).min(1.0)),
        events_text,
        events_level: events_level.into(),
    }
}

fn event_row(event: &Event, now: u64) -> EventRow {
    use ballast::events::Kind;
    let what = match event.kind {
        Kind::OomKill | Kind::UnitOomKill => "OOM-killed",
        Kind::OomdKill => "Killed by systemd-oomd",
        Kind::Freeze => "Frozen",
        Kind::Thaw => "Thawed",
        Kind::GiveMore => "Given more memory",
        Kind::Stop => "Stopped",
    };
    let kill = matches!(event.kind, Kind::OomKill | Kind::UnitOomKill | Kind::OomdKill);
    EventRow {
        ago_text: ago_text(now.saturating_sub(event.time)),
        who: event.who.clone(),
        what: what.into(),
        why: event.why.clone(),
        level: if kill { "error" } else { "ok" }.into(),
    }
}

/// How long ago, roughly, from seconds.
fn ago_text(seconds: u64) -> String {
    match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86400),
    }
}

#[cfg(test)]
mod tests;
