//! `stepkit test --only-failed REPORT` with real pytest and PHPUnit: only the failed tests run again.

use crate::support::{fixture, have_pytest, require_tool, stepkit, write};
use stepkit::junit::{read_file, Status};

/// Tests that append their name to ran.log, so a test can see exactly what ran.
fn pytest_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ran.log");
    let note =
        format!("def note(name):\n    with open({log:?}, 'a') as f:\n        f.write(name + '\\n')\n\n");
    write(dir.path(), "tests/__init__.py", "");
    write(
        dir.path(),
        "tests/test_a.py",
        format!(
            "import pytest\n{note}@pytest.fixture\ndef broken():\n    raise RuntimeError('fixture broke')\n\ndef test_pass():\n    note('test_pass')\n\ndef test_fail():\n    note('test_fail')\n    assert False, 'fails'\n\ndef test_err(broken):\n    note('test_err')\n\n@pytest.mark.parametrize('n', [1, 2])\ndef test_param(n):\n    note(f'test_param[{{n}}]')\n    assert n == 1\n"
        ),
    );
    write(dir.path(), "tests/test_b.py", format!("{note}def test_ok():\n    note('test_ok')\n"));
    dir
}

fn ran(dir: &std::path::Path) -> Vec<String> {
    let mut lines: Vec<String> =
        std::fs::read_to_string(dir.join("ran.log")).unwrap_or_default().lines().map(String::from).collect();
    lines.sort();
    let _ = std::fs::remove_file(dir.join("ran.log"));
    lines
}

#[test]
fn pytest_reruns_only_failures_and_errors() {
    if !have_pytest() {
        return;
    }
    let project = pytest_project();
    let dir = project.path();
    // Whole files, so no split file is rerun whole to check for order dependence and each test runs once.
    stepkit()
        .current_dir(dir)
        .args([
            "test",
            "--workers",
            "2",
            "--split",
            "file",
            "--junit",
            "last.xml",
            "--",
            "python3",
            "-m",
            "pytest",
        ])
        .run()
        .expect_code(1);
    assert_eq!(ran(dir).len(), 5, "the first run runs everything (test_err never reaches its body)");

    // A report straight from pytest works as well as stepkit's merged one.
    std::process::Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=pytest.xml"])
        .current_dir(dir)
        .output()
        .unwrap();
    let _ = ran(dir);
    for report in ["last.xml", "pytest.xml"] {
        let run = stepkit()
            .current_dir(dir)
            .args([
                "--format",
                "json",
                "test",
                "--workers",
                "2",
                "--only-failed",
                report,
                "--junit",
                "rerun.xml",
                "--",
                "python3",
                "-m",
                "pytest",
            ])
            .run()
            .expect_code(1);
        assert_eq!(
            ran(dir),
            ["test_fail", "test_param[2]"],
            "only the failed tests ran (test_err errors in its fixture) with {report}"
        );
        let mut statuses = Vec::new();
        read_file(&dir.join("rerun.xml")).unwrap().walk(|_, c| statuses.push((c.name.to_string(), c.status)));
        statuses.sort();
        assert_eq!(
            statuses,
            [
                ("test_err".to_string(), Status::Errored),
                ("test_fail".to_string(), Status::Failed),
                ("test_param[2]".to_string(), Status::Failed)
            ]
        );
        assert_eq!(run.json()["data"]["only_failed"]["failed"], 3);
    }

    // From here on: a plain `--only-failed REPORT` run, expecting its exit code.
    let only_failed = |report: &str, code: i32| {
        stepkit()
            .current_dir(dir)
            .args(["test", "--only-failed", report, "--", "python3", "-m", "pytest"])
            .run()
            .expect_code(code)
    };

    // A failed test that no longer exists is named in a warning; the rest still rerun.
    let source = std::fs::read_to_string(dir.join("tests/test_a.py")).unwrap();
    std::fs::write(dir.join("tests/test_a.py"), source.replace("def test_fail()", "def test_renamed()"))
        .unwrap();
    let run = only_failed("last.xml", 1);
    assert!(
        run.stderr.contains("not listed any more") && run.stderr.contains("tests.test_a::test_fail"),
        "{}",
        run.stderr
    );
    assert_eq!(ran(dir), ["test_param[2]"]);

    // Nothing failed: said so, exit 0, nothing runs (not even the listing).
    write(
        dir,
        "green.xml",
        r#"<testsuite name="s"><testcase classname="tests.test_b" name="test_ok"/></testsuite>"#,
    );
    let run = only_failed("green.xml", 0);
    assert!(run.stderr.contains("no test failed in green.xml"), "{}", run.stderr);
    assert!(ran(dir).is_empty());

    // Every failed test is gone: nothing ran (exit 4), with the warning.
    write(
        dir,
        "gone.xml",
        r#"<testsuite name="s"><testcase classname="tests.test_gone" name="test_x"><failure/></testcase></testsuite>"#,
    );
    let run = only_failed("gone.xml", 4);
    assert!(run.stderr.contains("tests.test_gone::test_x"), "{}", run.stderr);

    let run = only_failed("missing.xml", 2);
    assert!(run.stderr.contains("--only-failed") && run.stderr.contains("missing.xml"), "{}", run.stderr);
}

#[test]
fn phpunit_reruns_only_the_failed_tests() {
    if !require_tool("phpunit") {
        return;
    }
    let dir = fixture("phpunit");
    let out = tempfile::tempdir().unwrap();
    let last = out.path().join("phpunit.xml");
    // PHPUnit's own report: classes as `Fixtures\FailingTest`, absolute file paths.
    std::process::Command::new("phpunit").arg("--log-junit").arg(&last).current_dir(&dir).output().unwrap();
    let failed_before = read_file(&last).unwrap().counts().failures;
    assert_eq!(failed_before, 2);
    let rerun = out.path().join("rerun.xml");
    let run = stepkit()
        .current_dir(&dir)
        .args(["--format", "json", "test", "--timings", "none", "--only-failed"])
        .args([&last])
        .args(["--junit"])
        .args([&rerun])
        .args(["--", "phpunit"])
        .run()
        .expect_code(1);
    let counts = read_file(&rerun).unwrap().counts();
    assert_eq!((counts.tests, counts.failures), (2, 2), "only the two failed tests ran: {}", run.stderr);
    let mut names = Vec::new();
    read_file(&rerun).unwrap().walk(|_, c| names.push(c.name.to_string()));
    names.sort();
    assert_eq!(names, ["testAdd with data set #1", "testFails"], "a data set reruns alone");

    // stepkit's own merged report maps back the same way.
    let merged = out.path().join("merged.xml");
    stepkit()
        .current_dir(&dir)
        .args(["test", "--timings", "none", "--junit"])
        .args([&merged])
        .args(["--", "phpunit"])
        .run()
        .expect_code(1);
    let again = out.path().join("again.xml");
    stepkit()
        .current_dir(&dir)
        .args(["test", "--timings", "none", "--only-failed"])
        .args([&merged])
        .args(["--junit"])
        .args([&again])
        .args(["--", "phpunit"])
        .run()
        .expect_code(1);
    assert_eq!(read_file(&again).unwrap().counts().tests, 2);
}
