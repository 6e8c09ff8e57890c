//! `data` of the `stepkit history record` and `history query` results, and the stored runs they are
//! made of (the store reads and writes these rows: src/steps/history/store.rs).

use schemars::JsonSchema;
use serde::Serialize;

/// Bumped when a field of `history record`'s data changes meaning or goes away; new fields keep it.
pub const RECORD_VERSION: u32 = 1;

/// Bumped when a field of `history query`'s answer changes meaning or goes away; new fields keep it.
pub const QUERY_VERSION: u32 = 1;

/// `data` of a `stepkit history record` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordData {
    pub schema_version: u32,
    /// The store, as shown (no password).
    pub store: String,
    /// The runs recorded, in input order.
    pub runs: Vec<RecordedRun>,
    /// Older runs removed by `--keep-runs`.
    pub pruned: u64,
}

/// One recorded run, as `history record` lists it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordedRun {
    /// Its id in the store.
    pub id: i64,
    /// The file it was read from.
    pub source: String,
    pub step: String,
    pub target: String,
    pub environment: String,
    pub version: String,
    pub verdict: String,
    /// How many numbers it recorded.
    pub metrics: usize,
    /// How many per-test results it recorded.
    pub tests: usize,
}

/// What `stepkit history query` answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Answer {
    pub schema_version: u32,
    /// The store, as shown (no password).
    pub store: String,
    pub against: &'static str,
    /// How many runs `runs` holds at most per series.
    pub last: u64,
    pub series: Vec<SeriesAnswer>,
}

/// One series.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeriesAnswer {
    #[serde(flatten)]
    pub series: Series,
    pub latest: RunAnswer,
    /// Absent when there is nothing to compare with yet.
    pub previous: Option<RunAnswer>,
    /// Every number of the latest run against the same number of the previous one.
    pub deltas: Vec<Delta>,
    /// The last runs, newest first (the latest included).
    pub runs: Vec<RunAnswer>,
    /// For runs with per-test results: over the same window as `runs`.
    pub tests: Option<TestsAnswer>,
}

/// A run with its numbers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunAnswer {
    #[serde(flatten)]
    pub run: StoredRun,
    pub metrics: Vec<Metric>,
}

/// One number, latest against previous. `change_pct` is relative to the previous value.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Delta {
    pub subject: String,
    pub name: String,
    pub latest: f64,
    pub previous: Option<f64>,
    pub delta: Option<f64>,
    pub change_pct: Option<f64>,
}

/// Tests over the window of runs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TestsAnswer {
    /// Runs in the window that had per-test results.
    pub runs: usize,
    /// Failed or errored in the latest run.
    pub failing: Vec<TestStats>,
    /// Both passed and failed in the window, or passed only on a retry.
    pub flaky: Vec<TestStats>,
    /// The slowest in the latest run.
    pub slowest: Vec<TestStats>,
}

/// A number a run measured: `subject` is what it is about (a named request, a gate probe; empty for the
/// whole run), `name` which number (`p95_ms`, `rps`, `duration_ms`, `failed`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Metric {
    pub subject: String,
    pub name: String,
    pub value: f64,
}

/// The key of a run: where it came from and what it is about. Unknown parts are empty strings, so
/// they compare equal (NULL would not).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct RunKey {
    pub repository: String,
    pub branch: String,
    pub commit: String,
    pub ci_run: String,
    pub step: String,
    pub environment: String,
    pub target: String,
    pub version: String,
}

/// A run read back (without its metrics and tests).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StoredRun {
    pub id: i64,
    pub recorded_at: String,
    #[serde(flatten)]
    pub key: RunKey,
    pub verdict: String,
    pub exit_code: i64,
    pub headline: String,
    pub source: String,
}

/// The series a run belongs to: runs of one step in one repository, environment and target are
/// compared with each other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct Series {
    pub repository: String,
    pub step: String,
    pub environment: String,
    pub target: String,
}

/// One test across a window of runs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TestStats {
    pub classname: String,
    pub name: String,
    pub passed: i64,
    pub failed: i64,
    pub flaky: i64,
    pub skipped: i64,
    pub mean_ms: Option<f64>,
    /// In the newest run of the window (absent: it did not run there).
    pub latest_ms: Option<f64>,
    pub latest_status: Option<String>,
}
