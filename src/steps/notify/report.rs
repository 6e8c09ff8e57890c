//! Reading the JSON result files other stepkit steps wrote (`--result-file`), so a notification can say
//! what they concluded. A missing or broken file is itself news ("the step left no result"), not an error:
//! the notification still goes out.

use crate::report::Annotation;
use crate::result::{read_typed, ReadError, ResultFile};
use std::path::{Path, PathBuf};

/// What one step concluded, as its result file tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// The file it came from.
    pub path: PathBuf,
    /// The stepkit command that wrote it (`test`, `deploy`, ...); `None` when the file could not be read.
    pub command: Option<String>,
    /// `passed`, `failed`, `nothing-ran`, `timed-out`, `interrupted`, `terminated`, or `error`.
    pub verdict: String,
    /// The step's exit code.
    pub exit_code: Option<i32>,
    /// Its one-line headline (or, for an error result, the error).
    pub headline: String,
    /// Its annotations (failures with file and line), for GitHub check runs.
    pub annotations: Vec<Annotation>,
    /// Its warnings.
    pub warnings: Vec<String>,
    /// The step's own data (`data` in the file), for whoever wants details.
    pub data: serde_json::Value,
}

impl StepReport {
    /// Reads `path`. Never fails: an absent, oversized or foreign file becomes an `error` report saying so.
    pub fn read(path: &Path) -> StepReport {
        match read_file(path) {
            Ok(file) => StepReport {
                path: path.to_path_buf(),
                headline: file.headline.or(file.error).unwrap_or_default(),
                command: Some(file.command),
                verdict: file.verdict,
                exit_code: file.exit_code,
                annotations: file.annotations,
                warnings: file.warnings,
                data: file.data.unwrap_or_default(),
            },
            Err(problem) => StepReport {
                path: path.to_path_buf(),
                command: None,
                verdict: "error".into(),
                exit_code: None,
                headline: problem,
                annotations: Vec::new(),
                warnings: Vec::new(),
                data: serde_json::Value::Null,
            },
        }
    }

    /// A report as a test would read it from `<command>.json`, with no annotations or data.
    #[cfg(test)]
    pub fn for_test(command: &str, verdict: &str, headline: &str) -> StepReport {
        StepReport {
            path: format!("{command}.json").into(),
            command: Some(command.into()),
            verdict: verdict.into(),
            exit_code: None,
            headline: headline.into(),
            annotations: Vec::new(),
            warnings: Vec::new(),
            data: serde_json::Value::Null,
        }
    }

    /// `stepkit test` or, for an unreadable file, its path.
    pub fn name(&self) -> String {
        match &self.command {
            Some(command) => format!("stepkit {command}"),
            None => self.path.display().to_string(),
        }
    }

    /// True when the step's verdict is not a pass.
    pub fn is_failure(&self) -> bool {
        self.verdict != "passed"
    }
}

/// The envelope through the one result reader; any step's `data` is kept as JSON.
fn read_file(path: &Path) -> Result<ResultFile<serde_json::Value>, String> {
    let shown = path.display();
    read_typed(path).map_err(|e| match e {
        ReadError::Missing => format!(
            "no result file at {shown}: the step did not finish, or did not get --result-file {shown}"
        ),
        ReadError::NotJson(e) | ReadError::NotAResult(e) => {
            format!("{shown} is not a stepkit result file ({e}); pass files written by --result-file")
        }
        e => format!("cannot read the result file {shown}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_outcome_result_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.json");
        std::fs::write(
            &path,
            r#"{"command":"test","verdict":"failed","exit_code":1,"headline":"2 of 10 tests failed","warnings":["w"],
               "annotations":[{"level":"error","title":"t","message":"boom","file":"a.py","line":3}],"outputs":{},"data":{"tests":10}}"#,
        )
        .unwrap();
        let report = StepReport::read(&path);
        assert_eq!(report.command.as_deref(), Some("test"));
        assert_eq!(report.name(), "stepkit test");
        assert_eq!((report.verdict.as_str(), report.exit_code), ("failed", Some(1)));
        assert_eq!(report.headline, "2 of 10 tests failed");
        assert_eq!(report.annotations[0].file.as_deref(), Some("a.py"));
        assert_eq!(report.annotations[0].line, Some(3));
        assert_eq!(report.warnings, ["w"]);
        assert_eq!(report.data["tests"], 10);
        assert!(report.is_failure());
    }

    #[test]
    fn an_error_result_carries_its_error_as_headline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.json");
        std::fs::write(&path, r#"{"command":"image push","verdict":"error","exit_code":3,"error":"push to 127.0.0.1:1: refused"}"#).unwrap();
        let report = StepReport::read(&path);
        assert_eq!(report.verdict, "error");
        assert_eq!(report.exit_code, Some(3));
        assert_eq!(report.headline, "push to 127.0.0.1:1: refused");
    }

    #[test]
    fn a_result_of_a_newer_schema_becomes_an_error_report_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.json");
        std::fs::write(
            &path,
            r#"{"command":"test","verdict":"passed","exit_code":0,"data":{"schema_version":999}}"#,
        )
        .unwrap();
        let report = StepReport::read(&path);
        assert_eq!((report.verdict.as_str(), report.command), ("error", None));
        let text = &report.headline;
        assert!(text.contains("test.json") && text.contains("schema version 999"), "{text}");
        assert!(text.contains("newer stepkit") || text.contains("a newer one"), "{text}");
    }

    #[test]
    fn missing_and_foreign_files_become_error_reports_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = StepReport::read(&dir.path().join("gone.json"));
        assert_eq!(missing.verdict, "error");
        assert!(
            missing.headline.contains("no result file at") && missing.headline.contains("gone.json"),
            "{}",
            missing.headline
        );
        assert!(missing.name().ends_with("gone.json"));

        let foreign = dir.path().join("junit.xml");
        std::fs::write(&foreign, "<testsuite/>").unwrap();
        let report = StepReport::read(&foreign);
        assert_eq!(report.verdict, "error");
        assert!(report.headline.contains("is not a stepkit result file"), "{}", report.headline);
    }
}
