//! This session's XDG base directories (XDG Base Directory spec 0.8): a variable that is
//! unset, empty or not an absolute path takes its default under $HOME.

use std::path::PathBuf;

/// $HOME ("/" when unset, empty or relative).
pub fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).filter(|home| home.is_absolute()).unwrap_or_else(|| "/".into())
}

/// The base directory in `variable` (XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME...), else
/// `default` under $HOME (".config", ".local/share", ".local/state"...).
pub fn base_dir(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .unwrap_or_else(|| home().join(default))
}

/// ballast's folder under $XDG_STATE_HOME (default ~/.local/state/ballast): the event log,
/// tune's backups, the usage record.
pub fn state_dir() -> PathBuf {
    base_dir("XDG_STATE_HOME", ".local/state").join("ballast")
}

/// $XDG_CONFIG_HOME (default ~/.config).
pub fn config_home() -> PathBuf {
    base_dir("XDG_CONFIG_HOME", ".config")
}

/// $XDG_DATA_HOME (default ~/.local/share).
pub fn data_home() -> PathBuf {
    base_dir("XDG_DATA_HOME", ".local/share")
}
