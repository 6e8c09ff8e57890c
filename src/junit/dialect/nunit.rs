//! NUnit 3 result XML (`TestResult.xml`, `<test-run>`): the suite tree kept as nested suites
//! (assembly, namespaces, fixture, parameterized method), every test case and its result label, and
//! fixture-level failures (a one-time set-up or tear-down that threw) kept as error cases.

use super::super::RawAttrs;
use super::{append_section, case_with, drop_counts, keep_run_failure, seconds, take, Failure, Parser};
use crate::junit::model::{Attrs, Case, Property, Report, Status, Suite, Text};
use std::io::BufRead;

/// The count attributes NUnit writes on suites and the run; stepkit recomputes them.
const COUNTS: &[&str] =
    &["testcasecount", "total", "passed", "failed", "warnings", "inconclusive", "skipped", "asserts"];

/// Reads `<test-run>` (already opened) to its end.
pub(super) fn read_run<R: BufRead>(
    p: &mut Parser<R>,
    mut attrs: RawAttrs,
    empty: bool,
) -> Result<Report, Failure> {
    let result = take(&mut attrs, "result");
    let label = take(&mut attrs, "label");
    let mut report = Report::default();
    p.children(empty, "test-run", |p, tag, attrs, empty| match tag {
        "test-suite" => {
            report.suites.push(read_suite(p, attrs, empty, 1)?);
            Ok(())
        }
        _ => p.skip(empty),
    })?;
    if result.as_deref() == Some("Failed") {
        let case = case_with(
            "test run".into(),
            Status::Errored,
            Some("NUnit marked the test run Failed, but no test case in the file failed".into()),
            label.or(result),
            None,
        );
        keep_run_failure(&mut report, "(test run)", case);
    }
    Ok(report)
}

/// Reads a root `<test-suite>` (an assembly suite written without `<test-run>`).
pub(super) fn read_lone_suite<R: BufRead>(
    p: &mut Parser<R>,
    attrs: RawAttrs,
    empty: bool,
) -> Result<Report, Failure> {
    Ok(Report { suites: vec![read_suite(p, attrs, empty, 1)?], ..Report::default() })
}

/// What a `<failure>` or `<reason>` said.
#[derive(Default)]
struct Why {
    message: Option<Text>,
    trace: Option<Text>,
}

