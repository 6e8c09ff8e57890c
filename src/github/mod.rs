//! The GitHub REST API as stepkit speaks it, shared by the steps that report to GitHub (`stepkit
//! github`, `stepkit deploy --github-deployment`): the client (octocrab underneath), GitHub's failure
//! contract, the errors, and the deployments API.

pub mod classify;
pub mod client;
pub mod deployment;

pub use classify::{classify, error_message, Failure, Headers, Reply};
pub use client::{Client, Method};

use crate::retry::RetryPolicy;
use crate::secret::Secret;
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
    #[error("{action}: GitHub refused it ({message}): the ref's required commit statuses are not all `success`, or GitHub merged the default branch into it instead; deploy a commit sha")]
    Conflict { action: String, message: String },
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

impl crate::error::ModuleError for GithubError {
    /// True for errors the user fixes (token, permissions, repo, values): exit 2; the rest is exit 3.
    fn is_usage(&self) -> bool {
        matches!(
            self,
            GithubError::Unauthorized { .. }
                | GithubError::Forbidden { .. }
                | GithubError::NotFound { .. }
                | GithubError::Invalid { .. }
                | GithubError::Conflict { .. }
                | GithubError::Rejected { .. }
                | GithubError::Request { .. }
                | GithubError::Client { .. }
        )
    }
}
