//! `stepkit load` end to end against a hyper server started in the test on loopback: counts per named
//! request, error classes (500s, 404s, a closed port, a slow endpoint past --timeout), the open model's
//! correction of a stall, thresholds and baselines as exit codes, bad flags and files, secret headers,
//! the GitHub outputs and step summary, and a kept connection HAProxy closes while idle.

use crate::support::{stepkit, write};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

const TOKEN: &str = "Bearer s3cr3t-load-token";

/// What the server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    authorized: AtomicU64,
    first: OnceLock<Instant>,
    stall_until: Mutex<Option<Instant>>,
}

/// A loopback HTTP/1.1 server on its own runtime, stopped when dropped. Paths: `/ok` 200, `/error` 500,
/// `/missing` 404, `/slow` answers after 2 s, `/stall-once` stops answering everything for 1 s once,
/// 1 s after its first request.
struct Server {
    port: u16,
    seen: Arc<Seen>,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Server {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        // Bound here and kept bound: the port cannot be taken by anyone else in between.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let shared = Arc::clone(&seen);
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let seen = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| answer(Arc::clone(&seen), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { port, seen, _runtime: runtime }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> u64 {
        self.seen.requests.load(Ordering::SeqCst)
    }
}

async fn answer(
    seen: Arc<Seen>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    if request.headers().get("authorization").is_some_and(|v| v == TOKEN) {
        seen.authorized.fetch_add(1, Ordering::SeqCst);
    }
    let status = match request.uri().path() {
        "/ok" => 200,
        "/error" => 500,
        "/missing" => 404,
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            200
        }
        "/stall-once" => {
            let first = *seen.first.get_or_init(Instant::now);
            let until = {
                let mut stall = seen.stall_until.lock().unwrap();
                if stall.is_none() && first.elapsed() >= Duration::from_secs(1) {
                    *stall = Some(Instant::now() + Duration::from_secs(1));
                }
                *stall
            };
            if let Some(until) = until {
                tokio::time::sleep_until(until).await;
            }
            200
        }
        _ => 404,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(b"answer")));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    Ok(response)
}

fn data(run: &crate::support::Run) -> Value {
    run.json()["data"].clone()
}

fn class_count(result: &Value, class: &str) -> u64 {
    result["errors_by_class"][class]["count"].as_u64().unwrap_or(0)
}

#[test]
fn load_counts_add_up_per_named_request() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "api.toml",
        "[[request]]\nname = \"ok\"\nurl = \"/ok\"\n\n[[request]]\nname = \"broken\"\nmethod = \"POST\"\nurl = \"/error\"\nbody = \"{}\"\n\n\
         [[request]]\nname = \"gone\"\nurl = \"/missing\"\n",
    );
    let result_file = dir.path().join("load.json");
    let run = stepkit()
        .args(["--format", "json", "--result-file"])
        .args([&result_file])
        .args(["load", "--requests-file"])
        .args([&file])
        .args(["--base-url", &server.url("/"), "-n", "300", "-c", "4", "--target", "sqlite"])
        .run()
        .expect_code(0);
    let data = data(&run);
    assert_eq!(data["schema_version"], 1);
    assert_eq!(data["target"], "sqlite");
    let overall = &data["overall"];
    assert_eq!((overall["requests"].as_u64(), overall["responses"].as_u64()), (Some(300), Some(300)));
    assert_eq!(server.requests(), 300, "the server saw every measured request, no more");
    let names: Vec<_> = data["requests"].as_array().unwrap().iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, ["ok", "broken", "gone"]);
    for request in data["requests"].as_array().unwrap() {
        assert_eq!(request["requests"], 100, "round robin: {request}");
    }
    assert_eq!(class_count(&data["requests"][1], "status_5xx"), 100);
    assert_eq!(data["requests"][1]["method"], "POST");
    assert_eq!(class_count(&data["requests"][2], "status_4xx"), 100);
    assert_eq!(data["requests"][0]["statuses"]["200"], 100);
    assert_eq!((class_count(overall, "status_5xx"), class_count(overall, "status_4xx")), (100, 100));
    assert_eq!(overall["errors"], 200);
    assert_eq!(overall["error_rate_pct"], 66.667);
    let latency = &overall["latency_ms"];
    assert!(latency["p50"].as_f64().unwrap() <= latency["p99"].as_f64().unwrap(), "{latency}");
    assert!(overall["rps"].as_f64().unwrap() > 0.0);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&result_file).unwrap()).unwrap();
    assert_eq!(written["data"], data, "the result file holds the same result");
    assert!(
        run.stderr.contains("broken") && run.stderr.contains("status_5xx 100 (status 500)"),
        "{}",
        run.stderr
    );
}

