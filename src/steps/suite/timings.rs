//! Timings from earlier JUnit reports (any tool, e.g. the last run's output), mapped onto the files found now.

use super::model::TestFile;
use crate::junit::{Case, Report};
use std::collections::HashMap;
use std::path::Path;

/// Seconds per file and per (file, case name), from previous reports.
#[derive(Debug, Default, Clone)]
pub struct Timings {
    files: HashMap<String, f64>,
    cases: HashMap<(String, String), f64>,
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
                timings.add(&file, case.name.to_string(), time);
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

    /// Seconds of one case, if reported.
    pub fn case(&self, path: &str, name: &str) -> Option<f64> {
        self.cases.get(&(path.to_string(), name.to_string())).copied()
    }

    /// Timings from seconds per case per file (the `--timings auto` cache).
    pub fn from_case_seconds(
        files: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
    ) -> Timings {
        let mut timings = Timings::default();
        for (file, cases) in files {
            for (name, seconds) in cases {
                timings.add(&file, name, seconds);
            }
        }
        timings
    }

    fn add(&mut self, file: &str, name: String, seconds: f64) {
        *self.files.entry(file.to_string()).or_default() += seconds;
        *self.cases.entry((file.to_string(), name)).or_default() += seconds;
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
    pub fn case_seconds(
        &self,
        listed: &[TestFile],
    ) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> {
        let listed: HashMap<&str, &TestFile> = listed.iter().map(|f| (f.path.as_str(), f)).collect();
        let mut out: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
            Default::default();
        for ((file, name), seconds) in &self.cases {
            let Some(test_file) = listed.get(file.as_str()) else { continue };
            // A file without a listing is timed whole, under its own path.
            if test_file.cases.is_empty() || test_file.cases.iter().any(|c| c.name == *name) {
                out.entry(file.clone()).or_default().insert(name.clone(), *seconds);
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
        assert_eq!(timings.case("tests/test_c.py", "test_c"), Some(1.5));
        assert_eq!(timings.file("pkg/go"), Some(4.0));
    }
}
