//! What the agent can be asked to do. The tray menu, the D-Bus API and the actions of its
//! notifications all produce a [`Command`]; strings (D-Bus arguments) are parsed once, here.

use crate::tune::Target;
use clap::ValueEnum;
use std::str::FromStr;
use thiserror::Error;

/// Something the agent is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Start a catalog app (its id) in its scope.
    Launch(String),
    /// Freeze, thaw, give more memory to or stop a running app unit (its name).
    Choose(Choice, String),
    /// Preview, apply or roll back a tuning target.
    Tune(Target, TuneAction),
    /// Open the dashboard window (ballast-dashboard).
    Dashboard,
    /// Run the doctor's checks and show the outcome in a notification.
    Doctor,
    /// End the agent.
    Quit,
}

/// Where the outcome of a command asked over D-Bus goes: the caller gets it, in words, instead
/// of a notification (`ballast freeze` prints it, the dashboard shows it).
pub type Reply = tokio::sync::oneshot::Sender<Result<String, String>>;

/// A choice asked over D-Bus (the CLI, the dashboard): the agent carries it out as one from
/// the tray or a notification, with the same alerts, and replies with the outcome.
#[derive(Debug)]
pub struct Asked {
    /// What to do.
    pub choice: Choice,
    /// The app unit's name.
    pub unit: String,
    /// Where the outcome goes.
    pub reply: Reply,
}

/// What the user may do with an app near its limits: the actions of its notification, the
/// tray's and dashboard's buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// FreezeUnit: its processes keep their memory and use no CPU until thawed.
    Freeze,
    /// ThawUnit.
    Thaw,
    /// MemoryHigh and MemoryMax a quarter higher until it stops (`Limits::more`).
    GiveMore,
    /// StopUnit.
    Stop,
}

impl Choice {
    /// Every choice, in the order a notification offers them.
    pub const ALL: [Choice; 4] = [Choice::Freeze, Choice::Thaw, Choice::GiveMore, Choice::Stop];

    /// The notification action's key (Desktop Notifications spec: `actions`), and the event
    /// log's kind.
    pub fn key(self) -> &'static str {
        match self {
            Choice::Freeze => "freeze",
            Choice::Thaw => "thaw",
            Choice::GiveMore => "give-more",
            Choice::Stop => "stop",
        }
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            Choice::Freeze => "Freeze",
            Choice::Thaw => "Thaw",
            Choice::GiveMore => "Give it more",
            Choice::Stop => "Stop app",
        }
    }

    /// The choice an action key names.
    pub fn from_key(key: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// What to do with a tuning target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TuneAction {
    /// Show what applying would change (a unified diff).
    Preview,
    /// Back up and write the settings, then tell the running programs.
    Apply,
    /// Restore the target's latest backup.
    Rollback,
}

impl TuneAction {
    /// As a person reads it in a notification's title.
    pub fn verb(self) -> &'static str {
        match self {
            TuneAction::Preview => "preview",
            TuneAction::Apply => "apply",
            TuneAction::Rollback => "roll back",
        }
    }
}

/// A command's argument that names nothing the agent knows.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CommandError {
    /// The target is not kwin, baloo or all.
    #[error("unknown target {0:?}: kwin, baloo or all")]
    UnknownTarget(String),
    /// The action is not preview, apply or rollback.
    #[error("unknown action {0:?}: preview, apply or rollback")]
    UnknownAction(String),
}

impl FromStr for TuneAction {
    type Err = CommandError;

    /// "preview", "apply" or "rollback", as Tune() takes them.
    fn from_str(text: &str) -> Result<Self, CommandError> {
        match text {
            "preview" => Ok(TuneAction::Preview),
            "apply" => Ok(TuneAction::Apply),
            "rollback" => Ok(TuneAction::Rollback),
            other => Err(CommandError::UnknownAction(other.to_owned())),
        }
    }
}

/// `Tune(target, action)`'s arguments: "kwin" | "baloo" | "all", and a [`TuneAction`].
pub fn parse_tune(target: &str, action: &str) -> Result<(Target, TuneAction), CommandError> {
    let target = Target::from_str(target, false).map_err(|_| CommandError::UnknownTarget(target.to_owned()))?;
    Ok((target, action.parse()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tune_arguments_parse_or_name_what_is_wrong() {
        assert_eq!(parse_tune("baloo", "rollback"), Ok((Target::Baloo, TuneAction::Rollback)));
        assert_eq!(parse_tune("kwin", "preview"), Ok((Target::Kwin, TuneAction::Preview)));
        let unknown = |target, action| parse_tune(target, action).unwrap_err().to_string();
        assert_eq!(unknown("plasma", "apply"), "unknown target \"plasma\": kwin, baloo or all");
        assert_eq!(unknown("all", "undo"), "unknown action \"undo\": preview, apply or rollback");
    }
}
