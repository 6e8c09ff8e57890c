//! Coverage plugin: reads a Cobertura or Clover XML report from a granted directory and holds the
//! total (and optionally every file) to a minimum line coverage.
//!
//! Config: `path` (report file, required), `min` (total %, default 80), `file-min` (per-file %, optional),
//! `changed-only` (per-file findings only for changed files, default no).

mod parse;

use parse::{FileCoverage, Totals};
use stepkit_plugin::{Check, CheckError, Context, Finding, Report, Verdict};

struct Coverage;

impl Check for Coverage {
    fn run(ctx: &Context) -> Result<Report, CheckError> {
        let path = ctx.require("path")?;
        let min: f64 = ctx.parse_or("min", 80.0)?;
        let file_min: Option<f64> = ctx.parse("file-min")?;
        let changed_only = ctx.flag("changed-only", false)?;
        for (key, value) in [("min", Some(min)), ("file-min", file_min)] {
            if value.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
                return Err(CheckError::config(key, "expected a percentage between 0 and 100"));
            }
        }

        let xml = ctx.read_to_string(path)?;
        let files = parse::read_report(&xml).map_err(|why| CheckError::io(path, why))?;
        let totals = Totals::of(&files);
        if totals.lines == 0 {
            return Ok(Report::skip(format!("{path}: the report covers no lines")));
        }

        let changed = ctx.changed_files();
        let low_files: Vec<Finding> = match file_min {
            Some(file_min) => files
                .iter()
                .filter(|f| f.lines > 0 && f.percent() < file_min)
                .filter(|f| !changed_only || changed.iter().any(|c| same_file(c, &f.file)))
                .map(|f| low_file_finding(f, file_min))
                .collect(),
            None => Vec::new(),
        };

        let total = totals.percent();
        let verdict = if total < min || !low_files.is_empty() { Verdict::Fail } else { Verdict::Pass };
        let mut summary = format!("line coverage {total:.1}% (minimum {min}%)");
        if !low_files.is_empty() {
            summary.push_str(&format!(", {} files below {}%", low_files.len(), file_min.unwrap_or(0.0)));
        }
        let mut report = Report::new(verdict, summary)
            .with_metric("coverage", round1(total), "%")
            .with_metric("lines covered", totals.covered as f64, "count")
            .with_metric("lines", totals.lines as f64, "count")
            .with_metric("files below minimum", low_files.len() as f64, "count");
        report.findings = low_files;
        Ok(report)
    }
}

fn low_file_finding(file: &FileCoverage, min: f64) -> Finding {
    Finding::failure(format!(
        "{:.1}% of lines covered ({} of {}), below the per-file minimum of {min}%",
        file.percent(),
        file.covered,
        file.lines
    ))
    .in_file(&file.file)
}

/// Report paths are often relative to a source root, changed files to the workspace root.
fn same_file(changed: &str, reported: &str) -> bool {
    changed == reported
        || changed.ends_with(&format!("/{reported}"))
        || reported.ends_with(&format!("/{changed}"))
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

stepkit_plugin::export!(Coverage);
