//! The JUnit data model: a report of (possibly nested) suites of test cases, compact enough for 200k-case merges.

use std::sync::Arc;

pub use super::attrs::{Attrs, AttrsBuilder, AttrsIter};

/// An owned string that never grows again: 16 bytes instead of `String`'s 24.
pub type Text = Box<str>;
/// A string shared between many cases (class names, file paths repeat a lot).
pub type Shared = Arc<str>;

/// A whole JUnit document (`<testsuites>` or a lone root `<testsuite>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub name: Option<Text>,
    pub time: Option<f64>,
    /// Root attributes other than the counts and `name`/`time` (which are recomputed).
    pub attrs: Attrs,
    pub suites: Vec<Suite>,
}

/// A `<testsuite>`: cases and nested suites.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suite {
    pub name: Text,
    pub time: Option<f64>,
    /// Attributes other than name, time and the counts (timestamp, hostname, file, package, ...).
    pub attrs: Attrs,
    pub properties: Vec<Property>,
    pub system_out: Option<Text>,
    pub system_err: Option<Text>,
    pub cases: Vec<Case>,
    pub suites: Vec<Suite>,
}

/// A `<property name= value=>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: Text,
    pub value: Text,
}

/// The verdict of one test case, derived from its result elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Passed,
    Skipped,
    Failed,
    Errored,
}

/// A `<testcase>`. Rarely used parts live behind `detail` so a passing case stays small.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: Text,
    pub classname: Option<Shared>,
    pub file: Option<Shared>,
    pub line: Option<u32>,
    pub time: Option<f64>,
    pub status: Status,
    /// Attributes other than name, classname, file, line, time. Here rather than in `detail`
    /// because many tools write a few on every case (PHPUnit's `assertions`, googletest's
    /// `status`): a detail block per case would cost 128 bytes each.
    pub attrs: Attrs,
    pub detail: Option<Box<CaseDetail>>,
}

/// The parts of a case most cases do not have.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseDetail {
    /// `<failure>`, `<error>`, `<skipped>` elements, in document order.
    pub problems: Vec<Problem>,
    /// Surefire-style `flakyFailure`/`flakyError`/`rerunFailure`/`rerunError` elements.
    pub reruns: Vec<Rerun>,
    pub properties: Vec<Property>,
    pub system_out: Option<Text>,
    pub system_err: Option<Text>,
}

/// What kind of result element a `Problem` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Failure,
    Error,
    Skipped,
}

/// A `<failure>`, `<error>` or `<skipped>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: Option<Text>,
    pub ty: Option<Text>,
    pub text: Option<Text>,
}

/// Which Surefire retry element a `Rerun` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RerunKind {
    /// A failed attempt of a test that passed in the end.
    FlakyFailure,
    FlakyError,
    /// A failed retry of a test that failed in the end.
    RerunFailure,
    RerunError,
}

impl RerunKind {
    /// The XML element name.
    pub fn element(self) -> &'static str {
        match self {
            RerunKind::FlakyFailure => "flakyFailure",
            RerunKind::FlakyError => "flakyError",
            RerunKind::RerunFailure => "rerunFailure",
            RerunKind::RerunError => "rerunError",
        }
    }

    /// The kind for an earlier failed attempt, given how the test ended.
    pub fn for_attempt(problem: ProblemKind, ended_passing: bool) -> Self {
        match (problem == ProblemKind::Error, ended_passing) {
            (false, true) => RerunKind::FlakyFailure,
            (true, true) => RerunKind::FlakyError,
            (false, false) => RerunKind::RerunFailure,
            (true, false) => RerunKind::RerunError,
        }
    }
}

/// One retry attempt as Surefire writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerun {
    pub kind: RerunKind,
    pub message: Option<Text>,
    pub ty: Option<Text>,
    pub stack_trace: Option<Text>,
    pub system_out: Option<Text>,
    pub system_err: Option<Text>,
    /// Loose text inside the element (Surefire before 2.22.1 wrote the trace there).
    pub text: Option<Text>,
}

impl Case {
    /// A case with just a name and a status.
    pub fn new(name: impl Into<Text>, status: Status) -> Self {
        Case {
            name: name.into(),
            classname: None,
            file: None,
            line: None,
            time: None,
            status,
            attrs: Attrs::new(),
            detail: None,
        }
    }

