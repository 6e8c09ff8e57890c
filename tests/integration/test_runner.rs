//! `stepkit test` mechanics with the command preset: shards, TEST_TOKEN, signals, deadlines, --max-fail.

use crate::support::wait::wait_for;
use crate::support::{stepkit, write, Stepkit};
use std::path::Path;
use stepkit::junit::read_file;

/// A project of `n` test scripts and a runner that runs the scripts it is given.
fn project(n: usize, body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        write(dir.path(), &format!("t/test{i:02}.sh"), body);
    }
    write(dir.path(), "run.sh", "#!/bin/sh\nrc=0\nfor f in \"$@\"; do sh \"$f\" || rc=1; done\nexit $rc\n");
    std::process::Command::new("chmod").arg("+x").arg(dir.path().join("run.sh")).status().unwrap();
    dir
}

/// `stepkit test FLAGS --files t/*.sh -- ./run.sh {files}` in a `project`: the runner is given the scripts.
fn scripts(dir: &Path, flags: &[&str]) -> Stepkit {
    stepkit()
        .current_dir(dir)
        .args(["test"])
        .args(flags)
        .args(["--files", "t/*.sh", "--", "./run.sh", "{files}"])
}

fn names(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    read_file(path).unwrap().walk(|_, c| out.push(c.name.to_string()));
    out.sort();
    out
}

#[test]
fn shards_cover_the_suite_once_and_merge_back() {
    let dir = project(11, "exit 0\n");
    let mut all = Vec::new();
    for k in 1..=3 {
        let junit = format!("shard-{k}.xml");
        let shard = format!("{k}/3");
        scripts(dir.path(), &["--shard", &shard, "--workers", "2", "--junit", &junit]).run().expect_code(0);
        all.extend(names(&dir.path().join(&junit)));
    }
    all.sort();
    let expected: Vec<String> = (0..11).map(|i| format!("t/test{i:02}.sh")).collect();
    assert_eq!(all, expected, "every test once across the shards");
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "junit", "merge", "shard-*.xml", "-o", "all.xml"])
        .run()
        .expect_code(0);
    assert_eq!(run.json()["data"]["counts"]["tests"], 11);
}

#[test]
fn workers_get_test_token_and_stepkit_worker() {
    let dir = project(4, "echo \"token=$TEST_TOKEN worker=$STEPKIT_WORKER\" >> tokens.log\n");
    scripts(dir.path(), &["--workers", "2"]).run().expect_code(0);
    let log = std::fs::read_to_string(dir.path().join("tokens.log")).unwrap();
    for line in log.lines() {
        let token = line.split_whitespace().next().unwrap().trim_start_matches("token=");
        assert!(token == "1" || token == "2", "{line}");
        assert!(line.ends_with(&format!("worker={token}")), "{line}");
    }
}

#[test]
fn sigterm_stops_every_child_within_5s_and_writes_a_partial_report() {
    // Each test writes its pid, then becomes `sleep 317` (exec keeps the pid): the test tracks
    // exactly its own sleepers, and knows when they run.
    let dir = project(4, "echo $$ >> sleepers.pid\nexec sleep 317\n");
    write(dir.path(), "t/quick.sh", "exit 0\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stepkit"))
        .current_dir(dir.path())
        .args([
            "test",
            "--workers",
            "2",
            "--split",
            "file",
            "--files",
            "t/*.sh",
            "--junit",
            "partial.xml",
            "--",
            "./run.sh",
            "{files}",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Both workers are in a test that only a signal ends.
    let pids = wait_for("a sleeping test in each of the 2 workers", || {
        let text = std::fs::read_to_string(dir.path().join("sleepers.pid")).unwrap_or_default();
        let pids: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        (pids.len() == 2 && pids.iter().all(|&pid| runs_sleep_317(pid))).then_some(pids)
    });
    // SAFETY: sending SIGTERM to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopped in {:?}", started.elapsed());
    assert_eq!(status.code(), Some(143));
    let text = std::fs::read_to_string(dir.path().join("partial.xml")).unwrap();
    assert!(text.contains("interrupted=\"true\""), "{text}");
    assert_eq!(names(&dir.path().join("partial.xml")).len(), 5, "every test is in the partial report");
    let survivors: Vec<i32> = pids.into_iter().filter(|&pid| runs_sleep_317(pid)).collect();
    assert!(survivors.is_empty(), "no test process survives: {survivors:?}");
}

/// Whether process `pid` is still this test's `sleep 317` (not a zombie, nor a new process that got
/// the pid since).
fn runs_sleep_317(pid: i32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = state.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
    cmdline == b"sleep\x00317\x00" && !zombie
}

#[test]
fn timeout_exits_124_with_partial_results() {
    let dir = project(2, "sleep 300\n");
    let run = scripts(dir.path(), &["--timeout", "1s", "--split", "file", "--junit", "t.xml"]).run();
    assert_eq!(run.code, 124, "{}", run.stderr);
    assert!(std::fs::read_to_string(dir.path().join("t.xml")).unwrap().contains("interrupted=\"true\""));
}

#[test]
fn max_fail_stops_new_batches() {
    let dir = project(6, "exit 1\n");
    let run =
        scripts(dir.path(), &["--format", "json", "--workers", "1", "--split", "file", "--max-fail", "2"])
            .run()
            .expect_code(1);
    let counts = &run.json()["data"]["summary"]["counts"];
    assert_eq!(counts["failures"], 2);
    assert_eq!(counts["skipped"], 4, "tests not run are listed as skipped");
}

#[test]
fn no_tests_found_exits_4_and_usage_errors_exit_2() {
    let dir = project(0, "");
    scripts(dir.path(), &[]).run().expect_code(4);
    let run = scripts(dir.path(), &["--shard", "4/3"]).run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--shard"), "{}", run.stderr);
    let run = stepkit().current_dir(dir.path()).args(["test", "--", "make", "test"]).run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--preset"), "{}", run.stderr);
}
