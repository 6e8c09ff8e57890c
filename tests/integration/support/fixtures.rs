//! Fixture paths, files written for a test, and the CI-or-skip rule for tools a test needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The JUnit corpus: a copy of ../shared/junit-corpus kept in tests/fixtures, so the suite runs
/// from the repository alone.
pub fn corpus() -> PathBuf {
    fixture("junit-corpus")
}

/// A fixture project under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// True under CI (`CI=true`, `1` or `yes`): tests that need a tool must fail rather than skip there.
/// The library's own helper, so the unit tests agree.
pub fn in_ci() -> bool {
    stepkit::ci::tests_in_ci(&stepkit::ci::Env::from_process())
}

/// Returns false (after saying why) when `tool` is missing on a developer machine; panics in CI.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        assert!(!in_ci(), "{tool} is required under CI=true (.ci/run installs it)");
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

/// pytest through the interpreter stepkit's tests run with (`python3 -m pytest`, not a `pytest` on
/// PATH, so `require_tool` cannot say); false (skip) when it is missing, a failure under CI.
pub fn have_pytest() -> bool {
    let ok = Command::new("python3")
        .args(["-m", "pytest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(!in_ci(), "pytest is required under CI=true (.ci/run installs it)");
        eprintln!("skipping: pytest is not installed");
    }
    ok
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, content).unwrap();
    path
}

/// Reads a log of `PID TEST` lines that a suite's tests wrote as they ran, checks that each of
/// `tests` tests ran exactly once, and gives the number of processes they ran in.
pub fn processes_running_each_test_once(log: &Path, tests: usize) -> usize {
    let lines = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let ran: Vec<(&str, &str)> = lines.lines().filter_map(|l| l.split_once(' ')).collect();
    let mut names: Vec<&str> = ran.iter().map(|(_, test)| *test).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!((ran.len(), names.len()), (tests, tests), "each test once:\n{lines}");
    ran.iter().map(|(pid, _)| *pid).collect::<std::collections::BTreeSet<_>>().len()
}
