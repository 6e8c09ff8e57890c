//! `stepkit plugin` arguments: inspect a component, start a new plugin project.

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `stepkit plugin <inspect|new>`
#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The plugin subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a component's contract version, exports and the capabilities it imports, before granting it anything
    Inspect(InspectArgs),
    /// Create a ready-to-build plugin project
    New(NewArgs),
}

/// `stepkit plugin inspect FILE.wasm`
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 this stepkit can run it, 1 it cannot (wrong contract version, no check export), 2 not a component."
)]
pub struct InspectArgs {
    /// The plugin component
    #[arg(value_name = "FILE.wasm")]
    pub file: PathBuf,
}

/// `stepkit plugin new NAME --lang rust|python`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  stepkit plugin new coverage-gate --lang rust\n  stepkit plugin new lint --lang python --dir tools/lint"
)]
pub struct NewArgs {
    /// The plugin's name: lowercase letters, digits and `-`
    pub name: String,
    /// The plugin's language
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: LangArg,
    /// Where to create the project [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Depend on a local stepkit-plugin checkout (crates/stepkit-plugin) instead of the copy written to vendor/ (Rust)
    #[arg(long, value_name = "PATH")]
    pub sdk_path: Option<PathBuf>,
}

/// `--lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Rust,
    Python,
}
