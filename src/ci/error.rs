//! `CiError`: what can go wrong while publishing to the CI system's files (step outputs, step summary, result file).

use std::path::PathBuf;

/// A failure to write one of the files the CI system reads after the step.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    /// `$GITHUB_OUTPUT` could not be appended to.
    #[error(
        "write GitHub step output file {path}: {source}; check that $GITHUB_OUTPUT points at a writable file"
    )]
    WriteOutput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A step output name would corrupt `$GITHUB_OUTPUT` or be unusable in `steps.<id>.outputs.<name>`.
    #[error("set step output {name:?}: output names must start with a letter or '_' and contain only ASCII letters, digits, '-' and '_'; rename the output")]
    InvalidOutputName { name: String },
    /// `$GITHUB_STEP_SUMMARY` could not be appended to.
    #[error(
        "write GitHub step summary file {path}: {source}; check that $GITHUB_STEP_SUMMARY points at a writable file"
    )]
    WriteSummary {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The JSON result file (for Jenkins' `readJSON`) could not be written.
    #[error(
        "write result file {path}: {source}; check that its directory is writable or choose another path"
    )]
    WriteResult {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
