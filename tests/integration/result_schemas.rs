//! Every typed step result from a real run: compared with its committed snapshot in
//! tests/fixtures/results/ (volatile values normalised) and validated against its published JSON
//! Schema in docs/schemas/ with check-jsonschema (which .ci/run installs).
//! `STEPKIT_UPDATE_SNAPSHOTS=1` rewrites the snapshots; review the diff before committing it.

use crate::support::contract::{text, Contract};
use crate::support::{in_ci, stepkit, write};
use serde_json::Value;
use std::path::Path;

const PASSING: &str = r#"<?xml version="1.0"?>
<testsuite name="suite" time="1.5">
  <testcase classname="UserTest" name="testCreate" file="tests/UserTest.php" line="10" time="0.5"/>
  <testcase classname="UserTest" name="testDelete" file="tests/UserTest.php" line="20" time="1.0">
    <failure type="AssertionError" message="expected 1, got 2">tests/UserTest.php:22</failure>
  </testcase>
</testsuite>"#;

const RETRY: &str = r#"<?xml version="1.0"?>
<testsuite name="suite" time="2">
  <testcase classname="UserTest" name="testDelete" file="tests/UserTest.php" line="20" time="0.9"/>
  <testcase classname="OrderTest" name="testTotal" file="tests/OrderTest.php" line="5" time="1.1"><skipped message="no db"/></testcase>
</testsuite>"#;

/// Keys whose values change from run to run: numbers become 0, strings `<volatile>`.
const VOLATILE: &[&str] = &[
    "started_at",
    "recorded_at",
    "generated_at",
    "deployed_at",
    "received_ms",
    "created_ms",
    "elapsed_ms",
    "opened_after_ms",
    "at_ms",
    "latency_ms",
    "p50_ms",
    "p95_ms",
    "max_ms",
    "duration_ms",
    "wall_seconds",
    "cpu_seconds",
    "busy_seconds",
    "predicted_seconds",
    "ideal_makespan_seconds",
    "time",
    "opened-after-ms",
    "p95-ms",
];

/// The run's JSON result with volatile values replaced, temp paths as `<tmp>`, loopback ports as
/// `<port>` and durations in text as `<n>s`/`<n> ms`, so the snapshot is the same on every machine.
fn normalise(value: &Value, tmp: &Path) -> Value {
    let tmp_real = tmp.canonicalize().unwrap_or_else(|_| tmp.to_path_buf());
    let text = |s: &str| {
        let s =
            s.replace(&tmp_real.display().to_string(), "<tmp>").replace(&tmp.display().to_string(), "<tmp>");
        let s = regex_lite(
            &s,
            "127.0.0.1:",
            |rest| rest.chars().take_while(char::is_ascii_digit).count(),
            "<port>",
        );
        durations(&s)
    };
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut v = if VOLATILE.contains(&k.as_str()) { volatile(v) } else { normalise(v, tmp) };
                    // Ordered by time, which varies: by id instead.
                    if let ("slowest", Value::Array(items)) = (k.as_str(), &mut v) {
                        items.sort_by_key(|item| item["id"].to_string());
                    }
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| normalise(v, tmp)).collect()),
        Value::String(s) => Value::String(text(s)),
        other => other.clone(),
    }
}

fn volatile(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => serde_json::json!(0.0),
        Value::Number(_) => serde_json::json!(0),
        Value::String(_) => Value::String("<volatile>".into()),
        Value::Array(items) => Value::Array(items.iter().map(volatile).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), volatile(v))).collect()),
        other => other.clone(),
    }
}

