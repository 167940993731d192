//! `testbed`: work in the real-desktop guest by hand. `build` makes (or reuses) the image,
//! `up` boots it and logs in, waiting for the Plasma session, `run`/`user` run a command as
//! root or as the session user, `login` logs in anew, `screenshot` saves the screen, `down`
//! powers it off.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use testbed::{build_image, default_cache, footprint, wait, Vm};

#[derive(Parser)]
#[command(about = "ballast's real-desktop test world: Debian trixie with a Plasma 6 session in qemu")]
struct Cli {
    /// Where the .debs and the image are kept.
    #[arg(long, global = true, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// The run directory: overlay, sockets, console log, share (the guest's /mnt/host).
    #[arg(long, global = true, value_name = "DIR", default_value = "target/testbed/run")]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the image (3-5 minutes from Debian's mirror; reused while image.sh is unchanged).
    Build,
    /// Boot a fresh overlay of the image, log in and wait for the Plasma session (about 5
    /// minutes under TCG).
    Up,
    /// Run a command in the guest as root; prints its output, exits with its code.
    Run {
        #[arg(required = true, trailing_var_arg = true)]
        argv: Vec<String>,
    },
    /// Run a shell command as the session user inside the user's systemd manager.
    User { script: String },
    /// End the session user's session and log in anew (SDDM's autologin); wait for the
    /// Plasma session.
    Login,
    /// Save the guest's screen as a PNG.
    Screenshot { png: PathBuf },
    /// Power the guest off.
    Down,
    /// Boot a fresh guest, install ballast as a user has it (the release binaries), log in
    /// anew, and measure the idle agent for SECONDS beside `top -b -d 2` (`make bench`); the
    /// raw measurement is kept in the run directory's footprint.out. Then the agent's own
    /// idle tick is timed in the guest and on this host (testbed/calibrate.sh) for the native
    /// estimate.
    Bench {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// How long calibrate.sh warms the agent up and then times it (s); 0 skips it.
        #[arg(long, default_value_t = 300)]
        calibrate: u64,
        /// Where ballast and ballast-dashboard are.
        #[arg(long, value_name = "DIR", default_value = "target/release")]
        binaries: PathBuf,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let cache = cli.cache.unwrap_or_else(default_cache);
    let vm = Vm::attach(&cli.dir);
    let output = match cli.command {
        Command::Build => {
            build_image(&cache)?;
            None
        }
        Command::Up => {
            let image = build_image(&cache)?;
            eprintln!(
                "testbed: booting {} (console: {})",
                image.rootfs.display(),
                cli.dir.join("console.log").display()
            );
            Vm::boot(&image, &cli.dir)?.login(Duration::from_secs(600))?;
            eprintln!(
                "testbed: the Plasma session is up; the guest's /mnt/host is {}",
                cli.dir.join("share").display()
            );
            None
        }
        Command::Run { argv } => {
            Some(vm.exec(&argv.iter().map(String::as_str).collect::<Vec<_>>(), Duration::from_secs(600))?)
        }
        Command::User { script } => Some(vm.exec_user(&script, Duration::from_secs(600))?),
        Command::Login => {
            vm.login(Duration::from_secs(600))?;
            None
        }
        Command::Screenshot { png } => {
            vm.screenshot(&std::path::absolute(&png)?)?;
            None
        }
        Command::Down => {
            vm.power_off()?;
            None
        }
        Command::Bench { seconds, calibrate, binaries } => {
            bench(&cache, &cli.dir, &binaries, seconds, calibrate)?;
            None
        }
    };
    if let Some(output) = output {
        print!("{}", output.stdout);
        eprint!("{}", output.stderr);
        std::process::exit(output.code.clamp(0, 255) as i32);
    }
    Ok(())
}

/// The fixture tree calibrate.sh runs the agent on.
const CALIBRATION_TREE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/plasma-v2-idle");

/// Runs testbed/calibrate.sh in the guest and on this host at once (the host's agent takes a
/// few ms of CPU), each warming up and then timing for `seconds`; the raw outputs are kept in
/// `dir`/calibrate-{guest,host}.out.
fn calibrate_tick(
    vm: &Vm,
    dir: &std::path::Path,
    binaries: &std::path::Path,
    seconds: u64,
) -> Result<footprint::Calibration> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/calibrate.sh");
    let share = vm.share();
    std::fs::copy(script, share.join("calibrate.sh"))?;
    let copied = std::process::Command::new("cp").arg("-a").arg(CALIBRATION_TREE).arg(share.join("tree")).status()?;
    anyhow::ensure!(copied.success(), "copying {CALIBRATION_TREE} to the guest's share failed");
    let span = seconds.to_string();
    let host = std::process::Command::new("bash")
        .arg(script)
        .arg(binaries.join("ballast"))
        .args([CALIBRATION_TREE, &span, &span])
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    eprintln!("testbed: timing the agent's own idle tick in the guest and here ({} minutes)", 2 * seconds / 60);
    let guest = vm.exec_user(
        &format!("bash /mnt/host/calibrate.sh /mnt/host/ballast /mnt/host/tree {span} {span}"),
        Duration::from_secs(2 * seconds + 120),
    )?;
    anyhow::ensure!(guest.success(), "calibrate.sh failed in the guest: {}{}", guest.stdout, guest.stderr);
    let host = String::from_utf8_lossy(&host.wait_with_output()?.stdout).into_owned();
    std::fs::write(dir.join("calibrate-guest.out"), &guest.stdout)?;
    std::fs::write(dir.join("calibrate-host.out"), &host)?;
    let ((guest, seconds), (host, _)) = (
        footprint::calibration_seconds(&guest.stdout).map_err(anyhow::Error::msg)?,
        footprint::calibration_seconds(&host).map_err(anyhow::Error::msg)?,
    );
    Ok(footprint::Calibration { guest, host, seconds })
}

