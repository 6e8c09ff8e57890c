//! `stepkit history` end to end, every test against both stores: a SQLite file in a temp dir and a
//! fresh database on the PostgreSQL server in STEPKIT_TEST_POSTGRES_URL (.ci/postgres.sh starts one;
//! without it the PostgreSQL half skips with the reason, and fails under CI=true). Runs are recorded by
//! real `stepkit` processes, several at once where the test is about concurrency, and counted in the
//! database itself.

use crate::support::{in_ci, stepkit, write, Stepkit};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A store one test owns.
enum Store {
    Sqlite { dir: tempfile::TempDir },
    Postgres { url: String, admin: String, database: String },
}

impl Store {
    fn sqlite() -> Store {
        Store::Sqlite { dir: tempfile::tempdir().unwrap() }
    }

    /// A new database on the test server, dropped with the store; `None` (after saying why) without a server.
    fn postgres() -> Option<Store> {
        let Some(url) = std::env::var("STEPKIT_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
            assert!(!in_ci(), "STEPKIT_TEST_POSTGRES_URL is required under CI=true (.ci/run starts PostgreSQL with .ci/postgres.sh)");
            eprintln!("skipping the PostgreSQL half: STEPKIT_TEST_POSTGRES_URL is unset (eval \"$(.ci/postgres.sh start)\")");
            return None;
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let database = format!("stepkit_t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls)
            .expect("connect to STEPKIT_TEST_POSTGRES_URL");
        client.batch_execute(&format!("DROP DATABASE IF EXISTS {database}")).unwrap();
        client.batch_execute(&format!("CREATE DATABASE {database}")).unwrap();
        let (base, query) = url.split_once('?').map_or((url.as_str(), ""), |(b, q)| (b, q));
        let base = &base[..base.rfind('/').expect("the URL names a database")];
        let url = if query.is_empty() {
            format!("{base}/{database}")
        } else {
            format!("{base}/{database}?{query}")
        };
        Some(Store::Postgres { url, admin: std::env::var("STEPKIT_TEST_POSTGRES_URL").unwrap(), database })
    }

    /// What STEPKIT_HISTORY says (the URL carries the password: env, never argv).
    fn location(&self) -> String {
        match self {
            Store::Sqlite { dir } => dir.path().join("history.sqlite").display().to_string(),
            Store::Postgres { url, .. } => url.clone(),
        }
    }

    fn password(&self) -> Option<String> {
        match self {
            Store::Postgres { url, .. } => {
                let config: ::postgres::Config = url.parse().unwrap();
                config.get_password().map(|p| String::from_utf8_lossy(p).into_owned())
            }
            Store::Sqlite { .. } => None,
        }
    }

    /// stepkit with this store in STEPKIT_HISTORY.
    fn stepkit(&self) -> Stepkit {
        stepkit().env("STEPKIT_HISTORY", self.location())
    }

    /// The same, as a plain Command (for processes started together).
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stepkit"));
        command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.env("STEPKIT_HISTORY", self.location()).args(args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        command
    }

    /// One number from the store's own SQL.
    fn count(&self, sql: &str) -> i64 {
        match self {
            Store::Sqlite { dir } => {
                let conn = rusqlite::Connection::open(dir.path().join("history.sqlite")).unwrap();
                conn.query_row(sql, [], |row| row.get(0)).unwrap()
            }
            Store::Postgres { url, .. } => {
                let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
                client.query_one(sql, &[]).unwrap().get::<_, i64>(0)
            }
        }
    }

    fn execute(&self, sql: &str) {
        match self {
            Store::Sqlite { dir } => {
                rusqlite::Connection::open(dir.path().join("history.sqlite"))
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap();
            }
            Store::Postgres { url, .. } => {
                ::postgres::Client::connect(url, ::postgres::NoTls).unwrap().batch_execute(sql).unwrap();
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Store::Postgres { admin, database, .. } = self {
            if let Ok(mut client) = ::postgres::Client::connect(admin, ::postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
            }
        }
    }
}

/// Each test function runs once per store: `NAME_sqlite` and `NAME_postgres`.
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&super::Store::sqlite()); })*
        }
        mod postgres {
            $(#[test] fn $name() { if let Some(store) = super::Store::postgres() { super::$name(&store); } })*
        }
    };
}

