//! TRX (Visual Studio, `dotnet test --logger trx`): results joined to their definitions by test id,
//! one suite per test assembly, data-driven rows counted one by one, the run's own verdict kept.

use super::super::RawAttrs;
use super::{
    append_section, case_with, file_name, keep_run_failure, short_name, take, timespan, Failure, Parser,
};
use crate::junit::model::{Attrs, Case, Report, Shared, Status, Suite, Text};
use std::collections::HashMap;
use std::io::BufRead;

/// One `<UnitTestResult>` (or another result element) as read, before it meets its definition.
#[derive(Default)]
struct Row {
    test_id: Option<Text>,
    test_name: Text,
    outcome: Option<Text>,
    time: Option<f64>,
    data_row: Option<Text>,
    message: Option<Text>,
    trace: Option<Text>,
    stdout: Option<Text>,
    stderr: Option<Text>,
    /// Data-driven rows (`<InnerResults>`); the row above them only summarises them.
    inner: Vec<Row>,
}

/// What `<TestDefinitions>` says about a test id.
struct Definition {
    class: Option<Text>,
    storage: Option<Text>,
}

/// `<ResultSummary>`: the run's verdict and what it printed.
#[derive(Default)]
struct RunSummary {
    outcome: Option<Text>,
    stdout: Option<Text>,
    /// `<RunInfo>` texts with a failing outcome (a crashed test host is reported only there).
    errors: Vec<String>,
}

/// Reads `<TestRun>` (already opened) to its end. Sections come in any order (Visual Studio 2015
/// writes `<ResultSummary>` first), so results are joined to definitions only at the end.
pub(super) fn read<R: BufRead>(p: &mut Parser<R>, empty: bool) -> Result<Report, Failure> {
    let mut rows = Vec::new();
    let mut definitions = HashMap::new();
    let mut summary = RunSummary::default();
    p.children(empty, "TestRun", |p, tag, attrs, empty| match tag {
        // Every child of <Results> is a result: UnitTestResult, TestResultAggregation (ordered
        // tests), WebTestResult, ...; none is dropped for its element name.
        "Results" => p.children(empty, "Results", |p, tag, attrs, empty| {
            rows.push(result(p, tag, attrs, empty, 2)?);
            Ok(())
        }),
        "TestDefinitions" => p.children(empty, "TestDefinitions", |p, tag, attrs, empty| {
            definition(p, tag, attrs, empty, &mut definitions)
        }),
        "ResultSummary" => result_summary(p, attrs, empty, &mut summary),
        _ => p.skip(empty),
    })?;
    Ok(build(rows, &definitions, summary))
}

fn result<R: BufRead>(
    p: &mut Parser<R>,
    tag: &str,
    mut attrs: RawAttrs,
    empty: bool,
    depth: usize,
) -> Result<Row, Failure> {
    p.check_depth(depth)?;
    let mut row = Row {
        test_id: take(&mut attrs, "testId"),
        test_name: take(&mut attrs, "testName").unwrap_or_default(),
        outcome: take(&mut attrs, "outcome"),
        time: take(&mut attrs, "duration").and_then(|d| timespan(&d)),
        data_row: take(&mut attrs, "dataRowInfo"),
        ..Row::default()
    };
    p.children(empty, tag, |p, child, _, empty| match child {
        "Output" => output(p, empty, &mut row),
        "InnerResults" => p.children(empty, "InnerResults", |p, tag, attrs, empty| {
            row.inner.push(result(p, tag, attrs, empty, depth + 1)?);
            Ok(())
        }),
        _ => p.skip(empty),
    })?;
    Ok(row)
}

