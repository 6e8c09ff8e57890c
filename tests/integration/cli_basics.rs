//! The binary's surface: help, version, completions, man, usage errors, exit codes.

use crate::support::stepkit;

#[test]
fn help_and_version() {
    let run = stepkit().args(["--help"]).run().expect_code(0);
    assert!(run.stdout.contains("junit"));
    let run = stepkit().args(["--version"]).run().expect_code(0);
    assert!(run.stdout.starts_with("stepkit "));
}

#[test]
fn usage_error_exits_2() {
    let run = stepkit().args(["junit", "merge", "a.xml"]).run();
    assert_eq!(run.code, 2, "missing -o is a usage error");
    assert!(run.stderr.contains("--output"), "{}", run.stderr);
    let run = stepkit().args(["junit", "merge", "a.xml", "-o", "x.xml", "--profile", "nope"]).run();
    assert_eq!(run.code, 2);
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = stepkit().args(["completions", shell]).run().expect_code(0);
        assert!(run.stdout.contains("junit"), "{shell} completions mention subcommands");
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
    }
    let run = stepkit().args(["--format", "json", "completions", "bash"]).run().expect_code(0);
    assert!(run.json()["data"]["script"].as_str().unwrap().contains("stepkit"));
}

#[test]
fn man_page_to_stdout_and_to_a_directory() {
    let run = stepkit().args(["man"]).run().expect_code(0);
    assert!(run.stdout.contains(".TH stepkit"), "{}", &run.stdout[..run.stdout.len().min(200)]);
    let dir = tempfile::tempdir().unwrap();
    let run = stepkit().args(["--format", "json", "man", "--output"]).args([dir.path()]).run().expect_code(0);
    let pages = run.json()["data"]["pages"].as_array().unwrap().len();
    assert!(pages >= 3, "one page per command: {pages}");
    assert!(dir.path().join("stepkit-junit-merge.1").is_file());
}

#[test]
fn json_error_goes_to_stdout_with_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.xml"), "<testsuite name='s'><testcase name='t'/></testsuite>").unwrap();
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "junit", "merge", "a.xml", "-o", "blocker/x.xml"])
        .run();
    assert_eq!(run.code, 3);
    let json = run.json();
    assert_eq!(json["verdict"], "error");
    assert_eq!(json["exit_code"], 3);
    assert!(json["error"].as_str().unwrap().contains("blocker/x.xml"));
}

#[test]
fn color_follows_flag_and_no_color() {
    let corpus = crate::support::corpus().join("dorny-test-reporter/swift-xunit.xml");
    let run = stepkit().args(["--color", "always", "junit", "summary"]).args([&corpus]).run().expect_code(1);
    assert!(run.stderr.contains("\u{1b}["), "colour forced on");
    let run = stepkit().env("NO_COLOR", "1").args(["junit", "summary"]).args([&corpus]).run().expect_code(1);
    assert!(!run.stderr.contains("\u{1b}["), "NO_COLOR honoured");
    let run = stepkit()
        .env("NO_COLOR", "1")
        .args(["--color", "always", "junit", "summary"])
        .args([&corpus])
        .run()
        .expect_code(1);
    assert!(run.stderr.contains("\u{1b}["), "the flag beats NO_COLOR");
}
