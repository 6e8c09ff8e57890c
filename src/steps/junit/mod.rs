//! `stepkit junit`: merge reports into one, and summarise them.

mod inputs;
mod merge;
mod summary;

pub use inputs::{collect_inputs, Inputs};
pub use merge::{merge, MergeSettings};
pub use summary::{summary, SummarySettings};

use std::path::PathBuf;

/// A junit step that could not do its job (unreadable inputs are not errors: they become error cases).
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    #[error("write merged report {path}: {source}; check that the directory exists and is writable")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Pattern(#[from] crate::patterns::PatternError),
}

impl crate::error::ModuleError for JunitError {
    /// A pattern the user gave is wrong (exit 2); a report that cannot be written is the machine's (3).
    fn is_usage(&self) -> bool {
        matches!(self, JunitError::Pattern(_))
    }
}
