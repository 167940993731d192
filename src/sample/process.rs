//! Per-process files: /proc/PID/{stat,cmdline,cgroup,smaps_rollup}.

use super::Malformed;
use serde::Serialize;

/// What /proc/PID/stat tells about a process (sizes in pages, times in clock ticks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// Process name (field 2), without the parentheses.
    pub comm: String,
    /// State letter (field 3): R, S, D, Z, ...
    pub state: char,
    /// Parent PID (field 4).
    pub ppid: u32,
    /// User plus system CPU time (fields 14 and 15), in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot (field 22), in clock ticks; tells a reused PID apart.
    pub start_ticks: u64,
    /// Resident set size (field 24), in pages.
    pub rss_pages: u64,
}

/// Parses /proc/PID/stat. The comm field is in parentheses and may itself contain
/// spaces and ')', so fields are counted from the last ')'.
pub fn parse_stat(text: &str) -> Result<ProcStat, Malformed> {
    let open = text.find('(').ok_or_else(|| Malformed::at(1, "no `(` before the process name"))?;
    let close = text.rfind(')').filter(|&c| c > open).ok_or_else(|| Malformed::at(1, "unterminated process name"))?;
    let comm = text[open + 1..close].to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // Field numbers per proc(5), counted from 3 (state) after the name.
    let field = |n: usize| fields.get(n - 3).copied().ok_or_else(|| Malformed::at(1, format!("field {n} is missing")));
    let number = |n: usize| -> Result<u64, Malformed> {
        let raw = field(n)?;
        raw.parse().map_err(|_| Malformed::at(1, format!("field {n} is not a number: {raw:?}")))
    };
    Ok(ProcStat {
        comm,
        state: field(3)?.chars().next().unwrap_or('?'),
        ppid: u32::try_from(number(4)?).map_err(|_| Malformed::at(1, "ppid out of range"))?,
        cpu_ticks: number(14)? + number(15)?,
        start_ticks: number(22)?,
        rss_pages: number(24)?,
    })
}

/// The basename of `argv[0]`; None for kernel threads (empty cmdline).
pub fn parse_cmdline_argv0(bytes: &[u8]) -> Option<String> {
    let argv0 = bytes.split(|&b| b == 0).next().filter(|a| !a.is_empty())?;
    let argv0 = String::from_utf8_lossy(argv0);
    // Chromium-based apps rewrite argv into one space-joined string.
    let program = argv0.split(' ').next().unwrap_or(&argv0);
    Some(program.rsplit('/').next().unwrap_or(program).to_owned())
}

/// The systemd cgroup path of a process: the unified ("0::") line on cgroup v2, the
/// `name=systemd` line on v1 and hybrid hosts.
pub fn parse_cgroup(text: &str) -> Option<String> {
    let mut unified = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        match controllers {
            "name=systemd" => return Some(path.to_owned()),
            "" => unified = Some(path.to_owned()),
            _ => {}
        }
    }
    unified
}

/// /proc/PID/smaps_rollup: proportional set size, the fair share of shared pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SmapsRollup {
    /// `Rss`, in bytes.
    pub rss: u64,
    /// `Pss`, in bytes.
    pub pss: u64,
    /// `Pss_Anon`, in bytes.
    pub pss_anon: u64,
    /// `Pss_File`, in bytes.
    pub pss_file: u64,
    /// `Pss_Shmem`, in bytes.
    pub pss_shmem: u64,
    /// `Swap`, in bytes.
    pub swap: u64,
    /// `SwapPss`, in bytes.
    pub swap_pss: u64,
}

/// Parses /proc/PID/smaps_rollup (values in kB) into bytes; the `Pss` line is required.
pub fn parse_smaps_rollup(text: &str) -> Result<SmapsRollup, Malformed> {
    let mut rollup = SmapsRollup::default();
    let mut seen_pss = false;
    // The first line is the address range header ("00400000-ffffffffff600000 ---p ... [rollup]").
    for (index, line) in text.lines().enumerate().skip(1) {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "Rss" => &mut rollup.rss,
            "Pss" => {
                seen_pss = true;
                &mut rollup.pss
            }
            "Pss_Anon" => &mut rollup.pss_anon,
            "Pss_File" => &mut rollup.pss_file,
            "Pss_Shmem" => &mut rollup.pss_shmem,
            "Swap" => &mut rollup.swap,
            "SwapPss" => &mut rollup.swap_pss,
            _ => continue,
        };
        let kib: u64 = rest
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .map_err(|_| Malformed::at(index + 1, format!("expected `{key}: N kB`, found {line:?}")))?;
        *slot = kib * 1024;
    }
    if !seen_pss {
        return Err(Malformed::at(0, "no Pss line"));
    }
    Ok(rollup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_tricky_name() {
        let s = parse_stat("4242 (Web Content) (x)) S 1000 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 30 0 123456 3000000000 51200 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 3 0 0 0 0 0\n").unwrap();
        assert_eq!(s.comm, "Web Content) (x)");
        assert_eq!((s.state, s.ppid, s.cpu_ticks, s.start_ticks, s.rss_pages), ('S', 1000, 300, 123456, 51200));
    }

    #[test]
    fn stat_errors() {
        assert!(parse_stat("1 (init S 0").unwrap_err().reason.contains("unterminated"));
        assert!(parse_stat("1 (init) S 0 1").unwrap_err().reason.contains("missing"));
        assert!(parse_stat("no parens").is_err());
    }

    #[test]
    fn argv0_basename() {
        assert_eq!(parse_cmdline_argv0(b"/usr/bin/kwin_x11\0--replace\0").as_deref(), Some("kwin_x11"));
        assert_eq!(parse_cmdline_argv0(b"/opt/Discord/Discord --type=renderer --lang=en").as_deref(), Some("Discord"));
        assert_eq!(parse_cmdline_argv0(b""), None);
    }

    #[test]
    fn cgroup_prefers_the_systemd_hierarchy() {
        let v1 = "12:memory:/user.slice\n1:name=systemd:/user.slice/user-1000.slice/user@1000.service/app.slice/app-ballast-discord-1.scope\n0::/\n";
        assert_eq!(
            parse_cgroup(v1).as_deref(),
            Some("/user.slice/user-1000.slice/user@1000.service/app.slice/app-ballast-discord-1.scope")
        );
        assert_eq!(parse_cgroup("0::/system.slice/dbus.service\n").as_deref(), Some("/system.slice/dbus.service"));
        assert_eq!(parse_cgroup("garbage"), None);
    }

    #[test]
    fn smaps_rollup_in_bytes() {
        let r = parse_smaps_rollup("55d0c0a00000-7ffd0f1fe000 ---p 00000000 00:00 0                          [rollup]\nRss:              204800 kB\nPss:              102400 kB\nPss_Anon:          90000 kB\nPss_File:          10000 kB\nPss_Shmem:          2400 kB\nSwap:                 16 kB\nSwapPss:               8 kB\n").unwrap();
        assert_eq!((r.rss, r.pss, r.swap_pss), (204800 * 1024, 102400 * 1024, 8 * 1024));
        assert!(parse_smaps_rollup("header\nRss: 1 kB\n").is_err());
        assert_eq!(parse_smaps_rollup("header\nPss: x kB\n").unwrap_err().line, 2);
    }
}
