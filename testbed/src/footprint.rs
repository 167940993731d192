//! The agent's idle footprint in the guest's Plasma session, measured the way `top` and `ps`
//! see it, and `top -b -d 2` on the same process over the same interval beside it.
//!
//! Sources (proc(5)): VmRSS and RssAnon from /proc/PID/status (kB); utime + stime from
//! /proc/PID/stat (clock ticks, CLK_TCK per second); wakeups as the voluntary context switches
//! of every thread (/proc/PID/task/*/status): each time the agent wakes up it runs and then
//! sleeps again, one voluntary switch. Involuntary switches (preempted while running: under
//! TCG a tick is slow and the guest busy) are printed beside them, not counted as wakeups.
//! plasmashell's and KWin's (kwin_wayland or kwin_x11) CPU over the same interval is printed
//! beside the agent's: what the agent's tray item costs the desktop (a NeedsAttention item,
//! which Plasma's tray pulses, kept both drawing every frame).
//!
//! Under TCG every instruction is emulated, so the guest's CPU figures are far above native,
//! and not by one factor: user code is translated once and then runs a few times slower, while
//! each system call, page fault and interrupt is emulated at a far higher cost. Two fixed
//! workloads run in the guest and on the host give the two slowdowns: [`REFERENCE`] for user
//! time and [`KERNEL_REFERENCE`] for system time. The agent's user and system time, each
//! divided by its own, estimate the native figure.

/// The user-time reference: single-threaded, CPU-bound, the same program in the guest and on a
/// Debian host (gzip); its user time is what counts.
pub const REFERENCE: &str = "head -c 64M /dev/zero | gzip -1 > /dev/null";

/// The system-time reference: a file the kernel formats at each read, opened, read and closed
/// 20000 times, as the agent does with /proc and cgroup files at each tick (Perl, which every
/// Debian system has); its system time is what counts.
pub const KERNEL_REFERENCE: &str =
    r#"perl -e 'for (1..20000) { open my $f, "<", "/proc/meminfo" or die $!; local $/; my $t = <$f> }'"#;

/// Bash lines that run both references and print `reference_ticks N` (the user time of
/// [`REFERENCE`]) and `kernel_reference_ticks N` (the system time of [`KERNEL_REFERENCE`]):
/// this shell's waited-for children's cutime and cstime (clock ticks), read with the `read`
/// builtin so that no other child counts. The shell's pid from BASHPID: systemd-run takes a
/// doubled dollar for an escaped one.
fn reference_ticks() -> String {
    format!(
        "me=$BASHPID\nchildren() {{ local f; read -ra f < /proc/$me/stat; echo $((f[$1 - 1])); }}\nr0=$(children 16); {REFERENCE}; r1=$(children 16)\necho \"reference_ticks $((r1 - r0))\"\nk0=$(children 17); {KERNEL_REFERENCE}; k1=$(children 17)\necho \"kernel_reference_ticks $((k1 - k0))\"\n"
    )
}

