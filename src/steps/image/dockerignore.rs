//! The .dockerignore matcher and the list of build-context entries Docker would send.
//!
//! Parity target: what the docker CLI puts in the context tar on the classic API path (the path our
//! bollard client takes), i.e. moby/patternmatcher + moby/go-archive as vendored by docker 28:
//! the last matching pattern wins, a directory's per-pattern results are inherited by everything
//! inside it, an excluded directory is only walked when an exception's text starts with
//! `dir/`, and the Dockerfile and `.dockerignore` are always sent (the daemon drops them itself).
//! The one BuildKit behaviour taken on top: `<Dockerfile>.dockerignore` beside the Dockerfile wins
//! over the context's `.dockerignore`. tests/fixtures/dockerignore/ records the real Docker results
//! this is tested against, and where docker 20.10 and BuildKit differ.

#[cfg(test)]
mod parity_tests;
mod pattern;

use pattern::{go_clean, Pattern};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// A .dockerignore file compiled into Docker's patterns, in file order.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    /// Whether any pattern is a `!` exception (without one, excluded directories are never walked).
    exclusions: bool,
}

/// A .dockerignore could not be read or has a pattern Docker would refuse.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("read {}: {source}; check that the file is readable", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("parse {file} line {line}: bad pattern `{pattern}`: {reason}; fix the line or remove it")]
    Bad { file: String, line: usize, pattern: String, reason: String },
}

/// The build context could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Ignore(#[from] PatternError),
    #[error("read the build context at {}: {source}; check that it exists and is readable", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("use {} as the build context: it is not a directory; pass the directory that holds the sources", path.display())]
    NotADirectory { path: PathBuf },
}

impl DockerIgnore {
    /// Parses .dockerignore text.
    pub fn parse(text: &str) -> Result<DockerIgnore, PatternError> {
        Self::parse_named(text, ".dockerignore")
    }

    /// Reads the ignore file that applies: `<dockerfile>.dockerignore` beside a custom Dockerfile,
    /// else `<context>/.dockerignore`, else none. `dockerfile` is a path as given to `docker build -f`
    /// (absolute or relative to the working directory), not relative to the context.
    pub fn for_build(
        context: &Path,
        dockerfile: &Path,
    ) -> Result<(DockerIgnore, Option<PathBuf>), PatternError> {
        // BuildKit's rule, for the default `Dockerfile` too: the Dockerfile's own ignore file wins.
        for candidate in [with_suffix(dockerfile, ".dockerignore"), context.join(".dockerignore")] {
            match fs::read(&candidate) {
                Ok(bytes) => {
                    let label = label_in(context, &candidate);
                    let ignore = Self::parse_named(&String::from_utf8_lossy(&bytes), &label)?;
                    return Ok((ignore, Some(candidate)));
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                    continue
                }
                Err(source) => return Err(PatternError::Read { path: candidate, source }),
            }
        }
        Ok((DockerIgnore::default(), None))
    }

