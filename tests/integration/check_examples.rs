//! The example plugins `coverage` and `http-latency` through the real host: pass and fail cases.

use crate::check::{check, components, dist, error_kind, ok_response, plugin, serve};
use crate::support::contract::text;
use crate::support::write;
use serde_json::Value;
use std::path::Path;

/// Two files: app/a.py fully covered (4 of 4 lines), app/b.py half (2 of 4): 75% in total.
const COBERTURA: &str = r#"<?xml version="1.0" ?>
<coverage version="7.4" line-rate="0.75" lines-valid="8" lines-covered="6">
  <sources><source>/build/src</source></sources>
  <packages><package name="app" line-rate="0.75"><classes>
    <class name="a.py" filename="app/a.py" line-rate="1"><methods/><lines>
      <line number="1" hits="1"/><line number="2" hits="3"/><line number="3" hits="1"/><line number="4" hits="1"/>
    </lines></class>
    <class name="b.py" filename="app/b.py" line-rate="0.5"><methods/><lines>
      <line number="1" hits="1"/><line number="2" hits="0"/><line number="3" hits="2"/><line number="4" hits="0"/>
    </lines></class>
  </classes></package></packages>
</coverage>
"#;

/// PHPUnit-style Clover: src/A.php 9 of 10 statements, src/B.php 3 of 10: 60% in total.
const CLOVER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<coverage generated="1700000000">
  <project timestamp="1700000000">
    <package name="App">
      <file name="A.php" path="src/A.php"><line num="3" type="stmt" count="1"/><metrics loc="20" ncloc="15" statements="10" coveredstatements="9" elements="10" coveredelements="9"/></file>
    </package>
    <file name="B.php" path="src/B.php"><metrics loc="20" ncloc="15" statements="10" coveredstatements="3" elements="10" coveredelements="3"/></file>
    <metrics files="2" loc="40" ncloc="30" statements="20" coveredstatements="12" elements="20" coveredelements="12"/>
  </project>
</coverage>
"#;

/// Runs `coverage` in `dir` with `reports/` granted and `args`, expecting `code`; returns its JSON entry.
fn coverage(dir: &Path, args: &[&str], code: i32) -> Value {
    let file = dist("coverage");
    let mut all = vec!["--plugin", file.to_str().unwrap(), "--allow-read", "reports"];
    all.extend_from_slice(args);
    let run = check(&all).current_dir(dir).run().expect_code(code);
    let json = run.json();
    plugin(&run, &json, 0).clone()
}

fn metric(entry: &Value, name: &str) -> f64 {
    let metrics = entry["report"]["metrics"].as_array().unwrap_or_else(|| panic!("no metrics in {entry:#}"));
    metrics
        .iter()
        .find(|m| m["name"] == name)
        .and_then(|m| m["value"].as_f64())
        .unwrap_or_else(|| panic!("no metric {name} in {entry:#}"))
}

fn finding_files(entry: &Value) -> Vec<&str> {
    entry["report"]["findings"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap_or("")).collect()
}

#[test]
fn coverage_holds_cobertura_to_its_minimums() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "reports/cobertura.xml", COBERTURA);
    let path = "path=reports/cobertura.xml";

    let entry = coverage(dir.path(), &["--set", path, "--set", "min=70"], 0);
    assert_eq!(entry["verdict"], "pass", "{entry:#}");
    assert_eq!(
        (metric(&entry, "coverage"), metric(&entry, "lines covered"), metric(&entry, "lines")),
        (75.0, 6.0, 8.0)
    );

    let entry = coverage(dir.path(), &["--set", path, "--set", "min=80"], 1);
    assert_eq!(entry["verdict"], "fail", "{entry:#}");
    assert!(entry["report"]["summary"].as_str().unwrap().contains("75.0%"), "{entry:#}");

    // The total passes, one file is under the per-file minimum: a failure annotated on that file.
    let entry = coverage(dir.path(), &["--set", path, "--set", "min=70", "--set", "file-min=60"], 1);
    assert_eq!(finding_files(&entry), ["app/b.py"], "{entry:#}");

    // The same, but only changed files count, and b.py is not one of them.
    write(dir.path(), "changed.txt", "app/a.py\n");
    let entry = coverage(
        dir.path(),
        &[
            "--set",
            path,
            "--set",
            "min=70",
            "--set",
            "file-min=60",
            "--set",
            "changed-only=yes",
            "--changed-files",
            "changed.txt",
        ],
        0,
    );
    assert_eq!(entry["verdict"], "pass", "{entry:#}");
}

