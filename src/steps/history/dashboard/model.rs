//! The dashboard's model: what the page, the markdown and the JSON show, built from the history query's
//! answer (per series the last runs, and the latest run against the previous version's) and judged
//! against the regression threshold. Pure: no store, no I/O.

use super::super::query::{Answer, SeriesAnswer};
use super::super::store::Series;
pub use crate::result::dashboard::{
    Chart, Comparison, Dashboard, Line, Point, Regression, RequestChart, TestRun, TestSeries,
    SCHEMA_VERSION as DASHBOARD_SCHEMA_VERSION,
};
use std::collections::BTreeMap;

/// The latency percentile charted and judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentile {
    P50,
    P90,
    P95,
    P99,
}

impl Percentile {
    /// `p95`.
    pub fn name(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P95 => "p95",
            Percentile::P99 => "p99",
        }
    }

    /// The metric `stepkit history` keeps it under (`p95_ms`).
    fn metric(self) -> &'static str {
        match self {
            Percentile::P50 => "p50_ms",
            Percentile::P90 => "p90_ms",
            Percentile::P95 => "p95_ms",
            Percentile::P99 => "p99_ms",
        }
    }
}

/// What the model is built with.
#[derive(Debug, Clone)]
pub struct Judging {
    /// A number worse than the previous version's by more than this (in %) is a regression.
    pub max_regression_pct: f64,
    pub percentile: Percentile,
}

impl Chart {
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.points.is_empty())
    }
}

/// Whether a larger value is worse (latency, duration, failures) or better (throughput).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    HigherIsWorse,
    LowerIsWorse,
}

/// Builds the model from the query's answer.
pub fn build(answer: &Answer, judging: &Judging, title: String, generated_at: String) -> Dashboard {
    let threshold = judging.max_regression_pct;
    let tests: Vec<&SeriesAnswer> = answer.series.iter().filter(|s| is_tests(s)).collect();
    let loads: Vec<&SeriesAnswer> = answer.series.iter().filter(|s| is_load(s) && !is_tests(s)).collect();
    let deploys: Vec<&SeriesAnswer> = answer.series.iter().filter(|s| s.series.step == "deploy").collect();

    let test_labels = labels(&tests);
    let tests: Vec<TestSeries> =
        tests.iter().zip(test_labels).map(|(s, label)| test_series(s, label)).collect();

    let deploy = chart(&deploys, "", "duration_ms", Direction::HigherIsWorse, threshold);
    let throughput = chart(&loads, "", "rps", Direction::LowerIsWorse, threshold);
    let metric = judging.percentile.metric();
    let mut requests: Vec<&str> = loads
        .iter()
        .flat_map(|s| s.runs.iter().flat_map(|r| r.metrics.iter()))
        .filter(|m| m.name == metric)
        .map(|m| m.subject.as_str())
        .collect();
    requests.sort_unstable();
    requests.dedup();
    let latency: Vec<RequestChart> = requests
        .into_iter()
        .map(|request| RequestChart {
            request: request.to_string(),
            chart: chart(&loads, request, metric, Direction::HigherIsWorse, threshold),
        })
        .collect();

    let mut regressions = Vec::new();
    for t in &tests {
        if let Some(c) = t.failures.as_ref().filter(|c| c.regressed) {
            regressions.push(regression("tests", "failed tests".into(), "tests", c));
        }
    }
    for c in deploy.comparisons.iter().filter(|c| c.regressed) {
        regressions.push(regression("deploy", "deploy duration".into(), "ms", c));
    }
    for r in &latency {
        let what = match r.request.as_str() {
            "" => format!("{} of all requests", judging.percentile.name()),
            name => format!("{} of {name}", judging.percentile.name()),
        };
        for c in r.chart.comparisons.iter().filter(|c| c.regressed) {
            regressions.push(regression("latency", what.clone(), "ms", c));
        }
    }
    for c in throughput.comparisons.iter().filter(|c| c.regressed) {
        regressions.push(regression("throughput", "requests/s".into(), "req/s", c));
    }
    // Worst first; a new failure (no percentage) before any percentage.
    regressions.sort_by(|a, b| {
        let worse = |r: &Regression| r.change_pct.map_or(f64::INFINITY, f64::abs);
        worse(b).total_cmp(&worse(a))
    });

    Dashboard {
        schema_version: DASHBOARD_SCHEMA_VERSION,
        title,
        store: answer.store.clone(),
        generated_at,
        filters: Vec::new(),
        last: answer.last,
        max_regression_pct: threshold,
        percentile: judging.percentile.name(),
        runs: answer.series.iter().map(|s| s.runs.len()).sum(),
        regressions,
        tests,
        deploy,
        latency,
        throughput,
    }
}

