//! `data` of the `stepkit test` result: the run's plan and clocks, the summary, and coverage; or, when
//! nothing ran, the short form that says why.

use super::coverage::CoverageData;
use crate::junit::Summary;
use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

/// Bumped when a field of `test`'s data changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// `data` of a `stepkit test` result: a run, or one of the ways nothing ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TestData {
    Ran(Box<RunData>),
    /// `--only-failed REPORT` and nothing to rerun (`failed` absent: none of them is listed any more).
    OnlyFailed {
        schema_version: u32,
        preset: String,
        only_failed: OnlyFailedNothing,
    },
    /// No test found.
    NothingFound {
        schema_version: u32,
        preset: String,
        files: u64,
    },
    /// This shard got no tests (more shards than work).
    EmptyShard {
        schema_version: u32,
        preset: String,
        shard: String,
    },
}

/// `--only-failed` when nothing was rerun.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OnlyFailedNothing {
    pub report: PathBuf,
    /// Failed tests in the report (0); absent when they failed but none is listed any more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
    pub rerun: u64,
}

/// A run of tests.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunData {
    pub schema_version: u32,
    /// `phpunit`, `pytest`, `go` or `command`.
    pub preset: String,
    /// The merged JUnit report written (`--junit`).
    pub junit: Option<PathBuf>,
    /// `INDEX/TOTAL` under `--shard`.
    pub shard: Option<String>,
    pub workers: usize,
    /// The processes the first pass ran: the plan's batches, less those a first run joined because
    /// their tests proved fast (docs/test.md).
    pub batches: usize,
    /// The plan's estimate of all batches' time together.
    pub predicted_seconds: f64,
    /// The shortest possible wall time for the plan's estimates.
    pub ideal_makespan_seconds: f64,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    /// Busy seconds per worker.
    pub busy_seconds: Vec<f64>,
    /// Tests rerun after failing (`--retries`).
    pub retried: usize,
    /// Files that fail when split but pass whole.
    pub order_dependent: Vec<String>,
    /// Why the run stopped early (`Signal(15)`, `TimedOut`, `MaxFail`), or null.
    pub stopped: Option<String>,
    pub timings: TimingsData,
    /// `--only-failed`: the report and how many of its tests failed.
    pub only_failed: Option<OnlyFailedRun>,
    /// `--test-timeout` in seconds.
    pub test_timeout_seconds: Option<f64>,
    pub summary: Summary,
    /// `--coverage`: the merged report of the run's batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageData>,
}

/// Where the plan's timings came from.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimingsData {
    /// Reports and the cache the plan used.
    pub from: Vec<String>,
    /// The `auto` cache this run's timings were saved to.
    pub saved: Option<String>,
    /// The `auto` cache that `--shard` kept out of the plan.
    pub ignored_under_shard: Option<String>,
}

/// `--only-failed REPORT` in a run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OnlyFailedRun {
    pub report: PathBuf,
    pub failed: usize,
}
