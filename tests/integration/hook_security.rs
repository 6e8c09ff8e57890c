//! `stepkit hook serve` refuses what it must: no secret, forged, unsigned, replayed, oversized and
//! slow deliveries, each answered (or cut off) and logged; GitLab tokens and Gitea signatures pass.

use crate::hook::{exchange, post, push_payload, repos, send_github, start, SECRET};
use crate::support::stepkit;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn rules(clone: &std::path::Path) -> String {
    format!("[hook]\nclone = {clone:?}\n[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\nsteps = [[\"junit\", \"summary\", \"report.xml\"]]\n")
}

#[test]
fn hook_serve_without_a_secret_does_not_start() {
    let repos = repos();
    let config = crate::support::write(repos.dir.path(), "stepkit.toml", rules(&repos.clone));
    let run = stepkit()
        .args(["hook", "serve", "--listen", "127.0.0.1:0", "--config"])
        .args([config.as_os_str()])
        .run()
        .expect_code(2);
    assert!(
        run.stderr.contains("STEPKIT_HOOK_SECRET") && run.stderr.contains("does not start"),
        "{}",
        run.stderr
    );
    let missing = repos.dir.path().join("no-such-secret");
    let run = stepkit()
        .args(["hook", "serve", "--config"])
        .args([config.as_os_str(), "--secret-file".as_ref(), missing.as_os_str()])
        .run()
        .expect_code(2);
    assert!(run.stderr.contains("no-such-secret"), "{}", run.stderr);
}

#[test]
fn hook_refuses_forged_unsigned_replayed_oversized_and_slow_requests_and_logs_them() {
    let repos = repos();
    let work = repos.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let server = start(
        &work,
        &rules(&repos.clone),
        &["--max-body", "4096", "--header-timeout", "1s", "--body-timeout", "1s"],
    );
    let body = push_payload("refs/heads/main", &repos.main_sha, &[]);

    let forged =
        format!("sha256={}", stepkit::steps::hook::verify::sign("not-the-secret-at-all", body.as_bytes()));
    let headers =
        [("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "f-1"), ("X-Hub-Signature-256", forged.as_str())];
    assert_eq!(post(server.addr, &headers, &body).0, 401);
    assert_eq!(post(server.addr, &[("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "u-1")], &body).0, 401);
    assert_eq!(
        post(server.addr, &[("X-GitLab-Event", "Push Hook"), ("X-Gitlab-Token", "guess-guess-guess")], &body)
            .0,
        401
    );
    assert_eq!(post(server.addr, &[], &body).0, 401, "no provider header");

    let (status, answer) = send_github(server.addr, "push", "ok-1", &body);
    assert_eq!(status, 202, "{answer}");
    assert_eq!(send_github(server.addr, "push", "ok-1", &body).0, 409, "same delivery id");
    assert_eq!(send_github(server.addr, "push", "ok-2", &body).0, 409, "same body, new id");

    // Declared too large: answered without the body ever being sent.
    let big = "POST /hook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nContent-Length: 2000000\r\n\r\n";
    assert_eq!(exchange(server.addr, big.as_bytes()).0, 413);
    // Chunked past the limit: cut off once the limit is crossed.
    let chunk = "a".repeat(5000);
    let chunked = format!("POST /hook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    assert_eq!(exchange(server.addr, chunked.as_bytes()).0, 413);

    // Slow body: the headers promise 100 bytes, 10 arrive, then nothing.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(
        b"POST /hook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nContent-Length: 100\r\n\r\n0123456789",
    )
    .unwrap();
    let start = Instant::now();
    let mut answer = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(10));
    // Slowloris: headers never finish; the connection is closed after the header timeout.
    let mut loris = TcpStream::connect(server.addr).unwrap();
    loris.write_all(b"POST /hook HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
    let start = Instant::now();
    loris.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut rest = Vec::new();
    let _ = loris.read_to_end(&mut rest);
    assert!(start.elapsed() < Duration::from_secs(10), "the slow client was not cut off");

    let deliveries = server.query(&["list", "--limit", "100"])["deliveries"].as_array().unwrap().clone();
    let statuses: Vec<i64> = deliveries.iter().map(|d| d["status"].as_i64().unwrap()).collect();
    for wanted in [401, 409, 413, 408, 202] {
        assert!(statuses.contains(&wanted), "{wanted} not logged: {deliveries:#?}");
    }
    let forged_row = deliveries.iter().find(|d| d["delivery_id"] == "f-1").unwrap();
    assert!(forged_row["verdict"].as_str().unwrap().contains("signature does not match"));
    assert!(forged_row["body_bytes"].is_null(), "a refused body is not kept");
    let gitlab_row = deliveries.iter().find(|d| d["provider"] == "gitlab").unwrap();
    assert_eq!(gitlab_row["headers"]["x-gitlab-token"], "***");
    let (code, log) = server.stop();
    assert_eq!(code, 0);
    assert!(log.contains("signature does not match") && log.contains("replay of delivery"), "{log}");
    assert!(!log.contains(SECRET));
}

#[test]
fn hook_accepts_gitlab_tokens_and_gitea_signatures() {
    let repos = repos();
    let work = repos.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let server = start(&work, &rules(&repos.clone), &[]);
    let gitlab = serde_json::json!({
        "object_kind": "push", "ref": "refs/heads/main", "before": "0000000000000000000000000000000000000000",
        "after": repos.main_sha, "checkout_sha": repos.main_sha,
        "project": {"path_with_namespace": "octo/app"}, "commits": []
    })
    .to_string();
    let headers =
        [("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET), ("X-Gitlab-Event-UUID", "gl-1")];
    assert_eq!(post(server.addr, &headers, &gitlab).0, 202);
    let gitea = push_payload("refs/heads/main", &repos.main_sha, &["README.md"])
        .replace("\"forced\"", "\"gitea\":true,\"forced\"");
    let signature = stepkit::steps::hook::verify::sign(SECRET, gitea.as_bytes());
    let headers =
        [("X-Gitea-Event", "push"), ("X-Gitea-Delivery", "gt-1"), ("X-Gitea-Signature", signature.as_str())];
    assert_eq!(post(server.addr, &headers, &gitea).0, 202);
    let jobs = server.settled_jobs();
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
    assert!(jobs.iter().all(|j| j["sha"] == repos.main_sha.as_str() && j["state"] != "failed"), "{jobs:#?}");
    server.stop();
}
