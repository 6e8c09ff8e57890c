//! `--only-failed REPORT`: the tests that failed or errored in an earlier JUnit report, mapped onto
//! the tests listed now (by file and name, else class and name), so only they run again.

use super::model::TestFile;
use super::timings::relative;
use crate::junit::{read_file, Status};
use std::path::{Path, PathBuf};

/// The failed tests of one report.
#[derive(Debug, Clone)]
pub struct OnlyFailed {
    pub report: PathBuf,
    pub failed: Vec<FailedTest>,
}

/// One failed or errored case, as its report named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTest {
    pub file: Option<String>,
    pub classname: Option<String>,
    pub name: String,
}

impl FailedTest {
    fn label(&self) -> String {
        match (&self.file, &self.classname) {
            (_, Some(class)) => format!("{class}::{}", self.name),
            (Some(file), None) => format!("{file}::{}", self.name),
            (None, None) => self.name.clone(),
        }
    }
}

/// What `select` kept.
#[derive(Debug)]
pub struct Selected {
    /// The listed files that hold failed tests, each with only those cases (file order kept).
    pub files: Vec<TestFile>,
    /// How many failed tests of the report were found.
    pub found: usize,
    /// Failed tests of the report that are not listed any more (renamed or deleted).
    pub missing: Vec<String>,
}

impl OnlyFailed {
    /// Reads `report`; an unreadable one is an error (running the whole suite instead would be a surprise).
    pub fn read(report: &Path) -> Result<OnlyFailed, String> {
        let parsed = read_file(report)
            .map_err(|e| format!("{e}; give a JUnit report, e.g. the last run's --junit file"))?;
        let mut failed: Vec<FailedTest> = Vec::new();
        parsed.walk_with_suite_file(|suite_file, case| {
            if !matches!(case.status, Status::Failed | Status::Errored) {
                return;
            }
            let test = FailedTest {
                file: case.file.as_deref().or(suite_file).map(str::to_string),
                classname: case.classname.as_deref().map(str::to_string),
                name: case.name.to_string(),
            };
            // PHPUnit can report one test many times; it runs once.
            if !failed.contains(&test) {
                failed.push(test);
            }
        });
        Ok(OnlyFailed { report: report.to_path_buf(), failed })
    }

    /// The listed tests that failed in the report. A file the tool lists without cases (the command
    /// preset) is taken whole when the report names it.
    pub fn select(&self, files: &[TestFile], root: &Path) -> Selected {
        let mut chosen: Vec<Vec<usize>> = vec![Vec::new(); files.len()];
        let mut whole = vec![false; files.len()];
        let mut found = 0;
        let mut missing = Vec::new();
        for test in &self.failed {
            match locate(test, files, root) {
                Some((file, Some(case))) => {
                    found += 1;
                    if !chosen[file].contains(&case) {
                        chosen[file].push(case);
                    }
                }
                Some((file, None)) => {
                    found += 1;
                    whole[file] = true;
                }
                None => missing.push(test.label()),
            }
        }
        let mut out = Vec::new();
        for (i, file) in files.iter().enumerate() {
            if whole[i] {
                out.push(file.clone());
            } else if !chosen[i].is_empty() {
                let mut cases = chosen[i].clone();
                cases.sort_unstable();
                out.push(TestFile {
                    path: file.path.clone(),
                    cases: cases.into_iter().map(|c| file.cases[c].clone()).collect(),
                });
            }
        }
        Selected { files: out, found, missing }
    }
}

/// (file, case) of a failed test among the listed ones: by its file and name, else by class and name.
/// A Go subtest (`TestX/case`) is found as its test (`TestX`): `-run` selects top-level tests.
fn locate(test: &FailedTest, files: &[TestFile], root: &Path) -> Option<(usize, Option<usize>)> {
    let names: Vec<&str> = match test.name.split_once('/') {
        Some((parent, _)) => vec![test.name.as_str(), parent],
        None => vec![test.name.as_str()],
    };
    let same_class = |listed: Option<&str>| match (listed, test.classname.as_deref()) {
        (Some(a), Some(b)) => a == b || a.replace('\\', ".") == b.replace('\\', "."),
        _ => true,
    };
    let by_file = test
        .file
        .as_deref()
        .map(|f| relative(f, root))
        .and_then(|f| files.iter().position(|listed| listed.path == f));
    for name in &names {
        if let Some(file) = by_file {
            if files[file].cases.is_empty() {
                return Some((file, None));
            }
            if let Some(case) =
                files[file].cases.iter().position(|c| c.name == *name && same_class(c.classname.as_deref()))
            {
                return Some((file, Some(case)));
            }
        }
        if test.classname.is_some() {
            for (i, file) in files.iter().enumerate() {
                if let Some(case) = file.cases.iter().position(|c| {
                    c.name == *name && c.classname.is_some() && same_class(c.classname.as_deref())
                }) {
                    return Some((i, Some(case)));
                }
            }
        }
        // The command preset names cases after the file they judge.
        if let Some(file) = files.iter().position(|f| f.cases.is_empty() && f.path == *name) {
            return Some((file, None));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::suite::model::CaseRef;

    fn case(class: &str, name: &str) -> CaseRef {
        CaseRef { id: format!("{class}::{name}"), classname: Some(class.into()), name: name.into() }
    }

    #[test]
    fn reads_failures_and_errors_once_and_maps_them_to_listed_tests() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("last.xml");
        std::fs::write(
            &report,
            r#"<testsuites>
              <testsuite name="a" file="/proj/tests/test_a.py">
                <testcase classname="tests.test_a" name="test_ok"/>
                <testcase classname="tests.test_a" name="test_bad"><failure message="x"/></testcase>
                <testcase classname="tests.test_a" name="test_bad"><failure message="x"/></testcase>
              </testsuite>
              <testsuite name="go"><testcase classname="example.com/m/calc" name="TestTable/neg"><error/></testcase></testsuite>
              <testsuite name="gone"><testcase classname="tests.test_old" name="test_removed"><error/></testcase></testsuite>
              <testsuite name="sh"><testcase name="t/b.sh"><failure/></testcase></testsuite>
            </testsuites>"#,
        )
        .unwrap();
        let only = OnlyFailed::read(&report).unwrap();
        assert_eq!(only.failed.len(), 4, "{:?}", only.failed);
        let files = vec![
            TestFile {
                path: "tests/test_a.py".into(),
                cases: vec![case("tests.test_a", "test_ok"), case("tests.test_a", "test_bad")],
            },
            TestFile {
                path: "example.com/m/calc".into(),
                cases: vec![case("example.com/m/calc", "TestAdd"), case("example.com/m/calc", "TestTable")],
            },
            TestFile::whole("t/a.sh"),
            TestFile::whole("t/b.sh"),
        ];
        let selected = only.select(&files, Path::new("/proj"));
        assert_eq!(selected.found, 3);
        assert_eq!(selected.missing, ["tests.test_old::test_removed"]);
        let picked: Vec<(&str, Vec<&str>)> = selected
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.cases.iter().map(|c| c.name.as_str()).collect()))
            .collect();
        assert_eq!(
            picked,
            [
                ("tests/test_a.py", vec!["test_bad"]),
                ("example.com/m/calc", vec!["TestTable"]),
                ("t/b.sh", vec![])
            ]
        );
    }

    #[test]
    fn an_unreadable_report_is_an_error_naming_it() {
        let err = OnlyFailed::read(Path::new("/nonexistent/last.xml")).unwrap_err();
        assert!(err.contains("/nonexistent/last.xml"), "{err}");
    }
}