/// Replaces what follows each `marker` (its length told by `len`) with `with`.
fn regex_lite(s: &str, marker: &str, len: impl Fn(&str) -> usize, with: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let n = len(after);
        out.push_str(&rest[..at + marker.len()]);
        out.push_str(if n > 0 { with } else { "" });
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

/// `12 ms`, `0.1s`, `1.234s` in headlines and text: a number directly before `ms`/`s` becomes `<n>`.
fn durations(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric());
        if starts_number {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let space = usize::from(chars.get(j) == Some(&' '));
            let unit_at = j + space;
            let unit: String = chars[unit_at..].iter().take(2).collect();
            let unit_len = if unit == "ms" {
                2
            } else if unit.starts_with('s') {
                1
            } else {
                0
            };
            let ends = chars.get(unit_at + unit_len).is_none_or(|c| !c.is_alphanumeric());
            if unit_len > 0 && ends {
                out.push_str("<n>");
                out.extend(&chars[j..unit_at + unit_len]);
                i = unit_at + unit_len;
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Compares the normalised result with tests/fixtures/results/`name`.json.
fn snapshot(name: &str, result: &Value, tmp: &Path) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results").join(format!("{name}.json"));
    let mut actual = serde_json::to_string_pretty(&normalise(result, tmp)).unwrap();
    actual.push('\n');
    if std::env::var_os("STEPKIT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "the {name} result differs from {} (STEPKIT_UPDATE_SNAPSHOTS=1 rewrites it; review the diff):\n{actual}",
        path.display()
    );
}

/// Validates `result` against docs/schemas/`schema` with check-jsonschema. A developer without it is
/// told and skipped; under CI=true it must be there.
fn validate(schema: &str, result: &Value) {
    let found = std::process::Command::new("check-jsonschema")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(!in_ci(), "check-jsonschema is required under CI=true (.ci/run installs it)");
        eprintln!("skipping the schema check of {schema}: check-jsonschema is not installed (pip install check-jsonschema)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "result.json", serde_json::to_vec_pretty(result).unwrap());
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas").join(schema);
    let out = std::process::Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(&schema_path)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the result does not validate against {schema}:\n{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        serde_json::to_string_pretty(result).unwrap()
    );
}

/// Runs stepkit in `dir` with `--format json --result-file result.json` and then `args`, expects
/// `code`, and checks the result: printed and written alike, a `schema_version`, equal to snapshot
/// `name`, valid against its command's published schema.
fn check_result(dir: &Path, env: &[(&str, &str)], args: &[&str], code: i32, name: &str) {
    let mut step = stepkit().current_dir(dir);
    for (key, value) in env {
        step = step.env(key, value);
    }
    let run =
        step.args(["--format", "json", "--result-file", "result.json"]).args(args).run().expect_code(code);
    let printed = run.json();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(printed, written, "--format json and --result-file write the same document");
    assert!(printed["data"]["schema_version"].is_u64(), "{printed}");
    snapshot(name, &printed, dir);
    let command = printed["command"].as_str().unwrap().replace(' ', "-");
    validate(&format!("{command}-result.schema.json"), &printed);
}

fn junit_inputs(dir: &Path) {
    write(dir, "reports/a.xml", PASSING);
    write(dir, "reports/b.xml", RETRY);
}

#[test]
fn junit_merge_result_matches_its_snapshot_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    junit_inputs(dir.path());
    check_result(
        dir.path(),
        &[],
        &["junit", "merge", "--fold-across-files", "reports/*.xml", "reports/none-*.xml", "-o", "merged.xml"],
        0,
        "junit-merge",
    );
}

#[test]
fn junit_summary_result_matches_its_snapshot_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    junit_inputs(dir.path());
    check_result(dir.path(), &[], &["junit", "summary", "reports/*.xml"], 1, "junit-summary");
}

#[test]
fn test_result_matches_its_snapshot_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t/pass.sh", "exit 0\n");
    write(dir.path(), "t/fail.sh", "echo 'expected 42' >&2; exit 1\n");
    write(dir.path(), "run.sh", "#!/bin/sh\nrc=0\nfor f in \"$@\"; do sh \"$f\" || rc=1; done\nexit $rc\n");
    std::process::Command::new("chmod").arg("+x").arg(dir.path().join("run.sh")).status().unwrap();
    check_result(
        dir.path(),
        &[],
        &["test", "--workers", "1", "--files", "t/*.sh", "--junit", "junit.xml", "--", "./run.sh", "{files}"],
        1,
        "test",
    );

    // Nothing found: the short form of the same schema.
    check_result(
        dir.path(),
        &[],
        &["test", "--files", "nothing/*.sh", "--", "./run.sh", "{files}"],
        4,
        "test-nothing-found",
    );
}

