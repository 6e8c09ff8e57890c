//! TRX, NUnit 3 and xUnit.net reports from public corpora read into the JUnit model with counts
//! checked independently, and `junit merge`/`summary` taking them like any JUnit file.

use crate::support::{fixture, stepkit, write};
use std::path::PathBuf;
use stepkit::junit::{read_file, Case, ProblemKind, Report, Status};

/// (file, tests, passed, failures, errors, skipped): the output of tests/fixtures/dialects/count.py,
/// an ElementTree walk written apart from the reader (see the README there for how it was checked
/// against the counts each project publishes).
const EXPECTED: &[(&str, u64, u64, u64, u64, u64)] = &[
    ("dorny-test-reporter/SilentNotes.trx", 79, 67, 0, 0, 12),
    ("dorny-test-reporter/dotnet-nunit.xml", 9, 3, 3, 2, 1),
    ("dorny-test-reporter/dotnet-trx.trx", 11, 5, 5, 0, 1),
    ("dorny-test-reporter/dotnet-xunitv3.trx", 4, 1, 3, 0, 0),
    ("dorny-test-reporter/nunit-sample.xml", 19, 12, 1, 4, 2),
    ("publish-unit-test-result-action/nunit3-clicketyclackety.xml", 23, 13, 1, 9, 0),
    ("publish-unit-test-result-action/nunit3-issue33493.xml", 2, 1, 0, 0, 1),
    ("publish-unit-test-result-action/nunit3-issue44527.xml", 160, 6, 1, 153, 0),
    ("publish-unit-test-result-action/nunit3-issue50162.xml", 6, 3, 3, 0, 0),
    ("publish-unit-test-result-action/nunit3-timewarpinc.xml", 1, 0, 0, 1, 0),
    ("publish-unit-test-result-action/trx-mstest-pickles.trx", 4, 3, 1, 0, 0),
    ("publish-unit-test-result-action/trx-nunit-net461-sample.trx", 6, 2, 3, 0, 1),
    ("publish-unit-test-result-action/trx-yami.trx", 25, 2, 2, 2, 19),
    ("publish-unit-test-result-action/xunit-fixie.xml", 7, 3, 3, 0, 1),
    ("publish-unit-test-result-action/xunit-jenkinsci-testcase1.xml", 3, 1, 1, 0, 1),
    ("publish-unit-test-result-action/xunit-jenkinsci-testcase3.xml", 3, 1, 1, 0, 1),
    ("publish-unit-test-result-action/xunit-jenkinsci-testcase5.xml", 5, 5, 0, 0, 0),
    ("publish-unit-test-result-action/xunit-jenkinsci-testcase6.xml", 1, 0, 1, 0, 0),
    ("publish-unit-test-result-action/xunit1-pickles.xml", 4, 3, 1, 0, 0),
];

fn dialects() -> PathBuf {
    fixture("dialects")
}

fn read(name: &str) -> Report {
    read_file(&dialects().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Every case with its suite path, in document order.
fn cases(report: &Report) -> Vec<(String, Case)> {
    let mut all = Vec::new();
    report.walk(|path, case| all.push((path.join(" / "), case.clone())));
    all
}

fn case<'a>(all: &'a [(String, Case)], name: &str) -> &'a Case {
    let found: Vec<_> = all.iter().filter(|(_, c)| &*c.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one case named {name:?}: {:?}",
        all.iter().map(|(_, c)| &c.name).collect::<Vec<_>>()
    );
    &found[0].1
}

#[test]
fn every_dialect_fixture_reads_with_its_independently_counted_results() {
    let mut files: Vec<String> = std::fs::read_dir(dialects())
        .unwrap()
        .flat_map(|dir| std::fs::read_dir(dir.unwrap().path()).into_iter().flatten())
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml" || e == "trx"))
        .map(|p| p.strip_prefix(dialects()).unwrap().display().to_string())
        .collect();
    files.sort();
    let listed: Vec<_> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    assert_eq!(files, listed, "every fixture has expected counts, and every expected file exists");
    for (name, tests, passed, failures, errors, skipped) in EXPECTED {
        let c = read(name).counts();
        assert_eq!(
            (c.tests, c.passed, c.failures, c.errors, c.skipped),
            (*tests, *passed, *failures, *errors, *skipped),
            "{name}"
        );
    }
}

