//! stepkit's integration tests: one binary that runs the real `stepkit` executable.

mod support;

mod check;
mod check_examples;
mod check_grants;
mod check_hostile;
mod check_limits;
mod check_scaffold;
mod cli_basics;
mod config_layering;
mod deploy;
mod deploy_signals;
mod gate;
mod github_actions;
mod github_api;
mod hostile;
mod image;
mod junit_bad_input;
mod junit_corpus;
mod junit_counting;
mod junit_dialect_rules;
mod junit_dialects;
mod junit_merge;
mod junit_runs;
mod junit_summary;
mod load;
mod notify;
mod test_auto_timings;
mod test_coverage;
mod test_go;
mod test_only_failed;
mod test_phpunit;
mod test_pytest;
mod test_runner;
mod test_scope;
mod test_test_timeout;
