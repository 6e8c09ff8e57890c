//! `Progress` for long work: a bar on an interactive terminal, timed heartbeat lines in CI logs, or nothing.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Context;

/// How often CI logs get a heartbeat line by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

/// A shorter interval would turn the heartbeat thread into a busy loop.
const MIN_HEARTBEAT: Duration = Duration::from_millis(10);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar (or spinner without a total), redrawn in place on stderr.
    Bar,
    /// Plain lines like `stepkit: tests: 1200/5000 (24%), 40s`, at most one per `every`.
    Heartbeat { every: Duration },
    /// Nothing.
    Silent,
}

/// Pick the mode: a bar only on an interactive terminal outside CI, heartbeat lines otherwise (CI logs and
/// redirected output cannot redraw a line), nothing when `quiet`.
pub fn progress_mode(ctx: &Context, stderr_is_tty: bool, quiet: bool) -> ProgressMode {
    if quiet {
        ProgressMode::Silent
    } else if stderr_is_tty && !ctx.provider.is_ci() {
        ProgressMode::Bar
    } else {
        ProgressMode::Heartbeat { every: DEFAULT_HEARTBEAT }
    }
}

/// Progress of one long piece of work; cheap to update from many threads (`&self` everywhere).
pub struct Progress {
    kind: Kind,
}

enum Kind {
    Bar(ProgressBar),
    Heartbeat(Heartbeat),
    Silent,
}

impl Progress {
    /// Progress labelled `label` towards `total` items (`None`: unknown); heartbeat lines go to stderr.
    pub fn new(label: &str, total: Option<u64>, mode: ProgressMode) -> Progress {
        Progress::with_writer(label, total, mode, Box::new(std::io::stderr()))
    }

    /// Like `new`, with heartbeat lines written to `out` (the bar always draws on the terminal's stderr).
    pub fn with_writer(
        label: &str,
        total: Option<u64>,
        mode: ProgressMode,
        out: Box<dyn Write + Send>,
    ) -> Progress {
        let kind = match mode {
            ProgressMode::Bar => Kind::Bar(bar(label, total)),
            ProgressMode::Heartbeat { every } => Kind::Heartbeat(Heartbeat::start(label, total, every, out)),
            ProgressMode::Silent => Kind::Silent,
        };
        Progress { kind }
    }

    /// `n` more items are done. Never writes: heartbeats come from a timer, not from progress.
    pub fn inc(&self, n: u64) {
        match &self.kind {
            Kind::Bar(bar) => bar.inc(n),
            Kind::Heartbeat(hb) => {
                hb.shared.pos.fetch_add(n, Ordering::Relaxed);
            }
            Kind::Silent => {}
        }
    }

    /// The work grew by `n` items (a retry phase, re-queued tests): the total follows, so the
    /// percentage stays honest instead of passing 100%.
    pub fn add_total(&self, n: u64) {
        match &self.kind {
            Kind::Bar(bar) => bar.inc_length(n),
            Kind::Heartbeat(hb) => {
                hb.shared.total.fetch_add(n, Ordering::Relaxed);
            }
            Kind::Silent => {}
        }
    }

    /// What is being worked on now (shown after the counts).
    pub fn set_message(&self, message: &str) {
        // A test file's or an image step's name: untrusted, and shown in the CI log.
        let message = &crate::sanitize::line(message, 300);
        match &self.kind {
            Kind::Bar(bar) => bar.set_message(message.to_string()),
            Kind::Heartbeat(hb) => *lock(&hb.shared.message) = message.to_string(),
            Kind::Silent => {}
        }
    }

    /// The work is done: clear the bar; after heartbeats, write a final line so the log shows the end.
    pub fn finish(&self) {
        match &self.kind {
            Kind::Bar(bar) => bar.finish_and_clear(),
            Kind::Heartbeat(hb) => hb.stop(true),
            Kind::Silent => {}
        }
    }
}

impl Drop for Progress {
    /// Dropped without `finish` (an error path): stop drawing, but do not claim the work is done.
    fn drop(&mut self) {
        match &self.kind {
            Kind::Bar(bar) if !bar.is_finished() => bar.finish_and_clear(),
            Kind::Heartbeat(hb) => hb.stop(false),
            _ => {}
        }
    }
}

fn bar(label: &str, total: Option<u64>) -> ProgressBar {
    // No colours in the templates, so NO_COLOR needs no special handling here.
    let (template, tick) = match total {
        Some(_) => ("{prefix}: [{elapsed}] {bar:30} {pos}/{len} ({percent}%) {wide_msg}", None),
        None => ("{spinner} {prefix}: {pos} done [{elapsed}] {wide_msg}", Some(Duration::from_millis(120))),
    };
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr()).with_style(style);
    bar.set_prefix(label.to_string());
    // The elapsed time and the spinner move even while no item completes, so the user sees we are alive.
    bar.enable_steady_tick(tick.unwrap_or(Duration::from_millis(500)));
    bar
}