fn output<R: BufRead>(p: &mut Parser<R>, empty: bool, row: &mut Row) -> Result<(), Failure> {
    p.children(empty, "Output", |p, tag, _, empty| {
        match tag {
            "StdOut" => row.stdout = p.text(empty, "StdOut")?,
            "StdErr" => row.stderr = p.text(empty, "StdErr")?,
            // MSTest's Debug.WriteLine and Trace output have no JUnit element: they go with stdout.
            "DebugTrace" => {
                append_section(&mut row.stdout, "--- DebugTrace ---", p.text(empty, "DebugTrace")?)
            }
            "TraceInfo" => append_section(&mut row.stdout, "--- TraceInfo ---", p.text(empty, "TraceInfo")?),
            "TextMessages" => p.children(empty, "TextMessages", |p, _, _, empty| {
                append_section(&mut row.stdout, "", p.text(empty, "Message")?);
                Ok(())
            })?,
            "ErrorInfo" => p.children(empty, "ErrorInfo", |p, tag, _, empty| {
                match tag {
                    "Message" => row.message = p.text(empty, "Message")?,
                    "StackTrace" => row.trace = p.text(empty, "StackTrace")?,
                    _ => p.skip(empty)?,
                }
                Ok(())
            })?,
            _ => p.skip(empty)?,
        }
        Ok(())
    })
}

fn definition<R: BufRead>(
    p: &mut Parser<R>,
    tag: &str,
    mut attrs: RawAttrs,
    empty: bool,
    into: &mut HashMap<Text, Definition>,
) -> Result<(), Failure> {
    let id = take(&mut attrs, "id");
    let storage = take(&mut attrs, "storage");
    let mut class = None;
    p.children(empty, tag, |p, child, mut attrs, empty| {
        if child == "TestMethod" {
            // Old MSTest writes an assembly-qualified name: `Ns.Class, Assembly, Version=...`.
            class =
                take(&mut attrs, "className").map(|c| c.split(',').next().unwrap_or_default().trim().into());
        }
        p.skip(empty)
    })?;
    if let Some(id) = id {
        into.insert(id, Definition { class, storage });
    }
    Ok(())
}

fn result_summary<R: BufRead>(
    p: &mut Parser<R>,
    mut attrs: RawAttrs,
    empty: bool,
    summary: &mut RunSummary,
) -> Result<(), Failure> {
    summary.outcome = take(&mut attrs, "outcome");
    p.children(empty, "ResultSummary", |p, tag, _, empty| match tag {
        "Output" => p.children(empty, "Output", |p, tag, _, empty| {
            match tag {
                "StdOut" => summary.stdout = p.text(empty, "StdOut")?,
                _ => p.skip(empty)?,
            }
            Ok(())
        }),
        "RunInfos" => p.children(empty, "RunInfos", |p, _, mut attrs, empty| {
            let failing = take(&mut attrs, "outcome").is_some_and(|o| run_failed(&o));
            let mut text = None;
            p.children(empty, "RunInfo", |p, tag, _, empty| {
                match tag {
                    "Text" => text = p.text(empty, "Text")?,
                    _ => p.skip(empty)?,
                }
                Ok(())
            })?;
            if let (true, Some(text)) = (failing, text) {
                summary.errors.push(text.into());
            }
            Ok(())
        }),
        _ => p.skip(empty),
    })
}

/// The verdict of one TRX outcome (the `TestOutcome` enumeration of vstst.xsd). Anything not known
/// to have passed or been skipped is an error: a verdict stepkit cannot read is never a pass.
fn status(outcome: Option<&str>) -> Status {
    match outcome {
        Some("Passed" | "Completed" | "PassedButRunAborted" | "Warning") => Status::Passed,
        Some("Failed") => Status::Failed,
        Some("NotExecuted" | "Inconclusive") => Status::Skipped,
        // Error, Timeout, Aborted, NotRunnable, Disconnected, InProgress, Pending, unknown, missing.
        _ => Status::Errored,
    }
}

/// True for a `ResultSummary`/`RunInfo` outcome that means the run went wrong.
fn run_failed(outcome: &str) -> bool {
    !matches!(
        outcome,
        "Passed" | "Completed" | "Warning" | "Inconclusive" | "NotExecuted" | "PassedButRunAborted"
    )
}

