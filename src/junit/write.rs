//! JUnit writer with output profiles: `default` (lossless superset), `jenkins-xunit` (strict schema), `gitlab`.

use super::model::{
    Attrs, Case, CaseDetail, Counts, Problem, ProblemKind, Property, Report, Rerun, Status, Suite,
};
use std::io::{self, Write};

/// Which consumer the XML is shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Everything stepkit knows: file/line, properties, flaky/rerun elements, all attributes.
    #[default]
    Default,
    /// Only what Jenkins' xunit plugin schema (junit-10.xsd) accepts; validates with xmllint.
    JenkinsXunit,
    /// GitLab's parser: failure messages folded into the element text it displays.
    Gitlab,
}

impl Profile {
    /// The name used on the command line and in stepkit.toml.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::JenkinsXunit => "jenkins-xunit",
            Profile::Gitlab => "gitlab",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "default" => Ok(Profile::Default),
            "jenkins-xunit" => Ok(Profile::JenkinsXunit),
            "gitlab" => Ok(Profile::Gitlab),
            other => Err(format!("unknown JUnit profile `{other}`; use default, jenkins-xunit or gitlab")),
        }
    }
}

/// Suite attributes junit-10.xsd allows besides name, counts and time.
const XUNIT_SUITE_ATTRS: &[&str] =
    &["group", "timestamp", "hostname", "id", "package", "file", "log", "url", "version"];

/// Writes `report` as XML shaped for `profile`. Counts are always recomputed from the cases.
pub fn write_report(report: &Report, profile: Profile, out: impl Write) -> io::Result<()> {
    let mut w = XmlOut { out: io::BufWriter::with_capacity(256 * 1024, out), profile };
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    let counts = report.counts();
    w.raw("<testsuites")?;
    if let Some(name) = &report.name {
        w.attr("name", name)?;
    }
    w.counts(&counts, profile != Profile::JenkinsXunit)?;
    w.time(report.time.or(Some(counts.time)))?;
    if profile == Profile::Default {
        w.attrs(&report.attrs)?;
    }
    w.raw(">\n")?;
    for suite in &report.suites {
        w.suite(suite, 1)?;
    }
    w.raw("</testsuites>\n")?;
    w.out.flush()
}

/// Writes `report` to a string (tests and small reports).
pub fn report_to_string(report: &Report, profile: Profile) -> String {
    let mut bytes = Vec::new();
    write_report(report, profile, &mut bytes).expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the writer emits UTF-8")
}

struct XmlOut<W: Write> {
    out: io::BufWriter<W>,
    profile: Profile,
}

