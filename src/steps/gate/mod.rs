//! `stepkit gate`: wait until a service is healthy (HTTP, TCP and container probes under a policy of
//! consecutive passes, failures and a deadline), optionally gate on its latency, and leave the evidence.

pub mod answer;
pub mod checks;
pub mod container;
pub mod evidence;
pub mod latency;
pub mod policy;
pub mod probe;
pub mod schedule;
#[cfg(test)]
pub(crate) mod test_server;
mod verdict;

pub use checks::{Expectations, JsonExpect, StatusRanges};
pub use latency::LatencySettings;
pub use probe::{HttpProbe, Probe, TlsSettings};

use crate::report::{Live, Outcome};
use answer::Verdict;
use policy::{Decision, Policy, Thresholds};
use probe::{Attempt, Prober};
use schedule::{Schedule, Watcher};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;
// tokio's clock, so the schedule, the evidence's times and the heartbeat all run on paused time in tests.
use tokio::time::Instant;

/// Resolved settings for `stepkit gate`.
#[derive(Debug, Clone)]
pub struct GateSettings {
    /// Every probe must pass in the same round.
    pub probes: Vec<Probe>,
    /// Between round starts (not from one's end to the next's start).
    pub interval: Duration,
    /// Per attempt.
    pub timeout: Duration,
    /// Before the first round.
    pub initial_delay: Duration,
    /// Consecutive passing rounds that open the gate.
    pub successes: u32,
    /// Consecutive failing rounds that close it early; `None`: only the deadline does.
    pub failures: Option<u32>,
    /// Overall, from the start (initial delay and latency samples included).
    pub deadline: Duration,
    /// The latency gate, measured after the gate opens.
    pub latency: Option<LatencySettings>,
    /// How many of the last attempts a failure shows.
    pub show_attempts: usize,
    /// How many of a container's last log lines a failure shows.
    pub log_lines: usize,
    /// Trust for https:// probes.
    pub tls: TlsSettings,
}

impl GateSettings {
    /// These probes with the documented defaults: every 2 s, 5 s per attempt, 1 success, deadline 2 min.
    pub fn new(probes: Vec<Probe>) -> Self {
        GateSettings {
            probes,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            initial_delay: Duration::ZERO,
            successes: 1,
            failures: None,
            deadline: Duration::from_secs(120),
            latency: None,
            show_attempts: 10,
            log_lines: 30,
            tls: TlsSettings::default(),
        }
    }

    /// Secret header values, for the caller to mask in CI logs before the gate runs.
    pub fn secrets(&self) -> Vec<&crate::secret::Secret> {
        let mut out = Vec::new();
        for probe in &self.probes {
            if let Probe::Http(http) = probe {
                for (_, value) in &http.secret_headers {
                    if !out.contains(&value) {
                        out.push(value);
                    }
                }
            }
        }
        out
    }

    fn schedule(&self) -> Schedule {
        Schedule {
            initial_delay: self.initial_delay,
            interval: self.interval,
            timeout: self.timeout,
            deadline: self.deadline,
        }
    }
}

/// `stepkit gate` could not do its job (a closed gate is an outcome, not this).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("start the gate: it has no probes; give at least one --http, --tcp or --container")]
    NoProbes,
    #[error(transparent)]
    Docker(#[from] crate::docker::DaemonError),
    #[error("set up the HTTP client: {0}")]
    Http(String),
    #[error("read the latency baseline {path}: {message}; --baseline takes a result file of an earlier `stepkit gate --samples` run (--result-file)")]
    Baseline { path: PathBuf, message: String },
}

impl crate::error::ModuleError for GateError {
    /// Usage problems exit 2; the rest is environment (3).
    fn is_usage(&self) -> bool {
        matches!(self, GateError::NoProbes | GateError::Baseline { .. })
    }
}

/// Most attempts kept as evidence; beyond this the oldest are dropped (and counted).
const KEEP_ATTEMPTS: usize = 5000;

