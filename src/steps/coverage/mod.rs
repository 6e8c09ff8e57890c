//! `stepkit coverage merge`: shards' coverage reports (Cobertura, Clover, lcov, Go profiles, mixed)
//! joined into one report. An input that is missing or unreadable stops the merge: a report
//! silently missing a shard would show coverage that was never measured.

use crate::coverage::{merge_files, write_file, CoverageError, Format, PathRoot};
use crate::patterns::{expand_patterns, Input};
use crate::report::{Outcome, Verdict};
use crate::result::coverage::{InputData, MergeData, SCHEMA_VERSION};
use std::path::PathBuf;

/// Resolved settings for `coverage merge`.
#[derive(Debug, Clone)]
pub struct CoverageMergeSettings {
    pub inputs: Vec<String>,
    pub output: PathBuf,
    pub format: Format,
    /// Report paths are made relative to this directory (the working directory by default).
    pub root: PathBuf,
}

/// Merges the inputs into `settings.output`.
pub fn merge(settings: &CoverageMergeSettings) -> Result<Outcome, CoverageError> {
    let inputs = expand_patterns(&settings.inputs)
        .map_err(|e| CoverageError::Pattern { pattern: e.pattern, message: e.message })?;
    let mut paths = Vec::new();
    for input in inputs {
        match input {
            Input::File(path) => paths.push(path),
            Input::NoMatch(pattern) => {
                return Err(CoverageError::Pattern {
                    pattern,
                    message: "no file matches; check the path and that every shard uploaded its report"
                        .into(),
                })
            }
        }
    }
    let root = PathRoot::new(&settings.root);
    let (coverage, formats) = merge_files(&paths, &root)?;
    write_file(&coverage, settings.format, &settings.output, &root)?;
    let totals = coverage.totals();
    let headline = format!(
        "merged {} coverage report{} into {} ({}): {}, {} file{}",
        paths.len(),
        if paths.len() == 1 { "" } else { "s" },
        settings.output.display(),
        settings.format.name(),
        totals.describe(),
        totals.files,
        if totals.files == 1 { "" } else { "s" }
    );
    let mut outcome = Outcome::new("coverage merge", Verdict::Passed, headline);
    if totals.lines_valid == 0 {
        outcome
            .warnings
            .push("the merged report has no executable lines: check the inputs' coverage filters".into());
    }
    outcome.outputs = totals.outputs(&settings.output);
    let inputs = paths
        .iter()
        .zip(&formats)
        .map(|(p, f)| InputData { path: p.clone(), format: f.name().to_string() })
        .collect();
    outcome.set_data(&MergeData {
        schema_version: SCHEMA_VERSION,
        output: settings.output.clone(),
        format: settings.format.name().to_string(),
        inputs,
        totals: totals.data(),
    });
    Ok(outcome)
}
