//! flag > STEPKIT_* env var > stepkit.toml > default, end to end; config errors name file, key and line.

use crate::support::{corpus, stepkit, write};

fn report() -> std::path::PathBuf {
    corpus().join("dorny-test-reporter/python-xunit-pytest.xml")
}

fn slowest_count(run: &crate::support::Run) -> usize {
    run.json()["data"]["summary"]["slowest"].as_array().unwrap().len()
}

#[test]
fn precedence_of_flag_env_file_default() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stepkit.toml", "[output]\nformat = \"json\"\n\n[junit]\nslowest = 2\n");
    let base = || stepkit().current_dir(dir.path()).args(["junit", "summary"]).args([report()]);
    assert_eq!(slowest_count(&base().run()), 2, "file");
    assert_eq!(slowest_count(&base().env("STEPKIT_JUNIT_SLOWEST", "3").run()), 3, "env beats file");
    assert_eq!(
        slowest_count(&base().env("STEPKIT_JUNIT_SLOWEST", "3").args(["--slowest", "4"]).run()),
        4,
        "flag beats env"
    );
    assert_eq!(
        slowest_count(&base().env("STEPKIT_JUNIT_SLOWEST", "").run()),
        2,
        "empty env var counts as unset"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let run = stepkit()
        .current_dir(elsewhere.path())
        .args(["--format", "json", "junit", "summary"])
        .args([report()])
        .run();
    assert_eq!(slowest_count(&run), 10, "default");
}

#[test]
fn unknown_key_names_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stepkit.toml", "[junit]\nslowest = 2\nprofle = \"gitlab\"\n");
    let run = stepkit().current_dir(dir.path()).args(["junit", "summary"]).args([report()]).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("stepkit.toml") && run.stderr.contains("profle") && run.stderr.contains("line 3"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_env_value_names_the_variable() {
    let run =
        stepkit().env("STEPKIT_JUNIT_SLOWEST", "many").args(["junit", "summary"]).args([report()]).run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("STEPKIT_JUNIT_SLOWEST") && run.stderr.contains("many"), "{}", run.stderr);
}

#[test]
fn explicit_config_via_env_must_exist() {
    let run = stepkit()
        .env("STEPKIT_CONFIG", "/nonexistent/stepkit.toml")
        .args(["junit", "summary"])
        .args([report()])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/nonexistent/stepkit.toml"), "{}", run.stderr);
}

#[test]
fn result_file_from_config_is_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ci/stepkit.toml", "[output]\nresult-file = \"out/result.json\"\n");
    stepkit()
        .args(["--config"])
        .args([dir.path().join("ci/stepkit.toml")])
        .args(["junit", "summary", "--no-fail"])
        .args([report()])
        .run()
        .expect_code(0);
    assert!(dir.path().join("ci/out/result.json").is_file());
}

#[test]
fn test_settings_name_where_a_bad_value_came_from_and_resolve_file_paths_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // A duration from the environment: the error names the variable, not a flag nobody gave.
    let run = stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_TEST_TIMEOUT", "soon")
        .args(["test", "--", "true"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("STEPKIT_TEST_TIMEOUT")
            && run.stderr.contains("soon")
            && !run.stderr.contains("--timeout"),
        "{}",
        run.stderr
    );
    // A --files pattern glob cannot read is a usage error (exit 2), as docs/exit-codes.md says.
    let run = stepkit()
        .current_dir(dir.path())
        .args(["test", "--preset", "command", "--files", "[", "--", "echo", "{files}"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--files") && run.stderr.contains('['), "{}", run.stderr);
    // `[test] junit` in a stepkit.toml elsewhere is relative to that file, not to the cwd.
    write(dir.path(), "ci/stepkit.toml", "[test]\njunit = \"out/junit.xml\"\n");
    write(dir.path(), "t/a.sh", "");
    stepkit()
        .current_dir(dir.path())
        .args([
            "--config",
            "ci/stepkit.toml",
            "test",
            "--preset",
            "command",
            "--files",
            "t/*.sh",
            "--",
            "sh",
            "-c",
            "printf '<testsuite name=\"s\"><testcase name=\"a\"/></testsuite>' > \"$0\"",
            "{junit}",
            "{files}",
        ])
        .run()
        .expect_code(0);
    assert!(dir.path().join("ci/out/junit.xml").is_file(), "the merged report goes next to the config file");
    assert!(!dir.path().join("out/junit.xml").exists());
}
