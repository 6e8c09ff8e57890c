//! `data` of the `stepkit completions` and `stepkit man` results.

use schemars::JsonSchema;
use serde::Serialize;

/// Bumped when a field of `completions`' or `man`'s data changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// `data` of a `stepkit completions` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CompletionsData {
    pub schema_version: u32,
    pub shell: String,
    /// The script, also printed on stdout.
    pub script: String,
}

/// `data` of a `stepkit man` result: the page (on stdout), or the pages written into `--dir`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ManData {
    Page { schema_version: u32, page: String },
    Pages { schema_version: u32, pages: Vec<String> },
}
