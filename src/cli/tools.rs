//! `stepkit completions` and `stepkit man` arguments.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `stepkit completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells clap_complete supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// `stepkit man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write stepkit.1 and one page per subcommand into DIR instead of printing stepkit.1
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}