fn build(rows: Vec<Row>, definitions: &HashMap<Text, Definition>, summary: RunSummary) -> Report {
    let mut report = Report::default();
    let mut by_assembly: HashMap<Text, usize> = HashMap::new();
    let mut classes: HashMap<Text, Shared> = HashMap::new();
    for row in rows {
        let definition = row.test_id.as_ref().and_then(|id| definitions.get(id));
        let storage = definition.and_then(|d| d.storage.clone());
        let suite_name: Text = storage.as_deref().map_or("(unknown assembly)", file_name).into();
        let index = *by_assembly.entry(suite_name.clone()).or_insert_with(|| {
            let attrs = Attrs::from_pairs(storage.iter().map(|s| ("assembly", s)));
            report.suites.push(Suite { name: suite_name, attrs, ..Suite::default() });
            report.suites.len() - 1
        });
        let class = definition
            .and_then(|d| d.class.clone())
            .map(|c| classes.entry(c.clone()).or_insert_with(|| Shared::from(c)).clone());
        flatten(row, class.as_ref(), None, &mut report.suites[index].cases);
    }
    if summary.outcome.as_deref().is_some_and(run_failed) {
        let outcome = summary.outcome.as_deref().unwrap_or_default();
        let message = if summary.errors.is_empty() {
            format!("the test run ended with outcome {outcome}, but no test result says why")
        } else {
            summary.errors.join("\n")
        };
        let mut case = case_with(
            format!("test run: {outcome}").into(),
            Status::Errored,
            Some(message.into()),
            Some(outcome.into()),
            None,
        );
        case.detail_mut().system_out = summary.stdout;
        keep_run_failure(&mut report, "(test run)", case);
    }
    report
}

/// Turns a result into cases: its data rows when it has them (the parent only summarises them),
/// the parent too when it failed and no row shows that failure.
fn flatten(mut row: Row, class: Option<&Shared>, parent_name: Option<&str>, into: &mut Vec<Case>) {
    let mut name = short_name(&row.test_name, class.map(|c| &**c));
    // MSTest names every row of a data-driven test after the method: the row number keeps them apart.
    if let (Some(parent), Some(data_row)) = (parent_name, row.data_row.as_deref()) {
        if &*name == parent {
            name = format!("{name} (data row {data_row})").into();
        }
    }
    let inner = std::mem::take(&mut row.inner);
    if !inner.is_empty() {
        let before = into.len();
        for inner in inner {
            flatten(inner, class, Some(&*name), into);
        }
        let rows_failed = into[before..].iter().any(|c| failing(c.status));
        if rows_failed || !failing(status(row.outcome.as_deref())) {
            return;
        }
    }
    into.push(to_case(row, name, class));
}

fn failing(status: Status) -> bool {
    matches!(status, Status::Failed | Status::Errored)
}

fn to_case(row: Row, name: Text, class: Option<&Shared>) -> Case {
    let status = status(row.outcome.as_deref());
    // The outcome goes in `type` when the JUnit verdict alone loses it (Timeout, Inconclusive, ...).
    let ty = match row.outcome.as_deref() {
        Some("Passed" | "Failed") => None,
        Some(other) => Some(other.into()),
        None => Some("no outcome".into()),
    };
    let message = row
        .message
        .or_else(|| row.outcome.is_none().then(|| "the TRX file records no outcome for this test".into()));
    let mut case = case_with(name, status, message, ty, row.trace);
    case.classname = class.cloned();
    case.time = row.time;
    if status == Status::Passed && row.outcome.as_deref() != Some("Passed") {
        if let Some(outcome) = row.outcome {
            case.attrs.push(("outcome".into(), outcome));
        }
    }
    if row.stdout.is_some() || row.stderr.is_some() {
        let detail = case.detail_mut();
        detail.system_out = row.stdout;
        detail.system_err = row.stderr;
    }
    case
}
