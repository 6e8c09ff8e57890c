//! `stepkit gate` arguments.

use clap::Args;
use std::path::PathBuf;

/// `stepkit gate [probes] [policy] [latency]`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Every probe must pass in the same round. The HTTP checks apply to every --http URL.\n\
Exit codes: 0 open, 1 closed (or the latency gate failed), 124 the deadline passed.\n\n\
Examples:\n  stepkit gate --http http://localhost:8080/health --json /status=ok --deadline 90s\n  \
stepkit gate --container web --tcp localhost:5432 --successes 3 --failures 5\n  \
stepkit gate --http http://localhost:8080/ --samples 100 --p95 250ms --baseline last/gate.json --max-regression 20%"
)]
pub struct GateArgs {
    /// An HTTP GET probe (repeatable); redirects are answers, not followed
    #[arg(long, value_name = "URL", help_heading = "Probes")]
    pub http: Vec<String>,
    /// Accepted HTTP statuses, e.g. 200-299,304 or 2xx [default: 200-399]
    #[arg(long, value_name = "RANGES", help_heading = "Probes")]
    pub expect_status: Option<String>,
    /// The HTTP body must contain TEXT (repeatable)
    #[arg(long, value_name = "TEXT", help_heading = "Probes")]
    pub body_contains: Vec<String>,
    /// The HTTP body must match this regex (repeatable)
    #[arg(long, value_name = "REGEX", help_heading = "Probes")]
    pub body_regex: Vec<String>,
    /// The JSON body's value at a JSON Pointer must equal VALUE, as JSON or as text (repeatable): /status=ok
    #[arg(long, value_name = "POINTER=VALUE", help_heading = "Probes")]
    pub json: Vec<String>,
    /// A request header for the HTTP probes (repeatable): 'Host: app.local'. Credentials go in STEPKIT_GATE_HEADERS (one `Name: value` per line), never argv
    #[arg(long, short = 'H', value_name = "K: V", help_heading = "Probes")]
    pub header: Vec<String>,
    /// An HTTP answer slower than this is a wrong answer, e.g. 500ms
    #[arg(long, value_name = "DURATION", help_heading = "Probes")]
    pub max_latency: Option<String>,
    /// A PEM file of CA certificates trusted for https:// probes besides the system's (repeatable) [env: STEPKIT_GATE_CA_CERT]
    #[arg(long, value_name = "FILE", help_heading = "Probes")]
    pub ca_cert: Vec<PathBuf>,
    /// Accept any TLS certificate on https:// probes (self-signed, wrong host); the attempt still says it was not verified [env: STEPKIT_GATE_INSECURE]
    #[arg(long, help_heading = "Probes")]
    pub insecure: bool,
    /// A TCP probe: the port accepts connections (repeatable)
    #[arg(long, value_name = "HOST:PORT", help_heading = "Probes")]
    pub tcp: Vec<String>,
    /// A container probe (repeatable): running, and healthy when it has a HEALTHCHECK; exiting or turning unhealthy closes the gate at once
    #[arg(long, value_name = "NAME", help_heading = "Probes")]
    pub container: Vec<String>,

    /// Time between the starts of two attempts [env: STEPKIT_GATE_INTERVAL] [default: 2s]
    #[arg(long, value_name = "DURATION", help_heading = "Policy")]
    pub interval: Option<String>,
    /// Time one attempt may take [env: STEPKIT_GATE_TIMEOUT] [default: 5s]
    #[arg(long, value_name = "DURATION", help_heading = "Policy")]
    pub timeout: Option<String>,
    /// Wait this long before the first attempt [env: STEPKIT_GATE_INITIAL_DELAY] [default: 0s]
    #[arg(long, value_name = "DURATION", help_heading = "Policy")]
    pub initial_delay: Option<String>,
    /// Consecutive passing attempts that open the gate [env: STEPKIT_GATE_SUCCESSES] [default: 1]
    #[arg(long, value_name = "N", help_heading = "Policy")]
    pub successes: Option<u32>,
    /// Consecutive failed attempts that close the gate early; connection errors count only once the service has answered [env: STEPKIT_GATE_FAILURES] [default: none: only the deadline closes it]
    #[arg(long, value_name = "N", help_heading = "Policy")]
    pub failures: Option<u32>,
    /// Overall time allowed, latency samples included; past it the gate exits 124 [env: STEPKIT_GATE_DEADLINE] [default: 2m]
    #[arg(long, value_name = "DURATION", help_heading = "Policy")]
    pub deadline: Option<String>,

    /// After the gate opens, measure N requests per HTTP probe, one after the other
    #[arg(long, value_name = "N", help_heading = "Latency")]
    pub samples: Option<usize>,
    /// Fail when the samples' 95th percentile is over this, e.g. 250ms (needs --samples)
    #[arg(long, value_name = "DURATION", help_heading = "Latency")]
    pub p95: Option<String>,
    /// A previous run's result file (--result-file) whose p95 is the baseline (needs --samples)
    #[arg(long, value_name = "FILE", help_heading = "Latency")]
    pub baseline: Option<PathBuf>,
    /// Fail when the p95 is more than this over the baseline's, e.g. 20% (needs --baseline)
    #[arg(long, value_name = "PERCENT", help_heading = "Latency")]
    pub max_regression: Option<String>,

    /// How many of the last attempts a failure shows [default: 10]
    #[arg(long, value_name = "N", help_heading = "Evidence")]
    pub show_attempts: Option<usize>,
    /// How many of a container's last log lines a failure shows [default: 30]
    #[arg(long, value_name = "N", help_heading = "Evidence")]
    pub log_lines: Option<usize>,
}
