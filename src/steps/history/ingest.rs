//! Inputs into runs: a stepkit result file (the envelope every step writes with `--result-file`) or a
//! JUnit report (any dialect the JUnit reader knows) becomes one `NewRun`, keyed by `Keys`, with the
//! numbers a dashboard compares (metrics) and, for tests, every case's result.

use super::store::{Metric, NewRun, RunKey, TestResult};
use super::Keys;
use crate::junit::{self, Status};
use crate::result::load::{LoadResult, RequestResult, SCHEMA_VERSION as LOAD_SCHEMA_VERSION};
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// JUnit reports are streamed, but each case becomes a row: past this size, merge or split first.
pub const MAX_JUNIT_BYTES: u64 = 512 * 1024 * 1024;

/// A run read from an input, and what the reader wants the user to know.
#[derive(Debug)]
pub struct Ingested {
    pub run: NewRun,
    pub warnings: Vec<String>,
}

/// Reads `path`: a stepkit result file (JSON) or a JUnit report (XML), told apart by the first byte.
pub fn read_input(path: &Path, keys: &Keys, cwd: &Path, now_ms: i64) -> Result<Ingested, String> {
    let size = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".to_string(),
        _ => format!("cannot read it: {e}"),
    })?;
    if !size.is_file() {
        return Err("it is not a file".into());
    }
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| format!("cannot read it: {e}"))?;
    let first = head[..n]
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&head[..n])
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') => {
            // The one reader of result files: 64 MiB cap, a newer schema_version refused.
            let value = crate::result::read(path).map_err(|e| e.to_string())?;
            let base = path.parent().unwrap_or(cwd);
            from_result(&value, &path.display().to_string(), keys, &[cwd, base], now_ms)
        }
        Some(b'<') => {
            if size.len() > MAX_JUNIT_BYTES {
                return Err(format!(
                    "it is {} MiB, more than the {} MiB a JUnit report may have here; record the shards one by one",
                    size.len() >> 20,
                    MAX_JUNIT_BYTES >> 20
                ));
            }
            let report = junit::read_file(path).map_err(|e| e.to_string())?;
            let mut run = base_run(keys, "junit", None, now_ms, &path.display().to_string());
            let (metrics, tests) = junit_rows(&report);
            let verdict =
                if metrics.iter().any(|m| (m.name == "failed" || m.name == "errors") && m.value > 0.0) {
                    "failed"
                } else if tests.is_empty() {
                    "nothing-ran"
                } else {
                    "passed"
                };
            run.verdict = verdict.into();
            run.exit_code = match verdict {
                "failed" => 1,
                "nothing-ran" => 4,
                _ => 0,
            };
            run.headline = format!("{} tests", tests.len());
            run.metrics = metrics;
            run.tests = tests;
            Ok(Ingested { run, warnings: Vec::new() })
        }
        _ => {
            Err("it is neither a stepkit result file (JSON, from --result-file) nor a JUnit report (XML)"
                .into())
        }
    }
}

/// A run with the keys filled in from `keys` (flags over what the input says over the CI's defaults).
fn base_run(keys: &Keys, step: &str, target: Option<&str>, now_ms: i64, source: &str) -> NewRun {
    NewRun {
        key: RunKey {
            repository: keys.repository.clone(),
            branch: keys.branch.clone(),
            commit: keys.commit.clone(),
            ci_run: keys.ci_run.clone(),
            step: keys.step.clone().unwrap_or_else(|| step.to_string()),
            environment: keys.environment.clone(),
            target: keys.target.clone().or_else(|| target.map(str::to_string)).unwrap_or_default(),
            version: keys.version.clone(),
        },
        recorded_ms: now_ms,
        verdict: String::new(),
        exit_code: 0,
        headline: String::new(),
        source: source.to_string(),
        metrics: Vec::new(),
        tests: Vec::new(),
    }
}

