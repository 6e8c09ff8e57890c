//! stepkit's integration tests: one binary that runs the real `stepkit` executable.

mod support;

mod check;
mod check_examples;
mod check_limits;
mod check_scaffold;
mod cli_basics;
mod config_layering;
mod deploy;
mod gate;
mod github_actions;
mod image;
mod junit_bad_input;
mod junit_corpus;
mod junit_merge;
mod junit_summary;
mod test_go;
mod test_phpunit;
mod test_pytest;
mod test_runner;