both_stores!(
    records_results_and_junit_and_answers_latest_against_previous,
    several_jobs_recording_at_once_lose_nothing,
    keep_runs_keeps_the_newest_of_each_series,
    the_schema_is_versioned_and_a_newer_one_is_refused,
    an_unreadable_input_names_the_file_and_records_nothing,
    steps_given_a_store_record_themselves,
    stepkit_test_records_its_run_and_every_case,
    stepkit_load_records_its_target_and_requests,
    the_password_never_reaches_output,
);

/// A `stepkit load` result file as the step writes it (schema version 1).
fn load_result(target: &str, rps: f64, p95: f64) -> Value {
    load_result_with(target, rps, p95, ("create order", p95 * 2.0))
}

/// `load_result` whose second named request is `second` (its name and p95); the dashboard's tests use it.
pub(crate) fn load_result_with(target: &str, rps: f64, p95: f64, second: (&str, f64)) -> Value {
    let latency = |p95: f64| json!({"min": 1.0, "mean": p95 / 2.0, "p50": p95 / 2.0, "p90": p95 * 0.9, "p95": p95, "p99": p95 * 1.5, "max": p95 * 2.0});
    let request = |name: &str, rps: f64, p95: f64| {
        json!({"name": name, "method": "GET", "url": "http://127.0.0.1/x", "requests": 1000, "responses": 1000,
               "errors": 0, "error_rate_pct": 0.0, "rps": rps, "latency_ms": latency(p95),
               "statuses": {"200": 1000}, "errors_by_class": {}})
    };
    json!({
        "command": "load", "verdict": "passed", "exit_code": 0, "headline": format!("{rps} requests/s"),
        "warnings": [], "annotations": [], "outputs": {"rps": rps.to_string()},
        "data": {
            "schema_version": 1, "target": target, "model": "closed", "connections": 8, "rate": null,
            "warmup_s": 0.0, "elapsed_s": 10.0, "connections_opened": 8,
            "overall": request("overall", rps, p95),
            "requests": [request("list items", rps / 2.0, p95), request(second.0, rps / 2.0, second.1)],
            "thresholds": {}, "baseline": null, "problems": []
        }
    })
}

pub(crate) fn deploy_result(duration_ms: u64) -> Value {
    json!({"command": "deploy", "verdict": "passed", "exit_code": 0, "headline": "web runs app:1",
           "warnings": [], "annotations": [], "outputs": {},
           "data": {"app": "web", "image": "app:1", "result": "deployed", "duration_ms": duration_ms, "downtime_ms": null,
                    "gate": {"elapsed_ms": 800}}})
}

/// A JUnit report: `flip` fails test_b (it passes otherwise); test_c is always slow, test_d flaky.
fn junit(flip: bool) -> String {
    let b = if flip { "<failure message=\"boom\">trace</failure>" } else { "" };
    format!(
        r#"<?xml version="1.0"?>
<testsuites><testsuite name="unit" tests="5">
  <testcase classname="app.Tests" name="test_a" time="0.010"/>
  <testcase classname="app.Tests" name="test_b" time="0.020">{b}</testcase>
  <testcase classname="app.Tests" name="test_c" time="2.500"/>
  <testcase classname="app.Tests" name="test_d" time="0.030"><flakyFailure message="once"/></testcase>
  <testcase classname="app.Tests" name="test_e"><skipped/></testcase>
</testsuite></testsuites>"#
    )
}

fn put(dir: &Path, name: &str, value: &Value) -> PathBuf {
    write(dir, name, serde_json::to_vec_pretty(value).unwrap())
}

fn record(store: &Store, files: &[&Path], extra: &[&str]) -> Value {
    store
        .stepkit()
        .args(["--format", "json", "history", "record"])
        .args(files)
        .args(extra)
        .args(["--repository", "octo/app", "--branch", "main"])
        .run()
        .expect_code(0)
        .json()
}

fn query(store: &Store, args: &[&str]) -> Value {
    let run = store.stepkit().args(["history", "query"]).args(args).run().expect_code(0);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("query prints JSON ({e}): {}\n{}", run.stdout, run.stderr))
}

fn metric(run: &Value, subject: &str, name: &str) -> f64 {
    run["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subject"] == subject && m["name"] == name)
        .unwrap_or_else(|| panic!("no {subject}/{name} in {run}"))["value"]
        .as_f64()
        .unwrap()
}

