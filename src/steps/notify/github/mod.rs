//! `stepkit github check-run|status|comment`: report what the pipeline's steps concluded to GitHub's
//! REST API through octocrab, following GitHub's rate-limit and error contract.

mod check_run;
mod classify;
mod client;
mod comment;
mod markdown;
mod status;

pub use classify::{classify, error_message, Failure, Headers, Reply};
pub use client::Client;

use super::message::Origin;
use super::{RetryPolicy, StepReport};
use crate::report::{Live, Outcome};
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The REST root (`https://api.github.com`, `https://ghe.example.com/api/v3`), without a trailing slash.
    pub api_url: String,
    pub token: Secret,
    /// Where the token came from (`GITHUB_TOKEN`, `--token-file /run/secrets/gh`), for a 401's advice.
    pub token_source: String,
    /// One request's time limit.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// A check run's conclusion (`--conclusion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Success,
    Failure,
    Neutral,
    Cancelled,
    Skipped,
    TimedOut,
    ActionRequired,
}

/// A commit status's state (`--state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Success,
    Failure,
    Error,
}

/// `stepkit github check-run`.
#[derive(Debug, Clone)]
pub struct CheckRunRequest {
    pub name: String,
    /// `None`: from the results.
    pub conclusion: Option<Conclusion>,
    pub title: Option<String>,
    /// The user's markdown (the `--summary-file`'s contents).
    pub summary: Option<String>,
    pub details_url: Option<String>,
}

/// `stepkit github status`.
#[derive(Debug, Clone)]
pub struct StatusRequest {
    pub context: String,
    /// `None`: from the results.
    pub state: Option<State>,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

/// `stepkit github comment`.
#[derive(Debug, Clone)]
pub struct CommentRequest {
    /// `None`: not a pull request build, nothing to comment on.
    pub pr: Option<u64>,
    /// The user's markdown.
    pub body: Option<String>,
    /// The sticky key; `None` with `--new`.
    pub sticky: Option<String>,
}

/// Which of the three.
#[derive(Debug, Clone)]
pub enum GithubRequest {
    CheckRun(CheckRunRequest),
    Status(StatusRequest),
    Comment(CommentRequest),
}

/// Everything `stepkit github` needs.
#[derive(Debug, Clone)]
pub struct GithubSettings {
    pub api: ApiSettings,
    /// `owner/name`.
    pub repo: String,
    /// The full commit sha (required for check runs and statuses).
    pub sha: Option<String>,
    /// The stepkit result files to report.
    pub results: Vec<PathBuf>,
    /// Where the pipeline ran (the run link, branch, PR).
    pub origin: Origin,
    /// The checkout root, to make absolute annotation paths repository-relative.
    pub workspace: Option<PathBuf>,
    pub request: GithubRequest,
}

impl GithubSettings {
    fn sha(&self) -> &str {
        self.sha.as_deref().unwrap_or_default()
    }
}

/// A GitHub call that did not succeed. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("{action}: GitHub refused the token from {token_source} (401 {message}): set a current token with access to the repository (on Actions: `env: GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}`)")]
    Unauthorized { action: String, token_source: String, message: String },
    #[error("{action}: the token lacks permission (403 {message}): give the job `permissions: {permission}: write` (or a token with that scope)")]
    Forbidden { action: String, permission: &'static str, message: String },
    #[error("{action}: repository {repo} not found, or the token cannot see it{hint}: check --repo and which repositories the token may use")]
    NotFound { action: String, repo: String, hint: String },
    #[error(
        "{action}: GitHub rejected the request (422 {message}): check --sha, --repo and the values given"
    )]
    Invalid { action: String, message: String },
    #[error("{action}: GitHub answered {status} ({message})")]
    Rejected { action: String, status: u16, message: String },
    #[error("{action}: the token's GitHub API rate limit is used up until {reset}, later than --retry-budget allows waiting: run again after it resets, or use a token with its own quota")]
    RateLimited { action: String, reset: String },
    #[error("{action}: the GitHub API at {host} did not answer after {attempts} attempts in {waited} (last: {last}): check the network and https://www.githubstatus.com, or raise --retry-budget")]
    Unavailable { action: String, host: String, attempts: u32, waited: String, last: String },
    #[error("{action}: {message}")]
    Request { action: String, message: String },
    #[error("{action}: the answer from {host} is not what GitHub's API documents ({message}); is --api-url the REST root (https://HOST/api/v3 on GitHub Enterprise)?")]
    Response { action: String, host: String, message: String },
    #[error("set up the GitHub client for {api_url}: {message}")]
    Client { api_url: String, message: String },
}

impl GithubError {
    /// True for errors the user fixes (token, permissions, repo, values): exit 2; the rest is exit 3.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            GithubError::Unauthorized { .. }
                | GithubError::Forbidden { .. }
                | GithubError::NotFound { .. }
                | GithubError::Invalid { .. }
                | GithubError::Rejected { .. }
                | GithubError::Request { .. }
                | GithubError::Client { .. }
        )
    }
}

/// Runs the request: reads the result files, talks to GitHub, returns what was created or updated.
pub async fn run(settings: &GithubSettings, live: &mut dyn Live) -> Result<Outcome, GithubError> {
    let reports: Vec<StepReport> = settings.results.iter().map(|p| StepReport::read(p)).collect();
    match &settings.request {
        GithubRequest::CheckRun(request) => check_run::run(settings, request, reports, live).await,
        GithubRequest::Status(request) => status::run(settings, request, reports, live).await,
        GithubRequest::Comment(request) => comment::run(settings, request, reports, live).await,
    }
}
