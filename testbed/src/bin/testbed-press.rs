//! `testbed-press`: presses a shown push button of a running app through AT-SPI
//! (testbed::atspi). The real-desktop suite runs it in the guest, as the session user.

use anyhow::Result;
use clap::Parser;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Press a shown push button of a running app through AT-SPI, as a screen reader does")]
struct Cli {
    /// The application's accessible name (e.g. plasmashell).
    app: String,
    /// The button's accessible name (its text).
    label: String,
    /// How long to wait for the button to show, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    testbed::atspi::press(&cli.app, &cli.label, Duration::from_secs(cli.timeout)).await?;
    println!("pressed {:?} in {}", cli.label, cli.app);
    Ok(())
}
