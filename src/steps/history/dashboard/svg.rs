//! Charts drawn in Rust as inline SVG: one number per version with a line per series (deploy duration,
//! latency, throughput), and test results per run as stacked bars. Fixed colours, presentation
//! attributes only (no `style`, which the page's Content-Security-Policy forbids), every text escaped,
//! native `<title>` tooltips instead of script.

use super::html::escape;
use super::model::{Chart, TestRun};
use std::fmt::Write;

/// Line colours, in order (distinguishable, also for the common colour-vision deficiencies).
pub const PALETTE: [&str; 8] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];
/// Test results and highlights.
pub const PASSED: &str = "#2e9e44";
pub const FLAKY: &str = "#f2a900";
pub const FAILED: &str = "#d62728";
pub const SKIPPED: &str = "#b8b8b8";

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 250.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;
/// Past this many points a line is drawn without a marker per point (the page must stay small).
const MARKERS_UP_TO: usize = 60;
/// At most this many x-axis labels.
const X_LABELS: usize = 10;

/// A short number: 1234, 12.3, 1.23.
pub fn number(v: f64) -> String {
    let text = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^n at or above `x`: a y-axis top with round tick values.
fn nice_ceiling(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(x.log10().floor());
    let f = x / power;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|n| f <= *n + 1e-9).unwrap_or(10.0);
    nice * power
}

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn plot_height() -> f64 {
    HEIGHT - TOP - BOTTOM
}

/// The x of slot `i` of `n`: spread over the plot, one slot in its middle.
fn x_at(i: usize, n: usize) -> f64 {
    if n <= 1 {
        LEFT + plot_width() / 2.0
    } else {
        LEFT + plot_width() * i as f64 / (n - 1) as f64
    }
}

fn y_at(v: f64, top: f64) -> f64 {
    TOP + plot_height() * (1.0 - (v / top).clamp(0.0, 1.0))
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The frame: the opening tag, y grid and labels (`unit`), x labels from `names`.
fn frame(out: &mut String, kind: &str, label: &str, top: f64, unit: &str, names: &[&str], bars: bool) {
    let _ = write!(
        out,
        r#"<svg class="chart" data-chart="{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(label)
    );
    for i in 0..=4 {
        let v = top * f64::from(i) / 4.0;
        let y = y_at(v, top);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&number(v))
        );
    }
    let _ = write!(
        out,
        r#"<text x="12" y="{:.1}" transform="rotate(-90 12 {:.1})" text-anchor="middle" class="tick">{}</text>"#,
        TOP + plot_height() / 2.0,
        TOP + plot_height() / 2.0,
        escape(unit)
    );
    let n = names.len();
    let step = n.div_ceil(X_LABELS).max(1);
    for (i, name) in names.iter().enumerate() {
        let last = i + 1 == n;
        // The last label always shows; the one before it only when they cannot overlap.
        if !(last || (i % step == 0 && n - 1 - i >= step.div_ceil(2).max(1))) {
            continue;
        }
        let x = if bars { bar_center(i, n) } else { x_at(i, n) };
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            HEIGHT - BOTTOM + 16.0,
            escape(&truncate(name, 14))
        );
    }
}

