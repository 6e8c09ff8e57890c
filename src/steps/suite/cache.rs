//! `--timings auto`: the last run's timings kept in the workspace (`.stepkit/timings/<preset>-<key>.json`),
//! so the second run on a laptop is balanced without flags. `--timings none` turns it off.

use super::model::TestFile;
use super::preset::Preset;
use super::timings::{CaseKey, Timings};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the automatic cache takes part in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auto {
    /// `--timings none`, or only report files given: neither read nor written.
    Off,
    /// No `--timings` at all: read and written, but not read under `--shard` (see `reads_cache`).
    Default,
    /// `--timings auto` given: read and written, also under `--shard`.
    Explicit,
}

/// `--timings` resolved: earlier reports to read and what the cache does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingsChoice {
    /// Report files or globs.
    pub reports: Vec<String>,
    pub auto: Auto,
}

impl TimingsChoice {
    /// `auto`, `none` and report paths/globs, as given (repeatable); nothing means `auto`.
    pub fn parse(values: &[String]) -> Result<TimingsChoice, String> {
        let values: Vec<&str> = values.iter().map(|v| v.trim()).collect();
        if values.contains(&"none") {
            if values.len() > 1 {
                return Err(
                    "`none` turns timings off and cannot be combined with other --timings values".into()
                );
            }
            return Ok(TimingsChoice { reports: Vec::new(), auto: Auto::Off });
        }
        if values.is_empty() {
            return Ok(TimingsChoice { reports: Vec::new(), auto: Auto::Default });
        }
        if values.iter().any(|v| v.is_empty()) {
            return Err("an empty value; give auto, none, or a JUnit report file or glob".into());
        }
        let auto = if values.contains(&"auto") { Auto::Explicit } else { Auto::Off };
        let reports = values.into_iter().filter(|v| *v != "auto").map(str::to_string).collect();
        Ok(TimingsChoice { reports, auto })
    }

    /// Whether the cache drives the plan. Under `--shard` every matrix job must plan from the same
    /// inputs; a cache in one job's workspace is not that, unless the user says it is (`--timings
    /// auto`, e.g. restored from one CI cache key in every job).
    pub fn reads_cache(&self, sharded: bool) -> bool {
        match self.auto {
            Auto::Explicit => true,
            Auto::Default => !sharded,
            Auto::Off => false,
        }
    }

    /// Whether the run's timings are saved for the next run.
    pub fn writes_cache(&self) -> bool {
        self.auto != Auto::Off
    }
}

/// Where the cache of a suite lives: keyed by the preset (with its `--files`) and the command, so
/// `pytest tests/unit` and `pytest tests/api` in one workspace keep their own timings.
pub fn cache_path(cwd: &Path, preset: &Preset, command: &[String]) -> PathBuf {
    let mut hash = Sha256::new();
    hash.update(preset.name());
    if let Preset::Command { patterns } = preset {
        for pattern in patterns {
            hash.update(b"\0files\0");
            hash.update(pattern);
        }
    }
    for arg in command {
        hash.update(b"\0arg\0");
        hash.update(arg);
    }
    let digest = hash.finalize();
    let key: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    cwd.join(".stepkit").join("timings").join(format!("{}-{key}.json", preset.name()))
}

/// The file's schema; `version` changes when its meaning does (2: cases named by classname and name).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    version: u32,
    preset: String,
    command: Vec<String>,
    /// Per test file, its cases' seconds.
    files: BTreeMap<String, Vec<CachedCase>>,
}

/// One case's seconds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CachedCase {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    classname: Option<String>,
    name: String,
    seconds: f64,
}

/// Just the version, read first: a cache another stepkit wrote in another layout is not an error.
#[derive(Deserialize)]
struct Versioned {
    version: u32,
}

const VERSION: u32 = 2;