    /// The detail block, created on first use.
    pub fn detail_mut(&mut self) -> &mut CaseDetail {
        self.detail.get_or_insert_with(Default::default)
    }

    /// The first failure/error/skip element, if any.
    pub fn first_problem(&self) -> Option<&Problem> {
        let detail = self.detail.as_deref()?;
        let wanted = match self.status {
            Status::Errored => ProblemKind::Error,
            Status::Failed => ProblemKind::Failure,
            Status::Skipped => ProblemKind::Skipped,
            Status::Passed => return None,
        };
        detail.problems.iter().find(|p| p.kind == wanted)
    }

    /// The retry elements of this case (empty when none).
    pub fn reruns(&self) -> &[Rerun] {
        self.detail.as_deref().map(|d| d.reruns.as_slice()).unwrap_or(&[])
    }

    /// True for a case that passed after failed attempts.
    pub fn is_flaky(&self) -> bool {
        self.status == Status::Passed
            && self.reruns().iter().any(|r| matches!(r.kind, RerunKind::FlakyFailure | RerunKind::FlakyError))
    }

    /// Recomputes `status` from the result elements: error beats failure beats skipped.
    pub fn derive_status(&mut self) {
        let problems = self.detail.as_deref().map(|d| d.problems.as_slice()).unwrap_or(&[]);
        self.status = if problems.iter().any(|p| p.kind == ProblemKind::Error) {
            Status::Errored
        } else if problems.iter().any(|p| p.kind == ProblemKind::Failure) {
            Status::Failed
        } else if problems.iter().any(|p| p.kind == ProblemKind::Skipped) {
            Status::Skipped
        } else {
            Status::Passed
        };
    }
}

/// Test counts recomputed from the cases themselves (never trusted from attributes).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    pub tests: u64,
    pub passed: u64,
    pub failures: u64,
    pub errors: u64,
    pub skipped: u64,
    /// Passed cases that failed on an earlier attempt.
    pub flaky: u64,
    /// Sum of the case times, in seconds.
    pub time: f64,
}

impl Counts {
    /// Adds one case.
    pub fn add_case(&mut self, case: &Case) {
        self.tests += 1;
        match case.status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failures += 1,
            Status::Errored => self.errors += 1,
            Status::Skipped => self.skipped += 1,
        }
        if case.is_flaky() {
            self.flaky += 1;
        }
        self.time += case.time.unwrap_or(0.0);
    }

    /// Adds another set of counts.
    pub fn add(&mut self, other: &Counts) {
        self.tests += other.tests;
        self.passed += other.passed;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
        self.flaky += other.flaky;
        self.time += other.time;
    }

    /// True when any case failed or errored.
    pub fn has_failures(&self) -> bool {
        self.failures + self.errors > 0
    }
}

impl Suite {
    /// Counts of this suite and every nested suite.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for case in &self.cases {
            counts.add_case(case);
        }
        for suite in &self.suites {
            counts.add(&suite.counts());
        }
        counts
    }

    /// Visits every case with the path of suite names that leads to it.
    pub fn walk<'a>(&'a self, path: &mut Vec<&'a str>, visit: &mut impl FnMut(&[&'a str], &'a Case)) {
        path.push(&self.name);
        for case in &self.cases {
            visit(path, case);
        }
        for suite in &self.suites {
            suite.walk(path, visit);
        }
        path.pop();
    }
}

impl Report {
    /// Counts over every suite.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for suite in &self.suites {
            counts.add(&suite.counts());
        }
        counts
    }

    /// Visits every case with the `file` attribute of its nearest suite that has one (PHPUnit puts
    /// the file on the class suite, not always on the case).
    pub fn walk_with_suite_file(&self, mut visit: impl FnMut(Option<&str>, &Case)) {
        fn walk<'a>(
            suite: &'a Suite,
            inherited: Option<&'a str>,
            visit: &mut impl FnMut(Option<&str>, &Case),
        ) {
            let file = suite.attrs.get("file").or(inherited);
            for case in &suite.cases {
                visit(file, case);
            }
            for child in &suite.suites {
                walk(child, file, visit);
            }
        }
        for suite in &self.suites {
            walk(suite, None, &mut visit);
        }
    }

    /// Visits every case with its suite path.
    pub fn walk<'a>(&'a self, mut visit: impl FnMut(&[&'a str], &'a Case)) {
        let mut path = Vec::new();
        for suite in &self.suites {
            suite.walk(&mut path, &mut visit);
        }
    }
}
