//! `shinrai serve` as a child process, for the tests that run the real binary.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `shinrai serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Server {
    /// Starts `bin serve` on a free loopback port with `args` added, and returns once it
    /// printed its address (waiting for that line, not for a time).
    pub fn start<S: AsRef<OsStr>>(bin: &str, args: &[S]) -> Server {
        Server::start_reading(bin, args, 0).0
    }

    /// [`start`](Self::start), also returning the `lines` lines printed after the
    /// address (the demo prints its sign-in there). What it prints later is read and
    /// dropped, so the server never writes to a closed pipe.
    pub fn start_reading<S: AsRef<OsStr>>(
        bin: &str,
        args: &[S],
        lines: usize,
    ) -> (Server, Vec<String>) {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start shinrai serve");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut read = || {
            let mut line = String::new();
            out.read_line(&mut line)
                .expect("read a line of serve's output");
            line
        };
        let first = read();
        let base = first
            .trim()
            .strip_prefix("shinrai listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        let more = (0..lines).map(|_| read()).collect();
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        (Server { child, base }, more)
    }

    /// Ends the process with SIGKILL, as a crash would.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