/// A stepkit result (`render_json` or `render_error_json`) as a run. `dirs` are where a path the result
/// names (the JUnit report of `stepkit test`) is looked for, in order.
pub fn from_result(
    value: &Value,
    source: &str,
    keys: &Keys,
    dirs: &[&Path],
    now_ms: i64,
) -> Result<Ingested, String> {
    let command = value.get("command").and_then(Value::as_str).filter(|c| !c.is_empty()).ok_or(
        "it is not a stepkit result file: it has no `command` (pass files written by --result-file)",
    )?;
    let verdict = value
        .get("verdict")
        .and_then(Value::as_str)
        .ok_or("it is not a stepkit result file: it has no `verdict`")?;
    let data = value.get("data").unwrap_or(&Value::Null);
    let mut warnings = Vec::new();
    let target = data.get("target").and_then(Value::as_str).filter(|t| !t.is_empty());
    let mut run = base_run(keys, command, target, now_ms, source);
    // A deploy names its own environment (`--environment`): used when none was given for the run.
    if let Some(environment) = data.get("environment").and_then(Value::as_str).filter(|e| !e.is_empty()) {
        if run.key.environment.is_empty() {
            run.key.environment = environment.to_string();
        }
    }
    run.verdict = verdict.to_string();
    run.exit_code =
        value.get("exit_code").and_then(Value::as_i64).unwrap_or(if verdict == "passed" { 0 } else { 1 });
    run.headline = value
        .get("headline")
        .or_else(|| value.get("error"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut metrics = Vec::new();
    let mut put = |subject: &str, name: &str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            metrics.push(Metric { subject: subject.into(), name: name.into(), value: v });
        }
    };
    let num = |pointer: &str| data.pointer(pointer).and_then(Value::as_f64);
    let mut junit_file: Option<&str> = None;
    match command {
        _ if data.is_null() => {}
        "test" => {
            counts(&mut put, data.pointer("/summary/counts"));
            put("", "duration_ms", num("/wall_seconds").map(|s| s * 1000.0));
            junit_file = data.get("junit").and_then(Value::as_str);
        }
        "junit merge" => {
            counts(&mut put, data.get("counts"));
            junit_file = data.get("output").and_then(Value::as_str);
        }
        "junit summary" => counts(&mut put, data.pointer("/summary/counts")),
        "load" => {
            let load = load_result(data)?;
            for request in std::iter::once(&load.overall).chain(&load.requests) {
                let subject = if std::ptr::eq(request, &load.overall) { "" } else { request.name.as_str() };
                load_metrics(&mut put, subject, request);
            }
            put("", "duration_ms", Some(load.elapsed_s * 1000.0));
        }
        "gate" => {
            put("", "duration_ms", num("/elapsed_ms"));
            put("", "opened_after_ms", num("/opened_after_ms"));
            put("", "p95_ms", num("/latency/p95_ms"));
            for probe in data.pointer("/latency/probes").and_then(Value::as_array).into_iter().flatten() {
                let name = probe.get("probe").and_then(Value::as_str).unwrap_or_default();
                for field in ["p50_ms", "p95_ms", "max_ms"] {
                    put(name, field, probe.get(field).and_then(Value::as_f64));
                }
            }
        }
        "deploy" | "deploy rollback" => {
            put("", "duration_ms", num("/duration_ms"));
            put("", "downtime_ms", num("/downtime_ms"));
            put("", "gate_ms", num("/gate/elapsed_ms"));
            put("", "p95_ms", num("/gate/latency/p95_ms"));
        }
        _ => {
            // Steps without their own mapping: their numeric step outputs (check: checks, failed, ...).
            for (name, v) in value.get("outputs").and_then(Value::as_object).into_iter().flatten() {
                put("", &name.replace('-', "_"), v.as_str().and_then(|s| s.trim().parse().ok()));
            }
        }
    }
    dedupe(&mut metrics);
    run.metrics = metrics;
    if let Some(file) = junit_file {
        match dirs.iter().map(|d| d.join(file)).find(|p| p.is_file()) {
            Some(path) => match junit::read_file(&path) {
                Ok(report) => run.tests = junit_rows(&report).1,
                Err(e) => warnings.push(format!("{source}: its JUnit report could not be read, so no per-test results were recorded: {e}")),
            },
            None => warnings.push(format!(
                "{source}: its JUnit report {file} is not here, so no per-test results were recorded; record from the job's working directory or pass the report too"
            )),
        }
    }
    Ok(Ingested { run, warnings })
}

/// One metric per (subject, name): the last one given wins.
fn dedupe(metrics: &mut Vec<Metric>) {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<Metric> =
        metrics.drain(..).rev().filter(|m| seen.insert((m.subject.clone(), m.name.clone()))).collect();
    kept.reverse();
    *metrics = kept;
}

