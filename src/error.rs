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
            // Waited --lock-timeout for another deploy of the same app (never a usage error).
            Error::Deploy(DeployError::Locked { .. }) => exit::TIMED_OUT,
            Error::Deploy(e) => usage_or_environment(e.is_usage()),
            Error::Image(e) => usage_or_environment(e.is_usage()),
            Error::Gate(e) => usage_or_environment(e.is_usage()),
            Error::Load(e) => usage_or_environment(e.is_usage()),
            Error::Check(e) => usage_or_environment(e.is_usage()),
            Error::Github(e) => usage_or_environment(e.is_usage()),
            Error::Slack(e) => usage_or_environment(e.is_usage()),
            Error::Hook(e) => usage_or_environment(e.is_usage()),
            Error::History(e) => usage_or_environment(e.is_usage()),
            Error::Coverage(e) => usage_or_environment(e.is_usage()),
            Error::Test(TestError::Preset(PresetError::Scope { .. })) => exit::USAGE,
            Error::Test(_) => exit::ENVIRONMENT,
            Error::Output { .. } => exit::ENVIRONMENT,
        }
    }
}

/// Most modules split their errors in two: the user's to fix (exit 2) and the machine's (exit 3).
fn usage_or_environment(is_usage: bool) -> i32 {
    if is_usage {
        exit::USAGE
    } else {
        exit::ENVIRONMENT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_error_exits_timed_out_usage_or_environment() {
        let locked = DeployError::Locked {
            app: "web".into(),
            holder: "pid 7".into(),
            waited: "1s".into(),
            path: "/l".into(),
        };
        let missing = DeployError::ImageMissing { image: "web:1".into() };
        let docker = DeployError::Docker { what: "start web".into(), message: "refused".into() };
        let codes: Vec<i32> =
            [locked, missing, docker].into_iter().map(|e| Error::from(e).exit_code()).collect();
        assert_eq!(codes, [exit::TIMED_OUT, exit::USAGE, exit::ENVIRONMENT]);
    }
}
