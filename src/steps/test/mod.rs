//! `stepkit test`: discover -> plan (timings, LPT, shard) -> run (process groups, watchdog, retries) -> collect.

pub mod assemble;
pub mod collect;
pub mod execute;
pub mod model;
pub mod plan;
pub mod preset;
pub mod run;
pub mod teamcity;
pub mod timings;
mod verdict;

use crate::ci::{Progress, ProgressMode};
use crate::junit::{read_file, write_report, Profile, Report};
use crate::report::{Live, Outcome};
use assemble::{build_report, children_cpu_seconds, failing, not_run, replace_with_whole_file, Results, RunFacts};
use execute::{Runner, Stop, Stopper};
use model::{Batch, Part, Shard, SplitMode, TestFile};
use plan::{plan, PlanInput};
use preset::{Preset, PresetError};
use run::Limits;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use timings::Timings;

/// Resolved settings for `stepkit test`.
#[derive(Debug, Clone)]
pub struct TestSettings {
    pub preset: Preset,
    pub command: Vec<String>,
    pub workers: usize,
    pub shard: Option<Shard>,
    pub split: SplitMode,
    pub timings: Vec<String>,
    pub retries: u32,
    /// Whether a test that passed only on a retry fails the run.
    pub flaky_fails: bool,
    pub timeout: Option<Duration>,
    pub stall_timeout: Option<Duration>,
    pub max_fail: Option<u64>,
    pub junit: Option<PathBuf>,
    pub profile: Profile,
    pub cwd: PathBuf,
    pub progress: ProgressMode,
    pub slowest: usize,
    /// The checkout root, for annotation paths.
    pub workspace: Option<PathBuf>,
}

/// `stepkit test` could not run.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error(transparent)]
    Preset(#[from] PresetError),
    #[error("create a work directory for batch reports: {0}")]
    WorkDir(std::io::Error),
    #[error("write the merged JUnit report {path}: {source}; check that the directory is writable")]
    WriteJunit { path: PathBuf, source: std::io::Error },
}

/// Seconds between SIGTERM and SIGKILL for a batch being stopped.
const GRACE: Duration = Duration::from_secs(2);

/// Runs the suite. Must be called inside a tokio runtime.
pub async fn run(settings: &TestSettings, live: &mut dyn Live) -> Result<Outcome, TestError> {
    let started = Instant::now();
    let discovery = settings.preset.discover(&settings.command, &settings.cwd)?;
    let files = &discovery.files;
    // Listing starts the tool and loads every test: a fair measure of what each process costs.
    let overhead = if matches!(settings.preset, Preset::Command { .. }) { 0.0 } else { started.elapsed().as_secs_f64() };
    // Listed tests no batch can run are error cases, once (in shard 1 when sharded), never dropped.
    let unplaced = if settings.shard.is_none_or(|s| s.index == 1) { assemble::unplaced(&discovery.unplaced) } else { Results::new() };
    if files.is_empty() && discovery.unplaced.is_empty() {
        return Ok(verdict::nothing_found(settings));
    }
    let files = files.as_slice();
    let (timings, mut warnings) = load_timings(&settings.timings, files, settings);
    let plan = plan(&PlanInput {
        files,
        timings: &timings,
        workers: settings.workers,
        shard: settings.shard,
        split: settings.split,
        multi_file: settings.preset.multi_file(),
        overhead,
    });
    let cases: usize = files.iter().map(|f| f.cases.len().max(1)).sum();
    if !discovery.unplaced.is_empty() {
        warnings.push(format!(
            "{} listed test(s) could not be given to any batch and are reported as errors: {}",
            discovery.unplaced.len(),
            discovery.unplaced[0].why
        ));
    }
    live.line(&format!(
        "stepkit test: {cases} tests in {} files; {} batches on {} workers{}; {}",
        files.len(),
        plan.batches.len(),
        settings.workers,
        settings.shard.map(|s| format!(", shard {s}")).unwrap_or_default(),
        if plan.informed {
            format!("predicted {:.1}s of work, ideal makespan {:.1}s", plan.expected_total, plan.ideal_makespan)
        } else {
            "no timings yet, so durations are guessed: pass --timings with a previous report for a balanced plan".to_string()
        }
    ));
    if plan.batches.is_empty() && unplaced.is_empty() {
        return Ok(verdict::empty_shard(settings));
    }

    let work = tempfile::Builder::new().prefix("stepkit-test-").tempdir().map_err(TestError::WorkDir)?;
    let stopper = Stopper::start(settings.timeout);
    let runner = Runner {
        preset: &settings.preset,
        command: &discovery.batch_command,
        select_cases: discovery.select_cases,
        files,
        workers: settings.workers,
        limits: Limits { stall_timeout: settings.stall_timeout, grace: GRACE },
        cwd: &settings.cwd,
        work_dir: work.path(),
        max_fail: settings.max_fail,
    };
    let progress = Progress::new("tests", Some(plan.batches.len() as u64), settings.progress);
    let mut failed_so_far = 0u64;
    let mut results: Results = unplaced;
    let mut busy = vec![0.0; settings.workers];
    let mut not_started: Vec<Batch> = Vec::new();

    let first = runner.execute("run", plan.batches.clone(), &stopper, &mut failed_so_far, live, &progress).await;
    let split_with_failures = split_files_with_failures(&plan.batches, &first.results);
    absorb(&mut results, &mut busy, &mut not_started, &mut warnings, first);

    // A split file that failed is run whole once: its tests may depend on each other's order.
    let mut order_dependent = Vec::new();
    if stopper.reason().is_none() && !split_with_failures.is_empty() {
        let batches: Vec<Batch> = split_with_failures.iter().enumerate().map(|(i, &file)| Batch { id: i + 1, parts: vec![Part { file, cases: None }], expected: 0.0 }).collect();
        live.line(&format!("stepkit test: running {} split file(s) whole to tell order dependence from real failures", batches.len()));
        let whole = runner.execute("whole", batches, &stopper, &mut failed_so_far, live, &progress).await;
        for (_, batch_results) in &whole.results {
            warnings.extend(planning_warning(batch_results));
            for file in &split_with_failures {
                if replace_with_whole_file(&mut results, *file, &batch_results.cases) > 0 {
                    order_dependent.push(files[*file].path.clone());
                }
            }
        }
        for (slot, seconds) in whole.busy.iter().enumerate() {
            busy[slot] += seconds;
        }
    }

    let mut retried = 0;
    for attempt in 1..=settings.retries {
        if stopper.reason().is_some() {
            break;
        }
        let to_retry = failing(&results, &files);
        if to_retry.is_empty() {
            break;
        }
        retried += to_retry.len();
        live.line(&format!("stepkit test: retry {attempt}/{}: rerunning {} failed test(s)", settings.retries, to_retry.len()));
        let batches = retry_batches(&to_retry);
        let retry = runner.execute(&format!("retry{attempt}"), batches, &stopper, &mut failed_so_far, live, &progress).await;
        absorb(&mut results, &mut busy, &mut not_started, &mut warnings, retry);
    }
    progress.finish();

    let stop = stopper.reason();
    if let Some(reason) = stop {
        let why = match reason {
            Stop::Signal(_) => "the run was interrupted",
            Stop::TimedOut => "the run's --timeout passed",
            Stop::MaxFail => "--max-fail was reached",
        };
        results.extend(not_run(&not_started, files, why));
    }
    let wall = started.elapsed().as_secs_f64();
    let facts = RunFacts {
        wall_seconds: wall,
        cpu_seconds: children_cpu_seconds(),
        workers: settings.workers,
        shard: settings.shard.map(|s| s.to_string()),
        interrupted: matches!(stop, Some(Stop::Signal(_) | Stop::TimedOut)),
    };
    let report = build_report(files, results, &facts);
    if let Some(path) = &settings.junit {
        crate::steps::junit::merge::write_atomically(path, |file| write_report(&report, settings.profile, file))
            .map_err(|source| TestError::WriteJunit { path: path.clone(), source })?;
    }
    Ok(verdict::outcome(settings, &report, verdict::RunStats { plan: &plan, busy, stop, retried, order_dependent, warnings, facts }))
}

