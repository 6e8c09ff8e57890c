//! `stepkit gate` end to end: real HTTP (busybox httpd) and HTTPS (openssl s_server) servers on
//! loopback, the exit codes, the evidence, TLS trust and the `[gate]` table of stepkit.toml.

use crate::support::{require_tool, stepkit, write};
use std::net::TcpListener;
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16) {
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "the test server on port {port} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// busybox httpd serving `dir` on a fresh loopback port.
fn httpd(dir: &Path) -> (Server, u16) {
    let port = free_port();
    let child = Command::new("busybox")
        .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("busybox httpd starts");
    wait_for_port(port);
    (Server(child), port)
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
        .args(["--format", "json", "gate", "--http", &format!("http://127.0.0.1:{port}/health"), "--json", "/status=ok", "--body-contains", "1.2"])
        .args(["--tcp", &format!("127.0.0.1:{port}"), "--interval", "200ms", "--successes", "2", "--deadline", "20s"])
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
    let run = stepkit().args(["gate", "--http", &format!("http://127.0.0.1:{port}/missing"), "--interval", "100ms", "--failures", "3", "--deadline", "30s"]).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("404"), "the status is in the evidence: {}", run.stderr);
}

#[test]
fn nothing_listening_runs_into_the_deadline_with_exit_124_and_the_error_class() {
    let port = free_port();
    let started = Instant::now();
    let run = stepkit().args(["--format", "json", "gate", "--http", &format!("http://127.0.0.1:{port}/"), "--interval", "200ms", "--deadline", "1500ms"]).run();
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
    let port = free_port();
    let started = Instant::now();
    let run = stepkit().current_dir(dir.path()).args(["gate", "--tcp", &format!("127.0.0.1:{port}")]).run();
    assert_eq!(run.code, 124, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(8), "the file's 1 s deadline applied, not the 2 min default");
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
    let port = free_port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}"), "-cert", "leaf.pem", "-key", "leaf.key"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let _server = Server(child);
    wait_for_port(port);
    let url = format!("https://127.0.0.1:{port}/");
    let gate = |extra: &[&str]| stepkit().current_dir(dir.path()).args(["--format", "json", "gate", "--http", &url, "--interval", "200ms", "--deadline", "2s"]).args(extra).run();

    let trusted = gate(&["--ca-cert", "ca.pem"]);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    let untrusted = gate(&[]);
    assert_eq!(untrusted.code, 124, "an unknown CA never passes: {}", untrusted.stderr);
    let attempt = &untrusted.json()["data"]["attempts"][0];
    assert_eq!((attempt["outcome"].as_str(), attempt["error_class"].as_str()), (Some("error"), Some("tls")), "{attempt}");
    assert!(attempt["detail"].as_str().unwrap_or_default().contains("certificate"), "the error says why: {attempt}");
    let insecure = gate(&["--insecure"]);
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
}
