//! `stepkit gate` end to end: real HTTP (busybox httpd) and HTTPS (openssl s_server) servers on
//! loopback, real containers, the exit codes, the evidence, the latency gate, TLS trust, the GitHub
//! step summary and the `[gate]` table of stepkit.toml.

use crate::image::{docker, have_docker, unique};
use crate::support::ports::{closed_port, free_port_for};
use crate::support::wait::wait_for;
use crate::support::{require_tool, stepkit, write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server `command(port)` describes on a free loopback port and waits until it accepts
/// connections; a server that exits first lost its port to another test and is started on a new one.
fn server_on_a_free_port(what: &str, command: impl Fn(u16) -> Command) -> (Server, u16) {
    free_port_for(what, |port| {
        let child = command(port).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let mut server = Server(child.unwrap_or_else(|e| panic!("{what} starts: {e}")));
        wait_for(&format!("{what} to listen on port {port}"), || {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                Some(true)
            } else {
                server.0.try_wait().unwrap().map(|_| false)
            }
        })
        .then_some((server, port))
    })
}

/// busybox httpd serving `dir` on a fresh loopback port.
fn httpd(dir: &Path) -> (Server, u16) {
    server_on_a_free_port("busybox httpd", |port| {
        let mut command = Command::new("busybox");
        command.args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"]).arg(dir);
        command
    })
}

#[test]
fn opens_on_a_healthy_page_with_the_evidence() {
    if !require_tool("busybox") {
        return;
    }
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "health", "{\"status\":\"ok\",\"version\":\"1.2\"}");
    let (_server, port) = httpd(site.path());
    let run = stepkit()
        .args([
            "--format",
            "json",
            "gate",
            "--http",
            &format!("http://127.0.0.1:{port}/health"),
            "--json",
            "/status=ok",
            "--body-contains",
            "1.2",
        ])
        .args([
            "--tcp",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "200ms",
            "--successes",
            "2",
            "--deadline",
            "20s",
        ])
        .run()
        .expect_code(0);
    let json = run.json();
    assert_eq!(json["verdict"], "passed", "{json}");
    let attempts = json["data"]["attempts"].as_array().expect("every attempt is evidence");
    assert!(attempts.len() >= 4, "two rounds of two probes: {json}");
    assert!(attempts.iter().any(|a| a["status"] == 200), "{json}");
}

#[test]
fn a_wrong_answer_closes_the_gate_after_the_failures_and_shows_why() {
    if !require_tool("busybox") {
        return;
    }
    let site = tempfile::tempdir().unwrap();
    let (_server, port) = httpd(site.path());
    let run = stepkit()
        .args([
            "gate",
            "--http",
            &format!("http://127.0.0.1:{port}/missing"),
            "--interval",
            "100ms",
            "--failures",
            "3",
            "--deadline",
            "30s",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("404"), "the status is in the evidence: {}", run.stderr);
}

#[test]
fn nothing_listening_runs_into_the_deadline_with_exit_124_and_the_error_class() {
    let closed = closed_port();
    let port = closed.port();
    let started = Instant::now();
    let run = stepkit()
        .args([
            "--format",
            "json",
            "gate",
            "--http",
            &format!("http://127.0.0.1:{port}/"),
            "--interval",
            "200ms",
            "--deadline",
            "1500ms",
        ])
        .run();
    assert_eq!(run.code, 124, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
    let json = run.json();
    let attempt = &json["data"]["attempts"][0];
    assert_eq!(attempt["outcome"], "error", "refused is an error, not a wrong answer: {json}");
    assert_eq!(attempt["error_class"], "refused", "{json}");
}

#[test]
fn the_gate_table_of_stepkit_toml_sets_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stepkit.toml", "[gate]\ndeadline = \"1s\"\ninterval = \"250ms\"\n");
    let closed = closed_port();
    let port = closed.port();
    let started = Instant::now();
    let run = stepkit().current_dir(dir.path()).args(["gate", "--tcp", &format!("127.0.0.1:{port}")]).run();
    assert_eq!(run.code, 124, "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the file's 1 s deadline applied, not the 2 min default"
    );
    write(dir.path(), "stepkit.toml", "[gate]\ndeadline = \"soon\"\n");
    let run = stepkit().current_dir(dir.path()).args(["gate", "--tcp", &format!("127.0.0.1:{port}")]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("[gate]") && run.stderr.contains("deadline"), "{}", run.stderr);
}

/// A CA and a certificate for 127.0.0.1 signed by it, made with the openssl CLI.
fn make_certificates(dir: &Path) {
    let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=stepkit-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 1 -extfile leaf.ext 2>/dev/null
"#;
    let status = Command::new("sh").arg("-c").arg(script).current_dir(dir).status().unwrap();
    assert!(status.success(), "openssl made the test certificates");
}

