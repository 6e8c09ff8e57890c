//! `data` of the `junit merge` and `junit summary` results.

use crate::junit::{Counts, Summary};
use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

/// Bumped when a field of `junit merge`'s data changes meaning or goes away; new fields keep it.
pub const MERGE_VERSION: u32 = 1;
/// The same for `junit summary`.
pub const SUMMARY_VERSION: u32 = 1;

/// `data` of a `stepkit junit merge` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MergeData {
    pub schema_version: u32,
    /// The merged report written (`--output`).
    pub output: PathBuf,
    /// The writer's profile: `default`, `jenkins-xunit` or `gitlab`.
    pub profile: String,
    #[serde(flatten)]
    pub inputs: InputsData,
    /// The merged report's counts.
    pub counts: Counts,
}

/// `data` of a `stepkit junit summary` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SummaryData {
    pub schema_version: u32,
    #[serde(flatten)]
    pub inputs: InputsData,
    /// Counts, failed tests with their locations, flaky tests, the slowest tests.
    pub summary: Summary,
}

/// What reading the input reports found (both commands).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputsData {
    /// The report files read.
    pub files: Vec<PathBuf>,
    /// One message per input that could not be read or matched nothing.
    pub problems: Vec<String>,
    /// One message per input read but not believed in full (times that are not seconds).
    pub warnings: Vec<String>,
    /// Results of a test folded into an earlier result of the same test.
    pub duplicates: u64,
    /// Inputs that report the same tests as another: kept apart as separate runs.
    pub separate_runs: Vec<PathBuf>,
}