/// `bench`: a fresh guest, ballast installed and started by a new login, then 30 s to settle
/// before the measurement, then the agent's own idle tick timed there and here (`calibrate`
/// seconds of warm-up, then as many timed; 0 skips it). The script's own output is kept in
/// `dir`/footprint.out.
fn bench(
    cache: &std::path::Path,
    dir: &std::path::Path,
    binaries: &std::path::Path,
    seconds: u64,
    calibrate: u64,
) -> Result<()> {
    let image = build_image(cache)?;
    eprintln!(
        "testbed: booting a fresh guest; the boot, the login and the measurements take about {} minutes under TCG",
        6 + (seconds + 2 * calibrate) / 60
    );
    let vm = Vm::boot(&image, dir)?;
    let measured = (|| -> Result<footprint::Footprint> {
        vm.wait_for_agent(Duration::from_secs(600))?;
        vm.install_ballast(&[&binaries.join("ballast"), &binaries.join("ballast-dashboard")])?;
        vm.login(Duration::from_secs(900))?;
        wait("ballast.service to be active after login", Duration::from_secs(300), || {
            Ok(vm.exec_user("systemctl --user is-active ballast.service", Duration::from_secs(30))?.stdout.trim()
                == "active")
        })?;
        // A session still starting draws for minutes under TCG, and takes the CPUs from the rest.
        wait(
            "plasmashell and KWin to settle (together under 5 % of a CPU over 10 s)",
            Duration::from_secs(600),
            || {
                let out = vm.exec_user(&footprint::desktop_ticks(), Duration::from_secs(60))?;
                Ok(out.stdout.trim().parse::<u64>().is_ok_and(|ticks| ticks < 50))
            },
        )?;
        eprintln!("testbed: measuring the idle agent for {seconds} s");
        let out = vm.exec_user(&footprint::script(seconds), Duration::from_secs(seconds + 120))?;
        anyhow::ensure!(out.success(), "the measurement failed: {}{}", out.stdout, out.stderr);
        std::fs::write(dir.join("footprint.out"), &out.stdout)?;
        let mut measured = footprint::parse(&out.stdout).map_err(anyhow::Error::msg)?;
        if calibrate > 0 {
            measured.calibration = Some(calibrate_tick(&vm, dir, binaries, calibrate)?);
        }
        Ok(measured)
    })();
    let _ = vm.power_off();
    let mut measured = measured?;
    measured.host_reference = Some(footprint::host_reference()?);
    println!("{measured}");
    Ok(())
}
