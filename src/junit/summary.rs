//! Summaries of a report: totals, failed tests with message and location, flaky tests, the slowest tests.

use super::model::{Case, Counts, Report, Status};
use regex::Regex;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

/// What `stepkit junit summary` reports.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub counts: Counts,
    pub failed: Vec<FailedTest>,
    pub flaky: Vec<String>,
    pub slowest: Vec<TimedTest>,
}

/// A failed or errored test, with where it failed when the report says so.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FailedTest {
    pub id: String,
    /// `failure` or `error`.
    pub kind: &'static str,
    pub message: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// The failure text (stack trace, diff), cut to `DETAIL_LIMIT` bytes.
    pub details: Option<String>,
}

/// A test and its duration in seconds.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TimedTest {
    pub id: String,
    pub time: f64,
}

/// Failure text longer than this is cut in summaries (the JUnit file keeps it whole).
pub const DETAIL_LIMIT: usize = 4096;

/// Summarises `report`, listing up to `slowest` of the slowest tests.
pub fn summarize(report: &Report, slowest: usize) -> Summary {
    let mut failed = Vec::new();
    let mut flaky = Vec::new();
    // Only the `slowest` longest so far, so a million passing cases cost no id string each.
    let mut timed: BinaryHeap<Reverse<ByTime>> = BinaryHeap::with_capacity(slowest + 1);
    let mut seen = 0u64;
    report.walk(|path, case| {
        match case.status {
            Status::Failed | Status::Errored => failed.push(failed_test(test_id(path, case), case)),
            Status::Passed if case.is_flaky() => flaky.push(test_id(path, case)),
            _ => {}
        }
        let Some(time) = case.time else { return };
        if slowest == 0
            || (timed.len() == slowest && timed.peek().is_some_and(|Reverse(min)| time <= min.0.time))
        {
            return;
        }
        seen += 1;
        timed.push(Reverse(ByTime(TimedTest { id: test_id(path, case), time }, seen)));
        if timed.len() > slowest {
            timed.pop();
        }
    });
    // Longest first; equal times keep the order the report lists them in.
    let slowest = timed.into_sorted_vec().into_iter().map(|Reverse(ByTime(t, _))| t).collect();
    Summary { counts: report.counts(), failed, flaky, slowest }
}

/// Orders timed tests by time, then earlier in the report before later (for the heap of the slowest).
struct ByTime(TimedTest, u64);

impl PartialEq for ByTime {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for ByTime {}

impl PartialOrd for ByTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.time.total_cmp(&other.0.time).then(other.1.cmp(&self.1))
    }
}

/// `Class::test` when the case has a class name, else `suite/path::test`.
pub fn test_id(path: &[&str], case: &Case) -> String {
    match case.classname.as_deref().filter(|c| !c.is_empty()) {
        Some(class) => format!("{class}::{}", case.name),
        None => {
            let suites: Vec<&str> = path.iter().copied().filter(|s| !s.is_empty()).collect();
            if suites.is_empty() {
                case.name.to_string()
            } else {
                format!("{}::{}", suites.join("/"), case.name)
            }
        }
    }
}

fn failed_test(id: String, case: &Case) -> FailedTest {
    let problem = case.first_problem();
    let message = problem.and_then(|p| p.message.as_deref()).map(str::to_string);
    let text = problem.and_then(|p| p.text.as_deref());
    let (mut file, mut line) = (case.file.as_deref().map(str::to_string), case.line);
    if line.is_none() {
        let haystack = [text, message.as_deref()];
        if let Some((f, l)) = haystack.iter().flatten().find_map(|t| find_location(t, file.as_deref())) {
            file = Some(f);
            line = Some(l);
        }
    }
    FailedTest {
        id,
        kind: if case.status == Status::Errored { "error" } else { "failure" },
        message,
        file,
        line,
        details: text.map(|t| cut(t, DETAIL_LIMIT)),
    }
}