#[test]
fn coverage_merge_result_matches_its_snapshot_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.info", "SF:src/a.rs\nDA:1,1\nDA:2,0\nBRDA:2,0,0,1\nBRDA:2,0,1,0\nend_of_record\n");
    write(
        dir.path(),
        "b.info",
        "SF:src/a.rs\nDA:1,0\nDA:2,3\nend_of_record\nSF:src/b.rs\nDA:1,0\nend_of_record\n",
    );
    check_result(
        dir.path(),
        &[],
        &["coverage", "merge", "a.info", "b.info", "-o", "merged.xml"],
        0,
        "coverage-merge",
    );
}

/// A loopback HTTP server answering every request with 200 until it is dropped.
fn healthy_server() -> Contract {
    let server = Contract::start_blocking();
    server.route_blocking("*", "*", text(200, "ok"));
    server
}

#[test]
fn gate_result_matches_its_snapshot_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let server = healthy_server();
    let port = server.port();
    let url = format!("http://127.0.0.1:{port}/health");
    check_result(
        dir.path(),
        &[],
        &["gate", "--http", &url, "--interval", "100ms", "--deadline", "20s", "--samples", "3"],
        0,
        "gate",
    );
}

#[test]
fn plugin_new_result_matches_its_snapshot_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    check_result(dir.path(), &[], &["plugin", "new", "licenses"], 0, "plugin-new");
}

#[test]
fn notify_result_matches_its_snapshot_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    junit_inputs(dir.path());
    stepkit()
        .current_dir(dir.path())
        .args(["--result-file", "merge.json", "junit", "merge", "reports/a.xml", "-o", "merged.xml"])
        .run()
        .expect_code(0);
    // `--when failure` on a passing step: nothing is sent, so the webhook (loopback, closed) is never asked.
    check_result(
        dir.path(),
        &[("STEPKIT_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/services/T0/B0/never-asked")],
        &["notify", "--result", "merge.json", "--when", "failure"],
        0,
        "notify",
    );
}

#[test]
fn an_error_result_validates_against_the_step_schema() {
    let dir = tempfile::tempdir().unwrap();
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "--result-file", "result.json", "coverage", "merge", "none.info"])
        .args(["-o", "merged.xml"])
        .run();
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap()).unwrap();
    assert_eq!(result["verdict"], "error", "{}", run.stderr);
    assert_eq!(result["data"], Value::Null, "an error result has no data");
    validate("coverage-merge-result.schema.json", &result);
}

#[test]
fn readers_refuse_a_newer_result_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "future.json",
        r#"{"command":"gate","verdict":"passed","exit_code":0,"data":{"schema_version":99,"latency":{"p95_ms":5}}}"#,
    );
    let server = healthy_server();
    let port = server.port();
    let url = format!("http://127.0.0.1:{port}/");
    let run = stepkit()
        .current_dir(dir.path())
        .args(["gate", "--http", &url, "--samples", "2", "--baseline", "future.json"])
        .run()
        .expect_code(2);
    assert!(run.stderr.contains("future.json") && run.stderr.contains("schema version 99"), "{}", run.stderr);
}

/// Runs stepkit in `dir` with `env` and `args`, expecting exit 0 (a step whose result feeds the next).
fn run_ok(dir: &Path, env: &[(&str, &str)], args: &[&str]) {
    let mut step = stepkit().current_dir(dir);
    for (key, value) in env {
        step = step.env(key, value);
    }
    step.args(args).run().expect_code(0);
}