    /// Whether a context-relative path (slash-separated, no leading "./") is excluded, as Docker's
    /// walk decides it: per-pattern results flow down from each parent directory, and a path below
    /// an excluded directory that the walk skips is excluded whatever the exceptions say.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        let rel = rel_path.trim_end_matches('/');
        if rel.is_empty() || rel == "." {
            return false;
        }
        let mut inherited = Vec::new();
        for (end, _) in rel.match_indices('/').chain([(rel.len(), "")]) {
            let prefix = &rel[..end];
            let (excluded, results) = self.evaluate(prefix, &inherited);
            if end == rel.len() {
                return excluded;
            }
            if excluded && self.can_skip_dir(prefix) {
                return true;
            }
            inherited = results;
        }
        unreachable!("the chain above always ends with the whole path")
    }

    /// Whether a walk may skip this excluded directory entirely (no exception can re-include anything
    /// below it). Docker's test is textual: an exception counts only if its text starts with `dir/`,
    /// so `!**/keep` or `!*/keep` never reach inside an excluded directory.
    pub fn can_skip_dir(&self, rel_dir: &str) -> bool {
        if !self.exclusions {
            return true;
        }
        let dir_slash = format!("{}/", rel_dir.trim_end_matches('/'));
        !self.patterns.iter().any(|p| p.exclusion && format!("{}/", p.text).starts_with(&dir_slash))
    }

    fn parse_named(text: &str, file: &str) -> Result<DockerIgnore, PatternError> {
        let mut ignore = DockerIgnore::default();
        for (index, raw) in text.split('\n').enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let line = if index == 0 { line.strip_prefix('\u{feff}').unwrap_or(line) } else { line };
            let Some(normalised) = normalise_line(line) else { continue };
            let bad = |reason: String| PatternError::Bad {
                file: file.to_string(),
                line: index + 1,
                pattern: line.trim().to_string(),
                reason,
            };
            if let Some(pattern) = Pattern::new(&normalised).map_err(bad)? {
                ignore.push(pattern);
            }
        }
        Ok(ignore)
    }

    fn push(&mut self, pattern: Pattern) {
        self.exclusions |= pattern.exclusion;
        self.patterns.push(pattern);
    }

    /// Docker's `MatchesUsingParentResults`: whether `path` is excluded, and the per-pattern results
    /// its children inherit. `inherited` is the parent directory's results (empty at the top level).
    fn evaluate(&self, path: &str, inherited: &[bool]) -> (bool, Vec<bool>) {
        let mut excluded = false;
        let mut results = vec![false; self.patterns.len()];
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = inherited.get(i).copied().unwrap_or(false);
            if !hit {
                // Docker skips a pattern that cannot change the verdict, and then records it as
                // "no match" for the children too: that is why `d`, `!d/keep`, `d` keeps d/keep.
                if pattern.exclusion != excluded {
                    continue;
                }
                hit = pattern.matches(path);
            }
            results[i] = hit;
            if hit {
                excluded = !pattern.exclusion;
            }
        }
        (excluded, results)
    }

    /// The legacy `patternmatcher.Matches` the CLI still uses to decide whether to re-include the
    /// Dockerfile and `.dockerignore`: it checks the parent only at the pattern's own depth.
    fn legacy_matches(&self, file: &str) -> bool {
        let file = go_clean(file);
        if file == "." {
            return false;
        }
        let parent_dirs: Option<Vec<&str>> =
            file.rsplit_once('/').map(|(parent, _)| parent.split('/').collect());
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            let hit = pattern.matches(&file)
                || parent_dirs.as_ref().is_some_and(|dirs| {
                    pattern.dirs <= dirs.len() && pattern.matches(&dirs[..pattern.dirs].join("/"))
                });
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// The CLI's `TrimBuildFilesFromExcludes`: appends `!.dockerignore` and `!<Dockerfile>` when they
    /// are ignored, so they reach the daemon (which reads them, then drops them itself).
    fn keeping_build_files(&self, rel_dockerfile: Option<&str>) -> Result<DockerIgnore, PatternError> {
        let mut kept = self.clone();
        if self.legacy_matches(".dockerignore") {
            kept.push_exception(".dockerignore")?;
        }
        if let Some(rel) = rel_dockerfile {
            // Also when only the real walk excludes it: without its Dockerfile the build cannot start.
            if kept.legacy_matches(rel) || kept.is_excluded(rel) {
                kept.push_exception(rel)?;
            }
        }
        Ok(kept)
    }

    /// Appends `!<rel>` as the CLI does: the path becomes a pattern, glob characters and all.
    fn push_exception(&mut self, rel: &str) -> Result<(), PatternError> {
        let bad = |reason| PatternError::Bad {
            file: "the Dockerfile path".into(),
            line: 1,
            pattern: rel.to_string(),
            reason,
        };
        if let Some(exception) = Pattern::new(&format!("!{rel}")).map_err(bad)? {
            self.push(exception);
        }
        Ok(())
    }

    /// Walks `dir` (context-relative `rel`) in Go's `WalkDir` order, appending what Docker would send.
    fn walk(
        &self,
        root: &Path,
        rel: &Entry,
        inherited: &[bool],
        out: &mut Vec<PathBuf>,
    ) -> Result<(), ContextError> {
        let dir = root.join(&rel.path);
        let read_error = |source| ContextError::Read { path: dir.clone(), source };
        let mut children: Vec<(OsString, fs::FileType)> = Vec::new();
        for entry in fs::read_dir(&dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            children.push((entry.file_name(), entry.file_type().map_err(read_error)?));
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, kind) in children {
            let child = rel.child(&name);
            let (excluded, results) = self.evaluate(&child.text, inherited);
            if excluded {
                // An excluded directory is walked for its exceptions but is not itself an entry.
                if kind.is_dir() && !self.can_skip_dir(&child.text) {
                    self.walk(root, &child, &results, out)?;
                }
                continue;
            }
            if kind.is_dir() {
                out.push(child.path.clone());
                self.walk(root, &child, &results, out)?;
            } else if kind.is_file() || kind.is_symlink() {
                // Sockets, FIFOs and devices are left out: a tar writer would block on or reject them.
                out.push(child.path);
            }
        }
        Ok(())
    }
}