fn read_suite<R: BufRead>(
    p: &mut Parser<R>,
    mut attrs: RawAttrs,
    empty: bool,
    depth: usize,
) -> Result<Suite, Failure> {
    p.check_depth(depth)?;
    let mut suite = Suite {
        name: take(&mut attrs, "name").unwrap_or_default(),
        time: duration(&mut attrs),
        ..Suite::default()
    };
    drop_counts(&mut attrs, COUNTS);
    let get =
        |key: &str| attrs.iter().find(|(k, _)| &**k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let (result, label, site) = (get("result"), get("label"), get("site"));
    let class = get("classname").or_else(|| get("fullname"));
    let mut why = Why::default();
    p.children(empty, "test-suite", |p, tag, attrs, empty| {
        match tag {
            "test-suite" => suite.suites.push(read_suite(p, attrs, empty, depth + 1)?),
            "test-case" => suite.cases.push(case(p, attrs, empty)?),
            "properties" => properties(p, empty, &mut suite.properties)?,
            "output" => suite.system_out = p.text(empty, "output")?,
            "failure" => (why.message, why.trace) = p.message_and_trace(empty, "failure")?,
            "reason" if why.message.is_none() => why.message = p.message_and_trace(empty, "reason")?.0,
            _ => p.skip(empty)?,
        }
        Ok(())
    })?;
    suite.attrs = Attrs::from_pairs(attrs);
    // A suite fails on its own when its one-time set-up or tear-down throws, or when it cannot run
    // (label Invalid). Set-up failures are usually repeated on every child case (site Parent), a
    // tear-down failure never is: it gets its own case, and so does any failure no case shows.
    if result.as_deref() == Some("Failed") || label.as_deref() == Some("Invalid") {
        let tear_down = site.as_deref() == Some("TearDown");
        if tear_down || !suite.counts().has_failures() {
            let what = match site.as_deref() {
                Some("TearDown") => "OneTimeTearDown",
                Some("SetUp") => "OneTimeSetUp",
                _ => "suite",
            };
            let message = why.message.or_else(|| {
                Some(
                    format!(
                        "NUnit marked this suite {}, but none of its test cases failed",
                        label.as_deref().or(result.as_deref()).unwrap_or_default()
                    )
                    .into(),
                )
            });
            let mut case = case_with(
                format!("{} ({what})", suite.name).into(),
                Status::Errored,
                message,
                label.or(site),
                why.trace,
            );
            case.classname = class.map(Into::into);
            suite.cases.push(case);
        }
    }
    Ok(suite)
}

/// The verdict of an NUnit 3 `result` and `label` (ResultState). Unknown results are errors: a
/// verdict stepkit cannot read is never a pass.
fn status(result: Option<&str>, label: Option<&str>) -> Status {
    match (result, label) {
        // Invalid is NotRunnable (a test or fixture that cannot run); early NUnit 3 wrote it as Skipped.
        (_, Some("Invalid")) => Status::Errored,
        (Some("Passed" | "Warning"), _) => Status::Passed,
        (Some("Failed"), Some("Error" | "Cancelled")) => Status::Errored,
        (Some("Failed"), _) => Status::Failed,
        // Skipped (labels Ignored, Explicit) and Inconclusive: the test did not reach a verdict.
        (Some("Skipped" | "Inconclusive"), _) => Status::Skipped,
        _ => Status::Errored,
    }
}

fn case<R: BufRead>(p: &mut Parser<R>, mut attrs: RawAttrs, empty: bool) -> Result<Case, Failure> {
    let name = take(&mut attrs, "name").unwrap_or_default();
    // Early NUnit 3 wrote no classname: the full name minus the test's own name is the class.
    let classname = take(&mut attrs, "classname").or_else(|| {
        let fullname = attrs.iter().find(|(k, _)| &**k == "fullname")?;
        fullname.1.strip_suffix(&*name)?.strip_suffix('.').filter(|c| !c.is_empty()).map(Into::into)
    });
    let time = duration(&mut attrs);
    let result = take(&mut attrs, "result");
    let label = take(&mut attrs, "label").filter(|l| !l.is_empty());
    let (mut why, mut output, mut props) = (Why::default(), None, Vec::new());
    p.children(empty, "test-case", |p, tag, _, empty| {
        match tag {
            "failure" => (why.message, why.trace) = p.message_and_trace(empty, "failure")?,
            "reason" if why.message.is_none() => why.message = p.message_and_trace(empty, "reason")?.0,
            "output" => output = p.text(empty, "output")?,
            "properties" => properties(p, empty, &mut props)?,
            _ => p.skip(empty)?,
        }
        Ok(())
    })?;
    let status = status(result.as_deref(), label.as_deref());
    let ty = match (result.as_deref(), &label) {
        (_, Some(label)) => Some(label.clone()),
        (Some("Failed" | "Passed" | "Skipped"), None) => None,
        (Some(other), None) => Some(other.into()),
        (None, None) => Some("no result".into()),
    };
    let mut case = case_with(name, status, why.message.clone(), ty, why.trace.clone());
    if status == Status::Passed && result.as_deref() == Some("Warning") {
        // A warning is not a failure in NUnit; JUnit has no place for it but the output.
        append_section(&mut output, "--- NUnit warning ---", why.message);
        attrs.push(("outcome".into(), "Warning".into()));
    }
    case.classname = classname.map(Into::into);
    case.time = time;
    case.attrs = Attrs::from_pairs(
        attrs.into_iter().filter(|(k, _)| matches!(&**k, "fullname" | "methodname" | "outcome")),
    );
    if output.is_some() || !props.is_empty() {
        let detail = case.detail_mut();
        detail.system_out = output;
        detail.properties = props;
    }
    Ok(case)
}

/// `duration` in seconds; early NUnit 3 wrote `time`.
fn duration(attrs: &mut RawAttrs) -> Option<f64> {
    let value = take(attrs, "duration");
    let legacy = take(attrs, "time");
    value.or(legacy).and_then(|d| seconds(&d))
}

fn properties<R: BufRead>(p: &mut Parser<R>, empty: bool, into: &mut Vec<Property>) -> Result<(), Failure> {
    p.children(empty, "properties", |p, tag, mut attrs, empty| {
        if tag == "property" {
            let name = take(&mut attrs, "name").unwrap_or_default();
            let value = take(&mut attrs, "value").unwrap_or_default();
            into.push(Property { name, value });
        }
        p.skip(empty)
    })
}