/// Values per version, one line per series; a line whose latest value regressed has its last step
/// drawn in red with a ring around the point.
pub fn line_chart(kind: &str, label: &str, unit: &str, chart: &Chart) -> String {
    let mut out = String::new();
    let max = chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.value)).fold(0.0, f64::max);
    let top = nice_ceiling(max * 1.05);
    let names: Vec<&str> = chart.versions.iter().map(String::as_str).collect();
    frame(&mut out, kind, label, top, unit, &names, false);
    let n = names.len();
    let slot = |version: &str| names.iter().position(|v| *v == version).unwrap_or(0);
    for (i, line) in chart.lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let xy: Vec<(f64, f64)> =
            line.points.iter().map(|p| (x_at(slot(&p.version), n), y_at(p.value, top))).collect();
        let coords: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            out,
            r#"<g class="line"><title>{}</title><polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            escape(&line.label),
            coords.join(" ")
        );
        let regressed = chart.comparisons.iter().any(|c| c.label == line.label && c.regressed);
        if regressed && xy.len() >= 2 {
            let ((x1, y1), (x2, y2)) = (xy[xy.len() - 2], xy[xy.len() - 1]);
            let _ = write!(
                out,
                r#"<line class="regressed" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{FAILED}" stroke-width="4"/>"#
            );
        }
        let many = line.points.len() > MARKERS_UP_TO;
        for (j, (p, (x, y))) in line.points.iter().zip(&xy).enumerate() {
            let last = j + 1 == line.points.len();
            if many && !last {
                continue;
            }
            let ring = if last && regressed {
                format!(r#" stroke="{FAILED}" stroke-width="3""#)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="{}" fill="{color}"{ring}><title>{} {}: {} {}</title></circle>"#,
                if last { 4.5 } else { 3.0 },
                escape(&line.label),
                escape(&p.version),
                number(p.value),
                escape(unit)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

fn bar_width(n: usize) -> f64 {
    plot_width() / n.max(1) as f64
}

fn bar_center(i: usize, n: usize) -> f64 {
    LEFT + bar_width(n) * (i as f64 + 0.5)
}

/// Test results per run (oldest left): passed, flaky, failed and skipped stacked.
pub fn test_bars(label: &str, runs: &[TestRun]) -> String {
    let mut out = String::new();
    let max = runs.iter().map(|r| r.passed + r.flaky + r.failed + r.skipped).max().unwrap_or(0);
    let top = nice_ceiling(max as f64);
    let names: Vec<&str> = runs.iter().map(|r| r.version.as_str()).collect();
    frame(&mut out, "tests", label, top, "tests", &names, true);
    let n = runs.len();
    let width = (bar_width(n) * 0.8).max(0.6);
    for (i, run) in runs.iter().enumerate() {
        let x = bar_center(i, n) - width / 2.0;
        let _ = write!(
            out,
            "<g><title>run #{} {} ({}): {} passed, {} flaky, {} failed, {} skipped</title>",
            run.run_id,
            escape(&run.version),
            escape(&run.recorded_at),
            run.passed,
            run.flaky,
            run.failed,
            run.skipped
        );
        let mut base = 0u64;
        for (count, color) in
            [(run.passed, PASSED), (run.flaky, FLAKY), (run.failed, FAILED), (run.skipped, SKIPPED)]
        {
            if count == 0 {
                continue;
            }
            let (y_low, y_high) = (y_at(base as f64, top), y_at((base + count) as f64, top));
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y_high:.1}" width="{width:.1}" height="{:.1}" fill="{color}"/>"#,
                (y_low - y_high).max(0.5)
            );
            base += count;
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::super::model::{Comparison, Line, Point};
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(1234.0), 2000.0);
        assert_eq!(
            (number(1234.4), number(12.34), number(1.234), number(2.0)),
            ("1234".into(), "12.3".into(), "1.23".into(), "2".into())
        );
    }

    fn chart(labels: &[&str], regressed: bool) -> Chart {
        let point = |v: &str, value| Point { version: v.into(), run_id: 1, value };
        Chart {
            versions: vec!["1.0".into(), "<b>2.0</b>".into()],
            lines: labels
                .iter()
                .map(|l| Line {
                    label: l.to_string(),
                    points: vec![point("1.0", 10.0), point("<b>2.0</b>", 20.0)],
                })
                .collect(),
            comparisons: vec![Comparison {
                label: labels[0].into(),
                latest_version: "<b>2.0</b>".into(),
                latest: 20.0,
                previous_version: Some("1.0".into()),
                previous: Some(10.0),
                delta: Some(10.0),
                change_pct: Some(100.0),
                regressed,
                improved: false,
            }],
        }
    }

    #[test]
    fn a_line_chart_escapes_its_text_and_marks_a_regression() {
        let svg = line_chart("latency", "p95 of <script>", "ms", &chart(&["<i>pg</i>", "mysql"], true));
        assert!(!svg.contains("<b>") && !svg.contains("<i>") && !svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;i&gt;pg&lt;/i&gt;") && svg.contains("&lt;b&gt;2.0&lt;/b&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches(r#"class="regressed""#).count(), 1);
        assert!(!svg.contains("style="), "no style attributes under the page's CSP");
        let calm = line_chart("latency", "p95", "ms", &chart(&["pg"], false));
        assert!(!calm.contains("regressed"));
    }

    #[test]
    fn long_lines_drop_their_markers_but_keep_the_last() {
        let points: Vec<Point> =
            (0..500).map(|i| Point { version: format!("v{i}"), run_id: i, value: i as f64 }).collect();
        let versions = points.iter().map(|p| p.version.clone()).collect();
        let chart = Chart { versions, lines: vec![Line { label: "pg".into(), points }], comparisons: vec![] };
        let svg = line_chart("throughput", "rps", "req/s", &chart);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.matches(r#"class="tick""#).count() <= 5 + 1 + X_LABELS + 1);
    }

    #[test]
    fn bars_stack_each_runs_results() {
        let run = |id, passed, failed| TestRun {
            run_id: id,
            version: format!("v{id}"),
            recorded_at: "t".into(),
            verdict: "passed".into(),
            passed,
            flaky: 1,
            failed,
            skipped: 0,
        };
        let svg = test_bars("unit", &[run(1, 9, 0), run(2, 8, 1)]);
        assert_eq!(svg.matches(&format!(r#"fill="{PASSED}""#)).count(), 2);
        assert_eq!(svg.matches(&format!(r#"fill="{FAILED}""#)).count(), 1);
        assert_eq!(svg.matches(&format!(r#"fill="{FLAKY}""#)).count(), 2);
        assert!(svg.contains("run #2 v2 (t): 8 passed, 1 flaky, 1 failed, 0 skipped"));
    }
}
