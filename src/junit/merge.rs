//! Merging reports: suites joined by path, cases deduplicated by identity within a run, retries folded into flaky/rerun records.

use super::model::{Case, Problem, ProblemKind, Report, Rerun, RerunKind, Shared, Status, Suite, Text};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Name of the suite that holds one error case per input that could not be read.
pub const INPUT_ERRORS_SUITE: &str = "stepkit: unreadable reports";

/// Builds one report out of many. Suites with the same path (names from the root down) become
/// one suite; a case seen again in the same run under the same identity (suite path, classname,
/// name, file) is folded into the first: see `fold_duplicate`. Cases of different runs never fold
/// (a matrix cell is not a retry), and a case with no name, classname or file has no identity
/// and is never folded.
#[derive(Default)]
pub struct Merger {
    /// The name of the first report, and how many inputs there were: the merged root is named for them.
    first_name: Option<Text>,
    inputs: u64,
    unreadable: u64,
    arena: Vec<Slot>,
    roots: Vec<usize>,
    root_by_name: HashMap<Text, usize>,
    /// Identity hash (run, slot, classname, name, file) -> the first case with it. One small entry
    /// per case: with a `Vec` per entry the index alone cost more than a passing case.
    first_by_identity: HashMap<u64, CaseAt>,
    /// Further cases whose identity hash equals an earlier, different identity's (rare).
    more_by_identity: HashMap<u64, Vec<CaseAt>>,
    duplicates: u64,
}

/// Where a case sits: its suite slot, its position there, and its run.
#[derive(Clone, Copy)]
struct CaseAt {
    slot: u32,
    position: u32,
    run: u32,
}

struct Slot {
    suite: Suite,
    children: Vec<usize>,
    child_by_name: HashMap<Text, usize>,
}

impl Merger {
    /// An empty merger.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many cases were folded into an earlier case with the same identity.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Adds every suite of a report, as part of run 0 (for callers that merge one run's pieces).
    pub fn add_report(&mut self, report: Report) {
        self.add_run(report, 0);
    }

    /// Adds every suite of a report; its cases fold only with earlier cases of the same `run`.
    pub fn add_run(&mut self, report: Report, run: u32) {
        self.inputs += 1;
        if self.inputs == 1 {
            self.first_name = report.name;
        }
        for suite in report.suites {
            self.add_suite(None, suite, run);
        }
    }

    /// Records an input that could not be read as an error case, so the merged report shows it.
    pub fn add_unreadable(&mut self, source: &str, message: &str) {
        let mut case = Case::new(source, Status::Errored);
        case.classname = Some(Shared::from("stepkit.junit"));
        case.detail_mut().problems.push(Problem {
            kind: ProblemKind::Error,
            message: Some(message.into()),
            ty: Some("stepkit.UnreadableReport".into()),
            text: None,
        });
        let suite = Suite { name: INPUT_ERRORS_SUITE.into(), cases: vec![case], ..Suite::default() };
        self.unreadable += 1;
        self.add_suite(None, suite, u32::MAX);
    }

    fn add_suite(&mut self, parent: Option<usize>, mut suite: Suite, run: u32) {
        let children = std::mem::take(&mut suite.suites);
        let cases = std::mem::take(&mut suite.cases);
        let slot = self.slot_for(parent, suite);
        // A new suite ends with as many cases as it was given: no doubling slack.
        self.arena[slot].suite.cases.reserve(cases.len());
        for case in cases {
            self.add_case(slot, case, run);
        }
        for child in children {
            self.add_suite(Some(slot), child, run);
        }
    }

    /// The slot of the suite with this name under `parent`, created (with `suite`'s attributes) when new.
    fn slot_for(&mut self, parent: Option<usize>, suite: Suite) -> usize {
        let existing = match parent {
            None => self.root_by_name.get(&suite.name).copied(),
            Some(p) => self.arena[p].child_by_name.get(&suite.name).copied(),
        };
        if let Some(index) = existing {
            absorb_suite(&mut self.arena[index].suite, suite);
            return index;
        }
        let index = self.arena.len();
        let name = suite.name.clone();
        self.arena.push(Slot { suite, children: Vec::new(), child_by_name: HashMap::new() });
        match parent {
            None => {
                self.roots.push(index);
                self.root_by_name.insert(name, index);
            }
            Some(p) => {
                self.arena[p].children.push(index);
                self.arena[p].child_by_name.insert(name, index);
            }
        }
        index
    }

