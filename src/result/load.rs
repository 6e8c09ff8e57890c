//! The typed, versioned result of `stepkit load` (the `data` of its result file, published as
//! docs/schemas/load-result.schema.json) and the reader of earlier results (baselines).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Bumped when a field changes meaning or goes away; new optional fields keep the version.
pub const SCHEMA_VERSION: u32 = 1;

/// `data` of a `stepkit load` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoadResult {
    /// The version of this schema (docs/schemas/README.md).
    pub schema_version: u32,
    /// `--target`: what was loaded, e.g. the database flavour.
    pub target: Option<String>,
    /// `closed` (connections as fast as answered) or `open` (a fixed rate).
    pub model: String,
    pub connections: u64,
    /// Requests per second asked for (open model).
    pub rate: Option<f64>,
    /// The warm-up, not measured.
    pub warmup_s: f64,
    /// From the end of the warm-up to the last measured answer.
    pub elapsed_s: f64,
    /// TCP connections opened, reconnections after errors included.
    pub connections_opened: u64,
    /// Every request together.
    pub overall: RequestResult,
    /// Per named request, in the order they were given.
    pub requests: Vec<RequestResult>,
    pub thresholds: ThresholdsResult,
    /// The comparison with `--baseline`, when one was read.
    pub baseline: Option<BaselineResult>,
    /// Why the run failed; empty when it passed.
    pub problems: Vec<String>,
    /// `SIGINT` or `SIGTERM` when the run was stopped early: the numbers are what was measured until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

/// One request's numbers (or everything's, in `overall`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestResult {
    pub name: String,
    pub method: Option<String>,
    /// Without credentials.
    pub url: Option<String>,
    /// Requests that ended, answered or not.
    pub requests: u64,
    /// Whole answers, any status.
    pub responses: u64,
    /// Requests that failed: no answer, or a 4xx/5xx status.
    pub errors: u64,
    pub error_rate_pct: f64,
    /// Answers per second over the measured time.
    pub rps: f64,
    /// Latency of the answers (absent when nothing answered).
    pub latency_ms: Option<Percentiles>,
    /// Answers per HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// `connect`, `timeout`, `io`, `protocol`, `status_4xx`, `status_5xx`.
    pub errors_by_class: BTreeMap<String, ErrorCount>,
}

/// Latency percentiles in milliseconds (HDR histogram, 3 significant digits).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Percentiles {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// How many requests failed one way, and what the first of them said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorCount {
    pub count: u64,
    pub first: String,
}

/// The limits the run was judged by (absent: not set).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThresholdsResult {
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub min_rps: Option<f64>,
    pub max_error_rate_pct: Option<f64>,
    pub max_regression_pct: Option<f64>,
}

/// This run against `--baseline`. A change is in percent: positive p95 = slower, negative rps = fewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineResult {
    pub file: String,
    pub target: Option<String>,
    pub rps: f64,
    pub rps_change_pct: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p95_change_pct: Option<f64>,
    /// Per named request found in both runs.
    pub requests: Vec<RequestChange>,
}

/// One named request against the baseline's request of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestChange {
    pub name: String,
    pub p95_ms: Option<f64>,
    pub baseline_p95_ms: Option<f64>,
    pub p95_change_pct: Option<f64>,
}

/// An earlier run's result. `Ok(None)`: the file does not exist yet (a first run) or its run measured
/// nothing (it stopped on an error); anything else that is not a load result is an error.
pub fn read_baseline(path: &Path) -> Result<Option<LoadResult>, String> {
    let Some(value) = crate::result::read_if_present(path).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let command = value.get("command").and_then(|c| c.as_str()).unwrap_or("");
    if command != "load" {
        return Err(format!("it is not a load result (command `{command}`)"));
    }
    // `read_if_present` refused a newer schema version already.
    let file: super::ResultFile<LoadResult> =
        super::parse(value).map_err(|e| format!("not a load result: {e}"))?;
    Ok(file.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_are_load_results_of_a_known_version() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            read_baseline(&path)
        };
        assert_eq!(read_baseline(&dir.path().join("absent.json")), Ok(None));
        assert!(at("gate.json", r#"{"command":"gate","data":{}}"#).unwrap_err().contains("command `gate`"));
        assert!(at("bad.json", "<xml/>").unwrap_err().contains("not JSON"));
        let future = r#"{"command":"load","verdict":"passed","exit_code":0,"data":{"schema_version":99}}"#;
        assert!(at("future.json", future).unwrap_err().contains("schema version 99"));
        let failed = r#"{"command":"load","verdict":"error","exit_code":2,"error":"use --rate: ..."}"#;
        assert_eq!(at("error.json", failed), Ok(None), "a run that stopped on an error measured nothing");
        let broken = r#"{"command":"load","verdict":"passed","exit_code":0,"data":{"schema_version":1}}"#;
        assert!(at("broken.json", broken).unwrap_err().contains("not a load result"));
    }
}
