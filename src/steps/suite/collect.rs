//! Collecting one batch: its JUnit (salvaged if cut short), PHPUnit's TeamCity log when the JUnit is
//! missing, and an error case for every test the process did not report, naming how it ended.

use super::clock::TestKey;
use super::model::{Batch, CaseRef, TestFile};
use super::run::{describe_exit, Exit, Finished};
use super::teamcity;
use super::timings::relative;
use crate::junit::{read_file_salvaging, Case, Problem, ProblemKind, Shared, Status};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Every case a batch produced, tied to its test file (an index into the plan's files) when known.
#[derive(Debug, Default)]
pub struct BatchResults {
    pub cases: Vec<(Option<usize>, Case)>,
    /// Expected tests the process never reported.
    pub unreported: usize,
    /// Tests (file, case index) to run again in a new batch: their batch was stopped by
    /// `--test-timeout` before it reported them.
    pub requeue: Vec<(usize, usize)>,
    /// Problems reading its report, for the log.
    pub notes: Vec<String>,
    /// A planning error: the batch reported tests it was not given (named here). Its results for
    /// them are set aside and an error case says so; they are never folded into the run.
    pub outside: Vec<String>,
}

/// Where a batch's results are and how to judge its exit.
pub struct Sources<'a> {
    pub junit: Option<&'a Path>,
    pub teamcity: Option<&'a Path>,
    /// The project root: absolute paths in reports are made relative to it.
    pub root: &'a Path,
    /// Exit codes that mean "the tool ran and reported" (0 and 1 for most tools).
    pub normal_exit: &'a dyn Fn(i32) -> bool,
    /// A hint appended to "exited with status N" (PHP fatal errors exit 255).
    pub exit_hint: &'a dyn Fn(&Exit) -> Option<&'static str>,
}

/// Lines of a crashed batch's output attached to the first test it did not report.
const OUTPUT_TAIL_LINES: usize = 60;

