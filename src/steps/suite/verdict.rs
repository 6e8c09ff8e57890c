//! The outcome of `stepkit test`: verdict, summary (counts, failures, slowest, flaky, balance), outputs.

use super::execute::Stop;
use super::plan::Plan;
use super::{RunFacts, TestSettings};
use crate::junit::render::{annotations, count_outputs, describe_counts, human, markdown, relative};
use crate::junit::{summarize, Report};
use crate::report::{Outcome, Verdict};
use crate::result::suite::{
    OnlyFailedNothing, OnlyFailedRun, RunData, TestData, TimingsData, SCHEMA_VERSION,
};
use std::fmt::Write;

/// What the run learned besides the report.
pub struct RunStats<'a> {
    pub plan: &'a Plan,
    /// The first pass's batches as they ran: the plan's, less those joined (see pace.rs).
    pub batches: usize,
    pub busy: Vec<f64>,
    pub stop: Option<Stop>,
    pub retried: usize,
    pub order_dependent: Vec<String>,
    pub warnings: Vec<String>,
    pub facts: RunFacts,
    pub timings: TimingsNote,
}

/// Where the plan's timings came from and where this run's went (`--timings`).
pub struct TimingsNote {
    /// Reports and the cache the plan used, as shown to the user.
    pub from: Vec<String>,
    /// The `auto` cache this run's timings were saved to.
    pub saved: Option<String>,
    /// The `auto` cache that `--shard` kept out of the plan.
    pub ignored: Option<String>,
}

/// `--only-failed REPORT` when the report has no failed test: nothing to run, and that is a pass.
pub fn nothing_failed(settings: &TestSettings, report: &std::path::Path) -> Outcome {
    let mut outcome = Outcome::new(
        "test",
        Verdict::Passed,
        format!("no test failed in {}, so nothing was rerun", report.display()),
    );
    outcome.set_data(&TestData::OnlyFailed {
        schema_version: SCHEMA_VERSION,
        preset: settings.preset.name().to_string(),
        only_failed: OnlyFailedNothing { report: report.to_path_buf(), failed: Some(0), rerun: 0 },
    });
    outcome
}

/// `--only-failed REPORT` when none of its failed tests is listed any more (exit 4: nothing ran).
pub fn none_listed(settings: &TestSettings, report: &std::path::Path, warnings: Vec<String>) -> Outcome {
    let mut outcome = Outcome::new(
        "test",
        Verdict::NothingRan,
        format!("none of the failed tests in {} is listed any more, so nothing was rerun", report.display()),
    );
    outcome.set_data(&TestData::OnlyFailed {
        schema_version: SCHEMA_VERSION,
        preset: settings.preset.name().to_string(),
        only_failed: OnlyFailedNothing { report: report.to_path_buf(), failed: None, rerun: 0 },
    });
    outcome.warnings = warnings;
    outcome
}

/// No test found at all (exit 4).
pub fn nothing_found(settings: &TestSettings) -> Outcome {
    let mut outcome = Outcome::new(
        "test",
        Verdict::NothingRan,
        format!("the {} preset found no tests in {}", settings.preset.name(), settings.cwd.display()),
    );
    outcome.set_data(&TestData::NothingFound {
        schema_version: SCHEMA_VERSION,
        preset: settings.preset.name().to_string(),
        files: 0,
    });
    outcome
}

/// This shard has nothing to do (more shards than work).
pub fn empty_shard(settings: &TestSettings) -> Outcome {
    let shard = settings.shard.map(|s| s.to_string()).unwrap_or_default();
    let mut outcome = Outcome::new(
        "test",
        Verdict::NothingRan,
        format!("shard {shard} has no tests: there are more shards than test files to share"),
    );
    outcome.set_data(&TestData::EmptyShard {
        schema_version: SCHEMA_VERSION,
        preset: settings.preset.name().to_string(),
        shard,
    });
    outcome
}

