//! The top-level error: wraps each module's error and maps it to a documented exit code.

use crate::coverage::CoverageError;
use crate::settings::ConfigError;
use crate::steps::check::CheckError;
use crate::steps::deploy::DeployError;
use crate::steps::gate::GateError;
use crate::steps::hook::HookError;
use crate::steps::image::ImageError;
use crate::steps::junit::JunitError;
use crate::steps::notify::github::GithubError;
use crate::steps::notify::slack::SlackError;
use crate::steps::test::preset::PresetError;
use crate::steps::test::TestError;

/// Usage or config error (docs/exit-codes.md).
pub const EXIT_USAGE: i32 = 2;
/// Environment or infrastructure error.
pub const EXIT_ENVIRONMENT: i32 = 3;

/// Anything that stopped a command before it reached a verdict. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Junit(#[from] JunitError),
    #[error(transparent)]
    Test(#[from] TestError),
    #[error(transparent)]
    Coverage(#[from] CoverageError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Slack(#[from] SlackError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error("write {what}: {source}")]
    Output { what: String, source: std::io::Error },
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => EXIT_USAGE,
            Error::Junit(JunitError::Pattern { .. }) => EXIT_USAGE,
            Error::Junit(JunitError::Write { .. }) => EXIT_ENVIRONMENT,
            Error::Image(e) if e.is_usage() => EXIT_USAGE,
            Error::Image(_) => EXIT_ENVIRONMENT,
            Error::Gate(e) if e.is_usage() => EXIT_USAGE,
            Error::Gate(_) => EXIT_ENVIRONMENT,
            Error::Deploy(e) if e.is_usage() => EXIT_USAGE,
            Error::Deploy(_) => EXIT_ENVIRONMENT,
            Error::Check(e) if e.is_usage() => EXIT_USAGE,
            Error::Check(_) => EXIT_ENVIRONMENT,
            Error::Github(e) if e.is_usage() => EXIT_USAGE,
            Error::Github(_) => EXIT_ENVIRONMENT,
            Error::Slack(e) if e.is_usage() => EXIT_USAGE,
            Error::Slack(_) => EXIT_ENVIRONMENT,
            Error::Hook(e) if e.is_usage() => EXIT_USAGE,
            Error::Hook(_) => EXIT_ENVIRONMENT,
            Error::Test(TestError::Preset(PresetError::Scope { .. })) => EXIT_USAGE,
            Error::Test(TestError::Preset(_)) => EXIT_ENVIRONMENT,
            Error::Test(_) => EXIT_ENVIRONMENT,
            Error::Coverage(e) if e.is_usage() => EXIT_USAGE,
            Error::Coverage(_) => EXIT_ENVIRONMENT,
            Error::Output { .. } => EXIT_ENVIRONMENT,
        }
    }
}
