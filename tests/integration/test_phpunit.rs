//! `stepkit test` with real PHPUnit on tests/fixtures/phpunit.

use crate::support::{fixture, require_tool, stepkit};
use stepkit::junit::{read_file, Counts, Status};

fn serial_counts(dir: &std::path::Path, extra: &[&str]) -> Counts {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("serial.xml");
    std::process::Command::new("phpunit")
        .args(extra)
        .arg("--log-junit")
        .arg(&junit)
        .current_dir(dir)
        .output()
        .unwrap();
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
    let run = stepkit()
        .current_dir(&dir)
        .args(["--format", "json", "test", "--workers", "3", "--junit"])
        .args([&junit])
        .args(["--", "phpunit"])
        .run()
        .expect_code(1);
    let merged = read_file(&junit).unwrap().counts();
    let serial = serial_counts(&dir, &[]);
    assert_eq!(
        (merged.tests, merged.failures, merged.errors, merged.skipped),
        (serial.tests, serial.failures, serial.errors, serial.skipped)
    );
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
        [
            ("testExhaustsMemory".to_string(), Status::Errored),
            ("testNeverRuns".to_string(), Status::Errored),
            ("testPassesFirst".to_string(), Status::Passed)
        ],
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

#[test]
fn small_files_share_a_phpunit_process_through_a_generated_configuration() {
    if !require_tool("phpunit") {
        return;
    }
    // Twelve one-test files, each logging the PHP process it ran in. The configuration names a
    // default suite and a bootstrap (relative to it), and CMD selects a suite: a batch of several
    // files must keep the bootstrap and still run exactly its own files.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pids.log");
    crate::support::write(
        dir.path(),
        "phpunit.xml",
        r#"<?xml version="1.0"?>
<phpunit bootstrap="tests/bootstrap.php" defaultTestSuite="unit" cacheResult="false">
  <testsuites>
    <testsuite name="unit"><directory>tests</directory></testsuite>
    <testsuite name="other"><directory>other</directory></testsuite>
  </testsuites>
</phpunit>"#,
    );
    crate::support::write(dir.path(), "tests/bootstrap.php", "<?php define('BOOTSTRAPPED', true);\n");
    crate::support::write(dir.path(), "other/OtherTest.php", "<?php\nclass OtherTest extends PHPUnit\\Framework\\TestCase { public function testNo(): void { $this->fail('not selected'); } }\n");
    for i in 1..=12 {
        let body = format!(
            "<?php\nclass Small{i}Test extends PHPUnit\\Framework\\TestCase {{\n  public function testRuns(): void {{\n    $this->assertTrue(defined('BOOTSTRAPPED'));\n    file_put_contents(getenv('PID_LOG'), getmypid() . \" Small{i}Test\\n\", FILE_APPEND | LOCK_EX);\n  }}\n}}\n"
        );
        crate::support::write(dir.path(), &format!("tests/Small{i}Test.php"), body);
    }
    let junit = dir.path().join("merged.xml");
    let run = stepkit()
        .current_dir(dir.path())
        .env("PID_LOG", &log)
        .args(["--format", "json", "test", "--workers", "2", "--junit"])
        .args([&junit])
        .args(["--", "phpunit", "--testsuite", "unit"])
        .run()
        .expect_code(0);
    let processes = crate::support::processes_running_each_test_once(&log, 12);
    let batches = run.json()["data"]["batches"].as_u64().unwrap();
    assert!(
        batches < 12 && processes as u64 == batches,
        "{batches} batches in {processes} processes for 12 files"
    );
    let counts = read_file(&junit).unwrap().counts();
    assert_eq!((counts.tests, counts.failures, counts.errors), (12, 0, 0));
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".stepkit-batch"))
        .collect();
    assert!(left.is_empty(), "generated configurations are removed: {left:?}");
}
