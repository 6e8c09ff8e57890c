//! `stepkit check` arguments.

use clap::Args;
use std::path::PathBuf;

/// `stepkit check [--plugin FILE.wasm]... [grants] [limits]`
#[derive(Debug, Args)]
#[command(after_help = "Without --plugin, the [[check]] tables of stepkit.toml run (each with its own grants).\n\
A plugin gets nothing it is not granted: no files, no network, no environment.\n\
Exit codes: 0 every check passed, warned or skipped; 1 a check failed, errored or misbehaved (or warned, with --strict); 2 usage.\n\n\
Examples:\n  stepkit check --plugin coverage.wasm --allow-read . --set min=80\n  \
stepkit check --plugin status.wasm --allow-host api.example.com --allow-env API_TOKEN --timeout 10s\n  \
stepkit check --strict          # the [[check]] tables of ./stepkit.toml")]
pub struct CheckArgs {
    /// A plugin component to run (repeatable); the grants and limits below apply to each
    #[arg(long, value_name = "FILE.wasm")]
    pub plugin: Vec<PathBuf>,
    /// Let the plugins read this directory, read-only (repeatable)
    #[arg(long, value_name = "DIR", help_heading = "Grants")]
    pub allow_read: Vec<PathBuf>,
    /// Let the plugins send HTTP requests to this host: api.example.com, *.example.com, 127.0.0.1:8080 (repeatable)
    #[arg(long, value_name = "HOST", help_heading = "Grants")]
    pub allow_host: Vec<String>,
    /// Pass this environment variable to the plugins (repeatable)
    #[arg(long, value_name = "NAME", help_heading = "Grants")]
    pub allow_env: Vec<String>,
    /// A config value for the plugins, K=V (repeatable, kept in order). (`--config` is stepkit's own config file.)
    #[arg(long = "set", value_name = "K=V", help_heading = "Grants")]
    pub set: Vec<String>,
    /// CPU/wall time per plugin, host calls included [default: 30s]
    #[arg(long, value_name = "DURATION", help_heading = "Limits")]
    pub timeout: Option<String>,
    /// Memory per plugin, e.g. 128MiB [default: 256MiB]
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub memory: Option<String>,
    /// Warn verdicts fail the step too [env: STEPKIT_CHECK_STRICT]
    #[arg(long)]
    pub strict: bool,
    /// Plugins run at the same time [default: the number of CPUs]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// A file listing the changed files (one path per line, relative to the workspace), passed to the plugins
    #[arg(long, value_name = "FILE", conflicts_with = "changed_since")]
    pub changed_files: Option<PathBuf>,
    /// The changed files are those git sees between REF and HEAD (`git diff --name-only REF...HEAD`), e.g. origin/main [env: STEPKIT_CHECK_CHANGED_SINCE]
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
}
