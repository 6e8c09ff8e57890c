//! `stepkit test` with real PHPUnit on tests/fixtures/phpunit.

use crate::support::{fixture, require_tool, stepkit};
use stepkit::junit::{read_file, Counts, Status};

fn serial_counts(dir: &std::path::Path, extra: &[&str]) -> Counts {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("serial.xml");
    std::process::Command::new("phpunit").args(extra).arg("--log-junit").arg(&junit).current_dir(dir).output().unwrap();
    read_file(&junit).unwrap().counts()
}

#[test]
fn parallel_counts_equal_a_serial_run() {
    if !require_tool("phpunit") {
        return;
    }
    let dir = fixture("phpunit");
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("merged.xml");
    let run = stepkit().current_dir(&dir).args(["--format", "json", "test", "--workers", "3", "--junit"]).args([&junit]).args(["--", "phpunit"]).run().expect_code(1);
    let merged = read_file(&junit).unwrap().counts();
    let serial = serial_counts(&dir, &[]);
    assert_eq!((merged.tests, merged.failures, merged.errors, merged.skipped), (serial.tests, serial.failures, serial.errors, serial.skipped));
    assert_eq!(merged.tests, 22);
    let json = run.json();
    assert_eq!(json["data"]["summary"]["counts"]["failures"], 2);
    assert!(json["data"]["cpu_seconds"].as_f64().unwrap() > 0.0, "CPU time is measured");
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("cpu-time=") && text.contains("name=\"stepkit test\""));
}

#[test]
fn failures_are_printed_whole_with_their_output() {
    if !require_tool("phpunit") {
        return;
    }
    let run = stepkit().current_dir(fixture("phpunit")).args(["test", "--", "phpunit"]).run().expect_code(1);
    assert!(run.stderr.contains("expected the answer to be 42"), "{}", run.stderr);
    assert!(run.stderr.contains("FAIL  Fixtures.FailingTest::testFails"), "{}", run.stderr);
    assert!(run.stderr.contains("Balance:"), "{}", run.stderr);
}

#[test]
fn a_php_fatal_error_loses_nothing() {
    if !require_tool("phpunit") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("fatal.xml");
    let run = stepkit()
        .current_dir(fixture("phpunit"))
        .args(["test", "--split", "file", "--junit"])
        .args([&junit])
        .args(["--", "phpunit", "--testsuite", "fatal"])
        .run()
        .expect_code(1);
    let report = read_file(&junit).unwrap();
    let mut statuses = Vec::new();
    report.walk(|_, case| statuses.push((case.name.to_string(), case.status)));
    statuses.sort();
    assert_eq!(
        statuses,
        [("testExhaustsMemory".to_string(), Status::Errored), ("testNeverRuns".to_string(), Status::Errored), ("testPassesFirst".to_string(), Status::Passed)],
        "the passed test is salvaged from the TeamCity log; the rest are errors"
    );
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("exited with status 255 (a PHP fatal error?)"), "{text}");
    assert!(text.contains("Allowed memory size"), "the fatal error's output is attached: {text}");
    assert!(run.stderr.contains("PHP Fatal error"), "{}", run.stderr);
}

#[test]
fn a_stalled_test_is_killed_and_the_run_goes_on() {
    if !require_tool("phpunit") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("stall.xml");
    let started = std::time::Instant::now();
    stepkit()
        .current_dir(fixture("phpunit"))
        .args(["test", "--split", "file", "--stall-timeout", "2s", "--junit"])
        .args([&junit])
        .args(["--", "phpunit", "--testsuite", "stall"])
        .run()
        .expect_code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "the stall did not hang the run");
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("stalled: no output and no new results for 2s"), "{text}");
    let counts = read_file(&junit).unwrap().counts();
    assert_eq!((counts.passed, counts.errors), (1, 1), "testPassesFirst is kept");
}

#[test]
fn an_order_dependent_file_is_judged_whole() {
    if !require_tool("phpunit") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("order.xml");
    let run = stepkit()
        .current_dir(fixture("phpunit"))
        .args(["--format", "json", "test", "--split", "case", "--workers", "2", "--junit"])
        .args([&junit])
        .args(["--", "phpunit", "--testsuite", "order"])
        .run()
        .expect_code(0);
    assert_eq!(run.json()["data"]["order_dependent"][0], "tests/OrderDependentTest.php");
    let counts = read_file(&junit).unwrap().counts();
    assert_eq!((counts.tests, counts.passed, counts.flaky), (2, 2, 0));
}
