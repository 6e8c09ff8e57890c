//! `stepkit coverage merge` arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `stepkit coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    #[command(subcommand)]
    pub command: CoverageCommand,
}

/// `stepkit coverage <command>`.
#[derive(Debug, Subcommand)]
pub enum CoverageCommand {
    /// Merge coverage reports (Cobertura, Clover, lcov, Go cover profiles) into one: hits summed, branches kept
    #[command(
        after_help = "Examples:\n  stepkit coverage merge 'shard-*/coverage.xml' -o coverage.xml\n  stepkit coverage merge cover-1.out cover-2.out -o merged.xml --to clover"
    )]
    Merge(CoverageMergeArgs),
}

/// `stepkit coverage merge`.
#[derive(Debug, Args)]
pub struct CoverageMergeArgs {
    /// Report files or glob patterns (quote globs); the format of each is detected
    #[arg(required = true, value_name = "FILE|GLOB")]
    pub inputs: Vec<String>,
    /// Where to write the merged report
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Output format (`--format` is the global text|json|markdown) [env: STEPKIT_COVERAGE_FORMAT] [default: lcov for *.info/*.lcov, else cobertura]
    #[arg(long = "to", value_name = "FORMAT", value_parser = ["cobertura", "clover", "lcov"])]
    pub to: Option<String>,
    /// Make report paths relative to this directory [default: the working directory]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}