/// Timings from `--timings` reports; unreadable ones are warnings, not errors (a first run has none).
fn load_timings(patterns: &[String], files: &[TestFile], settings: &TestSettings) -> (Timings, Vec<String>) {
    let mut warnings = Vec::new();
    let mut reports: Vec<Report> = Vec::new();
    match crate::steps::junit::expand_patterns(patterns) {
        Ok(inputs) => {
            for input in inputs {
                match input {
                    crate::steps::junit::Input::File(path) => match read_file(&path) {
                        Ok(report) => reports.push(report),
                        Err(e) => warnings.push(format!("ignoring timings: failed to {e}")),
                    },
                    crate::steps::junit::Input::NoMatch(p) => warnings.push(format!("no timings report matches `{p}`; planning without timings")),
                }
            }
        }
        Err(e) => warnings.push(format!("ignoring --timings: {e}")),
    }
    (Timings::from_reports(&reports, files, &settings.cwd), warnings)
}

fn absorb(results: &mut Results, busy: &mut [f64], not_started: &mut Vec<Batch>, warnings: &mut Vec<String>, phase: execute::PhaseResult) {
    for (_, batch) in phase.results {
        warnings.extend(planning_warning(&batch));
        results.extend(batch.cases);
    }
    for (slot, seconds) in phase.busy.iter().enumerate() {
        busy[slot] += seconds;
    }
    not_started.extend(phase.not_started);
}

/// The loud line for a batch that reported tests outside its selection (see collect.rs).
fn planning_warning(batch: &collect::BatchResults) -> Option<String> {
    (!batch.outside.is_empty()).then(|| format!("planning error: a batch reported {} test(s) it was not given, first {}; see its error case", batch.outside.len(), batch.outside[0]))
}

/// Files that ran split and had a failure or error.
fn split_files_with_failures(batches: &[Batch], results: &[(usize, collect::BatchResults)]) -> Vec<usize> {
    let mut files = Vec::new();
    for (id, batch_results) in results {
        let Some(batch) = batches.iter().find(|b| b.id == *id) else { continue };
        if !batch.is_split() {
            continue;
        }
        let failed = batch_results.cases.iter().any(|(_, c)| matches!(c.status, crate::junit::Status::Failed | crate::junit::Status::Errored));
        if failed {
            for part in batch.parts.iter().filter(|p| p.cases.is_some()) {
                if !files.contains(&part.file) {
                    files.push(part.file);
                }
            }
        }
    }
    files.sort_unstable();
    files
}

/// One batch per file with its failed cases (or the whole file when it has no listing).
fn retry_batches(failing: &[(usize, Option<usize>)]) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    for &(file, case) in failing {
        match batches.iter_mut().find(|b| b.parts[0].file == file) {
            Some(batch) => {
                if let (Some(cases), Some(case)) = (batch.parts[0].cases.as_mut(), case) {
                    cases.push(case);
                }
            }
            None => batches.push(Batch { id: batches.len() + 1, parts: vec![Part { file, cases: case.map(|c| vec![c]) }], expected: 0.0 }),
        }
    }
    batches
}
