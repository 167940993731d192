//! The event log: every kill ballast saw and every choice the user made about an app near its
//! limits (freeze, thaw, give more, stop), kept across
//! sessions in `$XDG_STATE_HOME/ballast/events.jsonl` (default ~/.local/state), one JSON
//! object per line, oldest first. `ballast events` and the dashboard read it.
//!
//! Each event is one `write` of one line to a file opened with O_APPEND, so a crash loses at
//! most the event being written; a torn last line is skipped on reading and counted. Past
//! `MAX_EVENTS` lines the log is rewritten with its newest half (a temporary file renamed
//! over it), so it stays under about 200 KiB.

use serde::{Deserialize, Serialize};
use std::io::{self, Read as _, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Lines the log holds at most before it is cut to its newest half.
pub const MAX_EVENTS: usize = 1000;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The kernel's OOM killer killed processes in a unit (memory.events `oom_kill`).
    OomKill,
    /// A unit stopped with Result `oom-kill` (its processes were OOM-killed and systemd
    /// stopped it).
    UnitOomKill,
    /// systemd-oomd killed a unit's cgroup (its `Killed` signal).
    OomdKill,
    /// The user froze an app unit (a notification's action, the tray, the dashboard or the API).
    Freeze,
    /// The user thawed a frozen app unit.
    Thaw,
    /// The user gave an app unit more memory (MemoryHigh and MemoryMax a quarter higher).
    GiveMore,
    /// The user stopped an app unit from a notification, the tray, the dashboard or the API.
    Stop,
}

impl Kind {
    /// As the log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OomKill => "oom-kill",
            Kind::UnitOomKill => "unit-oom-kill",
            Kind::OomdKill => "oomd-kill",
            Kind::Freeze => "freeze",
            Kind::Thaw => "thaw",
            Kind::GiveMore => "give-more",
            Kind::Stop => "stop",
        }
    }
}

impl From<crate::agent::command::Choice> for Kind {
    fn from(choice: crate::agent::command::Choice) -> Kind {
        use crate::agent::command::Choice;
        match choice {
            Choice::Freeze => Kind::Freeze,
            Choice::Thaw => Kind::Thaw,
            Choice::GiveMore => Kind::GiveMore,
            Choice::Stop => Kind::Stop,
        }
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// What happened.
    pub kind: Kind,
    /// The app as the user knows it: the catalog's name, else the desktop entry's Name, else
    /// the unit.
    pub who: String,
    /// The user manager's unit it happened to.
    pub unit: String,
    /// Why, in words: "used 3.0G of its 3.0G MemoryMax".
    pub why: String,
}

/// Why the log cannot be read or written; each names the file.
#[derive(Debug, Error)]
// The fields of each variant are named in its message.
#[allow(missing_docs)]
pub enum EventLogError {
    /// Reading, appending or rewriting the file failed.
    #[error("event log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The events read from a log, and how many lines did not read (a torn last line after a
/// crash, or a line from a newer ballast).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Read {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// Lines that are not an event.
    pub unreadable: usize,
}

impl Read {
    /// Each non-blank line of `bytes` as an event, or counted as unreadable (not JSON of an
    /// event, or not UTF-8).
    fn parse(bytes: &[u8]) -> Read {
        let mut read = Read::default();
        for line in bytes.split(|&byte| byte == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
            match serde_json::from_slice(line) {
                Ok(event) => read.events.push(event),
                Err(_) => read.unreadable += 1,
            }
        }
        read
    }
}

/// Bytes read from the log's end per event asked for, at first: a line is about 200 bytes.
const TAIL_BYTES_PER_EVENT: u64 = 512;

/// The log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLog {
    path: PathBuf,
}

impl EventLog {
    /// The log at `path`.
    pub fn at(path: impl Into<PathBuf>) -> EventLog {
        EventLog { path: path.into() }
    }

