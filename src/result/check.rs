//! `data` of the `stepkit check`, `stepkit plugin inspect` and `stepkit plugin new` results.

use crate::plugin::contract::Item;
use crate::plugin::{PluginErrorKind, PluginRun, Report};
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
pub struct CheckData<'a> {
    pub schema_version: u32,
    /// `--strict`: warn verdicts fail the step.
    pub strict: bool,
    /// One entry per plugin, in the order given.
    pub plugins: Vec<PluginData<'a>>,
}

/// One plugin's run: its report, or the error that kept it from reporting, and the run's name, file,
/// logs, output, times and cache use.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginData<'a> {
    /// `pass`, `warn`, `fail`, `skip` or `error`.
    pub verdict: &'static str,
    /// Null when the plugin did not report (then `error` is set).
    pub report: Option<&'a Report>,
    pub error: Option<PluginErrorData>,
    #[serde(flatten)]
    pub run: &'a PluginRun,
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