/// Finds a `path/to/file.ext:LINE` in failure text. When the case names its file, a location in
/// that file wins (the assertion line), else the first location outside vendored code.
pub fn find_location(text: &str, case_file: Option<&str>) -> Option<(String, u32)> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r#"(?m)([A-Za-z]:)?[\w.\-/\\]*[\w\-]\.[A-Za-z][A-Za-z0-9]{0,5}[:(](\d+)"#)
            .expect("valid regex")
    });
    let mut first = None;
    for found in pattern.captures_iter(text) {
        let whole = found.get(0)?.as_str();
        let digits = found.get(2)?;
        let path = &whole[..whole.len() - digits.as_str().len() - 1];
        let Ok(line) = digits.as_str().parse::<u32>() else { continue };
        if case_file.is_some_and(|f| f.ends_with(path) || path.ends_with(f)) {
            return Some((case_file.unwrap_or(path).to_string(), line));
        }
        let vendored = ["vendor/", "node_modules/", "site-packages/", "/usr/lib/", "<frozen"]
            .iter()
            .any(|v| path.contains(v));
        if first.is_none() && !vendored {
            first = Some((path.to_string(), line));
        }
    }
    first
}

/// `text` cut to at most `limit` bytes on a character boundary, marked when cut.
pub fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes in the JUnit report)", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::parse_bytes;

    #[test]
    fn finds_locations_in_common_traces() {
        assert_eq!(
            find_location("/home/runner/work/repo/src/Fake.php:42", None),
            Some(("/home/runner/work/repo/src/Fake.php".into(), 42))
        );
        let pytest = "def test_x():\n>       assert False\nE       assert False\n\ntests/test_lib.py:12: AssertionError";
        assert_eq!(find_location(pytest, None), Some(("tests/test_lib.py".into(), 12)));
        let java = "at org.Foo.bar(Foo.java:14)";
        assert_eq!(find_location(java, None), Some(("Foo.java".into(), 14)));
        let with_vendor = "vendor/phpunit/Assert.php:10\n/app/tests/UserTest.php:33";
        assert_eq!(find_location(with_vendor, None), Some(("/app/tests/UserTest.php".into(), 33)));
        assert_eq!(find_location("no location here", None), None);
    }

    #[test]
    fn summary_lists_failures_flaky_and_slowest() {
        let xml = r#"<testsuite name="S">
            <testcase classname="C" name="slow" time="3"/>
            <testcase classname="C" name="bad" time="1"><failure message="boom">tests/c.py:7: AssertionError</failure></testcase>
            <testcase name="flaky" time="2"><flakyFailure type="E"/></testcase>
        </testsuite>"#;
        let summary = summarize(&parse_bytes(xml.as_bytes(), "x").unwrap(), 2);
        assert_eq!(summary.failed.len(), 1);
        assert_eq!(summary.failed[0].id, "C::bad");
        assert_eq!(summary.failed[0].file.as_deref(), Some("tests/c.py"));
        assert_eq!(summary.failed[0].line, Some(7));
        assert_eq!(summary.flaky, vec!["S::flaky".to_string()]);
        assert_eq!(
            summary.slowest.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["C::slow", "S::flaky"]
        );
    }

    #[test]
    fn slowest_keeps_the_longest_and_report_order_for_ties() {
        let xml = r#"<testsuite name="S"><testcase name="a" time="1"/><testcase name="b" time="5"/><testcase name="c" time="1"/><testcase name="d" time="2"/><testcase name="e" time="1"/></testsuite>"#;
        let report = parse_bytes(xml.as_bytes(), "x").unwrap();
        let ids = |n| summarize(&report, n).slowest.into_iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(4), ["S::b", "S::d", "S::a", "S::c"]);
        assert_eq!(ids(10).len(), 5);
        assert!(ids(0).is_empty());
    }

    #[test]
    fn cut_respects_char_boundaries() {
        let cut_text = cut("ééé", 3);
        assert!(cut_text.starts_with('é'));
        assert!(cut_text.contains("more bytes"));
    }
}
