//! `data` of the `stepkit check`, `stepkit plugin inspect` and `stepkit plugin new` results.

use crate::plugin::contract::Item;
use crate::plugin::{CacheUse, LogLine, PluginErrorKind, Report, Timings};
use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

/// Bumped when a field of `check`'s data changes meaning or goes away; new fields keep it.
pub const CHECK_VERSION: u32 = 1;
/// The same for `plugin inspect`.
pub const INSPECT_VERSION: u32 = 1;
/// The same for `plugin new`.
pub const NEW_VERSION: u32 = 1;

/// `data` of a `stepkit check` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckData {
    pub schema_version: u32,
    /// `--strict`: warn verdicts fail the step.
    pub strict: bool,
    /// One entry per plugin, in the order given.
    pub plugins: Vec<PluginData>,
}

/// One plugin's run: its report, or the error that kept it from reporting.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginData {
    pub name: String,
    pub file: PathBuf,
    /// `pass`, `warn`, `fail`, `skip` or `error`.
    pub verdict: String,
    /// Null when the plugin did not report (then `error` is set).
    pub report: Option<Report>,
    pub error: Option<PluginErrorData>,
    pub logs: Vec<LogLine>,
    /// Log lines over the log budget, dropped.
    pub logs_dropped: usize,
    /// WASI stdout and stderr lines, sanitized.
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    /// Output bytes over the capture limit, dropped.
    pub output_dropped: usize,
    pub duration_ms: u64,
    pub timings: Timings,
    /// Whether the compiled component came from the cache.
    pub cache: CacheUse,
}

/// Why a plugin did not report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginErrorData {
    pub kind: PluginErrorKind,
    pub message: String,
}

/// `data` of a `stepkit plugin inspect` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InspectData {
    pub schema_version: u32,
    pub file: PathBuf,
    /// The `stepkit:check/check` version it exports; null when none.
    pub contract: Option<String>,
    /// Whether this host can run it.
    pub compatible: bool,
    pub exports: Vec<Item>,
    pub imports: Vec<Item>,
}

/// `data` of a `stepkit plugin new` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewData {
    pub schema_version: u32,
    pub name: String,
    pub dir: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The command that builds the plugin.
    pub build: String,
}
