//! The top-level error: holds each module's error and maps it to a documented exit code.

use crate::exit;
use crate::settings::ConfigError;
use std::fmt;

/// A module's error as the program sees it: its message (read after "failed to") and whose it is to
/// fix. Each module says so next to its error type, so a new step needs no change here.
pub trait ModuleError: std::error::Error + Send + Sync + 'static {
    /// Whether the user can fix it (exit 2) rather than the machine or the network (exit 3).
    fn is_usage(&self) -> bool;

    /// The process exit code; most modules split their errors in two by `is_usage`.
    fn exit_code(&self) -> i32 {
        if self.is_usage() {
            exit::USAGE
        } else {
            exit::ENVIRONMENT
        }
    }
}

/// Anything that stopped a command before it reached a verdict. Messages read after "failed to".
#[derive(Debug)]
pub enum Error {
    /// A step's, or the settings', own error: shown as it is, its exit code its own.
    Module(Box<dyn ModuleError>),
    /// What stepkit needed for itself failed (a man page written, the async runtime started): exit 3.
    Output { what: String, source: std::io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Module(error) => error.fmt(f),
            Error::Output { what, source } => write!(f, "write {what}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    // A module's error stands in for this one (it is shown as it is), so its cause is this one's.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Module(error) => error.source(),
            Error::Output { source, .. } => Some(source),
        }
    }
}

impl<E: ModuleError> From<E> for Error {
    fn from(error: E) -> Self {
        Error::Module(Box::new(error))
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Module(error) => error.exit_code(),
            Error::Output { .. } => exit::ENVIRONMENT,
        }
    }
}

/// Settings are the user's: a bad flag, variable or stepkit.toml (even an unreadable one, which the
/// user named or placed) exits 2.
impl ModuleError for ConfigError {
    fn is_usage(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::deploy::DeployError;

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

    #[test]
    fn settings_junit_and_test_errors_keep_their_exit_codes() {
        use crate::steps::junit::JunitError;
        use crate::steps::suite::preset::PresetError;
        use crate::steps::suite::TestError;
        let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let config = ConfigError::Read { path: "stepkit.toml".into(), source: io() };
        let write = JunitError::Write { path: "out.xml".into(), source: io() };
        let scope = TestError::Preset(PresetError::Scope { command: "pytest".into(), message: "no".into() });
        let work_dir = TestError::WorkDir(io());
        let codes = [
            Error::from(config).exit_code(),
            Error::from(write).exit_code(),
            Error::from(scope).exit_code(),
            Error::from(work_dir).exit_code(),
        ];
        assert_eq!(codes, [exit::USAGE, exit::ENVIRONMENT, exit::USAGE, exit::ENVIRONMENT]);
    }

    #[test]
    fn a_module_error_is_shown_as_it_is_with_its_own_cause() {
        let write = crate::steps::junit::JunitError::Write {
            path: "out.xml".into(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        };
        let message = write.to_string();
        let error = Error::from(write);
        assert_eq!(error.to_string(), message);
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("denied"));
    }
}
