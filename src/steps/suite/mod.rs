//! `stepkit test`: discover -> plan (timings, LPT, shard) -> run (process groups, watchdog, retries) -> collect.

pub mod assemble;
pub mod cache;
pub mod clock;
pub mod collect;
pub mod coverage;
pub mod execute;
mod head_start;
pub mod model;
pub mod only_failed;
mod pace;
pub mod plan;
pub mod preset;
pub mod run;
pub mod teamcity;
pub mod timings;
mod verdict;

use crate::ci::{Progress, ProgressMode};
use crate::junit::{read_file, write_report, Profile, Report};
use crate::report::{Live, Outcome};
use assemble::{
    build_report, children_cpu_seconds, failing, not_run, replace_with_whole_file, Results, RunFacts,
};
use execute::{batches_of, Runner, Stop, Stopper};
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
    /// Where the plan's timings come from (`--timings`).
    pub timings: cache::TimingsChoice,
    pub retries: u32,
    /// Whether a test that passed only on a retry fails the run.
    pub flaky_fails: bool,
    pub timeout: Option<Duration>,
    pub stall_timeout: Option<Duration>,
    pub max_fail: Option<u64>,
    /// `--only-failed REPORT`: the failed tests of an earlier report, the only ones to run.
    pub only_failed: Option<only_failed::OnlyFailed>,
    /// `--test-timeout`: the longest one test may run (presets with a test clock only).
    pub test_timeout: Option<Duration>,
    pub junit: Option<PathBuf>,
    pub profile: Profile,
    pub cwd: PathBuf,
    pub progress: ProgressMode,
    pub slowest: usize,
    /// The checkout root, for annotation paths.
    pub workspace: Option<PathBuf>,
    /// `--coverage FORMAT FILE`: each batch writes coverage, merged into this.
    pub coverage: Option<coverage::CoverageTarget>,
    /// The PYTHONPATH stepkit was started with: the pytest clock plugin (`--test-timeout`) goes in front.
    pub pythonpath: Option<String>,
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
    #[error(transparent)]
    Coverage(#[from] crate::coverage::CoverageError),
}

impl crate::error::ModuleError for TestError {
    /// Only a preset given a scope it cannot run is the user's (exit 2); everything else that stops a
    /// run, coverage included, is the machine's (exit 3).
    fn is_usage(&self) -> bool {
        matches!(self, TestError::Preset(PresetError::Scope { .. }))
    }
}

/// Seconds between SIGTERM and SIGKILL for a batch being stopped.
const GRACE: Duration = Duration::from_secs(2);

/// The module name of stepkit's pytest plugin for `--test-timeout` (written into the work directory).
pub(crate) const PYTEST_CLOCK_PLUGIN: &str = "stepkit_clock";

/// Runs the suite. Must be called inside a tokio runtime.
pub async fn run(settings: &TestSettings, live: &mut dyn Live) -> Result<Outcome, TestError> {
    let started = Instant::now();
    if let Some(only) = settings.only_failed.as_ref().filter(|o| o.failed.is_empty()) {
        return Ok(verdict::nothing_failed(settings, &only.report));
    }
    let (mut discovery, overhead, mut listing) = match head_start::HeadStart::begin(settings) {
        Some(head) => (head.cached, head.overhead, Some(head.listing)),
        None => {
            let discovery =
                settings.preset.discover(&settings.command, &settings.cwd, settings.pythonpath.as_deref())?;
            // Listing starts the tool and loads every test: a fair measure of what each process costs.
            let overhead = if matches!(settings.preset, Preset::Command { .. }) {
                0.0
            } else {
                started.elapsed().as_secs_f64()
            };
            head_start::save(settings, &discovery, overhead);
            (discovery, overhead, None)
        }
    };
    loop {
        let head_start = listing.take();
        match run_listed(settings, live, started, &discovery, overhead, head_start).await? {
            Listed::Ran(outcome) => return Ok(outcome),
            Listed::Changed(fresh) => {
                live.line("stepkit test: the suite changed since the last run's listing: the batches started from it were stopped and dropped, and the run is planned again from the new listing");
                discovery = fresh?;
                head_start::save(settings, &discovery, overhead);
            }
        }
    }
}

/// How a run from one listing ended.
enum Listed {
    Ran(Outcome),
    /// A head start's listing changed; the new listing (or why it failed).
    Changed(Result<preset::Discovery, PresetError>),
}

