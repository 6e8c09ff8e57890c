//! `stepkit github check-run|status|comment` against a local server that plays GitHub's REST API,
//! its documented failures included (401, 403 rate limits and permissions, 404, 422, 5xx).

use crate::support::contract::{failing_then, Contract};
use crate::support::{stepkit, write, Run};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use wiremock::{Request, ResponseTemplate};

/// The test secret (.ci/run greps every output of the suite for it).
pub(crate) const TOKEN: &str = "ghp_github-token-secret-9c2d";
const SHA: &str = "4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c";

/// A stepkit result file.
fn result(
    dir: &Path,
    name: &str,
    command: &str,
    verdict: &str,
    headline: &str,
    annotations: Value,
) -> PathBuf {
    let code = match verdict {
        "passed" => 0,
        "failed" => 1,
        _ => 3,
    };
    let doc = json!({"command": command, "verdict": verdict, "exit_code": code, "headline": headline, "warnings": [], "annotations": annotations, "outputs": {}, "data": {}});
    write(dir, name, doc.to_string())
}

/// Runs stepkit (blocking) beside the async mock server, with the token in GITHUB_TOKEN and the
/// API at `api_url`; `--format json --result-file out.json` so every output can be checked.
async fn github(dir: &Path, api_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = stepkit()
        .current_dir(dir)
        .env("GITHUB_API_URL", api_url)
        .args(["--format", "json", "--result-file", "out.json", "github"])
        .args(args);
    if !env.iter().any(|(k, _)| *k == "GITHUB_TOKEN") {
        command = command.env("GITHUB_TOKEN", TOKEN);
    }
    for (key, value) in env {
        command = command.env(key, value);
    }
    let run = tokio::task::spawn_blocking(move || command.run()).await.expect("the stepkit run finishes");
    assert_no_token(&run, dir);
    run
}

fn assert_no_token(run: &Run, dir: &Path) {
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token leaked:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    if let Ok(file) = std::fs::read_to_string(dir.join("out.json")) {
        assert!(!file.contains(TOKEN), "the token leaked into the result file: {file}");
    }
}

/// Every request the server saw, each checked to carry the token as a bearer Authorization header.
async fn requests(server: &Contract, token: &str) -> Vec<Request> {
    let requests = server.requests().await;
    for request in &requests {
        let auth = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        assert_eq!(auth, Some(format!("Bearer {token}").as_str()), "{} {}", request.method, request.url);
    }
    requests
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

fn check_run_created(id: u64) -> ResponseTemplate {
    check_run_reply(201, id)
}

fn check_run_reply(status: u16, id: u64) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"id": id, "node_id": "CR_1", "head_sha": SHA, "name": "tests", "html_url": format!("https://github.com/octo/app/runs/{id}"), "status": "completed"}))
}

fn local(args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["--repo", "octo/app", "--sha", SHA].map(String::from));
    all
}

async fn run_local(dir: &Path, server: &Contract, args: &[&str]) -> Run {
    let all = local(args);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    github(dir, &server.uri(), &refs, &[]).await
}

