//! `stepkit dashboard`: the history drawn as one self-contained HTML page, with the same comparison
//! (latest against the previous version, regressions past a threshold first) as markdown for the step
//! summary and a PR comment, and as JSON. model (from the query answer) -> svg charts -> html page;
//! markdown beside it.

mod html;
mod markdown;
pub mod model;
mod svg;

pub use model::{Dashboard, Judging, Percentile};

use super::query::{self, Against, QuerySettings};
use super::{HistoryError, Location};
use crate::report::{Annotation, AnnotationLevel, Outcome, Verdict};
use crate::sanitize;
use std::io::Write;
use std::path::PathBuf;

/// `stepkit dashboard`.
#[derive(Debug, Clone)]
pub struct DashboardSettings {
    pub store: Location,
    /// Where the page goes.
    pub output: PathBuf,
    /// Where the comparison goes as markdown, if anywhere (for `stepkit github comment --body-file`).
    pub markdown: Option<PathBuf>,
    /// Which runs (repository, branch, environment, target) and how many per series.
    pub query: QuerySettings,
    /// As `name=value`, for the page's header.
    pub filters: Vec<String>,
    pub judging: Judging,
    /// Exit 1 when something regressed past the threshold.
    pub fail_on_regression: bool,
    pub title: String,
}

/// Reads the history, writes the page (and the markdown), and concludes.
pub fn dashboard(settings: &DashboardSettings) -> Result<Outcome, HistoryError> {
    let answer = query::read(&settings.store, &settings.query)?;
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut model = model::build(&answer, &settings.judging, settings.title.clone(), generated_at);
    model.filters = settings.filters.clone();

    let page = html::page(&model);
    write(&settings.output, &page)?;
    let comparison = markdown::comparison(&model);
    if let Some(path) = &settings.markdown {
        // The same last pass `--format markdown` gets: no control characters, no workflow commands.
        write(path, &sanitize::text(&comparison))?;
    }
    Ok(outcome(settings, &model, comparison, page.len()))
}

fn write(path: &std::path::Path, text: &str) -> Result<(), HistoryError> {
    crate::fs::write_atomically(path, |f| f.write_all(text.as_bytes()))
        .map_err(|e| HistoryError::Output { path: path.to_path_buf(), message: e.to_string() })
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

fn outcome(settings: &DashboardSettings, d: &Dashboard, markdown: String, bytes: usize) -> Outcome {
    let series = d.tests.len()
        + d.deploy.lines.len()
        + d.throughput.lines.len().max(d.latency.first().map_or(0, |r| r.chart.lines.len()));
    let regressed = !d.regressions.is_empty();
    let verdict = if d.runs == 0 {
        Verdict::NothingRan
    } else if regressed && settings.fail_on_regression {
        Verdict::Failed
    } else {
        Verdict::Passed
    };
    let threshold = svg::number(d.max_regression_pct);
    let headline = if d.runs == 0 {
        format!("no runs in {} match; wrote an empty dashboard to {}", d.store, settings.output.display())
    } else {
        format!(
            "{} in {series} series; {}; wrote {} ({} KiB)",
            plural(d.runs, "run"),
            if regressed {
                format!("{} past {threshold}%", plural(d.regressions.len(), "regression"))
            } else {
                format!("nothing regressed past {threshold}%")
            },
            settings.output.display(),
            bytes.div_ceil(1024)
        )
    };
    let mut outcome = Outcome::new("dashboard", verdict, headline);
    outcome.text = d
        .regressions
        .iter()
        .map(|r| {
            format!(
                "  regressed: {} [{}] {} -> {} {} ({})\n",
                r.what,
                r.series,
                svg::number(r.previous),
                svg::number(r.latest),
                r.unit,
                html::regression_change(r)
            )
        })
        .collect();
    let level = if settings.fail_on_regression { AnnotationLevel::Error } else { AnnotationLevel::Warning };
    outcome.annotations = d
        .regressions
        .iter()
        .map(|r| Annotation {
            level,
            title: Some(format!("{} regressed", r.area)),
            message: format!(
                "{} [{}]: {} {} in {} against {} {} in {} ({})",
                r.what,
                r.series,
                svg::number(r.latest),
                r.unit,
                r.latest_version,
                svg::number(r.previous),
                r.unit,
                r.previous_version,
                html::regression_change(r)
            ),
            file: None,
            line: None,
        })
        .collect();
    outcome.outputs = vec![
        ("page".into(), settings.output.display().to_string()),
        ("regressions".into(), d.regressions.len().to_string()),
    ];
    if let Some(path) = &settings.markdown {
        outcome.outputs.push(("markdown".into(), path.display().to_string()));
    }
    outcome.markdown = markdown;
    outcome.step_summary = true;
    outcome.data = serde_json::to_value(d).unwrap_or_default();
    outcome
}

/// The query a dashboard asks: the latest against the previous version, the slowest and flaky tests.
pub fn query_settings(filter: super::Filter, last: u64, top: usize) -> QuerySettings {
    QuerySettings { filter, last, against: Against::Version, top }
}
