//! `stepkit test --test-timeout` with real pytest, PHPUnit and go: the test that runs too long is an
//! error, its batch is stopped, and the tests after it still run.

use crate::support::{have_pytest, require_tool, stepkit, write};
use std::time::{Duration, Instant};
use stepkit::junit::{read_file, Status};

fn statuses(path: &std::path::Path) -> Vec<(String, Status)> {
    let mut out = Vec::new();
    read_file(path).unwrap().walk(|_, c| out.push((c.name.to_string(), c.status)));
    out.sort();
    out
}

/// Runs `args` (stepkit test options and CMD, with a 2 s --test-timeout) in `dir`: it ends well
/// before the hanging test would, exit 1, and the merged report says which test timed out.
fn run_hanging(
    dir: &std::path::Path,
    args: &[&str],
    within: Duration,
) -> (crate::support::Run, std::path::PathBuf) {
    let started = Instant::now();
    let run = stepkit()
        .current_dir(dir)
        .args([
            "--format",
            "json",
            "test",
            "--workers",
            "1",
            "--split",
            "file",
            "--test-timeout",
            "2s",
            "--junit",
            "out.xml",
        ])
        .args(args)
        .kill_after(within * 2)
        .run()
        .expect_code(1);
    assert!(started.elapsed() < within, "the hang did not hold the run: {:?}", started.elapsed());
    let junit = dir.join("out.xml");
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("timed out after 2s (--test-timeout)"), "{text}");
    (run, junit)
}

#[test]
fn pytest_a_hanging_test_is_an_error_and_the_rest_of_its_batch_runs() {
    if !have_pytest() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "test_hang.py", "import time\n\ndef test_first():\n    pass\n\ndef test_hangs():\n    time.sleep(300)\n\ndef test_after():\n    pass\n\ndef test_fails_after():\n    assert False\n");
    let (run, junit) = run_hanging(dir.path(), &["--", "python3", "-m", "pytest"], Duration::from_secs(60));
    assert_eq!(
        statuses(&junit),
        [
            ("test_after".to_string(), Status::Passed),
            ("test_fails_after".to_string(), Status::Failed),
            ("test_first".to_string(), Status::Passed),
            ("test_hangs".to_string(), Status::Errored)
        ]
    );
    assert_eq!(run.json()["data"]["test_timeout_seconds"], 2.0);
    assert!(run.stderr.contains("running 2 test(s) again"), "{}", run.stderr);
}

#[test]
fn phpunit_a_hanging_test_is_an_error_and_the_rest_of_its_batch_runs() {
    if !require_tool("phpunit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "phpunit.xml",
        r#"<phpunit cacheResult="false"><testsuites><testsuite name="t"><directory>tests</directory></testsuite></testsuites></phpunit>"#,
    );
    write(
        dir.path(),
        "tests/HangTest.php",
        "<?php\nuse PHPUnit\\Framework\\TestCase;\n\nfinal class HangTest extends TestCase\n{\n    public function testFirst(): void { $this->assertTrue(true); }\n    public function testHangs(): void { sleep(300); }\n    public function testAfter(): void { $this->assertTrue(true); }\n}\n",
    );
    let (_, junit) = run_hanging(dir.path(), &["--", "phpunit"], Duration::from_secs(60));
    assert_eq!(
        statuses(&junit),
        [
            ("testAfter".to_string(), Status::Passed),
            ("testFirst".to_string(), Status::Passed),
            ("testHangs".to_string(), Status::Errored)
        ]
    );
}

#[test]
fn go_a_hanging_test_is_an_error_and_the_rest_of_its_package_runs() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go.mod", "module example.com/hang\n\ngo 1.19\n");
    write(
        dir.path(),
        "hang/hang_test.go",
        "package hang\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestFirst(t *testing.T) {}\n\nfunc TestHangs(t *testing.T) { time.Sleep(300 * time.Second) }\n\nfunc TestAfter(t *testing.T) {}\n",
    );
    // Compiling the test binary (twice: the re-queued test runs in a new batch) counts too.
    let (_, junit) = run_hanging(dir.path(), &["--", "go", "test", "./..."], Duration::from_secs(180));
    assert_eq!(
        statuses(&junit),
        [
            ("TestAfter".to_string(), Status::Passed),
            ("TestFirst".to_string(), Status::Passed),
            ("TestHangs".to_string(), Status::Errored)
        ]
    );
}

#[test]
fn the_command_preset_cannot_time_single_tests() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t/a.sh", "exit 0\n");
    let run = stepkit()
        .current_dir(dir.path())
        .args(["test", "--test-timeout", "5s", "--files", "t/*.sh", "--", "sh", "{files}"])
        .run()
        .expect_code(2);
    assert!(run.stderr.contains("--test-timeout") && run.stderr.contains("command preset"), "{}", run.stderr);
}