impl<W: Write> XmlOut<W> {
    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    fn indent(&mut self, depth: usize) -> io::Result<()> {
        for _ in 0..depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    fn attr(&mut self, key: &str, value: &str) -> io::Result<()> {
        write!(self.out, " {key}=\"")?;
        escape_into(&mut self.out, value, true)?;
        self.out.write_all(b"\"")
    }

    fn attrs(&mut self, attrs: &Attrs) -> io::Result<()> {
        for (key, value) in attrs {
            self.attr(key, value)?;
        }
        Ok(())
    }

    fn counts(&mut self, counts: &Counts, with_skipped: bool) -> io::Result<()> {
        write!(
            self.out,
            " tests=\"{}\" failures=\"{}\" errors=\"{}\"",
            counts.tests, counts.failures, counts.errors
        )?;
        if with_skipped {
            write!(self.out, " skipped=\"{}\"", counts.skipped)?;
        }
        Ok(())
    }

    fn time(&mut self, time: Option<f64>) -> io::Result<()> {
        match time {
            Some(t) => write!(self.out, " time=\"{}\"", format_time(t, self.profile)),
            None => Ok(()),
        }
    }

    fn text_element(&mut self, depth: usize, name: &str, text: Option<&str>) -> io::Result<()> {
        let Some(text) = text else { return Ok(()) };
        self.indent(depth)?;
        write!(self.out, "<{name}>")?;
        escape_into(&mut self.out, text, false)?;
        writeln!(self.out, "</{name}>")
    }

    fn properties(&mut self, depth: usize, properties: &[Property]) -> io::Result<()> {
        if properties.is_empty() {
            return Ok(());
        }
        self.indent(depth)?;
        self.raw("<properties>\n")?;
        for property in properties {
            self.indent(depth + 1)?;
            self.raw("<property")?;
            self.attr("name", &property.name)?;
            self.attr("value", &property.value)?;
            self.raw("/>\n")?;
        }
        self.indent(depth)?;
        self.raw("</properties>\n")
    }

    fn suite(&mut self, suite: &Suite, depth: usize) -> io::Result<()> {
        self.indent(depth)?;
        self.raw("<testsuite")?;
        self.attr("name", &suite.name)?;
        self.counts(&suite.counts(), true)?;
        self.time(suite.time)?;
        for (key, value) in &suite.attrs {
            if self.profile != Profile::JenkinsXunit || XUNIT_SUITE_ATTRS.contains(&key) {
                self.attr(key, value)?;
            }
        }
        self.raw(">\n")?;
        self.properties(depth + 1, &suite.properties)?;
        for case in &suite.cases {
            self.case(case, depth + 1)?;
        }
        for child in &suite.suites {
            self.suite(child, depth + 1)?;
        }
        self.text_element(depth + 1, "system-out", suite.system_out.as_deref())?;
        self.text_element(depth + 1, "system-err", suite.system_err.as_deref())?;
        self.indent(depth)?;
        self.raw("</testsuite>\n")
    }

    fn case(&mut self, case: &Case, depth: usize) -> io::Result<()> {
        let strict = self.profile == Profile::JenkinsXunit;
        self.indent(depth)?;
        self.raw("<testcase")?;
        self.attr("name", &case.name)?;
        if let Some(classname) = &case.classname {
            self.attr("classname", classname)?;
        }
        if !strict {
            if let Some(file) = &case.file {
                self.attr("file", file)?;
            }
            if let Some(line) = case.line {
                write!(self.out, " line=\"{line}\"")?;
            }
        }
        self.time(case.time)?;
        for (key, value) in &case.attrs {
            let allowed = match self.profile {
                Profile::JenkinsXunit => key == "group",
                // PHPUnit's `class` duplicates `classname`; GitLab does not need it twice.
                Profile::Gitlab => key != "class",
                Profile::Default => true,
            };
            if allowed {
                self.attr(key, value)?;
            }
        }
        // A case skipped by an attribute alone (googletest's status="notrun", status="disabled")
        // gets the element every consumer counts: without it Jenkins and GitLab show it passed.
        let implied_skip = case.status == Status::Skipped && case.first_problem().is_none();
        let empty = CaseDetail::default();
        let detail = case.detail.as_deref().unwrap_or(&empty);
        let has_children = implied_skip
            || !detail.problems.is_empty()
            || !detail.reruns.is_empty()
            || detail.system_out.is_some()
            || detail.system_err.is_some()
            || (!strict && !detail.properties.is_empty());
        if !has_children {
            return self.raw("/>\n");
        }
        self.raw(">\n")?;
        if !strict {
            self.properties(depth + 1, &detail.properties)?;
        }
        if implied_skip {
            self.indent(depth + 1)?;
            self.raw("<skipped/>\n")?;
        }
        for problem in &detail.problems {
            self.problem(problem, depth + 1)?;
        }
        for rerun in &detail.reruns {
            self.rerun(rerun, depth + 1)?;
        }
        self.text_element(depth + 1, "system-out", detail.system_out.as_deref())?;
        self.text_element(depth + 1, "system-err", detail.system_err.as_deref())?;
        self.indent(depth)?;
        self.raw("</testcase>\n")
    }

    fn problem(&mut self, problem: &Problem, depth: usize) -> io::Result<()> {
        let name = match problem.kind {
            ProblemKind::Failure => "failure",
            ProblemKind::Error => "error",
            ProblemKind::Skipped => "skipped",
        };
        self.indent(depth)?;
        write!(self.out, "<{name}")?;
        if let Some(message) = &problem.message {
            self.attr("message", message)?;
        }
        if let Some(ty) = &problem.ty {
            self.attr("type", ty)?;
        }
        let folded;
        let text = if self.profile == Profile::Gitlab {
            folded = fold_message(problem);
            folded.as_deref()
        } else {
            problem.text.as_deref()
        };
        match text {
            None => self.raw("/>\n"),
            Some(text) => {
                self.raw(">")?;
                escape_into(&mut self.out, text, false)?;
                writeln!(self.out, "</{name}>")
            }
        }
    }

    fn rerun(&mut self, rerun: &Rerun, depth: usize) -> io::Result<()> {
        let name = rerun.kind.element();
        self.indent(depth)?;
        write!(self.out, "<{name}")?;
        if let Some(message) = &rerun.message {
            self.attr("message", message)?;
        }
        // junit-10.xsd requires `type` on retry elements.
        match (&rerun.ty, self.profile) {
            (Some(ty), _) => self.attr("type", ty)?,
            (None, Profile::JenkinsXunit) => self.attr("type", "")?,
            (None, _) => {}
        }
        self.raw(">")?;
        if let Some(text) = &rerun.text {
            escape_into(&mut self.out, text, false)?;
        }
        self.raw("\n")?;
        self.text_element(depth + 1, "stackTrace", rerun.stack_trace.as_deref())?;
        self.text_element(depth + 1, "system-out", rerun.system_out.as_deref())?;
        self.text_element(depth + 1, "system-err", rerun.system_err.as_deref())?;
        self.indent(depth)?;
        writeln!(self.out, "</{name}>")
    }
}

/// GitLab shows a failure's text, not its `message` attribute: put the message first in the text.
fn fold_message(problem: &Problem) -> Option<String> {
    match (&problem.message, &problem.text) {
        (Some(m), Some(t)) if !t.starts_with(&**m) => Some(format!("{m}\n\n{t}")),
        (Some(m), None) => Some(m.to_string()),
        (_, t) => t.as_ref().map(|t| t.to_string()),
    }
}

/// Seconds with at most 3 decimals for Jenkins' SUREFIRE_TIME pattern, 6 otherwise; never an exponent.
pub(crate) fn format_time(seconds: f64, profile: Profile) -> String {
    // Adding 0.0 turns -0.0 (an empty float sum) into 0.0.
    let seconds = seconds.max(0.0) + 0.0;
    let mut s = match profile {
        Profile::JenkinsXunit => format!("{seconds:.3}"),
        _ => format!("{seconds:.6}"),
    };
    while s.ends_with('0') && !s.ends_with(".0") {
        s.pop();
    }
    s
}

/// Escapes XML special characters. Characters XML 1.0 forbids (ANSI escapes in captured output
/// are the usual ones) become their visible Unicode "control picture" so the file stays valid.
/// In attributes, newlines and tabs become character references so they survive normalisation.
fn escape_into(out: &mut impl Write, text: &str, attribute: bool) -> io::Result<()> {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let replacement: Option<std::borrow::Cow<'static, str>> = match c {
            '&' => Some("&amp;".into()),
            '<' => Some("&lt;".into()),
            '>' => Some("&gt;".into()),
            '"' if attribute => Some("&quot;".into()),
            '\n' if attribute => Some("&#10;".into()),
            '\r' => Some("&#13;".into()),
            '\t' if attribute => Some("&#9;".into()),
            '\t' | '\n' => None,
            c if (c as u32) < 0x20 => {
                Some(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}').to_string().into())
            }
            '\u{7f}' => Some("\u{2421}".into()),
            '\u{FFFE}' | '\u{FFFF}' => Some("\u{FFFD}".into()),
            _ => None,
        };
        if let Some(replacement) = replacement {
            out.write_all(&bytes[start..i])?;
            out.write_all(replacement.as_bytes())?;
            start = i + c.len_utf8();
        }
    }
    out.write_all(&bytes[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::parse_bytes;

    #[test]
    fn round_trip_keeps_everything_in_default_profile() {
        let xml = r#"<testsuites name="run"><testsuite name="S" hostname="h"><properties><property name="p" value="v"/></properties>
            <testcase name="t" classname="C" file="a.php" line="4" time="0.5" assertions="2"><failure message="m&#10;2" type="T">body &lt;x&gt;</failure><system-out>out</system-out></testcase>
            <testcase name="f" classname="C"><flakyFailure message="once" type="E"><stackTrace>st</stackTrace></flakyFailure></testcase>
            <testsuite name="Inner"><testcase name="i"/></testsuite></testsuite></testsuites>"#;
        let first = parse_bytes(xml.as_bytes(), "in").unwrap();
        let written = report_to_string(&first, Profile::Default);
        let second = parse_bytes(written.as_bytes(), "out").unwrap();
        assert_eq!(first.suites, second.suites);
        assert!(written.contains(r#"message="m&#10;2""#));
    }

    #[test]
    fn control_characters_stay_valid_xml() {
        let mut out = Vec::new();
        escape_into(&mut out, "\u{1b}[31mred\u{1b}[0m & <b>", false).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\u{241b}[31mred\u{241b}[0m &amp; &lt;b&gt;");
    }

    #[test]
    fn times_have_no_exponent_and_bounded_decimals() {
        assert_eq!(format_time(2126.5310000000004, Profile::JenkinsXunit), "2126.531");
        assert_eq!(format_time(0.0000001, Profile::JenkinsXunit), "0.0");
        assert_eq!(format_time(1.5, Profile::Default), "1.5");
    }

    #[test]
    fn disabled_cases_get_a_skipped_element_in_every_profile() {
        let xml = r#"<testsuite name="S"><testcase name="d" status="disabled"/><testcase name="n" status="notrun"><system-out>o</system-out></testcase><testcase name="r" status="run"/></testsuite>"#;
        let report = parse_bytes(xml.as_bytes(), "x").unwrap();
        for profile in [Profile::Default, Profile::JenkinsXunit, Profile::Gitlab] {
            let written = report_to_string(&report, profile);
            assert_eq!(written.matches("<skipped/>").count(), 2, "{written}");
            assert_eq!(parse_bytes(written.as_bytes(), "out").unwrap().counts().skipped, 2);
        }
    }

    #[test]
    fn gitlab_folds_message_into_text() {
        let report = parse_bytes(br#"<testsuite name="S"><testcase name="t"><failure message="expected 1"/></testcase></testsuite>"#, "x").unwrap();
        let written = report_to_string(&report, Profile::Gitlab);
        assert!(written.contains(">expected 1</failure>"), "{written}");
    }
}
