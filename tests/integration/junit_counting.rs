//! Counting what foreign reports say: anonymous cases, disabled tests, folds, bad attributes, cut files, wrong time units.

use crate::support::{fixture, require_tool, stepkit, write};
use stepkit::junit::read_file;

fn summary_json(dir: &std::path::Path, args: &[&str], code: i32) -> serde_json::Value {
    stepkit()
        .current_dir(dir)
        .args(["--format", "json", "junit", "summary"])
        .args(args)
        .run()
        .expect_code(code)
        .json()
}

#[test]
fn cases_without_name_classname_or_file_each_count() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "anon.xml",
        r#"<testsuite name="s">
  <testcase><failure message="f"/></testcase>
  <testcase><error message="e"/></testcase>
  <testcase><skipped/></testcase>
  <testcase/>
</testsuite>"#,
    );
    let json = summary_json(dir.path(), &["anon.xml"], 1);
    let c = &json["data"]["summary"]["counts"];
    let got = ["tests", "passed", "failures", "errors", "skipped", "flaky"].map(|k| c[k].as_u64().unwrap());
    assert_eq!(got, [4, 1, 1, 1, 1, 0], "{c}");
    assert_eq!(json["data"]["duplicates"], 0);
}

#[test]
fn disabled_tests_are_written_as_skipped_for_jenkins_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "gtest.xml",
        r#"<testsuites name="AllTests"><testsuite name="Math" tests="3" disabled="2">
  <testcase name="Adds" classname="Math" status="run" time="0.001"/>
  <testcase name="DISABLED_Divides" classname="Math" status="disabled" time="0"/>
  <testcase name="NotRun" classname="Math" status="notrun"><system-out>kept</system-out></testcase>
</testsuite></testsuites>"#,
    );
    for profile in ["jenkins-xunit", "gitlab", "default"] {
        let out = format!("{profile}.xml");
        stepkit()
            .current_dir(dir.path())
            .args(["junit", "merge", "gtest.xml", "--profile", profile, "-o", &out])
            .run()
            .expect_code(0);
        let text = std::fs::read_to_string(dir.path().join(&out)).unwrap();
        assert_eq!(text.matches("<skipped/>").count(), 2, "{profile}: {text}");
        // Read back with nothing but the elements: the counts agree with the suite's skipped="2".
        let counts = read_file(&dir.path().join(&out)).unwrap().counts();
        assert_eq!((counts.tests, counts.skipped, counts.passed), (3, 2, 1), "{profile}");
        assert!(text.contains(r#"skipped="2""#), "{text}");
    }
    if require_tool("xmllint") {
        let schema = fixture("schemas/jenkins-xunit-junit-10.xsd");
        let check = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&schema)
            .arg(dir.path().join("jenkins-xunit.xml"))
            .output()
            .unwrap();
        assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    }
}

#[test]
fn summary_says_when_it_folded_repeated_results() {
    let dir = tempfile::tempdir().unwrap();
    // PHPUnit 9 reports every test of a class that skips in setUpBeforeClass again under --filter.
    write(
        dir.path(),
        "phpunit.xml",
        r#"<testsuite name="S"><testcase class="T" classname="T" name="a"><skipped/></testcase><testcase class="T" classname="T" name="a"><skipped/></testcase><testcase classname="T" name="b"/></testsuite>"#,
    );
    let run =
        stepkit().current_dir(dir.path()).args(["junit", "summary", "phpunit.xml"]).run().expect_code(0);
    assert!(run.stderr.contains("2 tests: 1 passed, 0 failed, 0 errors, 1 skipped"), "{}", run.stderr);
    assert!(run.stderr.contains("folded 1 repeated result of a test into one"), "{}", run.stderr);
    assert_eq!(summary_json(dir.path(), &["phpunit.xml"], 0)["data"]["duplicates"], 1);
}

/// The message `junit summary` gives for an unreadable `name` holding `content`.
fn problem(name: &str, content: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), name, content);
    let json = summary_json(dir.path(), &[name], 1);
    json["data"]["problems"][0].as_str().unwrap_or_else(|| panic!("no problem reported: {json}")).to_string()
}

#[test]
fn a_raw_less_than_in_an_attribute_is_malformed_and_named_by_file_and_line() {
    let message = problem("computed.xml", "<testsuite name=\"s\">\n  <testcase name=\"a\"/>\n  <testcase name=\"b\" time=\"<<computed>>\"/>\n</testsuite>\n");
    assert!(message.contains("computed.xml at line 3"), "{message}");
    assert!(message.contains("`<` inside the value of attribute `time`"), "{message}");
}

#[test]
fn a_cut_file_names_the_element_really_open() {
    for (element, open) in [
        ("skipped", "<skipped>not on"),
        ("error", "<error message=\"x\">Trace"),
        ("failure", "<failure>assert"),
    ] {
        let message = problem("cut.xml", &format!("<testsuite name=\"s\"><testcase name=\"a\">{open}"));
        assert!(message.contains(&format!("ends inside <{element}>")), "{element}: {message}");
    }
}

/// Shaped like container-structure-test's report: Go durations in nanoseconds in `time`.
const NANOSECONDS: &str = r#"<?xml version="1.0"?>
<testsuites failures="0" tests="3" time="2513904114"><testsuite name="structure"><testcase name="Command Test: apt-get upgrade" time="1203418500"/><testcase name="File Existence Test: Root" time="902145"/><testcase name="Metadata Test" time="1309583469"/></testsuite></testsuites>"#;

const SECONDS: &str = r#"<testsuite name="unit" time="3.5"><testcase classname="U" name="slow" time="3"/><testcase classname="U" name="quick" time="0.5"/></testsuite>"#;

#[test]
fn nanosecond_times_are_named_and_do_not_dominate_totals_or_slowest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cst.xml", NANOSECONDS);
    write(dir.path(), "unit.xml", SECONDS);
    let json = summary_json(dir.path(), &["--slowest", "2", "cst.xml", "unit.xml"], 0);
    let summary = &json["data"]["summary"];
    assert_eq!(summary["counts"]["tests"], 5);
    assert_eq!(summary["counts"]["time"], 3.5, "only the file in seconds counts: {summary}");
    let slowest: Vec<&str> =
        summary["slowest"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(slowest, ["U::slow", "U::quick"]);
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].as_str().unwrap();
    assert!(warning.starts_with("cst.xml: its times are not seconds"), "{warning}");

    stepkit()
        .current_dir(dir.path())
        .args(["junit", "merge", "cst.xml", "unit.xml", "-o", "m.xml"])
        .run()
        .expect_code(0);
    let merged = std::fs::read_to_string(dir.path().join("m.xml")).unwrap();
    assert!(!merged.contains("1203418500"), "{merged}");
    assert!(
        merged.contains(r#"name="stepkit.ignored-times""#),
        "the merged file says why the times are gone: {merged}"
    );
}