fn regression(area: &'static str, what: String, unit: &'static str, c: &Comparison) -> Regression {
    Regression {
        area,
        what,
        series: c.label.clone(),
        unit,
        previous_version: c.previous_version.clone().unwrap_or_default(),
        latest_version: c.latest_version.clone(),
        previous: c.previous.unwrap_or_default(),
        latest: c.latest,
        change_pct: c.change_pct,
    }
}

fn latest_metric(s: &SeriesAnswer, name: &str) -> bool {
    s.latest.metrics.iter().any(|m| m.subject.is_empty() && m.name == name)
}

/// Runs with test counts (`test`, `junit`, a JUnit report under any `--step` name).
fn is_tests(s: &SeriesAnswer) -> bool {
    s.tests.is_some() || latest_metric(s, "tests")
}

/// Runs with a throughput (`stepkit load`, under any `--step` name).
fn is_load(s: &SeriesAnswer) -> bool {
    latest_metric(s, "rps")
}

/// A label per series that tells them apart: the key parts that differ between them (step, target,
/// environment, repository), or the step when they are all alike.
fn labels(series: &[&SeriesAnswer]) -> Vec<String> {
    type Part = fn(&Series) -> &str;
    let parts: [Part; 4] = [|s| &s.step, |s| &s.target, |s| &s.environment, |s| &s.repository];
    let differs: Vec<bool> =
        parts.iter().map(|part| series.iter().any(|s| part(&s.series) != part(&series[0].series))).collect();
    series
        .iter()
        .map(|s| {
            let shown: Vec<&str> = parts
                .iter()
                .zip(&differs)
                .filter(|(_, d)| **d)
                .map(|(part, _)| part(&s.series))
                .filter(|p| !p.is_empty())
                .collect();
            match shown.is_empty() {
                true if !s.series.target.is_empty() => s.series.target.clone(),
                true => s.series.step.clone(),
                false => shown.join(" · "),
            }
        })
        .collect()
}

fn metric(metrics: &[super::super::store::Metric], subject: &str, name: &str) -> Option<f64> {
    metrics.iter().find(|m| m.subject == subject && m.name == name).map(|m| m.value).filter(|v| v.is_finite())
}

/// One metric of several series, per version (a version's newest run in the window), and each
/// series' latest run against the previous version's.
fn chart(series: &[&SeriesAnswer], subject: &str, name: &str, direction: Direction, threshold: f64) -> Chart {
    let mut lines = Vec::new();
    let mut comparisons = Vec::new();
    let mut order: BTreeMap<String, i64> = BTreeMap::new();
    for (s, label) in series.iter().zip(labels(series)) {
        let mut points: Vec<Point> = Vec::new();
        // `runs` is newest first: the first run seen of a version is its newest.
        for run in &s.runs {
            let version = &run.run.key.version;
            if points.iter().any(|p| &p.version == version) {
                continue;
            }
            if let Some(value) = metric(&run.metrics, subject, name) {
                points.push(Point { version: version.clone(), run_id: run.run.id, value });
            }
        }
        points.reverse();
        if points.is_empty() {
            continue;
        }
        for p in &points {
            let at = order.entry(p.version.clone()).or_insert(p.run_id);
            *at = (*at).max(p.run_id);
        }
        if let Some(c) = compare(s, subject, name, direction, threshold, label.clone()) {
            comparisons.push(c);
        }
        lines.push(Line { label, points });
    }
    let mut versions: Vec<(String, i64)> = order.into_iter().collect();
    versions.sort_by_key(|(_, id)| *id);
    Chart { versions: versions.into_iter().map(|(v, _)| v).collect(), lines, comparisons }
}