/// The JUnit counts (`Counts` as serialized) as metrics.
fn counts(put: &mut impl FnMut(&str, &str, Option<f64>), counts: Option<&Value>) {
    let Some(c) = counts else { return };
    for (field, name) in [
        ("tests", "tests"),
        ("passed", "passed"),
        ("failures", "failed"),
        ("errors", "errors"),
        ("skipped", "skipped"),
        ("flaky", "flaky"),
    ] {
        put("", name, c.get(field).and_then(Value::as_f64));
    }
    put("", "test_time_ms", c.get("time").and_then(Value::as_f64).map(|s| s * 1000.0));
}

/// A load result through its typed schema (refusing a newer version than this stepkit reads).
fn load_result(data: &Value) -> Result<LoadResult, String> {
    let version = data.get("schema_version").and_then(Value::as_u64).unwrap_or(0);
    if version > u64::from(LOAD_SCHEMA_VERSION) {
        return Err(format!(
            "it is a load result of schema version {version}, newer than this stepkit's {LOAD_SCHEMA_VERSION}; use a newer stepkit"
        ));
    }
    serde_json::from_value(data.clone()).map_err(|e| format!("it is not a valid load result: {e}"))
}

fn load_metrics(put: &mut impl FnMut(&str, &str, Option<f64>), subject: &str, r: &RequestResult) {
    put(subject, "rps", Some(r.rps));
    put(subject, "requests", Some(r.requests as f64));
    put(subject, "errors", Some(r.errors as f64));
    put(subject, "error_rate_pct", Some(r.error_rate_pct));
    if let Some(l) = &r.latency_ms {
        for (name, v) in [
            ("p50_ms", l.p50),
            ("p90_ms", l.p90),
            ("p95_ms", l.p95),
            ("p99_ms", l.p99),
            ("max_ms", l.max),
            ("mean_ms", l.mean),
        ] {
            put(subject, name, Some(v));
        }
    }
}

