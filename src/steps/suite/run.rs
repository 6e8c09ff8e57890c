//! Running one batch: its own process group, captured output, a stall watchdog, and a clean kill
//! (SIGTERM to the group, a grace period, then SIGKILL) when stalled, interrupted or out of time.

use super::clock::{ClockFormat, TestClock, TestKey};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::watch;

/// One process to run.
#[derive(Debug, Clone)]
pub struct Job {
    pub batch: usize,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Files whose growth counts as progress for the watchdog (the JUnit file, a progress log).
    pub progress_files: Vec<PathBuf>,
    /// The log that says when each test starts and finishes (`--test-timeout`).
    pub clock: Option<(ClockFormat, PathBuf)>,
    /// A file the job reads while it runs (a generated PHPUnit configuration), removed when the
    /// last copy of the job is dropped.
    pub config: Option<Arc<tempfile::TempPath>>,
    /// Why the job could not be prepared; it is then reported as failing to start.
    pub setup_error: Option<String>,
}

/// Limits that apply to every job.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Kill a batch with no output and no new results for this long.
    pub stall_timeout: Option<Duration>,
    /// How long a killed group gets between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Stop the batch when one test runs this long (jobs with a clock only).
    pub test_timeout: Option<Duration>,
}

/// Why the run of a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exited with a code.
    Code(i32),
    /// Killed by a signal it did not expect (segfault, OOM killer).
    Signal(i32),
    /// Killed by the watchdog after `stall_timeout` without activity.
    Stalled(Duration),
    /// Stopped because the run was cancelled (signal, deadline, --max-fail).
    Cancelled,
    /// Stopped because `test` ran for `limit` (`--test-timeout`); `unfinished` were running with it.
    TestTimedOut { test: TestKey, limit: Duration, unfinished: Vec<TestKey> },
    /// Could not be started.
    SpawnFailed(String),
}

/// What a finished job left behind.
#[derive(Debug, Clone)]
pub struct Finished {
    pub batch: usize,
    /// The worker slot (1-based, also `TEST_TOKEN`).
    pub worker: usize,
    pub exit: Exit,
    /// stdout and stderr as they arrived, cut to the last `OUTPUT_LIMIT` bytes.
    pub output: Vec<u8>,
    pub duration: Duration,
}

/// Output kept per batch; older output is dropped first (the end is where the crash is).
pub const OUTPUT_LIMIT: usize = 4 << 20;

/// Shared state of one running job: output and the time of the last sign of life.
struct Activity {
    output: Mutex<Vec<u8>>,
    last_activity_ms: AtomicU64,
    started: Instant,
}

impl Activity {
    fn touch(&self) {
        self.last_activity_ms.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        self.started
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last_activity_ms.load(Ordering::Relaxed)))
    }

    fn append(&self, bytes: &[u8]) {
        let mut out = self.output.lock().expect("output lock");
        out.extend_from_slice(bytes);
        if out.len() > OUTPUT_LIMIT {
            let cut = out.len() - OUTPUT_LIMIT;
            out.drain(..cut);
        }
        drop(out);
        self.touch();
    }
}

