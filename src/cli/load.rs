//! `stepkit load` arguments.

use clap::Args;
use std::path::PathBuf;

/// `stepkit load [URL] [requests] [model] [thresholds]`
#[derive(Debug, Clone, Args)]
#[command(after_help = "Closed model (default): --connections workers send as fast as the server answers.\n\
Open model (--rate): requests start on a fixed schedule and latency runs from the time each was due, so a\n\
stall shows in the percentiles (coordinated omission corrected, as wrk2 does).\n\
Credential headers go in STEPKIT_LOAD_HEADERS (one `Name: value` per line), never argv.\n\
Exit codes: 0 within the thresholds, 1 a threshold or the baseline failed (or nothing answered), 2 bad flags.\n\n\
Examples:\n  stepkit load http://localhost:8080/health --connections 32 --duration 30s --p95 50ms\n  \
stepkit load --requests-file load/api.toml --base-url http://localhost:8080 --target postgres --rate 500\n  \
stepkit load http://localhost:8080/ -n 10000 --baseline last/load.json --max-regression 10%")]
pub struct LoadArgs {
    /// The URL to load (or use --requests-file)
    #[arg(value_name = "URL", help_heading = "Requests")]
    pub url: Option<String>,
    /// The request method for URL [default: GET]
    #[arg(long, short = 'X', value_name = "METHOD", help_heading = "Requests")]
    pub method: Option<String>,
    /// A request header (repeatable): 'Accept: application/json'. Credentials go in STEPKIT_LOAD_HEADERS
    #[arg(long, short = 'H', value_name = "K: V", help_heading = "Requests")]
    pub header: Vec<String>,
    /// The request body for URL
    #[arg(long, value_name = "TEXT", help_heading = "Requests", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// The request body for URL, read from FILE
    #[arg(long, value_name = "FILE", help_heading = "Requests")]
    pub body_file: Option<PathBuf>,
    /// A TOML file of named requests ([[request]] name, method, url, headers, body, body-file), sent in turn
    #[arg(long, value_name = "FILE", help_heading = "Requests", conflicts_with = "url")]
    pub requests_file: Option<PathBuf>,
    /// The base that relative URLs in --requests-file are joined to (overrides its base-url)
    #[arg(long, value_name = "URL", help_heading = "Requests")]
    pub base_url: Option<String>,
    /// A label for what was loaded, e.g. the database flavour: postgres
    #[arg(long, value_name = "NAME", help_heading = "Requests")]
    pub target: Option<String>,

    /// Connections, each one worker with one keep-alive connection [default: 10]
    #[arg(long, short = 'c', value_name = "N", help_heading = "Model")]
    pub connections: Option<usize>,
    /// Open model: start R requests per second (e.g. 200 or 200/s) whatever the answers take
    #[arg(long, value_name = "R/s", help_heading = "Model")]
    pub rate: Option<String>,
    /// How long to measure, after the warm-up [default: 10s]
    #[arg(long, short = 'z', value_name = "DURATION", help_heading = "Model", conflicts_with = "requests")]
    pub duration: Option<String>,
    /// Measure this many requests instead of a duration
    #[arg(long, short = 'n', value_name = "N", help_heading = "Model")]
    pub requests: Option<u64>,
    /// Load this long first without measuring (connections, caches, JIT warm up) [default: 0s]
    #[arg(long, value_name = "DURATION", help_heading = "Model")]
    pub warmup: Option<String>,
    /// Time one request may take, connecting included [default: 10s]
    #[arg(long, value_name = "DURATION", help_heading = "Model")]
    pub timeout: Option<String>,

    /// Fail when the median latency is over this, e.g. 20ms
    #[arg(long, value_name = "DURATION", help_heading = "Thresholds")]
    pub p50: Option<String>,
    /// Fail when the 95th percentile latency is over this, e.g. 200ms
    #[arg(long, value_name = "DURATION", help_heading = "Thresholds")]
    pub p95: Option<String>,
    /// Fail when the 99th percentile latency is over this, e.g. 500ms
    #[arg(long, value_name = "DURATION", help_heading = "Thresholds")]
    pub p99: Option<String>,
    /// Fail when fewer responses per second than this came back
    #[arg(long, value_name = "RPS", help_heading = "Thresholds")]
    pub min_rps: Option<f64>,
    /// Fail when more than this share of requests failed (connect, timeout, 4xx, 5xx ...), e.g. 1%
    #[arg(long, value_name = "PERCENT", help_heading = "Thresholds")]
    pub max_error_rate: Option<String>,
    /// A previous `stepkit load` result file (--result-file) to compare with
    #[arg(long, value_name = "FILE", help_heading = "Thresholds")]
    pub baseline: Option<PathBuf>,
    /// Fail when requests/s fell or a p95 rose by more than this against the baseline, e.g. 10%
    #[arg(long, value_name = "PERCENT", help_heading = "Thresholds", requires = "baseline")]
    pub max_regression: Option<String>,
}
