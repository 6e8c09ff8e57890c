//! `stepkit junit merge`: lossless, deduplicated, profiles, broken and missing inputs.

use crate::support::{corpus, fixture, require_tool, stepkit, write};
use stepkit::junit::{read_file, Status};

const SHARD_1: &str = r#"<?xml version="1.0"?>
<testsuites><testsuite name="suite" time="1.5" hostname="agent-1">
  <properties><property name="seed" value="42"/></properties>
  <testcase classname="UserTest" name="testCreate" file="tests/UserTest.php" line="10" time="0.5"/>
  <testcase classname="UserTest" name="testDelete" file="tests/UserTest.php" line="20" time="1.0">
    <failure type="AssertionError" message="expected 1, got 2">tests/UserTest.php:22</failure>
    <system-out>debug output</system-out>
  </testcase>
</testsuite></testsuites>"#;

const SHARD_2: &str = r#"<?xml version="1.0"?>
<testsuite name="suite" time="2">
  <testcase classname="UserTest" name="testDelete" file="tests/UserTest.php" line="20" time="0.9"/>
  <testcase classname="OrderTest" name="testTotal" file="tests/OrderTest.php" line="5" time="1.1"><skipped message="no db"/></testcase>
</testsuite>"#;

#[test]
fn merge_joins_shards_folds_retries_and_recomputes_counts() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "reports/shard-1.xml", SHARD_1);
    write(dir.path(), "reports/shard-2.xml", SHARD_2);
    let out = dir.path().join("out/merged.xml");
    let run = stepkit()
        .current_dir(dir.path())
        // The shards overlap on testDelete, a retry: the user says the files are one run.
        .args([
            "--format",
            "json",
            "junit",
            "merge",
            "--fold-across-files",
            "reports/*.xml",
            "-o",
            "out/merged.xml",
        ])
        .run()
        .expect_code(0);
    let json = run.json();
    assert_eq!(json["verdict"], "passed");
    assert_eq!(json["data"]["duplicates"], 1);
    assert_eq!(json["data"]["counts"]["tests"], 3);
    assert_eq!(json["data"]["counts"]["flaky"], 1);
    assert!(run.stderr.contains("merged 2 reports"), "{}", run.stderr);

    let merged = read_file(&out).unwrap();
    assert_eq!(merged.suites.len(), 1, "same-named suites join");
    let suite = &merged.suites[0];
    assert_eq!(suite.time, Some(3.5), "suite times add up");
    assert_eq!(suite.properties.len(), 1);
    let delete = suite.cases.iter().find(|c| &*c.name == "testDelete").unwrap();
    assert_eq!(delete.status, Status::Passed);
    assert!(delete.is_flaky());
    let rerun = &delete.reruns()[0];
    assert_eq!(rerun.message.as_deref(), Some("expected 1, got 2"));
    assert_eq!(rerun.system_out.as_deref(), Some("debug output"), "output of the failed attempt is kept");
    assert_eq!(delete.file.as_deref(), Some("tests/UserTest.php"));
    assert_eq!(delete.line, Some(20));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains(
            r#"<testsuites name="merged: 2 reports" tests="3" failures="0" errors="0" skipped="1""#
        ),
        "{text}"
    );
}

#[test]
fn missing_empty_and_broken_inputs_become_error_cases_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.xml", SHARD_2);
    write(dir.path(), "empty.xml", "");
    write(dir.path(), "truncated.xml", &SHARD_1[..SHARD_1.len() / 2]);
    let out = dir.path().join("merged.xml");
    let run = stepkit()
        .current_dir(dir.path())
        .args([
            "junit",
            "merge",
            "good.xml",
            "empty.xml",
            "truncated.xml",
            "missing.xml",
            "nothing/*.xml",
            "-o",
            "merged.xml",
        ])
        .run()
        .expect_code(0);
    for needle in ["empty.xml", "truncated.xml", "missing.xml", "nothing/*.xml"] {
        assert!(run.stderr.contains(needle), "stderr names {needle}:\n{}", run.stderr);
    }
    let merged = read_file(&out).unwrap();
    let counts = merged.counts();
    assert_eq!(counts.errors, 4, "one error case per bad input");
    assert_eq!(counts.tests, 6);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("the file is empty"));
    assert!(text.contains("truncated"));
}

#[test]
fn jenkins_xunit_profile_validates_against_the_strict_schema() {
    if !require_tool("xmllint") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("xunit.xml");
    let pattern = format!("{}/*/*.xml", corpus().display());
    stepkit()
        .args(["junit", "merge", &pattern, "--profile", "jenkins-xunit", "-o"])
        .args([&out])
        .run()
        .expect_code(0);
    let schema = fixture("schemas/jenkins-xunit-junit-10.xsd");
    let status = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "xmllint rejected the jenkins-xunit output:\n{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // The default profile is a superset and is expected NOT to validate (file/line attributes):
    // this proves the check above can fail.
    let superset = dir.path().join("default.xml");
    stepkit().args(["junit", "merge", &pattern, "-o"]).args([&superset]).run().expect_code(0);
    let status = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&superset)
        .output()
        .unwrap();
    assert!(!status.status.success());
}

#[test]
fn gitlab_profile_puts_messages_in_the_text() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.xml",
        r#"<testsuite name="s"><testcase name="t" classname="C" file="a.py"><failure message="assert 1 == 2"/></testcase></testsuite>"#,
    );
    stepkit()
        .current_dir(dir.path())
        .args(["junit", "merge", "a.xml", "--profile", "gitlab", "-o", "g.xml"])
        .run()
        .expect_code(0);
    let text = std::fs::read_to_string(dir.path().join("g.xml")).unwrap();
    assert!(text.contains(">assert 1 == 2</failure>"), "{text}");
    assert!(text.contains(r#"file="a.py""#));
}

#[test]
fn no_tests_at_all_exits_4_but_still_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.xml", "<testsuites/>");
    let run = stepkit().current_dir(dir.path()).args(["junit", "merge", "e.xml", "-o", "m.xml"]).run();
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(dir.path().join("m.xml").is_file());
}

#[test]
fn unwritable_output_is_an_environment_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.xml", SHARD_2);
    write(dir.path(), "blocker", "a file, not a directory");
    let run =
        stepkit().current_dir(dir.path()).args(["junit", "merge", "a.xml", "-o", "blocker/out.xml"]).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("error: failed to write merged report blocker/out.xml"), "{}", run.stderr);
}
