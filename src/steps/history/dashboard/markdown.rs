//! The page's comparison as markdown, for the GitHub step summary and a sticky PR comment
//! (`stepkit github comment --body-file`): regressions first, then the latest against the previous
//! version per area. Every quoted value goes through `sanitize` (it renders as literal text), and
//! tables are cut so the whole stays far below GitHub's 65,536-character comment limit.

use super::html::{change, regression_change};
use super::model::{Comparison, Dashboard, TestSeries};
use super::svg::number;
use crate::sanitize::{code_span, table_cell};
use std::fmt::Write;

/// Rows per table; the rest is counted ("… and 12 more on the page").
const ROWS: usize = 25;
/// Longest quoted value (test names, request names).
const CELL: usize = 120;

fn cell(text: &str) -> String {
    table_cell(text, CELL)
}

fn more(out: &mut String, total: usize) {
    if total > ROWS {
        let _ = writeln!(out, "\n_… and {} more on the dashboard page._", total - ROWS);
    }
}

/// The comparison.
pub fn comparison(d: &Dashboard) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#### {}\n", cell(&d.title));
    let threshold = number(d.max_regression_pct);
    if d.regressions.is_empty() {
        let _ = writeln!(out, "✅ Nothing got worse than the previous version by more than {threshold}%.\n");
    } else {
        let _ = writeln!(
            out,
            "❌ **{} regression{} past {threshold}%** against the previous version:\n\n| Area | What | Series | Previous | Latest | Change |\n|---|---|---|---:|---:|---:|",
            d.regressions.len(),
            if d.regressions.len() == 1 { "" } else { "s" }
        );
        for r in d.regressions.iter().take(ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} {} ({}) | {} {} ({}) | **{}** |",
                r.area,
                cell(&r.what),
                cell(&r.series),
                number(r.previous),
                r.unit,
                code_span(&r.previous_version, 40),
                number(r.latest),
                r.unit,
                code_span(&r.latest_version, 40),
                regression_change(r)
            );
        }
        more(&mut out, d.regressions.len());
        out.push('\n');
    }
    if !d.tests.is_empty() {
        out.push_str("**Tests** (latest run)\n\n| Series | Version | Passed | Flaky | Failed | Skipped | Failed before |\n|---|---|---:|---:|---:|---:|---:|\n");
        for t in &d.tests {
            tests_row(&mut out, t);
        }
        out.push('\n');
        for t in &d.tests {
            test_lists(&mut out, t);
        }
    }
    section(&mut out, "Deploy duration", "ms", &d.deploy.comparisons);
    if !d.latency.is_empty() {
        let _ = writeln!(
            out,
            "**API latency ({})** per request and target\n\n| Request | Target | Previous | ms | Latest | ms | Change |\n|---|---|---|---:|---|---:|---:|",
            d.percentile
        );
        let rows: Vec<(String, &Comparison)> = d
            .latency
            .iter()
            .flat_map(|r| {
                let name = if r.request.is_empty() { "all requests".to_string() } else { r.request.clone() };
                r.chart.comparisons.iter().map(move |c| (name.clone(), c))
            })
            .collect();
        for (name, c) in rows.iter().take(ROWS) {
            let _ = writeln!(out, "| {} | {} |", cell(name), row(c));
        }
        more(&mut out, rows.len());
        out.push('\n');
    }
    section(&mut out, "Throughput", "req/s", &d.throughput.comparisons);
    let _ = writeln!(
        out,
        "<sub>{} runs from {}, the last {} of each series; regressions past {threshold}%.</sub>",
        d.runs,
        code_span(&d.store, 200),
        d.last
    );
    out
}

/// `label | previous version | previous | latest version | latest | change` (the change in bold when it
/// regressed).
fn row(c: &Comparison) -> String {
    let changed = change(c.change_pct);
    format!(
        "{} | {} | {} | {} | {} | {}",
        cell(&c.label),
        c.previous_version.as_deref().map_or("–".into(), |v| code_span(v, 40)),
        c.previous.map_or("–".into(), number),
        code_span(&c.latest_version, 40),
        number(c.latest),
        if c.regressed { format!("**{changed}** ❌") } else { changed }
    )
}

fn section(out: &mut String, title: &str, unit: &str, comparisons: &[Comparison]) {
    if comparisons.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "**{title}**\n\n| Series | Previous | {unit} | Latest | {unit} | Change |\n|---|---|---:|---|---:|---:|"
    );
    for c in comparisons.iter().take(ROWS) {
        let _ = writeln!(out, "| {} |", row(c));
    }
    more(out, comparisons.len());
    out.push('\n');
}

fn tests_row(out: &mut String, t: &TestSeries) {
    let Some(latest) = t.runs.last() else { return };
    let before = t.failures.as_ref().and_then(|c| c.previous).map_or("–".into(), number);
    let failed = match t.failures.as_ref().is_some_and(|c| c.regressed) {
        true => format!("**{}** ❌", latest.failed),
        false => latest.failed.to_string(),
    };
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {failed} | {} | {before} |",
        cell(&t.label),
        code_span(&latest.version, 40),
        latest.passed,
        latest.flaky,
        latest.skipped
    );
}

fn test_lists(out: &mut String, t: &TestSeries) {
    let name = |s: &crate::steps::history::store::TestStats| {
        code_span(&format!("{}::{}", s.classname, s.name), CELL)
    };
    let lists = [
        ("failing", t.failing.iter().map(&name).collect::<Vec<_>>()),
        (
            "flaky",
            t.flaky
                .iter()
                .map(|s| {
                    format!(
                        "{} ({} of {} runs failed)",
                        name(s),
                        s.failed + s.flaky,
                        s.passed + s.failed + s.flaky
                    )
                })
                .collect(),
        ),
        (
            "slowest",
            t.slowest
                .iter()
                .take(5)
                .map(|s| format!("{} {} ms", name(s), s.latest_ms.map_or("–".into(), number)))
                .collect(),
        ),
    ];
    for (what, items) in lists {
        if items.is_empty() {
            continue;
        }
        let shown: Vec<&str> = items.iter().take(10).map(String::as_str).collect();
        let rest = items.len().saturating_sub(shown.len());
        let _ = writeln!(
            out,
            "- {} {what}: {}{}",
            cell(&t.label),
            shown.join(", "),
            if rest > 0 { format!(" and {rest} more") } else { String::new() }
        );
    }
    out.push('\n');
}
