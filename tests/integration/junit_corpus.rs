//! Every report in tests/fixtures/junit-corpus reads, with the counts the file really holds.

use crate::support::{corpus, stepkit};
use stepkit::junit::read_file;

/// (file, tests, failures, errors, skipped, flaky), counted from the <testcase> elements
/// themselves (declared totals in several files are wrong: testcase1 says tests="12" for 2 cases).
const EXPECTED: &[(&str, u64, u64, u64, u64, u64)] = &[
    ("dorny-test-reporter/empty_java-junit.xml", 0, 0, 0, 0, 0),
    ("dorny-test-reporter/empty_jest-junit-empty-testsuite.xml", 0, 0, 0, 0, 0),
    ("dorny-test-reporter/empty_jest-junit.xml", 0, 0, 0, 0, 0),
    ("dorny-test-reporter/empty_phpunit-empty.xml", 0, 0, 0, 0, 0),
    (
        "dorny-test-reporter/external_java_TEST-org.apache.pulsar.AddMissingPatchVersionTest.xml",
        2,
        1,
        0,
        1,
        0,
    ),
    ("dorny-test-reporter/external_java_empty_failures.xml", 3, 1, 0, 0, 0),
    ("dorny-test-reporter/external_java_junit4-basic.xml", 6, 1, 0, 0, 0),
    ("dorny-test-reporter/external_java_junit4-complete.xml", 8, 1, 1, 1, 0),
    ("dorny-test-reporter/external_java_pulsar-test-report.xml", 808, 1, 0, 14, 0),
    ("dorny-test-reporter/external_jest_jest-react-component-test-results.xml", 1, 0, 0, 0, 0),
    ("dorny-test-reporter/external_jest_jest-test-results.xml", 4239, 2, 0, 30, 0),
    ("dorny-test-reporter/external_phpunit_junit-basic.xml", 9, 1, 0, 0, 0),
    ("dorny-test-reporter/external_phpunit_phpcheckstyle-phpunit.xml", 30, 2, 0, 0, 0),
    ("dorny-test-reporter/jest-junit-eslint.xml", 1, 0, 0, 0, 0),
    ("dorny-test-reporter/jest-junit.xml", 6, 4, 0, 1, 0),
    ("dorny-test-reporter/junit-with-message.xml", 1, 1, 0, 0, 0),
    ("dorny-test-reporter/nette-tester_BootstrapFormRenderer-report.xml", 4, 0, 0, 0, 0),
    ("dorny-test-reporter/nette-tester_tester-v1.7-report.xml", 65, 1, 0, 3, 0),
    ("dorny-test-reporter/phpunit_phpunit-paths.xml", 6, 6, 0, 0, 0),
    ("dorny-test-reporter/phpunit_phpunit.xml", 12, 2, 0, 0, 0),
    ("dorny-test-reporter/python-xunit-pytest.xml", 10, 2, 0, 2, 0),
    ("dorny-test-reporter/python-xunit-unittest.xml", 8, 1, 1, 2, 0),
    ("dorny-test-reporter/swift-xunit.xml", 3, 1, 0, 0, 0),
    ("dorny-test-reporter/test-errors_jest_jest-test-results.xml", 2, 0, 2, 0, 0),
    ("jenkins-xunit-plugin/testcase1_input.xml", 2, 0, 0, 0, 0),
    ("jenkins-xunit-plugin/testcase2_input.xml", 2, 0, 0, 0, 0),
    ("jenkins-xunit-plugin/testcase3_input.xml", 32, 0, 1, 0, 0),
    ("jenkins-xunit-plugin/testcase4_input.xml", 1, 0, 0, 0, 0),
    ("jenkins-xunit-plugin/testcase5_input.xml", 6, 1, 0, 0, 0),
    ("jenkins-xunit-plugin/testcase6_input.xml", 3, 1, 0, 0, 1),
];

#[test]
fn every_corpus_file_reads_with_its_real_counts() {
    let mut seen = 0;
    for entry in walk(&corpus()) {
        let rel = entry.strip_prefix(corpus()).unwrap().display().to_string();
        let expected = EXPECTED
            .iter()
            .find(|e| e.0 == rel)
            .unwrap_or_else(|| panic!("corpus file {rel} has no expected counts"));
        let report = read_file(&entry).unwrap_or_else(|e| panic!("{e}"));
        let c = report.counts();
        assert_eq!(
            (c.tests, c.failures, c.errors, c.skipped, c.flaky),
            (expected.1, expected.2, expected.3, expected.4, expected.5),
            "{rel}"
        );
        seen += 1;
    }
    assert_eq!(seen, EXPECTED.len(), "every expected file exists");
}

#[test]
fn surefire_flaky_and_rerun_elements_are_kept() {
    let report = read_file(&corpus().join("jenkins-xunit-plugin/testcase6_input.xml")).unwrap();
    let mut flaky_runs = 0;
    let mut rerun_runs = 0;
    report.walk(|_, case| {
        for rerun in case.reruns() {
            match rerun.kind {
                stepkit::junit::RerunKind::FlakyFailure | stepkit::junit::RerunKind::FlakyError => {
                    flaky_runs += 1
                }
                _ => rerun_runs += 1,
            }
            assert!(rerun.stack_trace.is_some(), "stackTrace is kept");
            assert!(rerun.system_out.is_some(), "system-out of a rerun is kept");
        }
    });
    assert_eq!((flaky_runs, rerun_runs), (3, 5));
}

#[test]
fn merging_the_whole_corpus_keeps_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.xml");
    let pattern = format!("{}/*/*.xml", corpus().display());
    let run = stepkit()
        .args(["--format", "json", "junit", "merge", &pattern, "-o"])
        .args([&out])
        .run()
        .expect_code(0);
    let json = run.json();
    let counts = &json["data"]["counts"];
    // Each file is a run of its own: cases fold only with a repeat of the same identity (suite path,
    // classname, name, file) in the same file. 236 such repeats among the 5,270 cases, counted
    // independently with Python's ElementTree; 7 more identities recur across files, and those four
    // files are kept apart rather than folded.
    let individual: u64 = EXPECTED.iter().map(|e| e.1).sum();
    assert_eq!(individual, 5270);
    let tests = counts["tests"].as_u64().unwrap();
    assert_eq!(tests, 5270 - 236);
    assert_eq!(json["data"]["duplicates"], 236);
    let apart: Vec<String> = json["data"]["separate_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        apart,
        [
            "external_java_TEST-org.apache.pulsar.AddMissingPatchVersionTest.xml",
            "external_java_junit4-basic.xml",
            "external_java_pulsar-test-report.xml",
            "external_phpunit_junit-basic.xml"
        ]
    );
    let merged = read_file(&out).unwrap();
    assert_eq!(merged.counts().tests, tests);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "xml") {
            files.push(path);
        }
    }
    files.sort();
    files
}