#[test]
fn https_probes_verify_the_certificate_against_the_given_ca() {
    if !require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let (_server, port) = server_on_a_free_port("openssl s_server", |port| {
        let mut command = Command::new("openssl");
        command
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
                "leaf.pem",
                "-key",
                "leaf.key",
            ])
            .current_dir(dir.path());
        command
    });
    let url = format!("https://127.0.0.1:{port}/");
    let gate = |extra: &[&str]| {
        stepkit()
            .current_dir(dir.path())
            .args(["--format", "json", "gate", "--http", &url, "--interval", "200ms", "--deadline", "2s"])
            .args(extra)
            .run()
    };

    let trusted = gate(&["--ca-cert", "ca.pem"]);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    let untrusted = gate(&[]);
    assert_eq!(untrusted.code, 124, "an unknown CA never passes: {}", untrusted.stderr);
    let attempt = &untrusted.json()["data"]["attempts"][0];
    assert_eq!(
        (attempt["outcome"].as_str(), attempt["error_class"].as_str()),
        (Some("error"), Some("tls")),
        "{attempt}"
    );
    assert!(
        attempt["detail"].as_str().unwrap_or_default().contains("certificate"),
        "the error says why: {attempt}"
    );
    let insecure = gate(&["--insecure"]);
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
}

#[test]
fn the_latency_gate_measures_after_opening_and_compares_with_a_baseline() {
    if !require_tool("busybox") {
        return;
    }
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "health", "ok");
    let (_server, port) = httpd(site.path());
    let url = format!("http://127.0.0.1:{port}/health");
    let gate = |extra: &[&str]| {
        stepkit()
            .current_dir(site.path())
            .args(["--format", "json", "gate", "--http", &url, "--interval", "100ms", "--deadline", "60s"])
            .args(extra)
            .run()
    };

    // A generous limit passes; the result file is the next run's baseline.
    let first = gate(&["--samples", "20", "--p95", "30s", "--result-file", "first.json"]).expect_code(0);
    let json = first.json();
    let latency = &json["data"]["latency"];
    assert_eq!(latency["samples"], 20, "{json}");
    let p95 = latency["p95_ms"].as_f64().unwrap_or_else(|| panic!("a p95 was measured: {json}"));
    assert!(p95 > 0.0, "{json}");
    assert!(json["headline"].as_str().unwrap().contains("p95"), "{json}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(site.path().join("first.json")).unwrap()).unwrap();
    assert_eq!(saved["data"]["latency"]["p95_ms"].as_f64(), Some(p95), "the result file carries the p95");

    // Compared with that run: the baseline and the regression figure are in the result.
    let second = gate(&["--samples", "10", "--baseline", "first.json", "--max-regression", "100000000%"])
        .expect_code(0);
    let latency = &second.json()["data"]["latency"];
    assert_eq!(latency["baseline_p95_ms"].as_f64(), Some(p95), "{latency}");
    assert!(latency["regression_pct"].is_number(), "{latency}");

    // A baseline no real request can match: the regression closes the latency gate (exit 1).
    write(site.path(), "fast.json", r#"{"data":{"latency":{"p95_ms":0.0001}}}"#);
    let regressed = gate(&["--samples", "5", "--baseline", "fast.json", "--max-regression", "20%"]);
    assert_eq!(regressed.code, 1, "{}", regressed.stderr);
    let json = regressed.json();
    assert_eq!(json["data"]["state"], "open", "the gate itself opened: {json}");
    assert!(json["headline"].as_str().unwrap().contains("--max-regression 20%"), "{json}");

    // So does a --p95 no request can meet.
    let slow = gate(&["--samples", "5", "--p95", "1ns"]);
    assert_eq!(slow.code, 1, "{}", slow.stderr);
    assert!(slow.json()["headline"].as_str().unwrap().contains("over --p95"), "{}", slow.stdout);

    // A baseline that is not a result file is a usage error, before any request.
    write(site.path(), "broken.json", "not json");
    let broken = gate(&["--samples", "5", "--baseline", "broken.json", "--max-regression", "20%"]);
    assert_eq!(broken.code, 2, "{}", broken.stderr);
}

#[test]
fn on_github_the_step_summary_gets_the_tables() {
    if !require_tool("busybox") {
        return;
    }
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "health", "ok");
    let (_server, port) = httpd(site.path());
    let summary = site.path().join("summary.md");
    let outputs = site.path().join("outputs.txt");
    let github = |args: &[&str]| {
        stepkit()
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .args(args)
            .run()
    };

    let missing = format!("http://127.0.0.1:{port}/missing");
    // Three failed rounds close it; --show-attempts 2 shows the last two of them.
    let run = github(&[
        "gate",
        "--http",
        &missing,
        "--interval",
        "100ms",
        "--failures",
        "3",
        "--show-attempts",
        "2",
        "--deadline",
        "30s",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let text = std::fs::read_to_string(&summary).expect("the step summary was written");
    assert!(text.contains("| Probe | Pass | Starting | Wrong | Error | Last result |"), "{text}");
    assert!(text.contains(&format!("| `GET {missing}` | 0 | 0 | 3 | 0 | wrong 404")), "{text}");
    assert!(
        text.contains("Last 2 attempts")
            && text.contains("| At | Round | Probe | Result | Status | Latency | Detail |"),
        "{text}"
    );
    let written = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        written.starts_with("state<<") && written.lines().nth(1) == Some("closed"),
        "the step output too: {written}"
    );
    assert!(run.stderr.contains("::error title=health gate closed::"), "{}", run.stderr);

    // A passing gate appends its table after the first one.
    let health = format!("http://127.0.0.1:{port}/health");
    github(&["gate", "--http", &health, "--interval", "100ms"]).expect_code(0);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains(&format!("| `GET {missing}`"))
            && text.contains(&format!("| `GET {health}` | 1 | 0 | 0 | 0 | pass 200 |")),
        "{text}"
    );
}

