//! `stepkit test --timings auto` (the default) with real pytest: the second run plans with the first run's timings.

use crate::support::{have_pytest, stepkit, write};
use std::path::Path;

/// A small suite: one slow-ish file, two quick ones, and a failing test (a failed run still saves timings).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tests/test_slow.py",
        "import time\n\ndef test_a():\n    time.sleep(0.3)\n\ndef test_b():\n    time.sleep(0.3)\n",
    );
    write(
        dir.path(),
        "tests/test_quick.py",
        "def test_c():\n    pass\n\ndef test_d():\n    assert 1 + 1 == 3\n",
    );
    write(dir.path(), "tests/test_other.py", "def test_e():\n    pass\n");
    dir
}

fn run(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--format", "json", "test", "--workers", "2"];
    args.extend(extra);
    args.extend(["--", "python3", "-m", "pytest", "tests"]);
    stepkit().env_remove("STEPKIT_TEST_TIMINGS").current_dir(dir).args(args).run().expect_code(1).json()
}

#[test]
fn the_second_run_plans_with_the_first_runs_timings() {
    if !have_pytest() {
        return;
    }
    let dir = project();
    let first = run(dir.path(), &[]);
    let timings = &first["data"]["timings"];
    assert_eq!(timings["from"], serde_json::json!([]), "nothing to plan with on the first run: {timings}");
    let saved = timings["saved"].as_str().expect("the first run saves its timings").to_string();
    assert!(saved.starts_with(".stepkit/timings/pytest-") && saved.ends_with(".json"), "{saved}");
    let cache: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(&saved)).unwrap()).unwrap();
    // Each file's cases, each with its classname, name and seconds.
    let seconds = |file: &str, name: &str| {
        let cases = cache["files"][file].as_array().unwrap_or_else(|| panic!("{file} in {cache}"));
        let case = cases.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name} in {cache}"));
        assert_eq!(case["classname"].as_str(), Some(file.trim_end_matches(".py").replace('/', ".").as_str()));
        case["seconds"].as_f64()
    };
    let slow = seconds("tests/test_slow.py", "test_a").unwrap();
    assert!(slow >= 0.3, "the measured time of a 0.3 s test: {cache}");
    assert!(seconds("tests/test_quick.py", "test_d").is_some(), "a failed test is timed too: {cache}");
    assert!(
        std::fs::read_to_string(dir.path().join(".stepkit/.gitignore")).unwrap().contains('*'),
        "the cache ignores itself in git"
    );

    let second = stepkit()
        .env_remove("STEPKIT_TEST_TIMINGS")
        .current_dir(dir.path())
        .args(["test", "--workers", "2", "--", "python3", "-m", "pytest", "tests"])
        .run()
        .expect_code(1);
    assert!(second.stderr.contains(&format!("Planned with timings from {saved}")), "{}", second.stderr);
    let third = run(dir.path(), &[]);
    assert_eq!(third["data"]["timings"]["from"], serde_json::json!([saved]));
    assert!(
        third["data"]["ideal_makespan_seconds"].as_f64().unwrap() >= 0.3,
        "the plan knows the slow test: {}",
        third["data"]
    );

    // A different command is a different suite with its own cache.
    let other = stepkit()
        .env_remove("STEPKIT_TEST_TIMINGS")
        .current_dir(dir.path())
        .args(["--format", "json", "test", "--", "python3", "-m", "pytest", "tests/test_other.py"])
        .run()
        .expect_code(0)
        .json();
    assert_eq!(other["data"]["timings"]["from"], serde_json::json!([]));
    assert_ne!(other["data"]["timings"]["saved"].as_str().unwrap(), saved);
}

