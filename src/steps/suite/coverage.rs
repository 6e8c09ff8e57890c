//! `stepkit test --coverage`: the arguments that make one batch write coverage the tool's own way,
//! and the merge of the batches' reports into the one the user asked for.

use super::preset::Preset;
use crate::coverage::{merge_files, write_file, CoverageError, Format, PathRoot, Totals};
use crate::report::{Outcome, Verdict};
use crate::result::coverage::CoverageData;
use std::path::{Path, PathBuf};

/// Where the merged coverage goes, and in which format.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageTarget {
    pub format: Format,
    pub path: PathBuf,
}

/// What a batch's argv and environment gain to write coverage.
#[derive(Debug, Default, PartialEq)]
pub struct BatchCoverage {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Where batch `id` of `phase` writes its coverage.
pub fn batch_report(work_dir: &Path, phase: &str, id: usize) -> PathBuf {
    work_dir.join(format!("{phase}-{id}.coverage"))
}

/// The per-batch coverage hook, appended after the preset's argv: each tool writes its own
/// format (PHPUnit Clover, pytest-cov Cobertura, a Go cover profile) to `report`.
pub fn coverage_args(preset: &Preset, command: &[String], report: &Path) -> BatchCoverage {
    let report_text = report.display().to_string();
    match preset {
        // Clover, not Cobertura: PHPUnit counts the tests that ran a line there, which sums exactly.
        Preset::Phpunit => {
            BatchCoverage { args: vec!["--coverage-clover".into(), report_text], env: Vec::new() }
        }
        Preset::Pytest => {
            let mut args = Vec::new();
            // The user's `--cov=src` chooses what is measured; a bare `--cov` measures the working directory.
            if !command.iter().any(|a| a == "--cov" || a.starts_with("--cov=")) {
                args.push("--cov".into());
            }
            args.push(format!("--cov-report=xml:{report_text}"));
            // coverage.py's data file defaults to ./.coverage: batches running side by side would
            // erase and combine each other's data.
            let data = format!("{report_text}.data");
            BatchCoverage { args, env: vec![("COVERAGE_FILE".into(), data)] }
        }
        Preset::Go => {
            let mut args = vec![format!("-coverprofile={report_text}")];
            // `count` makes hits add up across batches; -race implies `atomic`, a count too.
            let chosen = command.iter().any(|a| {
                a.trim_start_matches('-').starts_with("covermode") || a.trim_start_matches('-') == "race"
            });
            if !chosen {
                args.push("-covermode=count".into());
            }
            BatchCoverage { args, env: Vec::new() }
        }
        Preset::Command { .. } => BatchCoverage::default(),
    }
}

/// What the merge of the batches' coverage gave.
#[derive(Debug)]
pub struct CoverageResult {
    pub target: CoverageTarget,
    pub totals: Totals,
    /// Batches whose coverage is missing or unreadable: the report is incomplete.
    pub problems: Vec<String>,
}

/// Merges the batches' reports into `target`. A missing or unreadable batch report is a problem
/// (the merged report is still written from the others); failing to write the target is an error.
pub fn merge_batches(
    reports: &[(usize, PathBuf)],
    target: &CoverageTarget,
    cwd: &Path,
    preset: &Preset,
) -> Result<CoverageResult, CoverageError> {
    let root = PathRoot::new(cwd);
    let mut problems = Vec::new();
    let mut readable = Vec::new();
    for (batch, path) in reports {
        match std::fs::metadata(path) {
            Ok(meta) if meta.len() > 0 => readable.push(path.clone()),
            _ => problems.push(format!("batch {batch} wrote no coverage report; {}", hint(preset))),
        }
    }
    // Read each on its own first, so one bad report names its batch instead of failing the merge.
    readable.retain(|path| match crate::coverage::read_file(path, &root) {
        Ok(_) => true,
        Err(e) => {
            problems.push(format!("coverage of a batch is unreadable: {e}"));
            false
        }
    });
    let (coverage, _) = merge_files(&readable, &root)?;
    write_file(&coverage, target.format, &cwd.join(&target.path), &root)?;
    Ok(CoverageResult { target: target.clone(), totals: coverage.totals(), problems })
}

fn hint(preset: &Preset) -> &'static str {
    match preset {
        Preset::Phpunit => "is a coverage driver loaded (pcov or xdebug: `php -m`) and a <coverage><include> filter set in phpunit.xml?",
        Preset::Pytest => "is pytest-cov installed (`pip install pytest-cov`)?",
        Preset::Go => "did the package build? see the batch's output",
        Preset::Command { .. } => "the command preset cannot write coverage",
    }
}

