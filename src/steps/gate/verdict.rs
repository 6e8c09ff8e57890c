//! The gate's `Outcome`: verdict and headline from the decision and the latency gate, the evidence in
//! text, markdown (step summary) and JSON, step outputs.

use super::answer::{ms, Verdict as ProbeVerdict};
use super::evidence::{
    attempt_data, attempts_markdown, attempts_text, logs_markdown, logs_text, one_line, probes_markdown,
    probes_text,
};
use super::latency::LatencyReport;
use super::policy::{Closed, Decision};
use super::probe::Attempt;
use super::GateSettings;
use crate::report::{Annotation, AnnotationLevel, Outcome, Verdict};
use crate::result::gate::{ContainerLogs, GateData, PolicyData, SCHEMA_VERSION};
use std::time::Duration;

/// Everything the gate found.
pub(super) struct Finished<'a> {
    pub settings: &'a GateSettings,
    pub labels: &'a [String],
    pub decision: Decision,
    /// When the decision was made.
    pub elapsed: Duration,
    /// Including the latency samples.
    pub total: Duration,
    pub started_at: String,
    /// Kept attempts, oldest first.
    pub attempts: &'a [Attempt],
    pub dropped: usize,
    pub latency: Option<LatencyReport>,
    /// Per container probe: its last log lines, or why they could not be read.
    pub logs: Vec<(String, Result<Vec<String>, String>)>,
    pub warnings: Vec<String>,
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// The last attempt that did not pass (what a failure headline quotes).
fn last_failure(attempts: &[Attempt]) -> Option<&Attempt> {
    attempts.iter().rev().find(|a| !matches!(a.verdict, ProbeVerdict::Pass))
}

