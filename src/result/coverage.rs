//! `data` of the `stepkit coverage merge` result, and the coverage part of `stepkit test --coverage`.

use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

/// Bumped when a field of `coverage merge`'s data changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// `data` of a `stepkit coverage merge` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MergeData {
    pub schema_version: u32,
    /// The merged report written.
    pub output: PathBuf,
    /// Its format: `cobertura`, `clover` or `lcov`.
    pub format: String,
    /// The reports read, each with the format found in it.
    pub inputs: Vec<InputData>,
    pub totals: TotalsData,
}

/// One input report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputData {
    pub path: PathBuf,
    pub format: String,
}

/// Line and branch totals with their rates (a rate is 1 when there is nothing to cover).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct TotalsData {
    pub files: u64,
    pub lines_valid: u64,
    pub lines_covered: u64,
    pub line_rate: f64,
    pub branches_valid: u64,
    pub branches_covered: u64,
    pub branch_rate: f64,
}

/// `coverage` in a `stepkit test --coverage` result: the totals of the report written, and which
/// batches wrote no coverage.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CoverageData {
    #[serde(flatten)]
    pub totals: TotalsData,
    pub path: PathBuf,
    pub format: String,
    pub problems: Vec<String>,
}
