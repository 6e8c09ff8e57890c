//! Where are we running (GitHub Actions, Jenkins, GitLab CI, local), its context, and the output sinks every step uses.

mod annotations;
mod context;
mod env;
mod error;
mod github_files;
mod progress;
mod result_file;
mod sinks;
#[cfg(test)]
mod test_support;

pub use annotations::{
    escape_data, escape_property, format_annotation, limit_annotations, MAX_ANNOTATIONS_PER_LEVEL,
};
pub use context::{detect, git_changed_files, git_head_commit_time, Context, Provider};
pub use env::{tests_in_ci, Env};
pub use error::CiError;
pub use github_files::STEP_SUMMARY_LIMIT;
pub use progress::{progress_mode, Progress, ProgressMode, DEFAULT_HEARTBEAT};
pub use result_file::write_result_file;
pub use sinks::Sinks;
