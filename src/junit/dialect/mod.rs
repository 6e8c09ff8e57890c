//! Test reports that are not JUnit (TRX, NUnit 3, xUnit.net) read into the JUnit model, on the JUnit
//! reader's own tokenizer so they get the same limits.
//!
//! This module is a child of `read` (declared there with `#[path]`) on purpose: the dialect readers
//! drive its private `Parser`, so a hostile TRX or NUnit file meets exactly the guarantees a JUnit
//! file does (64 MiB token limit, depth limit, no DTD entities, truncation named by element) without
//! widening the reader's public API or copying its tokenizer.

mod nunit;
mod trx;
mod xunit;

use super::RawAttrs;
use super::{Elem, Ev, Failure, Parser, ReadErrorKind, MAX_DEPTH};
use crate::junit::model::{Case, Problem, ProblemKind, Report, Status, Suite, Text};
use std::io::BufRead;

/// Reads the document whose root element is `root` when a dialect owns that element; `None` when
/// no dialect does (the caller reports "not a JUnit report").
pub(super) fn read_root<R: BufRead>(
    parser: &mut Parser<R>,
    root: &str,
    attrs: RawAttrs,
    empty: bool,
) -> Option<Result<Report, Failure>> {
    Some(match local(root) {
        "TestRun" => trx::read(parser, empty),
        "test-run" => nunit::read_run(parser, attrs, empty),
        // NUnit3TestAdapter and some runners write the assembly suite alone, without <test-run>.
        "test-suite" => nunit::read_lone_suite(parser, attrs, empty),
        "assemblies" => xunit::read_assemblies(parser, empty),
        // xUnit.net v1 (and single-assembly writers) use <assembly> as the root.
        "assembly" => xunit::read_lone_assembly(parser, attrs, empty),
        _ => return None,
    })
}

/// An event with its element name spelled out (the JUnit tokenizer keeps names only for elements
/// it does not know, to save an allocation per tag).
enum Tok {
    Open {
        tag: String,
        attrs: RawAttrs,
        empty: bool,
    },
    Close,
    /// Text between child elements (the dialects read text only through `Parser::text`).
    Text,
    Eof,
}

impl<R: BufRead> Parser<R> {
    fn tok(&mut self, want_text: bool) -> Result<Tok, Failure> {
        loop {
            return Ok(match self.next(want_text)? {
                Ev::Open { elem, name, attrs, empty } => {
                    let tag = if elem == Elem::Other {
                        local(&name).to_string()
                    } else {
                        junit_name(elem).to_string()
                    };
                    Tok::Open { tag, attrs, empty }
                }
                Ev::Close => Tok::Close,
                Ev::Text(_) => Tok::Text,
                Ev::Eof => Tok::Eof,
                Ev::EntityDoctype | Ev::Ignored => continue,
            });
        }
    }

    /// Visits each child element of the element `tag` just opened, up to its end tag; text between
    /// children is ignored. A file that ends first is reported as truncated inside `tag`.
    fn children(
        &mut self,
        empty: bool,
        tag: &str,
        mut visit: impl FnMut(&mut Self, &str, RawAttrs, bool) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        if empty {
            return Ok(());
        }
        loop {
            match self.tok(false)? {
                Tok::Open { tag, attrs, empty } => visit(self, &tag, attrs, empty)?,
                Tok::Close => return Ok(()),
                Tok::Eof => return self.fail(ReadErrorKind::Truncated(tag.into())),
                Tok::Text => {}
            }
        }
    }

    /// Refuses nesting deeper than the JUnit reader accepts.
    fn check_depth(&self, depth: usize) -> Result<(), Failure> {
        if depth > MAX_DEPTH {
            return self.fail(ReadErrorKind::TooDeep);
        }
        Ok(())
    }

    /// `<failure>` as NUnit and xUnit.net write it: `<message>` and `<stack-trace>` children.
    fn message_and_trace(&mut self, empty: bool, tag: &str) -> Result<(Option<Text>, Option<Text>), Failure> {
        let (mut message, mut trace) = (None, None);
        self.children(empty, tag, |p, child, _, empty| {
            match child {
                "message" => message = p.text(empty, "message")?,
                "stack-trace" => trace = p.text(empty, "stack-trace")?,
                _ => p.skip(empty)?,
            }
            Ok(())
        })?;
        Ok((message, trace))
    }
}

/// The element name the JUnit tokenizer recognised (the inverse of its `elem()`).
fn junit_name(elem: Elem) -> &'static str {
    match elem {
        Elem::Testsuites => "testsuites",
        Elem::Testsuite => "testsuite",
        Elem::Testcase => "testcase",
        Elem::Failure => "failure",
        Elem::Error => "error",
        Elem::Skipped => "skipped",
        Elem::Rerun(kind) => kind.element(),
        Elem::SystemOut => "system-out",
        Elem::SystemErr => "system-err",
        Elem::Properties => "properties",
        Elem::Property => "property",
        Elem::StackTrace => "stackTrace",
        Elem::Other => "",
    }
}

/// The name without a namespace prefix (`a:TestRun` is `TestRun`).
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// Removes and returns attribute `key`.
fn take(attrs: &mut RawAttrs, key: &str) -> Option<Text> {
    let at = attrs.iter().position(|(k, _)| &**k == key)?;
    Some(attrs.remove(at).1)
}

