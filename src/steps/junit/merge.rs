//! `stepkit junit merge`: many reports in, one report out, written atomically.

use super::{collect_inputs, Inputs, JunitError};
use crate::junit::render::{count_outputs, describe_counts, plural};
use crate::junit::{write_report, Profile};
use crate::report::{Annotation, AnnotationLevel, Outcome, Verdict};
use crate::result::junit::{MergeData, MERGE_VERSION};
use std::path::PathBuf;

/// Resolved settings for `junit merge`.
#[derive(Debug, Clone)]
pub struct MergeSettings {
    pub inputs: Vec<String>,
    pub output: PathBuf,
    pub profile: Profile,
    /// Fold results of one test from different files as retries (the user says they are one run).
    pub fold_across_files: bool,
}

/// Merges the inputs into `settings.output`. Unreadable inputs become error cases (and warnings);
/// only a failure to write the output is an error.
pub fn merge(settings: &MergeSettings) -> Result<Outcome, JunitError> {
    let inputs = collect_inputs(&settings.inputs, settings.fold_across_files)?;
    let counts = inputs.report.counts();
    crate::fs::write_atomically(&settings.output, |file| {
        write_report(&inputs.report, settings.profile, file)
    })
    .map_err(|source| JunitError::Write { path: settings.output.clone(), source })?;

    let verdict = if counts.tests == 0 { Verdict::NothingRan } else { Verdict::Passed };
    let headline = format!(
        "merged {} report{} into {}: {}{}",
        inputs.files.len(),
        plural(inputs.files.len() as u64),
        settings.output.display(),
        describe_counts(&counts),
        folding_notes(&inputs)
    );
    let mut outcome = Outcome::new("junit merge", verdict, headline);
    outcome.warnings = inputs.problems.iter().chain(&inputs.warnings).cloned().collect();
    outcome.annotations = inputs
        .problems
        .iter()
        .map(|p| Annotation {
            level: AnnotationLevel::Warning,
            title: Some("Unreadable JUnit report".into()),
            message: p.clone(),
            file: None,
            line: None,
        })
        .collect();
    outcome.outputs = count_outputs(&counts);
    outcome.outputs.insert(0, ("report".into(), settings.output.display().to_string()));
    outcome.set_data(&MergeData {
        schema_version: MERGE_VERSION,
        output: settings.output.clone(),
        profile: settings.profile.name().to_string(),
        inputs: inputs.data(),
        counts,
    });
    Ok(outcome)
}

/// What the merge did to the results besides adding them up: folded repeats, runs kept apart.
pub(crate) fn folding_notes(inputs: &Inputs) -> String {
    let mut notes = String::new();
    if inputs.duplicates > 0 {
        let n = inputs.duplicates;
        notes.push_str(&format!("; folded {n} repeated result{} of a test into one", plural(n)));
    }
    if !inputs.separate_runs.is_empty() {
        let n = inputs.separate_runs.len() as u64;
        notes.push_str(&format!("; {n} report{} kept apart as separate runs (they report the same tests; --fold-across-files folds them)", plural(n)));
    }
    notes
}