#[test]
fn history_record_query_and_dashboard_results_match_their_snapshots_and_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    let env = [("STEPKIT_HISTORY", store.to_str().unwrap())];
    junit_inputs(dir.path());
    // Two versions of a real `junit merge` result, recorded into a new SQLite store.
    let merge = ["--result-file", "merge.json", "junit", "merge", "reports/a.xml", "-o", "merged.xml"];
    run_ok(dir.path(), &[], &merge);
    let keys = ["--repository", "octo/app", "--branch", "main", "--step", "unit"];
    run_ok(
        dir.path(),
        &env,
        &[&["history", "record", "merge.json", "--version", "1.0.0"][..], &keys].concat(),
    );
    check_result(
        dir.path(),
        &env,
        &[&["history", "record", "merge.json", "--version", "1.0.1"][..], &keys].concat(),
        0,
        "history-record",
    );
    check_written(dir.path(), &env, &["history", "query"], "history-query");
    check_result(dir.path(), &env, &["dashboard", "-o", "page.html"], 0, "dashboard");
}

/// `check_result` for a command whose stdout is not the result document (`history query` prints its
/// answer): the written result file is compared with the snapshot and validated.
fn check_written(dir: &Path, env: &[(&str, &str)], args: &[&str], name: &str) {
    let mut all = vec!["--result-file", "result.json"];
    all.extend_from_slice(args);
    run_ok(dir, env, &all);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert!(written["data"]["schema_version"].is_u64(), "{written}");
    snapshot(name, &written, dir);
    let command = written["command"].as_str().unwrap().replace(' ', "-");
    validate(&format!("{command}-result.schema.json"), &written);
}

/// A real first deploy, an upgrade, a rollback and a companion removal of a busybox app on the running
/// Docker engine: the upgrade's result (previous version, duration delta from `--previous-result`, gate
/// evidence), the rollback's and the companion command's against their snapshots and schemas.
#[test]
fn deploy_rollback_and_companion_results_match_their_snapshots_and_schemas() {
    if !crate::image::have_docker() {
        return;
    }
    let mut f = crate::deploy::Fixture::new("schema");
    let v1 = f.build(crate::deploy::Kind::Healthy, "v1");
    let v2 = f.build(crate::deploy::Kind::Healthy, "v2");
    let gated = ["--stop-timeout", "1s", "--interval", "200ms", "--deadline", "40s"];
    let step = |result: &str, args: &[&str]| {
        let all = [&["--format", "json", "--result-file", result][..], args, &["--name", &f.app]].concat();
        let printed = stepkit().current_dir(f.dir.path()).args(all).run().expect_code(0).json();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(f.dir.path().join(result)).unwrap()).unwrap();
        assert_eq!(printed, written, "--format json and --result-file write the same document");
        assert!(printed["data"]["schema_version"].is_u64(), "{printed}");
        let command = printed["command"].as_str().unwrap().replace(' ', "-");
        validate(&format!("{command}-result.schema.json"), &printed);
        printed
    };
    let deploy = |image: &str, result: &str| {
        let args = [&["deploy", "--image", image, "--previous-result", "first.json"][..], &gated].concat();
        step(result, &args)
    };
    deploy(&v1, "first.json");
    let upgrade = deploy(&v2, "second.json");
    assert!(upgrade["data"]["previous_duration_ms"].is_u64(), "the delta comes from first.json: {upgrade}");
    snapshot("deploy", &deploy_stable(&upgrade, &f.app), f.dir.path());
    let rollback = step("rollback.json", &[&["deploy", "rollback"][..], &gated].concat());
    snapshot("deploy-rollback", &deploy_stable(&rollback, &f.app), f.dir.path());
    // A companion declared but never started: removing it finds nothing (`absent`), without a deploy.
    write(
        f.dir.path(),
        "stepkit.toml",
        format!("[deploy.companions.cache]\nimage = \"{v1}\"\nnetwork = \"never-made\"\n"),
    );
    let removed = step("remove.json", &["deploy", "companion", "remove", "cache"]);
    assert_eq!(removed["data"]["result"], "absent", "{removed}");
    snapshot("deploy-companion-remove", &deploy_stable(&removed, &f.app), f.dir.path());
}