/// Heartbeat mode: a thread writes the current state every `every` until stopped.
struct Heartbeat {
    shared: Arc<Shared>,
    ticker: Mutex<Option<Ticker>>,
}

struct Shared {
    label: String,
    /// `u64::MAX` when the total is unknown.
    total: AtomicU64,
    pos: AtomicU64,
    message: Mutex<String>,
    out: Mutex<Box<dyn Write + Send>>,
    started: Instant,
    /// Whether any heartbeat was written: short work gets no lines at all, not even the final one.
    wrote: AtomicBool,
}

struct Ticker {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Heartbeat {
    fn start(label: &str, total: Option<u64>, every: Duration, out: Box<dyn Write + Send>) -> Heartbeat {
        let shared = Arc::new(Shared {
            label: label.to_string(),
            total: AtomicU64::new(total.unwrap_or(u64::MAX)),
            pos: AtomicU64::new(0),
            message: Mutex::new(String::new()),
            out: Mutex::new(out),
            started: Instant::now(),
            wrote: AtomicBool::new(false),
        });
        let every = every.max(MIN_HEARTBEAT);
        let (stop, stopped) = mpsc::channel::<()>();
        let thread_shared = Arc::clone(&shared);
        // A timer thread rather than writing from inc(): a single slow item (one long test file, a docker
        // layer) must still show the step is alive. If the thread cannot start, progress is simply not shown.
        let ticker = std::thread::Builder::new()
            .name("stepkit-heartbeat".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    thread_shared.write_line(false);
                }
            })
            .ok()
            .map(|thread| Ticker { stop, thread });
        Heartbeat { shared, ticker: Mutex::new(ticker) }
    }

    /// Stop the thread (once); with `done`, close the heartbeats with a final line.
    fn stop(&self, done: bool) {
        let Some(ticker) = lock(&self.ticker).take() else { return };
        drop(ticker.stop);
        let _ = ticker.thread.join();
        if done && self.shared.wrote.load(Ordering::Relaxed) {
            self.shared.write_line(true);
        }
    }
}

impl Shared {
    fn write_line(&self, done: bool) {
        let message = lock(&self.message).clone();
        let line = heartbeat_line(
            &self.label,
            self.pos.load(Ordering::Relaxed),
            Some(self.total.load(Ordering::Relaxed)).filter(|t| *t != u64::MAX),
            self.started.elapsed(),
            &message,
            done,
        );
        let mut out = lock(&self.out);
        // Nowhere to report a broken stderr; the work itself goes on.
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
        self.wrote.store(true, Ordering::Relaxed);
    }
}

/// `stepkit: tests: 1200/5000 (24%), 40s - tests/Unit/FooTest.php`; with `done`, `..., done in 40s`.
fn heartbeat_line(
    label: &str,
    pos: u64,
    total: Option<u64>,
    elapsed: Duration,
    message: &str,
    done: bool,
) -> String {
    let counts = match total {
        Some(0) => format!("{pos}/0"),
        Some(total) => {
            let percent = (u128::from(pos) * 100 / u128::from(total)).min(100);
            format!("{pos}/{total} ({percent}%)")
        }
        None => format!("{pos} done"),
    };
    let elapsed = format_elapsed(elapsed);
    if done {
        return format!("stepkit: {label}: {counts}, done in {elapsed}");
    }
    let mut line = format!("stepkit: {label}: {counts}, {elapsed}");
    if !message.is_empty() {
        line.push_str(" - ");
        line.push_str(message);
    }
    line
}

