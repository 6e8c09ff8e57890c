//! Timings from earlier JUnit reports (any tool, e.g. the last run's output), mapped onto the files found now.

use super::model::{CaseRef, TestFile};
use crate::junit::{Case, Report};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// A case within its file as JUnit names it: two classes of one file (unittest's `ChunkedTests` and
/// `SplitTests`) may each have a `test_basic`, and each keeps its own time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseKey {
    pub classname: Option<String>,
    pub name: String,
}

impl CaseKey {
    fn of(case: &CaseRef) -> CaseKey {
        CaseKey { classname: case.classname.clone(), name: case.name.clone() }
    }
}

/// Seconds per file and per case of a file, from previous reports.
#[derive(Debug, Default, Clone)]
pub struct Timings {
    files: HashMap<String, f64>,
    cases: HashMap<(String, CaseKey), f64>,
    /// Per (file, case name): the classnames it was reported under, for a report whose classnames are
    /// not the listing's (another tool's, or none).
    classes: HashMap<(String, String), Vec<Option<String>>>,
}

impl Timings {
    /// Timings for `files` found in `reports`. A case is tied to a file by its `file` attribute, the
    /// `file` attribute of its suite (PHPUnit), its (classname, name) as the preset listed it, or its
    /// dotted classname read as a path (pytest's `tests.test_a` is `tests/test_a.py`).
    pub fn from_reports(reports: &[Report], files: &[TestFile], root: &Path) -> Timings {
        let mut by_class_and_name: HashMap<(&str, &str), &str> = HashMap::new();
        let mut by_module: HashMap<String, &str> = HashMap::new();
        for file in files {
            for case in &file.cases {
                if let Some(class) = &case.classname {
                    by_class_and_name.insert((class.as_str(), case.name.as_str()), &file.path);
                }
            }
            let stem = file.path.rsplit_once('.').map_or(file.path.as_str(), |(stem, _)| stem);
            by_module.insert(stem.replace(['/', '\\'], "."), &file.path);
        }
        let mut timings = Timings::default();
        let mut visit = |suite_file: Option<&str>, case: &Case| {
            let Some(time) = case.time else { return };
            let file = case.file.as_deref().or(suite_file).map(|f| relative(f, root)).or_else(|| {
                let class = case.classname.as_deref()?;
                by_class_and_name
                    .get(&(class, &*case.name))
                    .map(|f| f.to_string())
                    .or_else(|| by_module.get(class).map(|f| f.to_string()))
            });
            if let Some(file) = file {
                let key = CaseKey {
                    classname: case.classname.as_deref().map(str::to_string),
                    name: case.name.to_string(),
                };
                timings.add(&file, key, time);
            }
        };
        for report in reports {
            report.walk_with_suite_file(&mut visit);
        }
        timings
    }

    /// Total seconds of a file's cases, if any were reported.
    pub fn file(&self, path: &str) -> Option<f64> {
        self.files.get(path).copied()
    }

    /// Seconds of one listed case, if reported: under its own classname, else under the one
    /// classname its name was reported with in that file (none is a guess between several).
    pub fn case(&self, path: &str, case: &CaseRef) -> Option<f64> {
        let key = CaseKey::of(case);
        if let Some(seconds) = self.cases.get(&(path.to_string(), key.clone())) {
            return Some(*seconds);
        }
        match self.classes.get(&(path.to_string(), key.name.clone()))?.as_slice() {
            [classname] => {
                self.cases.get(&(path.to_string(), CaseKey { classname: classname.clone(), ..key })).copied()
            }
            _ => None,
        }
    }

    /// Timings from seconds per case per file (the `--timings auto` cache).
    pub fn from_case_seconds(files: BTreeMap<String, BTreeMap<CaseKey, f64>>) -> Timings {
        let mut timings = Timings::default();
        for (file, cases) in files {
            for (key, seconds) in cases {
                timings.add(&file, key, seconds);
            }
        }
        timings
    }

    fn add(&mut self, file: &str, key: CaseKey, seconds: f64) {
        *self.files.entry(file.to_string()).or_default() += seconds;
        let classes = self.classes.entry((file.to_string(), key.name.clone())).or_default();
        if !classes.contains(&key.classname) {
            classes.push(key.classname.clone());
        }
        *self.cases.entry((file.to_string(), key)).or_default() += seconds;
    }

    /// These timings with every case `newer` knows replaced by its newer time; the rest kept.
    pub fn updated_with(&self, newer: &Timings) -> Timings {
        let mut cases = self.cases.clone();
        cases.extend(newer.cases.iter().map(|(k, v)| (k.clone(), *v)));
        let mut out = Timings::default();
        for ((file, name), seconds) in cases {
            out.add(&file, name, seconds);
        }
        out
    }

