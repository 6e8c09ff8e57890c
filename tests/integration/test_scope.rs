//! `stepkit test` with test-selecting arguments in CMD (paths, node ids, -k/-m, --testsuite,
//! --group, package patterns), with the real tools: every selected test runs exactly once, the
//! same tests as a serial run of the same command, and nothing listed is dropped.

use crate::support::{fixture, have_pytest, require_tool, stepkit, write};
use std::collections::BTreeMap;
use std::path::Path;
use stepkit::junit::{read_file, Status};

/// How often each test ran, from the fixture's $SCOPE_LOG (one line per execution).
fn executions(log: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines().filter(|l| !l.is_empty()) {
        *out.entry(line.to_string()).or_insert(0) += 1;
    }
    out
}

/// Runs `cmd` serially in `dir` and returns what ran.
fn serial(dir: &Path, cmd: &[&str]) -> BTreeMap<String, usize> {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("serial.log");
    std::process::Command::new(cmd[0])
        .args(&cmd[1..])
        .env("SCOPE_LOG", &log)
        .current_dir(dir)
        .output()
        .unwrap();
    executions(&log)
}

/// Runs `stepkit test` over `cmd` in `dir` and returns what ran, the exit code and the JSON.
fn parallel(
    dir: &Path,
    split: &str,
    cmd: &[&str],
) -> (BTreeMap<String, usize>, serde_json::Value, stepkit::junit::Counts) {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("parallel.log");
    let junit = out.path().join("merged.xml");
    let run = stepkit()
        .current_dir(dir)
        .env("SCOPE_LOG", &log)
        .args(["--format", "json", "test", "--workers", "2", "--split", split, "--junit"])
        .args([&junit])
        .args(["--"])
        .args(cmd)
        .run()
        .expect_code(0);
    (executions(&log), run.json(), read_file(&junit).unwrap().counts())
}

/// Every test of a serial run ran exactly once under stepkit, and no batch reported a test
/// outside its selection.
fn assert_same_as_serial(dir: &Path, cmd: &[&str], expected_tests: usize) {
    let serial = serial(dir, cmd);
    assert_eq!(serial.len(), expected_tests, "the serial run of {cmd:?} ran {serial:?}");
    for split in ["case", "file"] {
        let (ran, json, counts) = parallel(dir, split, cmd);
        assert_eq!(
            ran, serial,
            "--split {split} -- {cmd:?}: each selected test once, the same tests as a serial run"
        );
        assert_eq!(counts.tests, expected_tests as u64, "--split {split} -- {cmd:?}: the merged report");
        let warnings = json["warnings"].to_string();
        assert!(!warnings.contains("planning error"), "{warnings}");
    }
}

#[test]
fn phpunit_path_suite_and_group_arguments_run_each_test_once() {
    if !require_tool("phpunit") {
        return;
    }
    let dir = fixture("phpunit-scope");
    assert_same_as_serial(&dir, &["phpunit"], 9);
    assert_same_as_serial(&dir, &["phpunit", "tests"], 9);
    assert_same_as_serial(&dir, &["phpunit", "tests/Unit"], 7);
    assert_same_as_serial(&dir, &["phpunit", "--testsuite", "unit"], 7);
    assert_same_as_serial(&dir, &["phpunit", "-c", "phpunit.xml", "tests/Feature"], 2);
    assert_same_as_serial(&dir, &["phpunit", "--group", "slow", "tests"], 2);
    assert_same_as_serial(&dir, &["phpunit", "--exclude-group=slow", "--testsuite", "unit"], 5);
}

#[test]
fn phpunit_class_declared_on_the_open_tag_line_is_mapped() {
    if !require_tool("phpunit") {
        return;
    }
    // `<?php use ...; final class OneLineTest extends TestCase {` on one line.
    let dir = fixture("phpunit-scope");
    let (ran, _, counts) = parallel(&dir, "case", &["phpunit", "tests/Unit/OneLineTest.php"]);
    assert_eq!(counts.tests, 3);
    assert_eq!(
        ran.keys().collect::<Vec<_>>(),
        ["OneLineTest::testA", "OneLineTest::testB", "OneLineTest::testC"]
    );
}