/// Runs `job` as worker `worker` until it exits, stalls, or `cancel` turns true.
pub async fn run_job(
    job: &Job,
    worker: usize,
    limits: Limits,
    mut cancel: watch::Receiver<bool>,
) -> Finished {
    let started = Instant::now();
    let finished =
        |exit, output| Finished { batch: job.batch, worker, exit, output, duration: started.elapsed() };
    if let Some(why) = &job.setup_error {
        return finished(Exit::SpawnFailed(why.clone()), Vec::new());
    }
    let Some((program, args)) = job.argv.split_first() else {
        return finished(Exit::SpawnFailed("empty command".into()), Vec::new());
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&job.cwd)
        .envs(job.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so the watchdog and signals reach every grandchild too.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return finished(Exit::SpawnFailed(format!("start `{program}`: {e}")), Vec::new()),
    };
    let pgid = child.id().map(|id| id as i32);
    let activity =
        Arc::new(Activity { output: Mutex::new(Vec::new()), last_activity_ms: AtomicU64::new(0), started });
    let readers = [
        child.stdout.take().map(|s| pump(s, activity.clone())),
        child.stderr.take().map(|s| pump(s, activity.clone())),
    ];
    let watched = tokio::spawn(watch_files(job.progress_files.clone(), activity.clone()));

    let mut clock = match (&job.clock, limits.test_timeout) {
        (Some((format, path)), Some(limit)) => Some((TestClock::new(*format, path.clone()), limit)),
        _ => None,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let exit = loop {
        tokio::select! {
            status = child.wait() => break status_to_exit(status),
            _ = tick.tick() => {
                if let Some(limit) = limits.stall_timeout {
                    if activity.idle() >= limit {
                        terminate_group(pgid, &mut child, limits.grace).await;
                        break Exit::Stalled(limit);
                    }
                }
                if let Some((clock, limit)) = clock.as_mut() {
                    let now = Instant::now();
                    clock.poll(now);
                    if let Some(test) = clock.overdue(now, *limit).cloned() {
                        let unfinished = clock.running().into_iter().filter(|k| *k != test).collect();
                        terminate_group(pgid, &mut child, limits.grace).await;
                        break Exit::TestTimedOut { test, limit: *limit, unfinished };
                    }
                }
            }
            changed = cancel.changed() => {
                if changed.is_err() || *cancel.borrow() {
                    terminate_group(pgid, &mut child, limits.grace).await;
                    break Exit::Cancelled;
                }
            }
        }
    };
    // Grandchildren may still hold the pipes open; do not wait for them forever.
    for reader in readers.into_iter().flatten() {
        let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    }
    watched.abort();
    if !matches!(exit, Exit::Cancelled | Exit::Stalled(_) | Exit::TestTimedOut { .. }) {
        // The leader is gone; make sure nothing it left behind keeps running.
        kill_group(pgid, libc::SIGKILL);
    }
    let output = std::mem::take(&mut *activity.output.lock().expect("output lock"));
    finished(exit, output)
}

fn pump<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    mut stream: R,
    activity: Arc<Activity>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            activity.append(&buf[..n]);
        }
    })
}

/// New results count as activity: a test that prints nothing but finishes tests is not stalled.
async fn watch_files(files: Vec<PathBuf>, activity: Arc<Activity>) {
    let mut sizes = vec![0u64; files.len()];
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for (file, size) in files.iter().zip(sizes.iter_mut()) {
            let now = tokio::fs::metadata(file).await.map(|m| m.len()).unwrap_or(0);
            if now != *size {
                *size = now;
                activity.touch();
            }
        }
    }
}

fn status_to_exit(status: std::io::Result<std::process::ExitStatus>) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Code(-1),
        },
        Err(e) => Exit::SpawnFailed(format!("wait for the test process: {e}")),
    }
}

