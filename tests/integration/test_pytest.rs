//! `stepkit test` with real pytest on tests/fixtures/pytest.

use crate::support::{fixture, have_pytest, processes_running_each_test_once, stepkit, write};
use stepkit::junit::read_file;

#[test]
fn parallel_counts_equal_a_serial_run() {
    if !have_pytest() {
        return;
    }
    let dir = fixture("pytest");
    let out = tempfile::tempdir().unwrap();
    let serial = out.path().join("serial.xml");
    std::process::Command::new("python3")
        .args(["-m", "pytest", "-q"])
        .arg(format!("--junitxml={}", serial.display()))
        .current_dir(&dir)
        .output()
        .unwrap();
    let junit = out.path().join("merged.xml");
    stepkit()
        .current_dir(&dir)
        .args(["test", "--workers", "3", "--junit"])
        .args([&junit])
        .args(["--", "python3", "-m", "pytest"])
        .run()
        .expect_code(1);
    let (a, b) = (read_file(&junit).unwrap().counts(), read_file(&serial).unwrap().counts());
    assert_eq!((a.tests, a.failures, a.errors, a.skipped), (b.tests, b.failures, b.errors, b.skipped));
}

#[test]
fn a_crashing_interpreter_becomes_errors_naming_the_signal() {
    if !have_pytest() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("crash.xml");
    stepkit()
        .current_dir(fixture("pytest"))
        .args(["test", "--split", "file", "--junit"])
        .args([&junit])
        .args(["--", "python3", "-m", "pytest", "tests_broken/test_crash.py"])
        .run()
        .expect_code(1);
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("killed by signal 11 (SIGSEGV, a crash)"), "{text}");
    assert_eq!(read_file(&junit).unwrap().counts().tests, 3);
}

#[test]
fn retries_report_flaky_tests() {
    if !have_pytest() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran-once");
    write(dir.path(), "pytest.ini", "[pytest]\naddopts = -p no:cacheprovider\n");
    write(
        dir.path(),
        "test_flaky.py",
        format!("import os\n\ndef test_flaky():\n    if not os.path.exists({marker:?}):\n        open({marker:?}, 'w').close()\n        assert False, 'first attempt fails'\n\ndef test_stable():\n    pass\n"),
    );
    let junit = dir.path().join("out.xml");
    let run = stepkit()
        .current_dir(dir.path())
        .args([
            "--format",
            "json",
            "test",
            "--retries",
            "2",
            "--junit",
            "out.xml",
            "--",
            "python3",
            "-m",
            "pytest",
        ])
        .run()
        .expect_code(0);
    assert_eq!(run.json()["data"]["summary"]["flaky"][0], "test_flaky::test_flaky");
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("<flakyFailure") && text.contains("first attempt fails"), "{text}");

    std::fs::remove_file(&marker).unwrap();
    // --timings none: with the first run's timings the file would be split, and a split file that
    // fails is first run whole (order dependence), which is not what this checks.
    stepkit()
        .current_dir(dir.path())
        .args([
            "test",
            "--timings",
            "none",
            "--retries",
            "1",
            "--flaky-result",
            "fail",
            "--",
            "python3",
            "-m",
            "pytest",
        ])
        .run()
        .expect_code(1);
}

#[test]
fn a_first_run_joins_the_queued_batches_its_fast_tests_do_not_fill() {
    if !have_pytest() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ran.log");
    write(dir.path(), "pytest.ini", "[pytest]\naddopts = -p no:cacheprovider\n");
    write(
        dir.path(),
        "conftest.py",
        "import os\n\ndef pytest_runtest_logreport(report):\n    if report.when == 'call':\n        with open(os.environ['RAN_LOG'], 'a') as f:\n            f.write(f'{os.getpid()} {report.nodeid}\\n')\n",
    );
    for file in 0..10 {
        let tests: String = (0..30).map(|t| format!("def test_{t}():\n    assert {t} >= 0\n\n")).collect();
        write(dir.path(), &format!("tests/test_fast_{file}.py"), tests);
    }
    let junit = dir.path().join("merged.xml");
    let run = stepkit()
        .current_dir(dir.path())
        .env("RAN_LOG", &log)
        .args(["--format", "json", "test", "--workers", "2", "--timings", "none", "--junit"])
        .args([&junit])
        .args(["--", "python3", "-m", "pytest", "tests"])
        .run()
        .expect_code(0);
    let stderr = &run.stderr;
    let planned: usize = stderr
        .split_once(" batches on 2 workers")
        .and_then(|(before, _)| before.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("the plan's line: {stderr}"));
    let ran = run.json()["data"]["batches"].as_u64().unwrap() as usize;
    assert!(stderr.contains("the tests run faster than guessed"), "{stderr}");
    assert!(ran < planned, "{ran} batches ran of {planned} planned");
    assert!(stderr.contains(&format!("; {planned} planned batches ran as {ran})")), "{stderr}");
    assert_eq!(processes_running_each_test_once(&log, 300), ran, "one process per batch that ran");
    let counts = read_file(&junit).unwrap().counts();
    assert_eq!((counts.tests, counts.failures, counts.errors), (300, 0, 0));
}
