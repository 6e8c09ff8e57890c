//! `stepkit history query`: per series (step, repository, environment, target) the latest run against
//! the previous one (or the previous version) with the delta of every number, the last N runs, and for
//! test runs the failing, flaky and slowest tests over that window. What a dashboard is drawn from.

use super::store::{Filter, Metric, Series, Store, StoredRun, TestStats};
use super::{HistoryError, Location};
pub use crate::result::history::{
    Answer, Delta, RunAnswer, SeriesAnswer, TestsAnswer, QUERY_VERSION as ANSWER_SCHEMA_VERSION,
};
use crate::sanitize;
use std::fmt::Write;

/// What the latest run is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// The newest earlier run with another version (a rerun of the same version is not "previous").
    Version,
    /// The run before it, whatever its version.
    Run,
}

impl Against {
    fn name(self) -> &'static str {
        match self {
            Against::Version => "version",
            Against::Run => "run",
        }
    }
}

/// What to ask.
#[derive(Debug, Clone)]
pub struct QuerySettings {
    pub filter: Filter,
    /// Runs per series in `runs` (and the window for tests).
    pub last: u64,
    pub against: Against,
    /// How many of the slowest tests, failing and flaky tests to list.
    pub top: usize,
}

/// Answers `settings` from the store at `location`. Reading never creates a store: a SQLite file that
/// is not there is an empty history (a mistyped --history would otherwise leave an empty store behind).
pub fn read(location: &Location, settings: &QuerySettings) -> Result<Answer, HistoryError> {
    let shown = location.to_string();
    if matches!(location, Location::Sqlite(path) if !path.exists()) {
        return Ok(Answer {
            schema_version: ANSWER_SCHEMA_VERSION,
            store: shown,
            against: settings.against.name(),
            last: settings.last,
            series: Vec::new(),
        });
    }
    answer(&mut Store::open(location)?, &shown, settings)
}

/// Answers `settings` from `store`.
pub fn answer(store: &mut Store, shown: &str, settings: &QuerySettings) -> Result<Answer, HistoryError> {
    let mut out = Vec::new();
    for series in store.series(&settings.filter)? {
        let runs = store.runs(&series, &settings.filter, settings.last.max(1), None, None)?;
        let Some(latest) = runs.first().cloned() else { continue };
        let previous = match settings.against {
            Against::Run => match runs.get(1) {
                Some(run) => Some(run.clone()),
                None => store.runs(&series, &settings.filter, 1, Some(latest.id), None)?.into_iter().next(),
            },
            Against::Version => store
                .runs(&series, &settings.filter, 1, Some(latest.id), Some(&latest.key.version))?
                .into_iter()
                .next(),
        };
        let mut ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
        ids.extend(previous.as_ref().map(|p| p.id));
        let metrics = store.metrics(&ids)?;
        let with_metrics =
            |run: StoredRun| RunAnswer { metrics: metrics.get(&run.id).cloned().unwrap_or_default(), run };
        let latest = with_metrics(latest);
        let previous = previous.map(with_metrics);
        let deltas = deltas(&latest.metrics, previous.as_ref().map(|p| p.metrics.as_slice()).unwrap_or(&[]));
        let window: Vec<i64> = runs.iter().map(|r| r.id).collect();
        let tests = tests(store, &window, settings.top)?;
        let runs = runs.into_iter().map(with_metrics).collect();
        out.push(SeriesAnswer { series, latest, previous, deltas, runs, tests });
    }
    Ok(Answer {
        schema_version: ANSWER_SCHEMA_VERSION,
        store: shown.to_string(),
        against: settings.against.name(),
        last: settings.last,
        series: out,
    })
}

