//! The generic `command` preset: files from `--files` globs; `{files}` and `{junit}` in CMD.

use super::{PresetError, Selection};
use crate::steps::suite::model::TestFile;
use std::path::Path;

pub(super) fn discover(
    cmd: &[String],
    patterns: &[String],
    cwd: &Path,
) -> Result<Vec<TestFile>, PresetError> {
    if !cmd.iter().any(|a| a.contains("{files}")) {
        return Err(PresetError::Command("CMD needs a `{files}` argument where the batch's files go, e.g. `-- ./run-tests {files} --junit {junit}`".into()));
    }
    if patterns.is_empty() {
        return Err(PresetError::Command("give the test files with --files GLOB (repeatable)".into()));
    }
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for pattern in patterns {
        let absolute = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            cwd.join(pattern).display().to_string()
        };
        let paths =
            glob::glob(&absolute).map_err(|e| PresetError::Command(format!("--files `{pattern}`: {e}")))?;
        let mut matched: Vec<String> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.strip_prefix(cwd).map(Path::to_path_buf).unwrap_or(p).display().to_string())
            .collect();
        matched.sort();
        for path in matched {
            if seen.insert(path.clone()) {
                files.push(TestFile::whole(path));
            }
        }
    }
    Ok(files)
}

/// CMD with `{files}` replaced by the batch's files (one argument each) and `{junit}` by the report path.
pub(super) fn argv(cmd: &[String], selections: &[Selection<'_>], junit: &Path) -> Vec<String> {
    let junit = junit.display().to_string();
    let mut out = Vec::new();
    for arg in cmd {
        if arg == "{files}" {
            out.extend(selections.iter().map(|s| s.file.path.clone()));
        } else if arg.contains("{files}") {
            let joined: Vec<&str> = selections.iter().map(|s| s.file.path.as_str()).collect();
            out.push(arg.replace("{files}", &joined.join(" ")).replace("{junit}", &junit));
        } else {
            out.push(arg.replace("{junit}", &junit));
        }
    }
    out
}
