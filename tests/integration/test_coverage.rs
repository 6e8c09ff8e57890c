//! `stepkit test --coverage` and `stepkit coverage merge` with the real tools on
//! tests/fixtures/coverage: the merge of the batches' coverage equals a serial run's report.

use crate::support::{fixture, in_ci, stepkit, write};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use stepkit::coverage::{merge_files, Coverage, PathRoot};

/// True when `check` succeeds; skips on a developer machine, fails under CI=true.
fn have(what: &str, check: &mut Command) -> bool {
    let ok = check.output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        assert!(!in_ci(), "{what} is required under CI=true (.ci/run installs it)");
        eprintln!("skipping: {what} is not installed");
    }
    ok
}

/// Reads reports the way `coverage merge` does, with paths relative to `root`.
fn load(paths: &[&Path], root: &Path) -> Coverage {
    let paths: Vec<_> = paths.iter().map(|p| p.to_path_buf()).collect();
    merge_files(&paths, &PathRoot::new(root)).unwrap().0
}

/// One file's every line with its hits, and its line and branch totals.
type FileHits = (Vec<(u32, u64)>, u64, u64);

/// Per file: every line's hits, and the line and branch totals.
fn per_file(c: &Coverage) -> BTreeMap<String, FileHits> {
    c.files
        .iter()
        .map(|(path, f)| {
            let t = f.totals();
            (
                path.clone(),
                (f.lines.iter().map(|(n, l)| (*n, l.hits)).collect(), t.branches_valid, t.branches_covered),
            )
        })
        .collect()
}