#[tokio::test]
async fn check_run_on_actions_takes_repo_sha_and_link_from_the_context_and_maps_annotations() {
    let server = Contract::start().await;
    server.on("POST", "/repos/octo/app/check-runs").times(1).answer(check_run_created(42)).await;
    let dir = tempfile::tempdir().unwrap();
    let annotations = json!([
        {"level": "error", "title": "test_add failed", "message": "assert 1 == 2", "file": "tests/test_calc.py", "line": 12},
        {"level": "warning", "title": null, "message": "slow test", "file": "tests/test_slow.py", "line": null},
        {"level": "error", "title": "crashed", "message": "worker exited 255", "file": null, "line": null}
    ]);
    result(dir.path(), "test.json", "test", "failed", "1 of 10 tests failed", annotations);
    result(dir.path(), "gate.json", "gate", "passed", "healthy after 2 probes", json!([]));
    write(dir.path(), "extra.md", "Coverage: **91%**\n");
    let output = dir.path().join("github_output");
    std::fs::write(&output, "").unwrap();
    // On Actions the token is GITHUB_TOKEN, which the runner masks already; a distinct one here so the
    // test can check it is registered with ::add-mask:: (the runner swallows that line).
    let actions_token = "ghs_actions-context-token-41b7";
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "octo/app"),
        ("GITHUB_SHA", SHA),
        ("GITHUB_RUN_ID", "987"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_TOKEN", actions_token),
        ("GITHUB_OUTPUT", output.to_str().unwrap()),
    ];
    let run = github(
        dir.path(),
        &server.uri(),
        &["check-run", "--name", "tests", "--result", "test.json", "gate.json", "--summary-file", "extra.md"],
        &env,
    )
    .await
    .expect_code(0);
    assert!(run.stderr.contains(&format!("::add-mask::{actions_token}")), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["outputs"]["check-run-id"], "42");
    assert_eq!(doc["outputs"]["check-run-url"], "https://github.com/octo/app/runs/42");
    assert_eq!(
        (
            doc["data"]["conclusion"].as_str(),
            doc["data"]["annotations_sent"].as_u64(),
            doc["data"]["attempts"].as_u64()
        ),
        (Some("failure"), Some(2), Some(1))
    );
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("check-run-id") && outputs.contains("42"), "{outputs}");

    let requests = requests(&server, actions_token).await;
    let sent = body(&requests[0]);
    assert_eq!(
        (
            sent["name"].as_str(),
            sent["head_sha"].as_str(),
            sent["status"].as_str(),
            sent["conclusion"].as_str()
        ),
        (Some("tests"), Some(SHA), Some("completed"), Some("failure"))
    );
    assert_eq!(sent["details_url"], "https://github.com/octo/app/actions/runs/987");
    assert_eq!(sent["output"]["title"], "2 steps failed in octo/app");
    let annotations = sent["output"]["annotations"].as_array().unwrap();
    assert_eq!(annotations.len(), 2, "the file-less one goes to the summary");
    assert_eq!(
        annotations[0],
        json!({"path": "tests/test_calc.py", "start_line": 12, "end_line": 12, "annotation_level": "failure", "message": "assert 1 == 2", "title": "test_add failed"})
    );
    assert_eq!(
        (annotations[1]["annotation_level"].as_str(), annotations[1]["start_line"].as_u64()),
        (Some("warning"), Some(1))
    );
    let summary = sent["output"]["summary"].as_str().unwrap();
    assert!(summary.contains("| ❌ | stepkit test | failed | 1 of 10 tests failed |"), "{summary}");
    assert!(summary.contains("| ✅ | stepkit gate | passed | healthy after 2 probes |"), "{summary}");
    assert!(summary.contains("worker exited 255") && summary.contains("Coverage: **91%**"), "{summary}");
}