#[test]
fn load_error_classes_connect_and_timeout() {
    let closed = crate::support::ports::closed_port();
    let port = closed.port();
    let run = stepkit()
        .args(["--format", "json", "load", &format!("http://127.0.0.1:{port}/"), "-n", "20", "-c", "2"])
        .run()
        .expect_code(1);
    let json = run.json();
    assert_eq!(class_count(&json["data"]["overall"], "connect"), 20, "{json}");
    assert_eq!(json["data"]["overall"]["responses"], 0);
    assert!(json["headline"].as_str().unwrap().contains("no request got an answer"), "{json}");

    let server = Server::start();
    let run = stepkit()
        .args(["--format", "json", "load", &server.url("/slow"), "-n", "4", "-c", "2", "--timeout", "200ms"])
        .kill_after(Duration::from_secs(30))
        .run()
        .expect_code(1);
    let overall = &data(&run)["overall"];
    assert_eq!(class_count(overall, "timeout"), 4, "{overall}");
    assert!(overall["errors_by_class"]["timeout"]["first"].as_str().unwrap().contains("200ms"), "{overall}");
}

#[test]
fn load_open_model_shows_a_stall_in_the_percentiles() {
    let server = Server::start();
    // 100 requests/s for 3 s; the server stops answering for the second second. Requests due during the
    // stall wait up to 1 s: measured from when they were due, a third of them are slow.
    let run = stepkit()
        .args(["--format", "json", "load", &server.url("/stall-once"), "--rate", "100/s", "--duration", "3s"])
        .args(["-c", "4"])
        .kill_after(Duration::from_secs(60))
        .run()
        .expect_code(0);
    let data = data(&run);
    assert_eq!(data["model"], "open");
    assert_eq!(data["overall"]["requests"], 300, "exactly the scheduled requests");
    let latency = &data["overall"]["latency_ms"];
    let (p90, p99) = (latency["p90"].as_f64().unwrap(), latency["p99"].as_f64().unwrap());
    assert!(p99 >= 800.0, "the stall shows in p99: {latency}");
    // Without the correction only the 4 requests on the wire during the stall would be slow (p90 ~1 ms).
    assert!(p90 >= 300.0, "the requests due during the stall count from when they were due: {latency}");
}

