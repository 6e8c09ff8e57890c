//! `stepkit junit merge|summary` arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `stepkit junit`.
#[derive(Debug, Args)]
pub struct JunitArgs {
    #[command(subcommand)]
    pub command: JunitCommand,
}

/// `stepkit junit <command>`.
#[derive(Debug, Subcommand)]
pub enum JunitCommand {
    /// Merge reports into one: suites joined by name, tests deduplicated, counts recomputed
    #[command(after_help = "Examples:\n  \
        stepkit junit merge 'shard-*/junit.xml' -o build/junit.xml\n  \
        stepkit junit merge 'reports/*.xml' --profile jenkins-xunit -o build/junit.xml")]
    Merge(MergeArgs),
    /// Totals, failed tests with message and location, flaky and slowest tests
    #[command(after_help = "Examples:\n  \
        stepkit junit summary 'reports/*.xml'\n  \
        stepkit --format json junit summary build/junit.xml > summary.json")]
    Summary(SummaryArgs),
}

/// `stepkit junit merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Report files or glob patterns (quote globs: 'reports/**/*.xml')
    #[arg(required = true, value_name = "FILE|GLOB")]
    pub inputs: Vec<String>,
    /// Where to write the merged report
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Shape the XML for a consumer [env: STEPKIT_JUNIT_PROFILE] [default: default]
    #[arg(long, value_parser = ["default", "jenkins-xunit", "gitlab"])]
    pub profile: Option<String>,
    /// Treat the files as one run: a test reported in several files is retried (flaky when it passed once), not run separately [env: STEPKIT_JUNIT_FOLD_ACROSS_FILES]
    #[arg(long)]
    pub fold_across_files: bool,
}

/// `stepkit junit summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Report files or glob patterns
    #[arg(required = true, value_name = "FILE|GLOB")]
    pub inputs: Vec<String>,
    /// How many of the slowest tests to list [env: STEPKIT_JUNIT_SLOWEST] [default: 10]
    #[arg(long, value_name = "N")]
    pub slowest: Option<usize>,
    /// Exit 0 even when tests failed
    #[arg(long)]
    pub no_fail: bool,
    /// Treat the files as one run: a test reported in several files is retried (flaky when it passed once), not run separately [env: STEPKIT_JUNIT_FOLD_ACROSS_FILES]
    #[arg(long)]
    pub fold_across_files: bool,
}
