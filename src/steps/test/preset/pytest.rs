//! The pytest preset: node ids from `--collect-only -q`, subsets as node ids, `--junitxml` (xunit1, with file/line).

use super::{run_listing, PresetError, Selection};
use crate::steps::test::model::{CaseRef, TestFile};
use std::path::Path;

pub(super) fn discover(cmd: &[String], cwd: &Path) -> Result<Vec<TestFile>, PresetError> {
    let mut argv = cmd.to_vec();
    // --verbosity=-1 after the user's flags: node ids one per line, whatever -q/-v or addopts say.
    argv.extend(["--collect-only", "--verbosity=-1", "-p", "no:cacheprovider"].map(String::from));
    let listing = run_listing(&argv, cwd)?;
    Ok(parse_collection(&listing))
}

/// Groups node ids (`tests/test_a.py::TestX::test_y[1]`) by file, keeping collection order.
pub(crate) fn parse_collection(listing: &str) -> Vec<TestFile> {
    let mut files: Vec<TestFile> = Vec::new();
    for line in listing.lines() {
        let line = line.trim();
        if line.is_empty() {
            // The node ids end at the first blank line; the summary follows.
            if !files.is_empty() {
                break;
            }
            continue;
        }
        let Some((path, rest)) = line.split_once("::") else { continue };
        let case = case_ref(path, rest, line);
        match files.last_mut().filter(|f| f.path == path) {
            Some(file) => file.cases.push(case),
            None => match files.iter_mut().find(|f| f.path == path) {
                Some(file) => file.cases.push(case),
                None => files.push(TestFile { path: path.to_string(), cases: vec![case] }),
            },
        }
    }
    files
}

/// The JUnit identity pytest (xunit1) gives a node: classname `tests.test_a.TestX`, name `test_y[1]`.
fn case_ref(path: &str, rest: &str, node_id: &str) -> CaseRef {
    let mut parts: Vec<&str> = rest.split("::").collect();
    let name = parts.pop().unwrap_or(rest).to_string();
    let module = path.strip_suffix(".py").unwrap_or(path).replace(['/', '\\'], ".");
    let classname = std::iter::once(module.as_str()).chain(parts).collect::<Vec<_>>().join(".");
    CaseRef { id: node_id.to_string(), classname: Some(classname), name }
}

pub(super) fn argv(cmd: &[String], selections: &[Selection<'_>], junit: &Path) -> Vec<String> {
    let mut out = cmd.to_vec();
    out.push(format!("--junitxml={}", junit.display()));
    // xunit1 writes file and line per case, which timings and annotations use.
    out.extend(["-o", "junit_family=xunit1", "-p", "no:cacheprovider"].map(String::from));
    for selection in selections {
        match &selection.cases {
            None => out.push(selection.file.path.clone()),
            Some(cases) => out.extend(cases.iter().map(|c| c.id.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_ids_by_file_in_order() {
        let listing = "tests/test_a.py::test_one\ntests/test_a.py::TestX::test_two[p-1]\ntests/sub/test_b.py::test_b\n\n3 tests collected in 0.01s\n";
        let files = parse_collection(listing);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].cases[1].classname.as_deref(), Some("tests.test_a.TestX"));
        assert_eq!(files[0].cases[1].name, "test_two[p-1]");
        assert_eq!(files[1].cases[0].classname.as_deref(), Some("tests.sub.test_b"));
    }
}
