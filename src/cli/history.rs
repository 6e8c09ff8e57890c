//! `stepkit history` arguments: record results into the store, query it. The store itself is the
//! global `--history URL|PATH` (every step takes it to record itself).

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `stepkit history record|query`
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: HistoryCommand,
}

/// The history subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum HistoryCommand {
    /// Record result files (--result-file of any step) and JUnit reports as runs in the history
    Record(HistoryRecordArgs),
    /// Latest run against the previous one per step, target and request, and the last runs, as JSON
    Query(HistoryQueryArgs),
}

/// `stepkit history record RESULT...`
#[derive(Debug, Clone, Args)]
#[command(
    disable_version_flag = true,
    after_help = "The store is --history URL|PATH [env: STEPKIT_HISTORY] [stepkit.toml: [history] store] \
[default: .stepkit/history.sqlite]: a SQLite file, or postgres://user@host:5432/db (the password in \
STEPKIT_HISTORY_PASSWORD, or the whole URL in STEPKIT_HISTORY; never argv).\n\
Each RESULT is one run. Keys not given default from the CI (GitHub Actions, Jenkins, GitLab) or git.\n\
Exit codes: 0 recorded, 2 an input could not be read (nothing recorded), 3 the store failed.\n\n\
Examples:\n  stepkit history record test-result.json load-result.json\n  \
stepkit history record deploy.json --environment staging --version 1.4.2 --keep-runs 500\n  \
stepkit --history postgres://ci@db.internal/stepkit history record reports/junit.xml --step unit"
)]
pub struct HistoryRecordArgs {
    /// Result files written by --result-file, and JUnit reports
    #[arg(value_name = "RESULT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// owner/name [default: the CI's repository]
    #[arg(long, value_name = "NAME", help_heading = "Run key")]
    pub repository: Option<String>,
    /// [default: the CI's branch, or git's]
    #[arg(long, value_name = "NAME", help_heading = "Run key")]
    pub branch: Option<String>,
    /// [default: the CI's commit, or git's HEAD]
    #[arg(long, value_name = "SHA", help_heading = "Run key")]
    pub commit: Option<String>,
    /// The CI run (build) id [default: the CI's]
    #[arg(long, value_name = "ID", help_heading = "Run key")]
    pub ci_run: Option<String>,
    /// The step name [default: the result's command; `junit` for a JUnit report]
    #[arg(long, value_name = "NAME", help_heading = "Run key")]
    pub step: Option<String>,
    /// Where it ran: staging, production ... [env: STEPKIT_HISTORY_ENVIRONMENT]
    #[arg(long, value_name = "NAME", help_heading = "Run key")]
    pub environment: Option<String>,
    /// What it ran against, e.g. the database flavour [default: the result's --target]
    #[arg(long, value_name = "NAME", help_heading = "Run key")]
    pub target: Option<String>,
    /// The version under test [env: STEPKIT_HISTORY_VERSION] [default: the CI's tag, else the commit]
    #[arg(long, value_name = "VERSION", help_heading = "Run key")]
    pub version: Option<String>,
    /// Keep only the newest N runs of each series (step, repository, environment, target)
    /// [env: STEPKIT_HISTORY_KEEP_RUNS] [default: keep all]
    #[arg(long, value_name = "N")]
    pub keep_runs: Option<u64>,
}

/// `stepkit history query`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Prints JSON on stdout: per series (step, repository, environment, target) the latest run \
with every number against the previous version's (delta, change in %), the last N runs, and for tests the \
failing, flaky and slowest tests over those runs. See docs/history.md for its fields.\n\n\
Examples:\n  stepkit history query --step load --last 20\n  stepkit history query --step test --against run"
)]
pub struct HistoryQueryArgs {
    /// Only this step (test, load, deploy, gate, junit ...)
    #[arg(long, value_name = "NAME")]
    pub step: Option<String>,
    #[command(flatten)]
    pub runs: RunFilterArgs,
    /// Runs per series [default: 10]
    #[arg(long, value_name = "N")]
    pub last: Option<u64>,
    /// Compare the latest run with the previous version's, or with the run before it [default: version]
    #[arg(long, value_enum)]
    pub against: Option<AgainstArg>,
    /// How many failing, flaky and slowest tests to list [default: 10]
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
}

/// `--against`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgainstArg {
    Version,
    Run,
}

/// Which runs of the history to read: `stepkit dashboard` and `stepkit history query` filter alike.
#[derive(Debug, Clone, Default, Args)]
pub struct RunFilterArgs {
    /// Only this repository (owner/name)
    #[arg(long, value_name = "NAME")]
    pub repository: Option<String>,
    /// Only runs of this branch
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Only this environment
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Only this target (database flavour ...)
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
}
