//! `Context`: the check's input with config lookups that turn mistakes into `invalid-config` errors.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{CheckError, CiContext, Input};

/// What one `run` receives: config, changed files, granted directories and the CI context.
pub struct Context {
    input: Input,
}

impl Context {
    /// Wrap the host's input (the export macro does this; tests of a plugin can too).
    pub fn new(input: Input) -> Self {
        Self { input }
    }

    /// The raw input as the host sent it.
    pub fn input(&self) -> &Input {
        &self.input
    }

    /// The value of `key`; when it was given several times the last one wins, as on a command line.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.input.config.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value given for `key`, in order (for repeatable keys such as `pattern`).
    pub fn config_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.input.config.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or `default` when it is absent.
    pub fn config_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.config(key).unwrap_or(default)
    }

    /// The value of `key`; absent or empty is an `invalid-config` error naming the key.
    pub fn require(&self, key: &str) -> Result<&str, CheckError> {
        match self.config(key) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(CheckError::InvalidConfig(format!("`{key}` is required"))),
        }
    }

    /// `key` parsed as `T`, `None` when absent; a value that does not parse is an error naming key and value.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<Option<T>, CheckError> {
        self.config(key).map(|v| parse_value(key, v)).transpose()
    }

    /// `key` parsed as `T`, or `default` when absent.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, CheckError> {
        Ok(self.parse(key)?.unwrap_or(default))
    }

    /// `key` parsed as `T`; absent is an error.
    pub fn require_parse<T: FromStr>(&self, key: &str) -> Result<T, CheckError> {
        parse_value(key, self.require(key)?)
    }

    /// A yes/no switch: true/false, yes/no, on/off, 1/0 (any case); absent is `default`.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, CheckError> {
        let Some(value) = self.config(key) else { return Ok(default) };
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(CheckError::InvalidConfig(format!("`{key}`: expected yes or no, got {value:?}"))),
        }
    }

    /// Files changed by this commit or pull request, relative to the workspace root (empty when unknown).
    pub fn changed_files(&self) -> &[String] {
        &self.input.changed_files
    }

    /// The directories granted with `--allow-read`, as paths the plugin can open.
    pub fn readable_dirs(&self) -> &[String] {
        &self.input.readable_dirs
    }

    /// Where the check runs (provider, repository, sha, branch, pull request).
    pub fn ci(&self) -> &CiContext {
        &self.input.ci
    }

    /// Find `path` inside the granted directories.
    ///
    /// Absolute paths are taken as they are. A relative path (as in `changed-files`, relative to the
    /// workspace root) is tried under every granted directory, also when the granted directory is a
    /// subdirectory of the workspace that `path` starts with (`--allow-read src` and `src/lib.rs`).
    pub fn locate(&self, path: &str) -> Option<PathBuf> {
        self.candidates(path).find(|candidate| candidate.exists())
    }

    /// Read a text file found as [`Context::locate`] would; missing or unreadable is an `io` error naming it.
    ///
    /// It opens the candidates directly instead of checking them first: every file-system call is a
    /// host call, and on a scan of hundreds of changed files the saved `stat`s are a measurable share.
    pub fn read_to_string(&self, path: &str) -> Result<String, CheckError> {
        for candidate in self.candidates(path) {
            match std::fs::read_to_string(&candidate) {
                Ok(text) => return Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CheckError::io(candidate.display(), e)),
            }
        }
        Err(CheckError::Io(format!("{path}: not found in the granted directories")))
    }

    /// Where `path` may be, most likely first: itself when absolute, else under each granted directory.
    fn candidates<'a>(&'a self, path: &'a str) -> Box<dyn Iterator<Item = PathBuf> + 'a> {
        let wanted = Path::new(path);
        if wanted.is_absolute() {
            return Box::new(std::iter::once(wanted.to_path_buf()));
        }
        Box::new(self.readable_dirs().iter().flat_map(move |dir| candidates_in(Path::new(dir), wanted)))
    }
}

fn parse_value<T: FromStr>(key: &str, value: &str) -> Result<T, CheckError> {
    value.trim().parse().map_err(|_| {
        let wanted = std::any::type_name::<T>().rsplit("::").next().unwrap_or("value");
        CheckError::InvalidConfig(format!("`{key}`: {value:?} is not a valid {wanted}"))
    })
}

/// `dir/path`, then, when `dir` ends with the first components of `path` (`/w/src` and `src/lib.rs`),
/// `dir` + the rest of `path`, longest overlap first.
fn candidates_in(dir: &Path, path: &Path) -> Vec<PathBuf> {
    let parts: Vec<_> = path.components().collect();
    let overlaps = (1..parts.len()).rev().filter_map(|shared| {
        let head: PathBuf = parts[..shared].iter().collect();
        dir.ends_with(&head).then(|| parts[shared..].iter().fold(dir.to_path_buf(), |acc, c| acc.join(c)))
    });
    std::iter::once(dir.join(path)).chain(overlaps).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(config: &[(&str, &str)], dirs: &[&str]) -> Context {
        Context::new(Input {
            config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            changed_files: vec![],
            readable_dirs: dirs.iter().map(|d| d.to_string()).collect(),
            ci: CiContext {
                provider: "local".into(),
                repository: None,
                sha: None,
                branch: None,
                pull_request: None,
            },
        })
    }

    #[test]
    fn last_value_wins_and_all_values_stay_in_order() {
        let c = ctx(&[("p", "a"), ("q", "x"), ("p", "b")], &[]);
        assert_eq!(c.config("p"), Some("b"));
        assert_eq!(c.config_all("p").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.config_or("missing", "d"), "d");
    }

    #[test]
    fn bad_values_name_the_key() {
        let c = ctx(&[("min", "eighty"), ("strict", "maybe")], &[]);
        let CheckError::InvalidConfig(msg) = c.parse::<f64>("min").unwrap_err() else { panic!() };
        assert!(msg.contains("`min`") && msg.contains("eighty"), "{msg}");
        assert!(matches!(c.require("path"), Err(CheckError::InvalidConfig(m)) if m.contains("`path`")));
        assert!(c.flag("strict", false).is_err());
        assert_eq!(c.parse_or("samples", 5u32).unwrap(), 5);
    }

    #[test]
    fn locate_handles_a_granted_subdirectory() {
        let root = std::env::temp_dir().join(format!("stepkit-plugin-locate-{}", std::process::id()));
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "x").unwrap();
        let sub = root.join("src");
        let c = ctx(&[], &[sub.to_str().unwrap()]);
        assert_eq!(c.locate("src/lib.rs"), Some(sub.join("lib.rs")));
        assert_eq!(c.locate("lib.rs"), Some(sub.join("lib.rs")));
        assert_eq!(c.locate("src/missing.rs"), None);
        assert_eq!(c.read_to_string("src/lib.rs").unwrap(), "x");
        assert!(
            matches!(c.read_to_string("src/missing.rs"), Err(CheckError::Io(m)) if m.contains("src/missing.rs"))
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
