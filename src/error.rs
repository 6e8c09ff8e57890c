//! The top-level error: wraps each module's error and maps it to a documented exit code.

use crate::coverage::CoverageError;
use crate::exit;
use crate::github::GithubError;
use crate::settings::ConfigError;
use crate::steps::check::CheckError;
use crate::steps::deploy::DeployError;
use crate::steps::gate::GateError;
use crate::steps::history::HistoryError;
use crate::steps::hook::HookError;
use crate::steps::image::ImageError;
use crate::steps::junit::JunitError;
use crate::steps::load::LoadError;
use crate::steps::notify::slack::SlackError;
use crate::steps::suite::preset::PresetError;
use crate::steps::suite::TestError;

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
    Load(#[from] LoadError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Slack(#[from] SlackError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("write {what}: {source}")]
    Output { what: String, source: std::io::Error },
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => exit::USAGE,
            Error::Junit(JunitError::Pattern(_)) => exit::USAGE,
            Error::Junit(JunitError::Write { .. }) => exit::ENVIRONMENT,
            Error::Image(e) if e.is_usage() => exit::USAGE,
            Error::Image(_) => exit::ENVIRONMENT,
            Error::Gate(e) if e.is_usage() => exit::USAGE,
            Error::Gate(_) => exit::ENVIRONMENT,
            Error::Deploy(e) if e.is_usage() => exit::USAGE,
            // Waited --lock-timeout for another deploy of the same app.
            Error::Deploy(DeployError::Locked { .. }) => exit::TIMED_OUT,
            Error::Deploy(_) => exit::ENVIRONMENT,
            Error::Load(e) if e.is_usage() => exit::USAGE,
            Error::Load(_) => exit::ENVIRONMENT,
            Error::Check(e) if e.is_usage() => exit::USAGE,
            Error::Check(_) => exit::ENVIRONMENT,
            Error::Github(e) if e.is_usage() => exit::USAGE,
            Error::Github(_) => exit::ENVIRONMENT,
            Error::Slack(e) if e.is_usage() => exit::USAGE,
            Error::Slack(_) => exit::ENVIRONMENT,
            Error::Hook(e) if e.is_usage() => exit::USAGE,
            Error::Hook(_) => exit::ENVIRONMENT,
            Error::History(e) if e.is_usage() => exit::USAGE,
            Error::History(_) => exit::ENVIRONMENT,
            Error::Test(TestError::Preset(PresetError::Scope { .. })) => exit::USAGE,
            Error::Test(TestError::Preset(_)) => exit::ENVIRONMENT,
            Error::Test(_) => exit::ENVIRONMENT,
            Error::Coverage(e) if e.is_usage() => exit::USAGE,
            Error::Coverage(_) => exit::ENVIRONMENT,
            Error::Output { .. } => exit::ENVIRONMENT,
        }
    }
}
