//! `data` of the `stepkit hook` results: `hook serve` (when it stops), `hook list`, `hook show` and
//! `hook replay`, and the delivery and job rows they show (the hook store reads these:
//! src/steps/hook/store.rs).

use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Bumped when a field of a `hook` command's data changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// `data` of a `stepkit hook serve` result, written when a signal stopped it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServeData {
    pub schema_version: u32,
    /// The address it listened on.
    pub listen: String,
    /// The delivery and job log (SQLite).
    pub store: PathBuf,
    /// Deliveries and jobs in the log, by state.
    pub counts: BTreeMap<String, i64>,
}

/// `data` of a `stepkit hook list` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListData {
    pub schema_version: u32,
    /// Newest first.
    pub deliveries: Vec<Delivery>,
    pub jobs: Vec<Job>,
}

/// `data` of a `stepkit hook show` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ShowData {
    pub schema_version: u32,
    /// Null when there is no such delivery.
    pub delivery: Option<Delivery>,
    pub jobs: Vec<Job>,
}

/// `data` of a `stepkit hook replay` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReplayData {
    pub schema_version: u32,
    /// The delivery replayed.
    pub delivery: i64,
    /// The jobs queued again.
    pub jobs: Vec<i64>,
}

/// A job read back.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Job {
    pub id: i64,
    pub delivery: i64,
    pub rule: String,
    pub target: String,
    pub repository: String,
    pub event: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: Option<String>,
    pub clone: PathBuf,
    pub steps: Vec<Vec<String>>,
    /// Steps that report the job, run after `steps` whatever they concluded.
    pub report: Vec<Vec<String>>,
    /// queued, running, succeeded, failed, superseded.
    pub state: String,
    pub created_ms: i64,
    pub superseded_by: Option<i64>,
    /// The job's result record (JSON), once it ran.
    pub result: Option<serde_json::Value>,
}

/// A delivery row for `list`/`show`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Delivery {
    pub id: i64,
    pub received_ms: i64,
    pub provider: Option<String>,
    pub event: String,
    pub delivery_id: Option<String>,
    pub remote: String,
    pub status: u16,
    pub verdict: String,
    pub headers: serde_json::Value,
    pub body_bytes: Option<i64>,
}
