//! QEMU's JSON protocols over a unix socket: QMP (the monitor: screendump, quit) and the guest
//! agent's (guest-exec, guest-exec-status, guest-ping). One JSON object per line each way;
//! QMP also sends events, which are skipped. Source: qemu's docs/interop/qmp-spec.rst and
//! qga/qapi-schema.json.

use crate::TestbedError;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Channel {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Channel {
    /// Connects; every read waits at most `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Channel, TestbedError> {
        let failed = |e: std::io::Error| TestbedError::Socket { path: path.to_path_buf(), detail: e.to_string() };
        let stream = UnixStream::connect(path).map_err(failed)?;
        stream.set_read_timeout(Some(timeout)).map_err(failed)?;
        let writer = stream.try_clone().map_err(failed)?;
        Ok(Channel { path: path.to_path_buf(), reader: BufReader::new(stream), writer })
    }

    fn failed(&self, detail: impl ToString) -> TestbedError {
        TestbedError::Socket { path: self.path.clone(), detail: detail.to_string() }
    }

    /// The next message that is not an event.
    pub fn read(&mut self) -> Result<Value, TestbedError> {
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line).map_err(|e| self.failed(e))? == 0 {
                return Err(self.failed("closed"));
            }
            // guest-sync-delimited puts a 0xFF byte before its answer.
            line.retain(|&b| b != 0xff);
            let text = String::from_utf8_lossy(&line);
            let trimmed = text.trim();
            if trimmed.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(trimmed).map_err(|e| self.failed(format!("{e}: {trimmed}")))?;
            if value.get("event").is_none() {
                return Ok(value);
            }
        }
    }

    /// Sends one command and returns its `return` value, or its `error` as an Err.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, TestbedError> {
        let message = if arguments.is_null() {
            json!({ "execute": command })
        } else {
            json!({ "execute": command, "arguments": arguments })
        };
        writeln!(self.writer, "{message}").map_err(|e| self.failed(e))?;
        let answer = self.read()?;
        match (answer.get("return"), answer.get("error")) {
            (Some(value), _) => Ok(value.clone()),
            (None, Some(error)) => {
                Err(TestbedError::Command { command: command.to_owned(), detail: error.to_string() })
            }
            _ => Err(self.failed(format!("unexpected answer {answer}"))),
        }
    }

    /// The guest agent's resynchronisation: a 0xFF byte, then guest-sync-delimited with a
    /// fresh id, reading until that id comes back (stale answers of a timed-out call drop).
    pub fn sync_guest_agent(&mut self, id: u64) -> Result<(), TestbedError> {
        self.writer.write_all(&[0xff]).map_err(|e| self.failed(e))?;
        writeln!(self.writer, "{}", json!({ "execute": "guest-sync-delimited", "arguments": { "id": id } }))
            .map_err(|e| self.failed(e))?;
        loop {
            if self.read()?.get("return").and_then(Value::as_u64) == Some(id) {
                return Ok(());
            }
        }
    }
}