/// Plans and runs the suite as `discovery` lists it. With `head_start`, `discovery` is the last
/// run's listing and `head_start` the new one, which decides whether the first pass stands.
async fn run_listed(
    settings: &TestSettings,
    live: &mut dyn Live,
    started: Instant,
    discovery: &preset::Discovery,
    overhead: f64,
    head_start: Option<tokio::task::JoinHandle<Result<preset::Discovery, PresetError>>>,
) -> Result<Listed, TestError> {
    let listed = &discovery.files;
    // Listed tests no batch can run are error cases, once (in shard 1 when sharded), never dropped;
    // `--only-failed` reruns only what failed, so it reports them no again.
    // Files the tool skipped while listing are reported skipped the same way.
    let unplaced = if settings.shard.is_none_or(|s| s.index == 1) && settings.only_failed.is_none() {
        let mut results = assemble::unplaced(&discovery.unplaced);
        results.extend(assemble::skipped_at_listing(&discovery.skipped_at_listing));
        results
    } else {
        Results::new()
    };
    if listed.is_empty() && discovery.unplaced.is_empty() && discovery.skipped_at_listing.is_empty() {
        return Ok(Listed::Ran(verdict::nothing_found(settings)));
    }
    let mut warnings = Vec::new();
    let files = match &settings.only_failed {
        Some(only) => {
            let selected = only.select(listed, &settings.cwd);
            if !selected.missing.is_empty() {
                warnings.push(format!(
                    "{} failed test(s) in {} are not listed any more (renamed or deleted), so they were not rerun: {}",
                    selected.missing.len(),
                    only.report.display(),
                    selected.missing.join(", ")
                ));
            }
            if selected.files.is_empty() {
                return Ok(Listed::Ran(verdict::none_listed(settings, &only.report, warnings)));
            }
            live.line(&format!(
                "stepkit test: --only-failed {}: rerunning {} failed test(s)",
                only.report.display(),
                selected.found
            ));
            selected.files
        }
        None => listed.clone(),
    };
    let files = files.as_slice();
    let timings = plan_timings(settings, files, &mut warnings);
    let plan = plan(&PlanInput {
        files,
        timings: &timings.timings,
        workers: settings.workers,
        shard: settings.shard,
        split: settings.split,
        multi_file: discovery.multi_file,
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
        "stepkit test: {cases} tests in {} files{}; {} batches on {} workers{}; {}",
        files.len(),
        if head_start.is_some() { " (the last run's listing, checked while the batches start)" } else { "" },
        plan.batches.len(),
        settings.workers,
        settings.shard.map(|s| format!(", shard {s}")).unwrap_or_default(),
        if plan.informed {
            format!("predicted {:.1}s of work, ideal makespan {:.1}s; planned with timings from {}", plan.expected_total, plan.ideal_makespan, timings.from.join(", "))
        } else if settings.timings.writes_cache() {
            "no timings yet, so durations are guessed; this run's timings are saved for the next one".to_string()
        } else {
            "no timings yet, so durations are guessed: pass --timings auto or a previous report for a balanced plan".to_string()
        }
    ));
    if let Some(ignored) = &timings.ignored {
        live.line(&format!("stepkit test: not planning with {ignored} under --shard: every job must plan from the same inputs; pass --timings auto if every job restores the same cache"));
    }
    if plan.batches.is_empty() && unplaced.is_empty() {
        return Ok(Listed::Ran(verdict::empty_shard(settings)));
    }

    let work = tempfile::Builder::new().prefix("stepkit-test-").tempdir().map_err(TestError::WorkDir)?;
    if settings.test_timeout.is_some() && settings.preset == Preset::Pytest {
        std::fs::write(
            work.path().join(format!("{PYTEST_CLOCK_PLUGIN}.py")),
            include_str!("pytest_clock.py"),
        )
        .map_err(TestError::WorkDir)?;
    }
    // A second plan (the suite changed under a head start) gets what is left of --timeout.
    let stopper = Stopper::start(settings.timeout.map(|t| t.saturating_sub(started.elapsed())));
    let runner = Runner {
        preset: &settings.preset,
        command: &discovery.batch_command,
        select_cases: discovery.select_cases,
        files,
        workers: settings.workers,
        limits: Limits {
            stall_timeout: settings.stall_timeout,
            grace: GRACE,
            test_timeout: settings.test_timeout,
        },
        cwd: &settings.cwd,
        work_dir: work.path(),
        max_fail: settings.max_fail,
        coverage: settings.coverage.is_some(),
        listed_only: settings.only_failed.is_some(),
        pythonpath: settings.pythonpath.as_deref(),
        batch_config: discovery.batch_config.as_ref(),
        join_small: (!plan.informed && discovery.multi_file && settings.split == SplitMode::Auto)
            .then_some(overhead),
    };
    // Counts tests; execute() adds each phase's tests (retries, re-queued tests) as it starts.
    let progress = Progress::new("tests", Some(0), settings.progress);
    let mut failed_so_far = 0u64;
    let mut results: Results = unplaced;
    let mut busy = vec![0.0; settings.workers];
    let mut not_started: Vec<Batch> = Vec::new();

    let first = match head_start {
        None => {
            runner
                .execute_requeuing("run", plan.batches.clone(), &stopper, &mut failed_so_far, live, &progress)
                .await
        }
        Some(listing) => {
            let gate = head_start::Gate::default();
            let mut held = head_start::HeldLive::new(&mut *live, gate.clone());
            let phase = runner.execute_requeuing(
                "run",
                plan.batches.clone(),
                &stopper,
                &mut failed_so_far,
                &mut held,
                &progress,
            );
            let confirmation = head_start::confirm(phase, listing, discovery, &stopper, &gate).await;
            held.flush();
            match confirmation {
                head_start::Confirmation::Same(first) => first,
                head_start::Confirmation::Changed(fresh) => {
                    progress.finish();
                    return Ok(Listed::Changed(fresh));
                }
            }
        }
    };
    // Coverage comes from the first pass only: reruns (whole files, retries) would count lines twice.
    let coverage_reports: Vec<(usize, PathBuf)> = first
        .finished
        .iter()
        .map(|f| (f.batch, coverage::batch_report(work.path(), "run", f.batch)))
        .collect();
    let batches_run = plan.batches.len() - first.joined;
    let split_with_failures = split_files_with_failures(&first.results);
    absorb(&mut results, &mut busy, &mut not_started, &mut warnings, first);

    // A split file that failed is run whole once: its tests may depend on each other's order.
    let mut order_dependent = Vec::new();
    // Not under --only-failed: the file holds only its failed tests, so running it "whole" would
    // only run the same tests again, and cannot tell order dependence either.
    if stopper.reason().is_none() && !split_with_failures.is_empty() && settings.only_failed.is_none() {
        let batches: Vec<Batch> = split_with_failures
            .iter()
            .enumerate()
            .map(|(i, &file)| Batch { id: i + 1, parts: vec![Part { file, cases: None }], expected: 0.0 })
            .collect();
        live.line(&format!(
            "stepkit test: running {} split file(s) whole to tell order dependence from real failures",
            batches.len()
        ));
        let whole =
            runner.execute_requeuing("whole", batches, &stopper, &mut failed_so_far, live, &progress).await;
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
        let to_retry = failing(&results, files);
        if to_retry.is_empty() {
            break;
        }
        retried += to_retry.len();
        live.line(&format!(
            "stepkit test: retry {attempt}/{}: rerunning {} failed test(s)",
            settings.retries,
            to_retry.len()
        ));
        let retry = runner
            .execute_requeuing(
                &format!("retry{attempt}"),
                batches_of(&to_retry),
                &stopper,
                &mut failed_so_far,
                live,
                &progress,
            )
            .await;
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
        crate::fs::write_atomically(path, |file| write_report(&report, settings.profile, file))
            .map_err(|source| TestError::WriteJunit { path: path.clone(), source })?;
    }
    let saved = save_timings(settings, &timings, &report, files, listed, &mut warnings);
    let notes = verdict::TimingsNote { from: timings.from, saved, ignored: timings.ignored };
    let stats = verdict::RunStats {
        plan: &plan,
        batches: batches_run,
        busy,
        stop,
        retried,
        order_dependent,
        warnings,
        facts,
        timings: notes,
    };
    let mut outcome = verdict::outcome(settings, &report, stats);
    if let Some(target) = &settings.coverage {
        let mut reports = coverage_reports;
        reports.sort_unstable();
        coverage::annotate(
            &mut outcome,
            &coverage::merge_batches(&reports, target, &settings.cwd, &settings.preset)?,
        );
    }
    Ok(Listed::Ran(outcome))
}

