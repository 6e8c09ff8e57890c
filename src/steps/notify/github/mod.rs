//! `stepkit github check-run|status|comment`: report what the pipeline's steps concluded to GitHub's
//! REST API through octocrab, following GitHub's rate-limit and error contract.

mod check_run;
mod comment;
mod markdown;
mod status;

pub use crate::github::classify::{classify, error_message, Failure, Headers, Reply};
pub use crate::github::client::Client;
pub use crate::github::{ApiSettings, GithubError};

use super::message::Origin;
use super::StepReport;
use crate::report::{Live, Outcome};
use std::path::PathBuf;

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

/// Runs the request: reads the result files, talks to GitHub, returns what was created or updated.
pub async fn run(settings: &GithubSettings, live: &mut dyn Live) -> Result<Outcome, GithubError> {
    let reports: Vec<StepReport> = settings.results.iter().map(|p| StepReport::read(p)).collect();
    match &settings.request {
        GithubRequest::CheckRun(request) => check_run::run(settings, request, reports, live).await,
        GithubRequest::Status(request) => status::run(settings, request, reports, live).await,
        GithubRequest::Comment(request) => comment::run(settings, request, reports, live).await,
    }
}
