//! Separate runs: a matrix of real pytest runs merged and summarised never turns a failure into a pass.

use crate::support::{have_pytest, stepkit, write};
use std::path::Path;
use stepkit::junit::{read_file, Status, INPUT_PROPERTY};

/// One test file whose verdicts depend on the matrix cell (`MATRIX_DB`), like a suite run on two databases.
const MATRIX_TESTS: &str = r#"import os
import pytest

DB = os.environ["MATRIX_DB"]


def test_save():
    assert DB != "sqlite", "sqlite lost the row"


@pytest.mark.skipif(DB == "postgres", reason="vacuum runs nightly on postgres")
def test_vacuum():
    pass


@pytest.mark.skip(reason="not written yet")
def test_archive():
    pass


def test_connect():
    pass
"#;

/// Runs the matrix with real pytest: `postgres.xml` and `sqlite.xml` in `dir`; false when pytest is missing.
fn run_matrix(dir: &Path) -> bool {
    if !have_pytest() {
        return false;
    }
    write(dir, "tests/test_matrix.py", MATRIX_TESTS);
    for db in ["postgres", "sqlite"] {
        let out = std::process::Command::new("python3")
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
            .arg(format!("--junitxml={db}.xml"))
            .env("MATRIX_DB", db)
            .current_dir(dir)
            .output()
            .unwrap();
        let expected = if db == "sqlite" { 1 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "pytest on {db}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    true
}

#[test]
fn a_failure_in_one_matrix_cell_stays_a_failure_and_skips_stay_skipped() {
    let dir = tempfile::tempdir().unwrap();
    if !run_matrix(dir.path()) {
        return;
    }
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "junit", "summary", "postgres.xml", "sqlite.xml"])
        .run()
        .expect_code(1);
    let counts = &run.json()["data"]["summary"]["counts"];
    // postgres: save passed, vacuum skipped, archive skipped, connect passed;
    // sqlite:   save FAILED, vacuum passed, archive skipped, connect passed.
    assert_eq!(counts["tests"], 8, "{counts}");
    assert_eq!(counts["failures"], 1, "{counts}");
    assert_eq!(counts["skipped"], 3, "{counts}");
    assert_eq!(counts["passed"], 4, "{counts}");
    assert_eq!(counts["flaky"], 0, "a matrix cell is not a retry: {counts}");
    let failed = &run.json()["data"]["summary"]["failed"];
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert!(failed[0]["message"].as_str().unwrap().contains("sqlite lost the row"), "{failed}");

    let merged = dir.path().join("merged.xml");
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "junit", "merge", "postgres.xml", "sqlite.xml", "-o", "merged.xml"])
        .run()
        .expect_code(0);
    assert_eq!(run.json()["data"]["separate_runs"], serde_json::json!(["postgres.xml", "sqlite.xml"]));
    assert!(run.stderr.contains("2 reports kept apart as separate runs"), "{}", run.stderr);
    let report = read_file(&merged).unwrap();
    assert_eq!(report.name.as_deref(), Some("merged: 2 reports"), "the root is named for what it is");
    let names: Vec<&str> = report.suites.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["pytest [postgres.xml]", "pytest [sqlite.xml]"], "Jenkins and GitLab show both runs");
    for (suite, input) in report.suites.iter().zip(["postgres.xml", "sqlite.xml"]) {
        assert!(
            suite.properties.iter().any(|p| &*p.name == INPUT_PROPERTY && &*p.value == input),
            "{:?}",
            suite.properties
        );
    }
    let save =
        |suite: usize| report.suites[suite].cases.iter().find(|c| &*c.name == "test_save").unwrap().status;
    assert_eq!((save(0), save(1)), (Status::Passed, Status::Failed));
    let text = std::fs::read_to_string(&merged).unwrap();
    assert!(
        text.contains(
            r#"<testsuites name="merged: 2 reports" tests="8" failures="1" errors="0" skipped="3""#
        ),
        "{text}"
    );
}

#[test]
fn fold_across_files_treats_the_files_as_retries_when_the_user_says_so() {
    let dir = tempfile::tempdir().unwrap();
    if !run_matrix(dir.path()) {
        return;
    }
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "junit", "summary", "--fold-across-files", "postgres.xml", "sqlite.xml"])
        .run()
        .expect_code(0);
    let json = run.json();
    let counts = &json["data"]["summary"]["counts"];
    assert_eq!(
        (counts["tests"].as_u64(), counts["flaky"].as_u64(), counts["failures"].as_u64()),
        (Some(4), Some(1), Some(0)),
        "{counts}"
    );
    assert_eq!(json["data"]["duplicates"], 4);
    assert!(json["headline"].as_str().unwrap().contains("folded 4 repeated results"), "{json}");
}

#[test]
fn shards_that_share_no_test_still_join_by_suite() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.xml", r#"<testsuite name="S"><testcase classname="C" name="one"/></testsuite>"#);
    write(
        dir.path(),
        "b.xml",
        r#"<testsuite name="S"><testcase classname="C" name="two"><failure message="no"/></testcase></testsuite>"#,
    );
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "junit", "merge", "a.xml", "b.xml", "-o", "m.xml"])
        .run()
        .expect_code(0);
    assert_eq!(run.json()["data"]["separate_runs"], serde_json::json!([]));
    let report = read_file(&dir.path().join("m.xml")).unwrap();
    assert_eq!(report.suites.len(), 1);
    assert_eq!(report.counts().tests, 2);
}
