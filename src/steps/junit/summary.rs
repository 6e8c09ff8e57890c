//! `stepkit junit summary`: totals, failures with locations, flaky and slowest tests; text, markdown, JSON, annotations.

use super::merge::folding_notes;
use super::{collect_inputs, JunitError};
use crate::junit::render::{annotations, count_outputs, describe_counts, human, markdown, plural, relative};
use crate::junit::summarize;
use crate::report::{Outcome, Verdict};
use crate::result::junit::{SummaryData, SUMMARY_VERSION};
use std::path::PathBuf;

/// Resolved settings for `junit summary`.
#[derive(Debug, Clone)]
pub struct SummarySettings {
    pub inputs: Vec<String>,
    pub slowest: usize,
    /// Exit 1 when tests failed (false with `--no-fail`).
    pub fail_on_failures: bool,
    /// The checkout root: absolute paths under it become relative, as annotations need.
    pub workspace: Option<PathBuf>,
    /// Fold results of one test from different files as retries (the user says they are one run).
    pub fold_across_files: bool,
}

/// Summarises the inputs.
pub fn summary(settings: &SummarySettings) -> Result<Outcome, JunitError> {
    let inputs = collect_inputs(&settings.inputs, settings.fold_across_files)?;
    let mut summary = summarize(&inputs.report, settings.slowest);
    for failed in &mut summary.failed {
        failed.file = failed.file.take().map(|f| relative(&f, settings.workspace.as_deref()));
    }
    let counts = summary.counts;
    let verdict = if counts.tests == 0 {
        Verdict::NothingRan
    } else if counts.has_failures() && settings.fail_on_failures {
        Verdict::Failed
    } else {
        Verdict::Passed
    };
    let files = inputs.files.len() as u64;
    let headline = format!(
        "{} in {:.3}s from {files} report{}{}",
        describe_counts(&counts),
        counts.time,
        plural(files),
        folding_notes(&inputs)
    );
    let mut outcome = Outcome::new("junit summary", verdict, headline);
    outcome.warnings = inputs.problems.iter().chain(&inputs.warnings).cloned().collect();
    if counts.has_failures() && !settings.fail_on_failures {
        outcome.warnings.push(format!(
            "{} tests failed; exiting 0 because of --no-fail",
            counts.failures + counts.errors
        ));
    }
    outcome.text = human(&summary);
    outcome.markdown = markdown(&summary);
    outcome.step_summary = true;
    outcome.annotations = annotations(&summary, &inputs.problems);
    outcome.outputs = count_outputs(&counts);
    outcome.set_data(&SummaryData { schema_version: SUMMARY_VERSION, inputs: inputs.data(), summary });
    Ok(outcome)
}
