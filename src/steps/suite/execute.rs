//! Executing batches: workers pull from one longest-first queue (a wrong estimate is absorbed by
//! whoever is free), each batch in its own process group; results are collected as batches end.

use super::clock::ClockFormat;
use super::collect::{batch_label, collect_batch, BatchResults, Sources};
use super::model::{Batch, Part, TestFile};
use super::pace::{Pace, Queue};
use super::preset::{BatchConfig, Preset, Selection};
use super::run::{describe_exit, run_job, Exit, Finished, Job, Limits};
use crate::ci::Progress;
use crate::junit::Status;
use crate::report::Live;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT or SIGTERM (the signal number).
    Signal(i32),
    /// `--timeout` passed.
    TimedOut,
    /// `--max-fail` failed tests were reached; no new batches were started.
    MaxFail,
}

/// Shared stop state: signals and the deadline cancel running batches; --max-fail only stops new ones.
#[derive(Clone)]
pub struct Stopper {
    pub cancel: watch::Sender<bool>,
    reason: Arc<Mutex<Option<Stop>>>,
    no_new_batches: Arc<AtomicBool>,
}

impl Stopper {
    /// Starts listening for SIGINT/SIGTERM and for the deadline.
    pub fn start(timeout: Option<Duration>) -> Stopper {
        let (cancel, _) = watch::channel(false);
        let stopper = Stopper {
            cancel,
            reason: Arc::new(Mutex::new(None)),
            no_new_batches: Arc::new(AtomicBool::new(false)),
        };
        let listener = stopper.clone();
        tokio::spawn(async move {
            let mut signals = crate::signals::Signals::install();
            let deadline = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            let reason = tokio::select! {
                signal = signals.recv() => Stop::Signal(signal.number()),
                _ = deadline => Stop::TimedOut,
            };
            listener.stop(reason, true);
        });
        stopper
    }

    /// Records why the run stops; `cancel_running` also kills the batches in flight.
    pub fn stop(&self, reason: Stop, cancel_running: bool) {
        self.reason.lock().expect("stop lock").get_or_insert(reason);
        self.no_new_batches.store(true, Ordering::SeqCst);
        if cancel_running {
            let _ = self.cancel.send(true);
        }
    }

    /// Stops the batches in flight and starts no more, without a reason: their results are to be
    /// dropped (a head start whose listing changed, see head_start.rs). The stopper is spent.
    pub fn abandon(&self) {
        self.no_new_batches.store(true, Ordering::SeqCst);
        let _ = self.cancel.send(true);
    }

    /// Why the run stopped, if it did.
    pub fn reason(&self) -> Option<Stop> {
        *self.reason.lock().expect("stop lock")
    }
}

/// Everything a phase of execution needs.
pub struct Runner<'a> {
    pub preset: &'a Preset,
    /// CMD without its test-selecting arguments (see `preset::Discovery`).
    pub command: &'a [String],
    /// Name a whole file's listed cases instead of its path (the listing selected within files).
    pub select_cases: bool,
    pub files: &'a [TestFile],
    pub workers: usize,
    pub limits: Limits,
    pub cwd: &'a Path,
    pub work_dir: &'a Path,
    pub max_fail: Option<u64>,
    /// Whether the first pass's batches write coverage (`--coverage`).
    pub coverage: bool,
    /// `--only-failed`: `files` hold only the tests to run, so a whole file runs its listed cases by name.
    pub listed_only: bool,
    /// The PYTHONPATH stepkit started with; the pytest clock plugin is put in front of it.
    pub pythonpath: Option<&'a str>,
    /// PHPUnit: where a batch of several files gets its configuration.
    pub batch_config: Option<&'a BatchConfig>,
    /// A first run's plan of a tool that runs any tests together: one process's start-up in seconds,
    /// to join the first phase's queued batches at the pace finished ones show (see `Pace`).
    pub join_small: Option<f64>,
}

/// Tests in a batch: its cases, or 1 for a file run whole without a listing.
pub fn batch_tests(batch: &Batch, files: &[TestFile]) -> u64 {
    batch
        .parts
        .iter()
        .map(|p| p.cases.as_ref().map_or(files[p.file].cases.len().max(1), Vec::len) as u64)
        .sum()
}

