//! `stepkit dashboard` arguments: the history (the global `--history URL|PATH`) drawn as one HTML page,
//! with the comparison as markdown and JSON.

use super::RunFilterArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `stepkit dashboard`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The store is --history URL|PATH [env: STEPKIT_HISTORY] [stepkit.toml: [history] store] \
[default: .stepkit/history.sqlite], as for `stepkit history`.\n\
The page is one file that works offline: charts are inline SVG, there is no script, and its \
Content-Security-Policy forbids every load. The comparison (latest against the previous version, \
regressions first) also goes to the GitHub step summary, to --markdown FILE and, with --format json, to \
stdout and --result-file.\n\
Exit codes: 0 written · 1 something regressed past --max-regression and --fail-on-regression was given · \
2 bad flags · 3 the store could not be read or a file not written · 4 no runs match (an empty page is \
still written).\n\n\
Examples:\n  stepkit dashboard -o site/index.html\n  \
stepkit dashboard -o site/index.html --environment staging --last 100 --max-regression 5% --fail-on-regression\n  \
stepkit dashboard -o dashboard.html --markdown cmp.md\n  \
stepkit github comment --sticky dashboard --body-file cmp.md"
)]
pub struct DashboardArgs {
    /// Write the page to FILE [env: STEPKIT_DASHBOARD_OUTPUT] [default: .stepkit/dashboard.html]
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the comparison as markdown to FILE (for `stepkit github comment --body-file FILE`)
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    #[command(flatten)]
    pub runs: RunFilterArgs,
    /// Runs per series drawn [default: 50]
    #[arg(long, value_name = "N")]
    pub last: Option<u64>,
    /// Worse than the previous version by more than this is a regression (latency, deploy duration up;
    /// requests/s down; any new test failure) [env: STEPKIT_DASHBOARD_MAX_REGRESSION] [default: 10%]
    #[arg(long, value_name = "PCT")]
    pub max_regression: Option<String>,
    /// Exit 1 when something regressed past --max-regression
    #[arg(long)]
    pub fail_on_regression: bool,
    /// The latency percentile charted and judged [default: p95]
    #[arg(long, value_enum)]
    pub percentile: Option<PercentileArg>,
    /// How many failing, flaky and slowest tests to list [default: 10]
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// The page's title [default: the repository's name, else "stepkit dashboard"]
    #[arg(long)]
    pub title: Option<String>,
}

/// `--percentile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PercentileArg {
    P50,
    P90,
    P95,
    P99,
}
