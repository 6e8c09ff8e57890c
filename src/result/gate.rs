//! `data` of the `stepkit gate` result: the decision, the policy it was made under, every kept attempt,
//! the latency gate, and containers' last log lines. A deploy's result carries the same under `gate`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped when a field of `gate`'s data changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// `data` of a `stepkit gate` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GateData {
    pub schema_version: u32,
    /// `open`, `closed`, `deadline` or `fatal`.
    pub state: String,
    /// When the gate started (RFC 3339, UTC).
    pub started_at: String,
    /// The whole gate, latency samples included.
    pub elapsed_ms: u64,
    /// When the gate opened; null when it did not.
    pub opened_after_ms: Option<u64>,
    pub policy: PolicyData,
    /// The probes, as named in the attempts.
    pub probes: Vec<String>,
    pub rounds: usize,
    /// Kept attempts, oldest first.
    pub attempts: Vec<AttemptData>,
    /// Attempts not kept (only the latest are).
    pub attempts_dropped: usize,
    /// The latency gate (`--samples`); null when it did not run.
    pub latency: Option<LatencyData>,
    /// The last log lines of each probed container, or why they could not be read.
    pub container_logs: BTreeMap<String, ContainerLogs>,
}

/// The policy the gate decided by.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyData {
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub initial_delay_ms: u64,
    pub successes: u32,
    /// Null: only the deadline closes the gate.
    pub failures: Option<u32>,
    pub deadline_ms: u64,
}

/// One attempt of one probe.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AttemptData {
    /// 1-based; null for the container watcher and latency samples.
    pub round: Option<usize>,
    /// When it started, after the gate's start.
    pub at_ms: u64,
    pub probe: String,
    /// `pass`, `wrong`, `starting`, `error` or `fatal`.
    pub outcome: String,
    pub detail: Option<String>,
    /// For an `error`: `refused`, `timeout`, `dns`, `tls`, `not-found`, ...
    pub error_class: Option<String>,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub latency_ms: f64,
}

/// A container's last log lines, or why they could not be read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ContainerLogs {
    Lines(Vec<String>),
    Unread { error: String },
}

/// The latency gate: samples after the gate opened, judged by `--p95` and a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LatencyData {
    pub samples: usize,
    pub samples_per_probe: usize,
    /// The worst probe's p95.
    pub p95_ms: Option<f64>,
    /// `--p95`.
    pub limit_p95_ms: Option<f64>,
    /// `--baseline`.
    pub baseline_file: Option<String>,
    pub baseline_p95_ms: Option<f64>,
    /// Positive: slower than the baseline.
    pub regression_pct: Option<f64>,
    /// `--max-regression`.
    pub max_regression_pct: Option<f64>,
    /// False when the deadline cut the sampling short.
    pub complete: bool,
    pub probes: Vec<ProbeLatency>,
}

/// One HTTP probe's samples.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProbeLatency {
    pub probe: String,
    pub samples: usize,
    pub failed: usize,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// What a latency baseline needs of an earlier result: a gate's `data`, or a deploy's, whose gate sits
/// under `gate` (so one deploy's result is the next one's baseline). Fields a result lacks are absent.
#[derive(Debug, Default, Deserialize)]
pub struct BaselineView {
    #[serde(default)]
    pub latency: Option<LatencyView>,
    #[serde(default)]
    pub gate: Option<Box<BaselineView>>,
}

/// `latency` as a baseline reads it.
#[derive(Debug, Default, Deserialize)]
pub struct LatencyView {
    #[serde(default)]
    pub p95_ms: Option<f64>,
}

impl BaselineView {
    /// The p95 this result measured, its own or its gate's.
    pub fn p95_ms(&self) -> Option<f64> {
        self.latency.as_ref().and_then(|l| l.p95_ms).or_else(|| self.gate.as_ref().and_then(|g| g.p95_ms()))
    }
}
