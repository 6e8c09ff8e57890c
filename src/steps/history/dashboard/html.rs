//! The page: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched) with a
//! Content-Security-Policy that forbids every load, so it works offline, from a CI artifact or a
//! `file://` URL, and a hostile test name cannot run or fetch anything. Every value from the history
//! (test names, versions, targets, request names) passes `escape`.

use super::model::{Chart, Comparison, Dashboard, Regression, RequestChart, TestSeries};
use super::svg::{self, number, FAILED, FLAKY, PALETTE, PASSED, SKIPPED};
use crate::steps::history::store::TestStats;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The page's only style sheet. The CSP allows exactly this text (by its SHA-256), nothing else.
const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:0 20px 40px;color:#1d1d1f;background:#fff}\
h1{font-size:22px;margin:20px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}\
.meta{color:#555;margin:0 0 10px}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f3f3;padding:1px 4px;border-radius:3px}\
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f6f6}\
.bad{background:#fde2e1;color:#8a1010;font-weight:600}.good{background:#e3f4e6;color:#14532d}\
.summary{border-left:6px solid #2e9e44;padding:4px 14px;background:#f4fbf5}.summary.regressed{border-color:#d62728;background:#fff5f5}\
.chart{width:100%;max-width:760px;height:auto;display:block}.tick{font-size:11px;fill:#555}\
.legend{list-style:none;padding:0;margin:2px 0 8px;display:flex;flex-wrap:wrap;gap:4px 16px}.legend svg{width:10px;height:10px;margin-right:5px}\
.cols{display:flex;flex-wrap:wrap;gap:0 24px}.empty{color:#666;font-style:italic}.v{color:#666;font-size:12px}footer{margin-top:36px;color:#777;font-size:12px}";

/// Text as HTML: markup characters as entities, control characters (which HTML cannot carry) as U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `'sha256-…'` of the style sheet, for the CSP.
fn style_hash() -> String {
    let digest = Sha256::digest(CSS.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The whole page.
pub fn page(d: &Dashboard) -> String {
    let mut out = String::with_capacity(64 * 1024);
    // No frame-ancestors/report-uri here: a <meta> CSP cannot carry them, and the browser would say so
    // in the console.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; base-uri 'none'; form-action 'none'\">\
<meta name=\"referrer\" content=\"no-referrer\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{CSS}</style></head><body>\n",
        style_hash(),
        escape(&d.title)
    );
    header(&mut out, d);
    regressions(&mut out, d);
    tests(&mut out, d);
    deploy(&mut out, d);
    latency(&mut out, d);
    throughput(&mut out, d);
    let _ = write!(
        out,
        "<footer>stepkit {} · one file: no script, nothing loaded from the network · the same comparison as JSON: <code>stepkit dashboard --format json</code></footer>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn header(out: &mut String, d: &Dashboard) {
    let filters =
        if d.filters.is_empty() { String::new() } else { format!(" · {}", escape(&d.filters.join(", "))) };
    let _ = writeln!(
        out,
        "<header><h1>{}</h1><p class=\"meta\">{} runs from <code>{}</code>{filters} · the last {} runs of each series · generated {} · regression past {}% against the previous version · latency {}</p></header>",
        escape(&d.title),
        d.runs,
        escape(&d.store),
        d.last,
        escape(&d.generated_at),
        number(d.max_regression_pct),
        d.percentile
    );
}

/// `+12.5%`, or `–` when there is nothing to compare.
pub fn change(pct: Option<f64>) -> String {
    match pct {
        Some(p) => format!("{}{}%", if p > 0.0 { "+" } else { "" }, number(p)),
        None => "–".into(),
    }
}

/// A regression's change: its percentage, or the increase when there is none (0 failed tests before).
pub fn regression_change(r: &Regression) -> String {
    match r.change_pct {
        Some(_) => change(r.change_pct),
        None => format!("+{}", number(r.latest - r.previous)),
    }
}

fn regressions(out: &mut String, d: &Dashboard) {
    let class = if d.regressions.is_empty() { "summary" } else { "summary regressed" };
    let _ = write!(out, "<section id=\"regressions\" class=\"{class}\">");
    if d.regressions.is_empty() {
        let _ = writeln!(
            out,
            "<h2>No regressions</h2><p>Nothing got worse than the previous version by more than {}%.</p></section>",
            number(d.max_regression_pct)
        );
        return;
    }
    let _ = write!(
        out,
        "<h2>{} regression{} past {}% against the previous version</h2><table><thead><tr><th>Area</th><th>What</th><th>Series</th><th class=\"n\">Previous</th><th class=\"n\">Latest</th><th class=\"n\">Change</th></tr></thead><tbody>",
        d.regressions.len(),
        if d.regressions.len() == 1 { "" } else { "s" },
        number(d.max_regression_pct)
    );
    for r in &d.regressions {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{} {} <span class=\"v\">{}</span></td><td class=\"n\">{} {} <span class=\"v\">{}</span></td><td class=\"n bad\">{}</td></tr>",
            r.area,
            escape(&r.what),
            escape(&r.series),
            number(r.previous),
            r.unit,
            escape(&r.previous_version),
            number(r.latest),
            r.unit,
            escape(&r.latest_version),
            regression_change(r)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn legend(out: &mut String, items: &[(&str, &str)]) {
    out.push_str("<ul class=\"legend\">");
    for (label, color) in items {
        let _ = write!(
            out,
            "<li><svg viewBox=\"0 0 10 10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" fill=\"{color}\"/></svg>{}</li>",
            escape(label)
        );
    }
    out.push_str("</ul>");
}

fn line_legend(out: &mut String, chart: &Chart) {
    let items: Vec<(&str, &str)> =
        chart.lines.iter().enumerate().map(|(i, l)| (l.label.as_str(), PALETTE[i % PALETTE.len()])).collect();
    legend(out, &items);
}

fn comparison_class(c: &Comparison) -> &'static str {
    if c.regressed {
        " bad"
    } else if c.improved {
        " good"
    } else {
        ""
    }
}

/// Latest against previous version, one row per series.
fn comparison_table(out: &mut String, comparisons: &[Comparison], unit: &str) {
    let _ = write!(
        out,
        "<table><thead><tr><th>Series</th><th>Previous version</th><th class=\"n\">{unit}</th><th>Latest version</th><th class=\"n\">{unit}</th><th class=\"n\">Delta</th><th class=\"n\">Change</th></tr></thead><tbody>"
    );
    for c in comparisons {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n{}\">{}</td></tr>",
            escape(&c.label),
            c.previous_version.as_deref().map_or("–".into(), escape),
            c.previous.map_or("–".into(), number),
            escape(&c.latest_version),
            number(c.latest),
            c.delta.map_or("–".into(), |d| format!("{}{}", if d > 0.0 { "+" } else { "" }, number(d))),
            comparison_class(c),
            change(c.change_pct)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn empty(out: &mut String, what: &str, how: &str) {
    let _ = writeln!(out, "<p class=\"empty\">No {what} in the history: {how}.</p>");
}

fn tests(out: &mut String, d: &Dashboard) {
    out.push_str("<section id=\"tests\"><h2>Tests: pass/fail per run</h2>\n");
    if d.tests.is_empty() {
        empty(out, "test runs", "record them with <code>stepkit --history STORE test …</code> or <code>stepkit history record junit.xml</code>");
    }
    for t in &d.tests {
        test_series(out, t);
    }
    out.push_str("</section>\n");
}

fn test_series(out: &mut String, t: &TestSeries) {
    let _ = write!(out, "<div class=\"series\"><h3>{}</h3>", escape(&t.label));
    if let (Some(latest), Some(c)) = (t.runs.last(), &t.failures) {
        let _ = write!(
            out,
            "<p>Latest run #{} of <code>{}</code>: {} passed, {} flaky, <span class=\"{}\">{} failed</span>, {} skipped{}.</p>",
            latest.run_id,
            escape(&latest.version),
            latest.passed,
            latest.flaky,
            if c.regressed { "bad" } else { "" },
            latest.failed,
            latest.skipped,
            match (&c.previous_version, c.previous) {
                (Some(v), Some(p)) => format!(" (previous version <code>{}</code>: {} failed)", escape(v), number(p)),
                _ => String::new(),
            }
        );
    }
    out.push_str(&svg::test_bars(&t.label, &t.runs));
    legend(out, &[("passed", PASSED), ("flaky", FLAKY), ("failed", FAILED), ("skipped", SKIPPED)]);
    out.push_str("<div class=\"cols\">");
    test_table(out, "Failing in the latest run", &t.failing, |s| {
        s.latest_status.as_deref().unwrap_or("failed").to_string()
    });
    test_table(out, "Flaky", &t.flaky, |s| {
        format!("failed {} of {} runs", s.failed + s.flaky, s.passed + s.failed + s.flaky)
    });
    test_table(out, "Slowest in the latest run", &t.slowest, |s| {
        format!(
            "{} ms (mean {} ms)",
            s.latest_ms.map_or("–".into(), number),
            s.mean_ms.map_or("–".into(), number)
        )
    });
    out.push_str("</div></div>\n");
}

fn test_table(out: &mut String, title: &str, tests: &[TestStats], detail: impl Fn(&TestStats) -> String) {
    let _ = write!(out, "<div><h4>{title}</h4>");
    if tests.is_empty() {
        out.push_str("<p class=\"empty\">none</p></div>");
        return;
    }
    out.push_str("<table><tbody>");
    for s in tests {
        let _ = write!(
            out,
            "<tr><td><span class=\"v\">{}</span> {}</td><td class=\"n\">{}</td></tr>",
            escape(&s.classname),
            escape(&s.name),
            escape(&detail(s))
        );
    }
    out.push_str("</tbody></table></div>");
}

fn chart_block(out: &mut String, kind: &str, label: &str, unit: &str, chart: &Chart) {
    out.push_str(&svg::line_chart(kind, label, unit, chart));
    line_legend(out, chart);
    comparison_table(out, &chart.comparisons, unit);
}

fn deploy(out: &mut String, d: &Dashboard) {
    out.push_str("<section id=\"deploy\"><h2>Deploy duration per version</h2>\n");
    if d.deploy.is_empty() {
        empty(out, "deploys", "record them with <code>stepkit --history STORE deploy …</code>");
    } else {
        chart_block(out, "deploy", "deploy duration per version", "ms", &d.deploy);
    }
    out.push_str("</section>\n");
}

fn request_name(r: &RequestChart) -> String {
    if r.request.is_empty() {
        "All requests".into()
    } else {
        r.request.clone()
    }
}

fn latency(out: &mut String, d: &Dashboard) {
    let _ = writeln!(
        out,
        "<section id=\"latency\"><h2>API latency ({}) per request and target</h2>",
        d.percentile
    );
    if d.latency.is_empty() {
        empty(out, "load runs", "record them with <code>stepkit --history STORE load --target NAME …</code>");
    }
    for r in &d.latency {
        let name = request_name(r);
        let _ = write!(out, "<div class=\"series\"><h3>{}</h3>", escape(&name));
        chart_block(out, "latency", &format!("{} latency of {name}", d.percentile), "ms", &r.chart);
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

fn throughput(out: &mut String, d: &Dashboard) {
    out.push_str("<section id=\"throughput\"><h2>Throughput per version</h2>\n");
    if d.throughput.is_empty() {
        empty(out, "load runs", "record them with <code>stepkit --history STORE load …</code>");
    } else {
        chart_block(out, "throughput", "requests per second per version", "req/s", &d.throughput);
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup_and_no_controls() {
        assert_eq!(
            escape("<script>alert('1')</script>&\""),
            "&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\nd"), "a\u{FFFD}b\u{FFFD}c\nd");
    }

    #[test]
    fn the_csp_allows_exactly_the_style_sheet() {
        let hash = style_hash();
        assert!(hash.starts_with("'sha256-") && hash.ends_with("='"), "{hash}");
        assert!(!CSS.contains("url("), "the style sheet must not load anything");
    }
}
