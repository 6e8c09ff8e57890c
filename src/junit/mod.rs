//! JUnit: the model, a reader for every dialect, merging by test identity, writers per profile, summaries.

mod attrs;
mod gotest;
mod merge;
mod model;
mod read;
pub mod render;
mod runs;
mod summary;
mod times;
mod write;

pub use gotest::from_go_test_json;
pub use merge::{fold_duplicate, Merger, INPUT_ERRORS_SUITE};
pub use model::*;
pub use read::{
    parse_bytes, read_file, read_file_salvaging, ReadError, ReadErrorKind, MAX_DEPTH, MAX_TOKEN_BYTES,
};
pub use runs::{keep_apart, overlapping, INPUT_PROPERTY};
pub use summary::{cut, find_location, summarize, test_id, FailedTest, Summary, TimedTest, DETAIL_LIMIT};
pub use times::{implausible_times, set_times_aside, IGNORED_TIMES_PROPERTY, MAX_CASE_SECONDS};
pub use write::{report_to_string, write_report, Profile};
