//! Assembling the merged report: one suite per test file, retries folded into flaky/rerun records,
//! batches that never started listed as skipped, wall and CPU time on the root.

use super::model::{Batch, TestFile};
use super::preset::Unplaced;
use crate::junit::{Attrs, Case, Merger, Problem, ProblemKind, Report, Shared, Status, Suite};

/// Every case collected so far, tied to its file (None when the report did not say).
pub type Results = Vec<(Option<usize>, Case)>;

/// Suite name for cases whose file is unknown.
const UNKNOWN_FILE: &str = "(file not reported)";

/// The cases that failed or errored, as (file, case index in the file's listing) to rerun.
/// A file without a listing is rerun whole (`None`).
pub fn failing(results: &Results, files: &[TestFile]) -> Vec<(usize, Option<usize>)> {
    let latest = latest_status(results);
    let mut out: Vec<(usize, Option<usize>)> = Vec::new();
    for ((file, name, class), status) in latest {
        let Some(file) = file else { continue };
        if !matches!(status, Status::Failed | Status::Errored) {
            continue;
        }
        let listed = files[file]
            .cases
            .iter()
            .position(|c| c.name == name && (class.is_none() || c.classname.as_deref() == class.as_deref()));
        let entry = (file, if files[file].cases.is_empty() { None } else { listed });
        if (entry.1.is_some() || files[file].cases.is_empty()) && !out.contains(&entry) {
            out.push(entry);
        }
    }
    out.sort();
    out
}

type Key = (Option<usize>, String, Option<String>);

/// The status of each test as of its last result: a later pass overrides an earlier failure.
fn latest_status(results: &Results) -> Vec<(Key, Status)> {
    let mut order: Vec<Key> = Vec::new();
    let mut status: std::collections::HashMap<Key, Status> = std::collections::HashMap::new();
    for (file, case) in results {
        let key = (*file, case.name.to_string(), case.classname.as_deref().map(str::to_string));
        if !status.contains_key(&key) {
            order.push(key.clone());
        }
        let entry = status.entry(key).or_insert(case.status);
        if case.status == Status::Passed || *entry != Status::Passed {
            *entry = case.status;
        }
    }
    order
        .into_iter()
        .map(|k| {
            let s = status[&k];
            (k, s)
        })
        .collect()
}

/// Replaces split-batch failures of `file` with its whole-file run's verdicts: a test that fails only
/// when its file is split depends on an earlier test of the file, so the whole-file verdict stands.
/// Only the failed tests are replaced; the whole run's other results are not used (a test that
/// passed alone and was never reached in the whole run is not flaky). Returns how many failures
/// passed when run whole (order dependence).
pub fn replace_with_whole_file(results: &mut Results, file: usize, whole: &Results) -> usize {
    let mut adopted: Results = Vec::new();
    let mut passed_whole = 0;
    results.retain(|(f, case)| {
        if *f != Some(file) || !matches!(case.status, Status::Failed | Status::Errored) {
            return true;
        }
        match whole
            .iter()
            .find(|(wf, w)| *wf == Some(file) && w.name == case.name && w.classname == case.classname)
        {
            Some(verdict) => {
                if verdict.1.status == Status::Passed {
                    passed_whole += 1;
                }
                adopted.push(verdict.clone());
                false
            }
            None => true,
        }
    });
    results.extend(adopted);
    passed_whole
}

/// Skipped cases for batches that never started, so the report still lists every test.
pub fn not_run(batches: &[Batch], files: &[TestFile], why: &str) -> Results {
    let mut out = Results::new();
    for batch in batches {
        for part in &batch.parts {
            let file = &files[part.file];
            let names: Vec<(String, Option<String>)> = match &part.cases {
                Some(cases) => cases
                    .iter()
                    .map(|&c| (file.cases[c].name.clone(), file.cases[c].classname.clone()))
                    .collect(),
                None if file.cases.is_empty() => vec![(file.path.clone(), None)],
                None => file.cases.iter().map(|c| (c.name.clone(), c.classname.clone())).collect(),
            };
            for (name, classname) in names {
                let mut case = Case::new(name, Status::Skipped);
                case.classname = classname.map(Shared::from);
                case.file = Some(Shared::from(file.path.as_str()));
                case.detail_mut().problems.push(Problem {
                    kind: ProblemKind::Skipped,
                    message: Some(format!("not run: {why}").into()),
                    ty: None,
                    text: None,
                });
                out.push((Some(part.file), case));
            }
        }
    }
    out
}

/// Error cases for listed tests that no batch could run, each naming why.
pub fn unplaced(list: &[Unplaced]) -> Results {
    list.iter()
        .map(|u| {
            listed_not_run(
                u,
                Status::Errored,
                ProblemKind::Error,
                format!("not run: {}", u.why),
                "stepkit.Unplaced",
            )
        })
        .collect()
}