/// The timings a plan is made with, and where they came from.
struct PlanTimings {
    timings: Timings,
    /// Reports and the cache that were read, as shown to the user.
    from: Vec<String>,
    /// The cache as it was before this run (merged into what is saved after it).
    cached: Option<Timings>,
    /// The cache, when it exists but `--shard` keeps it out of the plan.
    ignored: Option<String>,
}

/// `--timings` reports, then the `auto` cache over them (it is the newest), as `settings.timings` says.
fn plan_timings(settings: &TestSettings, files: &[TestFile], warnings: &mut Vec<String>) -> PlanTimings {
    let choice = &settings.timings;
    let (mut timings, read) = load_timings(&choice.reports, files, settings, warnings);
    let mut from: Vec<String> = if read > 0 { choice.reports.clone() } else { Vec::new() };
    let mut cached = None;
    let mut ignored = None;
    if choice.writes_cache() {
        let path = cache::cache_path(&settings.cwd, &settings.preset, &settings.command);
        let shown = timings::relative(&path.display().to_string(), &settings.cwd);
        match cache::load(&path) {
            Ok(found) => cached = found,
            Err(e) => warnings.push(format!("ignoring timings: failed to {e}")),
        }
        if let Some(cache) = &cached {
            if choice.reads_cache(settings.shard.is_some_and(|s| s.total > 1)) {
                timings = timings.updated_with(cache);
                from.push(shown);
            } else {
                ignored = Some(shown);
            }
        }
    }
    PlanTimings { timings, from, cached, ignored }
}