    fn add_case(&mut self, slot: usize, case: Case, run: u32) {
        let cases = &mut self.arena[slot].suite.cases;
        let here = CaseAt { slot: slot as u32, position: cases.len() as u32, run };
        if !has_identity(&case) {
            // Four anonymous cases are four results, not one test retried four times.
            cases.push(case);
            return;
        }
        let key = identity_hash(&case, slot, run);
        let same = |at: &CaseAt| {
            at.slot == here.slot && at.run == run && same_identity(&cases[at.position as usize], &case)
        };
        let found = match self.first_by_identity.get(&key) {
            None => {
                self.first_by_identity.insert(key, here);
                None
            }
            Some(first) if same(first) => Some(first.position),
            Some(_) => {
                let more = self.more_by_identity.entry(key).or_default();
                let found = more.iter().find(|&&at| same(&at)).map(|at| at.position);
                if found.is_none() {
                    more.push(here);
                }
                found
            }
        };
        match found {
            Some(position) => {
                fold_duplicate(&mut cases[position as usize], case);
                self.duplicates += 1;
            }
            None => cases.push(case),
        }
    }

    /// The merged report. Its root is named for what it is: one input keeps its own name, several
    /// are "merged: N reports" (not the first input's name, which would claim the others are it).
    pub fn finish(mut self) -> Report {
        let mut suites = Vec::with_capacity(self.roots.len());
        for root in std::mem::take(&mut self.roots) {
            suites.push(build(&mut self.arena, root));
        }
        let name = match (self.inputs, self.unreadable) {
            (0, 0) => None,
            (1, 0) => self.first_name,
            (readable, unreadable) => {
                let n = readable + unreadable;
                Some(format!("merged: {n} report{}", if n == 1 { "" } else { "s" }).into())
            }
        };
        let mut report = Report { name, suites, ..Report::default() };
        report.time = Some(report.suites.iter().filter_map(|s| s.time).sum());
        report
    }
}

fn build(arena: &mut [Slot], index: usize) -> Suite {
    let children = std::mem::take(&mut arena[index].children);
    let mut suite = std::mem::take(&mut arena[index].suite);
    suite.suites = children.into_iter().map(|child| build(arena, child)).collect();
    suite
}

/// Joins a suite seen again (another shard, another file) into the first one: times add up
/// because the parts ran separately; attributes, properties and output of the first are kept,
/// and output of the later part is appended so nothing is lost.
fn absorb_suite(into: &mut Suite, other: Suite) {
    into.time = match (into.time, other.time) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    for (key, value) in &other.attrs {
        if into.attrs.get(key).is_none() {
            into.attrs.push_str(key, value);
        }
    }
    for property in other.properties {
        if !into.properties.contains(&property) {
            into.properties.push(property);
        }
    }
    append_text(&mut into.system_out, other.system_out);
    append_text(&mut into.system_err, other.system_err);
}

fn append_text(into: &mut Option<Text>, more: Option<Text>) {
    match (into.as_mut(), more) {
        (_, None) => {}
        (None, Some(more)) => *into = Some(more),
        (Some(existing), Some(more)) if **existing == *more => {}
        (Some(existing), Some(more)) => {
            let mut joined = String::with_capacity(existing.len() + more.len() + 1);
            joined.push_str(existing);
            if !joined.ends_with('\n') {
                joined.push('\n');
            }
            joined.push_str(&more);
            *existing = joined.into_boxed_str();
        }
    }
}

/// False for a case with no name, classname or file: nothing says two such cases are one test.
fn has_identity(case: &Case) -> bool {
    !case.name.is_empty()
        || case.classname.as_deref().is_some_and(|c| !c.is_empty())
        || case.file.as_deref().is_some_and(|f| !f.is_empty())
}

