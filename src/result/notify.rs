//! `data` of the `stepkit notify` (Slack) and `stepkit github check-run|status|comment` results.

use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

/// Bumped when a field of `notify`'s data changes meaning or goes away; new fields keep it.
pub const NOTIFY_VERSION: u32 = 1;
/// The same for the three `github` commands.
pub const GITHUB_VERSION: u32 = 1;

/// The overall status a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Success,
    Failure,
    /// Stopped by SIGINT/SIGTERM (a cancelled run, a Jenkins abort).
    Cancelled,
    TimedOut,
    /// The step ran nothing (no tests found).
    Skipped,
    /// Not a verdict: "deploy started", a plain message.
    Info,
}

/// `data` of a `stepkit notify` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NotifyData {
    pub schema_version: u32,
    /// `webhook` or `bot`.
    pub mode: String,
    /// The channel (bot mode).
    pub channel: Option<String>,
    /// The message's Slack timestamp, when one was posted (bot mode).
    pub ts: Option<String>,
    /// The status announced.
    pub status: Status,
    /// False when `--when` held the message back.
    pub sent: bool,
    pub attempts: u32,
    pub message: MessageData,
}

/// What the message said.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MessageData {
    pub title: String,
    pub text: Option<String>,
    pub origin: Origin,
    pub steps: Vec<StepData>,
}

/// Where the pipeline ran, for a footer line and links.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Origin {
    pub repository: Option<String>,
    /// The full commit sha.
    pub sha: Option<String>,
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub pr_number: Option<u64>,
    /// The CI run's page.
    pub run_url: Option<String>,
    pub actor: Option<String>,
    /// `GitHub Actions`, `Jenkins`, ...
    pub provider: String,
}

/// One step the message reported, from its result file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StepData {
    /// `stepkit test`, or the file's path when it could not be read.
    pub name: String,
    pub verdict: String,
    pub headline: String,
    pub path: PathBuf,
}

/// `data` of a `stepkit github check-run` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckRunData {
    pub schema_version: u32,
    /// Always `check-run`.
    pub command: String,
    pub repo: String,
    pub sha: String,
    pub id: u64,
    pub url: String,
    pub conclusion: String,
    pub annotations_sent: usize,
    /// Annotations over GitHub's limit per check run.
    pub annotations_not_sent: usize,
    /// Annotations without a file, shown in the summary instead.
    pub annotations_without_file: usize,
    pub attempts: u32,
}

/// `data` of a `stepkit github status` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusData {
    pub schema_version: u32,
    /// Always `status`.
    pub command: String,
    pub repo: String,
    pub sha: String,
    pub id: u64,
    pub url: Option<String>,
    /// `success`, `failure`, `error` or `pending`.
    pub state: String,
    pub context: String,
    pub description: String,
    pub attempts: u32,
}

/// `data` of a `stepkit github comment` result: the comment, or no pull request to comment on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CommentData {
    Written {
        schema_version: u32,
        /// Always `comment`.
        command: String,
        repo: String,
        /// The commit's first 7 characters.
        sha: Option<String>,
        pr: u64,
        id: u64,
        url: String,
        /// `created` or `updated` (a sticky comment found again).
        action: String,
        /// The status announced.
        status: Status,
        /// `--sticky` key.
        sticky: Option<String>,
        attempts: u32,
    },
    /// Not a pull request build and no `--pr`: nothing written.
    NoPullRequest {
        schema_version: u32,
        command: String,
        repo: String,
        pr: Option<u64>,
        id: Option<u64>,
        attempts: u32,
    },
}
