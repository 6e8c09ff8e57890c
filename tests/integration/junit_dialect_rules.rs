//! The documented mapping of every TRX outcome, NUnit result/label and xUnit.net result, the
//! verdicts that live outside test cases, and hostile TRX/NUnit/xUnit input refused by name.

use crate::support::{stepkit, write};
use std::io::Write;
use stepkit::junit::{parse_bytes, Case, ReadErrorKind, Report, Status};

fn parse(xml: &str) -> Report {
    parse_bytes(xml.as_bytes(), "input").unwrap_or_else(|e| panic!("{e}"))
}

fn cases(report: &Report) -> Vec<Case> {
    let mut all = Vec::new();
    report.walk(|_, case| all.push(case.clone()));
    all
}

fn status_of(all: &[Case], name: &str) -> Status {
    all.iter().find(|c| &*c.name == name).unwrap_or_else(|| panic!("no case {name}: {all:?}")).status
}

/// A TRX result per outcome of vstst.xsd's TestOutcome enumeration, plus a missing and an unknown one.
#[test]
fn every_trx_outcome_maps_as_documented() {
    let outcomes = [
        ("Passed", Status::Passed),
        ("Completed", Status::Passed),
        ("PassedButRunAborted", Status::Passed),
        ("Warning", Status::Passed),
        ("Failed", Status::Failed),
        ("NotExecuted", Status::Skipped),
        ("Inconclusive", Status::Skipped),
        ("Error", Status::Errored),
        ("Timeout", Status::Errored),
        ("Aborted", Status::Errored),
        ("NotRunnable", Status::Errored),
        ("Disconnected", Status::Errored),
        ("InProgress", Status::Errored),
        ("Pending", Status::Errored),
        ("Exploded", Status::Errored),
    ];
    let mut xml =
        String::from(r#"<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results>"#);
    for (outcome, _) in outcomes {
        xml.push_str(&format!(
            r#"<UnitTestResult testName="T{outcome}" outcome="{outcome}" duration="00:00:01.5000000"/>"#
        ));
    }
    xml.push_str(r#"<UnitTestResult testName="TNone"/></Results></TestRun>"#);
    let all = cases(&parse(&xml));
    assert_eq!(all.len(), outcomes.len() + 1);
    for (outcome, expected) in outcomes {
        let case = all.iter().find(|c| *c.name == format!("T{outcome}")).unwrap();
        assert_eq!(case.status, expected, "{outcome}");
        assert_eq!(case.time, Some(1.5));
        if expected != Status::Passed && outcome != "Failed" {
            assert_eq!(
                case.first_problem().unwrap().ty.as_deref(),
                Some(outcome),
                "the outcome is kept in the type"
            );
        }
    }
    assert_eq!(status_of(&all, "TNone"), Status::Errored, "a result without an outcome is never a pass");
}

/// MSTest data-driven results: rows under <InnerResults>, all named after the method, told apart
/// by dataRowInfo; the parent only summarises them.
#[test]
fn trx_data_rows_each_count_and_the_parent_does_not() {
    let xml = r#"<TestRun><Results>
      <UnitTestResult testId="p" testName="Add" outcome="Failed" resultType="DataDrivenTest"><InnerResults>
        <UnitTestResult testId="p" testName="Add" outcome="Passed" dataRowInfo="1" resultType="DataDrivenDataRow"/>
        <UnitTestResult testId="p" testName="Add" outcome="Failed" dataRowInfo="2" resultType="DataDrivenDataRow"><Output><ErrorInfo><Message>2 + 2 != 5</Message></ErrorInfo></Output></UnitTestResult>
        <UnitTestResult testId="p" testName="Add" outcome="Passed" dataRowInfo="3" resultType="DataDrivenDataRow"/>
      </InnerResults></UnitTestResult>
      <UnitTestResult testId="q" testName="Load" outcome="Error"><Output><ErrorInfo><Message>data source missing</Message></ErrorInfo></Output><InnerResults>
        <UnitTestResult testId="q" testName="Load" outcome="Passed" dataRowInfo="1"/>
      </InnerResults></UnitTestResult>
    </Results><TestDefinitions>
      <UnitTest id="p" storage="/x/Calc.Tests.dll"><TestMethod className="Calc.Tests.AddTests, Calc.Tests, Version=1.0.0.0" name="Add"/></UnitTest>
    </TestDefinitions></TestRun>"#;
    let report = parse(xml);
    let all = cases(&report);
    let names: Vec<&str> = all.iter().map(|c| &*c.name).collect();
    assert_eq!(
        names,
        ["Add (data row 1)", "Add (data row 2)", "Add (data row 3)", "Load (data row 1)", "Load"]
    );
    assert_eq!(status_of(&all, "Add (data row 2)"), Status::Failed);
    assert_eq!(all[0].classname.as_deref(), Some("Calc.Tests.AddTests"), "the assembly qualification is cut");
    assert_eq!(
        status_of(&all, "Load"),
        Status::Errored,
        "a failed parent whose rows all passed still counts"
    );
    assert_eq!(&*report.suites[0].name, "Calc.Tests.dll");
}

#[test]
fn a_trx_run_that_failed_without_a_failed_test_is_an_error_case() {
    let xml = r#"<TestRun><ResultSummary outcome="Failed"><RunInfos>
        <RunInfo outcome="Error"><Text>The active test run was aborted. Reason: Test host process crashed</Text></RunInfo>
        <RunInfo outcome="Warning"><Text>a warning</Text></RunInfo>
      </RunInfos></ResultSummary>
      <Results><UnitTestResult testName="A" outcome="Passed"/></Results></TestRun>"#;
    let all = cases(&parse(xml));
    assert_eq!(all.len(), 2);
    let crash = all.iter().find(|c| c.status == Status::Errored).unwrap();
    assert!(crash.first_problem().unwrap().message.as_deref().unwrap().contains("Test host process crashed"));
    // The same run with a failed test needs no extra case: the failure already shows.
    let xml = xml.replace(r#"outcome="Passed"/>"#, r#"outcome="Failed"/>"#);
    assert_eq!(cases(&parse(&xml)).len(), 1);
}

#[test]
fn every_nunit_result_and_label_maps_as_documented() {
    let results = [
        ("Passed", "", Status::Passed),
        ("Warning", "", Status::Passed),
        ("Failed", "", Status::Failed),
        ("Failed", "Error", Status::Errored),
        ("Failed", "Cancelled", Status::Errored),
        ("Failed", "Invalid", Status::Errored),
        ("Skipped", "", Status::Skipped),
        ("Skipped", "Ignored", Status::Skipped),
        ("Skipped", "Explicit", Status::Skipped),
        ("Inconclusive", "", Status::Skipped),
        ("Odd", "", Status::Errored),
    ];
    let mut xml = String::from(
        r#"<test-run result="Failed"><test-suite type="TestFixture" name="F" result="Failed" site="Child">"#,
    );
    for (i, (result, label, _)) in results.iter().enumerate() {
        xml.push_str(&format!(r#"<test-case name="t{i}" classname="N.F" result="{result}" label="{label}" duration="0,25"><reason><message>why {i}</message></reason></test-case>"#));
    }
    xml.push_str("</test-suite></test-run>");
    let all = cases(&parse(&xml));
    assert_eq!(all.len(), results.len(), "no extra case: the suite's failure shows in its cases");
    for (i, (result, label, expected)) in results.iter().enumerate() {
        let case = &all[i];
        assert_eq!(case.status, *expected, "{result}/{label}");
        assert_eq!(case.time, Some(0.25));
        if *expected != Status::Passed {
            assert_eq!(case.first_problem().unwrap().message.as_deref(), Some(&*format!("why {i}")));
        }
    }
    let warning = &all[1];
    assert!(
        warning.detail.as_ref().unwrap().system_out.as_deref().unwrap().contains("why 1"),
        "the warning text is kept"
    );
}

#[test]
fn nunit_one_time_tear_down_failure_is_its_own_error_case() {
    let xml = r#"<test-run result="Failed">
      <test-suite type="TestFixture" name="Db" classname="N.Db" result="Failed" label="Error" site="TearDown">
        <failure><message>TearDown : System.Exception : cleanup failed</message><stack-trace>at N.Db.Cleanup()</stack-trace></failure>
        <test-case name="a" classname="N.Db" result="Passed"/>
        <test-case name="b" classname="N.Db" result="Passed"/>
      </test-suite></test-run>"#;
    let all = cases(&parse(xml));
    assert_eq!(all.len(), 3);
    let teardown = all.iter().find(|c| &*c.name == "Db (OneTimeTearDown)").unwrap();
    assert_eq!(teardown.status, Status::Errored);
    assert_eq!(teardown.classname.as_deref(), Some("N.Db"));
    assert!(teardown.first_problem().unwrap().message.as_deref().unwrap().contains("cleanup failed"));
    // A run marked Failed with nothing failing in it (the assembly could not load) keeps that too.
    let all = cases(&parse(
        r#"<test-run result="Failed" label="Error"><test-suite type="Assembly" name="a.dll" result="Passed"/></test-run>"#,
    ));
    assert_eq!(all.iter().map(|c| c.status).collect::<Vec<_>>(), [Status::Errored]);
}

#[test]
fn xunit_results_errors_traits_and_source_lines() {
    let xml = r#"<assemblies><assembly name="/ci/Calc.Tests.dll" total="4" failed="0">
      <errors><error type="test-class-cleanup" name="Calc.Tests.DbTests"><failure exception-type="System.IO.IOException"><message>db locked</message><stack-trace>at Dispose()</stack-trace></failure></error></errors>
      <collection name="Test collection for Calc.Tests.DbTests" time="1.5">
        <test name="Calc.Tests.DbTests.Reads(id: 1)" type="Calc.Tests.DbTests" method="Reads" result="Pass" time="0.5" source-file="DbTests.cs" source-line="12">
          <traits><trait name="Category" value="db"/></traits></test>
        <test name="Calc.Tests.DbTests.Reads(id: 2)" type="Calc.Tests.DbTests" method="Reads" result="NotRun" time="0"/>
        <test name="Calc.Tests.DbTests.Odd" type="Calc.Tests.DbTests" method="Odd" result="Weird" time="0"/>
      </collection></assembly></assemblies>"#;
    let report = parse(xml);
    let all = cases(&report);
    assert_eq!(all.len(), 4);
    let cleanup = all.iter().find(|c| &*c.name == "[test-class-cleanup] Calc.Tests.DbTests").unwrap();
    assert_eq!(cleanup.status, Status::Errored, "a clean-up failure outside any test fails the run");
    assert_eq!(cleanup.first_problem().unwrap().ty.as_deref(), Some("System.IO.IOException"));
    let row = all.iter().find(|c| &*c.name == "Reads(id: 1)").unwrap();
    assert_eq!((row.file.as_deref(), row.line), (Some("DbTests.cs"), Some(12)));
    assert_eq!(&*row.detail.as_ref().unwrap().properties[0].value, "db");
    assert_eq!(status_of(&all, "Reads(id: 2)"), Status::Skipped, "NotRun");
    assert_eq!(status_of(&all, "Odd"), Status::Errored, "an unknown result is never a pass");
    assert_eq!(report.suites[0].suites[0].time, Some(1.5));
    assert_eq!(&*report.suites[0].name, "Calc.Tests.dll");
}

/// Runs `junit summary --format json` and returns the one problem it reported.
fn problem_for(name: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), name, content);
    let run = stepkit().current_dir(dir.path()).args(["--format", "json", "junit", "summary", name]).run();
    assert_eq!(run.code, 1, "an unreadable report is an error case\n{}", run.stderr);
    let problems = run.json()["data"]["problems"].as_array().unwrap().clone();
    assert_eq!(problems.len(), 1, "{}", run.stdout);
    let message = problems[0].as_str().unwrap().to_string();
    assert!(message.contains(name), "{message}");
    message
}

#[test]
fn truncated_trx_names_the_open_element() {
    let trx = r#"<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results>
<UnitTestResult testName="A" outcome="Failed"><Output><ErrorInfo><Message>boom"#;
    let message = problem_for("cut.trx", trx.as_bytes());
    assert!(message.contains("truncated") && message.contains("<Message>"), "{message}");
    let err = parse_bytes(b"<TestRun><Results><UnitTestResult testName=\"A\" outcome=\"Passed\">", "x")
        .unwrap_err();
    assert!(matches!(&err.kind, ReadErrorKind::Truncated(e) if e == "UnitTestResult"), "{err}");
}

#[test]
fn nunit_with_an_entity_doctype_is_refused_without_expanding() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE test-run [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<test-run><test-suite name="&c;"><test-case name="x" result="Passed"/></test-suite></test-run>"#;
    let message = problem_for("TestResult.xml", bomb.as_bytes());
    assert!(message.contains("entities"), "{message}");
    let err = parse_bytes(b"<test-run><test-suite name=\"s\"><test-case name=\"&undeclared;\" result=\"Passed\"/></test-suite></test-run>", "x").unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::Xml(_)), "an undeclared entity is malformed: {err}");
}

#[test]
fn deeply_nested_nunit_and_trx_rows_are_refused() {
    let depth = 200;
    let nunit = format!(
        "<test-run>{}{}</test-run>",
        "<test-suite name=\"s\">".repeat(depth),
        "</test-suite>".repeat(depth)
    );
    let err = parse_bytes(nunit.as_bytes(), "deep.xml").unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::TooDeep), "{err}");
    let trx = format!(
        "<TestRun><Results>{}{}</Results></TestRun>",
        "<UnitTestResult testName=\"r\" outcome=\"Passed\"><InnerResults>".repeat(depth),
        "</InnerResults></UnitTestResult>".repeat(depth)
    );
    let err = parse_bytes(trx.as_bytes(), "deep.trx").unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::TooDeep), "{err}");
}

#[test]
fn a_huge_xunit_attribute_hits_the_token_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.xml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"<assemblies><assembly name=\"a\"><collection name=\"c\"><test result=\"Pass\" name=\"")
        .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..(stepkit::junit::MAX_TOKEN_BYTES >> 20) + 2 {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(b"\"/></collection></assembly></assemblies>").unwrap();
    drop(file);
    let err = stepkit::junit::read_file(&path).unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::TokenTooLarge), "{err}");
}