/// The latest run's value against the previous version's, judged.
fn compare(
    s: &SeriesAnswer,
    subject: &str,
    name: &str,
    direction: Direction,
    threshold: f64,
    label: String,
) -> Option<Comparison> {
    let latest = metric(&s.latest.metrics, subject, name)?;
    let previous = s.previous.as_ref().and_then(|p| metric(&p.metrics, subject, name));
    let change_pct = previous.filter(|p| *p != 0.0).map(|p| round2((latest - p) / p.abs() * 100.0));
    let worse_pct = change_pct.map(|c| match direction {
        Direction::HigherIsWorse => c,
        Direction::LowerIsWorse => -c,
    });
    Some(Comparison {
        label,
        latest_version: s.latest.run.key.version.clone(),
        latest,
        previous_version: s.previous.as_ref().map(|p| p.run.key.version.clone()),
        previous,
        delta: previous.map(|p| round2(latest - p)),
        change_pct,
        regressed: worse_pct.is_some_and(|w| w > threshold),
        improved: worse_pct.is_some_and(|w| w < -threshold),
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn test_series(s: &SeriesAnswer, label: String) -> TestSeries {
    let count = |metrics: &[super::super::store::Metric], name: &str| {
        metric(metrics, "", name).map_or(0, |v| v.max(0.0) as u64)
    };
    let mut runs: Vec<TestRun> = s
        .runs
        .iter()
        .map(|r| {
            let flaky = count(&r.metrics, "flaky");
            TestRun {
                run_id: r.run.id,
                version: r.run.key.version.clone(),
                recorded_at: r.run.recorded_at.clone(),
                verdict: r.run.verdict.clone(),
                // JUnit counts a flaky test as passed too.
                passed: count(&r.metrics, "passed").saturating_sub(flaky),
                flaky,
                failed: count(&r.metrics, "failed") + count(&r.metrics, "errors"),
                skipped: count(&r.metrics, "skipped"),
            }
        })
        .collect();
    runs.reverse();
    let failed = |metrics: &[super::super::store::Metric]| {
        metric(metrics, "", "failed").map(|f| f + metric(metrics, "", "errors").unwrap_or(0.0))
    };
    // Any new failure is a regression: a test that breaks is never within a tolerance.
    let failures = failed(&s.latest.metrics).map(|latest| {
        let previous = s.previous.as_ref().and_then(|p| failed(&p.metrics));
        let change_pct = previous.filter(|p| *p != 0.0).map(|p| round2((latest - p) / p * 100.0));
        Comparison {
            label: label.clone(),
            latest_version: s.latest.run.key.version.clone(),
            latest,
            previous_version: s.previous.as_ref().map(|p| p.run.key.version.clone()),
            previous,
            delta: previous.map(|p| latest - p),
            change_pct,
            regressed: previous.is_some_and(|p| latest > p),
            improved: previous.is_some_and(|p| latest < p),
        }
    });
    let (failing, flaky, slowest) = match &s.tests {
        Some(t) => (t.failing.clone(), t.flaky.clone(), t.slowest.clone()),
        None => Default::default(),
    };
    TestSeries { label, runs, failing, flaky, slowest, failures }
}

#[cfg(test)]
mod tests {
    use super::super::super::query::{Answer, RunAnswer, SeriesAnswer};
    use super::super::super::store::{Metric, RunKey, Series, StoredRun};
    use super::*;

    fn run(id: i64, version: &str, target: &str, metrics: &[(&str, &str, f64)]) -> RunAnswer {
        RunAnswer {
            run: StoredRun {
                id,
                recorded_at: format!("2026-01-01T00:00:{id:02}.000Z"),
                key: RunKey {
                    step: "load".into(),
                    target: target.into(),
                    version: version.into(),
                    ..RunKey::default()
                },
                verdict: "passed".into(),
                exit_code: 0,
                headline: String::new(),
                source: "x.json".into(),
            },
            metrics: metrics
                .iter()
                .map(|(s, n, v)| Metric { subject: s.to_string(), name: n.to_string(), value: *v })
                .collect(),
        }
    }

    fn series(step: &str, target: &str, runs: Vec<RunAnswer>, previous: Option<RunAnswer>) -> SeriesAnswer {
        SeriesAnswer {
            series: Series {
                repository: "octo/app".into(),
                step: step.into(),
                environment: String::new(),
                target: target.into(),
            },
            latest: runs[0].clone(),
            previous,
            deltas: Vec::new(),
            runs,
            tests: None,
        }
    }

    fn answer(series: Vec<SeriesAnswer>) -> Answer {
        Answer { schema_version: 1, store: "s".into(), against: "version", last: 10, series }
    }

    fn judging() -> Judging {
        Judging { max_regression_pct: 10.0, percentile: Percentile::P95 }
    }

    #[test]
    fn latency_per_request_and_target_is_judged_against_the_previous_version() {
        let pg = |id, v: &str, p95| run(id, v, "postgres", &[("", "rps", 100.0), ("GET /a", "p95_ms", p95)]);
        let my = |id, v: &str, p95, rps| run(id, v, "mysql", &[("", "rps", rps), ("GET /a", "p95_ms", p95)]);
        // postgres: 1.0 -> 2.0 rerun -> latest 2.0: the newest run of a version is its point.
        let pg_runs = vec![pg(5, "2.0", 30.0), pg(3, "2.0", 99.0), pg(1, "1.0", 20.0)];
        let my_runs = vec![my(6, "2.0", 21.0, 70.0), my(2, "1.0", 20.0, 100.0)];
        let a = answer(vec![
            series("load", "mysql", my_runs.clone(), Some(my_runs[1].clone())),
            series("load", "postgres", pg_runs.clone(), Some(pg_runs[2].clone())),
        ]);
        let d = build(&a, &judging(), "t".into(), "now".into());
        assert_eq!(d.latency.len(), 1);
        let chart = &d.latency[0].chart;
        assert_eq!(chart.versions, ["1.0", "2.0"]);
        let pg_line = chart.lines.iter().find(|l| l.label == "postgres").unwrap();
        assert_eq!(pg_line.points.iter().map(|p| p.value).collect::<Vec<_>>(), [20.0, 30.0]);
        let by = |label: &str| chart.comparisons.iter().find(|c| c.label == label).unwrap().clone();
        assert!(by("postgres").regressed && by("postgres").change_pct == Some(50.0));
        assert!(!by("mysql").regressed, "5% is within 10%");
        // Throughput: lower is worse.
        let rps = d.throughput.comparisons.iter().find(|c| c.label == "mysql").unwrap();
        assert!(rps.regressed && rps.change_pct == Some(-30.0));
        let areas: Vec<(&str, &str)> = d.regressions.iter().map(|r| (r.area, r.series.as_str())).collect();
        assert_eq!(areas, [("latency", "postgres"), ("throughput", "mysql")], "worst first");
        assert_eq!(d.regressions[0].what, "p95 of GET /a");
    }

    #[test]
    fn no_previous_version_means_nothing_to_judge() {
        let runs = vec![run(2, "1.0", "", &[("", "duration_ms", 900.0)]), run(1, "1.0", "", &[])];
        let mut s = series("deploy", "", runs, None);
        s.series.step = "deploy".into();
        let d = build(&answer(vec![s]), &judging(), "t".into(), "now".into());
        assert_eq!(d.deploy.lines[0].points.len(), 1);
        let c = &d.deploy.comparisons[0];
        assert_eq!((c.previous, c.change_pct, c.regressed), (None, None, false));
        assert!(d.regressions.is_empty());
    }

    #[test]
    fn a_new_test_failure_is_a_regression_whatever_the_threshold() {
        let counts = |failed: f64| {
            [("", "tests", 10.0), ("", "passed", 10.0 - failed), ("", "flaky", 1.0), ("", "failed", failed)]
        };
        let runs = vec![run(2, "2.0", "", &counts(1.0)), run(1, "1.0", "", &counts(0.0))];
        let s = series("test", "", runs.clone(), Some(runs[1].clone()));
        let d = build(&answer(vec![s]), &judging(), "t".into(), "now".into());
        let t = &d.tests[0];
        assert_eq!(
            t.runs.iter().map(|r| (r.passed, r.flaky, r.failed)).collect::<Vec<_>>(),
            [(9, 1, 0), (8, 1, 1)]
        );
        assert!(t.failures.as_ref().unwrap().regressed);
        assert_eq!(d.regressions.len(), 1);
        assert_eq!((d.regressions[0].area, d.regressions[0].change_pct), ("tests", None));
        assert!(d.throughput.is_empty(), "a test series is not a load series");
    }

    #[test]
    fn labels_show_only_the_parts_that_differ() {
        let a = series("load", "postgres", vec![run(1, "1", "postgres", &[])], None);
        let mut b = series("load", "mysql", vec![run(2, "1", "mysql", &[])], None);
        assert_eq!(labels(&[&a, &b]), ["postgres", "mysql"]);
        b.series.environment = "staging".into();
        assert_eq!(labels(&[&a, &b]), ["postgres", "mysql · staging"]);
        assert_eq!(labels(&[&a]), ["postgres"]);
        let t = series("test", "", vec![run(1, "1", "", &[])], None);
        assert_eq!(labels(&[&t]), ["test"]);
    }
}