/// Collects what `finished` (running `batch`) left behind.
pub fn collect_batch(
    finished: &Finished,
    batch: &Batch,
    files: &[TestFile],
    sources: &Sources<'_>,
) -> BatchResults {
    let index: HashMap<&str, usize> = files.iter().enumerate().map(|(i, f)| (f.path.as_str(), i)).collect();
    let expected: Vec<(usize, Option<&CaseRef>)> = batch
        .parts
        .iter()
        .flat_map(|part| {
            let file = &files[part.file];
            let cases: Vec<(usize, Option<&CaseRef>)> = match &part.cases {
                Some(cases) => cases.iter().map(|&c| (part.file, Some(&file.cases[c]))).collect(),
                None if file.cases.is_empty() => vec![(part.file, None)],
                None => file.cases.iter().map(|c| (part.file, Some(c))).collect(),
            };
            cases
        })
        .collect();
    let mut out = BatchResults::default();
    let file_of = |case: &Case, suite_file: Option<&str>| -> Option<usize> {
        let named = case.file.as_deref().or(suite_file).map(|f| relative(f, sources.root));
        if let Some(i) = named.as_deref().and_then(|f| index.get(f)) {
            return Some(*i);
        }
        let by_identity = expected.iter().find(|(_, c)| {
            c.is_some_and(|c| {
                c.name == *case.name && same_class(c.classname.as_deref(), case.classname.as_deref())
            })
        });
        by_identity.map(|(f, _)| *f).or_else(|| single_file(batch))
    };

    let mut junit_complete = false;
    if let Some(path) = sources.junit.filter(|p| p.exists()) {
        let (report, error) = read_file_salvaging(path);
        junit_complete = error.is_none();
        if let Some(error) = error {
            out.notes.push(format!("batch {}: failed to {error}; kept the tests it reported", batch.id));
        }
        report.walk_with_suite_file(|suite_file, case| {
            out.cases.push((file_of(case, suite_file), case.clone()))
        });
    }
    if !junit_complete {
        if let Some(log) = sources.teamcity.and_then(|p| std::fs::read_to_string(p).ok()) {
            for case in teamcity::finished_cases(&log) {
                let file = file_of(&case, None);
                if !out.cases.iter().any(|(f, c)| *f == file && c.name == case.name) {
                    out.cases.push((file, case));
                }
            }
        }
    }

    // A case from the TeamCity log (or a report without class names) takes the class name the
    // listing gave it, and every case the file path as discovered, so a test has the same
    // identity in every report (first run, crash salvage, retries).
    for (file, case) in &mut out.cases {
        if let Some(f) = file {
            case.file = Some(Shared::from(files[*f].path.as_str()));
        }
        if case.classname.is_none() {
            let listed =
                expected.iter().find(|(f, c)| Some(*f) == *file && c.is_some_and(|c| c.name == *case.name));
            if let Some((_, Some(listed))) = listed {
                case.classname = listed.classname.as_deref().map(Shared::from);
            }
        }
    }

    if let Exit::TestTimedOut { test, limit, unfinished } = &finished.exit {
        // Decided first: a test cut short leaves records (a nameless case) that name no listed test.
        timed_out(&mut out, test, *limit, unfinished, &expected, files, finished);
        set_aside_outside(&mut out, batch, files, &expected);
        return out;
    }
    set_aside_outside(&mut out, batch, files, &expected);
    let abnormal = !matches!(finished.exit, Exit::Code(code) if (sources.normal_exit)(code));
    let how = match (sources.exit_hint)(&finished.exit) {
        Some(hint) => format!("{} ({hint})", describe_exit(&finished.exit)),
        None => describe_exit(&finished.exit),
    };
    let mut tail = Some(output_tail(&finished.output));
    for (file, case_ref) in &expected {
        let reported = out.cases.iter().any(|(f, c)| {
            *f == Some(*file)
                && case_ref.is_none_or(|r| {
                    r.name == *c.name && same_class(r.classname.as_deref(), c.classname.as_deref())
                })
        });
        if reported {
            continue;
        }
        let path = &files[*file].path;
        let (name, classname) = match case_ref {
            Some(r) => (r.name.clone(), r.classname.clone()),
            None => (path.clone(), None),
        };
        let case = match (case_ref, sources.junit, &finished.exit) {
            // A command without a JUnit report: the file's verdict is the exit code.
            (None, None, Exit::Code(0)) => Case::new(name, Status::Passed),
            (None, None, _) => synthesized(
                name,
                ProblemKind::Failure,
                format!("{path}: the test command {how}"),
                Some(output_tail(&finished.output)),
            ),
            (None, Some(_), _) if !abnormal => continue,
            _ => {
                out.unreported += 1;
                synthesized(
                    name,
                    ProblemKind::Error,
                    format!("not reported: the test process {how}"),
                    tail.take(),
                )
            }
        };
        let mut case = case;
        if case_ref.is_none() && sources.junit.is_none() {
            // Judged by exit code: the batch's time, shared by its files, is the best timing there is.
            case.time = Some(finished.duration.as_secs_f64() / batch.parts.len().max(1) as f64);
        }
        case.classname = classname.map(Shared::from);
        case.file = Some(Shared::from(path.as_str()));
        out.cases.push((Some(*file), case));
    }
    if abnormal
        && out.unreported == 0
        && sources.junit.is_some()
        && !expected.iter().all(|(_, c)| c.is_none())
    {
        // Everything was reported, yet the process ended badly (a crash in teardown, exit 255
        // after the last test): keep that visible as its own error case.
        let name = format!("batch {} ({})", batch.id, batch_label(batch, files));
        let mut case = synthesized(
            name,
            ProblemKind::Error,
            format!("the test process {how} after reporting its tests"),
            tail.take(),
        );
        case.classname = Some(Shared::from("stepkit.batch"));
        out.cases.push((single_file(batch), case));
    }
    out
}

