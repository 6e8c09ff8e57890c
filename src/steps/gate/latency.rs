//! The latency gate's arithmetic: the 95th percentile over samples, the baseline from a previous run's
//! result file, the regression against it, and the verdict on them. Pure apart from reading the baseline.

use crate::result::gate::{BaselineView, LatencyData, ProbeLatency};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--samples`, `--p95`, `--baseline`, `--max-regression`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySettings {
    /// Requests measured per HTTP probe after the gate opens, one after the other.
    pub samples: usize,
    /// The p95 must not be over this.
    pub p95: Option<Duration>,
    /// A previous run's result file (`--result-file` / `--format json` output).
    pub baseline: Option<PathBuf>,
    /// The p95 may be at most this many percent over the baseline's.
    pub max_regression_pct: Option<f64>,
}

/// The nearest-rank percentile (`pct` in 0..=100): the smallest sample with at least pct% of samples at or below it.
pub fn percentile(samples: &[Duration], pct: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The baseline p95 in ms from a gate's or a deploy's result file (see `baseline_from_json`), read
/// through the one result reader (size cap, schema version). `Ok(None)` when the file does not exist
/// or holds no measurement (first run, or that run did not open).
pub fn read_baseline(path: &Path) -> Result<Option<f64>, String> {
    let value = crate::result::read_if_present(path).map_err(|e| e.to_string())?;
    Ok(value.as_ref().and_then(baseline_from_json))
}

/// `data.latency.p95_ms` (a gate's result), `data.gate.latency.p95_ms` (a deploy's: its gate sits under
/// `data.gate`, so one deploy's result file is the next deploy's baseline), or the same without the
/// envelope. A result whose fields have other shapes measured nothing this gate can use.
pub fn baseline_from_json(value: &Value) -> Option<f64> {
    let data = value.get("data").unwrap_or(value);
    BaselineView::deserialize(data).ok()?.p95_ms()
}

/// How much slower `current` is than `baseline`, in percent (negative: faster). `None` for a zero baseline.
pub fn regression_pct(current_ms: f64, baseline_ms: f64) -> Option<f64> {
    (baseline_ms > 0.0).then(|| (current_ms - baseline_ms) / baseline_ms * 100.0)
}

/// One HTTP probe's samples.
#[derive(Debug, Clone)]
pub struct ProbeSamples {
    pub label: String,
    /// Latencies of the samples that passed.
    pub latencies: Vec<Duration>,
    /// What went wrong with the others.
    pub failures: Vec<String>,
}

/// The latency gate's result.
#[derive(Debug, Clone)]
pub struct LatencyReport {
    pub data: LatencyData,
    /// The worst probe's p95, in ms.
    pub p95_ms: Option<f64>,
    pub regression_pct: Option<f64>,
    /// Why the latency gate fails; empty when it passes.
    pub problems: Vec<String>,
    /// False when the deadline cut the sampling short.
    pub complete: bool,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Judges the samples against `--p95` and the baseline. `complete` is false when the deadline cut sampling short.
pub fn judge(
    settings: &LatencySettings,
    probes: &[ProbeSamples],
    baseline_ms: Option<f64>,
    complete: bool,
) -> LatencyReport {
    let mut problems = Vec::new();
    let mut per_probe = Vec::new();
    let mut worst: Option<f64> = None;
    for probe in probes {
        let p95 = percentile(&probe.latencies, 95.0).map(ms);
        if let Some(p95) = p95 {
            worst = Some(worst.map_or(p95, |w: f64| w.max(p95)));
        }
        if !probe.failures.is_empty() {
            problems.push(format!(
                "{} of {} samples of {} failed (first: {})",
                probe.failures.len(),
                probe.failures.len() + probe.latencies.len(),
                probe.label,
                probe.failures[0]
            ));
        }
        per_probe.push(ProbeLatency {
            probe: probe.label.clone(),
            samples: probe.latencies.len(),
            failed: probe.failures.len(),
            p50_ms: percentile(&probe.latencies, 50.0).map(ms),
            p95_ms: p95,
            max_ms: probe.latencies.iter().max().copied().map(ms),
        });
    }
    if !complete {
        problems.push("the deadline passed before every sample was taken".into());
    }
    if let (Some(limit), Some(p95)) = (settings.p95, worst) {
        if p95 > ms(limit) {
            problems.push(format!("p95 {p95} ms is over --p95 {} ms", ms(limit)));
        }
    }
    let regression = worst.zip(baseline_ms).and_then(|(p95, base)| regression_pct(p95, base)).map(round2);
    if let (Some(max), Some(pct)) = (settings.max_regression_pct, regression) {
        if pct > max {
            problems.push(format!(
                "p95 {} ms is {pct:+}% against the baseline's {} ms, over --max-regression {max}%",
                worst.unwrap_or_default(),
                baseline_ms.unwrap_or_default()
            ));
        }
    }
    let data = LatencyData {
        samples: probes.iter().map(|p| p.latencies.len() + p.failures.len()).sum::<usize>(),
        samples_per_probe: settings.samples,
        p95_ms: worst,
        limit_p95_ms: settings.p95.map(ms),
        baseline_file: settings.baseline.as_ref().map(|p| p.display().to_string()),
        baseline_p95_ms: baseline_ms,
        regression_pct: regression,
        max_regression_pct: settings.max_regression_pct,
        complete,
        probes: per_probe,
    };
    LatencyReport { data, p95_ms: worst, regression_pct: regression, problems, complete }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    fn settings(p95: Option<u64>, max_regression_pct: Option<f64>) -> LatencySettings {
        LatencySettings {
            samples: 20,
            p95: p95.map(Duration::from_millis),
            baseline: None,
            max_regression_pct,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples = millis(&(1..=100).rev().collect::<Vec<_>>());
        assert_eq!(percentile(&samples, 95.0), Some(Duration::from_millis(95)));
        assert_eq!(percentile(&samples, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&samples, 100.0), Some(Duration::from_millis(100)));
        // 20 samples: rank ceil(19) = 19th smallest; one outlier of 20 does not count, two do.
        let mut twenty = millis(&[10; 19]);
        twenty.push(Duration::from_millis(900));
        assert_eq!(percentile(&twenty, 95.0), Some(Duration::from_millis(10)));
        twenty[0] = Duration::from_millis(800);
        assert_eq!(percentile(&twenty, 95.0), Some(Duration::from_millis(800)));
        assert_eq!(percentile(&millis(&[7]), 95.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 95.0), None);
    }

    #[test]
    fn regression_in_percent() {
        assert_eq!(regression_pct(120.0, 100.0), Some(20.0));
        assert_eq!(regression_pct(80.0, 100.0), Some(-20.0));
        assert_eq!(regression_pct(5.0, 0.0), None);
    }

    #[test]
    fn baseline_comes_from_a_result_file() {
        let result_file = json!({"command": "gate", "data": {"latency": {"p95_ms": 42.5}}});
        assert_eq!(baseline_from_json(&result_file), Some(42.5));
        assert_eq!(baseline_from_json(&json!({"latency": {"p95_ms": 7}})), Some(7.0));
        let deploy_result = json!({"command": "deploy", "data": {"gate": {"latency": {"p95_ms": 12.0}}}});
        assert_eq!(
            baseline_from_json(&deploy_result),
            Some(12.0),
            "a previous deploy's result is a baseline too"
        );
        assert_eq!(baseline_from_json(&json!({"data": {"latency": null}})), None);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_baseline(&dir.path().join("absent.json")), Ok(None));
        std::fs::write(dir.path().join("r.json"), result_file.to_string()).unwrap();
        assert_eq!(read_baseline(&dir.path().join("r.json")), Ok(Some(42.5)));
        std::fs::write(dir.path().join("bad.json"), "<xml/>").unwrap();
        assert!(read_baseline(&dir.path().join("bad.json")).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn judged_by_the_worst_probe_p95_and_the_regression() {
        let fast = ProbeSamples { label: "a".into(), latencies: millis(&[10; 20]), failures: vec![] };
        let slow = ProbeSamples { label: "b".into(), latencies: millis(&[100; 20]), failures: vec![] };
        let report = judge(&settings(Some(50), None), &[fast.clone(), slow.clone()], None, true);
        assert_eq!(report.p95_ms, Some(100.0));
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].contains("over --p95 50 ms"));
        assert_eq!(report.data.probes[0].p95_ms, Some(10.0));

        let ok = judge(&settings(Some(150), Some(20.0)), std::slice::from_ref(&slow), Some(90.0), true);
        assert_eq!(ok.regression_pct, Some(11.11));
        assert!(ok.problems.is_empty(), "{:?}", ok.problems);
        let regressed = judge(&settings(None, Some(20.0)), std::slice::from_ref(&slow), Some(80.0), true);
        assert_eq!(regressed.regression_pct, Some(25.0));
        assert!(
            regressed.problems[0].contains("+25% against the baseline's 80 ms"),
            "{:?}",
            regressed.problems
        );
        assert_eq!(regressed.data.baseline_p95_ms, Some(80.0));
    }

    #[test]
    fn failed_samples_and_a_short_run_fail_the_latency_gate() {
        let flaky = ProbeSamples {
            label: "GET http://x/".into(),
            latencies: millis(&[10; 18]),
            failures: vec!["status 500".into(), "status 502".into()],
        };
        let report = judge(&settings(None, None), &[flaky], None, false);
        assert!(report.problems[0].contains("2 of 20 samples") && report.problems[0].contains("status 500"));
        assert!(report.problems[1].contains("deadline"));
        assert_eq!(report.data.samples, 20);
    }
}