#[test]
fn trx_keeps_class_message_trace_output_duration_and_theory_rows() {
    let report = read("dorny-test-reporter/dotnet-trx.trx");
    assert_eq!(report.suites.len(), 1);
    assert_eq!(&*report.suites[0].name, "dotnettests.xunittests.dll", "one suite per test assembly");
    let all = cases(&report);
    let failing = case(&all, "Failing_Test");
    assert_eq!(
        failing.classname.as_deref(),
        Some("DotnetTests.XUnitTests.CalculatorTests"),
        "class from <TestDefinitions>"
    );
    assert_eq!(failing.status, Status::Failed);
    assert_eq!(failing.time, Some(0.0038697), "hh:mm:ss.fffffff read as seconds");
    let problem = failing.first_problem().unwrap();
    assert!(problem.message.as_deref().unwrap().starts_with("Assert.Equal() Failure"), "{problem:?}");
    assert!(problem.text.as_deref().unwrap().contains("CalculatorTests.cs:line 27"), "{problem:?}");
    let skipped = case(&all, "Skipped_Test");
    assert_eq!(skipped.status, Status::Skipped);
    assert_eq!(
        skipped.first_problem().unwrap().ty.as_deref(),
        Some("NotExecuted"),
        "the TRX outcome is kept"
    );
    assert_eq!(skipped.detail.as_ref().unwrap().system_out.as_deref(), Some("Skipped test"));
    // Each theory row is its own test; custom display names stay whole.
    assert_eq!(case(&all, "Is_Even_Number(i: 2)").status, Status::Passed);
    assert_eq!(case(&all, "Is_Even_Number(i: 3)").status, Status::Failed);
    assert_eq!(case(&all, "Should be even number(i: 3)").status, Status::Failed);
    assert_eq!(case(&all, "Custom Name").status, Status::Passed);
}

#[test]
fn trx_class_cleanup_failures_and_vs2015_error_outcomes_count() {
    let all = cases(&read("dorny-test-reporter/dotnet-xunitv3.trx"));
    assert_eq!(
        case(&all, "[Test Class Cleanup Failure (DotnetTests.XUnitV3Tests.FixtureTests.Passing_Test)]")
            .status,
        Status::Failed
    );
    // Visual Studio 2015 writes <ResultSummary> before <Results>, and Aborted/NotRunnable outcomes.
    let all = cases(&read("publish-unit-test-result-action/trx-yami.trx"));
    let aborted = case(&all, "EST_SEG_TEMPTest");
    assert_eq!(aborted.status, Status::Errored);
    assert_eq!(aborted.first_problem().unwrap().ty.as_deref(), Some("Aborted"));
    assert_eq!(case(&all, "CompareTest").status, Status::Errored, "NotRunnable is an error");
}

#[test]
fn nunit_keeps_the_suite_tree_labels_reasons_and_parameterized_rows() {
    let report = read("dorny-test-reporter/dotnet-nunit.xml");
    let all = cases(&report);
    let (path, row) = all.iter().find(|(_, c)| &*c.name == "Is_Even_Number(3)").unwrap();
    assert_eq!(
        path, "DotnetTests.NUnitV3Tests.dll / DotnetTests / XUnitTests / CalculatorTests / Is_Even_Number",
        "assembly, namespaces, fixture, theory"
    );
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.classname.as_deref(), Some("DotnetTests.XUnitTests.CalculatorTests"));
    assert_eq!(row.time, Some(0.001098));
    assert_eq!(case(&all, "Is_Even_Number(2)").status, Status::Passed, "each row counts");
    let error = case(&all, "Exception_In_Test");
    assert_eq!(error.status, Status::Errored, "Failed with label Error");
    let problem = error.first_problem().unwrap();
    assert_eq!((problem.kind, problem.ty.as_deref()), (ProblemKind::Error, Some("Error")));
    assert_eq!(problem.message.as_deref(), Some("System.Exception : Test"));
    assert!(problem.text.as_deref().unwrap().contains("CalculatorTests.cs:line 39"));
    let skipped = all.iter().map(|(_, c)| c).find(|c| c.status == Status::Skipped).unwrap();
    assert!(skipped.first_problem().unwrap().message.is_some(), "the skip reason is kept: {skipped:?}");
}

