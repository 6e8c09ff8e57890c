//! `stepkit junit summary`: text, markdown, JSON, exit codes.

use crate::support::{corpus, stepkit, write};

#[test]
fn failures_exit_1_with_message_and_location() {
    let report = corpus().join("dorny-test-reporter/phpunit_phpunit-paths.xml");
    let run = stepkit().args(["junit", "summary"]).args([&report]).run().expect_code(1);
    assert!(run.stderr.contains("FAIL  SampleSuite::testFailure"), "{}", run.stderr);
    assert!(run.stderr.contains("at /home/runner/work/repo/src/Fake.php:42"), "{}", run.stderr);
    assert!(run.stderr.contains("Boom"));
    assert!(run.stderr.contains("6 tests: 0 passed, 6 failed"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "text format keeps stdout clean");
}

#[test]
fn no_fail_exits_0_and_warns() {
    let report = corpus().join("dorny-test-reporter/python-xunit-pytest.xml");
    let run = stepkit().args(["junit", "summary", "--no-fail"]).args([&report]).run().expect_code(0);
    assert!(run.stderr.contains("--no-fail"), "{}", run.stderr);
}

#[test]
fn no_tests_exits_4() {
    let report = corpus().join("dorny-test-reporter/empty_jest-junit.xml");
    stepkit().args(["junit", "summary"]).args([&report]).run().expect_code(4);
}

#[test]
fn json_has_totals_failures_and_slowest() {
    let report = corpus().join("dorny-test-reporter/python-xunit-pytest.xml");
    let run = stepkit()
        .args(["--format", "json", "junit", "summary", "--slowest", "3"])
        .args([&report])
        .run()
        .expect_code(1);
    let json = run.json();
    assert_eq!(json["exit_code"], 1);
    let summary = &json["data"]["summary"];
    assert_eq!(summary["counts"]["tests"], 10);
    assert_eq!(summary["counts"]["failures"], 2);
    assert_eq!(summary["counts"]["skipped"], 2);
    assert_eq!(summary["failed"].as_array().unwrap().len(), 2);
    assert_eq!(summary["slowest"].as_array().unwrap().len(), 3);
    assert_eq!(json["outputs"]["failures"], "2");
}

#[test]
fn markdown_has_a_table_and_details() {
    let report = corpus().join("dorny-test-reporter/jest-junit.xml");
    let run =
        stepkit().args(["--format", "markdown", "junit", "summary"]).args([&report]).run().expect_code(1);
    assert!(run.stdout.contains("| Tests | Passed | Failed |"), "{}", run.stdout);
    assert!(run.stdout.contains("<details><summary>"));
    assert!(run.stdout.contains("#### Slowest tests"));
}

#[test]
fn flaky_tests_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.xml",
        r#"<testsuite name="s"><testcase classname="C" name="t"><failure message="first try"/></testcase></testsuite>"#,
    );
    write(dir.path(), "b.xml", r#"<testsuite name="s"><testcase classname="C" name="t"/></testsuite>"#);
    let run = stepkit()
        .current_dir(dir.path())
        .args(["junit", "summary", "--fold-across-files", "a.xml", "b.xml"])
        .run()
        .expect_code(0);
    assert!(run.stderr.contains("FLAKY C::t"), "{}", run.stderr);
    assert!(run.stderr.contains("(1 flaky)"), "{}", run.stderr);
}