fn identity_hash(case: &Case, slot: usize, run: u32) -> u64 {
    let mut hasher = DefaultHasher::new();
    slot.hash(&mut hasher);
    run.hash(&mut hasher);
    case.classname.as_deref().hash(&mut hasher);
    case.name.hash(&mut hasher);
    case.file.as_deref().hash(&mut hasher);
    hasher.finish()
}

fn same_identity(a: &Case, b: &Case) -> bool {
    a.name == b.name
        && a.classname.as_deref() == b.classname.as_deref()
        && a.file.as_deref() == b.file.as_deref()
}

/// Folds a second result of the same test into the first.
/// - same verdict: the first stays (PHPUnit 9 repeats skipped tests; shards can overlap);
/// - one passed, another failed or errored: the test is flaky; it passes with the failed
///   attempts kept as `flakyFailure`/`flakyError`;
/// - failed/errored and skipped: the failure wins;
/// - failed and errored: the first stays, the other attempt is kept as `rerunFailure`/`rerunError`.
pub fn fold_duplicate(first: &mut Case, other: Case) {
    let ends_passing = first.status == Status::Passed || other.status == Status::Passed;
    let (mut keep, attempt) = if rank(other.status) > rank(first.status) {
        (other, std::mem::replace(first, Case::new("", Status::Passed)))
    } else {
        (std::mem::replace(first, Case::new("", Status::Passed)), other)
    };
    let attempt_reruns = attempt.reruns().to_vec();
    if matches!(attempt.status, Status::Failed | Status::Errored) {
        let rerun = attempt_as_rerun(attempt, ends_passing);
        keep.detail_mut().reruns.push(rerun);
    }
    for rerun in attempt_reruns {
        if !keep.reruns().contains(&rerun) {
            keep.detail_mut().reruns.push(rerun);
        }
    }
    if ends_passing && keep.status == Status::Passed {
        // Reruns recorded as "rerun" before we knew the test passed in the end are flaky now.
        for rerun in &mut keep.detail_mut().reruns {
            rerun.kind = match rerun.kind {
                RerunKind::RerunFailure => RerunKind::FlakyFailure,
                RerunKind::RerunError => RerunKind::FlakyError,
                kind => kind,
            };
        }
    }
    *first = keep;
}

/// Which result of two stands for the test: a pass beats a failure (the failure becomes a
/// flaky attempt), a failure beats a skip, and otherwise the first seen stays.
fn rank(status: Status) -> u8 {
    match status {
        Status::Skipped => 0,
        Status::Failed | Status::Errored => 1,
        Status::Passed => 2,
    }
}