/// What one phase produced.
pub struct PhaseResult {
    /// Each batch as it ran (queued batches joined into one, see `Pace`) and its results, by id.
    pub results: Vec<(Batch, BatchResults)>,
    pub finished: Vec<Finished>,
    /// Batches never started because the run stopped.
    pub not_started: Vec<Batch>,
    /// Seconds each worker slot was busy.
    pub busy: Vec<f64>,
    /// Planned batches that ran inside another one (see pace.rs).
    pub joined: usize,
}

/// A worker's finished job, and where the collector answers with its next job (none: stop).
type Done = (Finished, oneshot::Sender<Option<Job>>);

impl Runner<'_> {
    /// Runs `batches` (already longest-first) under `phase` and collects them.
    pub async fn execute(
        &self,
        phase: &str,
        batches: Vec<Batch>,
        stopper: &Stopper,
        failed_so_far: &mut u64,
        live: &mut dyn Live,
        progress: &Progress,
    ) -> PhaseResult {
        let planned = batches.len();
        progress.add_total(batches.iter().map(|b| batch_tests(b, self.files)).sum());
        let mut queue = Queue::new(batches, self.join_small.filter(|_| phase == "run").map(Pace::new));
        let mut running: HashMap<usize, (Batch, PathBuf, Option<PathBuf>)> = HashMap::new();
        // Only this loop hands out jobs: a worker sends its finished job and waits for the answer,
        // its next job, given once the result is collected, so a --max-fail reached by that result
        // stops the very next start, and queued batches can be joined on what finished batches took.
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        for slot in 1..=self.workers {
            let Some(job) = self.next_job(phase, &mut queue, stopper, &mut running, live) else {
                break;
            };
            spawn_worker(slot, job, done_tx.clone(), stopper.cancel.subscribe(), self.limits);
        }
        drop(done_tx);

        let mut out = PhaseResult {
            results: Vec::new(),
            finished: Vec::new(),
            not_started: Vec::new(),
            busy: vec![0.0; self.workers],
            joined: 0,
        };
        while let Some((finished, answer)) = done_rx.recv().await {
            let (batch, junit, teamcity) = running.remove(&finished.batch).expect("a job of this phase");
            let results = self.collect(&finished, &batch, &junit, teamcity.as_deref());
            let failed = results
                .cases
                .iter()
                .filter(|(_, c)| matches!(c.status, Status::Failed | Status::Errored))
                .count() as u64;
            *failed_so_far += failed;
            out.busy[finished.worker - 1] += finished.duration.as_secs_f64();
            let label = batch_label(&batch, self.files);
            for note in &results.notes {
                live.line(note);
            }
            let abnormal = !matches!(finished.exit, Exit::Code(_)) || results.unreported > 0;
            if failed > 0 || abnormal {
                let title = format!(
                    "{phase} batch {} [{label}] on worker {}: {} failed, the process {}",
                    batch.id,
                    finished.worker,
                    failed,
                    describe_exit(&finished.exit)
                );
                live.block(&title, &String::from_utf8_lossy(&finished.output));
            }
            // The bar counts tests; which batch that was goes after it, so neither passes for the other.
            let tests = batch_tests(&batch, self.files);
            progress.inc(tests);
            if let Some(pace) = queue.pace.as_mut() {
                let reported = results.cases.iter().filter_map(|(_, c)| c.time).reduce(|a, b| a + b);
                pace.record(finished.duration.as_secs_f64(), tests, reported);
            }
            progress.set_message(&format!(
                "{phase} batches {}/{}, last {label}",
                out.results.len() + 1,
                planned - queue.joined
            ));
            if let Some(limit) = self.max_fail {
                if *failed_so_far >= limit && stopper.reason().is_none() {
                    live.line(&format!("stepkit: --max-fail {limit} reached; no new batches will start"));
                    stopper.stop(Stop::MaxFail, false);
                }
            }
            out.results.push((batch, results));
            out.finished.push(Finished { output: Vec::new(), ..finished });
            let next = self.next_job(phase, &mut queue, stopper, &mut running, live);
            let _ = answer.send(next);
        }
        let mut not_started: Vec<Batch> = queue.batches.into();
        not_started.sort_by_key(|b| b.id);
        out.not_started = not_started;
        out.results.sort_by_key(|(batch, _)| batch.id);
        out.joined = queue.joined;
        out
    }

    /// The job for the next queued batch (joined with the small ones after it, see `Pace`), or
    /// none when the queue is empty or the run stops.
    fn next_job(
        &self,
        phase: &str,
        queue: &mut Queue,
        stopper: &Stopper,
        running: &mut HashMap<usize, (Batch, PathBuf, Option<PathBuf>)>,
        live: &mut dyn Live,
    ) -> Option<Job> {
        if stopper.no_new_batches.load(Ordering::SeqCst) {
            return None;
        }
        let batch = queue.take(self.files, self.workers, live)?;
        let (job, junit, teamcity) = self.job(phase, &batch);
        running.insert(batch.id, (batch, junit, teamcity));
        Some(job)
    }

    /// Runs `batches` like `execute`, then, in new batches, the tests that a `--test-timeout` stop
    /// kept from running, until none is left (each round has at least one test fewer) or the run stops.
    pub async fn execute_requeuing(
        &self,
        phase: &str,
        batches: Vec<Batch>,
        stopper: &Stopper,
        failed_so_far: &mut u64,
        live: &mut dyn Live,
        progress: &Progress,
    ) -> PhaseResult {
        let mut next_id = batches.iter().map(|b| b.id).max().unwrap_or(0);
        let mut all = self.execute(phase, batches, stopper, failed_so_far, live, progress).await;
        for round in 1.. {
            let requeue: Vec<(usize, Option<usize>)> = all
                .results
                .iter_mut()
                .flat_map(|(_, r)| std::mem::take(&mut r.requeue))
                .map(|(f, c)| (f, Some(c)))
                .collect();
            if requeue.is_empty() {
                break;
            }
            let mut batches = batches_of(&requeue);
            for batch in &mut batches {
                next_id += 1;
                batch.id = next_id;
            }
            if stopper.reason().is_some() {
                // Reported as not run, like every batch a stop keeps from starting.
                all.not_started.extend(batches);
                break;
            }
            live.line(&format!(
                "stepkit test: running {} test(s) again that a --test-timeout stop kept from running",
                requeue.len()
            ));
            let more = self
                .execute(&format!("{phase}-requeue{round}"), batches, stopper, failed_so_far, live, progress)
                .await;
            all.results.extend(more.results);
            all.finished.extend(more.finished);
            all.not_started.extend(more.not_started);
            for (slot, seconds) in more.busy.iter().enumerate() {
                all.busy[slot] += seconds;
            }
        }
        all
    }

    fn job(&self, phase: &str, batch: &Batch) -> (Job, PathBuf, Option<PathBuf>) {
        let junit = self.work_dir.join(format!("{phase}-{}.xml", batch.id));
        let mut command = self.command.to_vec();
        let teamcity = matches!(self.preset, Preset::Phpunit)
            .then(|| self.work_dir.join(format!("{phase}-{}.teamcity", batch.id)));
        if let Some(path) = &teamcity {
            // Written as tests finish: salvages results when PHP dies before writing JUnit.
            command.push("--log-teamcity".into());
            command.push(path.display().to_string());
        }
        let mut env = vec![("STEPKIT_BATCH".into(), batch.id.to_string())];
        let clock = match self.limits.test_timeout.and(ClockFormat::of(self.preset)) {
            None => None,
            Some(ClockFormat::TeamCity) => teamcity.clone().map(|path| (ClockFormat::TeamCity, path)),
            Some(ClockFormat::GoJson) => Some((ClockFormat::GoJson, super::preset::go::json_path(&junit))),
            Some(ClockFormat::Pytest) => {
                let log = self.work_dir.join(format!("{phase}-{}.clock", batch.id));
                command.extend(["-p".to_string(), super::PYTEST_CLOCK_PLUGIN.to_string()]);
                env.push(("STEPKIT_CLOCK_LOG".into(), log.display().to_string()));
                let dir = self.work_dir.display().to_string();
                env.push((
                    "PYTHONPATH".into(),
                    self.pythonpath.filter(|p| !p.is_empty()).map_or(dir.clone(), |p| format!("{dir}:{p}")),
                ));
                Some((ClockFormat::Pytest, log))
            }
        };
        let selections: Vec<Selection<'_>> = batch
            .parts
            .iter()
            .map(|p| {
                let file = &self.files[p.file];
                let cases = match &p.cases {
                    Some(cs) => Some(cs.iter().map(|&c| &file.cases[c]).collect()),
                    // The file holds only the tests to rerun; run them by name, not the whole file.
                    None if (self.listed_only || self.select_cases) && !file.cases.is_empty() => {
                        Some(file.cases.iter().collect())
                    }
                    None => None,
                };
                Selection { file, cases }
            })
            .collect();
        // A batch of several PHPUnit files runs through a configuration naming them, which lives
        // as long as the job; if it cannot be written, the batch fails to start, naming why.
        let (config, setup_error) = match self.batch_config.filter(|_| selections.len() > 1) {
            Some(source) => match source
                .write(&selections.iter().map(|s| self.cwd.join(&s.file.path)).collect::<Vec<_>>())
            {
                Ok(path) => (Some(Arc::new(path)), None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let mut argv = self.preset.argv(&command, &selections, &junit, config.as_deref().map(|p| p.as_ref()));
        let mut progress_files = vec![junit.clone(), super::preset::go::json_path(&junit)];
        progress_files.extend(teamcity.clone());
        if self.coverage && phase == "run" {
            let extra = super::coverage::coverage_args(
                self.preset,
                self.command,
                &super::coverage::batch_report(self.work_dir, phase, batch.id),
            );
            argv.extend(extra.args);
            env.extend(extra.env);
        }
        (
            Job {
                batch: batch.id,
                argv,
                env,
                cwd: self.cwd.to_path_buf(),
                progress_files,
                clock,
                config,
                setup_error,
            },
            junit,
            teamcity,
        )
    }

    fn collect(
        &self,
        finished: &Finished,
        batch: &Batch,
        junit: &Path,
        teamcity: Option<&Path>,
    ) -> BatchResults {
        let preset = self.preset;
        let normal = |code: i32| match preset {
            Preset::Phpunit => matches!(code, 0..=2),
            Preset::Pytest => matches!(code, 0 | 1 | 5),
            Preset::Go | Preset::Command { .. } => matches!(code, 0 | 1),
        };
        if matches!(preset, Preset::Go) {
            // go test -json wrote events; turn them into the JUnit file the rest of collection reads.
            if let Ok(events) = std::fs::read_to_string(super::preset::go::json_path(junit)) {
                let report = crate::junit::from_go_test_json(&events);
                let _ = std::fs::File::create(junit)
                    .and_then(|f| crate::junit::write_report(&report, crate::junit::Profile::Default, f));
            }
        }
        let hint = |exit: &Exit| match (preset, exit) {
            (Preset::Phpunit, Exit::Code(255)) => Some("a PHP fatal error?"),
            (_, Exit::Signal(9)) => Some("out of memory?"),
            _ => None,
        };
        let writes_junit = self.preset.writes_junit(self.command);
        let sources = Sources {
            junit: writes_junit.then_some(junit),
            teamcity,
            root: self.cwd,
            normal_exit: &normal,
            exit_hint: &hint,
        };
        collect_batch(finished, batch, self.files, &sources)
    }
}

/// One batch per file with these cases of it (or the whole file when it has no listing), in order.
pub fn batches_of(tests: &[(usize, Option<usize>)]) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    for &(file, case) in tests {
        match batches.iter_mut().find(|b| b.parts[0].file == file) {
            Some(batch) => {
                if let (Some(cases), Some(case)) = (batch.parts[0].cases.as_mut(), case) {
                    cases.push(case);
                }
            }
            None => batches.push(Batch {
                id: batches.len() + 1,
                parts: vec![Part { file, cases: case.map(|c| vec![c]) }],
                expected: 0.0,
            }),
        }
    }
    for batch in &mut batches {
        if let Some(cases) = batch.parts[0].cases.as_mut() {
            cases.sort_unstable();
        }
    }
    batches
}

/// Runs jobs on one worker slot until the collector answers with none.
fn spawn_worker(
    slot: usize,
    first: Job,
    done: mpsc::UnboundedSender<Done>,
    cancel: watch::Receiver<bool>,
    limits: Limits,
) {
    tokio::spawn(async move {
        let mut job = first;
        loop {
            // ParaTest's convention: TEST_TOKEN is the worker slot, so tests can pick a database per worker.
            job.env.push(("TEST_TOKEN".into(), slot.to_string()));
            job.env.push(("STEPKIT_WORKER".into(), slot.to_string()));
            let finished = run_job(&job, slot, limits, cancel.clone()).await;
            let (answer_tx, answer_rx) = oneshot::channel();
            if done.send((finished, answer_tx)).is_err() {
                break;
            }
            match answer_rx.await {
                Ok(Some(next)) => job = next,
                _ => break,
            }
        }
    });
}
