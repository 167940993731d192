//! `testbed`: work in the real-desktop guest by hand. `build` makes (or reuses) the image,
//! `up` boots it and waits for the Plasma session, `run`/`user` run a command as root or as
//! the session user, `reboot` logs in anew, `screenshot` saves the screen, `down` powers it
//! off.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use testbed::{build_image, default_cache, Vm};

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
    /// Boot a fresh overlay of the image and wait for the Plasma session (about 2 minutes
    /// under TCG).
    Up,
    /// Run a command in the guest as root; prints its output, exits with its code.
    Run {
        #[arg(required = true, trailing_var_arg = true)]
        argv: Vec<String>,
    },
    /// Run a shell command as the session user inside the user's systemd manager.
    User { script: String },
    /// Reboot the guest (same disk: a new login) and wait for the Plasma session.
    Reboot,
    /// Save the guest's screen as a PNG.
    Screenshot { png: PathBuf },
    /// Power the guest off.
    Down,
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
            eprintln!("testbed: booting {} (console: {})", image.rootfs.display(), cli.dir.join("console.log").display());
            Vm::boot(&image, &cli.dir)?.wait_for_session(Duration::from_secs(600))?;
            eprintln!("testbed: the Plasma session is up; the guest's /mnt/host is {}", cli.dir.join("share").display());
            None
        }
        Command::Run { argv } => Some(vm.exec(&argv.iter().map(String::as_str).collect::<Vec<_>>(), Duration::from_secs(600))?),
        Command::User { script } => Some(vm.exec_user(&script, Duration::from_secs(600))?),
        Command::Reboot => {
            vm.reboot(Duration::from_secs(600))?;
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
    };
    if let Some(output) = output {
        print!("{}", output.stdout);
        eprint!("{}", output.stderr);
        std::process::exit(output.code.clamp(0, 255) as i32);
    }
    Ok(())
}