#[test]
fn nunit_fixture_that_cannot_run_is_an_error_not_a_lost_test() {
    // mock-assembly's BadFixture (label Invalid, "No suitable constructor") lists no test case:
    // dropping it would lose a test NUnit counts as not runnable.
    let all = cases(&read("dorny-test-reporter/nunit-sample.xml"));
    let bad = case(&all, "BadFixture (suite)");
    assert_eq!(bad.status, Status::Errored);
    assert_eq!(bad.first_problem().unwrap().message.as_deref(), Some("No suitable constructor was found"));
    // Early NUnit 3 wrote no classname: it comes from the full name.
    assert_eq!(
        case(&all, "FailingTest").classname.as_deref(),
        Some("NUnit.Tests.Assemblies.MockTestFixture")
    );
}

#[test]
fn xunit_keeps_type_reason_exception_type_and_decimal_comma_times() {
    let all = cases(&read("publish-unit-test-result-action/xunit-jenkinsci-testcase3.xml"));
    let failed = case(&all, "FailedTest");
    assert_eq!(failed.classname.as_deref(), Some("MyProject.Tests.SampleFact"));
    assert_eq!(failed.time, Some(0.014), "0,014 is a decimal comma, not 14 s");
    let problem = failed.first_problem().unwrap();
    assert_eq!(problem.ty.as_deref(), Some("Xunit.Sdk.TrueException"));
    assert_eq!(problem.message.as_deref(), Some("Assert.True() Failure"));
    assert!(problem.text.as_deref().unwrap().contains("SampleFact.cs:line 16"));
    assert_eq!(case(&all, "SkippedTest").first_problem().unwrap().message.as_deref(), Some("On Purpose"));
    let report = read("publish-unit-test-result-action/xunit-jenkinsci-testcase5.xml");
    assert_eq!(&*report.suites[0].name, "UnitTest.DLL");
    assert_eq!(&*report.suites[0].suites[0].name, "Test collection for UnitTest.UnitTest");
    let all = cases(&report);
    let output = case(&all, "Install application.").detail.as_ref().unwrap().system_out.as_deref().unwrap();
    assert!(output.starts_with("Starting test: InstallApplication"), "{output}");
}

#[test]
fn merge_takes_every_dialect_beside_junit_and_the_output_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.xml");
    let inputs = [
        "dorny-test-reporter/dotnet-trx.trx",
        "dorny-test-reporter/dotnet-nunit.xml",
        "publish-unit-test-result-action/xunit-fixie.xml",
    ];
    let junit = write(
        dir.path(),
        "junit.xml",
        r#"<testsuite name="php"><testcase classname="A" name="b"/></testsuite>"#,
    );
    let run = stepkit()
        .args(["--format", "json", "junit", "merge"])
        .args(inputs.iter().map(|i| dialects().join(i)))
        .args([&junit])
        .args(["-o"])
        .args([&out])
        .run()
        .expect_code(0);
    let counts = &run.json()["data"]["counts"];
    let expected: u64 = EXPECTED.iter().filter(|e| inputs.contains(&e.0)).map(|e| e.1).sum::<u64>() + 1;
    assert_eq!(counts["tests"].as_u64(), Some(expected), "{}", run.stderr);
    assert!(
        run.json()["data"]["problems"].as_array().is_none_or(|p| p.is_empty()),
        "no input was unreadable: {}",
        run.stdout
    );
    let merged = read_file(&out).unwrap();
    assert_eq!(merged.counts().tests, expected);
    assert_eq!(merged.counts().failures + merged.counts().errors, 5 + 5 + 3);
}

#[test]
fn summary_reports_trx_failures_with_their_messages() {
    let run = stepkit()
        .args(["junit", "summary"])
        .args([dialects().join("dorny-test-reporter/dotnet-trx.trx")])
        .run()
        .expect_code(1);
    assert!(run.stderr.contains("11 tests: 5 passed, 5 failed"), "{}", run.stderr);
    assert!(run.stderr.contains("DotnetTests.XUnitTests.CalculatorTests::Failing_Test"), "{}", run.stderr);
    assert!(run.stderr.contains("Assert.Equal() Failure"), "{}", run.stderr);
    let run = stepkit()
        .args(["junit", "summary"])
        .args([dialects().join("publish-unit-test-result-action/xunit-jenkinsci-testcase5.xml")])
        .run();
    run.expect_code(0);
}
