//! Settings for `stepkit test`.

use super::layered::{layers, layers_shown, list_from, parse_duration, path, Layers, Origin};
use super::{file::ConfigFile, flag, ConfigError};
use crate::ci::{Env, ProgressMode};
use crate::cli::TestArgs;
use crate::junit::Profile;
use crate::steps::suite::cache::TimingsChoice;
use crate::steps::suite::clock::ClockFormat;
use crate::steps::suite::model::SplitMode;
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

    // A number in stepkit.toml (`workers = 4`) or a string (`workers = "auto"`), read as its text.
    let file_workers = cfg.workers.as_ref().map(|v| v.to_string().trim_matches('"').to_string());
    let workers = layers("--workers", args.workers.as_deref())
        .env(env, "STEPKIT_TEST_WORKERS")
        .file("test", file_workers.as_deref())
        .parse(parse_workers)?
        .flatten()
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    // No `[test]` key: every matrix job runs a different shard, so it is never one project setting.
    let shard = layers("--shard", args.shard.as_deref()).env(env, "STEPKIT_TEST_SHARD").parse(str::parse)?;
    let split = parse_trimming_env(
        layers("--split", args.split.as_deref())
            .env(env, "STEPKIT_TEST_SPLIT")
            .file_shown("test", cfg.split.map(SplitMode::name)),
        str::parse,
    )?
    .unwrap_or_default();
    let retries = layers_shown("--retries", args.retries)
        .env(env, "STEPKIT_TEST_RETRIES")
        .file_shown("test", cfg.retries)
        .parse(|t| t.trim().parse::<u32>().map_err(|_| format!("`{t}` is not a whole number")))?
        .unwrap_or(0);
    // No variable: whether flakiness fails a build is the project's choice, not one job's.
    let flaky_fails = layers("--flaky-result", args.flaky_result.as_deref())
        .file("test", cfg.flaky_result.as_deref())
        .parse(|t| match t {
            "pass" => Ok(false),
            "fail" => Ok(true),
            other => Err(format!("`{other}` is not fail or pass")),
        })?
        .unwrap_or(false);
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
    let junit =
        path("--junit", args.junit.as_deref(), env, "STEPKIT_TEST_JUNIT", "test", cfg.junit.as_deref()).map(
            |(path, origin)| match origin {
                Origin::File { .. } => super::relative_to(config_path, path),
                _ => path,
            },
        );
    // `[junit] profile`, the table `stepkit junit` reads too.
    let profile = parse_trimming_env(
        layers("--profile", args.profile.as_deref())
            .env(env, super::junit::var::PROFILE)
            .file_shown("junit", file.junit.as_ref().and_then(|j| j.profile).map(Profile::name)),
        str::parse,
    )?
    .unwrap_or_default();
    // No variable: the test files are the project's, like CMD.
    let files = cfg.files.clone().unwrap_or_default();
    let (patterns, patterns_origin) = list_from("--files", &args.files, None, "test", &files)
        .map_or_else(|| (Vec::new(), None), |(patterns, origin)| (patterns, Some(origin)));
    // A pattern glob cannot read is a usage error (exit 2), found before anything runs.
    for (pattern, origin) in patterns.iter().zip(patterns_origin.iter().cycle()) {
        glob::Pattern::new(pattern)
            .map_err(|e| origin.error(format!("`{pattern}` is not a glob pattern: {e}")))?;
    }
    let mut command =
        if args.command.is_empty() { cfg.command.clone().unwrap_or_default() } else { args.command.clone() };
    let preset = layers("--preset", args.preset.as_deref())
        .env(env, "STEPKIT_TEST_PRESET")
        .file("test", cfg.preset.as_deref())
        .parse(str::parse::<Preset>)?;
    let preset = match preset {
        Some(preset) => preset,
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
    // The variable is comma-separated, like repeating the flag: `auto`, `none`, or reports and globs.
    let file_timings = cfg.timings.clone().unwrap_or_default();
    let (timings, origin) =
        list_from("--timings", &args.timings, Some((env, "STEPKIT_TEST_TIMINGS")), "test", &file_timings)
            // Nothing set means `auto`, which parses without error: this origin is never shown.
            .unwrap_or_else(|| (Vec::new(), Origin::Flag("--timings".into())));
    let timings = TimingsChoice::parse(&timings).map_err(|m| origin.error(m))?;
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
        .parse_from(parse_duration)?;
    if let (Some((_, origin)), None) = (&test_timeout, ClockFormat::of(&preset)) {
        return Err(origin.error(
            format!("the {} preset cannot tell when each test starts, so it cannot time single tests; use --stall-timeout or --timeout, or a phpunit, pytest or go preset", preset.name()),
        ));
    }
    let test_timeout = test_timeout.map(|(timeout, _)| timeout);
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

/// `--workers`: a positive number, or `auto` (`None`: one per CPU).
fn parse_workers(text: &str) -> Result<Option<usize>, String> {
    match text.trim() {
        "auto" => Ok(None),
        n => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| format!("`{n}` is not a positive number or `auto`")),
    }
}

