//! `stepkit deploy --github-deployment` arguments: where the deploy is reported as a GitHub deployment.

use clap::Args;
use std::path::PathBuf;

/// The deploy as a GitHub deployment (the token never comes from argv).
#[derive(Debug, Clone, Default, Args)]
pub struct GithubDeploymentArgs {
    /// Report the deploy as a GitHub deployment: in_progress when it starts, success or failure when it ends, the replaced deployment inactive. A GitHub failure is a warning: it never changes the deploy [env: STEPKIT_DEPLOY_GITHUB_DEPLOYMENT=true]
    #[arg(long, help_heading = "GitHub deployment")]
    pub github_deployment: bool,
    /// The GitHub environment [env: STEPKIT_DEPLOY_GITHUB_ENVIRONMENT] [default: --environment, else production]
    #[arg(long, value_name = "NAME", help_heading = "GitHub deployment")]
    pub github_environment: Option<String>,
    /// The deployed app's URL, shown on the deployment [env: STEPKIT_DEPLOY_ENVIRONMENT_URL]
    #[arg(long, value_name = "URL", help_heading = "GitHub deployment")]
    pub environment_url: Option<String>,
    /// The commit (or branch, tag) deployed [env: STEPKIT_DEPLOY_GITHUB_REF] [default: the CI context's commit: GITHUB_SHA, Jenkins' GIT_COMMIT]
    #[arg(long, value_name = "REF", help_heading = "GitHub deployment")]
    pub github_ref: Option<String>,
    /// OWNER/NAME [env: STEPKIT_GITHUB_REPOSITORY] [default: the CI context's repository: GITHUB_REPOSITORY, Jenkins' GIT_URL]
    #[arg(long, value_name = "OWNER/NAME", help_heading = "GitHub deployment")]
    pub github_repo: Option<String>,
    /// The REST API root [env: STEPKIT_GITHUB_API_URL, then GITHUB_API_URL] [default: https://api.github.com]
    #[arg(long, value_name = "URL", help_heading = "GitHub deployment")]
    pub github_api_url: Option<String>,
    /// Read the token from FILE [env: STEPKIT_GITHUB_TOKEN_FILE] [default: STEPKIT_GITHUB_TOKEN, then GITHUB_TOKEN]
    #[arg(long, value_name = "FILE", help_heading = "GitHub deployment")]
    pub github_token_file: Option<PathBuf>,
    /// The environment goes away after use (a review app): GitHub's transient_environment
    #[arg(long, help_heading = "GitHub deployment")]
    pub github_transient: bool,
    /// Whether the environment is production (GitHub's production_environment) [default: GitHub's: true for `production`]
    #[arg(long, value_name = "BOOL", help_heading = "GitHub deployment")]
    pub github_production: Option<bool>,
}