#[test]
fn load_thresholds_and_baseline_decide_the_exit_code() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/ok");
    let load = |extra: &[&str]| {
        stepkit().args(["--format", "json", "load", url.as_str(), "-n", "200", "-c", "2"]).args(extra).run()
    };
    let first = dir.path().join("first.json");
    let first_arg = first.to_str().unwrap();
    let run = stepkit()
        .args(["--result-file", first_arg, "--format", "json", "load", &url, "-n", "200", "-c", "2"])
        .args(["--p95", "10s", "--p99", "10s", "--min-rps", "1", "--max-error-rate", "0%"])
        .run()
        .expect_code(0);
    assert_eq!(data(&run)["thresholds"]["p95_ms"], 10000.0);

    let run = load(&["--p95", "1us"]).expect_code(1);
    assert!(run.json()["headline"].as_str().unwrap().contains("over --p95 0.001 ms"), "{}", run.stdout);
    let run = load(&["--min-rps", "1000000000"]).expect_code(1);
    assert!(run.json()["headline"].as_str().unwrap().contains("--min-rps"), "{}", run.stdout);

    let run = load(&["--baseline", first_arg, "--max-regression", "1000%"]).expect_code(0);
    let baseline = &data(&run)["baseline"];
    assert!(baseline["rps"].as_f64().unwrap() > 0.0 && baseline["rps_change_pct"].is_number(), "{baseline}");

    let mut faster: Value = serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    faster["data"]["overall"]["rps"] = Value::from(1e9);
    let faster_file = write(dir.path(), "faster.json", faster.to_string());
    let run = load(&["--baseline", faster_file.to_str().unwrap(), "--max-regression", "10%"]).expect_code(1);
    assert!(run.json()["headline"].as_str().unwrap().contains("over --max-regression 10%"), "{}", run.stdout);

    let absent = dir.path().join("absent.json");
    let run = load(&["--baseline", absent.to_str().unwrap(), "--max-regression", "10%"]).expect_code(0);
    assert!(run.json()["warnings"][0].as_str().unwrap().contains("no baseline"), "{}", run.stdout);

    let gate = write(dir.path(), "gate.json", r#"{"command":"gate","data":{"latency":{"p95_ms":3}}}"#);
    let run = load(&["--baseline", gate.to_str().unwrap()]).expect_code(2);
    assert!(run.stderr.contains("gate.json") && run.stderr.contains("not a load result"), "{}", run.stderr);
}

#[test]
fn load_bad_flags_and_files_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let bad = |args: &[&str], names: &str| {
        let run = stepkit()
            .current_dir(dir.path())
            .args(["--format", "json", "load"])
            .args(args)
            .run()
            .expect_code(2);
        assert!(run.stderr.contains(names), "the error names {names}: {}", run.stderr);
        assert_eq!(run.json()["exit_code"], 2);
    };
    bad(&["http://127.0.0.1:1/", "--rate", "fast"], "--rate");
    bad(&["http://127.0.0.1:1/", "--connections", "0"], "--connections");
    bad(&["http://127.0.0.1:1/", "--p95", "quick"], "--p95");
    bad(&["http://127.0.0.1:1/", "--body-file", "absent.json"], "absent.json");
    bad(&["--requests-file", "missing.toml"], "missing.toml");
    write(dir.path(), "broken.toml", "[[request]]\nname = \"a\"\nurl = \n");
    bad(&["--requests-file", "broken.toml"], "broken.toml");
    bad(&[], "give a URL");
}

#[test]
fn load_secret_header_reaches_the_server_and_no_output() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let result_file = dir.path().join("r.json");
    let run = stepkit()
        .env("STEPKIT_LOAD_HEADERS", format!("Authorization: {TOKEN}\n"))
        .args(["--format", "json", "--result-file"])
        .args([&result_file])
        .args(["load", &server.url("/ok"), "-n", "50", "-c", "2", "-H", "X-Tenant: blue"])
        .run()
        .expect_code(0);
    assert_eq!(server.seen.authorized.load(Ordering::SeqCst), 50, "every request carried the header");
    let written = std::fs::read_to_string(&result_file).unwrap();
    for output in [&run.stdout, &run.stderr, &written] {
        assert!(!output.contains("s3cr3t"), "the secret leaked: {output}");
    }
}

#[test]
fn load_github_outputs_and_step_summary() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("outputs.txt"));
    stepkit()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .args([
            "load",
            &server.url("/ok"),
            "-n",
            "100",
            "-c",
            "2",
            "--target",
            "postgres",
            "--warmup",
            "200ms",
        ])
        .run()
        .expect_code(0);
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    for name in ["rps", "p50-ms", "p95-ms", "p99-ms", "requests", "errors", "error-rate-pct"] {
        assert!(
            outputs.contains(&format!("\n{name}<<")) || outputs.starts_with(&format!("{name}<<")),
            "{name}: {outputs}"
        );
    }
    assert!(outputs.starts_with("requests<<") && outputs.contains("\n100\n"), "{outputs}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("| request | requests | req/s |") && summary.contains("`postgres`"),
        "{summary}"
    );
    assert!(server.requests() > 100, "the warm-up sent requests that were not measured");
}

