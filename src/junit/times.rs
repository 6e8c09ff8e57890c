//! Implausible time units: a report whose times cannot be seconds is found and its times set aside.
//!
//! JUnit times are seconds, but not every writer agrees: container-structure-test writes Go
//! durations in nanoseconds, and one such file made a merge total 999,640,404 s and filled the
//! "slowest tests" list. Guessing the unit would be a second bug, so the times of such a report
//! are dropped (totals and the slowest list then ignore it), and the caller warns, naming the file.

use super::model::{Property, Report, Suite};

/// A single test case longer than this (11.6 days) is not a duration in seconds.
pub const MAX_CASE_SECONDS: f64 = 1e6;
/// Cases may run in parallel inside a suite, so their sum may exceed the suite's time, but not
/// by this factor (and not by less than an hour's worth, so a suite with `time="0"` passes).
const SUITE_SUM_FACTOR: f64 = 1000.0;
const SUITE_SUM_SLACK: f64 = 3600.0;

/// Property set on the root suites of a report whose times were set aside, with the reason.
pub const IGNORED_TIMES_PROPERTY: &str = "stepkit.ignored-times";

/// Why the times of `report` cannot be seconds, if they cannot.
pub fn implausible_times(report: &Report) -> Option<String> {
    if let Some(t) = report.time.filter(|t| *t > MAX_CASE_SECONDS) {
        return Some(format!("the report's own time is {t} s"));
    }
    report.suites.iter().find_map(implausible_in_suite)
}

fn implausible_in_suite(suite: &Suite) -> Option<String> {
    if let Some(case) = suite.cases.iter().find(|c| c.time.is_some_and(|t| t > MAX_CASE_SECONDS)) {
        return Some(format!(
            "test `{}` took {} s by its time attribute",
            case.name,
            case.time.unwrap_or_default()
        ));
    }
    if let Some(own) = suite.time {
        if own > MAX_CASE_SECONDS {
            return Some(format!("suite `{}` took {own} s by its time attribute", suite.name));
        }
        let sum = suite.counts().time;
        if sum > own * SUITE_SUM_FACTOR && sum > own + SUITE_SUM_SLACK {
            return Some(format!(
                "the tests of suite `{}` add up to {sum:.0} s, but the suite says it took {own} s",
                suite.name
            ));
        }
    }
    suite.suites.iter().find_map(implausible_in_suite)
}

/// Drops every time in `report` (cases, suites, the root) and records `reason` as the
/// `stepkit.ignored-times` property of its root suites, so the merged file says why they are gone.
pub fn set_times_aside(report: &mut Report, reason: &str) {
    fn clear(suite: &mut Suite) {
        suite.time = None;
        for case in &mut suite.cases {
            case.time = None;
        }
        suite.suites.iter_mut().for_each(clear);
    }
    report.time = None;
    for suite in &mut report.suites {
        clear(suite);
        suite.properties.push(Property { name: IGNORED_TIMES_PROPERTY.into(), value: reason.into() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::parse_bytes;

    fn check(xml: &str) -> Option<String> {
        implausible_times(&parse_bytes(xml.as_bytes(), "t.xml").unwrap())
    }

    #[test]
    fn seconds_pass_and_nanoseconds_do_not() {
        assert_eq!(
            check(
                r#"<testsuite name="S" time="2.5"><testcase name="a" time="1.5"/><testcase name="b" time="1"/></testsuite>"#
            ),
            None
        );
        // Parallel cases: a sum above the suite's time is normal.
        assert_eq!(
            check(
                r#"<testsuite name="S" time="10"><testcase name="a" time="300"/><testcase name="b" time="300"/></testsuite>"#
            ),
            None
        );
        assert_eq!(check(r#"<testsuite name="S" time="0"><testcase name="a" time="12"/></testsuite>"#), None);
        let ns = check(r#"<testsuite name="S"><testcase name="a" time="1204567890"/></testsuite>"#).unwrap();
        assert!(ns.contains("test `a` took 1204567890 s"), "{ns}");
        let sum = check(r#"<testsuite name="S" time="1.2"><testcase name="a" time="600000"/><testcase name="b" time="600000"/></testsuite>"#).unwrap();
        assert!(sum.contains("add up to 1200000 s"), "{sum}");
    }

    #[test]
    fn set_aside_times_are_gone_and_explained() {
        let mut report = parse_bytes(br#"<testsuites time="5e9"><testsuite name="S" time="5e9"><testcase name="a" time="5e9"/></testsuite></testsuites>"#, "t").unwrap();
        let reason = implausible_times(&report).unwrap();
        set_times_aside(&mut report, &reason);
        assert_eq!(report.counts().time, 0.0);
        assert_eq!((report.time, report.suites[0].time, report.suites[0].cases[0].time), (None, None, None));
        assert_eq!(&*report.suites[0].properties[0].name, IGNORED_TIMES_PROPERTY);
    }
}
