//! The `ballast` command line.

use anyhow::{Context, Result};
use ballast::budget::{Budget, Report};
use ballast::doctor;
use ballast::profile::{self, Origin, Profile};
use ballast::render;
use ballast::sample::Sampler;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ballast",
    version,
    about = "Keeps a KDE Plasma desktop inside a memory budget"
)]
#[command(after_help = "Without a command, ballast shows `status --watch`.")]
struct Cli {
    /// Profile file (an overlay on the embedded default). Default:
    /// $XDG_CONFIG_HOME/ballast/config.toml when it exists, else the embedded profile.
    #[arg(long, global = true, env = "BALLAST_PROFILE", value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Read /proc and /sys below DIR instead of / (for captured fixture trees).
    #[arg(
        long,
        global = true,
        env = "BALLAST_ROOT",
        value_name = "DIR",
        default_value = "/"
    )]
    root: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Memory by category against the budget, zram, pressure and the CPU split.
    Status {
        /// Print the report as JSON (schema: docs/status-json.md).
        #[arg(long)]
        json: bool,
        /// Refresh every sampling tick until interrupted (JSON: one report per line).
        #[arg(long)]
        watch: bool,
    },
    /// Check the system against the profile; PASS/WARN/FAIL with fixes. Exit 1 on FAIL.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Print the effective profile (TOML, or JSON with --json).
    Profile {
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    ballast::sample::raise_open_file_limit();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("ballast: {error:#}");
            std::process::exit(2);
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    let (profile, origin) = profile::load(cli.profile.as_deref())?;
    let command = cli.command.unwrap_or(Command::Status {
        json: false,
        watch: true,
    });
    match command {
        Command::Status { json, watch } => {
            status(profile, Sampler::with_root(&cli.root), json, watch)
        }
        Command::Doctor { json } => {
            let mut sampler = Sampler::with_root(&cli.root);
            let facts = doctor::gather(&mut sampler, &profile).context("cannot sample memory")?;
            let checks = doctor::checks(&profile, &facts);
            if json {
                println!("{}", serde_json::to_string_pretty(&checks)?);
            } else {
                print!("{}", doctor_text(&checks, std::io::stdout().is_terminal()));
            }
            Ok(doctor::exit_code(&checks))
        }
        Command::Profile { json } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&profile)?);
            } else {
                if let Origin::File(_) = origin {
                    println!("# effective profile: {origin} over the embedded default");
                } else {
                    println!("# effective profile: {origin}");
                }
                print!("{}", toml::to_string(&profile)?);
            }
            Ok(0)
        }
    }
}

/// How long a one-shot `status` waits between its two samples to measure CPU use.
const CPU_WINDOW: Duration = Duration::from_millis(250);

fn status(profile: Profile, mut sampler: Sampler, json: bool, watch: bool) -> Result<i32> {
    let tick = Duration::from_secs(u64::from(profile.sample.tick_seconds));
    let mut budget = Budget::new(profile);
    let color = !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut evaluate = |sampler: &mut Sampler| -> Result<Report> {
        let sample = sampler.sample().context("cannot sample memory")?;
        Ok(budget.evaluate(&sample))
    };
    if !watch {
        evaluate(&mut sampler)?;
        std::thread::sleep(CPU_WINDOW);
        let report = evaluate(&mut sampler)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", render::status_text(&report, color));
        }
        return Ok(0);
    }
    let mut stdout = std::io::stdout().lock();
    let in_place = color || (!json && std::io::stdout().is_terminal());
    loop {
        let report = evaluate(&mut sampler)?;
        if json {
            writeln!(stdout, "{}", serde_json::to_string(&report)?)?;
        } else if in_place {
            // Home the cursor and clear, so the table refreshes in place.
            write!(
                stdout,
                "\x1b[H\x1b[2J{}",
                render::status_text(&report, color)
            )?;
        } else {
            writeln!(stdout, "{}", render::status_text(&report, false))?;
        }
        stdout.flush()?;
        std::thread::sleep(tick);
    }
}

fn doctor_text(checks: &[doctor::Check], color: bool) -> String {
    let mut out = String::new();
    for check in checks {
        let word = format!("{:?}", check.verdict).to_uppercase();
        let painted = match (color, check.verdict) {
            (false, _) => word,
            (true, doctor::Verdict::Pass) => format!("\x1b[32m{word}\x1b[0m"),
            (true, doctor::Verdict::Skip) => format!("\x1b[2m{word}\x1b[0m"),
            (true, doctor::Verdict::Warn) => format!("\x1b[33m{word}\x1b[0m"),
            (true, doctor::Verdict::Fail) => format!("\x1b[1;31m{word}\x1b[0m"),
        };
        out.push_str(&format!(
            "{painted:<4}  {:<13} {}\n",
            check.id, check.message
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("      {:<13} fix: {fix}\n", ""));
        }
    }
    out
}
