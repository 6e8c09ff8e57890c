//! From what was measured to the `Outcome`: the typed result, the thresholds and the baseline judged,
//! a table in text and markdown, the step outputs.

use super::engine::Measured;
use super::result::{
    BaselineResult, ErrorCount, LoadResult, Percentiles, RequestChange, RequestResult, ThresholdsResult,
    SCHEMA_VERSION,
};
use super::stats::Stats;
use super::{LoadSettings, Model, RequestSpec};
use crate::report::{Outcome, Verdict};
use crate::sanitize;
use crate::signals::Signal;
use std::path::PathBuf;
use std::time::Duration;

fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

fn ms(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1000.0, 3)
}

/// Percent change from `base` to `now` (None for a zero base).
fn change_pct(now: f64, base: f64) -> Option<f64> {
    (base > 0.0).then(|| round((now - base) / base * 100.0, 2))
}

/// The URL as shown: without a user or password.
fn shown_url(uri: &hyper::Uri) -> String {
    let mut text = uri.to_string();
    if let Some(authority) = uri.authority() {
        if let Some((_, host)) = authority.as_str().rsplit_once('@') {
            text = text.replacen(authority.as_str(), host, 1);
        }
    }
    text
}

fn request_result(name: &str, spec: Option<&RequestSpec>, stats: &Stats, elapsed: Duration) -> RequestResult {
    let micros = |v: u64| round(v as f64 / 1000.0, 3);
    let h = &stats.latency;
    let latency = (!h.is_empty()).then(|| Percentiles {
        min: micros(h.min()),
        mean: round(h.mean() / 1000.0, 3),
        p50: micros(h.value_at_quantile(0.50)),
        p90: micros(h.value_at_quantile(0.90)),
        p95: micros(h.value_at_quantile(0.95)),
        p99: micros(h.value_at_quantile(0.99)),
        max: micros(h.max()),
    });
    let requests = stats.requests();
    let seconds = elapsed.as_secs_f64();
    RequestResult {
        name: name.to_string(),
        method: spec.map(|s| s.method.to_string()),
        url: spec.map(|s| shown_url(&s.url)),
        requests,
        responses: stats.responses(),
        errors: stats.failed(),
        error_rate_pct: if requests == 0 {
            0.0
        } else {
            round(stats.failed() as f64 / requests as f64 * 100.0, 3)
        },
        rps: if seconds > 0.0 { round(stats.responses() as f64 / seconds, 1) } else { 0.0 },
        latency_ms: latency,
        statuses: stats.statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        errors_by_class: stats
            .errors
            .iter()
            .map(|(class, (count, first))| {
                (class.name().to_string(), ErrorCount { count: *count, first: first.clone() })
            })
            .collect(),
    }
}

fn thresholds_result(settings: &LoadSettings) -> ThresholdsResult {
    let t = &settings.thresholds;
    ThresholdsResult {
        p50_ms: t.p50.map(ms),
        p95_ms: t.p95.map(ms),
        p99_ms: t.p99.map(ms),
        min_rps: t.min_rps,
        max_error_rate_pct: t.max_error_rate_pct,
        max_regression_pct: t.max_regression_pct,
    }
}

fn compare(now: &LoadResult, path: PathBuf, base: &LoadResult) -> BaselineResult {
    let p95 = |r: &RequestResult| r.latency_ms.map(|l| l.p95);
    let requests = now
        .requests
        .iter()
        .filter_map(|r| {
            let before = base.requests.iter().find(|b| b.name == r.name)?;
            Some(RequestChange {
                name: r.name.clone(),
                p95_ms: p95(r),
                baseline_p95_ms: p95(before),
                p95_change_pct: p95(r).zip(p95(before)).and_then(|(n, b)| change_pct(n, b)),
            })
        })
        .collect();
    BaselineResult {
        file: path.display().to_string(),
        target: base.target.clone(),
        rps: base.overall.rps,
        rps_change_pct: change_pct(now.overall.rps, base.overall.rps),
        p95_ms: p95(&base.overall),
        p95_change_pct: p95(&now.overall).zip(p95(&base.overall)).and_then(|(n, b)| change_pct(n, b)),
        requests,
    }
}

