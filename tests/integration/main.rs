//! stepkit's integration tests: one binary that runs the real `stepkit` executable.

mod support;

mod check;
mod check_examples;
mod check_limits;
mod check_scaffold;
mod cli_basics;
mod config_layering;
mod deploy;
mod deploy_signals;
mod gate;
mod github_actions;
mod github_api;
mod image;
mod junit_bad_input;
mod junit_corpus;
mod junit_merge;
mod junit_summary;
mod notify;
mod test_go;
mod test_phpunit;
mod test_pytest;
mod test_runner;
mod test_scope;