/// Lists the context-relative entries Docker would send for `docker build -f <dockerfile> <context>`,
/// in the context tar's order (parents first, names sorted byte-wise in each directory: the order
/// `Path` sorts in). Directories are entries too, so empty ones survive; an excluded directory
/// walked only for its exceptions is not. Symlinks are listed, never followed. The Dockerfile and
/// `.dockerignore` are always kept.
pub fn context_files(context: &Path, dockerfile: &Path) -> Result<Vec<PathBuf>, ContextError> {
    let meta =
        fs::metadata(context).map_err(|source| ContextError::Read { path: context.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Err(ContextError::NotADirectory { path: context.to_path_buf() });
    }
    let (ignore, _) = DockerIgnore::for_build(context, dockerfile)?;
    let rel_dockerfile = relative_inside(context, dockerfile);
    let effective = ignore.keeping_build_files(rel_dockerfile.as_deref())?;
    let mut out = Vec::new();
    effective.walk(context, &Entry::default(), &[], &mut out)?;
    Ok(out)
}

/// A context-relative path: the real one, and the slash-separated text patterns are matched against
/// (lossy for non-UTF-8 names, which then only match wildcards, much as in Go).
#[derive(Debug, Default)]
struct Entry {
    path: PathBuf,
    text: String,
}

impl Entry {
    fn child(&self, name: &OsString) -> Entry {
        let name_text = name.to_string_lossy();
        let text =
            if self.text.is_empty() { name_text.into_owned() } else { format!("{}/{name_text}", self.text) };
        Entry { path: self.path.join(name), text }
    }
}

/// Docker's `.dockerignore` line rules (`ignorefile.ReadAll`): `#` comments only in the first
/// column, blanks trimmed, patterns cleaned and a leading `/` dropped; `None` for nothing to keep.
fn normalise_line(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return None;
    }
    let (invert, rest) = match trimmed.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, trimmed),
    };
    let mut pattern = if rest.is_empty() { String::new() } else { go_clean(rest) };
    if pattern.len() > 1 && pattern.starts_with('/') {
        pattern.remove(0);
    }
    Some(if invert { format!("!{pattern}") } else { pattern })
}

/// `path` with `suffix` appended to its file name (`App.Dockerfile` → `App.Dockerfile.dockerignore`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// How an ignore file is named in errors: relative to the context when it is inside.
fn label_in(context: &Path, file: &Path) -> String {
    relative_inside(context, file).unwrap_or_else(|| file.display().to_string())
}

