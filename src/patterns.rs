//! Report paths as users give them: files and glob patterns, expanded in the order given, each file once,
//! and a pattern that matches nothing kept so that it is reported, never silently dropped. Shared by
//! `junit`, `coverage merge` and `test --timings`.

use std::path::PathBuf;

/// A glob pattern that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("use pattern `{pattern}`: {message}")]
pub struct PatternError {
    pub pattern: String,
    pub message: String,
}

/// One expanded input: a file to read, or a pattern that matched nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    NoMatch(String),
}

/// Expands files and glob patterns in the order given, each file once. A pattern that matches
/// nothing is kept as `NoMatch` so the caller reports it rather than silently ignoring it.
pub fn expand_patterns(patterns: &[String]) -> Result<Vec<Input>, PatternError> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for pattern in patterns {
        if !pattern.contains(['*', '?', '[']) {
            if seen.insert(PathBuf::from(pattern)) {
                out.push(Input::File(PathBuf::from(pattern)));
            }
            continue;
        }
        let paths = glob::glob(pattern)
            .map_err(|e| PatternError { pattern: pattern.clone(), message: e.to_string() })?;
        let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
        matched.sort();
        if matched.is_empty() {
            out.push(Input::NoMatch(pattern.clone()));
        }
        for path in matched {
            if seen.insert(path.clone()) {
                out.push(Input::File(path));
            }
        }
    }
    Ok(out)
}