/// A deploy result with what differs per run made fixed: the app's unique name, ids, digests and the
/// times in kept versions' names, and the gate's attempts (how many it took depends on how fast the
/// container starts: the last is kept).
fn deploy_stable(result: &Value, app: &str) -> Value {
    let data = &result["data"];
    let mut text = timestamped_names(&result.to_string()).replace(app, "<app>");
    for volatile in
        [&data["digest"], &data["container_id"], &data["previous"]["digest"], &data["previous"]["id"]]
    {
        if let Some(value) = volatile.as_str() {
            text = text.replace(value, "<id>").replace(&value[..value.len().min(19)], "<id>");
        }
    }
    let mut stable: Value = serde_json::from_str(&text).unwrap();
    for gate in ["gate", "restore_gate"] {
        // `get_mut`: indexing would add the key to a result that has none (a companion command's).
        let Some(gate) = stable["data"].get_mut(gate).filter(|g| !g.is_null()) else { continue };
        if let Some(attempts) = gate["attempts"].as_array_mut() {
            let last = attempts.pop();
            attempts.clear();
            attempts.extend(last);
        }
        for key in ["rounds", "attempts_dropped"] {
            gate[key] = serde_json::json!(0);
        }
        // `open after 180 ms (1 round)`: the rounds vary with the container's start.
        if let Some(headline) = gate["headline"].as_str() {
            gate["headline"] = Value::String(one_duration(headline.split(" (").next().unwrap_or_default()));
        }
    }
    for key in ["duration-ms", "duration-delta-ms"] {
        if stable["outputs"].get(key).is_some() {
            stable["outputs"][key] = serde_json::json!("<n>");
        }
    }
    for key in ["previous_duration_ms", "duration_delta_ms"] {
        if stable["data"].get(key).is_some() {
            stable["data"][key] = serde_json::json!(0);
        }
    }
    stable["headline"] = Value::String(one_duration(stable["headline"].as_str().unwrap_or_default()));
    stable
}

/// `APP-prev-20261204T234931.719Z` (a kept version's name) as `APP-prev-<time>`.
fn timestamped_names(text: &str) -> String {
    let mut out = text.to_string();
    for marker in ["-prev-", "-rolledback-"] {
        let mut from = 0;
        while let Some(at) = out[from..].find(marker).map(|i| from + i + marker.len()) {
            let stamp = out[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').count();
            out.replace_range(at..at + stamp, "<time>");
            from = at;
        }
    }
    out
}

/// Durations in text read `<n> ms` under a second and `<n>s` above: one form for both.
fn one_duration(text: &str) -> String {
    durations(text).replace("<n> ms", "<n>").replace("<n>s", "<n>")
}

/// A real `hook serve` that logged one refused (unsigned) delivery and was stopped by SIGTERM, then
/// `hook list` of its log: both results against their snapshots and schemas.
#[test]
fn hook_serve_and_list_results_match_their_snapshots_and_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[hook]\nclone = \"clones\"\n[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\n\
                  steps = [[\"junit\", \"summary\", \"report.xml\"]]\n";
    let server = crate::hook::start(dir.path(), config, &["--result-file", "serve.json"]);
    let (status, body) = crate::hook::post(server.addr, &[("X-GitHub-Event", "push")], "{}");
    assert_eq!(status, 401, "an unsigned delivery is refused (and logged)");
    assert_eq!(
        body, "{\"error\":\"refused: unsigned (no signature or token header)\"}\n",
        "the answer's body"
    );
    let (code, output) = server.stop();
    assert_eq!(code, 0, "{output}");
    let served: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("serve.json")).unwrap()).unwrap();
    validate("hook-serve-result.schema.json", &served);
    snapshot("hook-serve", &served, dir.path());
    check_result(
        dir.path(),
        &[],
        &["hook", "list", "--config", "stepkit.toml", "--state-dir", "state"],
        0,
        "hook-list",
    );
}
