//! The pytest preset: node ids from `--collect-only -q`, subsets as node ids, `--junitxml` (xunit1, with file/line).
//! Which arguments of CMD are positional (paths, node ids) is asked of pytest's own parser by a
//! listing plugin (pytest_scope.py), so batches drop exactly those and keep every option.

use super::{run_listing_with_env, Discovery, PresetError, Selection, Unplaced};
use crate::steps::suite::model::{CaseRef, TestFile};
use std::path::Path;

/// The listing plugin, importable as `_stepkit_scope` from a temporary directory.
const SCOPE_PLUGIN: &str = include_str!("pytest_scope.py");

/// What the plugin saw: pytest's own arguments and which of them are positional.
#[derive(serde::Deserialize)]
struct Scope {
    args: Vec<String>,
    positional: Vec<usize>,
    parsed: bool,
    /// Files skipped while collected, with pytest's reason.
    #[serde(default)]
    skipped: Vec<CollectionSkip>,
}

#[derive(serde::Deserialize)]
struct CollectionSkip {
    nodeid: String,
    reason: String,
}

pub(super) fn discover(
    cmd: &[String],
    cwd: &Path,
    pythonpath: Option<&str>,
) -> Result<Discovery, PresetError> {
    let error = |message: String| PresetError::Discover { command: cmd.join(" "), message };
    let dir = tempfile::Builder::new()
        .prefix("stepkit-pytest-")
        .tempdir()
        .map_err(|e| error(format!("create a directory for the listing plugin: {e}")))?;
    std::fs::write(dir.path().join("_stepkit_scope.py"), SCOPE_PLUGIN)
        .map_err(|e| error(format!("write the listing plugin: {e}")))?;
    let scope_file = dir.path().join("scope.json");
    // --verbosity=-1 after the user's flags: node ids one per line, whatever -q/-v or addopts say.
    let extra = ["--collect-only", "--verbosity=-1", "-p", "no:cacheprovider", "-p", "_stepkit_scope"]
        .map(String::from);
    let mut argv = cmd.to_vec();
    argv.extend(extra.iter().cloned());
    // The child's PYTHONPATH is extended, not replaced: the project may rely on it to import.
    let python_path = match pythonpath.filter(|p| !p.is_empty()) {
        Some(existing) => format!("{}:{existing}", dir.path().display()),
        None => dir.path().display().to_string(),
    };
    let env = [
        ("PYTHONPATH".to_string(), python_path),
        ("STEPKIT_PYTEST_SCOPE".to_string(), scope_file.display().to_string()),
    ];
    let listing = run_listing_with_env(&argv, &env, cwd)?;
    let scope: Scope = std::fs::read_to_string(&scope_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| error("pytest ran without stepkit's listing plugin (`-p _stepkit_scope` via PYTHONPATH); run pytest directly or through a wrapper that keeps the environment".into()))?;
    let positional = positional_in_cmd(cmd, &extra, &scope)
        .map_err(|message| PresetError::Scope { command: cmd.join(" "), message })?;
    let select_cases = positional.iter().any(|&i| cmd[i].contains("::"));
    let batch_command =
        cmd.iter().enumerate().filter(|(i, _)| !positional.contains(i)).map(|(_, a)| a.clone()).collect();
    let skipped_at_listing = scope.skipped.iter().map(skipped_file).collect();
    Ok(Discovery {
        files: parse_collection(&listing),
        unplaced: Vec::new(),
        skipped_at_listing,
        batch_command,
        select_cases,
        multi_file: true,
        batch_config: None,
    })
}

/// A file pytest skipped at collection, named as pytest's junitxml names it: no classname, the
/// module path dotted (`tests/test_db.py` is `tests.test_db`).
fn skipped_file(skip: &CollectionSkip) -> Unplaced {
    let reason = skip.reason.strip_prefix("Skipped: ").unwrap_or(&skip.reason);
    let module = skip.nodeid.strip_suffix(".py").unwrap_or(&skip.nodeid).replace(['/', '\\'], ".");
    Unplaced {
        classname: None,
        name: module,
        why: format!("{} skipped while collected: {reason}", skip.nodeid),
    }
}

/// Indices into CMD of pytest's positional arguments. pytest's arguments are the tail of CMD
/// (after `pytest`, `python -m pytest`, `uv run pytest`, ...) plus what the listing appended.
fn positional_in_cmd(cmd: &[String], extra: &[String], scope: &Scope) -> Result<Vec<usize>, String> {
    if !scope.parsed {
        return Err(
            "pytest's parser refused CMD's arguments; run the same command without stepkit to see why".into(),
        );
    }
    let own =
        scope.args.len().checked_sub(extra.len()).filter(|&n| {
            scope.args[n..] == *extra && n <= cmd.len() && cmd[cmd.len() - n..] == scope.args[..n]
        });
    let Some(own) = own else {
        return Err(format!(
            "pytest received the arguments {:?}, which are not the end of CMD; stepkit cannot tell which of CMD's arguments select tests, so give them to pytest as they are",
            scope.args
        ));
    };
    let offset = cmd.len() - own;
    Ok(scope.positional.iter().filter(|&&i| i < own).map(|&i| offset + i).collect())
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
    // The batch command holds no positional arguments (see discover): only this batch's tests follow.
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
    fn positional_indices_map_onto_the_tail_of_cmd() {
        let cmd: Vec<String> = ["python3", "-m", "pytest", "-k", "tests", "tests"].map(String::from).to_vec();
        let extra: Vec<String> = ["--collect-only"].map(String::from).to_vec();
        let scope = Scope {
            args: ["-k", "tests", "tests", "--collect-only"].map(String::from).to_vec(),
            positional: vec![2],
            parsed: true,
            skipped: Vec::new(),
        };
        assert_eq!(positional_in_cmd(&cmd, &extra, &scope).unwrap(), vec![5]);
        let wrapped = Scope {
            args: ["--other", "--collect-only"].map(String::from).to_vec(),
            positional: vec![],
            parsed: true,
            skipped: Vec::new(),
        };
        assert!(positional_in_cmd(&cmd, &extra, &wrapped).unwrap_err().contains("not the end of CMD"));
    }

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
