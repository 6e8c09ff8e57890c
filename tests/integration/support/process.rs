//! The `stepkit()` builder: runs the real binary with a clean, explicit environment.

use std::path::Path;
use std::process::{Command, Stdio};

/// What a run of stepkit produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON document printed on stdout.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    /// Panics with the output when the exit code is not `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A stepkit invocation being built.
pub struct Stepkit {
    command: Command,
    stdin: Option<String>,
    kill_after: Option<std::time::Duration>,
}

/// Starts a stepkit invocation with no CI variables: tests add the ones they mean.
pub fn stepkit() -> Stepkit {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepkit"));
    command.env_clear();
    for keep in ["PATH", "HOME", "TMPDIR", "LANG", "DOCKER_HOST"] {
        if let Some(value) = std::env::var_os(keep) {
            command.env(keep, value);
        }
    }
    // The fixture projects are shared by many tests: a `.stepkit/timings` cache left in one by an
    // earlier test would change the next test's plan. Tests of the cache itself remove this.
    command.env("STEPKIT_TEST_TIMINGS", "none");
    Stepkit { command, stdin: None, kill_after: None }
}

impl Stepkit {
    /// Leaves a variable the builder sets by default out of the environment.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Feeds `text` to stdin (e.g. `--password-stdin`).
    pub fn stdin_text(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }

    /// Kills the run after `limit` (exit code -1), so a test of a hang fails instead of hanging.
    pub fn kill_after(mut self, limit: std::time::Duration) -> Self {
        self.kill_after = Some(limit);
        self
    }

    /// Runs it with this umask (the cache must work under umask 002 as CI images often set it).
    pub fn umask(mut self, mask: libc::mode_t) -> Self {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe and touches only the child.
        unsafe {
            self.command.pre_exec(move || {
                libc::umask(mask);
                Ok(())
            })
        };
        self
    }

    /// Runs it with at most `bytes` of address space (`ulimit -v`), to make memory reservations fail.
    pub fn address_space_limit(mut self, bytes: u64) -> Self {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            self.command.pre_exec(move || {
                let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            })
        };
        self
    }

    /// Runs to completion and returns the peak resident memory of the stepkit process in KiB (wait4's
    /// rusage is this child's alone, unlike RUSAGE_CHILDREN, which other tests' runs share).
    // The child is reaped by wait4 below, which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    pub fn run_with_peak_rss(mut self) -> (Run, u64) {
        use std::io::Read;
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        let mut child = self.command.spawn().expect("the stepkit binary runs");
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut text);
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
        // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
        let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
        // SAFETY: waits for the child this builder started; `child` is not waited for again.
        let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        assert_eq!(pid, child.id() as i32, "wait4: {}", std::io::Error::last_os_error());
        let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
        let run = Run { code, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() };
        record(&run);
        (run, u64::try_from(usage.ru_maxrss).unwrap_or(0))
    }

    /// Starts it and returns at once, for a test that watches or signals it while it works: stdin and
    /// stdout closed, stderr piped for the test to read as it comes.
    pub fn spawn(mut self) -> std::process::Child {
        self.command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        self.command.spawn().expect("the stepkit binary runs")
    }

    /// Runs to completion.
    pub fn run(mut self) -> Run {
        use std::io::Write;
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.command.spawn().expect("the stepkit binary runs");
        if let Some(text) = self.stdin.take() {
            child.stdin.take().expect("stdin is piped").write_all(text.as_bytes()).expect("write stdin");
        }
        if let Some(limit) = self.kill_after {
            let pid = child.id();
            let (done, finished) = std::sync::mpsc::channel::<()>();
            std::thread::spawn(move || {
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                    // SAFETY: signalling the child this builder started; `done` is dropped as soon as
                    // it has been reaped, so a timeout means it is still ours.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
            });
            let output = child.wait_with_output().expect("stepkit finishes");
            drop(done);
            return finish(output);
        }
        let output = child.wait_with_output().expect("stepkit finishes");
        finish(output)
    }
}

fn finish(output: std::process::Output) -> Run {
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    record(&run);
    run
}

/// Appends every output to $STEPKIT_TEST_OUTPUT_LOG when set: .ci/run greps the whole suite's
/// output for the test secrets afterwards.
pub fn record(run: &Run) {
    use std::io::Write;
    let Some(path) = std::env::var_os("STEPKIT_TEST_OUTPUT_LOG") else { return };
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{}\n{}", run.stdout, run.stderr);
    }
}