fn attempt_as_rerun(attempt: Case, ends_passing: bool) -> Rerun {
    let problem_kind =
        if attempt.status == Status::Errored { ProblemKind::Error } else { ProblemKind::Failure };
    let problem = attempt.first_problem().cloned();
    let detail = attempt.detail.map(|d| *d).unwrap_or_default();
    let (message, ty, text) = match problem {
        Some(p) => (p.message, p.ty, p.text),
        None => (None, None, None),
    };
    Rerun {
        kind: RerunKind::for_attempt(problem_kind, ends_passing),
        message,
        ty,
        stack_trace: text,
        system_out: detail.system_out,
        system_err: detail.system_err,
        text: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::parse_bytes;

    fn report(xml: &str) -> Report {
        parse_bytes(xml.as_bytes(), "test.xml").unwrap()
    }

    #[test]
    fn suites_with_the_same_path_join_and_duplicates_fold() {
        let a = report(
            r#"<testsuites><testsuite name="S" time="1"><testcase classname="C" name="a"/><testcase classname="C" name="b"><skipped/></testcase></testsuite></testsuites>"#,
        );
        let b = report(
            r#"<testsuite name="S" time="2"><testcase classname="C" name="b"><skipped/></testcase><testcase classname="C" name="c"/></testsuite>"#,
        );
        let mut merger = Merger::new();
        merger.add_report(a);
        merger.add_report(b);
        assert_eq!(merger.duplicates(), 1);
        let merged = merger.finish();
        assert_eq!(merged.suites.len(), 1);
        assert_eq!(merged.suites[0].time, Some(3.0));
        let counts = merged.counts();
        assert_eq!((counts.tests, counts.passed, counts.skipped), (3, 2, 1));
    }

    #[test]
    fn fail_then_pass_is_flaky_in_either_order() {
        let fail = r#"<testsuite name="S"><testcase classname="C" name="t"><failure message="boom">trace</failure></testcase></testsuite>"#;
        let pass = r#"<testsuite name="S"><testcase classname="C" name="t"/></testsuite>"#;
        for (first, second) in [(fail, pass), (pass, fail)] {
            let mut merger = Merger::new();
            merger.add_report(report(first));
            merger.add_report(report(second));
            let merged = merger.finish();
            let case = &merged.suites[0].cases[0];
            assert_eq!(case.status, Status::Passed);
            assert!(case.is_flaky());
            assert_eq!(case.reruns()[0].kind, RerunKind::FlakyFailure);
            assert_eq!(case.reruns()[0].message.as_deref(), Some("boom"));
            assert_eq!(merged.counts().flaky, 1);
        }
    }

    #[test]
    fn failure_beats_skip_and_same_file_differs_identity() {
        let mut merger = Merger::new();
        merger.add_report(report(r#"<testsuite name="S"><testcase name="t" file="a.py"><skipped/></testcase><testcase name="t" file="b.py"/></testsuite>"#));
        merger.add_report(report(r#"<testsuite name="S"><testcase name="t" file="a.py"><error message="x"/></testcase></testsuite>"#));
        let counts = merger.finish().counts();
        assert_eq!((counts.tests, counts.errors, counts.passed), (2, 1, 1));
    }

    #[test]
    fn nested_suites_merge_by_path() {
        let xml = r#"<testsuites><testsuite name="root"><testsuite name="A"><testcase name="x"/></testsuite></testsuite></testsuites>"#;
        let xml2 = r#"<testsuites><testsuite name="root"><testsuite name="A"><testcase name="y"/></testsuite><testsuite name="B"><testcase name="x"/></testsuite></testsuite></testsuites>"#;
        let mut merger = Merger::new();
        merger.add_report(report(xml));
        merger.add_report(report(xml2));
        let merged = merger.finish();
        assert_eq!(merged.suites[0].suites.len(), 2);
        assert_eq!(merged.suites[0].suites[0].cases.len(), 2);
        assert_eq!(merged.counts().tests, 3);
    }

    #[test]
    fn anonymous_cases_and_other_runs_never_fold() {
        let mut merger = Merger::new();
        merger.add_run(report(r#"<testsuite name="S"><testcase><failure/></testcase><testcase/><testcase classname="C" name="t"><failure message="boom"/></testcase></testsuite>"#), 1);
        merger.add_run(report(r#"<testsuite name="S"><testcase classname="C" name="t"/><testcase classname="C" name="t"/></testsuite>"#), 2);
        assert_eq!(merger.duplicates(), 1, "only the repeat inside run 2 folds");
        let merged = merger.finish();
        let c = merged.counts();
        assert_eq!((c.tests, c.failures, c.passed, c.flaky), (4, 2, 2, 0));
        assert_eq!(merged.name.as_deref(), Some("merged: 2 reports"));
    }

    #[test]
    fn one_input_keeps_its_name() {
        let mut merger = Merger::new();
        merger.add_report(report(r#"<testsuites name="jest tests"><testsuite name="S"/></testsuites>"#));
        assert_eq!(merger.finish().name.as_deref(), Some("jest tests"));
    }

    #[test]
    fn unreadable_input_becomes_an_error_case() {
        let mut merger = Merger::new();
        merger.add_unreadable("broken.xml", "the file is empty");
        let merged = merger.finish();
        assert_eq!(merged.counts().errors, 1);
        assert_eq!(&*merged.suites[0].name, INPUT_ERRORS_SUITE);
    }
}