fn run_tool(dir: &Path, argv: &[&str], env: &[(&str, &Path)]) {
    let mut command = Command::new(argv[0]);
    command.args(&argv[1..]).current_dir(dir);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn phpunit_batches_merge_to_the_serial_clover_report() {
    if !have("phpunit", Command::new("phpunit").args(["--version"]))
        || !have(
            "php-pcov or php-xdebug",
            Command::new("sh").args(["-c", "php -m | grep -Eqi '^(pcov|xdebug)$'"]),
        )
    {
        return;
    }
    let dir = fixture("coverage/phpunit");
    let out = tempfile::tempdir().unwrap();
    let serial = out.path().join("serial.xml");
    run_tool(&dir, &["phpunit", "--coverage-clover", serial.to_str().unwrap()], &[]);
    let merged = out.path().join("merged.xml");
    let run = stepkit()
        .current_dir(&dir)
        .args(["--format", "json", "test", "--workers", "2", "--split", "case", "--coverage", "clover"])
        .args([&merged])
        .args(["--", "phpunit"])
        .run()
        .expect_code(0);
    let json = run.json();
    assert!(json["data"]["batches"].as_u64().unwrap() >= 3, "the suite ran in several batches: {json}");
    let (s, m) = (load(&[&serial], &dir), load(&[&merged], &dir));
    assert_eq!(per_file(&m), per_file(&s));
    let t = m.totals();
    // PHPUnit's own metrics for the serial run: 14 statements, 11 covered.
    assert_eq!((t.lines_valid, t.lines_covered), (14, 11));
    // classify()'s first line ran in 4 tests spread over two files: PHPUnit counts tests, so hits add up.
    assert_eq!(m.files["src/Calc.php"].lines[&13].hits, 4);
    assert_eq!(json["data"]["coverage"]["lines_covered"], 11);
}

#[test]
fn pytest_batches_merge_to_the_serial_cobertura_report_with_branches() {
    if !have("pytest-cov", Command::new("python3").args(["-c", "import pytest_cov"])) {
        return;
    }
    let dir = fixture("coverage/pytest");
    let out = tempfile::tempdir().unwrap();
    let serial = out.path().join("serial.xml");
    let data = out.path().join("serial.coverage");
    run_tool(
        &dir,
        &[
            "python3",
            "-m",
            "pytest",
            "-q",
            "--cov",
            "--cov-branch",
            &format!("--cov-report=xml:{}", serial.display()),
        ],
        &[("COVERAGE_FILE", &data)],
    );
    let merged = out.path().join("merged.xml");
    let run = stepkit()
        .current_dir(&dir)
        .args(["--format", "json", "test", "--workers", "2", "--split", "case", "--coverage", "cobertura"])
        .args([&merged])
        .args(["--", "python3", "-m", "pytest", "--cov-branch"])
        .run()
        .expect_code(0);
    assert!(run.json()["data"]["batches"].as_u64().unwrap() >= 3);
    let (s, m) = (load(&[&serial], &dir), load(&[&merged], &dir));
    assert_eq!(per_file(&m), per_file(&s));
    let (st, mt) = (s.totals(), m.totals());
    assert_eq!(mt, st);
    // classify's two `if`s: each batch took some of their branches, the merge took all four.
    assert_eq!((mt.branches_valid, mt.branches_covered), (6, 5));
    assert!(!dir.join(".coverage").exists(), "each batch's coverage data stays in stepkit's work directory");
}

/// The go fixture, a temp dir, and a serial `-covermode=count` profile of it; None when go is missing.
fn go_serial_profile() -> Option<(std::path::PathBuf, tempfile::TempDir, std::path::PathBuf)> {
    if !have("go", Command::new("go").args(["version"])) {
        return None;
    }
    let dir = fixture("coverage/go");
    let out = tempfile::tempdir().unwrap();
    let serial = out.path().join("serial.out");
    run_tool(
        &dir,
        &["go", "test", "-covermode=count", &format!("-coverprofile={}", serial.display()), "./..."],
        &[],
    );
    Some((dir, out, serial))
}

#[test]
fn go_batches_merge_to_the_serial_cover_profile() {
    let Some((dir, out, serial)) = go_serial_profile() else { return };
    let merged = out.path().join("merged.info");
    stepkit()
        .current_dir(&dir)
        .args(["test", "--workers", "2", "--split", "case", "--coverage", "lcov"])
        .args([&merged])
        .args(["--", "go", "test", "./..."])
        .run()
        .expect_code(0);
    let (s, m) = (load(&[&serial], &dir), load(&[&merged], &dir));
    assert_eq!(per_file(&m), per_file(&s));
    // Classify's first block ran once in each of three tests, whichever batch they were in.
    assert_eq!(m.files["calc/calc.go"].lines[&11].hits, 3);
    assert_eq!(m.totals().lines_covered, s.totals().lines_covered);
}

#[test]
fn coverage_merge_joins_shard_profiles_and_refuses_a_missing_shard() {
    let Some((dir, out, serial)) = go_serial_profile() else { return };
    // Two "shards": each ran one package, and the calc package ran in two halves.
    let shards = [
        ("a.out", "./calc", "^(TestAdds|TestPositive)$"),
        ("b.out", "./calc", "^(TestAddsNegatives|TestNegative|TestZero)$"),
        ("c.out", "./words", "."),
    ];
    for (name, package, run) in shards {
        let path = out.path().join(name);
        run_tool(
            &dir,
            &[
                "go",
                "test",
                "-covermode=count",
                &format!("-coverprofile={}", path.display()),
                "-run",
                run,
                package,
            ],
            &[],
        );
    }
    let merged = out.path().join("merged.xml");
    let run = stepkit()
        .current_dir(&dir)
        .args(["--format", "json", "coverage", "merge"])
        .args([out.path().join("?.out")])
        .args(["-o"])
        .args([&merged])
        .run()
        .expect_code(0);
    let json = run.json();
    assert_eq!(json["data"]["format"], "cobertura");
    assert_eq!(json["data"]["inputs"].as_array().unwrap().len(), 3);
    let (s, m) = (load(&[&serial], &dir), load(&[&merged], &dir));
    assert_eq!(per_file(&m), per_file(&s));
    assert_eq!(json["data"]["totals"]["lines_covered"], s.totals().lines_covered);

    // A named shard that is missing, or a file that is no coverage report, stops the merge (exit 2).
    let missing = stepkit()
        .current_dir(&dir)
        .args(["coverage", "merge"])
        .args([out.path().join("a.out")])
        .args([out.path().join("gone.out")])
        .args(["-o"])
        .args([&merged])
        .run()
        .expect_code(2);
    assert!(missing.stderr.contains("gone.out"), "{}", missing.stderr);
    let junk = write(out.path(), "junk.xml", "<testsuites/>");
    let bad = stepkit()
        .current_dir(&dir)
        .args(["coverage", "merge"])
        .args([&junk])
        .args(["-o"])
        .args([&merged])
        .run()
        .expect_code(2);
    assert!(
        bad.stderr.contains("junk.xml") && bad.stderr.contains("not Cobertura or Clover"),
        "{}",
        bad.stderr
    );
}
