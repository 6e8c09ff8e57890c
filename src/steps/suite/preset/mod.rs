//! Presets: how to list a tool's tests and how to run a subset of them with a JUnit report.

mod command;
pub mod go;
mod php_classes;
mod phpunit;
mod phpunit_args;
mod phpunit_config;
mod pytest;

pub use phpunit_config::BatchConfig;

use super::model::{CaseRef, TestFile};
use std::path::Path;

/// A test tool stepkit knows how to drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preset {
    /// PHPUnit 9+: files from phpunit.xml, cases via `--list-tests-xml`, subsets via `--filter`.
    Phpunit,
    /// pytest: node ids from `--collect-only -q`, `--junitxml`.
    Pytest,
    /// go test: packages and tests from `-list`, `-run` subsets, `-json` converted to JUnit.
    Go,
    /// Any command: files from `--files` globs, `{files}` and `{junit}` placeholders in CMD.
    Command { patterns: Vec<String> },
}

/// One file of a batch and, when split, the cases of it to run.
pub struct Selection<'a> {
    pub file: &'a TestFile,
    pub cases: Option<Vec<&'a CaseRef>>,
}

/// What a preset's listing found, and how batches must run it.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub files: Vec<TestFile>,
    /// Tests the tool listed that no batch can run (no file found for them), each with why: they
    /// are reported as error cases, never dropped.
    pub unplaced: Vec<Unplaced>,
    /// Whole files the tool skipped while listing them (pytest's module-level `skip` or
    /// `importorskip`), `why` being the tool's reason: no batch runs them, and they are reported as
    /// skipped, as the tool's own serial run reports them.
    pub skipped_at_listing: Vec<Unplaced>,
    /// CMD without the arguments that select tests (paths, node ids, package patterns): the base
    /// of every batch, which adds only its own tests. The selecting arguments shaped the listing.
    pub batch_command: Vec<String>,
    /// A whole file is run by naming its listed cases, not its path, because the listing selected
    /// less than whole files (a pytest node id such as `test_x.py::TestA` in CMD).
    pub select_cases: bool,
    /// Whether one process may run several whole files.
    pub multi_file: bool,
    /// PHPUnit: where a batch of several files gets the configuration that names them.
    pub batch_config: Option<BatchConfig>,
}

/// A listed test that no batch can run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unplaced {
    pub classname: Option<String>,
    pub name: String,
    pub why: String,
}

impl Discovery {
    /// Files from a listing whose CMD selects nothing a batch would repeat.
    fn whole(files: Vec<TestFile>, cmd: &[String]) -> Self {
        Discovery {
            files,
            unplaced: Vec::new(),
            skipped_at_listing: Vec::new(),
            batch_command: cmd.to_vec(),
            select_cases: false,
            multi_file: true,
            batch_config: None,
        }
    }
}

/// A preset that could not list the tests.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("list tests with `{command}`: {message}")]
    Discover { command: String, message: String },
    /// CMD's test-selecting arguments cannot be read exactly (a usage error).
    #[error("read the test-selecting arguments of `{command}`: {message}")]
    Scope { command: String, message: String },
    #[error("use the command preset: {0}")]
    Command(String),
}

impl Preset {
    /// The preset's name.
    pub fn name(&self) -> &'static str {
        match self {
            Preset::Phpunit => "phpunit",
            Preset::Pytest => "pytest",
            Preset::Go => "go",
            Preset::Command { .. } => "command",
        }
    }

    /// The command used when none is given after `--`.
    pub fn default_command(&self) -> Vec<String> {
        match self {
            Preset::Phpunit => vec!["phpunit".into()],
            Preset::Pytest => vec!["pytest".into()],
            Preset::Go => vec!["go".into(), "test".into()],
            Preset::Command { .. } => Vec::new(),
        }
    }

    /// Lists the test files (with their cases where the tool can list them), in a stable order,
    /// and finds which arguments of CMD select tests, so batches run only their own.
    /// `pythonpath` is the PYTHONPATH stepkit started with (pytest's listing plugin goes in front of it).
    pub fn discover(
        &self,
        cmd: &[String],
        cwd: &Path,
        pythonpath: Option<&str>,
    ) -> Result<Discovery, PresetError> {
        match self {
            Preset::Phpunit => phpunit::discover(cmd, cwd),
            Preset::Pytest => pytest::discover(cmd, cwd, pythonpath),
            Preset::Go => {
                go::discover(cmd, cwd).map(|files| Discovery::whole(files, &go::batch_command(cmd)))
            }
            Preset::Command { patterns } => {
                command::discover(cmd, patterns, cwd).map(|files| Discovery::whole(files, cmd))
            }
        }
    }

    /// The argv that runs `selections` and writes JUnit to `junit`; `config` is the PHPUnit
    /// configuration written for this batch (several files), if any.
    pub fn argv(
        &self,
        cmd: &[String],
        selections: &[Selection<'_>],
        junit: &Path,
        config: Option<&Path>,
    ) -> Vec<String> {
        match self {
            Preset::Phpunit => phpunit::argv(cmd, selections, junit, config),
            Preset::Pytest => pytest::argv(cmd, selections, junit),
            Preset::Go => go::argv(cmd, selections, junit),
            Preset::Command { .. } => command::argv(cmd, selections, junit),
        }
    }

    /// Whether the command writes JUnit at all (the command preset without `{junit}` does not).
    pub fn writes_junit(&self, cmd: &[String]) -> bool {
        match self {
            Preset::Command { .. } => cmd.iter().any(|a| a.contains("{junit}")),
            _ => true,
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "phpunit" => Ok(Preset::Phpunit),
            "pytest" => Ok(Preset::Pytest),
            "go" => Ok(Preset::Go),
            "command" => Ok(Preset::Command { patterns: Vec::new() }),
            other => Err(format!("unknown preset `{other}`; use phpunit, pytest, go or command")),
        }
    }
}

/// Runs a listing command and returns its stdout, or an error with its output.
fn run_listing(argv: &[String], cwd: &Path) -> Result<String, PresetError> {
    run_listing_with_env(argv, &[], cwd)
}

/// `run_listing` with extra environment variables (a listing plugin's path and output file).
fn run_listing_with_env(
    argv: &[String],
    env: &[(String, String)],
    cwd: &Path,
) -> Result<String, PresetError> {
    let shown = argv.join(" ");
    let (program, args) = argv.split_first().ok_or_else(|| PresetError::Discover {
        command: shown.clone(),
        message: "the command is empty".into(),
    })?;
    let output = std::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| PresetError::Discover {
            command: shown.clone(),
            message: format!("cannot start `{program}`: {e}; is it installed and on PATH?"),
        })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let tail: Vec<&str> = text.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(PresetError::Discover {
            command: shown,
            message: format!(
                "it {}; its output ends with:\n{}",
                describe_status(output.status),
                tail.join("\n")
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn describe_status(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".into(),
    }
}
