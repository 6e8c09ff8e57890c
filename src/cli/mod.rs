//! Command-line arguments (clap derive structs only). Every value is optional here: defaults live in `settings/`.

mod args_from_env;
mod check;
mod coverage;
mod dashboard;
mod deploy;
mod deploy_github;
mod deploy_spec;
mod gate;
mod github;
mod history;
mod hook;
mod image;
mod junit;
mod load;
mod notify;
mod plugin;
mod test;
mod tools;

pub use args_from_env::{expand as expand_args_from_env, ArgsFromEnvError};
pub use check::CheckArgs;
pub use coverage::{CoverageArgs, CoverageCommand, CoverageMergeArgs};
pub use dashboard::{DashboardArgs, PercentileArg};
pub use deploy::{DeployArgs, DeployCommand, DeployRunArgs, LockArgs, ProxyArgs, RollbackArgs, StopArgs};
pub use deploy_github::GithubDeploymentArgs;
pub use deploy_spec::{CompanionArgs, CompanionCommand, CompanionTarget, DeployHookArgs, SpecArgs};
pub use gate::GateArgs;
pub use github::{
    CheckRunArgs, CommentArgs, ConclusionArg, GithubApiArgs, GithubArgs, GithubCommand, StateArg, StatusArgs,
};
pub use history::{
    AgainstArg, HistoryArgs, HistoryCommand, HistoryQueryArgs, HistoryRecordArgs, RunFilterArgs,
};
pub use hook::{
    HookArgs, HookCommand, HookListArgs, HookReplayArgs, HookServeArgs, HookShowArgs, StateDirArg,
};
pub use image::{BuildArgs, ImageArgs, ImageCommand, LoginArgs, PushArgs};
pub use junit::{JunitArgs, JunitCommand, MergeArgs, SummaryArgs};
pub use load::LoadArgs;
pub use notify::{NotifyArgs, StatusArg, WhenArg};
pub use plugin::{InspectArgs, LangArg, NewArgs, PluginArgs, PluginCommand};
pub use test::TestArgs;
pub use tools::{CompletionsArgs, ManArgs, Shell};

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The hard steps of a CI pipeline, as one binary for GitHub Actions, Jenkins and laptops.
#[derive(Debug, Parser)]
#[command(name = "stepkit", version, about, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    // Expanded by `args_from_env::expand` before clap parses: this field only puts the flag in --help.
    /// Take the arguments from environment variable VAR, split with shell quoting (nothing is
    /// expanded or run); give it before the subcommand
    #[arg(long, value_name = "VAR", help_heading = "Global options")]
    pub args_from_env: Option<String>,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Output format: human text on stderr, or JSON / markdown on stdout [env: STEPKIT_FORMAT] [default: text]
    #[arg(long, global = true, value_enum)]
    pub format: Option<FormatArg>,
    /// When to colour human output; NO_COLOR is honoured [env: STEPKIT_COLOR] [default: auto]
    #[arg(long, global = true, value_enum)]
    pub color: Option<ColorArg>,
    /// Config file [env: STEPKIT_CONFIG] [default: ./stepkit.toml when present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also write the JSON result to FILE (for Jenkins' readJSON) [env: STEPKIT_RESULT_FILE]
    #[arg(long, global = true, value_name = "FILE")]
    pub result_file: Option<PathBuf>,
    /// Print only the final line and errors
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The history store: a SQLite file or postgres://user@host/db; every step given it records its
    /// run there [env: STEPKIT_HISTORY]
    #[arg(long, global = true, value_name = "URL|PATH")]
    pub history: Option<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Markdown,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a test suite in parallel batches and write one merged JUnit report
    Test(Box<TestArgs>),
    /// Merge and summarise JUnit XML reports
    Junit(JunitArgs),
    /// Merge coverage reports from shards or tools into one (Cobertura, Clover, lcov)
    Coverage(CoverageArgs),
    /// Wait until a service is healthy: HTTP, TCP and container probes, a policy, a latency gate
    Gate(Box<GateArgs>),
    /// Load an HTTP service: requests/s, latency percentiles, errors by class, thresholds and a baseline
    Load(Box<LoadArgs>),
    /// Replace a container behind the health gate, keep the previous version, roll back on failure
    Deploy(Box<DeployArgs>),
    /// Build and push docker images through the Docker API
    Image(ImageArgs),
    /// Run sandboxed WebAssembly check plugins and report their findings
    Check(Box<CheckArgs>),
    /// Report results to GitHub: check runs with annotations, commit statuses, sticky PR comments
    Github(Box<GithubArgs>),
    /// Post what the pipeline's steps concluded to Slack (incoming webhook or bot token)
    Notify(Box<NotifyArgs>),
    /// Inspect a plugin component or create a new plugin project
    Plugin(PluginArgs),
    /// Keep every run's results (SQLite or PostgreSQL) and compare the latest with the previous version
    History(Box<HistoryArgs>),
    /// Draw the history as one offline HTML page: tests, deploy duration, latency per request and
    /// target, throughput; regressions against the previous version first (also markdown and JSON)
    Dashboard(Box<DashboardArgs>),
    /// Run steps when a git push or tag arrives as a webhook (GitHub, GitLab, Gitea), verified and queued
    Hook(Box<HookArgs>),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the man page (or write one per command into a directory)
    Man(ManArgs),
}