/// Saves this run's timings into the `auto` cache; returns its path as shown, or None when off or failed.
fn save_timings(
    settings: &TestSettings,
    timings: &PlanTimings,
    report: &Report,
    files: &[TestFile],
    listed: &[TestFile],
    warnings: &mut Vec<String>,
) -> Option<String> {
    if !settings.timings.writes_cache() {
        return None;
    }
    let path = cache::cache_path(&settings.cwd, &settings.preset, &settings.command);
    let measured = Timings::from_reports(std::slice::from_ref(report), files, &settings.cwd);
    match cache::save(&path, &settings.preset, &settings.command, timings.cached.as_ref(), &measured, listed)
    {
        Ok(()) => Some(timings::relative(&path.display().to_string(), &settings.cwd)),
        Err(e) => {
            warnings.push(format!("could not save this run's timings to {}: {e}; the next run plans without them (--timings none turns the cache off)", path.display()));
            None
        }
    }
}

/// Timings from `--timings` reports and how many were read; unreadable ones are warnings, not errors.
fn load_timings(
    patterns: &[String],
    files: &[TestFile],
    settings: &TestSettings,
    warnings: &mut Vec<String>,
) -> (Timings, usize) {
    let mut reports: Vec<Report> = Vec::new();
    match crate::patterns::expand_patterns(patterns) {
        Ok(inputs) => {
            for input in inputs {
                match input {
                    crate::patterns::Input::File(path) => match read_file(&path) {
                        Ok(report) => reports.push(report),
                        Err(e) => warnings.push(format!("ignoring timings: failed to {e}")),
                    },
                    crate::patterns::Input::NoMatch(p) => {
                        warnings.push(format!("no timings report matches `{p}`; planning without timings"))
                    }
                }
            }
        }
        Err(e) => warnings.push(format!("ignoring the timings reports: {e}")),
    }
    (Timings::from_reports(&reports, files, &settings.cwd), reports.len())
}

fn absorb(
    results: &mut Results,
    busy: &mut [f64],
    not_started: &mut Vec<Batch>,
    warnings: &mut Vec<String>,
    phase: execute::PhaseResult,
) {
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
    (!batch.outside.is_empty()).then(|| {
        format!(
            "planning error: a batch reported {} test(s) it was not given, first {}; see its error case",
            batch.outside.len(),
            batch.outside[0]
        )
    })
}

/// Files that ran split and had a failure or error.
fn split_files_with_failures(results: &[(Batch, collect::BatchResults)]) -> Vec<usize> {
    let mut files = Vec::new();
    for (batch, batch_results) in results {
        if !batch.is_split() {
            continue;
        }
        let failed = batch_results
            .cases
            .iter()
            .any(|(_, c)| matches!(c.status, crate::junit::Status::Failed | crate::junit::Status::Errored));
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