/// The cached timings, `None` when there is no cache yet.
pub fn load(path: &Path) -> Result<Option<Timings>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("read the timings cache {}: {e}", path.display())),
    };
    let broken = |e: serde_json::Error| {
        format!("read the timings cache {}: {e}; delete it and the next run writes a new one", path.display())
    };
    // An older layout is dropped, not refused: this run's timings replace it.
    if serde_json::from_str::<Versioned>(&text).map_err(broken)?.version != VERSION {
        return Ok(None);
    }
    let file: CacheFile = serde_json::from_str(&text).map_err(broken)?;
    let files = file.files.into_iter().map(|(path, cases)| {
        (
            path,
            cases
                .into_iter()
                .map(|c| (CaseKey { classname: c.classname, name: c.name }, c.seconds))
                .collect(),
        )
    });
    Ok(Some(Timings::from_case_seconds(files.collect())))
}

/// Saves `previous` updated with this run's `measured` timings, for the files listed now: a file or
/// case this run did not reach keeps its old time, and files no longer listed are dropped.
/// Written atomically (a concurrent run reads the old or the new file, never half of one).
pub fn save(
    path: &Path,
    preset: &Preset,
    command: &[String],
    previous: Option<&Timings>,
    measured: &Timings,
    listed: &[TestFile],
) -> std::io::Result<()> {
    let merged = match previous {
        Some(old) => old.updated_with(measured),
        None => measured.clone(),
    };
    let file = CacheFile {
        version: VERSION,
        preset: preset.name().into(),
        command: command.to_vec(),
        files: merged
            .case_seconds(listed)
            .into_iter()
            .map(|(path, cases)| {
                (
                    path,
                    cases
                        .into_iter()
                        .map(|(key, seconds)| CachedCase {
                            classname: key.classname,
                            name: key.name,
                            seconds,
                        })
                        .collect(),
                )
            })
            .collect(),
    };
    prepare_dir(path)?;
    crate::fs::write_atomically(path, |out| {
        serde_json::to_writer_pretty(&mut *out, &file).map_err(std::io::Error::other)?;
        std::io::Write::write_all(out, b"\n")
    })
}

