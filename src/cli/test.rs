//! `stepkit test` arguments.

use clap::Args;
use std::path::PathBuf;

/// `stepkit test [options] -- CMD...`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  stepkit test --junit build/junit.xml -- phpunit\n  stepkit test --shard 2/4 --timings 'last/*.xml' --junit junit-2.xml -- pytest -x\n  stepkit test --preset command --files 'tests/*.sh' -- ./run.sh {files} --junit {junit}"
)]
pub struct TestArgs {
    /// Parallel test processes: a number or `auto` (one per CPU) [env: STEPKIT_TEST_WORKERS] [default: auto]
    #[arg(long, short = 'j', value_name = "N|auto")]
    pub workers: Option<String>,
    /// Run part K of N (a CI matrix job); every job computes the same plan [env: STEPKIT_TEST_SHARD]
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Split work by file, by test case, or auto (split only files that would dominate) [env: STEPKIT_TEST_SPLIT] [default: auto]
    #[arg(long, value_parser = ["file", "case", "auto"])]
    pub split: Option<String>,
    /// Where the plan's timings come from: `auto` (the last run's, cached in .stepkit/timings/), `none`, or earlier JUnit reports (files or globs) [env: STEPKIT_TEST_TIMINGS, comma-separated] [default: auto]
    #[arg(long, value_name = "auto|none|FILE|GLOB")]
    pub timings: Vec<String>,
    /// Rerun only the tests that failed or errored in this JUnit report (e.g. the last run's --junit)
    #[arg(long, value_name = "REPORT")]
    pub only_failed: Option<PathBuf>,
    /// Stop a test that runs longer than this (e.g. 2m): it becomes an error, the rest of its batch runs again (phpunit, pytest, go) [env: STEPKIT_TEST_TEST_TIMEOUT]
    #[arg(long, value_name = "DURATION")]
    pub test_timeout: Option<String>,
    /// Rerun failed tests up to N times; a test that passes on a retry is reported flaky [env: STEPKIT_TEST_RETRIES] [default: 0]
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Whether flaky tests fail the run [default: pass]
    #[arg(long, value_parser = ["fail", "pass"])]
    pub flaky_result: Option<String>,
    /// Stop everything after this long (e.g. 30m), keeping partial results; exit 124 [env: STEPKIT_TEST_TIMEOUT]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Kill a batch with no output and no new results for this long [env: STEPKIT_TEST_STALL_TIMEOUT] [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub stall_timeout: Option<String>,
    /// Start no new batches once N tests have failed
    #[arg(long, value_name = "N")]
    pub max_fail: Option<u64>,
    /// Write the merged JUnit report here [env: STEPKIT_TEST_JUNIT]
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// JUnit profile for --junit: default, jenkins-xunit, gitlab [env: STEPKIT_JUNIT_PROFILE]
    #[arg(long, value_parser = ["default", "jenkins-xunit", "gitlab"])]
    pub profile: Option<String>,
    /// How to list and run tests [env: STEPKIT_TEST_PRESET] [default: from the command: phpunit, pytest, go test; `command` with --files]
    #[arg(long, value_parser = ["phpunit", "pytest", "go", "command"])]
    pub preset: Option<String>,
    /// Test files for the command preset (globs, repeatable); CMD gets them through `{files}`
    #[arg(long = "files", value_name = "GLOB")]
    pub files: Vec<String>,
    /// How many of the slowest tests to list [default: 10]
    #[arg(long, value_name = "N")]
    pub slowest: Option<usize>,
    /// Merged coverage: each batch writes its own (pcov/xdebug, pytest-cov, go -coverprofile), merged here.
    /// FORMAT is cobertura, clover or lcov [env: STEPKIT_TEST_COVERAGE=FILE, STEPKIT_TEST_COVERAGE_FORMAT]
    #[arg(long, num_args = 2, value_names = ["FORMAT", "FILE"])]
    pub coverage: Option<Vec<String>>,
    /// The test command; placeholders `{files}` and `{junit}` for the command preset
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}
