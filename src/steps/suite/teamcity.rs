//! PHPUnit's `--log-teamcity` stream, written as tests finish: what salvages results when PHP dies
//! before writing its JUnit (a fatal error, a segfault, a stall that had to be killed).

use crate::junit::{Case, Problem, ProblemKind, Status};

/// Cases finished according to a TeamCity service-message log (`##teamcity[testFinished ...]`).
pub fn finished_cases(log: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut problem: Option<Problem> = None;
    // PHPUnit puts the location on testStarted only.
    let mut file: Option<String> = None;
    for line in log.lines() {
        let Some((kind, attrs)) = message(line) else { continue };
        let get = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        match kind.as_str() {
            "testStarted" => {
                problem = None;
                file = get("locationHint").and_then(|hint| location_file(&hint));
            }
            "testFailed" => {
                let message = get("message");
                let kind =
                    if message.as_deref().is_some_and(|m| m.starts_with("Error") || m.contains("Exception"))
                        && get("type").is_none()
                    {
                        ProblemKind::Error
                    } else {
                        ProblemKind::Failure
                    };
                problem = Some(Problem {
                    kind,
                    message: message.map(Into::into),
                    ty: None,
                    text: get("details").filter(|d| !d.is_empty()).map(Into::into),
                });
            }
            "testIgnored" => {
                problem = Some(Problem {
                    kind: ProblemKind::Skipped,
                    message: get("message").map(Into::into),
                    ty: None,
                    text: None,
                })
            }
            "testFinished" => {
                let Some(name) = get("name") else { continue };
                let mut case = Case::new(name, Status::Passed);
                case.time = get("duration").and_then(|d| d.parse::<f64>().ok()).map(|ms| ms / 1000.0);
                case.file = file.take().map(Into::into);
                if let Some(p) = problem.take() {
                    case.detail_mut().problems.push(p);
                }
                case.derive_status();
                cases.push(case);
            }
            _ => {}
        }
    }
    cases
}

/// `##teamcity[name key='value' ...]` with TeamCity's `|`-escapes undone.
pub(crate) fn message(line: &str) -> Option<(String, Vec<(String, String)>)> {
    let body = line.trim().strip_prefix("##teamcity[")?.strip_suffix(']')?;
    let (kind, mut rest) = body.split_once(' ').unwrap_or((body, ""));
    let mut attrs = Vec::new();
    while let Some(eq) = rest.find("='") {
        let key = rest[..eq].trim().to_string();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '|' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some(other) => value.push(other),
                    None => {}
                },
                '\'' => {
                    end = Some(eq + 2 + i + 1);
                    break;
                }
                c => value.push(c),
            }
        }
        attrs.push((key, value));
        rest = &rest[end?..];
    }
    Some((kind.to_string(), attrs))
}

/// The file in PHPUnit's `php_qn:///abs/path/FooTest.php::\Ns\FooTest::testX` hint.
fn location_file(hint: &str) -> Option<String> {
    let path = hint.strip_prefix("php_qn://")?;
    Some(path.split("::").next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_fail_skip_and_ignores_the_unfinished_test() {
        let log = "##teamcity[testCount count='4' flowId='1']
##teamcity[testStarted name='testA' locationHint='php_qn:///p/tests/ATest.php::\\Ns\\ATest::testA' flowId='1']
##teamcity[testFinished name='testA' duration='12' flowId='1']
##teamcity[testStarted name='testB' flowId='1']
##teamcity[testFailed name='testB' message='Failed asserting that 1 is 2.' details=' /p/tests/ATest.php:9|n' flowId='1']
##teamcity[testFinished name='testB' duration='1' flowId='1']
##teamcity[testStarted name='testC' flowId='1']
##teamcity[testIgnored name='testC' message='later' flowId='1']
##teamcity[testFinished name='testC' duration='0' flowId='1']
##teamcity[testStarted name='testD with data set #0' flowId='1']
";
        let cases = finished_cases(log);
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].status, Status::Passed);
        assert_eq!(cases[0].file.as_deref(), Some("/p/tests/ATest.php"));
        assert_eq!(cases[0].time, Some(0.012));
        assert_eq!(cases[1].status, Status::Failed);
        assert_eq!(cases[1].first_problem().unwrap().text.as_deref(), Some(" /p/tests/ATest.php:9\n"));
        assert_eq!(cases[2].status, Status::Skipped);
    }
}