/// The first layer set, parsed; a variable's value trimmed first, as the variables always were read
/// (a flag's and a key's are taken as given).
fn parse_trimming_env<T>(
    layers: Layers<'_>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    let Some(given) = layers.given() else { return Ok(None) };
    let trim = matches!(given.origin, Origin::Env(_));
    given.parse(|text| parse(if trim { text.trim() } else { text })).map(Some)
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
    use crate::steps::suite::model::Shard;
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
        resolve_in(None, argv, env, file)
    }

    /// `resolve` with stepkit.toml at `config`.
    fn resolve_in(
        config: Option<&Path>,
        argv: &[&str],
        env: &[(&str, &str)],
        file: &str,
    ) -> Result<TestSettings, ConfigError> {
        let mut full = vec!["stepkit", "test"];
        full.extend_from_slice(argv);
        let crate::cli::Command::Test(args) = crate::cli::Cli::try_parse_from(full).unwrap().command else {
            panic!("not test")
        };
        let file = super::super::file::parse(file).unwrap();
        let env = Env::from_pairs(env.iter().copied());
        test_settings(&args, &env, &file, config, Path::new("/"), ProgressMode::Silent, None)
    }

    /// The usage error for these flags, variables and stepkit.toml.
    fn error(argv: &[&str], env: &[(&str, &str)], file: &str) -> String {
        resolve(argv, env, file).map(|_| ()).unwrap_err().to_string()
    }

    /// `argv` after `--preset pytest`, so nothing fails on the preset.
    fn pytest<'a>(argv: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec!["--preset", "pytest"];
        full.extend_from_slice(argv);
        full
    }

    /// Checks that the error `e` starts with `start` and, as no flag was given, never names `flag`.
    fn assert_names(e: &str, start: &str, flag: &str) {
        assert!(e.starts_with(start), "{e}");
        assert!(!e.contains(flag), "no flag was given: {e}");
    }

    /// Checks that stepkit.toml itself is refused, naming `key` and its bad `value`: serde types these
    /// keys (a split mode, a number) when the file is read.
    fn assert_file_refuses(file: &str, key: &str, value: &str) {
        let e = super::super::file::parse(file).map(|_| ()).unwrap_err();
        assert!(e.contains(key) && e.contains(value), "{e}");
    }

    #[test]
    fn workers_shard_and_split_errors_name_the_layer_they_came_from() {
        let e = error(&[], &[("STEPKIT_TEST_WORKERS", "0")], "[test]\nworkers = 2\n");
        assert_names(&e, "use environment variable STEPKIT_TEST_WORKERS: `0` is not a positive", "--workers");
        let e = error(&[], &[], "[test]\nworkers = \"many\"\n");
        assert!(e.starts_with("use workers in the [test] table of stepkit.toml: `many`"), "{e}");
        let e = error(&["--workers", "none"], &[("STEPKIT_TEST_WORKERS", "2")], "");
        assert!(e.starts_with("use --workers: `none`"), "{e}");
        let workers = |env: &[(&str, &str)], file| resolve(&pytest(&[]), env, file).unwrap().workers;
        assert_eq!(workers(&[("STEPKIT_TEST_WORKERS", " 3 ")], "[test]\nworkers = 2\n"), 3);
        assert_eq!(workers(&[], "[test]\nworkers = 2\n"), 2);
        assert_eq!(workers(&[], "[test]\nworkers = \"auto\"\n"), workers(&[], ""));

        let e = error(&[], &[("STEPKIT_TEST_SHARD", "3/2")], "");
        assert!(e.starts_with("use environment variable STEPKIT_TEST_SHARD: `3/2`: K must be"), "{e}");
        let e = error(&["--shard", "x"], &[("STEPKIT_TEST_SHARD", "1/2")], "");
        assert!(e.starts_with("use --shard: `x` is not K/N"), "{e}");
        // Every matrix job runs its own shard: `[test]` has no key for it.
        assert_file_refuses("[test]\nshard = \"1/2\"\n", "shard", "unknown field");
        let shard = resolve(&pytest(&[]), &[("STEPKIT_TEST_SHARD", "2/4")], "").unwrap().shard;
        assert_eq!(shard, Some(Shard { index: 2, total: 4 }));

        let e = error(&[], &[("STEPKIT_TEST_SPLIT", "files")], "[test]\nsplit = \"case\"\n");
        assert!(
            e.starts_with("use environment variable STEPKIT_TEST_SPLIT: unknown split mode `files`"),
            "{e}"
        );
        // clap checks the flag's value itself; a set flag hides a bad variable.
        let flagged = resolve(&pytest(&["--split", "case"]), &[("STEPKIT_TEST_SPLIT", "files")], "");
        assert_eq!(flagged.unwrap().split, SplitMode::Case);
        assert_file_refuses("[test]\nsplit = \"files\"\n", "split", "files");
        let split = |env: &[(&str, &str)], file| resolve(&pytest(&[]), env, file).unwrap().split;
        assert_eq!(split(&[("STEPKIT_TEST_SPLIT", " file ")], "[test]\nsplit = \"case\"\n"), SplitMode::File);
        assert_eq!(split(&[], "[test]\nsplit = \"case\"\n"), SplitMode::Case);
        assert_eq!(split(&[], ""), SplitMode::Auto);
    }

    #[test]
    fn retries_and_flaky_result_errors_name_the_layer_they_came_from() {
        let e = error(&[], &[("STEPKIT_TEST_RETRIES", "twice")], "[test]\nretries = 1\n");
        assert_names(
            &e,
            "use environment variable STEPKIT_TEST_RETRIES: `twice` is not a whole",
            "--retries",
        );
        assert_file_refuses("[test]\nretries = \"twice\"\n", "retries", "twice");
        let retries =
            |argv: &[&str], env: &[(&str, &str)], file| resolve(&pytest(argv), env, file).unwrap().retries;
        // The flag hides a bad variable: flag > variable > key > 0.
        assert_eq!(retries(&["--retries", "3"], &[("STEPKIT_TEST_RETRIES", "twice")], ""), 3);
        assert_eq!(retries(&[], &[("STEPKIT_TEST_RETRIES", " 2 ")], "[test]\nretries = 1\n"), 2);
        assert_eq!(retries(&[], &[], "[test]\nretries = 1\n"), 1);
        assert_eq!(retries(&[], &[], ""), 0);

        let e = error(&[], &[], "[test]\nflaky-result = \"warn\"\n");
        assert!(e.starts_with("use flaky-result in the [test] table of stepkit.toml: `warn` is not"), "{e}");
        let flaky = |argv: &[&str], file| resolve(&pytest(argv), &[], file).unwrap().flaky_fails;
        assert!(flaky(&[], "[test]\nflaky-result = \"fail\"\n"));
        assert!(!flaky(&["--flaky-result", "pass"], "[test]\nflaky-result = \"fail\"\n"));
        assert!(!flaky(&[], ""));
    }

    #[test]
    fn preset_files_and_test_timeout_errors_name_the_layer_they_came_from() {
        let e = error(&[], &[("STEPKIT_TEST_PRESET", "jest")], "[test]\npreset = \"go\"\n");
        assert_names(&e, "use environment variable STEPKIT_TEST_PRESET: unknown preset `jest`", "--preset");
        let e = error(&[], &[], "[test]\npreset = \"jest\"\n");
        assert!(
            e.starts_with("use preset in the [test] table of stepkit.toml: unknown preset `jest`"),
            "{e}"
        );
        // clap checks the flag's value itself; a set flag hides a bad variable.
        assert_eq!(
            resolve(&["--preset", "go"], &[("STEPKIT_TEST_PRESET", "jest")], "").unwrap().preset,
            Preset::Go
        );
        let preset = |env: &[(&str, &str)], file| resolve(&[], env, file).unwrap().preset;
        assert_eq!(preset(&[("STEPKIT_TEST_PRESET", "pytest")], "[test]\npreset = \"go\"\n"), Preset::Pytest);
        assert_eq!(preset(&[], "[test]\npreset = \"go\"\n"), Preset::Go);

        let command = ["--preset", "command", "--", "sh", "{files}"];
        let e = error(&command, &[], "[test]\nfiles = [\"t/[\"]\n");
        assert!(e.starts_with("use files in the [test] table of stepkit.toml: `t/[` is not a glob"), "{e}");
        let mut flagged = vec!["--files", "["];
        flagged.extend_from_slice(&command);
        let e = error(&flagged, &[], "[test]\nfiles = [\"t/*.sh\"]\n");
        assert!(e.starts_with("use --files: `[` is not a glob"), "{e}");

        let e = error(&command, &[("STEPKIT_TEST_TEST_TIMEOUT", "2m")], "");
        assert!(
            e.starts_with("use environment variable STEPKIT_TEST_TEST_TIMEOUT: the command preset"),
            "{e}"
        );
        let e = error(&command, &[], "[test]\ntest-timeout = \"2m\"\n");
        assert!(
            e.starts_with("use test-timeout in the [test] table of stepkit.toml: the command preset"),
            "{e}"
        );
        let e = error(&pytest(&[]), &[("STEPKIT_TEST_TEST_TIMEOUT", "soon")], "");
        assert!(e.starts_with("use environment variable STEPKIT_TEST_TEST_TIMEOUT: `soon`"), "{e}");
    }

    #[test]
    fn junit_and_profile_keep_their_layer() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("ci/stepkit.toml");
        let settings = |argv: &[&str], env: &[(&str, &str)], file: &str| {
            resolve_in(Some(&config), &pytest(argv), env, file)
        };
        let keyed = "[test]\njunit = \"out/j.xml\"\n[junit]\nprofile = \"gitlab\"\n";
        // The key's path is relative to the stepkit.toml it is in; the flag's and the variable's are not.
        let s = settings(&[], &[], keyed).unwrap();
        assert_eq!((s.junit, s.profile), (Some(dir.path().join("ci/out/j.xml")), Profile::Gitlab));
        let env = [("STEPKIT_TEST_JUNIT", "env/j.xml"), ("STEPKIT_JUNIT_PROFILE", " jenkins-xunit ")];
        let s = settings(&[], &env, keyed).unwrap();
        assert_eq!((s.junit, s.profile), (Some("env/j.xml".into()), Profile::JenkinsXunit));
        let s = settings(&["--junit", "f/j.xml", "--profile", "default"], &env, keyed).unwrap();
        assert_eq!((s.junit, s.profile), (Some("f/j.xml".into()), Profile::Default));

        let e = settings(&[], &[("STEPKIT_JUNIT_PROFILE", "jenkins")], keyed)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_names(
            &e,
            "use environment variable STEPKIT_JUNIT_PROFILE: unknown JUnit profile `jenkins`",
            "--profile",
        );
        assert_file_refuses("[junit]\nprofile = \"jenkins\"\n", "profile", "jenkins");
    }

    #[test]
    fn timings_errors_name_the_layer_they_came_from() {
        let keyed = "[test]\ntimings = [\"none\", \"old.xml\"]\n";
        let e = error(&pytest(&[]), &[("STEPKIT_TEST_TIMINGS", "none,a.xml")], "");
        assert_names(
            &e,
            "use environment variable STEPKIT_TEST_TIMINGS: `none` turns timings off",
            "use --timings",
        );
        let e = error(&pytest(&[]), &[], keyed);
        assert!(e.starts_with("use timings in the [test] table of stepkit.toml: `none` turns"), "{e}");
        let flagged = pytest(&["--timings", "a.xml", "--timings", " "]);
        let e = error(&flagged, &[("STEPKIT_TEST_TIMINGS", "none")], keyed);
        assert!(e.starts_with("use --timings: an empty value"), "{e}");
        // The variable's empty items are separators typed twice; the key's are values.
        let timings = |env: &[(&str, &str)], file| resolve(&pytest(&[]), env, file).unwrap().timings;
        let from_env = timings(&[("STEPKIT_TEST_TIMINGS", " a.xml,,auto ")], keyed);
        assert_eq!(from_env, TimingsChoice::parse(&["a.xml".into(), "auto".into()]).unwrap());
        let e = error(&pytest(&[]), &[], "[test]\ntimings = [\"a.xml\", \"\"]\n");
        assert!(e.starts_with("use timings in the [test] table of stepkit.toml: an empty value"), "{e}");
        assert_eq!(
            timings(&[], "[test]\ntimings = [\"none\"]\n"),
            TimingsChoice::parse(&["none".into()]).unwrap()
        );
        assert_eq!(timings(&[], ""), TimingsChoice::parse(&[]).unwrap());
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