/// Containers (and their image) made for one test, removed when it ends, even on a panic.
struct Containers {
    image: String,
    names: Vec<String>,
}

impl Containers {
    /// Builds a `FROM scratch` image with just /bin/busybox.
    fn new() -> Self {
        let ctx = tempfile::tempdir().unwrap();
        std::fs::copy("/bin/busybox", ctx.path().join("busybox")).expect("busybox-static is installed");
        // `--health-cmd` runs through /bin/sh.
        write(ctx.path(), "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n");
        let image = format!("{}:1", unique("stepkit-gate-it/busybox"));
        let out = docker(&["build", "-q", "-t", &image, ctx.path().to_str().unwrap()]);
        assert!(out.status.success(), "build {image}: {}", String::from_utf8_lossy(&out.stderr));
        Containers { image, names: Vec::new() }
    }

    /// `docker run -d` of `script` under busybox sh, with extra `docker run` flags; returns its name.
    fn run(&mut self, name: &str, flags: &[&str], script: &str) -> String {
        let name = unique(&format!("stepkit-gate-{name}"));
        let mut args = vec!["run", "-d", "--name", &name, "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&self.image, "/bin/busybox", "sh", "-c", script]);
        let out = docker(&args);
        assert!(out.status.success(), "run {name}: {}", String::from_utf8_lossy(&out.stderr));
        self.names.push(name.clone());
        name
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.names {
            docker(&["rm", "-f", name]);
        }
        docker(&["rmi", "-f", "--no-prune", &self.image]);
    }
}

#[test]
fn container_probes_from_the_command_line() {
    if !have_docker() {
        return;
    }
    let mut c = Containers::new();
    // Healthy after its first check, a second in; "starting" until then.
    let healthy = c.run(
        "healthy",
        &["--health-cmd", "/bin/busybox true", "--health-interval", "1s"],
        "exec /bin/busybox sleep 120",
    );
    let exits = c.run("exits", &[], "echo booting; echo gate-crash-note >&2; /bin/busybox sleep 2; exit 3");
    let sick = c.run(
        "unhealthy",
        &[
            "--health-cmd",
            "echo db unreachable; exit 1",
            "--health-interval",
            "300ms",
            "--health-retries",
            "1",
        ],
        "exec /bin/busybox sleep 120",
    );
    let gate = |name: &str, extra: &[&str]| {
        stepkit()
            .args([
                "--format",
                "json",
                "gate",
                "--container",
                name,
                "--interval",
                "200ms",
                "--deadline",
                "60s",
            ])
            .args(extra)
            .run()
    };

    // --failures does not cut the start period short: starting is not failing.
    let run = gate(&healthy, &["--failures", "1"]).expect_code(0);
    let json = run.json();
    assert_eq!(json["data"]["state"], "open", "{json}");
    let attempts = json["data"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.last().unwrap()["outcome"], "pass", "{json}");
    assert!(attempts.iter().all(|a| a["outcome"] == "pass" || a["outcome"] == "starting"), "{json}");

    // Running, but a port beside it never opens, so the gate waits: the exit closes it at once (not
    // the 60 s deadline) and shows the container's last log lines, as many as --log-lines says.
    let closed = closed_port();
    let refused = closed.addr();
    let run = gate(&exits, &["--tcp", &refused, "--log-lines", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    assert!(json["headline"].as_str().unwrap().contains("exited with code 3"), "{json}");
    let logs = json["data"]["container_logs"][&exits]
        .as_array()
        .unwrap_or_else(|| panic!("logs in the JSON: {json}"));
    assert_eq!(logs.len(), 1, "{logs:?}");
    let line = logs[0].as_str().unwrap();
    assert!(line == "booting" || line == "gate-crash-note", "{logs:?}");
    assert!(
        run.stderr.contains(&format!("last 1 log lines of container {exits}:\n  | {line}")),
        "and in the text evidence: {}",
        run.stderr
    );

    // Unhealthy closes it with what the health check said.
    let run = gate(&sick, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let headline = run.json()["headline"].as_str().unwrap().to_string();
    assert!(headline.contains("unhealthy") && headline.contains("db unreachable"), "{headline}");

    // A container that does not exist is an error until the deadline (exit 124), classed not-found.
    let run = stepkit()
        .args([
            "--format",
            "json",
            "gate",
            "--container",
            &unique("stepkit-gate-none"),
            "--interval",
            "200ms",
            "--deadline",
            "1s",
        ])
        .run();
    assert_eq!(run.code, 124, "{}", run.stderr);
    assert_eq!(run.json()["data"]["attempts"][0]["error_class"], "not-found", "{}", run.stdout);
}
