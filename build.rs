//! Generates the man pages and the shell completions from the command line's clap types
//! (src/cli/mod.rs) into $OUT_DIR/man (ballast.1, one page per command) and
//! $OUT_DIR/completions (bash, zsh, fish). `make install` and the Nix package install them.

use clap::CommandFactory;
use clap_complete::Shell;
use std::path::PathBuf;

// The clap types are read as they are; only their shape is used here.
#[allow(dead_code)]
#[path = "src/tune/target.rs"]
mod target;
mod tune {
    pub use super::target::Target;
}
#[allow(dead_code)]
#[path = "src/cli/mod.rs"]
mod cli;

fn main() -> std::io::Result<()> {
    println!("cargo::rerun-if-changed=src/cli/mod.rs");
    println!("cargo::rerun-if-changed=src/tune/target.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut command = cli::Cli::command();
    let man = out.join("man");
    std::fs::create_dir_all(&man)?;
    clap_mangen::generate_to(command.clone(), &man)?;
    let completions = out.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut command, "ballast", &completions)?;
    }
    Ok(())
}
