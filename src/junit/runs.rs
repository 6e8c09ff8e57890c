//! Separate runs: which inputs report the same tests, and how a merge keeps them apart.
//!
//! Retries and matrix runs look alike by name: the same suite on PHP 8.1 and 8.2 reports the same
//! tests. Folding them as retries turned a failure on one into a "flaky" pass. So each input file
//! is its own run unless the user says otherwise (`--fold-across-files`); inputs that report a
//! test another input reports too are renamed apart, so Jenkins and GitLab show both results.

use super::model::{Property, Report, Suite};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Property on each root suite of an input kept apart from the others: the input it came from.
pub const INPUT_PROPERTY: &str = "stepkit.input";

/// For each report, whether it holds a test (same suite path, classname, name and file) that
/// another report holds too. Cases with no name, classname or file are no test's identity.
pub fn overlapping(reports: &[&Report]) -> Vec<bool> {
    let mut overlaps = vec![false; reports.len()];
    // Identity hash -> the first report that has it. A hash collision can only mark an input
    // as overlapping when it is not, which costs a longer suite name, never a lost result.
    let mut first_seen: HashMap<u64, usize> = HashMap::new();
    for (index, report) in reports.iter().enumerate() {
        let mut mine = Vec::new();
        for suite in &report.suites {
            identities(suite, DefaultHasher::new(), &mut mine);
        }
        for key in mine {
            match first_seen.get(&key) {
                None => {
                    first_seen.insert(key, index);
                }
                Some(&other) if other != index => {
                    overlaps[other] = true;
                    overlaps[index] = true;
                }
                Some(_) => {}
            }
        }
    }
    overlaps
}

fn identities(suite: &Suite, mut path: DefaultHasher, out: &mut Vec<u64>) {
    suite.name.hash(&mut path);
    for case in &suite.cases {
        let classname = case.classname.as_deref().unwrap_or("");
        let file = case.file.as_deref().unwrap_or("");
        if case.name.is_empty() && classname.is_empty() && file.is_empty() {
            continue;
        }
        let mut hasher = path.clone();
        (classname, &*case.name, file).hash(&mut hasher);
        out.push(hasher.finish());
    }
    for child in &suite.suites {
        identities(child, path.clone(), out);
    }
}

/// Names every root suite of `report` after the input `label` (`Suite [label]`) and records the
/// label as the `stepkit.input` property, so its results stay apart from another run's.
pub fn keep_apart(report: &mut Report, label: &str) {
    for suite in &mut report.suites {
        suite.name =
            if suite.name.is_empty() { label.into() } else { format!("{} [{label}]", suite.name).into() };
        suite.properties.insert(0, Property { name: INPUT_PROPERTY.into(), value: label.into() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::parse_bytes;

    fn report(xml: &str) -> Report {
        parse_bytes(xml.as_bytes(), "t.xml").unwrap()
    }

    #[test]
    fn only_inputs_sharing_a_test_overlap() {
        let a = report(r#"<testsuite name="S"><testcase classname="C" name="t"/></testsuite>"#);
        let b = report(
            r#"<testsuite name="S"><testcase classname="C" name="t"><failure/></testcase></testsuite>"#,
        );
        let shard = report(r#"<testsuite name="S"><testcase classname="C" name="u"/></testsuite>"#);
        let other_suite = report(r#"<testsuite name="T"><testcase classname="C" name="t"/></testsuite>"#);
        let anonymous = report(r#"<testsuite name="S"><testcase/><testcase/></testsuite>"#);
        assert_eq!(
            overlapping(&[&a, &shard, &b, &other_suite, &anonymous, &anonymous]),
            [true, false, true, false, false, false]
        );
    }

    #[test]
    fn kept_apart_suites_name_their_input() {
        let mut r = report(r#"<testsuites><testsuite name="S"/><testcase name="loose"/></testsuites>"#);
        keep_apart(&mut r, "php-8.2/junit.xml");
        assert_eq!(&*r.suites[0].name, "S [php-8.2/junit.xml]");
        assert_eq!(&*r.suites[1].name, "php-8.2/junit.xml");
        assert_eq!(&*r.suites[0].properties[0].value, "php-8.2/junit.xml");
    }
}