/// Shell lines that set `shell` and `kwin` to the session's plasmashell and KWin pids (or fail),
/// and define `ticks PID`: its CPU time (utime + stime, clock ticks).
const DESKTOP: &str = r#"shell=$(pgrep -n -u "$USER" -x plasmashell); kwin=$(pgrep -n -u "$USER" -x 'kwin_wayland|kwin_x11')
[ -n "$shell" ] && [ -n "$kwin" ] || { echo "no plasmashell or KWin in this session" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
"#;

/// The shell script (run as the session user) that prints the clock ticks plasmashell and KWin
/// took together over 10 s: a session still starting draws for minutes under TCG.
pub fn desktop_ticks() -> String {
    format!("{DESKTOP}a=$(( $(ticks $shell) + $(ticks $kwin) )); sleep 10; echo $(( $(ticks $shell) + $(ticks $kwin) - a ))\n")
}

/// The shell script (run as the session user) that measures ballast.service's main process
/// for `seconds`: `key value` lines, then `top` and top's lines for the process.
pub fn script(seconds: u64) -> String {
    let samples = seconds / 2 + 1;
    format!(
        r#"pid=$(systemctl --user show -P MainPID ballast.service)
[ "${{pid:-0}}" -gt 0 ] || {{ echo "ballast.service is not running" >&2; exit 1; }}
{DESKTOP}switches() {{ cat /proc/$pid/task/*/status | awk -v k="^$1_ctxt_switches:" '$0 ~ k {{n += $2}} END {{print n}}'; }}
{}utime() {{ awk '{{print $14}}' /proc/$1/stat; }}; stime() {{ awk '{{print $15}}' /proc/$1/stat; }}
u0=$(utime $pid); t0=$(stime $pid); s0=$(ticks $shell); k0=$(ticks $kwin); w0=$(switches voluntary); p0=$(switches nonvoluntary); e0=$(date +%s.%N)
top -b -d 2 -n {samples} -p $pid > /tmp/ballast-top.log
u1=$(utime $pid); t1=$(stime $pid); s1=$(ticks $shell); k1=$(ticks $kwin); w1=$(switches voluntary); p1=$(switches nonvoluntary); e1=$(date +%s.%N)
echo "elapsed $(echo "$e1 $e0" | awk '{{print $1 - $2}}')"
echo "clk_tck $(getconf CLK_TCK)"
echo "user_ticks $((u1 - u0))"
echo "system_ticks $((t1 - t0))"
echo "plasmashell_ticks $((s1 - s0))"
echo "kwin_ticks $((k1 - k0))"
echo "wakeups $((w1 - w0))"
echo "preempted $((p1 - p0))"
awk '/^(VmRSS|RssAnon):/ {{print $1, $2}}' /proc/$pid/status
echo top
awk -v pid=$pid '$1 == pid' /tmp/ballast-top.log | tail -n +2
"#,
        reference_ticks()
    )
}

/// What the script measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Footprint {
    /// Seconds the measurement took.
    pub elapsed: f64,
    /// KiB.
    pub rss: u64,
    /// KiB of anonymous memory (heap, stacks): what the process itself costs.
    pub anon: u64,
    /// % of one CPU spent in user mode over the interval.
    pub user_percent: f64,
    /// % of one CPU spent in the kernel (system time) over the interval.
    pub system_percent: f64,
    /// Voluntary context switches per second: times the agent woke up and slept again.
    pub wakeups_per_second: f64,
    /// Involuntary context switches per second: times it was preempted while running.
    pub preempted_per_second: f64,
    /// plasmashell's % of one CPU over the interval.
    pub plasmashell_cpu_percent: f64,
    /// KWin's (kwin_wayland or kwin_x11) % of one CPU over the interval.
    pub kwin_cpu_percent: f64,
    /// top's %CPU for the process, one per 2 s sample after the first.
    pub top_cpu: Vec<f64>,
    /// top's RES column at the last sample, as top prints it (KiB, or with a unit suffix).
    pub top_res: String,
    /// What the reference workloads took in the guest.
    pub reference: Reference,
    /// What they took on the host ([`host_reference`]), once measured.
    pub host_reference: Option<Reference>,
    /// The agent's own idle tick timed in the guest and on the host, once measured.
    pub calibration: Option<Calibration>,
}

/// The agent's own idle tick, the same fixture workload (testbed/calibrate.sh) timed in the
/// guest and on the host: the slowdown of the agent's code itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// CPU seconds in the guest.
    pub guest: f64,
    /// CPU seconds on the host.
    pub host: f64,
    /// Seconds each was measured over.
    pub seconds: f64,
}

impl Calibration {
    /// How many times slower the guest ran it; None when either took no measurable time.
    pub fn slowdown(&self) -> Option<f64> {
        (self.guest > 0.0 && self.host > 0.0).then(|| self.guest / self.host)
    }
}

/// The CPU seconds and the interval (s) in calibrate.sh's output (`key value` pairs):
/// perf's task-clock (ms) where it ran, else the user and system clock ticks.
pub fn calibration_seconds(out: &str) -> Result<(f64, f64), String> {
    let words: Vec<&str> = out.split_whitespace().collect();
    let value = |key: &str| {
        words
            .windows(2)
            .find(|pair| pair[0] == key)
            .and_then(|pair| pair[1].parse::<f64>().ok())
            .ok_or(format!("no {key} in calibrate.sh's output"))
    };
    let cpu = match value("task_clock_ms") {
        Ok(ms) => ms / 1e3,
        Err(_) => (value("user_ticks")? + value("system_ticks")?) / value("clk_tck")?,
    };
    Ok((cpu, value("seconds")?))
}

/// CPU seconds the reference workloads took on one machine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reference {
    /// User seconds of [`REFERENCE`].
    pub user: f64,
    /// System seconds of [`KERNEL_REFERENCE`].
    pub system: f64,
}

impl Reference {
    /// Reads `reference_ticks` and `kernel_reference_ticks` from `text`, in `clk_tck` ticks.
    fn parse(text: &str) -> Result<Self, String> {
        let seconds = |key: &str| Ok::<_, String>(value(text, key)? / value(text, "clk_tck")?);
        Ok(Reference { user: seconds("reference_ticks")?, system: seconds("kernel_reference_ticks")? })
    }
}

/// The reference workloads on this machine, measured as in the guest.
pub fn host_reference() -> std::io::Result<Reference> {
    let script = format!("{}echo \"clk_tck $(getconf CLK_TCK)\"\n", reference_ticks());
    let out = std::process::Command::new("bash").args(["-c", &script]).output()?;
    Reference::parse(&String::from_utf8_lossy(&out.stdout)).map_err(std::io::Error::other)
}

/// The number on the `key value` (or `key: value`) line of `text`; Err names a missing key.
fn value(text: &str, key: &str) -> Result<f64, String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.trim_start_matches(':').trim().parse().ok())
        .ok_or(format!("no {key} in the output"))
}

/// Reads the script's output; Err names what is missing.
pub fn parse(out: &str) -> Result<Footprint, String> {
    let (head, top) = out.split_once("\ntop\n").ok_or("no `top` section in the output")?;
    let value = |key: &str| value(head, key);
    let elapsed = value("elapsed")?;
    let percent = |key: &str| Ok::<_, String>(value(key)? / value("clk_tck")? / elapsed * 100.0);
    // top -b: PID USER PR NI VIRT RES SHR S %CPU %MEM TIME+ COMMAND
    let rows: Vec<Vec<&str>> =
        top.lines().map(|l| l.split_whitespace().collect()).filter(|w: &Vec<&str>| w.len() >= 12).collect();
    Ok(Footprint {
        elapsed,
        rss: value("VmRSS")? as u64,
        anon: value("RssAnon")? as u64,
        user_percent: percent("user_ticks")?,
        system_percent: percent("system_ticks")?,
        plasmashell_cpu_percent: percent("plasmashell_ticks")?,
        kwin_cpu_percent: percent("kwin_ticks")?,
        wakeups_per_second: value("wakeups")? / elapsed,
        preempted_per_second: value("preempted")? / elapsed,
        top_cpu: rows.iter().filter_map(|w| w[8].parse().ok()).collect(),
        top_res: rows.last().map_or("-".into(), |w| w[5].to_owned()),
        reference: Reference::parse(head)?,
        host_reference: None,
        calibration: None,
    })
}

/// How many times slower the guest ran each reference than the host.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slowdown {
    pub user: f64,
    pub system: f64,
}

impl Footprint {
    /// % of one CPU, user and system time together.
    pub fn cpu_percent(&self) -> f64 {
        self.user_percent + self.system_percent
    }

    /// How many times slower the guest ran the references than the host; None until the
    /// host's figures are in, or when any is zero.
    pub fn slowdown(&self) -> Option<Slowdown> {
        let (guest, host) = (self.reference, self.host_reference?);
        [guest.user, guest.system, host.user, host.system]
            .iter()
            .all(|s| *s > 0.0)
            .then(|| Slowdown { user: guest.user / host.user, system: guest.system / host.system })
    }

    /// The agent's estimated native % of one CPU: its CPU divided by its own tick's slowdown
    /// ([`Calibration`]).
    pub fn calibrated_percent(&self) -> Option<f64> {
        self.calibration?.slowdown().map(|slowdown| self.cpu_percent() / slowdown)
    }

    /// The agent's estimated native % of one CPU from the reference workloads: its user and
    /// system time, each divided by its own slowdown.
    pub fn native_percent(&self) -> Option<f64> {
        self.slowdown().map(|s| self.user_percent / s.user + self.system_percent / s.system)
    }
}

impl std::fmt::Display for Footprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mean =
            if self.top_cpu.is_empty() { 0.0 } else { self.top_cpu.iter().sum::<f64>() / self.top_cpu.len() as f64 };
        let max = self.top_cpu.iter().copied().fold(0.0, f64::max);
        writeln!(f, "ballast agent, idle in the guest's Plasma 6 session, over {:.0} s:", self.elapsed)?;
        writeln!(
            f,
            "  {:<28} {:>10} {:>12} {:>10} {:>12} {:>12}",
            "", "RSS", "anon RSS", "CPU", "wakeups/s", "preempted/s"
        )?;
        writeln!(
            f,
            "  {:<28} {:>7} KiB {:>8} KiB {:>9.3}% {:>12.2} {:>12.2}",
            "ballast (/proc)",
            self.rss,
            self.anon,
            self.cpu_percent(),
            self.wakeups_per_second,
            self.preempted_per_second
        )?;
        write!(
            f,
            "  {:<28} {:>10} {:>12} {:>9.2}% {:>12} {:>12}",
            format!("top -b -d 2 ({} samples)", self.top_cpu.len()),
            self.top_res,
            "-",
            mean,
            "-",
            "-"
        )?;
        writeln!(f, "\n  (top's highest 2 s sample: {max:.1}%)")?;
        write!(
            f,
            "  the desktop beside it (/proc): plasmashell {:.2}%, KWin {:.2}% CPU",
            self.plasmashell_cpu_percent, self.kwin_cpu_percent
        )?;
        write!(f, "\n  the agent's CPU: {:.3}% user, {:.3}% system", self.user_percent, self.system_percent)?;
        if let (Some(c), Some(native)) = (self.calibration, self.calibrated_percent()) {
            write!(
                f,
                "\n  its own idle tick (testbed/calibrate.sh, {:.0} s): {:.2} s of CPU in the guest, {:.1} ms on this host: {:.0}x slower,\n  so natively the agent would use about {native:.4}% CPU",
                c.seconds,
                c.guest,
                c.host * 1e3,
                c.guest / c.host
            )?;
        }
        let (Some(slowdown), Some(host), Some(native)) = (self.slowdown(), self.host_reference, self.native_percent())
        else {
            return Ok(());
        };
        let guest = self.reference;
        write!(
            f,
            "\n  user time:   `{REFERENCE}` took {:.2} s in the guest, {:.3} s on this host: {:.0}x slower\n  system time: `{KERNEL_REFERENCE}` took {:.2} s in the guest, {:.3} s on this host: {:.0}x slower\n  by these two references, about {native:.4}% CPU natively ({:.4}% user, {:.4}% system; {:.4}% with the user time's slowdown alone)",
            guest.user,
            host.user,
            slowdown.user,
            guest.system,
            host.system,
            slowdown.system,
            self.user_percent / slowdown.user,
            self.system_percent / slowdown.system,
            self.cpu_percent() / slowdown.user
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script's output in the guest over 61 s (procps-ng's top), the release agent idle
    /// under TCG with its PSI triggers armed, in the guest's Wayland session once plasmashell
    /// and KWin had settled (`testbed bench`, 2026-12-03).
    const OUT: &str = include_str!("../fixtures/footprint.out");

    /// The percent of one CPU that `ticks` clock ticks are over the fixture's interval.
    fn percent(ticks: f64) -> f64 {
        ticks / 100.0 / 60.8107 * 100.0
    }

    #[test]
    fn figures_from_proc_and_top() {
        let f = parse(OUT).unwrap();
        assert_eq!((f.rss, f.anon, f.top_res.as_str()), (11556, 2472, "11556"));
        assert!((f.user_percent - percent(3.0)).abs() < 1e-9);
        assert!((f.system_percent - percent(4.0)).abs() < 1e-9);
        assert!((f.cpu_percent() - percent(7.0)).abs() < 1e-9);
        assert!((f.wakeups_per_second - 6.0 / 60.8107).abs() < 1e-9);
        assert_eq!(f.preempted_per_second, 0.0);
        assert!((f.plasmashell_cpu_percent - percent(21.0)).abs() < 1e-9);
        assert!((f.kwin_cpu_percent - percent(24.0)).abs() < 1e-9);
        assert_eq!(f.top_cpu.len(), 30);
        assert_eq!(f.reference, Reference { user: 0.88, system: 3.08 }, "ticks at 100 per second");
        assert_eq!(f.slowdown(), None, "no host figure yet");
        assert_eq!(f.native_percent(), None);
        assert!(f.to_string().contains("ballast (/proc)"));
    }

    #[test]
    fn user_and_system_time_are_each_divided_by_their_own_slowdown() {
        let f = Footprint { host_reference: Some(Reference { user: 0.22, system: 0.154 }), ..parse(OUT).unwrap() };
        assert_eq!(f.slowdown(), Some(Slowdown { user: 4.0, system: 20.0 }));
        let native = percent(3.0) / 4.0 + percent(4.0) / 20.0;
        assert!((f.native_percent().unwrap() - native).abs() < 1e-9);
        let text = f.to_string();
        assert!(text.contains("4x slower") && text.contains("20x slower"), "{text}");
        assert!(text.contains(&format!("about {native:.4}% CPU")), "{text}");
        assert!(text.contains(&format!("{:.4}% with the user time's slowdown alone", percent(7.0) / 4.0)), "{text}");
        let no_system = Footprint { host_reference: Some(Reference { user: 0.22, system: 0.0 }), ..f };
        assert_eq!(no_system.slowdown(), None);
    }

    /// calibrate.sh's output in the guest (no perf there: clock ticks) and on this host (perf's
    /// task-clock), 300 s each after 200 s of warming up, at once (2026-12-03).
    const CALIBRATE_GUEST: &str = include_str!("../fixtures/calibrate-guest.out");
    const CALIBRATE_HOST: &str = include_str!("../fixtures/calibrate-host.out");
    /// 10 + 8 clock ticks at 100 per second, and 16.15 ms.
    const GUEST_CPU: f64 = 0.18;
    const HOST_CPU: f64 = 0.01615;

    #[test]
    fn the_agents_own_tick_gives_the_calibrated_estimate() {
        let (guest, seconds) = calibration_seconds(CALIBRATE_GUEST).unwrap();
        let (host, _) = calibration_seconds(CALIBRATE_HOST).unwrap();
        assert_eq!(seconds, 300.0);
        assert!((guest - GUEST_CPU).abs() < 1e-9, "clock ticks at 100 per second: {guest}");
        assert!((host - HOST_CPU).abs() < 1e-9, "perf's task-clock in ms: {host}");
        let f = Footprint { calibration: Some(Calibration { guest, host, seconds }), ..parse(OUT).unwrap() };
        let native = percent(7.0) / (GUEST_CPU / HOST_CPU);
        assert!((f.calibrated_percent().unwrap() - native).abs() < 1e-9);
        assert!(f.to_string().contains(&format!("about {native:.4}% CPU")), "{f}");
        let unmeasured = Calibration { host: 0.0, ..f.calibration.unwrap() };
        assert_eq!(Footprint { calibration: Some(unmeasured), ..f }.calibrated_percent(), None);
        assert_eq!(calibration_seconds("seconds 300\n"), Err("no user_ticks in calibrate.sh's output".into()));
    }

    #[test]
    fn the_calibration_script_is_valid_bash() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/calibrate.sh");
        let syntax = std::process::Command::new("bash").args(["-n", script]).status().unwrap();
        assert!(syntax.success());
    }

    #[test]
    fn the_references_are_timed_on_this_host_as_in_the_guest() {
        let host = host_reference().unwrap();
        assert!(host.user > 0.0 && host.user < 60.0, "{host:?}");
        assert!(host.system > 0.0 && host.system < 60.0, "{host:?}");
        let script = script(60);
        assert_eq!(
            (script.matches("reference_ticks").count(), script.matches("clk_tck").count()),
            (2, 1),
            "the user and the kernel reference, one clock rate"
        );
        let syntax = std::process::Command::new("bash").args(["-n", "-c", &script]).status().unwrap();
        assert!(syntax.success(), "bash -n on the script:\n{script}");
    }

    #[test]
    fn missing_figures_are_named() {
        assert_eq!(parse("elapsed 1\n"), Err("no `top` section in the output".into()));
        assert_eq!(parse("elapsed 1\ntop\n"), Err("no VmRSS in the output".into()));
        let without_kernel_reference = OUT.replace("kernel_reference_ticks", "other");
        assert_eq!(parse(&without_kernel_reference), Err("no kernel_reference_ticks in the output".into()));
    }
}
