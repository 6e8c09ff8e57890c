//! `go test -json` event streams converted to the JUnit model: a suite per package, a case per test
//! (subtests included), failure text from the test's own output, package-level failures kept.

use super::model::{Case, Problem, ProblemKind, Report, Shared, Status, Suite};
use serde::Deserialize;
use std::collections::HashMap;

/// One line of `go test -json` (test2json's event).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    action: String,
    package: Option<String>,
    test: Option<String>,
    elapsed: Option<f64>,
    output: Option<String>,
}

#[derive(Default)]
struct TestState {
    output: String,
    result: Option<(String, Option<f64>)>,
}

#[derive(Default)]
struct PackageState {
    order: Vec<String>,
    tests: HashMap<String, TestState>,
    output: String,
    result: Option<(String, Option<f64>)>,
}

/// Converts the text of `go test -json` output. Lines that are not JSON (build errors go test
/// prints as text) are kept as package output of the last package seen.
pub fn from_go_test_json(text: &str) -> Report {
    let mut packages: Vec<String> = Vec::new();
    let mut state: HashMap<String, PackageState> = HashMap::new();
    let mut loose = String::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Event>(line) else {
            if !line.trim().is_empty() {
                loose.push_str(line);
                loose.push('\n');
            }
            continue;
        };
        let package = event.package.clone().unwrap_or_default();
        if !state.contains_key(&package) {
            packages.push(package.clone());
        }
        let pkg = state.entry(package).or_default();
        match &event.test {
            Some(test) => {
                if !pkg.tests.contains_key(test) {
                    pkg.order.push(test.clone());
                }
                let t = pkg.tests.entry(test.clone()).or_default();
                match event.action.as_str() {
                    "output" => t.output.push_str(event.output.as_deref().unwrap_or("")),
                    "pass" | "fail" | "skip" => t.result = Some((event.action.clone(), event.elapsed)),
                    _ => {}
                }
            }
            None => match event.action.as_str() {
                "output" => pkg.output.push_str(event.output.as_deref().unwrap_or("")),
                "pass" | "fail" | "skip" => pkg.result = Some((event.action.clone(), event.elapsed)),
                _ => {}
            },
        }
    }
    let mut report = Report::default();
    for name in packages {
        let pkg = state.remove(&name).unwrap_or_default();
        let class: Shared = Shared::from(name.as_str());
        let mut suite = Suite {
            name: name.clone().into(),
            time: pkg.result.as_ref().and_then(|r| r.1),
            ..Suite::default()
        };
        let mut any_failed = false;
        for test in &pkg.order {
            let t = &pkg.tests[test];
            let mut case = Case::new(test.as_str(), Status::Passed);
            case.classname = Some(class.clone());
            case.time = t.result.as_ref().and_then(|r| r.1);
            let problem = match t.result.as_ref().map(|r| r.0.as_str()) {
                Some("pass") => None,
                Some("skip") => Some(Problem {
                    kind: ProblemKind::Skipped,
                    message: skip_reason(&t.output).map(Into::into),
                    ty: None,
                    text: None,
                }),
                Some(_) => Some(Problem {
                    kind: ProblemKind::Failure,
                    message: Some("test failed".into()),
                    ty: None,
                    text: Some(t.output.clone().into()),
                }),
                // Started but never finished: the binary died or was killed mid-test.
                None => Some(Problem {
                    kind: ProblemKind::Error,
                    message: Some("the test did not finish (panic, crash or timeout)".into()),
                    ty: None,
                    text: Some(t.output.clone().into()),
                }),
            };
            if let Some(problem) = problem {
                any_failed |= problem.kind != ProblemKind::Skipped;
                case.detail_mut().problems.push(problem);
                case.derive_status();
            }
            suite.cases.push(case);
        }
        let package_failed = matches!(pkg.result.as_ref().map(|r| r.0.as_str()), Some("fail"))
            || (pkg.result.is_none() && !name.is_empty());
        if package_failed && !any_failed {
            // A build failure, a panic in TestMain or init, a timeout: no test says so, the package does.
            let mut case = Case::new("(package)", Status::Errored);
            case.classname = Some(class.clone());
            let mut text = pkg.output.clone();
            text.push_str(&loose);
            case.detail_mut().problems.push(Problem {
                kind: ProblemKind::Error,
                message: Some(format!("package {name} failed outside any test").into()),
                ty: None,
                text: Some(text.into()),
            });
            suite.cases.push(case);
        }
        if !pkg.output.trim().is_empty() {
            suite.system_out = Some(pkg.output.into());
        }
        report.suites.push(suite);
    }
    report
}

/// The reason `t.Skip("...")` printed, from the test's output.
fn skip_reason(output: &str) -> Option<String> {
    output
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("=== ") && !l.starts_with("--- "))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"Action":"start","Package":"m/a"}
{"Action":"run","Package":"m/a","Test":"TestOk"}
{"Action":"output","Package":"m/a","Test":"TestOk","Output":"=== RUN   TestOk\n"}
{"Action":"pass","Package":"m/a","Test":"TestOk","Elapsed":0.01}
{"Action":"run","Package":"m/a","Test":"TestBad"}
{"Action":"output","Package":"m/a","Test":"TestBad","Output":"    a_test.go:9: want 2, got 3\n"}
{"Action":"fail","Package":"m/a","Test":"TestBad","Elapsed":0}
{"Action":"run","Package":"m/a","Test":"TestSkip"}
{"Action":"output","Package":"m/a","Test":"TestSkip","Output":"    a_test.go:12: needs a database\n"}
{"Action":"skip","Package":"m/a","Test":"TestSkip","Elapsed":0}
{"Action":"fail","Package":"m/a","Elapsed":0.2}
# m/b
b/b_test.go:3:1: syntax error
{"Action":"fail","Package":"m/b","Elapsed":0}
"#;

    #[test]
    fn converts_results_failures_skips_and_package_failures() {
        let report = from_go_test_json(SAMPLE);
        assert_eq!(report.suites.len(), 2);
        let c = report.counts();
        assert_eq!((c.tests, c.passed, c.failures, c.skipped, c.errors), (4, 1, 1, 1, 1));
        let bad = &report.suites[0].cases[1];
        assert!(bad.first_problem().unwrap().text.as_deref().unwrap().contains("want 2, got 3"));
        assert_eq!(
            report.suites[0].cases[2].first_problem().unwrap().message.as_deref(),
            Some("a_test.go:12: needs a database")
        );
        let build = &report.suites[1].cases[0];
        assert!(build.first_problem().unwrap().text.as_deref().unwrap().contains("syntax error"));
    }

    #[test]
    fn a_test_that_never_finished_is_an_error() {
        let report = from_go_test_json("{\"Action\":\"run\",\"Package\":\"m\",\"Test\":\"TestHang\"}\n");
        assert_eq!(report.counts().errors, 1);
    }
}
