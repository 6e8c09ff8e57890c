//! `stepkit plugin new`: writes a ready-to-build plugin project from the templates embedded at build time.

use std::path::{Path, PathBuf};

/// The language of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
}

/// Resolved settings for `stepkit plugin new`.
#[derive(Debug, Clone)]
pub struct ScaffoldSettings {
    /// The plugin's name: lowercase letters, digits and `-`.
    pub name: String,
    pub lang: Lang,
    /// Where the project goes (a new directory named after the plugin by default).
    pub dir: PathBuf,
    /// A local stepkit-plugin checkout instead of the crates.io release (Rust only).
    pub sdk_path: Option<PathBuf>,
}

/// A project could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("create plugin `{0}`: a name is lowercase letters, digits and `-`, starting with a letter (e.g. coverage-gate)")]
    Name(String),
    #[error("create plugin in {}: it exists and is not empty; choose another --dir or remove it", .0.display())]
    Exists(PathBuf),
    #[error("create plugin: --sdk-path {}: {message}", path.display())]
    SdkPath { path: PathBuf, message: String },
    #[error("write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl ScaffoldError {
    /// Bad names and paths are usage errors; failing writes are environment errors.
    pub fn is_usage(&self) -> bool {
        !matches!(self, ScaffoldError::Write { .. })
    }
}

/// The contract, so a Python project can generate its bindings without a stepkit checkout.
const WIT: &str = include_str!("../../../wit/check.wit");

const RUST: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../templates/plugin/rust/Cargo.toml")),
    ("src/lib.rs", include_str!("../../../templates/plugin/rust/src/lib.rs")),
    ("README.md", include_str!("../../../templates/plugin/rust/README.md")),
];

const PYTHON: &[(&str, &str)] = &[
    ("app.py", include_str!("../../../templates/plugin/python/app.py")),
    ("README.md", include_str!("../../../templates/plugin/python/README.md")),
    ("wit/check.wit", WIT),
];

/// Writes the project and returns the files written (relative to the project directory).
pub fn scaffold(settings: &ScaffoldSettings) -> Result<Vec<PathBuf>, ScaffoldError> {
    let name = &settings.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        return Err(ScaffoldError::Name(name.clone()));
    }
    if settings.dir.exists() && std::fs::read_dir(&settings.dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(ScaffoldError::Exists(settings.dir.clone()));
    }
    let sdk_dependency = match &settings.sdk_path {
        None => "\"0.1\"".to_string(),
        Some(path) => {
            let path = path.canonicalize().map_err(|e| ScaffoldError::SdkPath { path: path.clone(), message: e.to_string() })?;
            if !path.join("Cargo.toml").is_file() {
                return Err(ScaffoldError::SdkPath { path, message: "it has no Cargo.toml; give the crates/stepkit-plugin directory of a stepkit checkout".into() });
            }
            // A TOML basic string: escape what could end it.
            let text = path.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"");
            format!("{{ path = \"{text}\" }}")
        }
    };
    let files = match settings.lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
    };
    let crate_name = name.replace('-', "_");
    let mut written = Vec::new();
    for (relative, template) in files {
        let content = template.replace("{{name}}", name).replace("{{crate_name}}", &crate_name).replace("{{sdk_dependency}}", &sdk_dependency);
        let path = settings.dir.join(relative);
        write(&path, &content)?;
        written.push(PathBuf::from(relative));
    }
    Ok(written)
}

fn write(path: &Path, content: &str) -> Result<(), ScaffoldError> {
    let fail = |source| ScaffoldError::Write { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, content).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path, name: &str, lang: Lang) -> ScaffoldSettings {
        ScaffoldSettings { name: name.into(), lang, dir: dir.join(name), sdk_path: None }
    }

    #[test]
    fn rust_project_has_its_name_and_the_released_sdk() {
        let dir = tempfile::tempdir().unwrap();
        let files = scaffold(&settings(dir.path(), "coverage-gate", Lang::Rust)).unwrap();
        assert!(files.contains(&PathBuf::from("Cargo.toml")));
        let manifest = std::fs::read_to_string(dir.path().join("coverage-gate/Cargo.toml")).unwrap();
        assert!(manifest.contains("coverage-gate") && manifest.contains("\"0.1\""), "{manifest}");
        assert!(!manifest.contains("{{"), "{manifest}");
    }

    #[test]
    fn python_project_carries_the_wit() {
        let dir = tempfile::tempdir().unwrap();
        scaffold(&settings(dir.path(), "lint", Lang::Python)).unwrap();
        let wit = std::fs::read_to_string(dir.path().join("lint/wit/check.wit")).unwrap();
        assert!(wit.contains("package stepkit:check@0.1"));
    }

    #[test]
    fn bad_names_and_existing_dirs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(scaffold(&settings(dir.path(), "Bad_Name", Lang::Rust)), Err(ScaffoldError::Name(_))));
        assert!(matches!(scaffold(&settings(dir.path(), "../x", Lang::Rust)), Err(ScaffoldError::Name(_))));
        std::fs::create_dir_all(dir.path().join("taken")).unwrap();
        std::fs::write(dir.path().join("taken/file"), "x").unwrap();
        assert!(matches!(scaffold(&settings(dir.path(), "taken", Lang::Rust)), Err(ScaffoldError::Exists(_))));
    }

    #[test]
    fn sdk_path_must_be_a_crate() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path(), "x", Lang::Rust);
        s.sdk_path = Some(dir.path().to_path_buf());
        assert!(matches!(scaffold(&s), Err(ScaffoldError::SdkPath { .. })));
    }
}
