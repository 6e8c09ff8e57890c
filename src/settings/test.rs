//! Settings for `stepkit test`.

use super::layered::{layers, parse_duration};
use super::{env_parse, file::ConfigFile, flag, ConfigError};
use crate::ci::{Env, ProgressMode};
use crate::cli::TestArgs;
use crate::junit::Profile;
use crate::steps::suite::cache::TimingsChoice;
use crate::steps::suite::clock::ClockFormat;
use crate::steps::suite::model::{Shard, SplitMode};
use crate::steps::suite::only_failed::OnlyFailed;
use crate::steps::suite::preset::Preset;
use crate::steps::suite::TestSettings;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[test]` in stepkit.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestConfig {
    pub preset: Option<String>,
    pub command: Option<Vec<String>>,
    pub files: Option<Vec<String>>,
    pub workers: Option<toml::Value>,
    pub split: Option<SplitMode>,
    pub timings: Option<Vec<String>>,
    pub retries: Option<u32>,
    pub flaky_result: Option<String>,
    pub timeout: Option<String>,
    pub stall_timeout: Option<String>,
    pub max_fail: Option<u64>,
    pub junit: Option<PathBuf>,
    /// Merged coverage report path (`--coverage`'s FILE).
    pub coverage: Option<PathBuf>,
    /// Its format: cobertura, clover or lcov.
    pub coverage_format: Option<crate::coverage::Format>,
    pub test_timeout: Option<String>,
}

/// The default stall timeout: long enough for a slow test, short enough to beat a CI job timeout.
const DEFAULT_STALL: Duration = Duration::from_secs(600);

/// Resolves `stepkit test`.
/// `config_path` is the stepkit.toml in use: paths in its `[test]` table are relative to it.
pub fn test_settings(
    args: &TestArgs,
    env: &Env,
    file: &ConfigFile,
    config_path: Option<&Path>,
    cwd: &Path,
    progress: ProgressMode,
    workspace: Option<PathBuf>,
) -> Result<TestSettings, ConfigError> {
    let cfg = file.test.clone().unwrap_or_default();

    let workers_text = args
        .workers
        .clone()
        .or_else(|| env.get("STEPKIT_TEST_WORKERS").map(str::to_string))
        .or_else(|| cfg.workers.as_ref().map(|v| v.to_string().trim_matches('"').to_string()));
    let workers = match workers_text.as_deref().map(str::trim) {
        None | Some("auto") => std::thread::available_parallelism().map_or(2, |n| n.get()),
        Some(n) => n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            flag("--workers / STEPKIT_TEST_WORKERS", format!("`{n}` is not a positive number or `auto`"))
        })?,
    };
    let shard = match args.shard.clone().or_else(|| env.get("STEPKIT_TEST_SHARD").map(str::to_string)) {
        Some(s) => Some(s.parse::<Shard>().map_err(|m| flag("--shard / STEPKIT_TEST_SHARD", m))?),
        None => None,
    };
    let split = match &args.split {
        Some(s) => s.parse().map_err(|m| flag("--split", m))?,
        None => env_parse::<SplitMode>(env, "STEPKIT_TEST_SPLIT", "file, case or auto")?
            .or(cfg.split)
            .unwrap_or_default(),
    };
    let retries = args
        .retries
        .map(Some)
        .unwrap_or(env_parse(env, "STEPKIT_TEST_RETRIES", "a whole number")?)
        .or(cfg.retries)
        .unwrap_or(0);
    let flaky_fails = match args.flaky_result.clone().or(cfg.flaky_result.clone()).as_deref() {
        None | Some("pass") => false,
        Some("fail") => true,
        Some(other) => return Err(flag("flaky-result", format!("`{other}` is not fail or pass"))),
    };
    let timeout = layers("--timeout", args.timeout.as_deref())
        .env(env, "STEPKIT_TEST_TIMEOUT")
        .file("test", cfg.timeout.as_deref())
        .optional_duration()?;
    let stall_timeout = match layers("--stall-timeout", args.stall_timeout.as_deref())
        .env(env, "STEPKIT_TEST_STALL_TIMEOUT")
        .file("test", cfg.stall_timeout.as_deref())
        .given()
    {
        Some(given) if given.text.trim() == "off" => None,
        Some(given) => Some(given.parse(parse_duration)?),
        None => Some(DEFAULT_STALL),
    };
    let junit = args
        .junit
        .clone()
        .or_else(|| env.get("STEPKIT_TEST_JUNIT").map(PathBuf::from))
        .or_else(|| cfg.junit.clone().map(|p| super::relative_to(config_path, p)));
    let profile = match &args.profile {
        Some(p) => p.parse().map_err(|m| flag("--profile", m))?,
        None => env_parse::<Profile>(env, super::junit::var::PROFILE, "default, jenkins-xunit or gitlab")?
            .or(file.junit.as_ref().and_then(|j| j.profile))
            .unwrap_or_default(),
    };
    let patterns =
        if args.files.is_empty() { cfg.files.clone().unwrap_or_default() } else { args.files.clone() };
    // A pattern glob cannot read is a usage error (exit 2), found before anything runs.
    for pattern in &patterns {
        glob::Pattern::new(pattern)
            .map_err(|e| flag("--files", format!("`{pattern}` is not a glob pattern: {e}")))?;
    }
    let mut command =
        if args.command.is_empty() { cfg.command.clone().unwrap_or_default() } else { args.command.clone() };
    let preset = match args.preset.clone().or_else(|| env.get("STEPKIT_TEST_PRESET").map(str::to_string)).or(cfg.preset.clone()) {
        Some(name) => name.parse::<Preset>().map_err(|m| flag("--preset", m))?,
        None => infer_preset(&command, !patterns.is_empty()).ok_or_else(|| {
            flag("--preset", "cannot tell which tool runs the tests: give --preset phpunit|pytest|go|command, or a command after `--` (e.g. `-- phpunit`)")
        })?,
    };
    let preset = match preset {
        Preset::Command { .. } => Preset::Command { patterns },
        other => other,
    };
    if command.is_empty() {
        command = preset.default_command();
    }
    if command.is_empty() {
        return Err(flag(
            "CMD",
            "the command preset needs the test command after `--`, with `{files}` where the files go",
        ));
    }
    // A path from toml is UTF-8 (TOML strings are), so `to_str` drops nothing.
    let coverage = super::coverage::test_coverage(
        args.coverage.as_deref(),
        env,
        cfg.coverage.as_deref().and_then(Path::to_str),
        cfg.coverage_format,
    )?;
    if let (Some((_, _, origin)), Preset::Command { .. }) = (&coverage, &preset) {
        return Err(origin.error("coverage needs the phpunit, pytest or go preset; with the command preset, have CMD write coverage and join the files with `stepkit coverage merge`"));
    }
    let coverage =
        coverage.map(|(format, path, _)| crate::steps::suite::coverage::CoverageTarget { format, path });
    let timings = if !args.timings.is_empty() {
        args.timings.clone()
    } else if let Some(value) = env.get("STEPKIT_TEST_TIMINGS") {
        // Comma-separated, like repeating the flag: `auto`, `none`, or reports and globs.
        value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect()
    } else {
        cfg.timings.clone().unwrap_or_default()
    };
    let timings = TimingsChoice::parse(&timings).map_err(|m| flag("--timings", m))?;
    let only_failed = match &args.only_failed {
        Some(path) => {
            let mut only = OnlyFailed::read(&cwd.join(path)).map_err(|m| flag("--only-failed", m))?;
            // Named as the user gave it in messages.
            only.report = path.clone();
            Some(only)
        }
        None => None,
    };
    let test_timeout = layers("--test-timeout", args.test_timeout.as_deref())
        .env(env, "STEPKIT_TEST_TEST_TIMEOUT")
        .file("test", cfg.test_timeout.as_deref())
        .optional_duration()?;
    if test_timeout.is_some() && ClockFormat::of(&preset).is_none() {
        return Err(flag(
            "--test-timeout",
            format!("the {} preset cannot tell when each test starts, so it cannot time single tests; use --stall-timeout or --timeout, or a phpunit, pytest or go preset", preset.name()),
        ));
    }
    Ok(TestSettings {
        preset,
        command,
        workers,
        shard,
        split,
        timings,
        retries,
        flaky_fails,
        timeout,
        stall_timeout,
        max_fail: args.max_fail.or(cfg.max_fail),
        only_failed,
        test_timeout,
        junit,
        profile,
        cwd: cwd.to_path_buf(),
        progress,
        slowest: args.slowest.unwrap_or(10),
        workspace,
        coverage,
        pythonpath: env.get("PYTHONPATH").map(str::to_string),
    })
}

/// The preset a command implies: `phpunit`, `vendor/bin/phpunit`, `pytest`, `python -m pytest`.
fn infer_preset(command: &[String], has_files: bool) -> Option<Preset> {
    let words: Vec<String> = command
        .iter()
        .take(3)
        .map(|w| Path::new(w).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        .collect();
    if words.iter().any(|w| w == "phpunit") {
        Some(Preset::Phpunit)
    } else if words.iter().any(|w| w == "pytest" || w == "py.test") {
        Some(Preset::Pytest)
    } else if words.first().is_some_and(|w| w == "go") && words.get(1).is_some_and(|w| w == "test") {
        Some(Preset::Go)
    } else if has_files {
        Some(Preset::Command { patterns: Vec::new() })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn infers_presets_from_the_command() {
        let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(infer_preset(&cmd("vendor/bin/phpunit -c x.xml"), false), Some(Preset::Phpunit));
        assert_eq!(infer_preset(&cmd("python -m pytest"), false), Some(Preset::Pytest));
        assert!(matches!(infer_preset(&cmd("./run {files}"), true), Some(Preset::Command { .. })));
        assert_eq!(infer_preset(&cmd("make test"), false), None);
    }

    fn resolve(argv: &[&str], env: &[(&str, &str)], file: &str) -> Result<TestSettings, ConfigError> {
        let mut full = vec!["stepkit", "test"];
        full.extend_from_slice(argv);
        let crate::cli::Command::Test(args) = crate::cli::Cli::try_parse_from(full).unwrap().command else {
            panic!("not test")
        };
        let file = super::super::file::parse(file).unwrap();
        let env = Env::from_pairs(env.iter().copied());
        test_settings(&args, &env, &file, None, Path::new("/"), ProgressMode::Silent, None)
    }

    #[test]
    fn coverage_with_the_command_preset_names_where_coverage_was_asked_for() {
        // The variable or the key used to be reported as "use --coverage", a flag nobody gave.
        let command = ["--preset", "command", "--files", "t/*.sh", "--", "sh", "{files}"];
        let e = resolve(&command, &[("STEPKIT_TEST_COVERAGE", "c.xml")], "").unwrap_err().to_string();
        assert!(e.starts_with("use environment variable STEPKIT_TEST_COVERAGE: coverage needs"), "{e}");
        let e = resolve(&command, &[], "[test]\ncoverage = \"c.xml\"\n").unwrap_err().to_string();
        assert!(e.starts_with("use coverage in the [test] table of stepkit.toml: coverage needs"), "{e}");
        let mut flagged = vec!["--coverage", "lcov", "c.info"];
        flagged.extend_from_slice(&command);
        let e = resolve(&flagged, &[("STEPKIT_TEST_COVERAGE", "c.xml")], "").unwrap_err().to_string();
        assert!(e.starts_with("use --coverage: coverage needs"), "{e}");
        let s = resolve(&["--preset", "pytest"], &[("STEPKIT_TEST_COVERAGE", "c.info")], "").unwrap();
        assert_eq!(
            s.coverage.map(|c| (c.format, c.path)),
            Some((crate::coverage::Format::Lcov, "c.info".into()))
        );
    }

    #[test]
    fn the_env_table_in_docs_names_every_variable_the_help_does() {
        let names = crate::settings::tests::env_table_matches_help(
            "test.md",
            &[&["test"]],
            &["STEPKIT_TEST_", "STEPKIT_JUNIT_PROFILE"],
        );
        for var in ["STEPKIT_TEST_PRESET", "STEPKIT_TEST_TIMINGS", "STEPKIT_TEST_COVERAGE_FORMAT"] {
            assert!(names.contains(var), "{var} in {names:?}");
        }
    }
}