#[test]
fn phpunit_listed_tests_without_a_file_are_errors_naming_why() {
    if !require_tool("phpunit") {
        return;
    }
    // The aggregate's suite() runs a class from outside every test suite: PHPUnit lists it, no
    // file stepkit was given declares it. Not "found no tests" (exit 4): an error case per test.
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("hidden.xml");
    let run = stepkit()
        .current_dir(fixture("phpunit-scope"))
        .args(["--format", "json", "test", "--junit"])
        .args([&junit])
        .args(["--", "phpunit", "--testsuite", "hidden"])
        .run()
        .expect_code(1);
    let mut cases = Vec::new();
    read_file(&junit).unwrap().walk(|_, c| {
        cases.push((c.classname.as_deref().unwrap_or_default().to_string(), c.name.to_string(), c.status))
    });
    assert_eq!(cases, [("OutsideTest".to_string(), "testElsewhere".to_string(), Status::Errored)]);
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("PHPUnit listed class OutsideTest, but no test file it was given"), "{text}");
    assert!(run.json()["warnings"].to_string().contains("could not be given to any batch"), "{}", run.stdout);
}

#[test]
fn phpunit_filter_in_cmd_is_a_usage_error() {
    if !require_tool("phpunit") {
        return;
    }
    let run = stepkit()
        .current_dir(fixture("phpunit-scope"))
        .args(["test", "--", "phpunit", "--filter", "testOne"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("`--filter` in CMD"), "{}", run.stderr);
}

#[test]
fn pytest_directories_node_ids_and_k_m_run_each_test_once() {
    if !have_pytest() {
        return;
    }
    let dir = fixture("pytest-scope");
    let py = ["python3", "-m", "pytest"];
    let with = |args: &[&'static str]| py.iter().copied().chain(args.iter().copied()).collect::<Vec<&str>>();
    assert_same_as_serial(&dir, &with(&[]), 11);
    assert_same_as_serial(&dir, &with(&["tests/"]), 11);
    assert_same_as_serial(&dir, &with(&["tests/unit", "tests/api", "-k", "not slow", "-m", "not db"]), 6);
    // The node id selects part of a file: whole-file batches must name its tests, not the file.
    assert_same_as_serial(&dir, &with(&["tests/unit/test_a.py::TestA"]), 2);
    // `-k tests`: a value that is also a directory name; only the last `tests` is a path.
    assert_same_as_serial(&dir, &with(&["-k", "tests", "tests"]), 11);
    assert_same_as_serial(&dir, &with(&["-k", "TestB or elsewhere", "tests"]), 3);
    assert_same_as_serial(&dir, &with(&["-k", "api", "tests"]), 5);
}

#[test]
fn pytest_a_batch_running_tests_it_was_not_given_is_a_planning_error() {
    if !have_pytest() {
        return;
    }
    // A path in addopts is repeated by every batch and cannot be taken out of CMD: the api
    // batches also run tests/other. The guard reports it instead of folding the duplicates.
    let dir = tempfile::tempdir().unwrap();
    let from = fixture("pytest-scope");
    for f in ["conftest.py", "tests/unit/test_a.py", "tests/api/test_api.py", "tests/other/test_other.py"] {
        write(dir.path(), f, std::fs::read(from.join(f)).unwrap());
    }
    write(
        dir.path(),
        "pytest.ini",
        "[pytest]\naddopts = -p no:cacheprovider tests/other\nmarkers =\n    slow: slow\n    db: db\n",
    );
    let junit = dir.path().join("out.xml");
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "test", "--workers", "2", "--split", "file", "--junit"])
        .args([&junit])
        .args(["--", "python3", "-m", "pytest", "tests/api"])
        .run()
        .expect_code(1);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("planning error"), "{warnings}\n{}", run.stderr);
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(text.contains("ran tests outside its selection") && text.contains("test_elsewhere"), "{text}");
}