/// `7s`, `2m05s`, `1h02m`: short enough for a log line, precise enough for a heartbeat.
fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// A poisoned lock only means another thread panicked mid-update of progress text; keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::test_support::SharedBuf;
    use crate::ci::{Context, Provider};

    #[test]
    fn mode_depends_on_tty_ci_and_quiet() {
        let local = Context::new(Provider::Local);
        let github = Context::new(Provider::GitHubActions);
        let heartbeat = ProgressMode::Heartbeat { every: DEFAULT_HEARTBEAT };
        assert_eq!(progress_mode(&local, true, false), ProgressMode::Bar);
        assert_eq!(progress_mode(&local, false, false), heartbeat);
        assert_eq!(progress_mode(&github, true, false), heartbeat);
        assert_eq!(progress_mode(&Context::new(Provider::Jenkins), false, false), heartbeat);
        assert_eq!(progress_mode(&local, true, true), ProgressMode::Silent);
        assert_eq!(progress_mode(&github, false, true), ProgressMode::Silent);
    }

    #[test]
    fn progress_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Progress>();
    }

    #[test]
    fn heartbeat_lines() {
        let s = Duration::from_secs;
        assert_eq!(
            heartbeat_line("tests", 1200, Some(5000), s(40), "", false),
            "stepkit: tests: 1200/5000 (24%), 40s"
        );
        assert_eq!(
            heartbeat_line("tests", 7, Some(9), s(125), "a/b.php", false),
            "stepkit: tests: 7/9 (77%), 2m05s - a/b.php"
        );
        assert_eq!(
            heartbeat_line("push", 3, None, s(3725), "layer", false),
            "stepkit: push: 3 done, 1h02m - layer"
        );
        assert_eq!(heartbeat_line("x", 12, Some(10), s(1), "", true), "stepkit: x: 12/10 (100%), done in 1s");
        assert_eq!(heartbeat_line("x", 0, Some(0), s(0), "", false), "stepkit: x: 0/0, 0s");
        assert!(heartbeat_line("x", u64::MAX, Some(u64::MAX), s(0), "", false).contains(" (100%), "));
    }

    #[test]
    fn heartbeat_never_writes_on_inc() {
        let buf = SharedBuf::default();
        let mode = ProgressMode::Heartbeat { every: Duration::from_secs(3600) };
        let progress = Progress::with_writer("tests", Some(10_000), mode, Box::new(buf.clone()));
        for _ in 0..10_000 {
            progress.inc(1);
        }
        progress.set_message("last");
        progress.finish();
        assert_eq!(buf.text(), "", "no heartbeat was due, so not even a final line");
    }

    #[test]
    fn heartbeat_writes_on_its_timer_and_closes_with_a_final_line() {
        let buf = SharedBuf::default();
        let mode = ProgressMode::Heartbeat { every: Duration::from_millis(20) };
        let progress = Progress::with_writer("tests", Some(10), mode, Box::new(buf.clone()));
        progress.inc(5);
        progress.set_message("a/b.php");
        // Wait for a tick after the updates (generously: a loaded machine may be slow to schedule the thread).
        let ticked = |text: &str| {
            text.lines().any(|l| l.starts_with("stepkit: tests: 5/10 (50%), ") && l.ends_with(" - a/b.php"))
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ticked(&buf.text()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        progress.inc(5);
        progress.finish();
        progress.finish();
        let text = buf.text();
        assert!(ticked(&text), "{text}");
        assert!(text.lines().last().unwrap().starts_with("stepkit: tests: 10/10 (100%), done in "), "{text}");
        assert_eq!(text.matches("done in").count(), 1, "finish is idempotent");
        let after = buf.text().len();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(buf.text().len(), after, "the timer stops with finish");
    }

    #[test]
    fn the_total_grows_with_added_work() {
        let buf = SharedBuf::default();
        let mode = ProgressMode::Heartbeat { every: Duration::from_millis(20) };
        let progress = Progress::with_writer("tests", Some(0), mode, Box::new(buf.clone()));
        progress.add_total(40);
        progress.inc(10);
        progress.add_total(3);
        progress.set_message("run batches 1/4, last a.py");
        let ticked = |text: &str| {
            text.lines().any(|l| {
                l.starts_with("stepkit: tests: 10/43 (23%), ") && l.ends_with(" - run batches 1/4, last a.py")
            })
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ticked(&buf.text()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        progress.finish();
        assert!(ticked(&buf.text()), "{}", buf.text());
    }

    #[test]
    fn dropping_without_finish_stops_quietly() {
        let buf = SharedBuf::default();
        let mode = ProgressMode::Heartbeat { every: Duration::from_millis(10) };
        let progress = Progress::with_writer("work", None, mode, Box::new(buf.clone()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while buf.text().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(progress);
        let text = buf.text();
        assert!(text.starts_with("stepkit: work: 0 done, "), "{text}");
        assert!(!text.contains("done in"), "{text}");
    }

    #[test]
    fn bar_and_silent_modes_accept_updates() {
        for mode in [ProgressMode::Bar, ProgressMode::Silent] {
            let buf = SharedBuf::default();
            for total in [Some(3), None] {
                let progress = Progress::with_writer("build", total, mode, Box::new(buf.clone()));
                progress.inc(2);
                progress.set_message("step 2");
                progress.finish();
            }
            assert_eq!(buf.text(), "", "{mode:?} does not use the heartbeat writer");
        }
    }
}