/// Why the run fails its thresholds or its baseline; empty when it passes.
fn problems(result: &LoadResult) -> Vec<String> {
    let mut problems = Vec::new();
    let overall = &result.overall;
    if overall.responses == 0 {
        let why = overall.errors_by_class.iter().next().map(|(c, e)| format!(" ({c}: {})", e.first));
        problems.push(format!("no request got an answer{}", why.unwrap_or_default()));
    }
    let t = &result.thresholds;
    if let Some(latency) = overall.latency_ms {
        for (name, limit, value) in
            [("p50", t.p50_ms, latency.p50), ("p95", t.p95_ms, latency.p95), ("p99", t.p99_ms, latency.p99)]
        {
            if let Some(limit) = limit.filter(|limit| value > *limit) {
                problems.push(format!("{name} {value} ms is over --{name} {limit} ms"));
            }
        }
    }
    if let Some(min) = t.min_rps.filter(|min| overall.rps < *min) {
        problems.push(format!("{} requests/s is under --min-rps {min}", overall.rps));
    }
    if let Some(max) = t.max_error_rate_pct.filter(|max| overall.error_rate_pct > *max) {
        problems
            .push(format!("{}% of requests failed, over --max-error-rate {max}%", overall.error_rate_pct));
    }
    if let (Some(max), Some(base)) = (t.max_regression_pct, &result.baseline) {
        if let Some(pct) = base.rps_change_pct.filter(|pct| -pct > max) {
            problems.push(format!(
                "{} requests/s is {pct:+}% against the baseline's {}, over --max-regression {max}%",
                overall.rps, base.rps
            ));
        }
        if let Some(pct) = base.p95_change_pct.filter(|pct| *pct > max) {
            problems.push(format!(
                "p95 is {pct:+}% against the baseline's {} ms, over --max-regression {max}%",
                base.p95_ms.unwrap_or_default()
            ));
        }
        // With one request, its p95 is the overall one: said once above.
        if result.requests.len() > 1 {
            for change in &base.requests {
                if let Some(pct) = change.p95_change_pct.filter(|pct| *pct > max) {
                    problems.push(format!(
                        "p95 of {} is {pct:+}% against the baseline's {} ms, over --max-regression {max}%",
                        change.name,
                        change.baseline_p95_ms.unwrap_or_default()
                    ));
                }
            }
        }
    }
    problems
}

/// The typed result of a run.
pub(super) fn result(
    settings: &LoadSettings,
    measured: &Measured,
    baseline: Option<(PathBuf, LoadResult)>,
) -> LoadResult {
    let (model, rate) = match settings.model {
        Model::Closed => ("closed", None),
        Model::Open { rate } => ("open", Some(rate)),
    };
    let mut result = LoadResult {
        schema_version: SCHEMA_VERSION,
        target: settings.target.clone(),
        model: model.into(),
        connections: settings.connections as u64,
        rate,
        warmup_s: round(settings.warmup.as_secs_f64(), 3),
        elapsed_s: round(measured.elapsed.as_secs_f64(), 3),
        connections_opened: measured.connections_opened,
        overall: request_result("all", None, &measured.total, measured.elapsed),
        requests: settings
            .requests
            .iter()
            .zip(&measured.per_request)
            .map(|(spec, stats)| request_result(&spec.name, Some(spec), stats, measured.elapsed))
            .collect(),
        thresholds: thresholds_result(settings),
        baseline: None,
        problems: Vec::new(),
        interrupted: None,
    };
    result.baseline = baseline.map(|(path, base)| compare(&result, path, &base));
    result.problems = problems(&result);
    result
}

fn latency_cells(r: &RequestResult) -> [String; 5] {
    match r.latency_ms {
        Some(l) => [l.p50, l.p90, l.p95, l.p99, l.max].map(|v| format!("{v}")),
        None => std::array::from_fn(|_| "-".to_string()),
    }
}

