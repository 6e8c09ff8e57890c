//! `stepkit github check-run|status|comment` arguments.

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `stepkit github`.
#[derive(Debug, Args)]
pub struct GithubArgs {
    #[command(subcommand)]
    pub command: GithubCommand,
}

/// `stepkit github <command>`.
#[derive(Debug, Subcommand)]
pub enum GithubCommand {
    /// Create a completed check run from result files: conclusion, summary table, file/line annotations
    #[command(after_help = "Example (a token in STEPKIT_GITHUB_TOKEN):\n  \
        stepkit github check-run --name tests --result test.json")]
    CheckRun(CheckRunArgs),
    /// Set a commit status (the coloured dot beside a commit) from result files or a given state
    #[command(after_help = "Example:\n  stepkit github status --context ci/tests --result test.json")]
    Status(StatusArgs),
    /// Post or update a pull request comment with the results (sticky by default)
    #[command(after_help = "Example:\n  stepkit github comment --result test.json --result deploy.json")]
    Comment(CommentArgs),
}

/// Where to report and how to reach the API (the token never comes from argv).
#[derive(Debug, Clone, Args)]
pub struct GithubApiArgs {
    /// OWNER/NAME [env: STEPKIT_GITHUB_REPOSITORY] [default: the CI context's repository]
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// The commit to report on [env: STEPKIT_GITHUB_SHA] [default: the CI context's commit; for a PR its head]
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The REST API root [env: STEPKIT_GITHUB_API_URL, then GITHUB_API_URL] [default: https://api.github.com]
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Read the token from FILE [env: STEPKIT_GITHUB_TOKEN_FILE] [default: STEPKIT_GITHUB_TOKEN, then GITHUB_TOKEN]
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Time for one request [env: STEPKIT_GITHUB_TIMEOUT] [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Total time for retrying 5xx, timeouts and rate limits [env: STEPKIT_GITHUB_RETRY_BUDGET] [default: 2m]
    #[arg(long, value_name = "DURATION")]
    pub retry_budget: Option<String>,
    /// Result files written by other stepkit steps with --result-file (repeatable) [default: in a `stepkit hook` job, the result files of the job's steps]
    #[arg(long = "result", value_name = "FILE", num_args = 1..)]
    pub results: Vec<PathBuf>,
}

/// `--conclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConclusionArg {
    Auto,
    Success,
    Failure,
    Neutral,
    Cancelled,
    Skipped,
    #[value(name = "timed_out")]
    TimedOut,
    #[value(name = "action_required")]
    ActionRequired,
}

/// `stepkit github check-run`.
#[derive(Debug, Args)]
pub struct CheckRunArgs {
    #[command(flatten)]
    pub api: GithubApiArgs,
    /// The check's name, as shown in the PR's checks list
    #[arg(long)]
    pub name: String,
    /// The conclusion; auto takes it from the result files (none: neutral) [default: auto]
    #[arg(long, value_enum)]
    pub conclusion: Option<ConclusionArg>,
    /// The output's title [default: what the steps concluded]
    #[arg(long)]
    pub title: Option<String>,
    /// Markdown appended to the summary
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,
    /// The "Details" link [default: the CI run's page]
    #[arg(long, value_name = "URL")]
    pub details_url: Option<String>,
}

/// `--state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    Auto,
    Pending,
    Success,
    Failure,
    Error,
}

/// `stepkit github status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub api: GithubApiArgs,
    /// The status's name (e.g. ci/tests); one status per context and commit
    #[arg(long)]
    pub context: String,
    /// The state; auto takes it from the result files [default: auto]
    #[arg(long, value_enum)]
    pub state: Option<StateArg>,
    /// The one-line description (GitHub keeps 140 characters) [default: the steps' headline]
    #[arg(long)]
    pub description: Option<String>,
    /// The status's link [default: the CI run's page]
    #[arg(long, value_name = "URL")]
    pub target_url: Option<String>,
}

/// `stepkit github comment`.
#[derive(Debug, Args)]
pub struct CommentArgs {
    #[command(flatten)]
    pub api: GithubApiArgs,
    /// The pull request number [default: the CI context's PR]
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Markdown added below the results
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the added markdown from FILE
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Update the comment carrying this key instead of adding one [default: stepkit]
    #[arg(long, value_name = "KEY", conflicts_with = "new")]
    pub sticky: Option<String>,
    /// Always add a new comment
    #[arg(long)]
    pub new: bool,
}