/// The final outcome.
pub fn outcome(settings: &TestSettings, report: &Report, stats: RunStats<'_>) -> Outcome {
    let mut summary = summarize(report, settings.slowest);
    for failed in &mut summary.failed {
        failed.file = failed.file.take().map(|f| relative(&f, settings.workspace.as_deref()));
    }
    let counts = summary.counts;
    let verdict = match stats.stop {
        Some(Stop::Signal(libc::SIGTERM)) => Verdict::Terminated,
        Some(Stop::Signal(_)) => Verdict::Interrupted,
        Some(Stop::TimedOut) => Verdict::TimedOut,
        _ if counts.tests == 0 => Verdict::NothingRan,
        _ if counts.has_failures() || (settings.flaky_fails && counts.flaky > 0) => Verdict::Failed,
        _ => Verdict::Passed,
    };
    let wall = stats.facts.wall_seconds;
    let ideal = if stats.plan.informed {
        format!("; ideal {:.1}s", stats.plan.ideal_makespan)
    } else {
        String::new()
    };
    let headline = format!(
        "{} in {:.1}s on {} workers (CPU {:.1}s{ideal}){}",
        describe_counts(&counts),
        wall,
        settings.workers,
        stats.facts.cpu_seconds,
        match stats.stop {
            Some(Stop::Signal(_)) => "; interrupted: partial results",
            Some(Stop::TimedOut) => "; --timeout passed: partial results",
            Some(Stop::MaxFail) => "; --max-fail reached: remaining tests not run",
            None => "",
        }
    );
    let mut outcome = Outcome::new("test", verdict, headline);
    let mut text = human(&summary);
    // Joined batches (pace.rs) are said here, so a reader counting process start-ups need not
    // take the plan line's number for the processes that ran.
    let joined = match stats.plan.batches.len() {
        planned if planned > stats.batches => format!("; {planned} planned batches ran as {}", stats.batches),
        _ => String::new(),
    };
    let _ = writeln!(text, "Balance: {} (busy seconds per worker{joined})", balance(&stats.busy));
    if !stats.timings.from.is_empty() {
        let _ = writeln!(text, "Planned with timings from {}", stats.timings.from.join(", "));
    }
    outcome.text = text;
    let mut md = markdown(&summary);
    let _ = writeln!(md, "\n#### Balance\n\n| Worker | Busy |\n|---:|---:|");
    for (i, busy) in stats.busy.iter().enumerate() {
        let _ = writeln!(md, "| {} | {busy:.1}s |", i + 1);
    }
    outcome.markdown = md;
    outcome.step_summary = true;
    outcome.annotations = annotations(&summary, &[]);
    outcome.warnings = stats.warnings;
    if settings.flaky_fails && counts.flaky > 0 {
        outcome
            .warnings
            .push(format!("{} flaky test(s) count as failures (--flaky-result fail)", counts.flaky));
    }
    for file in &stats.order_dependent {
        outcome.warnings.push(format!("{file} fails when split but passes whole: its tests depend on their order; stepkit used the whole-file result"));
    }
    outcome.outputs = count_outputs(&counts);
    if let Some(path) = &settings.junit {
        outcome.outputs.insert(0, ("junit".into(), path.display().to_string()));
    }
    outcome.set_data(&TestData::Ran(Box::new(RunData {
        schema_version: SCHEMA_VERSION,
        preset: settings.preset.name().to_string(),
        junit: settings.junit.clone(),
        shard: settings.shard.map(|s| s.to_string()),
        workers: settings.workers,
        batches: stats.batches,
        predicted_seconds: stats.plan.expected_total,
        ideal_makespan_seconds: stats.plan.ideal_makespan,
        wall_seconds: wall,
        cpu_seconds: stats.facts.cpu_seconds,
        busy_seconds: stats.busy,
        retried: stats.retried,
        order_dependent: stats.order_dependent,
        stopped: stats.stop.map(|s| format!("{s:?}")),
        timings: TimingsData {
            from: stats.timings.from,
            saved: stats.timings.saved,
            ignored_under_shard: stats.timings.ignored,
        },
        only_failed: settings
            .only_failed
            .as_ref()
            .map(|o| OnlyFailedRun { report: o.report.clone(), failed: o.failed.len() }),
        test_timeout_seconds: settings.test_timeout.map(|t| t.as_secs_f64()),
        summary,
        coverage: None,
    })));
    outcome
}

fn balance(busy: &[f64]) -> String {
    busy.iter().enumerate().map(|(i, b)| format!("#{} {b:.1}s", i + 1)).collect::<Vec<_>>().join(", ")
}