fn errors_line(r: &RequestResult) -> String {
    r.errors_by_class
        .iter()
        .map(|(class, e)| format!("{class} {} ({})", e.count, e.first))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rows(result: &LoadResult) -> Vec<&RequestResult> {
    let mut rows: Vec<&RequestResult> = result.requests.iter().collect();
    if rows.len() > 1 {
        rows.push(&result.overall);
    }
    rows
}

fn text(result: &LoadResult) -> String {
    let mut out = format!(
        "{:<28} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
        "request", "requests", "req/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms", "errors"
    );
    for r in rows(result) {
        let [p50, p90, p95, p99, max] = latency_cells(r);
        out.push_str(&format!(
            "{:<28} {:>9} {:>10} {p50:>9} {p90:>9} {p95:>9} {p99:>9} {max:>9} {:>7}\n",
            sanitize::line(&r.name, 28),
            r.requests,
            r.rps,
            r.errors
        ));
        if r.errors > 0 {
            out.push_str(&format!("  errors: {}\n", errors_line(r)));
        }
    }
    if let Some(base) = &result.baseline {
        out.push_str(&format!(
            "baseline {}: {} req/s ({}), p95 {} ms ({})\n",
            base.file,
            base.rps,
            base.rps_change_pct.map_or("-".into(), |p| format!("{p:+}%")),
            base.p95_ms.map_or("-".into(), |p| p.to_string()),
            base.p95_change_pct.map_or("-".into(), |p| format!("{p:+}%")),
        ));
    }
    out
}

fn markdown(result: &LoadResult) -> String {
    let mut out = String::new();
    if let Some(target) = &result.target {
        out.push_str(&format!("Target: {}\n\n", sanitize::code_span(target, 200)));
    }
    out.push_str("| request | requests | req/s | p50 ms | p90 ms | p95 ms | p99 ms | max ms | errors |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in rows(result) {
        let [p50, p90, p95, p99, max] = latency_cells(r);
        let errors =
            if r.errors == 0 { "0".to_string() } else { format!("{}: {}", r.errors, errors_line(r)) };
        out.push_str(&format!(
            "| {} | {} | {} | {p50} | {p90} | {p95} | {p99} | {max} | {} |\n",
            sanitize::table_cell(&r.name, 200),
            r.requests,
            r.rps,
            sanitize::table_cell(&errors, 1000)
        ));
    }
    if let Some(base) = &result.baseline {
        out.push_str(&format!(
            "\nAgainst the baseline: requests/s {}, p95 {}.\n",
            base.rps_change_pct.map_or("-".into(), |p| format!("{p:+}%")),
            base.p95_change_pct.map_or("-".into(), |p| format!("{p:+}%")),
        ));
    }
    out
}

/// The outcome of a run.
pub(super) fn outcome(
    settings: &LoadSettings,
    measured: &Measured,
    baseline: Option<(PathBuf, LoadResult)>,
    interrupted: Option<Signal>,
) -> Outcome {
    let mut warnings = Vec::new();
    if let (Some(path), None) = (&settings.thresholds.baseline, &baseline) {
        warnings
            .push(format!("no baseline in {} yet (a first run?): nothing to compare with", path.display()));
    }
    let mut result = result(settings, measured, baseline);
    result.interrupted = interrupted.map(|signal| signal.name().to_string());
    let overall = &result.overall;
    let mut headline = format!(
        "{} requests in {:.1} s: {} req/s, p95 {}, {} error{}",
        overall.requests,
        result.elapsed_s,
        overall.rps,
        overall.latency_ms.map_or("-".into(), |l| format!("{} ms", l.p95)),
        overall.errors,
        if overall.errors == 1 { "" } else { "s" }
    );
    if let Some(pct) = result.baseline.as_ref().and_then(|b| b.rps_change_pct) {
        headline.push_str(&format!(" ({pct:+}% req/s against the baseline)"));
    }
    let verdict = match interrupted {
        // Stopped early: never a pass, whatever the partial numbers say.
        Some(signal) => {
            headline = format!("stopped by {} (partial result): {headline}", signal.name());
            signal.verdict()
        }
        None if result.problems.is_empty() => Verdict::Passed,
        None => Verdict::Failed,
    };
    if !result.problems.is_empty() {
        headline.push_str(&format!(", but {}", result.problems.join("; ")));
    }
    let mut outcome = Outcome::new("load", verdict, headline);
    outcome.warnings = warnings;
    outcome.text = text(&result);
    outcome.markdown = markdown(&result);
    outcome.step_summary = true;
    let mut outputs = vec![
        ("requests", overall.requests.to_string()),
        ("errors", overall.errors.to_string()),
        ("error-rate-pct", overall.error_rate_pct.to_string()),
        ("rps", overall.rps.to_string()),
    ];
    if let Some(l) = overall.latency_ms {
        outputs.extend([
            ("p50-ms", l.p50.to_string()),
            ("p95-ms", l.p95.to_string()),
            ("p99-ms", l.p99.to_string()),
        ]);
    }
    outcome.outputs = outputs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    outcome.data = serde_json::to_value(&result).unwrap_or_default();
    outcome
}