#[test]
fn load_sigint_stops_early_and_keeps_the_partial_result() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let result_file = dir.path().join("load.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stepkit"))
        .args(["--format", "json", "--result-file"])
        .arg(&result_file)
        .args(["load", &server.url("/ok"), "--duration", "10m", "-c", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::support::wait::wait_until("50 requests to reach the server", || server.requests() >= 50);
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let stopping = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if stopping.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("stepkit load did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    crate::support::record(&crate::support::Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into(),
        stderr: stderr.to_string(),
    });
    assert_eq!(status.code(), Some(130), "SIGINT is exit 130, never a pass\n{stderr}");
    assert!(stderr.contains("stopped by SIGINT (partial result)"), "{stderr}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&result_file).unwrap()).unwrap();
    let data = &written["data"];
    assert_eq!(data["interrupted"], "SIGINT", "{data}");
    let measured = data["overall"]["requests"].as_u64().unwrap();
    assert!(measured >= 1 && measured <= server.requests(), "{measured} of {} requests", server.requests());
    assert!(data["overall"]["latency_ms"]["p99"].as_f64().is_some(), "{data}");
}

/// A server that closes the connection after every answer, as busybox httpd and many CGI servers do:
/// `Connection: close` with a length, or an HTTP/1.0 answer whose body ends at the close. Each request
/// then needs a new connection, and every answer must still count.
fn closing_server(close_delimited: bool) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let answer: &[u8] = if close_delimited {
                b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nanswer until the close"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nanswer"
            };
            let _ = stream.write_all(answer);
        }
    });
    port
}

#[test]
fn load_counts_every_answer_of_a_server_that_closes_after_each() {
    for close_delimited in [false, true] {
        let port = closing_server(close_delimited);
        let run = stepkit()
            .args(["--format", "json", "load", &format!("http://127.0.0.1:{port}/"), "-n", "100", "-c", "2"])
            .run()
            .expect_code(0);
        let overall = &data(&run)["overall"];
        assert_eq!(overall["requests"], 100, "close-delimited {close_delimited}: {overall}");
        assert_eq!(overall["errors"], 0, "close-delimited {close_delimited}: {overall}");
        assert!(
            data(&run)["connections_opened"].as_u64().unwrap() >= 100,
            "one connection per answer: {}",
            data(&run)
        );
    }
}

/// Through a real HAProxy that closes idle keep-alive connections after 100 ms. At 5 requests/s over 2
/// connections each connection idles longer than that between requests, so a request finds its kept
/// connection closed: it must go again on a new connection and never count as an error.
#[test]
fn load_sends_again_on_a_connection_the_proxy_closed_while_idle() {
    let server = Server::start();
    let backend = format!("  server s1 127.0.0.1:{}\n", server.port);
    let idle = "  timeout http-keep-alive 100ms\n";
    let Some(haproxy) = crate::deploy_proxy::start_haproxy_with(idle, &backend) else { return };
    let url = format!("http://{}/ok", haproxy.front);
    let run = stepkit()
        .args(["--format", "json", "load", &url, "-c", "2", "--rate", "5", "--duration", "2s"])
        .run()
        .expect_code(0);
    let data = data(&run);
    let requests = data["overall"]["requests"].as_u64().unwrap();
    assert!(requests >= 8, "2 s at 5/s: {data}");
    assert_eq!(data["overall"]["errors"], 0, "{data}");
    assert_eq!(server.requests(), requests, "every request reached the server once: {data}");
    assert!(data["connections_opened"].as_u64().unwrap() > 2, "the proxy closed idle connections: {data}");
}