#[test]
fn none_turns_it_off_and_shards_use_it_only_when_asked() {
    if !have_pytest() {
        return;
    }
    let dir = project();
    let off = run(dir.path(), &["--timings", "none"]);
    assert_eq!(off["data"]["timings"]["saved"], serde_json::Value::Null);
    assert!(!dir.path().join(".stepkit").exists(), "--timings none writes nothing");

    let saved = run(dir.path(), &[])["data"]["timings"]["saved"].as_str().unwrap().to_string();
    assert_eq!(
        run(dir.path(), &["--timings", "none"])["data"]["timings"]["from"],
        serde_json::json!([]),
        "none reads nothing either"
    );

    let mut args = vec!["--format", "json", "test", "--workers", "2", "--shard", "1/2"];
    args.extend(["--", "python3", "-m", "pytest", "tests"]);
    let shard = stepkit().env_remove("STEPKIT_TEST_TIMINGS").current_dir(dir.path()).args(&args).run();
    let shard_json = shard.json();
    assert_eq!(
        shard_json["data"]["timings"]["from"],
        serde_json::json!([]),
        "a shard plans only from inputs every job shares"
    );
    assert_eq!(shard_json["data"]["timings"]["ignored_under_shard"], saved.as_str());
    assert!(shard.stderr.contains("pass --timings auto"), "{}", shard.stderr);

    args.splice(7..7, ["--timings", "auto"]);
    let explicit =
        stepkit().env_remove("STEPKIT_TEST_TIMINGS").current_dir(dir.path()).args(&args).run().json();
    assert_eq!(
        explicit["data"]["timings"]["from"],
        serde_json::json!([saved]),
        "--timings auto is the user saying every job has the same cache"
    );

    let report = dir.path().join("last.xml");
    std::fs::write(&report, r#"<testsuite name="s"><testcase classname="tests.test_slow" name="test_a" file="tests/test_slow.py" time="5"/></testsuite>"#).unwrap();
    let both = run(dir.path(), &["--timings", "auto", "--timings", "last.xml"]);
    assert_eq!(both["data"]["timings"]["from"], serde_json::json!(["last.xml", saved]));
    let reports_only = run(dir.path(), &["--timings", "last.xml"]);
    assert_eq!(reports_only["data"]["timings"]["from"], serde_json::json!(["last.xml"]));
    assert_eq!(
        reports_only["data"]["timings"]["saved"],
        serde_json::Value::Null,
        "given reports, the user manages timings"
    );

    let bad = stepkit()
        .env_remove("STEPKIT_TEST_TIMINGS")
        .current_dir(dir.path())
        .args(["test", "--timings", "none", "--timings", "last.xml", "--", "python3", "-m", "pytest"])
        .run()
        .expect_code(2);
    assert!(bad.stderr.contains("--timings") && bad.stderr.contains("none"), "{}", bad.stderr);
}

/// Runs the suite with a merged report; returns stderr and each test's status by name.
fn run_with_report(dir: &Path) -> (String, std::collections::BTreeMap<String, stepkit::junit::Status>) {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("merged.xml");
    let run = stepkit()
        .env_remove("STEPKIT_TEST_TIMINGS")
        .current_dir(dir)
        .args(["test", "--workers", "2", "--junit"])
        .args([&junit])
        .args(["--", "python3", "-m", "pytest", "tests"])
        .run()
        .expect_code(1);
    let report = stepkit::junit::read_file(&junit).unwrap();
    let mut statuses = std::collections::BTreeMap::new();
    for suite in &report.suites {
        collect_statuses(suite, &mut statuses);
    }
    (run.stderr, statuses)
}

fn collect_statuses(
    suite: &stepkit::junit::Suite,
    out: &mut std::collections::BTreeMap<String, stepkit::junit::Status>,
) {
    for case in &suite.cases {
        assert!(out.insert(case.name.to_string(), case.status).is_none(), "{} reported twice", case.name);
    }
    for child in &suite.suites {
        collect_statuses(child, out);
    }
}

#[test]
fn a_warm_run_starts_from_the_last_listing_and_plans_again_when_the_suite_changed() {
    if !have_pytest() {
        return;
    }
    let dir = project();
    let (first, all) = run_with_report(dir.path());
    assert!(!first.contains("the last run's listing"), "nothing to start from yet: {first}");
    assert_eq!(all.len(), 5, "{all:?}");

    let (warm, same) = run_with_report(dir.path());
    assert!(warm.contains("the last run's listing, checked while the batches start"), "{warm}");
    assert!(!warm.contains("the suite changed"), "{warm}");
    assert_eq!(same, all, "a head start runs exactly what a fresh listing runs");

    // test_e is gone, test_f and test_g are new: the batches started from the old listing would
    // run a test that no longer exists and miss two; they are dropped and the run planned again.
    write(dir.path(), "tests/test_other.py", "def test_f():\n    pass\n\ndef test_g():\n    pass\n");
    let (changed, now) = run_with_report(dir.path());
    assert!(changed.contains("the suite changed since the last run's listing"), "{changed}");
    let names: Vec<&str> = now.keys().map(String::as_str).collect();
    assert_eq!(names, ["test_a", "test_b", "test_c", "test_d", "test_f", "test_g"], "{changed}");
    assert_eq!(now["test_d"], stepkit::junit::Status::Failed, "a failure stays a failure");
    assert!(!changed.contains("not found"), "no batch of the dropped plan reached the output: {changed}");

    // The new listing was kept: the next run starts from it again.
    let (next, again) = run_with_report(dir.path());
    assert!(
        next.contains("the last run's listing, checked") && !next.contains("the suite changed"),
        "{next}"
    );
    assert_eq!(again, now);
}