fn records_results_and_junit_and_answers_latest_against_previous(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Version 1.0 on two database flavours, a deploy and a test report; then 2.0, slower on postgres.
    let v1 = [
        put(d, "v1/load-pg.json", &load_result("postgres", 1000.0, 10.0)),
        put(d, "v1/load-my.json", &load_result("mysql", 900.0, 12.0)),
        put(d, "v1/deploy.json", &deploy_result(4000)),
        write(d, "v1/junit.xml", junit(false)),
    ];
    let recorded = record(
        store,
        &v1.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &["--version", "1.0", "--environment", "staging"],
    );
    assert_eq!(recorded["data"]["runs"].as_array().unwrap().len(), 4, "{recorded}");
    assert_eq!(recorded["data"]["runs"][3]["tests"], 5);
    // A rerun of 1.0 is not "the previous version" of 2.0's comparison...
    record(store, &[&v1[0]], &["--version", "1.0", "--environment", "staging"]);
    let v2 = [
        put(d, "v2/load-pg.json", &load_result("postgres", 800.0, 15.0)),
        put(d, "v2/load-my.json", &load_result("mysql", 950.0, 12.0)),
        put(d, "v2/deploy.json", &deploy_result(5000)),
        write(d, "v2/junit.xml", junit(true)),
    ];
    record(
        store,
        &v2.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &["--version", "2.0", "--environment", "staging"],
    );

    let answer = query(store, &["--step", "load"]);
    assert_eq!(answer["schema_version"], 1);
    let series = answer["series"].as_array().unwrap();
    assert_eq!(series.len(), 2, "one series per target: {answer}");
    let pg = series.iter().find(|s| s["target"] == "postgres").unwrap();
    assert_eq!(
        (pg["step"].as_str(), pg["repository"].as_str(), pg["environment"].as_str()),
        (Some("load"), Some("octo/app"), Some("staging"))
    );
    assert_eq!(pg["latest"]["version"], "2.0");
    assert_eq!(pg["previous"]["version"], "1.0");
    assert_eq!(pg["runs"].as_array().unwrap().len(), 3, "the last runs, newest first");
    assert_eq!(metric(&pg["latest"], "", "rps"), 800.0);
    let delta = |subject: &str, name: &str| {
        pg["deltas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["subject"] == subject && d["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(delta("", "rps")["change_pct"], -20.0);
    assert_eq!(delta("", "rps")["previous"], 1000.0);
    assert_eq!(delta("create order", "p95_ms")["latest"], 30.0);
    assert_eq!(delta("create order", "p95_ms")["delta"], 10.0);
    assert_eq!(delta("create order", "p95_ms")["change_pct"], 50.0);
    let my = series.iter().find(|s| s["target"] == "mysql").unwrap();
    assert_eq!(
        my["deltas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["subject"] == "" && d["name"] == "p95_ms")
            .unwrap()["change_pct"],
        0.0
    );

    // --against run: the rerun of 1.0 is gone from postgres' comparison only because it is older than 2.0.
    let by_run = query(store, &["--step", "load", "--target", "postgres", "--against", "run", "--last", "1"]);
    assert_eq!(by_run["series"][0]["runs"].as_array().unwrap().len(), 1);
    assert_eq!(by_run["series"][0]["previous"]["version"], "1.0");

    let deploy = &query(store, &["--step", "deploy"])["series"][0];
    assert_eq!(metric(&deploy["latest"], "", "duration_ms"), 5000.0);
    assert_eq!(
        deploy["deltas"].as_array().unwrap().iter().find(|d| d["name"] == "duration_ms").unwrap()["delta"],
        1000.0
    );

    let tests = &query(store, &["--step", "junit"])["series"][0];
    assert_eq!(metric(&tests["latest"], "", "failed"), 1.0);
    assert_eq!(tests["latest"]["verdict"], "failed");
    let t = &tests["tests"];
    assert_eq!(t["runs"], 2);
    assert_eq!(t["failing"][0]["name"], "test_b");
    let flaky: Vec<&str> =
        t["flaky"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(flaky.contains(&"test_b") && flaky.contains(&"test_d"), "{flaky:?}");
    assert_eq!(t["slowest"][0]["name"], "test_c");
    assert_eq!(t["slowest"][0]["latest_ms"], 2500.0);
    assert_eq!(store.count("SELECT COUNT(*) FROM tests"), 10);

    // Filters that match nothing answer an empty list, not an error.
    assert_eq!(query(store, &["--step", "load", "--branch", "other"])["series"], json!([]));
}

fn several_jobs_recording_at_once_lose_nothing(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    // 8 jobs start against a store that does not exist yet (they race to create and migrate it), each
    // recording a load result and a report of 200 tests, three times over.
    let mut cases = String::from("<testsuite name=\"big\">");
    for i in 0..200 {
        cases.push_str(&format!("<testcase classname=\"c\" name=\"t{i}\" time=\"0.001\"/>"));
    }
    cases.push_str("</testsuite>");
    let report = write(dir.path(), "big.xml", cases);
    let mut children = Vec::new();
    for job in 0..8 {
        let load = put(
            dir.path(),
            &format!("load-{job}.json"),
            &load_result(&format!("t{job}"), 100.0 + job as f64, 5.0),
        );
        let args = ["history", "record", load.to_str().unwrap(), report.to_str().unwrap(), "--ci-run"];
        let job_id = job.to_string();
        let script = (0..3)
            .map(|_| {
                let mut command = store.command(&args);
                command.arg(&job_id);
                command
            })
            .collect::<Vec<_>>();
        children.push(std::thread::spawn(move || {
            for mut command in script {
                let out = command.output().unwrap();
                assert!(
                    out.status.success(),
                    "a concurrent record failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                crate::support::record(&crate::support::Run {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                });
            }
        }));
    }
    for child in children {
        child.join().unwrap();
    }
    assert_eq!(store.count("SELECT COUNT(*) FROM runs"), 8 * 3 * 2);
    assert_eq!(store.count("SELECT COUNT(*) FROM tests"), 8 * 3 * 200);
    assert_eq!(store.count("SELECT COUNT(DISTINCT ci_run) FROM runs"), 8);
    assert_eq!(store.count("SELECT COUNT(*) FROM schema_version"), 1, "migrated once");
    // Every run has all its numbers: 10 per request (overall + 2 named) + duration.
    assert_eq!(
        store.count("SELECT COUNT(*) FROM metrics WHERE run_id IN (SELECT id FROM runs WHERE step = 'load')"),
        24 * 31
    );
}

fn keep_runs_keeps_the_newest_of_each_series(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    let pg = put(dir.path(), "pg.json", &load_result("postgres", 1.0, 1.0));
    let my = put(dir.path(), "my.json", &load_result("mysql", 1.0, 1.0));
    let report = write(dir.path(), "junit.xml", junit(false));
    for v in 1..=5 {
        record(store, &[&pg, &report], &["--version", &v.to_string()]);
    }
    record(store, &[&my], &["--version", "1"]);
    let out = record(store, &[&my], &["--version", "2", "--keep-runs", "3"]);
    // postgres load: 5 -> 3, junit: 5 -> 3, mysql: 2 stays.
    assert_eq!(out["data"]["pruned"], 4, "{out}");
    assert_eq!(store.count("SELECT COUNT(*) FROM runs"), 3 + 3 + 2);
    let answer = query(store, &["--step", "load", "--target", "postgres", "--last", "10"]);
    let versions: Vec<&str> = answer["series"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["5", "4", "3"]);
    assert_eq!(store.count("SELECT COUNT(*) FROM tests"), 3 * 5, "the pruned runs' tests went with them");
    assert_eq!(store.count("SELECT COUNT(*) FROM metrics WHERE run_id NOT IN (SELECT id FROM runs)"), 0);
    // STEPKIT_HISTORY_KEEP_RUNS does the same.
    store
        .stepkit()
        .env("STEPKIT_HISTORY_KEEP_RUNS", "1")
        .args(["history", "record", "--repository", "octo/app"])
        .args([&my])
        .run()
        .expect_code(0);
    assert_eq!(store.count("SELECT COUNT(*) FROM runs WHERE target = 'mysql'"), 1);
}

fn the_schema_is_versioned_and_a_newer_one_is_refused(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = put(dir.path(), "deploy.json", &deploy_result(1));
    record(store, &[&file], &[]);
    record(store, &[&file], &[]);
    assert_eq!(store.count("SELECT MAX(version) FROM schema_version"), 1);
    assert_eq!(store.count("SELECT COUNT(*) FROM schema_version"), 1, "opening again does not migrate again");
    store.execute("INSERT INTO schema_version(version, applied_ms) VALUES (99, 0)");
    let run = store.stepkit().args(["history", "record"]).args([&file]).run().expect_code(3);
    assert!(
        run.stderr.contains("schema version 99") && run.stderr.contains("newer stepkit"),
        "{}",
        run.stderr
    );
    let run = store.stepkit().args(["history", "query"]).run().expect_code(3);
    assert!(run.stderr.contains("schema version 99"), "{}", run.stderr);
    assert_eq!(
        store.count("SELECT COUNT(*) FROM runs"),
        2,
        "nothing written by a stepkit that does not know the schema"
    );
}

fn an_unreadable_input_names_the_file_and_records_nothing(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    let good = put(dir.path(), "deploy.json", &deploy_result(1));
    record(store, &[&good], &[]);
    for (name, content, says) in [
        ("notes.txt", "hello", "neither a stepkit result file"),
        ("broken.json", "{\"command\": ", "not JSON"),
        ("other.json", "{\"name\": \"x\"}", "no `command`"),
        ("bad.xml", "<testsuite><testcase name=\"a\">", "bad.xml"),
        (
            "future-load.json",
            "{\"command\":\"load\",\"verdict\":\"passed\",\"data\":{\"schema_version\":7}}",
            "schema version 7",
        ),
    ] {
        let bad = write(dir.path(), name, content);
        let run = store.stepkit().args(["history", "record"]).args([&good, &bad]).run().expect_code(2);
        assert!(run.stderr.contains(name) && run.stderr.contains(says), "{name}: {}", run.stderr);
    }
    let run = store
        .stepkit()
        .args(["history", "record"])
        .args([dir.path().join("absent.json")])
        .run()
        .expect_code(2);
    assert!(run.stderr.contains("absent.json") && run.stderr.contains("does not exist"), "{}", run.stderr);
    assert_eq!(store.count("SELECT COUNT(*) FROM runs"), 1, "all or nothing");
}

fn steps_given_a_store_record_themselves(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    let report = write(dir.path(), "junit.xml", junit(true));
    // STEPKIT_HISTORY set: the junit summary records its run (exit 1: a test failed, still recorded).
    let run = store
        .stepkit()
        .env("STEPKIT_HISTORY_ENVIRONMENT", "ci")
        .args(["junit", "summary"])
        .args([&report])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("recorded this run as #"), "{}", run.stderr);
    // The junit merge writes its report and records the per-test results of the merged file.
    let merged = dir.path().join("merged.xml");
    stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_HISTORY", store.location())
        .args(["junit", "merge", "-o", "merged.xml", "junit.xml"])
        .run();
    assert!(merged.is_file());
    let answer = query(store, &["--step", "junit merge"]);
    let series = &answer["series"][0];
    assert_eq!(metric(&series["latest"], "", "failed"), 1.0, "a merge passes; its report has a failure");
    assert_eq!(series["tests"]["failing"][0]["name"], "test_b", "{answer}");
    let summary = &query(store, &["--step", "junit summary"])["series"][0];
    assert_eq!(summary["environment"], "ci");
    assert_eq!(metric(&summary["latest"], "", "tests"), 5.0);
    // A usage error ran nothing: nothing recorded.
    let before = store.count("SELECT COUNT(*) FROM runs");
    store.stepkit().args(["junit", "summary", "--slowest", "many"]).args([&report]).run().expect_code(2);
    assert_eq!(store.count("SELECT COUNT(*) FROM runs"), before);
    // A store that cannot be used: the step's run is published with a warning and exit 3.
    let blocked = write(dir.path(), "file", "x");
    let run = stepkit()
        .args(["--history", blocked.join("h.sqlite").to_str().unwrap(), "junit", "summary", "--no-fail"])
        .args([&report])
        .run()
        .expect_code(3);
    assert!(run.stderr.contains("not recorded in the history"), "{}", run.stderr);
}

fn stepkit_test_records_its_run_and_every_case(store: &Store) {
    if !crate::support::have_pytest() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tests/test_app.py",
        "import time\n\ndef test_fast():\n    pass\n\ndef test_slow():\n    time.sleep(0.3)\n\ndef test_broken():\n    assert 1 == 2\n",
    );
    let run = store
        .stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_HISTORY_VERSION", "3.1")
        .args([
            "test",
            "--workers",
            "2",
            "--junit",
            "build/junit.xml",
            "--",
            "python3",
            "-m",
            "pytest",
            "tests",
        ])
        .run();
    assert_eq!(run.code, 1, "one test fails: {}", run.stderr);
    assert!(run.stderr.contains("recorded this run as #"), "{}", run.stderr);
    let answer = query(store, &["--step", "test"]);
    let series = &answer["series"][0];
    assert_eq!(series["latest"]["version"], "3.1");
    assert_eq!(series["latest"]["verdict"], "failed");
    assert_eq!(metric(&series["latest"], "", "tests"), 3.0);
    assert!(metric(&series["latest"], "", "duration_ms") > 300.0);
    assert_eq!(series["tests"]["failing"][0]["name"], "test_broken", "{answer}");
    assert_eq!(series["tests"]["slowest"][0]["name"], "test_slow");
    assert_eq!(store.count("SELECT COUNT(*) FROM tests"), 3);
}

fn stepkit_load_records_its_target_and_requests(store: &Store) {
    // A closed loopback port: every request fails to connect, quickly; the run is still history.
    let closed = crate::support::ports::closed_port();
    let port = closed.port();
    let run = stepkit()
        // The flag takes the URL without its password, which comes from the environment.
        .args([
            "--history",
            &store.location().replace(&format!(":{}@", store.password().unwrap_or_default()), "@"),
        ])
        .env("STEPKIT_HISTORY_PASSWORD", store.password().unwrap_or_default())
        .args([
            "load",
            &format!("http://127.0.0.1:{port}/items"),
            "-n",
            "20",
            "-c",
            "2",
            "--target",
            "postgres",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let answer = query(store, &["--step", "load"]);
    let series = &answer["series"][0];
    assert_eq!(series["target"], "postgres");
    assert_eq!(metric(&series["latest"], "GET /items", "errors"), 20.0);
    assert_eq!(metric(&series["latest"], "", "error_rate_pct"), 100.0);
}

fn the_password_never_reaches_output(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = put(dir.path(), "deploy.json", &deploy_result(1));
    let run =
        store.stepkit().args(["--format", "json", "history", "record"]).args([&file]).run().expect_code(0);
    let query_run = store.stepkit().args(["--format", "json", "history", "query"]).run().expect_code(0);
    let Some(password) = store.password() else { return };
    for out in [&run.stdout, &run.stderr, &query_run.stdout, &query_run.stderr] {
        assert!(!out.contains(&password), "{out}");
    }
    assert!(query_run.json()["data"]["store"].as_str().unwrap().starts_with("postgres://"));
    // A wrong password: the error names the store, not the password.
    let location = store.location().replace(&password, "wrong-password-history-9d1c");
    let run = stepkit().env("STEPKIT_HISTORY", &location).args(["history", "query"]).run().expect_code(3);
    assert!(
        run.stderr.contains("use the history store postgres://")
            && !run.stderr.contains("wrong-password-history-9d1c"),
        "{}",
        run.stderr
    );
    // On the command line a password is refused before anything connects.
    let run = stepkit().args(["--history", &store.location(), "history", "query"]).run().expect_code(2);
    assert!(
        run.stderr.contains("STEPKIT_HISTORY_PASSWORD") && !run.stderr.contains(&password),
        "{}",
        run.stderr
    );
}

#[test]
fn the_default_store_is_a_file_under_dot_stepkit() {
    let dir = tempfile::tempdir().unwrap();
    let file = put(dir.path(), "deploy.json", &deploy_result(1200));
    let run =
        stepkit().current_dir(dir.path()).args(["history", "record", "deploy.json"]).run().expect_code(0);
    assert!(run.stderr.contains(".stepkit/history.sqlite"), "{}", run.stderr);
    assert!(dir.path().join(".stepkit/history.sqlite").is_file());
    drop(file);
    // A step records itself only when a store is given: the default file is for `history` itself.
    let report = write(dir.path(), "j.xml", junit(false));
    let other = tempfile::tempdir().unwrap();
    stepkit().current_dir(other.path()).args(["junit", "summary"]).args([&report]).run().expect_code(0);
    assert!(!other.path().join(".stepkit").exists());
    // [history] store in stepkit.toml, relative to the file.
    write(
        other.path(),
        "ci/stepkit.toml",
        "[history]\nstore = \"../data/h.sqlite\"\nenvironment = \"lab\"\n",
    );
    stepkit()
        .current_dir(other.path())
        .args(["--config", "ci/stepkit.toml", "junit", "summary"])
        .args([&report])
        .run()
        .expect_code(0);
    assert!(other.path().join("data/h.sqlite").is_file());
    let run = stepkit()
        .current_dir(other.path())
        .args(["--config", "ci/stepkit.toml", "history", "query"])
        .run()
        .expect_code(0);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(answer["series"][0]["environment"], "lab");
    assert_eq!(answer["series"][0]["step"], "junit summary");
}
