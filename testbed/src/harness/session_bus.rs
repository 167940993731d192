//! A private, real dbus-daemon session bus for one test; killed on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct SessionBus {
    daemon: Child,
    pub address: String,
}

impl SessionBus {
    pub fn start() -> SessionBus {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon runs (Debian package dbus; make test installs it)");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap()).read_line(&mut address).unwrap();
        assert!(address.starts_with("unix:"), "dbus-daemon printed its address: {address:?}");
        SessionBus { daemon, address: address.trim().to_owned() }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
