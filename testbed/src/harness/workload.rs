//! The workload that launch tests and the launch benchmark start in scopes: their own
//! binary run as `BINARY --workload [--stamp] [--in-child] [--busy SECONDS] [--hold SECONDS]
//! MEGABYTES`, so no extra program has to be built or installed.
//!
//! --stamp      first prints `started <CLOCK_MONOTONIC ns>` (launch-overhead benchmark)
//! --cgroup     first prints `cgroup <path>`: where the workload's first instruction ran
//! MEGABYTES    allocates that many MiB and writes every page, so the cgroup is charged
//! --in-child   does the allocation in a child process and reports how it ended, so the
//!              scope outlives an OOM kill (on cgroup v1 a scope whose last process
//!              dies is gone before anyone can read its counters)
//! --zygote     first starts a child that idles 30 s, as Chromium's zygote does before the
//!              browser process moves itself
//! --self-scope ID  then moves itself into a new `app-ID-<pid>.scope` (StartTransientUnit with
//!              PIDs=[itself], through busctl), as Chromium and Electron do
//! --wait       then sleeps SECONDS before allocating
//! --busy       then burns CPU for SECONDS of wall time and prints `cpu <seconds used>`
//! --hold       then stays alive SECONDS, so tests can look at the scope

use crate::harness::HarnessError;
use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

struct Options {
    zygote: bool,
    self_scope: Option<String>,
    wait: Option<f64>,
    stamp: bool,
    cgroup: bool,
    in_child: bool,
    busy: Option<f64>,
    hold: Option<f64>,
    megabytes: usize,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, HarnessError> {
    let mut options = Options {
        zygote: false,
        self_scope: None,
        wait: None,
        stamp: false,
        cgroup: false,
        in_child: false,
        busy: None,
        hold: None,
        megabytes: 0,
    };
    let mut megabytes = None;
    let seconds = |value: Option<String>, flag: &str| -> Result<f64, HarnessError> {
        Ok(value.ok_or(format!("{flag} needs SECONDS"))?.parse().map_err(|e| format!("{flag}: {e}"))?)
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--stamp" => options.stamp = true,
            "--zygote" => options.zygote = true,
            "--self-scope" => options.self_scope = Some(args.next().ok_or("--self-scope needs an ID")?),
            "--wait" => options.wait = Some(seconds(args.next(), "--wait")?),
            "--cgroup" => options.cgroup = true,
            "--in-child" => options.in_child = true,
            "--busy" => options.busy = Some(seconds(args.next(), "--busy")?),
            "--hold" => options.hold = Some(seconds(args.next(), "--hold")?),
            number => megabytes = Some(number.parse().map_err(|e| format!("MEGABYTES {number:?}: {e}"))?),
        }
    }
    options.megabytes = megabytes.ok_or("missing MEGABYTES")?;
    Ok(options)
}

pub fn monotonic_ns() -> u128 {
    // SAFETY: clock_gettime fills the struct it is given.
    let now = unsafe {
        let mut now = std::mem::zeroed::<libc::timespec>();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
        now
    };
    now.tv_sec as u128 * 1_000_000_000 + now.tv_nsec as u128
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn allocate_touched(megabytes: usize) -> Vec<u8> {
    let mut memory = vec![0u8; megabytes << 20];
    for offset in (0..memory.len()).step_by(4096) {
        memory[offset] = 1;
    }
    black_box(memory)
}

/// What Chromium's components/dbus/xdg/systemd.cc does at startup: StartTransientUnit of
/// `app-<ID>-<pid>.scope` holding this process, no Slice (the manager puts it in app.slice).
fn move_into_own_scope(id: &str) {
    let pid = std::process::id().to_string();
    let unit = format!("app-{id}-{pid}.scope");
    let status = std::process::Command::new("busctl")
        .args([
            "--user",
            "call",
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
            "ssa(sv)a(sa(sv))",
            &unit,
            "fail",
            "1",
            "PIDs",
            "au",
            "1",
            &pid,
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .status();
    println!("self-scope {unit} {}", status.map_or("failed".into(), |s| s.to_string()));
}

/// Runs the workload and exits when this process was started as one; returns otherwise.
pub fn run_if_requested() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) != Some("--workload") {
        return;
    }
    let options = match parse(args.skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("allocate: {message}");
            std::process::exit(2);
        }
    };
    if options.stamp {
        println!("started {}", monotonic_ns());
    }
    if options.cgroup {
        let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let systemd = cgroups
            .lines()
            .find(|l| l.contains(":name=systemd:"))
            .or_else(|| cgroups.lines().find(|l| l.starts_with("0::")));
        println!("cgroup {}", systemd.and_then(|l| l.splitn(3, ':').nth(2)).unwrap_or("?"));
    }
    if options.zygote {
        let _ = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--workload", "--hold", "30", "0"])
            .stdout(std::process::Stdio::null())
            .spawn();
    }
    if let Some(id) = &options.self_scope {
        move_into_own_scope(id);
    }
    if let Some(wait) = options.wait {
        std::thread::sleep(Duration::from_secs_f64(wait));
    }
    let memory = if options.in_child {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--workload", &options.megabytes.to_string()])
            .status()
            .expect("the child starts");
        match status.signal() {
            Some(signal) => println!("child killed by signal {signal}"),
            None => println!("child exited with {}", status.code().unwrap_or(-1)),
        }
        Vec::new()
    } else {
        let memory = allocate_touched(options.megabytes);
        println!("allocated {} MiB", options.megabytes);
        memory
    };
    if let Some(busy) = options.busy {
        let start = Instant::now();
        let mut counter = 0u64;
        while start.elapsed() < Duration::from_secs_f64(busy) {
            for _ in 0..10_000 {
                counter = black_box(counter.wrapping_add(1));
            }
        }
        println!("cpu {:.3}", cpu_seconds());
    }
    if let Some(hold) = options.hold {
        std::thread::sleep(Duration::from_secs_f64(hold));
    }
    black_box(&memory);
    std::process::exit(0);
}

/// Copies ballast and this binary (the workload) into `home`, where the test user can run
/// them wherever the checkout lives, and writes a profile whose catalog app `alloc` is the
/// workload with `args` (TOML array items after "--workload"), limited to 150M/200M and
/// 50 % CPU. `extra` is prepended to the profile. Returns (ballast, profile).
pub fn install(
    home: &std::path::Path,
    extra: &str,
    args: &str,
) -> Result<(std::path::PathBuf, std::path::PathBuf), HarnessError> {
    let ballast = home.join("ballast");
    let workload = home.join("ballast-workload");
    std::fs::copy(crate::harness::ballast_binary(), &ballast).map_err(HarnessError::io("copy ballast"))?;
    std::fs::copy(std::env::current_exe().map_err(|e| e.to_string())?, &workload)
        .map_err(HarnessError::io("copy the workload"))?;
    let profile = home.join("profile.toml");
    let text = format!(
        "{extra}\n[[app]]\nid = \"alloc\"\nname = \"Allocator\"\nexec = \"{}\"\nargs = [\"--workload\"{args}]\ntoolkit = \"native\"\ncategory = \"devtools\"\nmemory_high = \"150M\"\nmemory_max = \"200M\"\ncpu_quota = \"50%\"\n",
        workload.display()
    );
    std::fs::write(&profile, text).map_err(HarnessError::io("write the profile"))?;
    Ok((ballast, profile))
}