#[test]
fn coverage_reads_clover_and_needs_its_grant() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "reports/clover.xml", CLOVER);
    let path = "path=reports/clover.xml";

    let entry = coverage(dir.path(), &["--set", path, "--set", "min=60"], 0);
    assert_eq!(entry["verdict"], "pass", "{entry:#}");
    assert_eq!(metric(&entry, "coverage"), 60.0);

    let entry = coverage(dir.path(), &["--set", path, "--set", "min=50", "--set", "file-min=50"], 1);
    assert_eq!(entry["verdict"], "fail", "{entry:#}");
    assert_eq!(finding_files(&entry), ["src/B.php"], "{entry:#}");

    // Not XML of either kind: the plugin's own io error, naming the file.
    write(dir.path(), "reports/junit.xml", "<testsuites/>");
    let entry = coverage(dir.path(), &["--set", "path=reports/junit.xml"], 1);
    assert_eq!(error_kind(&entry), "check-error", "{entry:#}");
    assert!(entry["error"]["message"].as_str().unwrap().contains("reports/junit.xml"), "{entry:#}");

    // Without --allow-read the report is not there for the plugin.
    let file = dist("coverage");
    let run = check(&["--plugin", file.to_str().unwrap(), "--set", path])
        .current_dir(dir.path())
        .run()
        .expect_code(1);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    assert_eq!(error_kind(entry), "check-error", "{entry:#}");
    assert!(
        entry["error"]["message"].as_str().unwrap().contains("not found in the granted directories"),
        "{entry:#}"
    );
}

/// Runs `http-latency` against `port` with `args`, expecting `code`; returns its JSON entry.
fn latency(port: u16, args: &[&str], code: i32) -> Value {
    let file = dist("http-latency");
    let (url, grant) = (format!("url=http://127.0.0.1:{port}/health"), format!("127.0.0.1:{port}"));
    let mut all =
        vec!["--plugin", file.to_str().unwrap(), "--allow-host", &grant, "--set", &url, "--set", "samples=3"];
    all.extend_from_slice(args);
    let run = check(&all).run().expect_code(code);
    let json = run.json();
    plugin(&run, &json, 0).clone()
}

#[test]
fn http_latency_passes_a_healthy_endpoint_and_fails_errors() {
    if !components() {
        return;
    }
    // A budget no loopback answer can miss: the verdict depends on the answers, never on timing.
    let budget = "p95-max-ms=60000";
    let server = serve(vec![ok_response("ok"); 3]);
    let port = server.port();
    let entry = latency(port, &["--set", budget], 0);
    assert_eq!(entry["verdict"], "pass", "{entry:#}");
    assert_eq!(metric(&entry, "errors"), 0.0);
    assert!(entry["report"]["summary"].as_str().unwrap().contains("p95"), "{entry:#}");

    let error = text(503, "down");
    let server = serve(vec![ok_response("ok"), error.clone(), error]);
    let port = server.port();
    let entry = latency(port, &["--set", budget], 1);
    assert_eq!(entry["verdict"], "fail", "{entry:#}");
    assert_eq!(metric(&entry, "errors"), 2.0);
    let messages: Vec<&str> = entry["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{entry:#}");
    assert!(messages.iter().all(|m| m.contains("503")), "{messages:?}");

    // Nothing listens on this port (the test holds it): every request fails to connect.
    let closed = crate::support::ports::closed_port();
    let entry = latency(closed.port(), &["--set", budget, "--set", "timeout-ms=2000"], 1);
    assert!(entry["report"]["summary"].as_str().unwrap().contains("all 3 requests failed"), "{entry:#}");
}

#[test]
fn http_latency_without_its_grant_is_denied() {
    if !components() {
        return;
    }
    let server = serve(vec![ok_response("never asked")]);
    let port = server.port();
    let file = dist("http-latency");
    let run = check(&["--plugin", file.to_str().unwrap(), "--set", &format!("url=http://127.0.0.1:{port}/")])
        .run()
        .expect_code(1);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    assert_eq!(error_kind(entry), "check-error", "{entry:#}");
    assert!(entry["error"]["message"].as_str().unwrap().contains("denied"), "{entry:#}");
    assert!(server.requests_blocking().is_empty(), "a plugin without the grant reached the server");
}