/// A report's counts as metrics and its cases as test results.
fn junit_rows(report: &junit::Report) -> (Vec<Metric>, Vec<TestResult>) {
    let mut tests = Vec::new();
    report.walk(|path, case| {
        let classname = match case.classname.as_deref().filter(|c| !c.is_empty()) {
            Some(class) => class.to_string(),
            None => path.iter().copied().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/"),
        };
        let status = match case.status {
            Status::Passed if case.is_flaky() => "flaky",
            Status::Passed => "passed",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Errored => "error",
        };
        tests.push(TestResult {
            classname,
            name: case.name.to_string(),
            status: status.into(),
            duration_ms: case.time.filter(|t| t.is_finite()).map(|t| super::store::round3(t * 1000.0)),
        });
    });
    let c = report.counts();
    let mut metrics = Vec::new();
    for (name, v) in [
        ("tests", c.tests as f64),
        ("passed", c.passed as f64),
        ("failed", c.failures as f64),
        ("errors", c.errors as f64),
        ("skipped", c.skipped as f64),
        ("flaky", c.flaky as f64),
        ("test_time_ms", c.time * 1000.0),
    ] {
        metrics.push(Metric { subject: String::new(), name: name.into(), value: v });
    }
    (metrics, tests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Keys {
        Keys { repository: "octo/app".into(), version: "1.0".into(), ..Keys::default() }
    }

    fn value(run: &NewRun, subject: &str, name: &str) -> Option<f64> {
        run.metrics.iter().find(|m| m.subject == subject && m.name == name).map(|m| m.value)
    }

    #[test]
    fn a_result_of_a_newer_schema_is_refused_and_one_without_a_version_read() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("gate.json");
        std::fs::write(
            &newer,
            r#"{"command":"gate","verdict":"passed","exit_code":0,"data":{"schema_version":99}}"#,
        )
        .unwrap();
        let err = read_input(&newer, &keys(), dir.path(), 0).unwrap_err();
        assert!(err.contains("`gate` result of schema version 99"), "{err}");
        let older = dir.path().join("old.json");
        std::fs::write(
            &older,
            r#"{"command":"gate","verdict":"passed","exit_code":0,"data":{"elapsed_ms":5}}"#,
        )
        .unwrap();
        let run = read_input(&older, &keys(), dir.path(), 0).unwrap().run;
        assert_eq!(value(&run, "", "duration_ms"), Some(5.0));
    }

    #[test]
    fn a_test_result_brings_its_junit_cases_from_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("out/build")).unwrap();
        std::fs::write(
            dir.path().join("out/build/junit.xml"),
            r#"<testsuite name="s"><testcase classname="C" name="a" time="0.5"/><testcase name="b"><error/></testcase></testsuite>"#,
        )
        .unwrap();
        let result = json!({"command": "test", "verdict": "failed", "exit_code": 1, "headline": "1 of 2 failed",
            "data": {"junit": "build/junit.xml", "wall_seconds": 1.5,
                     "summary": {"counts": {"tests": 2, "passed": 1, "failures": 0, "errors": 1, "skipped": 0, "flaky": 0, "time": 0.5}}}});
        std::fs::write(dir.path().join("out/test.json"), result.to_string()).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let got = read_input(&dir.path().join("out/test.json"), &keys(), elsewhere.path(), 7).unwrap();
        let run = got.run;
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        assert_eq!(
            (run.key.step.as_str(), run.verdict.as_str(), run.exit_code, run.recorded_ms),
            ("test", "failed", 1, 7)
        );
        assert_eq!((value(&run, "", "errors"), value(&run, "", "duration_ms")), (Some(1.0), Some(1500.0)));
        assert_eq!(run.tests.len(), 2);
        assert_eq!((run.tests[0].classname.as_str(), run.tests[0].duration_ms), ("C", Some(500.0)));
        assert_eq!(
            (run.tests[1].classname.as_str(), run.tests[1].status.as_str()),
            ("s", "error"),
            "no class: the suite"
        );

        // Its report gone: the counts are still recorded, and the user is told why the cases are not.
        std::fs::remove_file(dir.path().join("out/build/junit.xml")).unwrap();
        let got = read_input(&dir.path().join("out/test.json"), &keys(), elsewhere.path(), 7).unwrap();
        assert!(
            got.run.tests.is_empty() && got.warnings[0].contains("build/junit.xml"),
            "{:?}",
            got.warnings
        );
    }

    #[test]
    fn gate_deploy_errors_and_other_steps() {
        let at = |v: Value| from_result(&v, "r.json", &keys(), &[], 0).unwrap().run;
        let gate = at(json!({"command": "gate", "verdict": "passed", "exit_code": 0,
            "data": {"elapsed_ms": 900, "opened_after_ms": 850, "latency": {"p95_ms": 12.5,
                     "probes": [{"probe": "http://app/health", "p50_ms": 3.0, "p95_ms": 12.5, "max_ms": null}]}}}));
        assert_eq!(value(&gate, "", "duration_ms"), Some(900.0));
        assert_eq!(value(&gate, "http://app/health", "p95_ms"), Some(12.5));
        assert_eq!(value(&gate, "http://app/health", "max_ms"), None, "null is not a number");

        let deploy = at(
            json!({"command": "deploy", "verdict": "passed", "data": {"environment": "prod", "duration_ms": 5}}),
        );
        assert_eq!((deploy.key.environment.as_str(), value(&deploy, "", "duration_ms")), ("prod", Some(5.0)));
        let failed = at(
            json!({"command": "deploy", "verdict": "error", "exit_code": 3, "error": "connect to docker"}),
        );
        assert_eq!(
            (failed.verdict.as_str(), failed.exit_code, failed.headline.as_str()),
            ("error", 3, "connect to docker")
        );
        assert!(failed.metrics.is_empty());

        let check = at(json!({"command": "check", "verdict": "failed", "exit_code": 1,
            "outputs": {"checks": "3", "failed": "1", "note": "text"}, "data": {"plugins": []}}));
        assert_eq!(
            (value(&check, "", "checks"), value(&check, "", "failed"), value(&check, "", "note")),
            (Some(3.0), Some(1.0), None)
        );

        let mut k = keys();
        k.step = Some("smoke".into());
        k.target = Some("mysql".into());
        let load = from_result(
            &json!({"command": "load", "verdict": "passed", "data": {"schema_version": 1, "target": "postgres"}}),
            "l.json",
            &k,
            &[],
            0,
        );
        assert!(load.unwrap_err().contains("not a valid load result"));
        let gate =
            from_result(&json!({"command": "gate", "verdict": "passed"}), "g.json", &k, &[], 0).unwrap().run;
        assert_eq!((gate.key.step.as_str(), gate.key.target.as_str()), ("smoke", "mysql"), "flags win");
        assert!(from_result(&json!({"verdict": "passed"}), "x.json", &k, &[], 0)
            .unwrap_err()
            .contains("no `command`"));
    }
}
