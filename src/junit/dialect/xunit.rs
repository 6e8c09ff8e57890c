//! xUnit.net v2 XML (`<assemblies><assembly><collection><test>`, and v1's `<assembly><class>`):
//! a suite per assembly with a suite per collection, traits as properties, theory rows as cases,
//! and the assembly's `<errors>` (fixture clean-up failures, fatal errors) as error cases.

use super::super::RawAttrs;
use super::{case_with, drop_counts, file_name, seconds, short_name, take, Failure, Parser};
use crate::junit::model::{Attrs, Case, Property, Report, Status, Suite, Text};
use std::io::BufRead;

/// The count attributes on `<assembly>` and `<collection>`; stepkit recomputes them.
const COUNTS: &[&str] = &["total", "passed", "failed", "skipped", "errors", "not-run"];

/// Reads `<assemblies>` (already opened) to its end.
pub(super) fn read_assemblies<R: BufRead>(p: &mut Parser<R>, empty: bool) -> Result<Report, Failure> {
    let mut report = Report::default();
    p.children(empty, "assemblies", |p, tag, attrs, empty| match tag {
        "assembly" => {
            report.suites.push(assembly(p, attrs, empty)?);
            Ok(())
        }
        _ => p.skip(empty),
    })?;
    Ok(report)
}

/// Reads a root `<assembly>` (xUnit.net v1, or one assembly written alone).
pub(super) fn read_lone_assembly<R: BufRead>(
    p: &mut Parser<R>,
    attrs: RawAttrs,
    empty: bool,
) -> Result<Report, Failure> {
    Ok(Report { suites: vec![assembly(p, attrs, empty)?], ..Report::default() })
}

fn assembly<R: BufRead>(p: &mut Parser<R>, mut attrs: RawAttrs, empty: bool) -> Result<Suite, Failure> {
    let path = take(&mut attrs, "name").unwrap_or_default();
    let mut suite = Suite {
        name: file_name(&path).into(),
        time: take(&mut attrs, "time").and_then(|t| seconds(&t)),
        ..Suite::default()
    };
    drop_counts(&mut attrs, COUNTS);
    if *suite.name != *path {
        attrs.insert(0, ("assembly".into(), path));
    }
    suite.attrs = Attrs::from_pairs(attrs);
    p.children(empty, "assembly", |p, tag, attrs, empty| {
        match tag {
            "collection" | "class" => suite.suites.push(collection(p, tag, attrs, empty)?),
            "test" => suite.cases.push(test(p, attrs, empty)?),
            "errors" => p.children(empty, "errors", |p, tag, attrs, empty| {
                match tag {
                    "error" => suite.cases.push(error(p, attrs, empty)?),
                    _ => p.skip(empty)?,
                }
                Ok(())
            })?,
            _ => p.skip(empty)?,
        }
        Ok(())
    })?;
    Ok(suite)
}

fn collection<R: BufRead>(
    p: &mut Parser<R>,
    tag: &str,
    mut attrs: RawAttrs,
    empty: bool,
) -> Result<Suite, Failure> {
    let mut suite = Suite {
        name: take(&mut attrs, "name").unwrap_or_default(),
        time: take(&mut attrs, "time").and_then(|t| seconds(&t)),
        ..Suite::default()
    };
    drop_counts(&mut attrs, COUNTS);
    suite.attrs = Attrs::from_pairs(attrs);
    p.children(empty, tag, |p, tag, attrs, empty| {
        match tag {
            "test" => suite.cases.push(test(p, attrs, empty)?),
            _ => p.skip(empty)?,
        }
        Ok(())
    })?;
    Ok(suite)
}

/// The verdict of a `result`: Pass, Fail, Skip and (v3) NotRun. Anything else is an error: a
/// verdict stepkit cannot read is never a pass.
fn status(result: Option<&str>) -> Status {
    match result {
        Some("Pass") => Status::Passed,
        Some("Fail") => Status::Failed,
        Some("Skip" | "NotRun") => Status::Skipped,
        _ => Status::Errored,
    }
}

/// What a `<failure>` said, and its exception type.
#[derive(Default)]
struct Why {
    ty: Option<Text>,
    message: Option<Text>,
    trace: Option<Text>,
}

fn failure<R: BufRead>(p: &mut Parser<R>, mut attrs: RawAttrs, empty: bool) -> Result<Why, Failure> {
    let ty = take(&mut attrs, "exception-type").filter(|t| !t.is_empty());
    let (message, trace) = p.message_and_trace(empty, "failure")?;
    Ok(Why { ty, message, trace })
}

fn test<R: BufRead>(p: &mut Parser<R>, mut attrs: RawAttrs, empty: bool) -> Result<Case, Failure> {
    let name = take(&mut attrs, "name").unwrap_or_default();
    let class = take(&mut attrs, "type").filter(|t| !t.is_empty());
    let result = take(&mut attrs, "result");
    let time = take(&mut attrs, "time").and_then(|t| seconds(&t));
    let file = take(&mut attrs, "source-file").filter(|f| !f.is_empty());
    let line = take(&mut attrs, "source-line").and_then(|l| l.trim().parse().ok());
    let (mut why, mut reason, mut output, mut traits) = (Why::default(), None, None, Vec::new());
    p.children(empty, "test", |p, tag, attrs, empty| {
        match tag {
            "failure" => why = failure(p, attrs, empty)?,
            "reason" => reason = p.text(empty, "reason")?,
            "output" => output = p.text(empty, "output")?,
            "traits" => p.children(empty, "traits", |p, _, mut attrs, empty| {
                let name = take(&mut attrs, "name").unwrap_or_default();
                let value = take(&mut attrs, "value").unwrap_or_default();
                traits.push(Property { name, value });
                p.skip(empty)
            })?,
            _ => p.skip(empty)?,
        }
        Ok(())
    })?;
    let status = status(result.as_deref());
    let ty = match result.as_deref() {
        Some("Pass" | "Fail" | "Skip") => why.ty,
        Some(other) => Some(other.into()),
        None => Some("no result".into()),
    };
    let mut case =
        case_with(short_name(&name, class.as_deref()), status, why.message.or(reason), ty, why.trace);
    case.classname = class.map(Into::into);
    case.file = file.map(Into::into);
    case.line = line;
    case.time = time;
    case.attrs = Attrs::from_pairs(attrs.into_iter().filter(|(k, _)| &**k == "method"));
    if output.is_some() || !traits.is_empty() {
        let detail = case.detail_mut();
        detail.system_out = output;
        detail.properties = traits;
    }
    Ok(case)
}

/// An `<error>` of the assembly: a failure outside any test (a fixture's clean-up threw, a fatal
/// runner error). It fails the run, so it is an error case named after what failed.
fn error<R: BufRead>(p: &mut Parser<R>, mut attrs: RawAttrs, empty: bool) -> Result<Case, Failure> {
    let kind = take(&mut attrs, "type").unwrap_or_else(|| "error".into());
    let name = take(&mut attrs, "name");
    let mut why = Why::default();
    p.children(empty, "error", |p, tag, attrs, empty| {
        match tag {
            "failure" => why = failure(p, attrs, empty)?,
            _ => p.skip(empty)?,
        }
        Ok(())
    })?;
    let title = match &name {
        Some(name) => format!("[{kind}] {name}"),
        None => format!("[{kind}]"),
    };
    let message = why.message.or_else(|| Some(format!("xUnit.net reported a {kind} error").into()));
    let mut case = case_with(title.into(), Status::Errored, message, why.ty.or(Some(kind)), why.trace);
    case.classname = name.map(Into::into);
    Ok(case)
}
