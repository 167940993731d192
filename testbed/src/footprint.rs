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
//! Under TCG every instruction is emulated, so the guest's CPU figures are far above native.
//! A fixed workload ([`REFERENCE`]) run in the guest and on the host gives the slowdown, and
//! the agent's CPU divided by it estimates the native figure.

/// The reference workload: single-threaded, CPU-bound, the same program in the guest and on
/// a Debian host (gzip).
pub const REFERENCE: &str = "head -c 64M /dev/zero | gzip -1 > /dev/null";

/// Bash lines that run [`REFERENCE`] and print `reference_ticks N`: its CPU as this shell's
/// waited-for children (cutime + cstime, clock ticks). The shell's pid from BASHPID:
/// systemd-run takes a doubled dollar for an escaped one.
fn reference_ticks() -> String {
    format!(
        "me=$BASHPID\nchildren() {{ awk '{{print $16 + $17}}' /proc/$me/stat; }}\nr0=$(children); {REFERENCE}; r1=$(children)\necho \"reference_ticks $((r1 - r0))\"\n"
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
{}t0=$(ticks $pid); s0=$(ticks $shell); k0=$(ticks $kwin); w0=$(switches voluntary); p0=$(switches nonvoluntary); e0=$(date +%s.%N)
top -b -d 2 -n {samples} -p $pid > /tmp/ballast-top.log
t1=$(ticks $pid); s1=$(ticks $shell); k1=$(ticks $kwin); w1=$(switches voluntary); p1=$(switches nonvoluntary); e1=$(date +%s.%N)
echo "elapsed $(echo "$e1 $e0" | awk '{{print $1 - $2}}')"
echo "clk_tck $(getconf CLK_TCK)"
echo "cpu_ticks $((t1 - t0))"
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
    /// % of one CPU over the interval.
    pub cpu_percent: f64,
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
    /// CPU seconds the reference workload took in the guest.
    pub reference: f64,
    /// CPU seconds it took on the host ([`host_reference`]), once measured.
    pub host_reference: Option<f64>,
}

/// CPU seconds the reference workload takes on this machine, measured as in the guest.
pub fn host_reference() -> std::io::Result<f64> {
    let script = format!("{}echo \"clk_tck $(getconf CLK_TCK)\"\n", reference_ticks());
    let out = std::process::Command::new("bash").args(["-c", &script]).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let ticks = |key: &str| value(&text, key).map_err(std::io::Error::other);
    Ok(ticks("reference_ticks")? / ticks("clk_tck")?)
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
        cpu_percent: percent("cpu_ticks")?,
        plasmashell_cpu_percent: percent("plasmashell_ticks")?,
        kwin_cpu_percent: percent("kwin_ticks")?,
        wakeups_per_second: value("wakeups")? / elapsed,
        preempted_per_second: value("preempted")? / elapsed,
        top_cpu: rows.iter().filter_map(|w| w[8].parse().ok()).collect(),
        top_res: rows.last().map_or("-".into(), |w| w[5].to_owned()),
        reference: value("reference_ticks")? / value("clk_tck")?,
        host_reference: None,
    })
}

impl Footprint {
    /// How many times slower the guest ran the reference workload than the host; None until
    /// the host's figure is in, or when either is zero.
    pub fn slowdown(&self) -> Option<f64> {
        self.host_reference.filter(|host| *host > 0.0 && self.reference > 0.0).map(|host| self.reference / host)
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
            self.cpu_percent,
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
        if let Some(slowdown) = self.slowdown() {
            write!(
                f,
                "\n  `{REFERENCE}` took {:.2} s of CPU in the guest, {:.3} s on this host: TCG is {slowdown:.0}x slower,\n  so natively the agent would use about {:.4}% CPU",
                self.reference,
                self.host_reference.unwrap_or_default(),
                self.cpu_percent / slowdown
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script's output in the guest over 60 s (procps-ng's top), the release agent idle
    /// under TCG with its PSI triggers armed, in the guest's Wayland session once plasmashell
    /// and KWin had settled (`testbed bench`, 2026-12-02).
    const OUT: &str = include_str!("../fixtures/footprint.out");

    #[test]
    fn figures_from_proc_and_top() {
        let f = parse(OUT).unwrap();
        assert_eq!((f.rss, f.anon, f.top_res.as_str()), (11596, 2400, "11596"));
        assert!((f.cpu_percent - 12.0 / 100.0 / 61.3665 * 100.0).abs() < 1e-9);
        assert!((f.wakeups_per_second - 6.0 / 61.3665).abs() < 1e-9);
        assert!((f.preempted_per_second - 1.0 / 61.3665).abs() < 1e-9);
        assert!((f.plasmashell_cpu_percent - 33.0 / 100.0 / 61.3665 * 100.0).abs() < 1e-9);
        assert!((f.kwin_cpu_percent - 43.0 / 100.0 / 61.3665 * 100.0).abs() < 1e-9);
        assert_eq!(f.top_cpu.len(), 30);
        assert!((f.reference - 4.2).abs() < 1e-9, "420 ticks at 100 per second");
        assert_eq!(f.slowdown(), None, "no host figure yet");
        assert!(f.to_string().contains("ballast (/proc)"));
    }

    #[test]
    fn the_native_estimate_divides_by_the_slowdown() {
        let f = Footprint { host_reference: Some(0.525), ..parse(OUT).unwrap() };
        assert!((f.slowdown().unwrap() - 8.0).abs() < 1e-9);
        let text = f.to_string();
        assert!(text.contains("TCG is 8x slower") && text.contains(&format!("{:.4}%", f.cpu_percent / 8.0)), "{text}");
        assert_eq!(Footprint { host_reference: Some(0.0), ..f }.slowdown(), None);
    }

    #[test]
    fn the_reference_is_timed_on_this_host_as_in_the_guest() {
        let seconds = host_reference().unwrap();
        assert!(seconds > 0.0 && seconds < 60.0, "{seconds} s of CPU");
        let script = script(60);
        assert_eq!((script.matches("reference_ticks").count(), script.matches("clk_tck").count()), (1, 1));
        let syntax = std::process::Command::new("bash").args(["-n", "-c", &script]).status().unwrap();
        assert!(syntax.success(), "bash -n on the script:\n{script}");
    }

    #[test]
    fn missing_figures_are_named() {
        assert_eq!(parse("elapsed 1\n"), Err("no `top` section in the output".into()));
        assert_eq!(parse("elapsed 1\ntop\n"), Err("no VmRSS in the output".into()));
    }
}
