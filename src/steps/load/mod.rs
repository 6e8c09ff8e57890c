//! `stepkit load`: load an HTTP service with a closed model (N connections as fast as it answers) or an
//! open model (a fixed rate, latency from the time each request was due), and judge the result against
//! thresholds and a previous run.

mod client;
mod engine;
mod wire;
// Its typed result lives with the other steps' in src/result/; this path stays for readers of it.
pub use crate::result::load as result;
mod stats;
mod verdict;

use crate::report::{Live, Outcome};
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;

/// One request to send: from the flags, or one `[[request]]` of a requests file.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Shown in the per-request table and the result file.
    pub name: String,
    pub method: hyper::Method,
    /// http:// only: absolute, with the base URL already applied.
    pub url: hyper::Uri,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
}

/// How requests are started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Each connection sends its next request as soon as the last one answered.
    Closed,
    /// Requests are due at a fixed rate per second, whatever the answers take.
    Open { rate: f64 },
}

/// When the measurement ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    After(Duration),
    Requests(u64),
}

/// `--p50/--p95/--p99`, `--min-rps`, `--max-error-rate`, `--baseline`, `--max-regression`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    pub min_rps: Option<f64>,
    pub max_error_rate_pct: Option<f64>,
    pub baseline: Option<PathBuf>,
    pub max_regression_pct: Option<f64>,
}

/// Resolved settings for `stepkit load`.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub requests: Vec<RequestSpec>,
    /// Headers with credentials, sent with every request, never shown.
    pub secret_headers: Vec<(String, Secret)>,
    pub target: Option<String>,
    pub connections: usize,
    pub model: Model,
    pub stop: Stop,
    pub warmup: Duration,
    pub timeout: Duration,
    pub thresholds: Thresholds,
}

/// What stopped `stepkit load` before it measured anything.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("resolve the host of {url}: {message}; check the URL and the DNS of this machine")]
    Resolve { url: String, message: String },
    #[error(
        "read the baseline {path}: {message}; give a result file written by `stepkit load --result-file`"
    )]
    Baseline { path: PathBuf, message: String },
}

impl crate::error::ModuleError for LoadError {
    /// Whether the user must change the command (exit 2) rather than the environment (exit 3).
    fn is_usage(&self) -> bool {
        matches!(self, LoadError::Baseline { .. })
    }
}

/// Runs the load and judges it.
pub async fn run(settings: &LoadSettings, live: &mut dyn Live) -> Result<Outcome, LoadError> {
    // The baseline is read first: a wrong path should not cost a whole load run to find out.
    let baseline = match &settings.thresholds.baseline {
        Some(path) => result::read_baseline(path)
            .map_err(|message| LoadError::Baseline { path: path.clone(), message })?
            .map(|b| (path.clone(), b)),
        None => None,
    };
    // SIGINT/SIGTERM stop the load; what was measured until then is still the result.
    let mut signals = crate::signals::Signals::install();
    let prepared = tokio::select! {
        prepared = client::prepare(settings) => prepared?,
        signal = signals.recv() => {
            let headline = format!("stopped by {} before the load started", signal.name());
            return Ok(Outcome::new("load", signal.verdict(), headline));
        }
    };
    live.line(&engine::describe(settings));
    let (stop, stop_asked) = tokio::sync::watch::channel(false);
    let engine = engine::run(settings, prepared, stop_asked);
    tokio::pin!(engine);
    let (measured, signal) = tokio::select! {
        measured = &mut engine => (measured, None),
        signal = signals.recv() => {
            let _ = stop.send(true);
            (engine.await, Some(signal))
        }
    };
    Ok(verdict::outcome(settings, &measured, baseline, signal))
}