#[test]
fn pytest_files_skipped_while_collected_are_reported_skipped_as_pytest_does() {
    if !have_pytest() {
        return;
    }
    // A module-level skip and an importorskip list no node id, yet pytest's own run reports each
    // as a skipped case: the merged report must count them too.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tests/test_run.py",
        "def test_one():\n    pass\n\ndef test_two():\n    assert False\n",
    );
    write(dir.path(), "tests/test_skipped.py", "import pytest\npytest.skip('needs a database', allow_module_level=True)\n\ndef test_never():\n    pass\n");
    write(
        dir.path(),
        "tests/test_optional.py",
        "import pytest\npytest.importorskip('stepkit_no_such_module')\n\ndef test_never():\n    pass\n",
    );
    let serial_junit = dir.path().join("serial.xml");
    std::process::Command::new("python3")
        .args(["-m", "pytest", "-p", "no:cacheprovider", "tests"])
        .arg(format!("--junitxml={}", serial_junit.display()))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let serial = read_file(&serial_junit).unwrap().counts();
    assert_eq!((serial.tests, serial.failures, serial.skipped), (4, 1, 2), "pytest's own report");
    let junit = dir.path().join("merged.xml");
    let run = stepkit()
        .current_dir(dir.path())
        .args(["test", "--workers", "2", "--junit"])
        .args([&junit])
        .args(["--", "python3", "-m", "pytest", "-p", "no:cacheprovider", "tests"])
        .run()
        .expect_code(1);
    let counts = read_file(&junit).unwrap().counts();
    assert_eq!(
        (counts.tests, counts.failures, counts.skipped),
        (serial.tests, serial.failures, serial.skipped),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(
        text.contains("needs a database")
            && text.contains("tests.test_skipped")
            && text.contains("tests.test_optional"),
        "{text}"
    );
}

#[test]
fn go_package_patterns_run_each_test_once() {
    if !require_tool("go") {
        return;
    }
    let dir = fixture("go");
    let out = tempfile::tempdir().unwrap();
    let serial_json = std::process::Command::new("go")
        .args(["test", "-json", "-count=1", "./calc/..."])
        .current_dir(&dir)
        .output()
        .unwrap()
        .stdout;
    let serial = stepkit::junit::from_go_test_json(&String::from_utf8_lossy(&serial_json)).counts();
    for (split, cmd) in [
        ("case", vec!["go", "test", "-count=1", "./calc/..."]),
        ("file", vec!["go", "test", "./calc/...", "-count", "1"]),
    ] {
        let junit = out.path().join(format!("{split}.xml"));
        let run = stepkit()
            .current_dir(&dir)
            .args(["--format", "json", "test", "--workers", "2", "--split", split, "--junit"])
            .args([&junit])
            .args(["--"])
            .args(&cmd)
            .run()
            .expect_code(1);
        let counts = read_file(&junit).unwrap().counts();
        assert_eq!(
            (counts.tests, counts.failures, counts.skipped),
            (serial.tests, serial.failures, serial.skipped),
            "{cmd:?} --split {split}"
        );
        assert!(!run.json()["warnings"].to_string().contains("planning error"), "{}", run.stdout);
    }
    // -run selects, down to subtests: TestAdd, and TestTable with only its subtest `one`.
    let junit = out.path().join("run.xml");
    stepkit()
        .current_dir(&dir)
        .args(["test", "--split", "case", "--junit"])
        .args([&junit])
        .args(["--", "go", "test", "-run", "TestAdd$|TestTable/^one$", "./..."])
        .run()
        .expect_code(0);
    let mut names = Vec::new();
    read_file(&junit).unwrap().walk(|_, c| names.push(c.name.to_string()));
    names.sort();
    assert_eq!(names, ["TestAdd", "TestTable", "TestTable/one"]);
}
