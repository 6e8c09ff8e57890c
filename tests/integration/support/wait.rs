//! Waiting on events (a line of output, a file, a state) with a deadline that fails the test with a
//! clear message, instead of sleeping for a time that is too short on a busy machine.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a test waits for something that takes milliseconds on a quiet machine.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Checks `ready` until it returns Some, for `DEADLINE` at most, then panics naming `what`.
pub fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(Instant::now() < until, "gave up after {DEADLINE:?} waiting for {what}");
        // A poll interval, not a wait for something to happen: `ready` decides that.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks `ready` until it is true, for `DEADLINE` at most, then panics naming `what`.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    wait_for(what, || ready().then_some(()))
}

/// The lines a child writes to one of its pipes, read on a thread as they come.
pub struct Lines {
    lines: Receiver<String>,
    /// Every line received so far, for the failure message and for the test to read afterwards.
    seen: Vec<String>,
    /// How many of `seen` `unread` has returned.
    returned: usize,
}

impl Lines {
    pub fn read(pipe: impl Read + Send + 'static) -> Self {
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Lines { lines, seen: Vec::new(), returned: 0 }
    }

    /// Waits for a line matching `wanted` and returns it; panics naming `what` when the pipe closes
    /// or `DEADLINE` passes first.
    pub fn wait_for_line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            match self.lines.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "gave up after {DEADLINE:?} waiting for {what}; the output so far:\n{}",
                        self.text()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the output ended before {what}:\n{}", self.text())
                }
            }
        }
    }

    /// Reads the rest and returns everything seen. The pipe ends when the child exits, or 5 s after
    /// its last line: a process the child started may still hold it open.
    pub fn rest(mut self) -> String {
        self.drain();
        self.text()
    }

    /// Reads the rest (as `rest`) and returns the lines that `unread` has not returned yet.
    pub fn rest_unread(&mut self) -> String {
        self.drain();
        self.unread()
    }

    /// The lines read since the last call, each ending in a newline.
    pub fn unread(&mut self) -> String {
        let lines = &self.seen[self.returned..];
        self.returned = self.seen.len();
        lines.iter().map(|line| format!("{line}\n")).collect()
    }

    fn drain(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
    }

    fn text(&self) -> String {
        self.seen.join("\n")
    }
}