/// A batch stopped by `--test-timeout`: the test that ran too long is an error, tests stopped with it
/// and tests never reached are re-queued, and what finished is kept.
fn timed_out(
    out: &mut BatchResults,
    test: &TestKey,
    limit: Duration,
    unfinished: &[TestKey],
    expected: &[(usize, Option<&CaseRef>)],
    files: &[TestFile],
    finished: &Finished,
) {
    let keys: Vec<&TestKey> = std::iter::once(test).chain(unfinished).collect();
    // A key names a test the way its log does (a pytest node id); reports use the listed name.
    let mut names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    names.extend(
        expected
            .iter()
            .filter_map(|(_, c)| *c)
            .filter(|c| keys.iter().any(|k| k.is(c)))
            .map(|c| c.name.as_str()),
    );
    let stopped = |name: &str| {
        let parent = name.split_once('/').map_or(name, |(p, _)| p);
        names.contains(&name) || names.contains(&parent)
    };
    // The stopped tests' own reports say only that they were cut short (go test -json: "did not
    // finish"); a package cut short is no failure of its own. Both are decided here instead.
    // pytest interrupted mid-test adds a nameless case to its report: it names no listed test.
    out.cases.retain(|(_, c)| !stopped(&c.name) && &*c.name != "(package)" && !c.name.is_empty());
    let mut tail = Some(output_tail(&finished.output));
    for (file, case_ref) in expected {
        let Some(listed) = case_ref else { continue };
        let reported = out.cases.iter().any(|(f, c)| {
            *f == Some(*file)
                && listed.name == *c.name
                && same_class(listed.classname.as_deref(), c.classname.as_deref())
        });
        if reported {
            continue;
        }
        if test.is(listed) {
            let message = format!(
                "timed out after {} (--test-timeout); its batch was stopped",
                humantime::format_duration(limit)
            );
            let mut case = synthesized(listed.name.clone(), ProblemKind::Error, message, tail.take());
            case.detail_mut().problems[0].ty = Some("stepkit.TestTimeout".into());
            case.time = Some(limit.as_secs_f64());
            case.classname = listed.classname.as_deref().map(Shared::from);
            case.file = Some(Shared::from(files[*file].path.as_str()));
            out.cases.push((Some(*file), case));
        } else if let Some(index) = files[*file].cases.iter().position(|c| std::ptr::eq(c, *listed)) {
            out.requeue.push((*file, index));
        }
    }
}

/// Tests shown by name in the planning error; the rest are counted.
const OUTSIDE_SHOWN: usize = 20;