    /// Seconds per case per file, for the files (and their cases) listed now.
    pub fn case_seconds(&self, listed: &[TestFile]) -> BTreeMap<String, BTreeMap<CaseKey, f64>> {
        let listed: HashMap<&str, (bool, HashSet<&str>)> = listed
            .iter()
            .map(|f| {
                (f.path.as_str(), (f.cases.is_empty(), f.cases.iter().map(|c| c.name.as_str()).collect()))
            })
            .collect();
        let mut out: BTreeMap<String, BTreeMap<CaseKey, f64>> = BTreeMap::new();
        for ((file, key), seconds) in &self.cases {
            let Some((whole, names)) = listed.get(file.as_str()) else { continue };
            // A file without a listing is timed whole, under its own path.
            if *whole || names.contains(key.name.as_str()) {
                out.entry(file.clone()).or_default().insert(key.clone(), *seconds);
            }
        }
        out
    }

    /// True when nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A path as the discovered files spell it: relative to the project root, without `./`.
pub(crate) fn relative(path: &str, root: &Path) -> String {
    let p = Path::new(path);
    let rel = p.strip_prefix(root).unwrap_or(p);
    let text = rel.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::parse_bytes;
    use crate::steps::suite::model::CaseRef;

    #[test]
    fn maps_cases_by_file_attribute_suite_file_class_and_module() {
        let xml = r#"<testsuites>
          <testsuite name="php" file="/proj/tests/ATest.php"><testcase name="testA" classname="ATest" time="2"/></testsuite>
          <testsuite name="py"><testcase name="test_b" classname="tests.test_b" time="3"/>
            <testcase name="test_c" file="./tests/test_c.py" time="1.5"/>
            <testcase name="listed" classname="Go" time="4"/></testsuite>
        </testsuites>"#;
        let report = parse_bytes(xml.as_bytes(), "t").unwrap();
        let files = vec![
            TestFile::whole("tests/ATest.php"),
            TestFile::whole("tests/test_b.py"),
            TestFile::whole("tests/test_c.py"),
            TestFile {
                path: "pkg/go".into(),
                cases: vec![CaseRef {
                    id: "listed".into(),
                    classname: Some("Go".into()),
                    name: "listed".into(),
                }],
            },
        ];
        let timings = Timings::from_reports(&[report], &files, Path::new("/proj"));
        assert_eq!(timings.file("tests/ATest.php"), Some(2.0));
        assert_eq!(timings.file("tests/test_b.py"), Some(3.0));
        let test_c = CaseRef { id: "tests/test_c.py::test_c".into(), classname: None, name: "test_c".into() };
        assert_eq!(timings.case("tests/test_c.py", &test_c), Some(1.5));
        assert_eq!(timings.file("pkg/go"), Some(4.0));
    }

    #[test]
    fn a_name_in_two_classes_of_one_file_keeps_each_time_and_a_classless_report_still_matches() {
        let xml = r#"<testsuites><testsuite name="pytest">
            <testcase classname="tests.test_more.ChunkedTests" name="test_basic" time="3"/>
            <testcase classname="tests.test_more.SplitTests" name="test_basic" time="0.5"/>
            <testcase classname="tests.test_more.SplitTests" name="test_only_here" time="2"/>
        </testsuite></testsuites>"#;
        let case = |class: &str, name: &str| CaseRef {
            id: format!("tests/test_more.py::{class}::{name}"),
            classname: Some(format!("tests.test_more.{class}")),
            name: name.into(),
        };
        let listed = vec![TestFile {
            path: "tests/test_more.py".into(),
            cases: vec![
                case("ChunkedTests", "test_basic"),
                case("SplitTests", "test_basic"),
                case("SplitTests", "test_only_here"),
            ],
        }];
        let report = parse_bytes(xml.as_bytes(), "t").unwrap();
        let timings = Timings::from_reports(&[report], &listed, Path::new("/proj"));
        let seconds = |c: &CaseRef| timings.case("tests/test_more.py", c);
        assert_eq!(seconds(&case("ChunkedTests", "test_basic")), Some(3.0));
        assert_eq!(seconds(&case("SplitTests", "test_basic")), Some(0.5));
        // Listed under another classname (another tool's report): the one class it was reported in
        // answers; a name reported in two classes is not guessed.
        assert_eq!(seconds(&case("Renamed", "test_only_here")), Some(2.0));
        assert_eq!(seconds(&case("Renamed", "test_basic")), None);
        assert_eq!(timings.file("tests/test_more.py"), Some(5.5));
    }
}
