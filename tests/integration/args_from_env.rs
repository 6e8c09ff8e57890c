//! `--args-from-env VAR`: the real binary splits its own arguments with shell quoting, runs nothing.

use crate::support::{stepkit, write};

const CASE: &str = "<testsuite name='s'><testcase name='t'/></testsuite>";

#[test]
fn quoted_arguments_stay_whole_and_nothing_is_executed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a b\nc.xml", CASE);
    write(dir.path(), "$(touch pwned).xml", CASE);
    let run = stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_ARGS", "--format json junit summary 'a b\nc.xml' \"$(touch pwned).xml\" # a comment")
        .args(["--args-from-env", "STEPKIT_ARGS"])
        .run()
        .expect_code(0);
    let json = run.json();
    assert_eq!(json["command"], "junit summary", "{json}");
    assert_eq!(json["data"]["files"], serde_json::json!(["a b\nc.xml", "$(touch pwned).xml"]), "{json}");
    assert!(!dir.path().join("pwned").exists(), "a command substitution ran");
}

#[test]
fn unbalanced_quotes_are_a_usage_error_naming_the_variable() {
    let run =
        stepkit().env("MY_ARGS", "junit summary 'reports/*.xml").args(["--args-from-env", "MY_ARGS"]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--args-from-env MY_ARGS: unbalanced quote"), "{}", run.stderr);
    let run = stepkit().env_remove("MY_ARGS").args(["--args-from-env=MY_ARGS"]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("MY_ARGS: the variable is unset or empty"), "{}", run.stderr);
}

#[test]
fn after_the_subcommand_it_is_rejected_by_the_parser() {
    let run = stepkit().env("MY_ARGS", "x").args(["junit", "summary", "--args-from-env", "MY_ARGS"]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--args-from-env"), "{}", run.stderr);
}