fn deltas(latest: &[Metric], previous: &[Metric]) -> Vec<Delta> {
    latest
        .iter()
        .map(|m| {
            let before =
                previous.iter().find(|p| p.subject == m.subject && p.name == m.name).map(|p| p.value);
            let delta = before.map(|b| round(m.value - b));
            let change_pct = before.filter(|b| *b != 0.0).map(|b| round((m.value - b) / b.abs() * 100.0));
            Delta {
                subject: m.subject.clone(),
                name: m.name.clone(),
                latest: m.value,
                previous: before,
                delta,
                change_pct,
            }
        })
        .collect()
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn tests(store: &mut Store, window: &[i64], top: usize) -> Result<Option<TestsAnswer>, HistoryError> {
    let stats = store.test_stats(window)?;
    if stats.is_empty() {
        return Ok(None);
    }
    let with_tests = store.test_runs(window)?;
    let failing: Vec<TestStats> = stats
        .iter()
        .filter(|t| matches!(t.latest_status.as_deref(), Some("failed" | "error")))
        .take(top)
        .cloned()
        .collect();
    let mut flaky: Vec<TestStats> =
        stats.iter().filter(|t| t.flaky > 0 || (t.failed > 0 && t.passed > 0)).cloned().collect();
    flaky.sort_by(|a, b| (b.flaky + b.failed).cmp(&(a.flaky + a.failed)).then(a.name.cmp(&b.name)));
    flaky.truncate(top);
    let mut slowest: Vec<TestStats> = stats.into_iter().filter(|t| t.latest_ms.is_some()).collect();
    slowest.sort_by(|a, b| b.latest_ms.unwrap_or(0.0).total_cmp(&a.latest_ms.unwrap_or(0.0)));
    slowest.truncate(top);
    Ok(Some(TestsAnswer { runs: with_tests, failing, flaky, slowest }))
}

fn label(s: &Series) -> String {
    let mut out = s.step.clone();
    for part in [&s.target, &s.environment, &s.repository] {
        if !part.is_empty() {
            out.push_str(&format!(" · {part}"));
        }
    }
    out
}

fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

/// Deltas of the whole run (subject ""), then per subject, as `name value (±x%)`.
fn delta_words(deltas: &[Delta]) -> String {
    deltas
        .iter()
        .filter(|d| d.subject.is_empty())
        .map(|d| match d.change_pct {
            Some(pct) => format!("{} {} ({pct:+}%)", d.name, d.latest),
            None => format!("{} {}", d.name, d.latest),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Human lines, one block per series.
pub fn text(answer: &Answer) -> String {
    let mut out = String::new();
    for s in &answer.series {
        let latest = &s.latest.run;
        let _ = write!(
            out,
            "{}: {} {} ({})",
            label(&s.series),
            latest.verdict,
            short(&latest.key.version),
            latest.recorded_at
        );
        match &s.previous {
            Some(p) => {
                let _ = writeln!(out, " vs {} {}", p.run.verdict, short(&p.run.key.version));
            }
            None => out.push_str(", nothing earlier to compare with\n"),
        }
        let words = delta_words(&s.deltas);
        if !words.is_empty() {
            let _ = writeln!(out, "  {words}");
        }
        if let Some(t) = &s.tests {
            for f in &t.failing {
                let _ = writeln!(out, "  failing: {}::{}", f.classname, f.name);
            }
            for f in &t.flaky {
                let _ = writeln!(
                    out,
                    "  flaky: {}::{} ({} failed, {} passed of {} runs)",
                    f.classname,
                    f.name,
                    f.failed + f.flaky,
                    f.passed,
                    t.runs
                );
            }
        }
    }
    out
}

/// A markdown table per series: each number, latest, previous, change.
pub fn markdown(answer: &Answer) -> String {
    let mut out = String::new();
    for s in &answer.series {
        let latest = &s.latest.run;
        let _ = writeln!(
            out,
            "#### {}\n\nLatest: {} {}{}\n",
            sanitize::table_cell(&label(&s.series), 200),
            sanitize::table_cell(&latest.verdict, 40),
            sanitize::code_span(short(&latest.key.version), 40),
            match &s.previous {
                Some(p) => format!(" against {}", sanitize::code_span(short(&p.run.key.version), 40)),
                None => String::new(),
            }
        );
        if s.deltas.is_empty() {
            continue;
        }
        out.push_str("| What | Latest | Previous | Change |\n|---|---:|---:|---:|\n");
        for d in &s.deltas {
            let what =
                if d.subject.is_empty() { d.name.clone() } else { format!("{} {}", d.subject, d.name) };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                sanitize::table_cell(&what, 200),
                d.latest,
                d.previous.map_or("–".into(), |p| p.to_string()),
                d.change_pct.map_or("–".into(), |p| format!("{p:+}%"))
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_sqlite_store_that_is_not_there_answers_empty_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo/history.db");
        let settings = QuerySettings { filter: Filter::default(), last: 10, against: Against::Run, top: 5 };
        let answer = read(&Location::Sqlite(path.clone()), &settings).unwrap();
        assert!(answer.series.is_empty());
        assert_eq!((answer.against, answer.last), ("run", 10));
        assert!(!path.exists() && !path.parent().unwrap().exists(), "nothing created");
    }
}
