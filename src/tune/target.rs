//! What `ballast tune` tunes. Its own file, with clap as its only dependency, because
//! build.rs reads the command line (src/cli/) and this with it.

/// A tuning target: `ballast tune kwin|baloo|all`, and Tune()'s first argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// KWin's compositing and effects (kwinrc, kdeglobals).
    Kwin,
    /// Baloo's file indexing (baloofilerc).
    Baloo,
    /// Both.
    All,
}

impl Target {
    /// As the command line and Tune() write it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Kwin => "kwin",
            Target::Baloo => "baloo",
            Target::All => "all",
        }
    }
}