    /// The user's log: `$XDG_STATE_HOME/ballast/events.jsonl`, XDG_STATE_HOME defaulting to
    /// ~/.local/state (XDG Base Directory spec).
    pub fn from_env() -> EventLog {
        EventLog::at(crate::xdg::state_dir().join("events.jsonl"))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self) -> impl FnOnce(io::Error) -> EventLogError + '_ {
        |source| EventLogError::Io { path: self.path.clone(), source }
    }

    /// Appends `event` (creating the file and its directory), then cuts the log to its newest
    /// half when it holds more than `MAX_EVENTS`.
    pub fn append(&self, event: &Event) -> Result<(), EventLogError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(self.error())?;
        }
        let mut line = serde_json::to_string(event).expect("an event serializes");
        line.push('\n');
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(self.error())?;
        file.write_all(line.as_bytes()).map_err(self.error())?;
        let size = file.metadata().map_err(self.error())?.len();
        // A line is about 200 bytes: only a log near its bound is counted.
        if size > (MAX_EVENTS as u64) * 100 {
            self.cut()?;
        }
        Ok(())
    }

    /// Rewrites the log with its newest `MAX_EVENTS / 2` lines when it holds more than
    /// `MAX_EVENTS`; unreadable lines go.
    fn cut(&self) -> Result<(), EventLogError> {
        let read = self.read()?;
        if read.events.len() + read.unreadable <= MAX_EVENTS {
            return Ok(());
        }
        let keep = &read.events[read.events.len().saturating_sub(MAX_EVENTS / 2)..];
        let text: String = keep.iter().map(|e| serde_json::to_string(e).expect("an event serializes") + "\n").collect();
        crate::atomic::write(&self.path, text.as_bytes()).map_err(self.error())
    }

    /// Every event, oldest first; a missing file is an empty log.
    pub fn read(&self) -> Result<Read, EventLogError> {
        self.newest(usize::MAX)
    }

    /// The newest `count` events, oldest first, and the unreadable lines among the lines read
    /// for them. Read from the file's end, a window that grows fourfold until it holds
    /// `count` lines or the whole file: the dashboard asks for 20 every refresh, and the rest
    /// of the log is not read for them. A missing file is an empty log.
    pub fn newest(&self, count: usize) -> Result<Read, EventLogError> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Read::default()),
            Err(e) => return Err(self.error()(e)),
        };
        let size = file.metadata().map_err(self.error())?.len();
        let mut window = (count as u64).saturating_add(1).saturating_mul(TAIL_BYTES_PER_EVENT);
        loop {
            let start = size.saturating_sub(window);
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(start)).map_err(self.error())?;
            file.read_to_end(&mut bytes).map_err(self.error())?;
            // A window that starts inside a line leaves that line out.
            let whole = match bytes.iter().position(|&byte| byte == b'\n') {
                Some(end) if start > 0 => &bytes[end + 1..],
                None if start > 0 => &[][..],
                _ => &bytes[..],
            };
            let mut read = Read::parse(whole);
            if start == 0 || read.events.len() + read.unreadable >= count {
                read.events.drain(..read.events.len().saturating_sub(count));
                return Ok(read);
            }
            window = window.saturating_mul(4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(time: u64) -> Event {
        Event {
            time,
            kind: Kind::OomKill,
            who: "Discord".into(),
            unit: "app-ballast-discord-1.scope".into(),
            why: "used 3.0G of its 3.0G MemoryMax".into(),
        }
    }

    fn log(name: &str) -> EventLog {
        let dir = std::env::temp_dir().join(format!("ballast-events-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        EventLog::at(dir.join("state/ballast/events.jsonl"))
    }

    #[test]
    fn events_are_appended_and_read_back_in_order() {
        let log = log("order");
        assert_eq!(log.read().unwrap(), Read::default(), "no file: no events");
        log.append(&event(1)).unwrap();
        log.append(&event(2)).unwrap();
        let read = log.read().unwrap();
        assert_eq!(read.events, [event(1), event(2)]);
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.starts_with(r#"{"time":1,"kind":"oom-kill","who":"Discord","#), "{text}");
    }

    #[test]
    fn a_torn_line_is_skipped_and_counted() {
        let log = log("torn");
        log.append(&event(1)).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(log.path()).unwrap();
        file.write_all(br#"{"time":2,"kind":"oom-ki"#).unwrap();
        drop(file);
        let read = log.read().unwrap();
        assert_eq!((read.events.len(), read.unreadable), (1, 1));
        // The next event starts on a line of its own again only if the torn one ended; it did
        // not, so the two join into one unreadable line and the log goes on after it.
        log.append(&event(3)).unwrap();
        log.append(&event(4)).unwrap();
        assert_eq!(log.read().unwrap().events.last(), Some(&event(4)));
    }

    #[test]
    fn a_full_log_keeps_its_newest_half() {
        let log = log("full");
        for time in 0..=MAX_EVENTS as u64 {
            log.append(&event(time)).unwrap();
        }
        let read = log.read().unwrap();
        assert_eq!(read.events.len(), MAX_EVENTS / 2);
        assert_eq!(read.events.last().unwrap().time, MAX_EVENTS as u64);
        assert_eq!(read.events.first().unwrap().time, MAX_EVENTS as u64 + 1 - (MAX_EVENTS / 2) as u64);
    }

    #[test]
    fn the_newest_events_are_read_from_the_end_of_a_long_log() {
        let log = log("newest");
        for time in 0..300 {
            log.append(&event(time)).unwrap();
        }
        let mut file = std::fs::OpenOptions::new().append(true).open(log.path()).unwrap();
        file.write_all(b"not an event\n").unwrap();
        drop(file);
        let newest = log.newest(20).unwrap();
        assert_eq!(newest.events, (280..300).map(event).collect::<Vec<_>>());
        assert_eq!(newest.unreadable, 1);
        let all = log.newest(1000).unwrap();
        assert_eq!((all.events.len(), all.unreadable), (300, 1), "a window past the file's start reads it all");
        assert_eq!(log.newest(0).unwrap().events, []);
    }

    #[test]
    fn an_unwritable_place_names_the_file() {
        let log = EventLog::at("/proc/ballast/events.jsonl");
        let error = log.append(&event(1)).unwrap_err().to_string();
        assert!(error.starts_with("event log /proc/ballast/events.jsonl: "), "{error}");
    }
}
