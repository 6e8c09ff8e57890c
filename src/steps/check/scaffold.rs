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
    /// A local stepkit-plugin checkout instead of the copy written into `vendor/` (Rust only).
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
    #[error("create plugin: --sdk-path is for --lang rust; a Python project carries wit/check.wit instead, drop the flag")]
    SdkPathNotRust,
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

/// Where a Rust project gets its own copy of the SDK: stepkit-plugin is not on crates.io, and a copy
/// matching this stepkit's contract builds offline and never drifts from the host that runs it.
pub const VENDORED_SDK: &str = "vendor/stepkit-plugin";

/// The SDK crate, written under `VENDORED_SDK` (a test checks that no source file is missing).
const SDK: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../crates/stepkit-plugin/Cargo.toml")),
    ("src/lib.rs", include_str!("../../../crates/stepkit-plugin/src/lib.rs")),
    ("src/context.rs", include_str!("../../../crates/stepkit-plugin/src/context.rs")),
    ("src/http.rs", include_str!("../../../crates/stepkit-plugin/src/http.rs")),
    ("src/log.rs", include_str!("../../../crates/stepkit-plugin/src/log.rs")),
    ("src/report.rs", include_str!("../../../crates/stepkit-plugin/src/report.rs")),
    ("wit/check.wit", WIT),
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
    if settings.dir.exists()
        && std::fs::read_dir(&settings.dir).map(|mut d| d.next().is_some()).unwrap_or(true)
    {
        return Err(ScaffoldError::Exists(settings.dir.clone()));
    }
    if settings.lang == Lang::Python && settings.sdk_path.is_some() {
        return Err(ScaffoldError::SdkPathNotRust);
    }
    let sdk_dependency = match &settings.sdk_path {
        None => format!("{{ path = \"{VENDORED_SDK}\" }}"),
        Some(path) => {
            let path = path
                .canonicalize()
                .map_err(|e| ScaffoldError::SdkPath { path: path.clone(), message: e.to_string() })?;
            if !path.join("Cargo.toml").is_file() {
                return Err(ScaffoldError::SdkPath {
                    path,
                    message:
                        "it has no Cargo.toml; give the crates/stepkit-plugin directory of a stepkit checkout"
                            .into(),
                });
            }
            // A TOML basic string: escape what could end it.
            let text = path.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"");
            format!("{{ path = \"{text}\" }}")
        }
    };
    let mut files: Vec<(String, &str)> = match settings.lang {
        Lang::Rust => RUST.iter().map(|(path, text)| (path.to_string(), *text)).collect(),
        Lang::Python => PYTHON.iter().map(|(path, text)| (path.to_string(), *text)).collect(),
    };
    if settings.lang == Lang::Rust && settings.sdk_path.is_none() {
        files.extend(SDK.iter().map(|(path, text)| (format!("{VENDORED_SDK}/{path}"), *text)));
    }
    let crate_name = name.replace('-', "_");
    let mut written = Vec::new();
    for (relative, template) in &files {
        // The SDK's own sources are copied as they are; only the project's templates have placeholders.
        let content = if relative.starts_with(VENDORED_SDK) {
            template.to_string()
        } else {
            template
                .replace("{{name}}", name)
                .replace("{{crate_name}}", &crate_name)
                .replace("{{sdk_dependency}}", &sdk_dependency)
        };
        write(&settings.dir.join(relative), &content)?;
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
    fn rust_project_has_its_name_and_its_own_copy_of_the_sdk() {
        let dir = tempfile::tempdir().unwrap();
        let files = scaffold(&settings(dir.path(), "coverage-gate", Lang::Rust)).unwrap();
        assert!(files.contains(&PathBuf::from("Cargo.toml")));
        let manifest = std::fs::read_to_string(dir.path().join("coverage-gate/Cargo.toml")).unwrap();
        assert!(
            manifest.contains("coverage-gate")
                && manifest.contains("stepkit-plugin = { path = \"vendor/stepkit-plugin\" }"),
            "{manifest}"
        );
        assert!(!manifest.contains("{{"), "{manifest}");
        let sdk = dir.path().join("coverage-gate/vendor/stepkit-plugin");
        let wit = std::fs::read_to_string(sdk.join("wit/check.wit")).unwrap();
        assert!(wit.contains("package stepkit:check@0.1"), "{wit}");
        assert!(std::fs::read_to_string(sdk.join("Cargo.toml"))
            .unwrap()
            .contains("name = \"stepkit-plugin\""));
    }

    #[test]
    fn every_sdk_source_file_is_embedded() {
        // A new SDK module that `SDK` does not list would make every new project fail to build.
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/stepkit-plugin/src");
        for entry in std::fs::read_dir(&src).unwrap() {
            let name = format!("src/{}", entry.unwrap().file_name().to_string_lossy());
            let embedded = SDK
                .iter()
                .find(|(path, _)| *path == name)
                .unwrap_or_else(|| panic!("{name} is not in scaffold::SDK"));
            assert_eq!(embedded.1, std::fs::read_to_string(src.join(&name[4..])).unwrap(), "{name}");
        }
    }

    #[test]
    fn sdk_path_replaces_the_copy_and_is_rust_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path(), "local", Lang::Rust);
        s.sdk_path = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/stepkit-plugin"));
        let files = scaffold(&s).unwrap();
        assert!(!files.iter().any(|f| f.starts_with(VENDORED_SDK)), "{files:?}");
        let manifest = std::fs::read_to_string(dir.path().join("local/Cargo.toml")).unwrap();
        assert!(manifest.contains("crates/stepkit-plugin\" }"), "{manifest}");
        let mut s = settings(dir.path(), "py", Lang::Python);
        s.sdk_path = Some(dir.path().to_path_buf());
        assert!(matches!(scaffold(&s), Err(ScaffoldError::SdkPathNotRust)));
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
        assert!(matches!(
            scaffold(&settings(dir.path(), "Bad_Name", Lang::Rust)),
            Err(ScaffoldError::Name(_))
        ));
        assert!(matches!(scaffold(&settings(dir.path(), "../x", Lang::Rust)), Err(ScaffoldError::Name(_))));
        std::fs::create_dir_all(dir.path().join("taken")).unwrap();
        std::fs::write(dir.path().join("taken/file"), "x").unwrap();
        assert!(matches!(
            scaffold(&settings(dir.path(), "taken", Lang::Rust)),
            Err(ScaffoldError::Exists(_))
        ));
    }

    #[test]
    fn sdk_path_must_be_a_crate() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path(), "x", Lang::Rust);
        s.sdk_path = Some(dir.path().to_path_buf());
        assert!(matches!(scaffold(&s), Err(ScaffoldError::SdkPath { .. })));
    }
}