/// Drops the attributes that are counts (stepkit recomputes every count from the cases).
fn drop_counts(attrs: &mut RawAttrs, counts: &[&str]) {
    attrs.retain(|(k, _)| !counts.contains(&&**k));
}

/// Seconds written by .NET: a culture with a decimal comma writes `0,014` (xUnit.net does, see the
/// Jenkins fixture), which the JUnit rule (commas are thousands separators) would read as 14 s.
fn seconds(value: &str) -> Option<f64> {
    let value = value.trim();
    if value.contains(',') && !value.contains('.') && value.matches(',').count() == 1 {
        return super::parse_time(&value.replace(',', "."));
    }
    super::parse_time(value)
}

/// A .NET `TimeSpan` as TRX writes durations: `[-][d.]hh:mm:ss[.fffffff]`.
fn timespan(value: &str) -> Option<f64> {
    let mut parts = value.trim().split(':');
    let (head, minutes, secs) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || head.starts_with('-') {
        return None;
    }
    let (days, hours) = match head.split_once('.') {
        Some((days, hours)) => (days.parse::<u64>().ok()?, hours.parse::<u64>().ok()?),
        None => (0, head.parse::<u64>().ok()?),
    };
    let minutes: u64 = minutes.parse().ok()?;
    let secs: f64 = secs.parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0)?;
    Some(((days * 24 + hours) * 60 + minutes) as f64 * 60.0 + secs)
}

/// A test name without its class prefix: xUnit.net and TRX write `Namespace.Class.Method(x: 1)`
/// where JUnit has `classname="Namespace.Class" name="Method(x: 1)"`.
fn short_name(name: &str, class: Option<&str>) -> Text {
    match class
        .filter(|c| !c.is_empty())
        .and_then(|c| name.strip_prefix(c))
        .and_then(|rest| rest.strip_prefix('.'))
    {
        Some(rest) if !rest.is_empty() => rest.into(),
        _ => name.into(),
    }
}

/// The last component of a Windows or Unix path (assembly paths are machine-specific).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A case with its status and, unless it passed, the result element carrying why.
fn case_with(
    name: Text,
    status: Status,
    message: Option<Text>,
    ty: Option<Text>,
    text: Option<Text>,
) -> Case {
    let mut case = Case::new(name, status);
    let kind = match status {
        Status::Passed => return case,
        Status::Failed => ProblemKind::Failure,
        Status::Errored => ProblemKind::Error,
        Status::Skipped => ProblemKind::Skipped,
    };
    case.detail_mut().problems.push(Problem { kind, message, ty, text });
    case
}

/// Appends `text` to `into` under a heading, for the output streams JUnit has no element for.
fn append_section(into: &mut Option<Text>, heading: &str, text: Option<Text>) {
    let Some(text) = text else { return };
    let mut joined = into.take().map(String::from).unwrap_or_default();
    if !joined.is_empty() && !joined.ends_with('\n') {
        joined.push('\n');
    }
    if !heading.is_empty() {
        joined.push_str(heading);
        joined.push('\n');
    }
    joined.push_str(&text);
    *into = Some(joined.into());
}

/// The safety net for verdicts that live outside the test cases (a TRX run that ended "Failed", an
/// NUnit fixture whose one-time tear-down threw, an NUnit run marked Failed): when the report says
/// something failed and no case shows it, an error case carries it, so a failure never becomes a pass.
fn keep_run_failure(report: &mut Report, suite_name: &str, case: Case) {
    if report.counts().has_failures() {
        return;
    }
    match report.suites.first_mut() {
        Some(suite) => suite.cases.push(case),
        None => report.suites.push(Suite { name: suite_name.into(), cases: vec![case], ..Suite::default() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_are_days_hours_minutes_seconds() {
        assert_eq!(timespan("00:00:00.1084258"), Some(0.1084258));
        assert_eq!(timespan("01:02:03.5"), Some(3723.5));
        assert_eq!(timespan("1.00:00:01"), Some(86401.0));
        assert_eq!(timespan("00:00:00"), Some(0.0));
        assert_eq!(timespan("-00:00:01"), None);
        assert_eq!(timespan("1.5"), None);
        assert_eq!(timespan("aa:00:00"), None);
    }

    #[test]
    fn decimal_commas_are_decimals_in_dotnet_seconds() {
        assert_eq!(seconds("0,014"), Some(0.014));
        assert_eq!(seconds("1.5"), Some(1.5));
        assert_eq!(seconds("36.7820544"), Some(36.7820544));
        assert_eq!(seconds("x"), None);
    }

    #[test]
    fn short_names_drop_only_a_real_class_prefix() {
        assert_eq!(&*short_name("Ns.C.M(x: 1)", Some("Ns.C")), "M(x: 1)");
        assert_eq!(&*short_name("Custom Name", Some("Ns.C")), "Custom Name");
        assert_eq!(&*short_name("Ns.Cx.M", Some("Ns.C")), "Ns.Cx.M");
        assert_eq!(&*short_name("Ns.C", Some("Ns.C")), "Ns.C");
        assert_eq!(&*short_name("M", None), "M");
    }

    #[test]
    fn file_names_from_either_path_style() {
        assert_eq!(file_name(r"C:\a\b\Tests.dll"), "Tests.dll");
        assert_eq!(file_name("/a/b/tests.dll"), "tests.dll");
        assert_eq!(file_name("tests.dll"), "tests.dll");
    }
}