fn kill_group(pgid: Option<i32>, signal: i32) {
    if let Some(pgid) = pgid.filter(|p| *p > 0) {
        // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// SIGTERM to the whole group, `grace` to exit, then SIGKILL.
async fn terminate_group(pgid: Option<i32>, child: &mut tokio::process::Child, grace: Duration) {
    kill_group(pgid, libc::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        kill_group(pgid, libc::SIGKILL);
        let _ = child.wait().await;
    }
    // The leader may exit on SIGTERM while children linger; they get no more grace than it did.
    kill_group(pgid, libc::SIGKILL);
}

/// A human description of an exit, for error cases and logs.
pub fn describe_exit(exit: &Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exited with status {code}"),
        Exit::Signal(signal) => format!("was killed by signal {signal} ({})", signal_name(*signal)),
        Exit::Stalled(limit) => format!(
            "stalled: no output and no new results for {}, so it was killed",
            humantime::format_duration(*limit)
        ),
        Exit::Cancelled => "was stopped because the run was cancelled".to_string(),
        Exit::TestTimedOut { test, limit, .. } => format!(
            "was stopped: {test} ran longer than --test-timeout {}",
            humantime::format_duration(*limit)
        ),
        Exit::SpawnFailed(message) => format!("could not start: {message}"),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV, a crash",
        libc::SIGKILL => "SIGKILL, often the OOM killer",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGFPE => "SIGFPE",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(script: &str) -> Job {
        Job {
            batch: 1,
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: vec![("X".into(), "1".into())],
            cwd: ".".into(),
            progress_files: vec![],
            clock: None,
            config: None,
            setup_error: None,
        }
    }

    fn limits(stall_ms: Option<u64>) -> Limits {
        Limits {
            stall_timeout: stall_ms.map(Duration::from_millis),
            grace: Duration::from_millis(300),
            test_timeout: None,
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
    }

    #[test]
    fn captures_output_and_exit_code() {
        let (_tx, rx) = watch::channel(false);
        let done =
            rt().block_on(run_job(&job("echo out; echo err >&2; echo $X; exit 3"), 2, limits(None), rx));
        assert_eq!(done.exit, Exit::Code(3));
        let text = String::from_utf8_lossy(&done.output);
        assert!(text.contains("out") && text.contains("err") && text.contains('1'), "{text}");
        assert_eq!(done.worker, 2);
    }

    #[test]
    fn a_stalled_group_is_killed_with_its_children() {
        let (_tx, rx) = watch::channel(false);
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > {}; echo started; wait", pidfile.display());
        let done = rt().block_on(run_job(&job(&script), 1, limits(Some(700)), rx));
        assert!(matches!(done.exit, Exit::Stalled(_)), "{:?}", done.exit);
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // Dead, or a zombie waiting for an init that may not reap in a container.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(") ").next().and_then(|rest| rest.chars().next());
        assert!(
            matches!(state, None | Some('Z') | Some('X')),
            "the grandchild sleep was killed with the group: {stat}"
        );
    }

    #[test]
    fn output_counts_as_activity() {
        let (_tx, rx) = watch::channel(false);
        let done = rt().block_on(run_job(
            &job("for i in 1 2 3 4 5 6; do echo $i; sleep 0.2; done"),
            1,
            limits(Some(600)),
            rx,
        ));
        assert_eq!(done.exit, Exit::Code(0));
    }

    #[test]
    fn cancel_stops_the_job() {
        let (tx, rx) = watch::channel(false);
        let runtime = rt();
        let done = runtime.block_on(async {
            let handle =
                tokio::spawn(
                    async move { run_job(&job("trap '' TERM; sleep 30"), 1, limits(None), rx).await },
                );
            tokio::time::sleep(Duration::from_millis(300)).await;
            tx.send(true).unwrap();
            handle.await.unwrap()
        });
        assert_eq!(done.exit, Exit::Cancelled);
        assert!(done.duration < Duration::from_secs(5), "SIGKILL after the grace: {:?}", done.duration);
    }

    #[test]
    fn a_test_over_its_time_limit_stops_the_batch() {
        let (_tx, rx) = watch::channel(false);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("clock.log");
        let mut j = job(&format!(
            "echo 'start a' >> {0}; echo 'finish a' >> {0}; echo 'start b' >> {0}; sleep 30",
            log.display()
        ));
        j.clock = Some((ClockFormat::Pytest, log));
        let mut l = limits(None);
        l.test_timeout = Some(Duration::from_millis(700));
        let done = rt().block_on(run_job(&j, 1, l, rx));
        match &done.exit {
            Exit::TestTimedOut { test, unfinished, .. } => {
                assert_eq!((test.name.as_str(), unfinished.len()), ("b", 0))
            }
            other => panic!("{other:?}"),
        }
        assert!(done.duration < Duration::from_secs(5), "{:?}", done.duration);
        assert!(
            describe_exit(&done.exit).contains("b ran longer than --test-timeout 700ms"),
            "{}",
            describe_exit(&done.exit)
        );
    }

    #[test]
    fn a_missing_program_is_reported() {
        let (_tx, rx) = watch::channel(false);
        let mut j = job("");
        j.argv = vec!["/nonexistent/phpunit".into()];
        let done = rt().block_on(run_job(&j, 1, limits(None), rx));
        assert!(matches!(&done.exit, Exit::SpawnFailed(m) if m.contains("/nonexistent/phpunit")));
    }
}
