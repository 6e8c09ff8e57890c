//! `stepkit test` with the real Go toolchain on tests/fixtures/go.

use crate::support::{fixture, require_tool, stepkit};
use stepkit::junit::{read_file, Status};

#[test]
fn go_packages_run_in_parallel_with_subtests_counted() {
    if !require_tool("go") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("go.xml");
    let run = stepkit()
        .current_dir(fixture("go"))
        .args(["--format", "json", "test", "--workers", "2", "--junit"])
        .args([&junit])
        .args(["--", "go", "test", "./..."])
        .run()
        .expect_code(1);
    let counts = read_file(&junit).unwrap().counts();
    // 8 top-level tests and the 2 subtests of TestTable; `go test -json ./...` reports the same.
    assert_eq!((counts.tests, counts.passed, counts.failures, counts.skipped), (10, 8, 1, 1));
    let failed = &run.json()["data"]["summary"]["failed"][0];
    assert_eq!(failed["id"], "example.com/stepkitfixture/calc::TestAddFails");
    assert!(failed["details"].as_str().unwrap().contains("want 5, got 4"));
}

#[test]
fn a_panicking_test_binary_keeps_what_ran() {
    if !require_tool("go") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("broken.xml");
    stepkit()
        .current_dir(fixture("go"))
        .args(["test", "--split", "file", "--junit"])
        .args([&junit])
        .args(["--", "go", "test", "-tags", "broken", "./broken"])
        .run()
        .expect_code(1);
    let mut statuses = Vec::new();
    read_file(&junit).unwrap().walk(|_, c| statuses.push((c.name.to_string(), c.status)));
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("TestBeforePanic".to_string(), Status::Passed),
            ("TestNeverRuns".to_string(), Status::Errored),
            ("TestPanics".to_string(), Status::Failed)
        ]
    );
}