/// The guard against a batch whose command selects tests itself (a path left in CMD runs the whole
/// directory in every batch): a reported test the batch was not given is a planning error, not a
/// result. Tolerated, because the tools do it by design: subtests of a given test (`TestA/sub`);
/// PHPUnit 9 reporting every test of a class that skips itself in setUpBeforeClass, even the ones
/// `--filter` left out (skipped, listed in a file of this batch); and a tool's own error record
/// that names no listed test (a pytest collection error, a Go package that failed to build).
fn set_aside_outside(
    out: &mut BatchResults,
    batch: &Batch,
    files: &[TestFile],
    expected: &[(usize, Option<&CaseRef>)],
) {
    // A report without file names, from a batch with unlisted files (the command preset), cannot be
    // told apart: it is taken as given.
    let unlisted_files = expected.iter().any(|(_, r)| r.is_none());
    let given = |file: Option<usize>, case: &Case| {
        (file.is_none() && unlisted_files)
            || expected.iter().any(|(f, r)| {
                Some(*f) == file
                    && r.is_none_or(|r| {
                        same_class(r.classname.as_deref(), case.classname.as_deref())
                            && (r.name == *case.name || case.name.starts_with(&format!("{}/", r.name)))
                    })
            })
    };
    let listed_in = |file: usize, case: &Case| {
        files[file]
            .cases
            .iter()
            .any(|r| r.name == *case.name && same_class(r.classname.as_deref(), case.classname.as_deref()))
    };
    let listed_anywhere = |case: &Case| (0..files.len()).any(|f| listed_in(f, case));
    let tolerated = |file: Option<usize>, case: &Case| match case.status {
        Status::Skipped => {
            file.is_some_and(|f| batch.parts.iter().any(|p| p.file == f) && listed_in(f, case))
        }
        Status::Errored => !listed_anywhere(case),
        _ => false,
    };
    let mut outside = Vec::new();
    out.cases.retain(|(file, case)| {
        if given(*file, case) || tolerated(*file, case) {
            return true;
        }
        let class = case.classname.as_deref().map(|c| format!("{c}::")).unwrap_or_default();
        outside.push(format!("{class}{}", case.name));
        false
    });
    if outside.is_empty() {
        return;
    }
    let label = batch_label(batch, files);
    let mut shown = outside.iter().take(OUTSIDE_SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if outside.len() > OUTSIDE_SHOWN {
        shown.push_str(&format!(" and {} more", outside.len() - OUTSIDE_SHOWN));
    }
    let message = format!(
        "planning error: batch {} ({label}) reported {} test(s) it was not given: {shown}. Its command selects tests by itself (a path or pattern that every batch repeats?); these results were set aside, not merged",
        batch.id,
        outside.len()
    );
    out.notes.push(format!("stepkit: {message}"));
    let mut case = synthesized(
        format!("batch {} ({label}) ran tests outside its selection", batch.id),
        ProblemKind::Error,
        message,
        None,
    );
    case.classname = Some(Shared::from("stepkit.plan"));
    out.cases.push((single_file(batch), case));
    out.outside = outside;
}

fn synthesized(name: String, kind: ProblemKind, message: String, output: Option<String>) -> Case {
    let mut case = Case::new(name, if kind == ProblemKind::Error { Status::Errored } else { Status::Failed });
    let detail = case.detail_mut();
    detail.problems.push(Problem {
        kind,
        message: Some(message.into()),
        ty: Some("stepkit.ProcessEnded".into()),
        text: None,
    });
    detail.system_out = output.filter(|o| !o.trim().is_empty()).map(Into::into);
    case
}

fn same_class(expected: Option<&str>, reported: Option<&str>) -> bool {
    match (expected, reported) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

fn single_file(batch: &Batch) -> Option<usize> {
    match batch.parts.as_slice() {
        [only] => Some(only.file),
        parts if parts.iter().all(|p| p.file == parts[0].file) && !parts.is_empty() => Some(parts[0].file),
        _ => None,
    }
}

/// "tests/FooTest.php" or "tests/a.py and 3 more files".
pub fn batch_label(batch: &Batch, files: &[TestFile]) -> String {
    let first = batch.parts.first().map(|p| files[p.file].path.as_str()).unwrap_or("");
    match batch.parts.len() {
        0 | 1 => first.to_string(),
        n => format!("{first} and {} more files", n - 1),
    }
}

/// The last lines of a batch's output.
pub fn output_tail(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(OUTPUT_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::suite::model::Part;

    fn files() -> Vec<TestFile> {
        let case = |n: &str| CaseRef { id: format!("C::{n}"), classname: Some("C".into()), name: n.into() };
        vec![TestFile { path: "tests/CTest.php".into(), cases: vec![case("a"), case("b"), case("c")] }]
    }

    fn finished(exit: Exit) -> Finished {
        Finished {
            batch: 1,
            worker: 1,
            exit,
            output: b"PHP Fatal error: boom\n".to_vec(),
            duration: Duration::from_secs(1),
        }
    }

    #[test]
    fn unreported_tests_become_errors_naming_the_exit_and_reported_ones_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let teamcity = dir.path().join("tc.log");
        std::fs::write(&teamcity, "##teamcity[testStarted name='a' locationHint='php_qn://tests/CTest.php::\\C::a']\n##teamcity[testFinished name='a' duration='5']\n##teamcity[testStarted name='b']\n").unwrap();
        let batch = Batch { id: 1, parts: vec![Part { file: 0, cases: None }], expected: 1.0 };
        let normal = |c: i32| c == 0 || c == 1;
        let hint = |e: &Exit| matches!(e, Exit::Code(255)).then_some("a PHP fatal error?");
        let junit = dir.path().join("missing.xml");
        let sources = Sources {
            junit: Some(&junit),
            teamcity: Some(&teamcity),
            root: Path::new("/"),
            normal_exit: &normal,
            exit_hint: &hint,
        };
        let results = collect_batch(&finished(Exit::Code(255)), &batch, &files(), &sources);
        assert_eq!(results.unreported, 2);
        let statuses: Vec<(&str, Status)> = results.cases.iter().map(|(_, c)| (&*c.name, c.status)).collect();
        assert_eq!(statuses, [("a", Status::Passed), ("b", Status::Errored), ("c", Status::Errored)]);
        let b = &results.cases[1].1;
        let message = b.first_problem().unwrap().message.as_deref().unwrap();
        assert!(message.contains("exited with status 255 (a PHP fatal error?)"), "{message}");
        assert!(
            b.detail.as_ref().unwrap().system_out.as_deref().unwrap().contains("PHP Fatal error"),
            "the output goes with the first unreported test"
        );
        assert!(results.cases[2].1.detail.as_ref().unwrap().system_out.is_none());
    }

    #[test]
    fn a_timed_out_test_is_an_error_and_the_tests_after_it_are_requeued() {
        let dir = tempfile::tempdir().unwrap();
        let teamcity = dir.path().join("tc.log");
        std::fs::write(&teamcity, "##teamcity[testStarted name='a']\n##teamcity[testFinished name='a' duration='5']\n##teamcity[testStarted name='b']\n").unwrap();
        let batch = Batch { id: 1, parts: vec![Part { file: 0, cases: None }], expected: 1.0 };
        let normal = |c: i32| c == 0 || c == 1;
        let hint = |_: &Exit| None;
        let junit = dir.path().join("missing.xml");
        let sources = Sources {
            junit: Some(&junit),
            teamcity: Some(&teamcity),
            root: Path::new("/"),
            normal_exit: &normal,
            exit_hint: &hint,
        };
        let exit = Exit::TestTimedOut {
            test: TestKey { name: "b".into(), classname: None },
            limit: Duration::from_secs(2),
            unfinished: vec![],
        };
        let results = collect_batch(&finished(exit), &batch, &files(), &sources);
        let statuses: Vec<(&str, Status)> = results.cases.iter().map(|(_, c)| (&*c.name, c.status)).collect();
        assert_eq!(statuses, [("a", Status::Passed), ("b", Status::Errored)]);
        let message = results.cases[1].1.first_problem().unwrap().message.as_deref().unwrap().to_string();
        assert!(message.contains("timed out after 2s (--test-timeout)"), "{message}");
        assert_eq!(results.cases[1].1.time, Some(2.0));
        assert_eq!(results.requeue, [(0, 2)], "c never ran: it runs again, it is not dropped");
    }

    #[test]
    fn tests_outside_the_batch_are_set_aside_as_a_planning_error() {
        let dir = tempfile::tempdir().unwrap();
        let junit = dir.path().join("j.xml");
        std::fs::write(
            &junit,
            r#"<testsuite><testcase classname="C" name="a" file="tests/CTest.php"/><testcase classname="C" name="a/sub" file="tests/CTest.php"/><testcase classname="C" name="b" file="tests/CTest.php"/><testcase classname="C" name="c" file="tests/CTest.php"><skipped/></testcase><testcase classname="" name="tests.broken"><error message="collection failed"/></testcase></testsuite>"#,
        )
        .unwrap();
        let batch = Batch { id: 3, parts: vec![Part { file: 0, cases: Some(vec![0]) }], expected: 1.0 };
        let normal = |c: i32| c == 0 || c == 1;
        let hint = |_: &Exit| None;
        let sources = Sources {
            junit: Some(&junit),
            teamcity: None,
            root: Path::new("/"),
            normal_exit: &normal,
            exit_hint: &hint,
        };
        let results = collect_batch(&finished(Exit::Code(1)), &batch, &files(), &sources);
        // b passed in a batch that was given only a: set aside, loudly. The subtest of a, the
        // class-level skip of c and the tool's own error record are kept.
        assert_eq!(results.outside, ["C::b"]);
        let names: Vec<&str> = results.cases.iter().map(|(_, c)| &*c.name).collect();
        assert_eq!(
            names,
            ["a", "a/sub", "c", "tests.broken", "batch 3 (tests/CTest.php) ran tests outside its selection"]
        );
        let planning = &results.cases[4].1;
        assert_eq!(planning.status, Status::Errored);
        assert!(planning
            .first_problem()
            .unwrap()
            .message
            .as_deref()
            .unwrap()
            .contains("reported 1 test(s) it was not given: C::b"));
        assert!(results.notes[0].contains("planning error: batch 3"));
    }

    #[test]
    fn a_command_without_junit_is_judged_by_its_exit_code() {
        let files = vec![TestFile::whole("a.sh"), TestFile::whole("b.sh")];
        let batch = Batch {
            id: 1,
            parts: vec![Part { file: 0, cases: None }, Part { file: 1, cases: None }],
            expected: 1.0,
        };
        let normal = |c: i32| c == 0;
        let hint = |_: &Exit| None;
        let sources = Sources {
            junit: None,
            teamcity: None,
            root: Path::new("/"),
            normal_exit: &normal,
            exit_hint: &hint,
        };
        let ok = collect_batch(&finished(Exit::Code(0)), &batch, &files, &sources);
        assert!(ok.cases.iter().all(|(_, c)| c.status == Status::Passed));
        let bad = collect_batch(&finished(Exit::Code(2)), &batch, &files, &sources);
        assert!(bad.cases.iter().all(|(_, c)| c.status == Status::Failed));
    }
}