impl Command {
    /// The command's name as it appears in output (`junit merge`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Junit(args) => match args.command {
                JunitCommand::Merge(_) => "junit merge",
                JunitCommand::Summary(_) => "junit summary",
            },
            Command::Coverage(args) => match args.command {
                CoverageCommand::Merge(_) => "coverage merge",
            },
            Command::Test(_) => "test",
            Command::Gate(_) => "gate",
            Command::Load(_) => "load",
            Command::Deploy(args) => match &args.command {
                Some(DeployCommand::Rollback(_)) => "deploy rollback",
                Some(DeployCommand::Companion(c)) => match c.command {
                    CompanionCommand::Restart(_) => "deploy companion restart",
                    CompanionCommand::Remove(_) => "deploy companion remove",
                },
                None => "deploy",
            },
            Command::Image(args) => match args.command {
                ImageCommand::Build(_) => "image build",
                ImageCommand::Push(_) => "image push",
            },
            Command::Check(_) => "check",
            Command::Github(args) => match args.command {
                GithubCommand::CheckRun(_) => "github check-run",
                GithubCommand::Status(_) => "github status",
                GithubCommand::Comment(_) => "github comment",
            },
            Command::Notify(_) => "notify",
            Command::Plugin(args) => match args.command {
                PluginCommand::Inspect(_) => "plugin inspect",
                PluginCommand::New(_) => "plugin new",
            },
            Command::History(args) => match args.command {
                HistoryCommand::Record(_) => "history record",
                HistoryCommand::Query(_) => "history query",
            },
            Command::Dashboard(_) => "dashboard",
            Command::Hook(args) => match args.command {
                HookCommand::Serve(_) => "hook serve",
                HookCommand::List(_) => "hook list",
                HookCommand::Show(_) => "hook show",
                HookCommand::Replay(_) => "hook replay",
            },
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

/// The clap command tree (for completions and man pages).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses `args`; clap's error carries its own exit code and message.
pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(check::config_values_as_set(args.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_consistent() {
        super::command().debug_assert();
    }

    /// Every example in the help parses: an example that drifted from the flags would teach an error.
    #[test]
    fn help_examples_parse() {
        fn examples(cmd: &clap::Command, found: &mut Vec<String>) {
            let help = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
            for line in help.lines().map(str::trim).filter(|l| l.starts_with("stepkit ")) {
                found.push(line.split(" > ").next().unwrap().to_string());
            }
            cmd.get_subcommands().for_each(|sub| examples(sub, found));
        }
        let mut found = Vec::new();
        examples(&super::command(), &mut found);
        assert!(found.len() >= 8, "{found:?}");
        for example in found {
            let words = shlex::split(&example).unwrap();
            if let Err(e) = super::parse(words.iter().map(std::ffi::OsString::from)) {
                panic!("{example}: {e}");
            }
        }
    }
}