/// Creates the directory of a cache file at `path` (`.stepkit/timings`), and `.stepkit/.gitignore`.
pub fn prepare_dir(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().expect("the cache path has a directory");
    std::fs::create_dir_all(dir)?;
    let root = dir.parent().expect(".stepkit/timings has a parent");
    let ignore = root.join(".gitignore");
    if !ignore.exists() {
        // Like .pytest_cache: the directory ignores itself, so a checkout stays clean.
        std::fs::write(&ignore, "# written by stepkit: a cache, never commit it\n*\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_auto_none_and_reports() {
        assert_eq!(TimingsChoice::parse(&[]).unwrap().auto, Auto::Default);
        assert_eq!(
            TimingsChoice::parse(&strings(&["none"])).unwrap(),
            TimingsChoice { reports: vec![], auto: Auto::Off }
        );
        let both = TimingsChoice::parse(&strings(&["auto", "last/*.xml"])).unwrap();
        assert_eq!(both, TimingsChoice { reports: strings(&["last/*.xml"]), auto: Auto::Explicit });
        assert_eq!(TimingsChoice::parse(&strings(&["a.xml"])).unwrap().auto, Auto::Off);
        assert!(TimingsChoice::parse(&strings(&["none", "a.xml"])).unwrap_err().contains("none"));
    }

    #[test]
    fn the_default_is_not_read_under_shards_unless_asked() {
        let default = TimingsChoice::parse(&[]).unwrap();
        assert!(default.reads_cache(false) && !default.reads_cache(true) && default.writes_cache());
        let explicit = TimingsChoice::parse(&strings(&["auto"])).unwrap();
        assert!(explicit.reads_cache(true));
        let none = TimingsChoice::parse(&strings(&["none"])).unwrap();
        assert!(!none.reads_cache(false) && !none.writes_cache());
    }

    #[test]
    fn keys_differ_per_suite_and_saves_merge_with_the_last_run() {
        let cwd = Path::new("/p");
        let a = cache_path(cwd, &Preset::Pytest, &strings(&["pytest", "tests/unit"]));
        let b = cache_path(cwd, &Preset::Pytest, &strings(&["pytest", "tests/api"]));
        assert_ne!(a, b);
        assert!(a.starts_with("/p/.stepkit/timings") && a.to_string_lossy().ends_with(".json"));
        assert_eq!(a, cache_path(cwd, &Preset::Pytest, &strings(&["pytest", "tests/unit"])), "stable");

        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(dir.path(), &Preset::Pytest, &strings(&["pytest"]));
        assert!(load(&path).unwrap().is_none(), "no cache yet");
        let listed = vec![
            TestFile { path: "a.py".into(), cases: vec![case("x"), case("y")] },
            TestFile { path: "b.py".into(), cases: vec![case("z")] },
        ];
        let first = Timings::from_case_seconds(map(&[
            ("a.py", "x", 1.0),
            ("a.py", "y", 2.0),
            ("b.py", "z", 3.0),
            ("gone.py", "w", 9.0),
        ]));
        save(&path, &Preset::Pytest, &strings(&["pytest"]), None, &first, &listed).unwrap();
        // A partial second run: only a.py::x ran.
        let second = Timings::from_case_seconds(map(&[("a.py", "x", 5.0)]));
        let previous = load(&path).unwrap().unwrap();
        assert_eq!(previous.file("gone.py"), None, "files no longer listed are dropped");
        save(&path, &Preset::Pytest, &strings(&["pytest"]), Some(&previous), &second, &listed).unwrap();
        let now = load(&path).unwrap().unwrap();
        assert_eq!(
            (now.case("a.py", &case("x")), now.case("a.py", &case("y")), now.file("b.py")),
            (Some(5.0), Some(2.0), Some(3.0))
        );
        assert_eq!(now.file("a.py"), Some(7.0));
        assert!(std::fs::read_to_string(dir.path().join(".stepkit/.gitignore")).unwrap().contains('*'));
        std::fs::write(&path, "{not json").unwrap();
        assert!(load(&path).unwrap_err().contains("delete it"));
        // An earlier stepkit's layout (cases by name alone) is dropped, and the run saves anew.
        let v1 =
            r#"{"version": 1, "preset": "pytest", "command": ["pytest"], "files": {"a.py": {"x": 1.0}}}"#;
        std::fs::write(&path, v1).unwrap();
        assert!(load(&path).unwrap().is_none());
    }

    #[test]
    fn cases_of_one_name_in_two_classes_keep_their_own_seconds_across_a_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(dir.path(), &Preset::Pytest, &strings(&["pytest"]));
        let in_class = |class: &str| super::super::model::CaseRef {
            id: format!("t.py::{class}::test_basic"),
            classname: Some(format!("t.{class}")),
            name: "test_basic".into(),
        };
        let listed = vec![TestFile { path: "t.py".into(), cases: vec![in_class("A"), in_class("B")] }];
        let key = |class: &str| CaseKey { classname: Some(format!("t.{class}")), name: "test_basic".into() };
        let measured = Timings::from_case_seconds(BTreeMap::from([(
            "t.py".to_string(),
            BTreeMap::from([(key("A"), 4.0), (key("B"), 0.5)]),
        )]));
        save(&path, &Preset::Pytest, &strings(&["pytest"]), None, &measured, &listed).unwrap();
        let read = load(&path).unwrap().unwrap();
        assert_eq!(
            (read.case("t.py", &in_class("A")), read.case("t.py", &in_class("B"))),
            (Some(4.0), Some(0.5))
        );
        assert_eq!(read.file("t.py"), Some(4.5));
    }

    fn case(name: &str) -> super::super::model::CaseRef {
        super::super::model::CaseRef { id: name.into(), classname: None, name: name.into() }
    }

    fn map(entries: &[(&str, &str, f64)]) -> BTreeMap<String, BTreeMap<CaseKey, f64>> {
        let mut out: BTreeMap<String, BTreeMap<CaseKey, f64>> = BTreeMap::new();
        for (file, case, seconds) in entries {
            let key = CaseKey { classname: None, name: case.to_string() };
            out.entry(file.to_string()).or_default().insert(key, *seconds);
        }
        out
    }
}