/// Skipped cases for files the tool skipped while listing them, each with the tool's reason.
pub fn skipped_at_listing(list: &[Unplaced]) -> Results {
    list.iter()
        .map(|u| listed_not_run(u, Status::Skipped, ProblemKind::Skipped, u.why.clone(), "pytest.skip"))
        .collect()
}

/// A listed test no batch ran, with the problem that says why.
fn listed_not_run(
    u: &Unplaced,
    status: Status,
    kind: ProblemKind,
    message: String,
    ty: &str,
) -> (Option<usize>, Case) {
    let mut case = Case::new(u.name.clone(), status);
    case.classname = u.classname.as_deref().map(Shared::from);
    case.detail_mut().problems.push(Problem {
        kind,
        message: Some(message.into()),
        ty: Some(ty.into()),
        text: None,
    });
    (None, case)
}

/// Root attributes of the merged report.
pub struct RunFacts {
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    pub workers: usize,
    pub shard: Option<String>,
    pub interrupted: bool,
}

/// One suite per test file (in discovery order), cases in file order; duplicates fold as in `junit merge`.
pub fn build_report(files: &[TestFile], results: Results, facts: &RunFacts) -> Report {
    let mut ordered = results;
    let position = |file: Option<usize>, case: &Case| -> usize {
        file.and_then(|f| files[f].cases.iter().position(|c| c.name == *case.name)).unwrap_or(usize::MAX)
    };
    // Stable: results of the same test keep their order (first run, then retries).
    ordered.sort_by_key(|(file, case)| (file.unwrap_or(usize::MAX), position(*file, case)));
    let mut merger = Merger::new();
    for (file, mut case) in ordered {
        let name = file.map(|f| files[f].path.as_str()).unwrap_or(UNKNOWN_FILE);
        if case.file.is_none() {
            case.file = file.map(|f| Shared::from(files[f].path.as_str()));
        }
        let suite = Suite {
            name: name.into(),
            attrs: file.map(|f| Attrs::from_pairs([("file", files[f].path.as_str())])).unwrap_or_default(),
            cases: vec![case],
            ..Suite::default()
        };
        merger.add_report(Report { suites: vec![suite], ..Report::default() });
    }
    let mut report = merger.finish();
    for suite in &mut report.suites {
        suite.time = Some(suite.cases.iter().filter_map(|c| c.time).sum());
    }
    report.name = Some("stepkit test".into());
    report.time = Some(facts.wall_seconds);
    report.attrs.push(("cpu-time".into(), format!("{:.3}", facts.cpu_seconds).into()));
    report.attrs.push(("workers".into(), facts.workers.to_string().into()));
    if let Some(shard) = &facts.shard {
        report.attrs.push(("shard".into(), shard.clone().into()));
    }
    if facts.interrupted {
        report.attrs.push(("interrupted".into(), "true".into()));
    }
    report
}

/// CPU seconds used by every child process waited for so far.
pub fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::suite::model::CaseRef;

    fn case(name: &str, status: Status) -> Case {
        let mut c = Case::new(name, status);
        c.classname = Some("C".into());
        if status == Status::Failed {
            c.detail_mut().problems.push(Problem {
                kind: ProblemKind::Failure,
                message: Some("x".into()),
                ty: None,
                text: None,
            });
        }
        c
    }

    fn files() -> Vec<TestFile> {
        let r = |n: &str| CaseRef { id: n.into(), classname: Some("C".into()), name: n.into() };
        vec![TestFile { path: "t.py".into(), cases: vec![r("a"), r("b")] }]
    }

    #[test]
    fn failing_uses_the_latest_result_and_retries_fold_to_flaky() {
        let files = files();
        let mut results: Results =
            vec![(Some(0), case("a", Status::Failed)), (Some(0), case("b", Status::Passed))];
        assert_eq!(failing(&results, &files), vec![(0, Some(0))]);
        results.push((Some(0), case("a", Status::Passed)));
        assert!(failing(&results, &files).is_empty());
        let facts =
            RunFacts { wall_seconds: 1.0, cpu_seconds: 0.5, workers: 2, shard: None, interrupted: false };
        let report = build_report(&files, results, &facts);
        let counts = report.counts();
        assert_eq!((counts.tests, counts.passed, counts.flaky), (2, 2, 1));
        assert_eq!(&*report.suites[0].name, "t.py");
    }

    #[test]
    fn whole_file_run_replaces_split_failures() {
        let mut results: Results =
            vec![(Some(0), case("a", Status::Passed)), (Some(0), case("b", Status::Failed))];
        let whole: Results = vec![(Some(0), case("a", Status::Passed)), (Some(0), case("b", Status::Passed))];
        assert_eq!(replace_with_whole_file(&mut results, 0, &whole), 1);
        let report = build_report(
            &files(),
            results,
            &RunFacts { wall_seconds: 1.0, cpu_seconds: 0.0, workers: 1, shard: None, interrupted: false },
        );
        assert_eq!(report.counts().flaky, 0, "an order-dependent failure is not flakiness");
        assert_eq!(report.counts().passed, 2);
    }
}