#[tokio::test]
async fn check_run_with_120_annotations_sends_50_then_appends_50_and_20() {
    let server = Contract::start().await;
    server.on("POST", "/repos/octo/app/check-runs").times(1).answer(check_run_created(7)).await;
    server.on("PATCH", "/repos/octo/app/check-runs/7").times(2).answer(check_run_reply(200, 7)).await;
    let dir = tempfile::tempdir().unwrap();
    let many: Vec<Value> = (1..=120).map(|line| json!({"level": "error", "title": null, "message": format!("failure {line}"), "file": "src/lib.rs", "line": line})).collect();
    result(dir.path(), "lint.json", "check", "failed", "120 findings", Value::Array(many));
    let run = run_local(dir.path(), &server, &["check-run", "--name", "lint", "--result", "lint.json"])
        .await
        .expect_code(0);
    assert_eq!(run.json()["data"]["annotations_sent"], 120);
    let requests = requests(&server, TOKEN).await;
    let sizes: Vec<(String, usize, u64)> = requests
        .iter()
        .map(|r| {
            let b = body(r);
            let list = b["output"]["annotations"].as_array().unwrap().clone();
            (r.method.to_string(), list.len(), list[0]["start_line"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        sizes,
        [("POST".to_string(), 50, 1), ("PATCH".to_string(), 50, 51), ("PATCH".to_string(), 20, 101)]
    );
    assert!(body(&requests[1])["output"]["summary"].is_string(), "an update needs title and summary");
}

#[tokio::test]
async fn status_truncates_the_description_and_takes_error_from_an_error_result() {
    let server = Contract::start().await;
    let status_path = format!("/repos/octo/app/statuses/{SHA}");
    server
        .on("POST", status_path.as_str())
        .times(1)
        .answer(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 9, "url": "https://api.github.com/x", "state": "error"})),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    result(dir.path(), "push.json", "image push", "error", "registry unreachable", json!([]));
    let description = "d".repeat(200);
    let run = run_local(
        dir.path(),
        &server,
        &[
            "status",
            "--context",
            "ci/image",
            "--result",
            "push.json",
            "--description",
            &description,
            "--target-url",
            "https://ci.example.com/job/1/",
        ],
    )
    .await
    .expect_code(0);
    assert_eq!(run.json()["outputs"]["state"], "error");
    let sent = body(&requests(&server, TOKEN).await[0]);
    assert_eq!(
        (sent["state"].as_str(), sent["context"].as_str(), sent["target_url"].as_str()),
        (Some("error"), Some("ci/image"), Some("https://ci.example.com/job/1/"))
    );
    let sent_description = sent["description"].as_str().unwrap();
    assert_eq!(sent_description.chars().count(), 140);
    assert!(sent_description.starts_with("ddd") && sent_description.ends_with('…'));
}

/// A comment as GitHub answers it (the dashboard test uses it too).
pub(crate) fn comment(id: u64, body: &str) -> Value {
    json!({"id": id, "node_id": "IC_1", "html_url": format!("https://github.com/octo/app/pull/5#issuecomment-{id}"), "body": body, "user": {"login": "github-actions[bot]"}})
}

#[tokio::test]
async fn sticky_comment_on_page_two_is_updated_not_added() {
    let server = Contract::start().await;
    let next = format!("<{}/repositories/1/issues/5/comments?per_page=100&page=2>; rel=\"next\", <{0}/repositories/1/issues/5/comments?per_page=100&page=2>; rel=\"last\"", server.uri());
    server
        .on("GET", "/repos/octo/app/issues/5/comments")
        .query("per_page", "100")
        .times(1)
        .answer(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(json!([comment(1, "LGTM"), comment(2, "<!-- stepkit:other -->")])),
        )
        .await;
    server
        .on("GET", "/repositories/1/issues/5/comments")
        .query("page", "2")
        .times(1)
        .answer(
            ResponseTemplate::new(200).set_body_json(json!([
                comment(3, "nice"),
                comment(77, "<!-- stepkit:stepkit -->\nold results")
            ])),
        )
        .await;
    server
        .on("PATCH", "/repos/octo/app/issues/comments/77")
        .times(1)
        .answer(ResponseTemplate::new(200).set_body_json(comment(77, "new")))
        .await;
    server.on("POST", "*").times(0).answer(ResponseTemplate::new(201)).await;
    let dir = tempfile::tempdir().unwrap();
    result(dir.path(), "test.json", "test", "passed", "10 tests passed", json!([]));
    let run = run_local(
        dir.path(),
        &server,
        &["comment", "--pr", "5", "--result", "test.json", "--body", "Preview: https://preview.example.com"],
    )
    .await
    .expect_code(0);
    let doc = run.json();
    assert_eq!(
        (doc["outputs"]["comment-id"].as_str(), doc["data"]["action"].as_str()),
        (Some("77"), Some("updated"))
    );
    assert_eq!(doc["outputs"]["comment-url"], "https://github.com/octo/app/pull/5#issuecomment-77");
    let requests = requests(&server, TOKEN).await;
    assert_eq!(requests.len(), 3);
    let sent = body(&requests[2]);
    let text = sent["body"].as_str().unwrap();
    assert!(
        text.starts_with("<!-- stepkit:stepkit -->\n### ✅ stepkit test succeeded in octo/app"),
        "{text}"
    );
    assert!(
        text.contains("| ✅ | stepkit test | passed | 10 tests passed |")
            && text.contains("Preview: https://preview.example.com"),
        "{text}"
    );
}

#[tokio::test]
async fn a_new_comment_is_added_when_none_carries_the_marker() {
    let server = Contract::start().await;
    server
        .on("GET", "/repos/octo/app/issues/5/comments")
        .times(1)
        .answer(ResponseTemplate::new(200).set_body_json(json!([comment(1, "<!-- stepkit:stepkit -->")])))
        .await;
    server
        .on("POST", "/repos/octo/app/issues/5/comments")
        .times(1)
        .answer(ResponseTemplate::new(201).set_body_json(comment(90, "x")))
        .await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.md", "Deployed to staging.\n");
    let run = run_local(
        dir.path(),
        &server,
        &["comment", "--pr", "5", "--sticky", "deploy", "--body-file", "notes.md"],
    )
    .await
    .expect_code(0);
    assert_eq!(run.json()["data"]["action"], "created");
    let seen = requests(&server, TOKEN).await;
    let text = body(&seen[1])["body"].as_str().unwrap().to_string();
    assert!(text.starts_with("<!-- stepkit:deploy -->\n") && text.contains("Deployed to staging."), "{text}");

    // --new posts without looking.
    let server = Contract::start().await;
    server
        .on("POST", "/repos/octo/app/issues/5/comments")
        .times(1)
        .answer(ResponseTemplate::new(201).set_body_json(comment(91, "x")))
        .await;
    run_local(dir.path(), &server, &["comment", "--pr", "5", "--new", "--body", "hello"])
        .await
        .expect_code(0);
    let seen = requests(&server, TOKEN).await;
    assert_eq!(seen.len(), 1);
    assert!(!body(&seen[0])["body"].as_str().unwrap().contains("<!--"));
}

#[tokio::test]
async fn not_a_pull_request_is_a_warning_not_a_failure() {
    let server = Contract::start().await;
    let dir = tempfile::tempdir().unwrap();
    // A push build: no PR in the context, no --pr, and no token needed to say so.
    let run = github(dir.path(), &server.uri(), &["comment", "--repo", "octo/app"], &[("GITHUB_TOKEN", "")])
        .await
        .expect_code(0);
    assert!(run.stderr.contains("nothing to comment on"), "{}", run.stderr);
    assert_eq!(run.json()["warnings"].as_array().map(Vec::len), Some(1));
    assert!(requests(&server, TOKEN).await.is_empty());
}

#[tokio::test]
async fn bad_credentials_stop_at_once_naming_the_variable() {
    let server = Contract::start().await;
    server
        .on("POST", "*")
        .answer(ResponseTemplate::new(401).set_body_json(
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
        ))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(dir.path(), &server, &["check-run", "--name", "tests"]).await.expect_code(2);
    assert!(
        run.stderr.contains("GitHub refused the token from GITHUB_TOKEN (401 Bad credentials)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["exit_code"], 2);
    assert_eq!(requests(&server, TOKEN).await.len(), 1);
    let file = std::fs::read_to_string(dir.path().join("out.json")).unwrap();
    assert!(file.contains("401 Bad credentials"), "{file}");

    // A token from a file is named by the file.
    let token_file = write(dir.path(), "secrets/gh-token", format!("{TOKEN}\n"));
    let all = local(&["status", "--context", "ci", "--state", "success", "--token-file", "secrets/gh-token"]);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let run = github(dir.path(), &server.uri(), &refs, &[("GITHUB_TOKEN", "")]).await.expect_code(2);
    assert!(
        run.stderr
            .contains(&format!("GitHub refused the token from --token-file {} (401", token_file.display())),
        "{}",
        run.stderr
    );
    assert_eq!(requests(&server, TOKEN).await.len(), 2, "the file's token, without its newline");
}

#[tokio::test]
async fn on_jenkins_the_repository_comes_from_git_url_and_the_link_from_build_url() {
    let server = Contract::start().await;
    server
        .on("POST", format!("/repos/octo/app/statuses/{SHA}").as_str())
        .times(1)
        .answer(ResponseTemplate::new(201).set_body_json(json!({"id": 4})))
        .await;
    let dir = tempfile::tempdir().unwrap();
    result(dir.path(), "test.json", "test", "passed", "10 tests passed", json!([]));
    let env = [
        ("JENKINS_URL", "https://jenkins.example.com/"),
        ("GIT_URL", "https://github.com/octo/app.git"),
        ("GIT_COMMIT", SHA),
        ("BUILD_URL", "https://jenkins.example.com/job/app/12/"),
        ("STEPKIT_GITHUB_TOKEN", TOKEN),
        ("GITHUB_TOKEN", ""),
    ];
    github(
        dir.path(),
        &server.uri(),
        &["status", "--context", "jenkins/tests", "--result", "test.json"],
        &env,
    )
    .await
    .expect_code(0);
    let sent = body(&requests(&server, TOKEN).await[0]);
    assert_eq!(
        sent,
        json!({"state": "success", "context": "jenkins/tests", "description": "10 tests passed", "target_url": "https://jenkins.example.com/job/app/12/"})
    );
}

#[tokio::test]
async fn a_request_past_its_timeout_is_retried() {
    let server = Contract::start().await;
    server
        .on("POST", "*")
        .answer(ResponseTemplate::new(201).set_body_json(json!({"id": 1})).set_delay(Duration::from_secs(5)))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(
        dir.path(),
        &server,
        &["status", "--context", "ci", "--state", "success", "--timeout", "1s", "--retry-budget", "3s"],
    )
    .await
    .expect_code(3);
    assert!(run.stderr.contains("(last: no answer within 1s)"), "{}", run.stderr);
    assert!(requests(&server, TOKEN).await.len() > 1);
}

fn epoch_in(seconds: u64) -> String {
    (SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap() + Duration::from_secs(seconds))
        .as_secs()
        .to_string()
}

fn rate_limited(reset: &str) -> ResponseTemplate {
    ResponseTemplate::new(403)
        .insert_header("x-ratelimit-limit", "5000")
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", reset)
        .set_body_json(json!({"message": "API rate limit exceeded for installation ID 1."}))
}

#[tokio::test]
async fn a_primary_rate_limit_that_resets_soon_is_waited_out() {
    let server = Contract::start().await;
    server
        .on("POST", "*")
        .times(2)
        .answer(failing_then(1, rate_limited(&epoch_in(1)), check_run_created(5)))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(dir.path(), &server, &["check-run", "--name", "tests"]).await.expect_code(0);
    assert!(run.stderr.contains("rate limit used up until"), "{}", run.stderr);
    assert_eq!(run.json()["data"]["attempts"], 2);
    assert_eq!(requests(&server, TOKEN).await.len(), 2);
}

#[tokio::test]
async fn a_primary_rate_limit_that_resets_after_the_budget_fails_at_once() {
    let server = Contract::start().await;
    server.on("POST", "*").answer(rate_limited(&epoch_in(3_600))).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(dir.path(), &server, &["check-run", "--name", "tests"]).await.expect_code(3);
    assert!(
        run.stderr.contains("rate limit is used up until") && run.stderr.contains(" UTC (in "),
        "{}",
        run.stderr
    );
    assert_eq!(requests(&server, TOKEN).await.len(), 1, "no waiting for an hour");
}

#[tokio::test]
async fn a_secondary_rate_limit_is_retried_after_retry_after() {
    let server = Contract::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(json!({"message": "You have exceeded a secondary rate limit."}));
    let created = ResponseTemplate::new(201).set_body_json(json!({"id": 3}));
    server.on("POST", "*").times(2).answer(failing_then(1, limited, created)).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(dir.path(), &server, &["status", "--context", "ci", "--state", "pending"])
        .await
        .expect_code(0);
    assert!(
        run.stderr.contains("secondary rate limit") && run.stderr.contains("retrying in 1s"),
        "{}",
        run.stderr
    );
    assert_eq!(requests(&server, TOKEN).await.len(), 2);
}

#[tokio::test]
async fn forbidden_names_the_permission_each_command_needs() {
    let server = Contract::start().await;
    let forbidden = ResponseTemplate::new(403)
        .insert_header("x-ratelimit-remaining", "4999")
        .set_body_json(json!({"message": "Resource not accessible by integration"}));
    server.on("POST", "*").answer(forbidden).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(dir.path(), &server, &["check-run", "--name", "tests"]).await.expect_code(2);
    assert!(
        run.stderr.contains("the token lacks permission")
            && run.stderr.contains("`permissions: checks: write`"),
        "{}",
        run.stderr
    );
    let run = run_local(dir.path(), &server, &["status", "--context", "ci", "--state", "success"])
        .await
        .expect_code(2);
    assert!(run.stderr.contains("`permissions: statuses: write`"), "{}", run.stderr);
    let run = run_local(dir.path(), &server, &["comment", "--pr", "5", "--new"]).await.expect_code(2);
    assert!(run.stderr.contains("`permissions: pull-requests: write`"), "{}", run.stderr);
    assert_eq!(requests(&server, TOKEN).await.len(), 3, "never retried");
}

#[tokio::test]
async fn not_found_and_validation_errors_say_what_github_said() {
    let server = Contract::start().await;
    server
        .on("POST", "/repos/octo/app/check-runs")
        .answer(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .await;
    let invalid = json!({"message": "Validation Failed", "errors": [{"resource": "Status", "code": "custom", "field": "sha", "message": format!("No commit found for SHA: {SHA}")}]});
    server
        .on("POST", format!("/repos/octo/app/statuses/{SHA}").as_str())
        .answer(ResponseTemplate::new(422).set_body_json(invalid))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(dir.path(), &server, &["check-run", "--name", "tests"]).await.expect_code(2);
    assert!(
        run.stderr.contains("repository octo/app not found, or the token cannot see it"),
        "{}",
        run.stderr
    );
    let run = run_local(dir.path(), &server, &["status", "--context", "ci", "--state", "success"])
        .await
        .expect_code(2);
    assert!(
        run.stderr.contains(&format!("422 Validation Failed: No commit found for SHA: {SHA} (custom)")),
        "{}",
        run.stderr
    );
    assert_eq!(requests(&server, TOKEN).await.len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_budget_runs_out() {
    let server = Contract::start().await;
    server
        .on("POST", "*")
        .answer(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_local(dir.path(), &server, &["check-run", "--name", "tests", "--retry-budget", "2s"])
        .await
        .expect_code(3);
    assert!(
        run.stderr.contains("the GitHub API at 127.0.0.1:") && run.stderr.contains("(last: 502 Bad Gateway)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("retrying in 1s"), "{}", run.stderr);
    assert!(requests(&server, TOKEN).await.len() > 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_names_the_host() {
    let closed = crate::support::ports::closed_port();
    let port = closed.port();
    let dir = tempfile::tempdir().unwrap();
    let all = local(&[
        "status",
        "--context",
        "ci",
        "--state",
        "success",
        "--retry-budget",
        "2s",
        "--timeout",
        "2s",
    ]);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let run = github(dir.path(), &format!("http://127.0.0.1:{port}"), &refs, &[]).await.expect_code(3);
    assert!(
        run.stderr.contains(&format!("the GitHub API at 127.0.0.1:{port} did not answer after 2 attempts")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.to_ascii_lowercase().contains("connect"), "{}", run.stderr);
}