/// How long without a new line before a heartbeat line.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Runs the gate. Must be called inside a tokio runtime.
pub async fn run(settings: &GateSettings, live: &mut dyn Live) -> Result<Outcome, GateError> {
    if settings.probes.is_empty() {
        return Err(GateError::NoProbes);
    }
    let mut warnings = Vec::new();
    let baseline = match settings.latency.as_ref().and_then(|l| l.baseline.as_ref()) {
        Some(path) => {
            let found = latency::read_baseline(path)
                .map_err(|message| GateError::Baseline { path: path.clone(), message })?;
            if found.is_none() {
                warnings.push(format!("no baseline p95 in {} (missing, or that run measured none): the regression check was skipped", path.display()));
            }
            found
        }
        None => None,
    };
    let needs_docker = settings.probes.iter().any(|p| matches!(p, Probe::Container { .. }));
    let docker = if needs_docker {
        // The daemon gets no longer than the gate itself to answer.
        Some(crate::docker::connect_within(settings.deadline).await?)
    } else {
        None
    };
    let prober = Prober::new(settings.probes.clone(), &settings.tls, docker)
        .map_err(|e| GateError::Http(e.to_string()))?;
    let labels: Vec<String> = settings.probes.iter().map(Probe::label).collect();
    let schedule = settings.schedule();

    live.line(&format!(
        "stepkit gate: waiting for {} (every {}, {} per attempt, deadline {})",
        labels.join(", "),
        humantime::format_duration(settings.interval),
        humantime::format_duration(settings.timeout),
        humantime::format_duration(settings.deadline)
    ));
    let started_at = chrono::Utc::now();
    let start = Instant::now();
    let mut policy = Policy::new(
        Thresholds {
            successes: settings.successes,
            failures: settings.failures,
            deadline: settings.deadline,
        },
        labels.len(),
    );
    let watchers: Vec<Watcher> = match prober.docker() {
        Some(docker) => settings
            .probes
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                Probe::Container { name, target } => {
                    let at = target.as_deref().unwrap_or(name);
                    Some(Box::pin(async move { (i, container::watch_exit(docker, at).await) }) as Watcher)
                }
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    let mut recorder = Recorder::new(&labels, live);
    let decision = schedule::drive(
        &schedule,
        &mut policy,
        labels.len(),
        |i, timeout| prober.attempt(i, timeout, start),
        watchers,
        start,
        &mut |a| recorder.record(a, start),
    )
    .await;
    let elapsed = start.elapsed();
    let Recorder { attempts, dropped, .. } = recorder;
    let attempts: Vec<Attempt> = attempts.into();

    let latency = match (&decision, &settings.latency) {
        (Decision::Open { .. }, Some(wanted)) => {
            let http: Vec<usize> = settings
                .probes
                .iter()
                .enumerate()
                .filter(|(_, p)| matches!(p, Probe::Http(_)))
                .map(|(i, _)| i)
                .collect();
            live.line(&format!(
                "stepkit gate: open after {}; measuring latency: {} requests per HTTP probe",
                answer::ms(elapsed),
                wanted.samples
            ));
            let (samples, complete) =
                schedule::sample(&http, &labels, wanted.samples, &schedule, start, |i, timeout| {
                    prober.sample(i, timeout, start)
                })
                .await;
            Some(latency::judge(wanted, &samples, baseline, complete))
        }
        _ => None,
    };

    let passed =
        matches!(decision, Decision::Open { .. }) && latency.as_ref().is_none_or(|l| l.problems.is_empty());
    let mut logs = Vec::new();
    if let (false, Some(docker)) = (passed, prober.docker()) {
        for probe in &settings.probes {
            if let Probe::Container { name, target } = probe {
                let at = target.as_deref().unwrap_or(name);
                logs.push((name.clone(), container::last_logs(docker, at, settings.log_lines).await));
            }
        }
    }
    Ok(verdict::outcome(verdict::Finished {
        settings,
        labels: &labels,
        decision,
        elapsed,
        total: start.elapsed(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        attempts: &attempts,
        dropped,
        latency,
        logs,
        warnings,
    }))
}

type Seen = (&'static str, Option<u16>, Option<answer::ErrorClass>);

/// Keeps the evidence and says what changed as it happens: one line when a probe's result changes,
/// a heartbeat when nothing did for a while.
struct Recorder<'a, 'l> {
    labels: &'a [String],
    live: &'l mut dyn Live,
    attempts: VecDeque<Attempt>,
    dropped: usize,
    /// Per probe: what its last attempt looked like (result, status, error class), to print changes only.
    last: Vec<Option<Seen>>,
    last_line: Instant,
}

impl<'a, 'l> Recorder<'a, 'l> {
    fn new(labels: &'a [String], live: &'l mut dyn Live) -> Self {
        Recorder {
            labels,
            live,
            attempts: VecDeque::new(),
            dropped: 0,
            last: vec![None; labels.len()],
            last_line: Instant::now(),
        }
    }

    fn record(&mut self, attempt: &Attempt, start: Instant) {
        let key = (attempt.verdict.word(), attempt.status, attempt.verdict.class());
        if self.last[attempt.probe] != Some(key) || matches!(attempt.verdict, Verdict::Fatal(_)) {
            self.last[attempt.probe] = Some(key);
            self.live.line(&format!(
                "stepkit gate: +{:.1}s {}",
                attempt.at.as_secs_f64(),
                evidence::one_line(attempt, self.labels)
            ));
            self.last_line = Instant::now();
        } else if self.last_line.elapsed() >= HEARTBEAT {
            self.live.line(&format!(
                "stepkit gate: still waiting after {:.0}s ({} attempts); last: {}",
                start.elapsed().as_secs_f64(),
                self.attempts.len() + self.dropped + 1,
                evidence::one_line(attempt, self.labels)
            ));
            self.last_line = Instant::now();
        }
        if self.attempts.len() == KEEP_ATTEMPTS {
            self.attempts.pop_front();
            self.dropped += 1;
        }
        self.attempts.push_back(attempt.clone());
    }
}

#[cfg(test)]
mod tests;
