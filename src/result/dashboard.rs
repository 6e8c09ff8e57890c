//! `data` of the `stepkit dashboard` result (`--format json`, `--result-file`): everything the page
//! shows, built by src/steps/history/dashboard/model.rs from the history store.

use super::history::TestStats;
use schemars::JsonSchema;
use serde::Serialize;

/// Bumped when a field of the dashboard's data changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything the page shows.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Dashboard {
    pub schema_version: u32,
    pub title: String,
    /// The store as shown (no password).
    pub store: String,
    pub generated_at: String,
    /// The filters given (repository, branch, environment, target), as `name=value`.
    pub filters: Vec<String>,
    /// Runs per series looked at.
    pub last: u64,
    pub max_regression_pct: f64,
    pub percentile: &'static str,
    /// Runs drawn, over every series.
    pub runs: usize,
    /// Past the threshold against the previous version, worst first.
    pub regressions: Vec<Regression>,
    pub tests: Vec<TestSeries>,
    /// Deploy duration (ms) per version, one line per deploy series.
    pub deploy: Chart,
    /// The latency percentile (ms) per version, one chart per request (the whole run first, as ``).
    pub latency: Vec<RequestChart>,
    /// Requests per second per version, one line per load series (target).
    pub throughput: Chart,
}

/// One number over versions, per series, and the latest against the previous version.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Chart {
    /// The x axis: versions, oldest first.
    pub versions: Vec<String>,
    pub lines: Vec<Line>,
    pub comparisons: Vec<Comparison>,
}

/// One request's latency chart.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RequestChart {
    /// The request's name; empty for the whole run (every request together).
    pub request: String,
    #[serde(flatten)]
    pub chart: Chart,
}

/// One series on a chart.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Line {
    pub label: String,
    /// Oldest first; one per version (its newest run).
    pub points: Vec<Point>,
}

/// One version's value.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Point {
    pub version: String,
    pub run_id: i64,
    pub value: f64,
}

/// A series' latest run against the previous version's.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Comparison {
    pub label: String,
    pub latest_version: String,
    pub latest: f64,
    pub previous_version: Option<String>,
    pub previous: Option<f64>,
    pub delta: Option<f64>,
    pub change_pct: Option<f64>,
    /// Worse by more than the threshold.
    pub regressed: bool,
    /// Better by more than the threshold.
    pub improved: bool,
}

/// A test series: pass/fail per run, and the failing, flaky and slowest tests over the window.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TestSeries {
    pub label: String,
    /// Oldest first.
    pub runs: Vec<TestRun>,
    pub failing: Vec<TestStats>,
    pub flaky: Vec<TestStats>,
    pub slowest: Vec<TestStats>,
    /// Failed or errored tests in the latest run against the previous version's.
    pub failures: Option<Comparison>,
}

/// One test run's counts (`passed` excludes the flaky ones, which passed on a retry).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TestRun {
    pub run_id: i64,
    pub version: String,
    pub recorded_at: String,
    pub verdict: String,
    pub passed: u64,
    pub flaky: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// Something that got worse than the previous version by more than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Regression {
    /// `tests`, `deploy`, `latency` or `throughput`.
    pub area: &'static str,
    /// What got worse: `p95 of GET /items`, `deploy duration`, `failed tests`, `requests/s`.
    pub what: String,
    /// The series (target, environment ...).
    pub series: String,
    pub unit: &'static str,
    pub previous_version: String,
    pub latest_version: String,
    pub previous: f64,
    pub latest: f64,
    pub change_pct: Option<f64>,
}
