//! Files kept open between ticks. /proc, /sys and cgroupfs files give fresh content on
//! every read from offset 0, so a file opened once costs one pread per tick instead of
//! open + read + close: syscalls are most of a sampling tick's cost.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub struct OpenFiles {
    /// The open file, and how many sweeps passed since it was last read.
    files: HashMap<PathBuf, (File, u32)>,
    capacity: usize,
}

/// A file unread for more sweeps than this is closed: a unit's memory.stat is read only
/// every few samples ([`super::STAT_EVERY_SAMPLES`]), and opening it again costs more than
/// the read it spares.
const UNREAD_SWEEPS_KEPT: u32 = super::STAT_EVERY_SAMPLES;

impl OpenFiles {
    /// Keeps at most `capacity` files open; reads beyond that open and close as usual.
    pub fn new(capacity: usize) -> Self {
        OpenFiles { files: HashMap::new(), capacity }
    }

    /// Reads the whole file at `path` into `buffer`.
    pub fn read(&mut self, path: &Path, buffer: &mut Vec<u8>) -> io::Result<()> {
        if let Some((file, unread)) = self.files.get_mut(path) {
            *unread = 0;
            match read_whole(file, buffer) {
                Ok(()) => return Ok(()),
                // The process exited or the cgroup went away (or a new one took its
                // name): forget the old handle and try the path afresh.
                Err(_) => {
                    self.files.remove(path);
                }
            }
        }
        let file = File::open(path)?;
        read_whole(&file, buffer)?;
        if self.files.len() < self.capacity {
            self.files.insert(path.to_path_buf(), (file, 0));
        }
        Ok(())
    }

    /// Closes the files unread for over `UNREAD_SWEEPS_KEPT` sweeps (processes and units
    /// gone).
    pub fn sweep(&mut self) {
        self.files.retain(|_, (_, unread)| {
            *unread += 1;
            *unread <= UNREAD_SWEEPS_KEPT
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.files.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Reads from offset 0 to the end in as few syscalls as possible: these files fit one
/// read, and a read that leaves room in the buffer is the end (where `read_to_end`
/// would spend one more read to see 0).
fn read_whole(file: &File, buffer: &mut Vec<u8>) -> io::Result<()> {
    buffer.clear();
    loop {
        if buffer.capacity() - buffer.len() < 4096 {
            buffer.reserve(8192);
        }
        let start = buffer.len();
        buffer.resize(buffer.capacity(), 0);
        let result = file.read_at(&mut buffer[start..], start as u64);
        match result {
            Ok(n) => {
                buffer.truncate(start + n);
                if n == 0 || buffer.len() < buffer.capacity() {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buffer.truncate(start),
            Err(e) => {
                buffer.truncate(start);
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_file_reads_fresh_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.current");
        std::fs::write(&path, "100\n").unwrap();
        let mut files = OpenFiles::new(8);
        let mut buffer = Vec::new();
        files.read(&path, &mut buffer).unwrap();
        assert_eq!(buffer, b"100\n");
        // Rewritten in place, as the kernel regenerates it: the same handle sees it.
        std::fs::write(&path, "2000\n").unwrap();
        files.read(&path, &mut buffer).unwrap();
        assert_eq!(buffer, b"2000\n");
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn large_files_read_whole_and_capacity_is_respected() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        let content = "x".repeat(50_000);
        std::fs::write(&big, &content).unwrap();
        let mut files = OpenFiles::new(0);
        let mut buffer = Vec::new();
        files.read(&big, &mut buffer).unwrap();
        assert_eq!(buffer.len(), 50_000);
        assert!(files.is_empty(), "capacity 0 keeps nothing open");
    }

    #[test]
    fn sweep_closes_what_was_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        let mut files = OpenFiles::new(8);
        let mut buffer = Vec::new();
        files.read(&b, &mut buffer).unwrap();
        for _ in 0..UNREAD_SWEEPS_KEPT {
            files.read(&a, &mut buffer).unwrap();
            files.sweep();
        }
        assert_eq!(files.len(), 2, "a file read every few samples stays open");
        files.sweep();
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn a_vanished_file_is_an_error_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone");
        std::fs::write(&path, "1").unwrap();
        let mut files = OpenFiles::new(8);
        let mut buffer = Vec::new();
        files.read(&path, &mut buffer).unwrap();
        std::fs::remove_file(&path).unwrap();
        // A regular file stays readable through its handle; /proc and cgroupfs handles
        // fail instead (ESRCH, ENODEV), which the live test below exercises.
        files.read(&path, &mut buffer).unwrap();
        (0..=UNREAD_SWEEPS_KEPT).for_each(|_| files.sweep());
        assert!(files.is_empty());
    }

    #[test]
    fn a_dead_process_handle_fails_and_is_dropped() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let path = PathBuf::from(format!("/proc/{}/stat", child.id()));
        let mut files = OpenFiles::new(8);
        let mut buffer = Vec::new();
        files.read(&path, &mut buffer).unwrap();
        assert!(String::from_utf8_lossy(&buffer).contains("(sleep)"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(files.read(&path, &mut buffer).is_err(), "a reaped process cannot be read");
        assert!(files.is_empty());
    }
}