/// Adds the coverage result to the run's outcome. Incomplete coverage fails a passing run:
/// a report that silently lacks batches would show code as untested (or hide that it is).
pub fn annotate(outcome: &mut Outcome, result: &CoverageResult) {
    let t = &result.totals;
    outcome.headline.push_str(&format!("; coverage {} in {}", t.describe(), result.target.path.display()));
    let mut outputs = t.outputs(&result.target.path);
    outcome.outputs.append(&mut outputs);
    if let Some(data) = outcome.data.as_object_mut() {
        // `coverage` of result::suite::RunData, added to the run's data once the batches' reports merged.
        let coverage = CoverageData {
            totals: t.data(),
            path: result.target.path.clone(),
            format: result.target.format.name().to_string(),
            problems: result.problems.clone(),
        };
        data.insert("coverage".into(), serde_json::to_value(coverage).unwrap_or_default());
    }
    if !result.problems.is_empty() {
        outcome.warnings.extend(result.problems.iter().map(|p| format!("coverage incomplete: {p}")));
        if outcome.verdict == Verdict::Passed {
            outcome.verdict = Verdict::Failed;
            outcome.headline.push_str(" (incomplete: some batches wrote no coverage)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn each_tool_gets_its_own_coverage_arguments() {
        let report = Path::new("/w/run-1.coverage");
        assert_eq!(
            coverage_args(&Preset::Phpunit, &words("phpunit"), report).args,
            ["--coverage-clover", "/w/run-1.coverage"]
        );
        let py = coverage_args(&Preset::Pytest, &words("pytest --cov-branch"), report);
        assert_eq!(py.args, ["--cov", "--cov-report=xml:/w/run-1.coverage"]);
        assert_eq!(py.env, [("COVERAGE_FILE".to_string(), "/w/run-1.coverage.data".to_string())]);
        assert_eq!(
            coverage_args(&Preset::Pytest, &words("pytest --cov=src"), report).args,
            ["--cov-report=xml:/w/run-1.coverage"]
        );
        assert_eq!(
            coverage_args(&Preset::Go, &words("go test ./..."), report).args,
            ["-coverprofile=/w/run-1.coverage", "-covermode=count"]
        );
        assert_eq!(
            coverage_args(&Preset::Go, &words("go test -race ./..."), report).args,
            ["-coverprofile=/w/run-1.coverage"]
        );
        assert_eq!(
            coverage_args(&Preset::Go, &words("go test -covermode=set"), report).args,
            ["-coverprofile=/w/run-1.coverage"]
        );
    }

    #[test]
    fn a_batch_without_coverage_fails_a_passing_run() {
        let work = tempfile::tempdir().unwrap();
        let good = work.path().join("run-1.coverage");
        std::fs::write(&good, "SF:a.py\nDA:1,1\nend_of_record\n").unwrap();
        let target = CoverageTarget { format: Format::Lcov, path: work.path().join("out.info") };
        let reports = [(1, good), (2, work.path().join("run-2.coverage"))];
        let result = merge_batches(&reports, &target, work.path(), &Preset::Pytest).unwrap();
        assert_eq!(result.totals.lines_covered, 1);
        assert_eq!(result.problems.len(), 1);
        assert!(
            result.problems[0].contains("batch 2") && result.problems[0].contains("pytest-cov"),
            "{:?}",
            result.problems
        );
        let mut outcome = Outcome::new("test", Verdict::Passed, "ok");
        outcome.data = serde_json::json!({});
        annotate(&mut outcome, &result);
        assert_eq!(outcome.verdict, Verdict::Failed);
        assert_eq!(outcome.data["coverage"]["lines_covered"], 1);
    }
}