/// `path` relative to `context`, slash-separated, when it lies inside it (lexically, else after
/// resolving symlinks).
fn relative_inside(context: &Path, path: &Path) -> Option<String> {
    let lexical = |p: &Path| std::path::absolute(p).ok().map(|abs| lexical_clean(&abs));
    let rel = match (lexical(context), lexical(path)) {
        (Some(ctx), Some(file)) if file.starts_with(&ctx) => {
            file.strip_prefix(&ctx).ok().map(Path::to_path_buf)
        }
        _ => {
            let (ctx, file) = (context.canonicalize().ok()?, path.canonicalize().ok()?);
            file.strip_prefix(&ctx).ok().map(Path::to_path_buf)
        }
    }?;
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Removes `.` and resolves `..` without touching the file system.
pub(crate) fn lexical_clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_and_cleaning() {
        let ignore =
            DockerIgnore::parse("\u{feff}# comment\n\n  /a.txt  \r\n! b/../keep.txt\n #x\n").unwrap();
        let texts: Vec<(&str, bool)> =
            ignore.patterns.iter().map(|p| (p.text.as_str(), p.exclusion)).collect();
        assert_eq!(texts, [("a.txt", false), ("keep.txt", true), ("#x", false)]);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let err = DockerIgnore::parse("ok\n\n[a-\n").unwrap_err().to_string();
        assert!(
            err.starts_with("parse .dockerignore line 3: bad pattern `[a-`: syntax error in pattern"),
            "{err}"
        );
        let err = DockerIgnore::parse("!\n").unwrap_err().to_string();
        assert!(err.contains("line 1: bad pattern `!`"), "{err}");
    }

    #[test]
    fn exclusion_follows_the_walk() {
        let ignore = DockerIgnore::parse("*.md\n!README.md\nd\n!d/keep\nx\n!**/y\n").unwrap();
        assert!(ignore.is_excluded("a.md") && !ignore.is_excluded("README.md"));
        assert!(!ignore.is_excluded("docs/a.md"), "*.md matches at the root only");
        assert!(
            ignore.is_excluded("d/other")
                && !ignore.is_excluded("d/keep")
                && !ignore.is_excluded("d/keep/deep")
        );
        assert!(ignore.is_excluded("x/y"), "x is skipped whole: `**/y` does not start with `x/`");
        assert!(!ignore.can_skip_dir("d") && ignore.can_skip_dir("x"));
        assert!(!ignore.is_excluded("") && !ignore.is_excluded("."));
    }

    #[test]
    fn dockerfile_specific_ignore_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join(".dockerignore"), "*.txt\n").unwrap();
        let dockerfile = dir.path().join("sub/App.Dockerfile");
        let (ignore, used) = DockerIgnore::for_build(dir.path(), &dockerfile).unwrap();
        assert_eq!(used, Some(dir.path().join(".dockerignore")));
        assert!(ignore.is_excluded("a.txt"));
        fs::write(dir.path().join("sub/App.Dockerfile.dockerignore"), "*.log\n[\n").unwrap();
        let err = DockerIgnore::for_build(dir.path(), &dockerfile).unwrap_err().to_string();
        assert!(err.starts_with("parse sub/App.Dockerfile.dockerignore line 2: bad pattern `[`"), "{err}");
        fs::write(dir.path().join("sub/App.Dockerfile.dockerignore"), "*.log\n").unwrap();
        let (ignore, used) = DockerIgnore::for_build(dir.path(), &dockerfile).unwrap();
        assert_eq!(used, Some(dir.path().join("sub/App.Dockerfile.dockerignore")));
        assert!(ignore.is_excluded("a.log") && !ignore.is_excluded("a.txt"));
    }

    #[test]
    fn context_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = context_files(&missing, &missing.join("Dockerfile")).unwrap_err().to_string();
        assert!(err.starts_with("read the build context at ") && err.contains("nope"), "{err}");
        fs::write(dir.path().join("file"), "").unwrap();
        let err =
            context_files(&dir.path().join("file"), &dir.path().join("Dockerfile")).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn relative_dockerfile_paths() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path();
        assert_eq!(relative_inside(ctx, &ctx.join("./sub/../Dockerfile")).as_deref(), Some("Dockerfile"));
        assert_eq!(
            relative_inside(ctx, &ctx.join("sub/App.Dockerfile")).as_deref(),
            Some("sub/App.Dockerfile")
        );
        assert_eq!(relative_inside(&ctx.join("sub"), &ctx.join("Dockerfile")), None);
    }
}