pub(super) fn outcome(f: Finished) -> Outcome {
    let s = f.settings;
    let rounds = f.attempts.iter().filter_map(|a| a.round).max().map_or(0, |r| r + 1);
    let last = || {
        last_failure(f.attempts)
            .map(|a| one_line(a, f.labels))
            .unwrap_or_else(|| "no attempt finished".into())
    };
    let (state, verdict, mut headline) = match &f.decision {
        Decision::Open { .. } => (
            "open",
            Verdict::Passed,
            format!("open after {} ({} round{})", ms(f.elapsed), rounds, if rounds == 1 { "" } else { "s" }),
        ),
        Decision::Closed(Closed::Fatal { probe }) => {
            let what = f
                .attempts
                .iter()
                .rev()
                .find(|a| a.probe == *probe && matches!(a.verdict, ProbeVerdict::Fatal(_)))
                .and_then(|a| a.verdict.detail())
                .unwrap_or("failed");
            (
                "closed",
                Verdict::Failed,
                format!("closed after {}: {} {what}", ms(f.elapsed), f.labels[*probe]),
            )
        }
        Decision::Closed(Closed::Failures { count }) => (
            "closed",
            Verdict::Failed,
            format!("closed: {count} consecutive failed rounds in {}; last: {}", ms(f.elapsed), last()),
        ),
        Decision::Deadline => (
            "deadline",
            Verdict::TimedOut,
            format!(
                "the deadline of {} passed before the gate opened; last: {}",
                humantime::format_duration(s.deadline),
                last()
            ),
        ),
    };
    let mut verdict = verdict;
    if let Some(report) = &f.latency {
        if let Some(p95) = report.p95_ms {
            headline.push_str(&format!("; p95 {p95} ms"));
            if let Some(pct) = report.regression_pct {
                headline.push_str(&format!(" ({pct:+}% against the baseline)"));
            }
        }
        if !report.problems.is_empty() {
            // The deadline covers the samples too: running out of it is a timeout, whatever else was found.
            verdict = if report.complete { Verdict::Failed } else { Verdict::TimedOut };
            headline.push_str(&format!(", but {}", report.problems.join("; ")));
        }
    }

    let mut outcome = Outcome::new("gate", verdict, headline);
    outcome.warnings = f.warnings;
    let failed = verdict != Verdict::Passed;
    let mut shown = f.attempts[f.attempts.len().saturating_sub(s.show_attempts)..].to_vec();
    // Attempts are kept in the order they finished; people read them in the order they started.
    shown.sort_by_key(|a| (a.at, a.probe));

    let mut text = probes_text(f.labels, f.attempts);
    let mut markdown = probes_markdown(f.labels, f.attempts);
    if let Some(report) = &f.latency {
        text.push_str(&latency_text(report));
        markdown.push_str(&latency_markdown(report));
    }
    // Only a gate that did not open is explained by its attempts (a latency failure has its own table).
    if failed && !shown.is_empty() && !matches!(f.decision, Decision::Open { .. }) {
        text.push_str(&format!("last {} attempts:\n{}", shown.len(), attempts_text(f.labels, &shown)));
        markdown.push_str(&format!(
            "\n<details><summary>Last {} attempts</summary>\n\n{}\n</details>\n",
            shown.len(),
            attempts_markdown(f.labels, &shown)
        ));
    }
    for (name, logs) in &f.logs {
        text.push_str(&logs_text(name, logs));
        markdown.push('\n');
        markdown.push_str(&logs_markdown(name, logs));
    }
    outcome.text = text;
    outcome.markdown = markdown;
    outcome.step_summary = true;

    outcome.outputs.push(("state".into(), state.into()));
    if matches!(f.decision, Decision::Open { .. }) {
        outcome.outputs.push(("opened-after-ms".into(), millis(f.elapsed).to_string()));
    }
    if let Some(p95) = f.latency.as_ref().and_then(|l| l.p95_ms) {
        outcome.outputs.push(("p95-ms".into(), p95.to_string()));
    }
    if failed {
        outcome.annotations.push(Annotation {
            level: AnnotationLevel::Error,
            title: Some(
                match (verdict, state) {
                    (Verdict::TimedOut, _) => "health gate: deadline passed",
                    (_, "open") => "health gate: latency gate failed",
                    _ => "health gate closed",
                }
                .into(),
            ),
            message: outcome.headline.clone(),
            file: None,
            line: None,
        });
    }
    outcome.set_data(&GateData {
        schema_version: SCHEMA_VERSION,
        state: state.to_string(),
        started_at: f.started_at.clone(),
        elapsed_ms: millis(f.total),
        opened_after_ms: matches!(f.decision, Decision::Open { .. }).then(|| millis(f.elapsed)),
        policy: PolicyData {
            interval_ms: millis(s.interval),
            timeout_ms: millis(s.timeout),
            initial_delay_ms: millis(s.initial_delay),
            successes: s.successes,
            failures: s.failures,
            deadline_ms: millis(s.deadline),
        },
        probes: f.labels.to_vec(),
        rounds,
        attempts: f.attempts.iter().map(|a| attempt_data(a, f.labels)).collect(),
        attempts_dropped: f.dropped,
        latency: f.latency.as_ref().map(|l| l.data.clone()),
        container_logs: f
            .logs
            .iter()
            .map(|(name, logs)| {
                let logs = match logs {
                    Ok(lines) => ContainerLogs::Lines(lines.clone()),
                    Err(message) => ContainerLogs::Unread { error: message.clone() },
                };
                (name.clone(), logs)
            })
            .collect(),
    });
    outcome
}

fn latency_text(report: &LatencyReport) -> String {
    let d = &report.data;
    let mut out = format!("latency: {} samples, p95 {}", d.samples, fmt_ms(d.p95_ms));
    if d.limit_p95_ms.is_some() {
        out.push_str(&format!(" (limit {})", fmt_ms(d.limit_p95_ms)));
    }
    if d.baseline_p95_ms.is_some() {
        out.push_str(&format!(", baseline {}, {}", fmt_ms(d.baseline_p95_ms), fmt_pct(d.regression_pct)));
    }
    out.push('\n');
    out
}

fn latency_markdown(report: &LatencyReport) -> String {
    let mut out =
        String::from("\n| Latency | Samples | Failed | p50 | p95 | max |\n|---|--:|--:|--:|--:|--:|\n");
    for p in &report.data.probes {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            p.probe.replace(['`', '|'], "'"),
            p.samples,
            p.failed,
            fmt_ms(p.p50_ms),
            fmt_ms(p.p95_ms),
            fmt_ms(p.max_ms)
        ));
    }
    let d = &report.data;
    if d.baseline_p95_ms.is_some() {
        out.push_str(&format!(
            "\nBaseline p95 {}; now {} ({}).\n",
            fmt_ms(d.baseline_p95_ms),
            fmt_ms(d.p95_ms),
            fmt_pct(d.regression_pct)
        ));
    }
    out
}

/// `12.5 ms`, `1000 ms`, or `-` when there is no figure.
fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |n| format!("{n} ms"))
}

fn fmt_pct(v: Option<f64>) -> String {
    v.map_or("no regression figure".into(), |p| format!("{p:+}%"))
}
