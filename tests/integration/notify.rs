//! `stepkit notify` (Slack) against local contract servers that answer as Slack documents: incoming
//! webhooks (200 `ok`, 4xx codes), the Web API (`ok:false` codes, 429 + Retry-After), 5xx and no server.

use crate::support::contract::{failing_then, rate_limited, text, Contract};
use crate::support::{stepkit, write, Run, Stepkit};
use serde_json::{json, Value};
use std::path::Path;
use wiremock::ResponseTemplate;

const WEBHOOK_PATH: &str = "/services/T000/B000/slack-webhook-secret-6b1f";
const TOKEN: &str = "xoxb-slack-token-secret-3e9a";
const SECRETS: [&str; 2] = ["slack-webhook-secret-6b1f", TOKEN];

async fn run(builder: Stepkit) -> Run {
    tokio::task::spawn_blocking(move || builder.run()).await.expect("stepkit ran")
}

/// stepkit with the webhook of `server` in the environment, in `dir`.
fn with_webhook(server: &Contract, dir: &Path) -> Stepkit {
    stepkit().current_dir(dir).env("STEPKIT_SLACK_WEBHOOK_URL", format!("{}{WEBHOOK_PATH}", server.uri()))
}

/// stepkit with the bot token and the API of `server`.
fn with_token(server: &Contract, dir: &Path) -> Stepkit {
    stepkit()
        .current_dir(dir)
        .env("STEPKIT_SLACK_TOKEN", TOKEN)
        .env("STEPKIT_SLACK_API_URL", format!("{}/api", server.uri()))
}

/// No secret in stdout, stderr or the files given (result files).
fn assert_no_secret(run: &Run, files: &[&Path]) {
    for secret in SECRETS {
        assert!(!run.stdout.contains(secret), "secret in stdout:\n{}", run.stdout);
        assert!(!run.stderr.contains(secret), "secret in stderr:\n{}", run.stderr);
        for file in files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            assert!(!text.contains(secret), "secret in {}:\n{text}", file.display());
        }
    }
}

async fn bodies(server: &Contract) -> Vec<Value> {
    server.requests().await.iter().map(|r| serde_json::from_slice(&r.body).expect("a JSON body")).collect()
}

fn ok_webhook() -> ResponseTemplate {
    text(200, "ok")
}

fn api_ok(channel: &str, ts: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "ok": true, "channel": channel, "ts": ts, "message": {} }))
}

fn api_error(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "ok": false, "error": code }))
}

/// A real result file: `stepkit junit summary` of a report with one failure whose message tries to ping
/// @channel and forge a link.
fn failing_test_result(dir: &Path) -> std::path::PathBuf {
    write(
        dir,
        "junit.xml",
        r#"<testsuite name="s" tests="2" failures="1"><testcase classname="app.Login" name="test_ok"/>
           <testcase classname="app.Login" name="test_&lt;!channel&gt;"><failure message="boom &amp; &lt;https://evil|click&gt;"/></testcase></testsuite>"#,
    );
    stepkit()
        .current_dir(dir)
        .args(["junit", "summary", "junit.xml", "--result-file", "test.json"])
        .run()
        .expect_code(1);
    dir.join("test.json")
}

fn passing_test_result(dir: &Path) -> std::path::PathBuf {
    write(dir, "ok.xml", r#"<testsuite name="s" tests="1"><testcase classname="a" name="b"/></testsuite>"#);
    stepkit()
        .current_dir(dir)
        .args(["junit", "summary", "ok.xml", "--result-file", "ok.json"])
        .run()
        .expect_code(0);
    dir.join("ok.json")
}

fn texts(body: &Value) -> String {
    let mut all = vec![body["text"].as_str().unwrap_or_default().to_string()];
    for block in body["attachments"][0]["blocks"].as_array().into_iter().flatten() {
        all.extend(block["text"]["text"].as_str().map(str::to_string));
        all.extend(
            block["elements"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["text"].as_str().map(str::to_string)),
        );
    }
    all.join("\n")
}

#[tokio::test]
async fn webhook_posts_blocks_with_fallback_colour_escaping_steps_and_run_link() {
    // On GitHub the URL is printed once, in the runner's ::add-mask:: command, so this test has its own
    // secret (kept out of .ci/run's grep list) and checks that nothing else shows it.
    const MASKED: &str = "/services/T000/B000/masked-on-github-9d0e";
    let server = Contract::start().await;
    server.on("POST", MASKED).times(1).answer(ok_webhook()).await;
    let dir = tempfile::tempdir().unwrap();
    failing_test_result(dir.path());
    // What `stepkit deploy --result-file` writes, with a headline that tries to ping and forge a link.
    write(
        dir.path(),
        "deploy.json",
        r#"{"command":"deploy","verdict":"passed","exit_code":0,"headline":"<!channel> web is live & <https://evil|click>","data":{},"annotations":[],"outputs":{},"warnings":[]}"#,
    );
    let run = run(stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_SLACK_WEBHOOK_URL", format!("{}{MASKED}", server.uri()))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", "987")
        .args([
            "--format",
            "json",
            "--result-file",
            "notify.json",
            "notify",
            "--result",
            "test.json",
            "--result",
            "deploy.json",
            "--text",
            "release <v2> & friends",
        ]))
    .await
    .expect_code(0);

    let body = &bodies(&server).await[0];
    assert_eq!(body["attachments"][0]["color"], "danger");
    let blocks = body["attachments"][0]["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], "*❌ 2 steps failed in octo/app*");
    assert_eq!(blocks[1]["text"]["text"], "release &lt;v2&gt; &amp; friends");
    let steps = blocks[2]["text"]["text"].as_str().unwrap();
    let lines: Vec<&str> = steps.lines().collect();
    assert!(lines[0].starts_with("❌ stepkit junit summary: 2 tests: 1 passed, 1 failed"), "{steps}");
    assert_eq!(lines[1], "✅ stepkit deploy: &lt;!channel&gt; web is live &amp; &lt;https://evil|click&gt;");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("❌ 2 steps failed in octo/app\n❌ stepkit junit summary: "),
        "{body}"
    );
    let context = blocks.last().unwrap()["elements"][0]["text"].as_str().unwrap();
    assert_eq!(context, "octo/app@0123456 on main · <https://github.com/octo/app/actions/runs/987|View run>");
    let all = texts(body);
    assert!(!all.contains("<!channel>") && !all.contains("<https://evil"), "step text is escaped:\n{all}");

    let out = run.json();
    assert_eq!(out["data"]["mode"], "webhook");
    assert_eq!((out["data"]["sent"].as_bool(), out["data"]["attempts"].as_u64()), (Some(true), Some(1)));
    assert_eq!(out["data"]["status"], "failure");
    assert_eq!(out["data"]["message"]["title"], "2 steps failed in octo/app");
    assert_eq!(out["data"]["message"]["steps"][1]["verdict"], "passed");
    assert_eq!(out["headline"], "sent to Slack through the incoming webhook");
    assert!(
        run.stderr.contains("::add-mask::http://127.0.0.1"),
        "the webhook URL is masked on GitHub:\n{}",
        run.stderr
    );
    // The ::add-mask:: line is the runner's way to hide it; nothing else may show it.
    let unmasked: String =
        run.stderr.lines().filter(|l| !l.starts_with("::add-mask::")).collect::<Vec<_>>().join("\n");
    assert!(!unmasked.contains("masked-on-github-9d0e"), "{unmasked}");
    assert!(!run.stdout.contains("masked-on-github-9d0e"));
    assert!(!std::fs::read_to_string(dir.path().join("notify.json"))
        .unwrap()
        .contains("masked-on-github-9d0e"));
}

#[tokio::test]
async fn bot_posts_with_the_token_and_writes_ts_and_channel_outputs() {
    let server = Contract::start().await;
    let bot = "Bearer xoxb-bot-outputs-4c2d";
    let posts = server.on("POST", "/api/chat.postMessage").header("authorization", bot).times(1);
    posts.answer(api_ok("C0DEPLOYS", "1712.0001")).await;
    let dir = tempfile::tempdir().unwrap();
    passing_test_result(dir.path());
    let outputs = write(dir.path(), "github_output", "");
    let run = run(stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_SLACK_TOKEN", "xoxb-bot-outputs-4c2d")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .args([
            "notify",
            "--api-url",
            &format!("{}/api", server.uri()),
            "--channel",
            "deploys",
            "--result",
            "ok.json",
        ]))
    .await
    .expect_code(0);

    let body = &bodies(&server).await[0];
    assert_eq!(body["channel"], "deploys");
    assert_eq!(body["attachments"][0]["color"], "good");
    assert!(body.get("thread_ts").is_none() && body.get("ts").is_none());
    assert!(run.stderr.contains("sent to #deploys (ts 1712.0001)"), "{}", run.stderr);
    assert!(
        run.stderr.contains("::add-mask::xoxb-bot-outputs-4c2d"),
        "the token is masked on GitHub:\n{}",
        run.stderr
    );
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(outputs.contains("ts<<") && outputs.contains("1712.0001"), "{outputs}");
    assert!(
        outputs.contains("channel<<") && outputs.contains("C0DEPLOYS"),
        "the channel ID, for a later --update:\n{outputs}"
    );
}

#[tokio::test]
async fn update_and_thread_ts_call_the_right_methods() {
    let server = Contract::start().await;
    server.on("POST", "/api/chat.update").times(1).answer(api_ok("C0DEPLOYS", "1712.0001")).await;
    server.on("POST", "/api/chat.postMessage").times(1).answer(api_ok("C0DEPLOYS", "1712.0002")).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "token", format!("{TOKEN}\n"));

    let update = run(stepkit()
        .current_dir(dir.path())
        .args([
            "--format",
            "json",
            "notify",
            "--token-file",
            "token",
            "--channel",
            "C0DEPLOYS",
            "--api-url",
            &format!("{}/api", server.uri()),
        ])
        .args(["--update", "1712.0001", "--status", "success", "--title", "Deploy of v1.2 finished"]))
    .await
    .expect_code(0);
    assert_eq!(update.json()["headline"], "updated in C0DEPLOYS (ts 1712.0001)");
    let thread = run(with_token(&server, dir.path()).args([
        "notify",
        "--channel",
        "C0DEPLOYS",
        "--thread-ts",
        "1712.0001",
        "--status",
        "info",
        "--title",
        "logs",
    ]))
    .await
    .expect_code(0);
    assert!(thread.stderr.contains("(ts 1712.0002)"), "{}", thread.stderr);

    let requests = server.requests().await;
    let update_body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        (update_body["ts"].as_str(), update_body["channel"].as_str()),
        (Some("1712.0001"), Some("C0DEPLOYS"))
    );
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}"),
        "the token file's newline is trimmed"
    );
    let thread_body: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(thread_body["thread_ts"], "1712.0001");
    assert!(thread_body.get("ts").is_none());
    assert_no_secret(&update, &[]);
    assert_no_secret(&thread, &[]);
}

#[tokio::test]
async fn rate_limited_waits_for_retry_after_then_sends() {
    let server = Contract::start().await;
    server.route("POST", "*", failing_then(1, rate_limited(1), api_ok("C1", "1.1"))).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run(with_token(&server, dir.path()).args([
        "--format",
        "json",
        "notify",
        "--channel",
        "C1",
        "--status",
        "info",
        "--title",
        "hi",
    ]))
    .await
    .expect_code(0);
    assert_eq!(server.requests().await.len(), 2);
    assert_eq!(run.json()["data"]["attempts"], 2);
    assert!(
        run.stderr.contains("429 rate limited; attempt 2 in 1s"),
        "the wait is Slack's Retry-After:\n{}",
        run.stderr
    );
    assert_no_secret(&run, &[]);
}

#[tokio::test]
async fn invalid_auth_is_refused_at_once_with_advice() {
    let server = Contract::start().await;
    server.route("POST", "*", api_error("invalid_auth")).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run(with_token(&server, dir.path()).args([
        "--result-file",
        "r.json",
        "notify",
        "--channel",
        "C1",
        "--status",
        "info",
    ]))
    .await
    .expect_code(2);
    assert_eq!(server.requests().await.len(), 1, "a permanent error is not retried");
    assert!(
        run.stderr
            .contains("chat.postMessage with the token in STEPKIT_SLACK_TOKEN was refused (invalid_auth)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Bot User OAuth Token"), "{}", run.stderr);
    assert_no_secret(&run, &[&dir.path().join("r.json")]);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(result["exit_code"], 2);
}

#[tokio::test]
async fn not_in_channel_says_to_invite_the_app() {
    let server = Contract::start().await;
    server.route("POST", "*", api_error("not_in_channel")).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run(with_token(&server, dir.path()).args(["notify", "--channel", "C1", "--status", "info"]))
        .await
        .expect_code(2);
    assert!(run.stderr.contains("invite the app to the channel"), "{}", run.stderr);
    assert_no_secret(&run, &[]);
}

#[tokio::test]
async fn webhook_404_no_service_names_the_setting_not_the_url() {
    let server = Contract::start().await;
    server.route("POST", "*", text(404, "no_service")).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run(with_webhook(&server, dir.path()).args(["--format", "json", "notify", "--status", "info"]))
        .await
        .expect_code(2);
    assert_eq!(server.requests().await.len(), 1);
    assert!(
        run.stderr.contains("the webhook in STEPKIT_SLACK_WEBHOOK_URL was refused (404 no_service)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("create a new incoming webhook"), "{}", run.stderr);
    assert_eq!(run.json()["exit_code"], 2);
    assert_no_secret(&run, &[]);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_budget_runs_out() {
    let server = Contract::start().await;
    server.route("POST", "*", ResponseTemplate::new(500)).await;
    let dir = tempfile::tempdir().unwrap();
    let run =
        run(with_webhook(&server, dir.path()).args(["notify", "--status", "info", "--retry-budget", "2s"]))
            .await
            .expect_code(3);
    let attempts = server.requests().await.len();
    assert!(attempts > 1, "retried: {attempts}");
    assert!(
        run.stderr.contains("post to Slack at 127.0.0.1: 500 server error"),
        "names the host only:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("after {attempts} attempt(s)")), "{}", run.stderr);
    assert!(
        run.stderr.contains("Slack at 127.0.0.1: 500 server error; attempt 2 in 1s"),
        "retries are announced:\n{}",
        run.stderr
    );
    assert_no_secret(&run, &[]);
}

#[tokio::test]
async fn connection_refused_is_an_environment_error() {
    // A loopback port held by the test that nothing listens on.
    let closed = crate::support::ports::closed_port();
    let port = closed.port();
    let dir = tempfile::tempdir().unwrap();
    let run = run(stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_SLACK_WEBHOOK_URL", format!("http://127.0.0.1:{port}{WEBHOOK_PATH}"))
        .args(["notify", "--status", "info", "--retry-budget", "1500ms"]))
    .await
    .expect_code(3);
    assert!(
        run.stderr.contains("post to Slack at 127.0.0.1: could not connect (Connection refused"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("after 2 attempt(s)"), "{}", run.stderr);
    assert!(!run.stderr.contains(&port.to_string()), "the host only, no port or path:\n{}", run.stderr);
    assert_no_secret(&run, &[]);
}

#[tokio::test]
async fn when_failure_sends_nothing_for_a_success() {
    let server = Contract::start().await;
    server.on("POST", "*").times(0).answer(ok_webhook()).await;
    let dir = tempfile::tempdir().unwrap();
    passing_test_result(dir.path());
    let run = run(with_webhook(&server, dir.path())
        .args(["--format", "json", "notify", "--result", "ok.json", "--when", "failure"]))
    .await
    .expect_code(0);
    let out = run.json();
    assert_eq!(out["headline"], "nothing sent: --when failure and the status is success");
    assert_eq!((out["data"]["sent"].as_bool(), out["data"]["attempts"].as_u64()), (Some(false), Some(0)));
    assert!(server.requests().await.is_empty());
}

#[tokio::test]
async fn a_missing_result_file_still_notifies_that_it_is_missing() {
    let server = Contract::start().await;
    server.route("POST", "*", ok_webhook()).await;
    let dir = tempfile::tempdir().unwrap();
    run(with_webhook(&server, dir.path()).args(["notify", "--result", "deploy.json"])).await.expect_code(0);
    let body = &bodies(&server).await[0];
    let all = texts(body);
    assert!(all.contains("no result file at") && all.contains("deploy.json"), "{all}");
    assert_eq!(body["attachments"][0]["color"], "danger", "a step that left no result is a failure");
}

#[tokio::test]
async fn mentions_only_when_the_status_is_bad() {
    let server = Contract::start().await;
    server.route("POST", "*", ok_webhook()).await;
    let dir = tempfile::tempdir().unwrap();
    failing_test_result(dir.path());
    passing_test_result(dir.path());
    for result in ["test.json", "ok.json"] {
        run(with_webhook(&server, dir.path()).args([
            "notify",
            "--result",
            result,
            "--mention-on-failure",
            "@here",
            "--mention-on-failure",
            "<!subteam^S1>",
        ]))
        .await
        .expect_code(0);
    }
    let bodies = bodies(&server).await;
    assert!(
        bodies[0]["text"].as_str().unwrap().starts_with("@here <!subteam^S1> ❌"),
        "raw mentions on failure: {}",
        bodies[0]["text"]
    );
    assert!(
        !texts(&bodies[1]).contains("@here") && !texts(&bodies[1]).contains("subteam"),
        "none on success: {}",
        bodies[1]["text"]
    );
}

#[tokio::test]
async fn no_credential_is_a_usage_error_naming_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let run =
        run(stepkit().current_dir(dir.path()).args(["notify", "--status", "info"])).await.expect_code(2);
    for name in ["STEPKIT_SLACK_WEBHOOK_URL", "--webhook-url-file", "STEPKIT_SLACK_TOKEN", "--token-file"] {
        assert!(run.stderr.contains(name), "{}", run.stderr);
    }
}

#[tokio::test]
async fn both_credentials_use_the_token_with_a_warning_and_the_config_table_applies() {
    let server = Contract::start().await;
    server.on("POST", "/api/chat.postMessage").times(1).answer(api_ok("C0FROMTOML", "2.2")).await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "stepkit.toml",
        format!(
            "[notify]\nchannel = \"C0FROMTOML\"\napi-url = \"{}/api\"\nretry-budget = \"5s\"\n",
            server.uri()
        ),
    );
    write(dir.path(), "hook", format!("{}{WEBHOOK_PATH}\n", server.uri()));
    let run = run(stepkit().current_dir(dir.path()).env("STEPKIT_SLACK_TOKEN", TOKEN).args([
        "notify",
        "--webhook-url-file",
        "hook",
        "--status",
        "info",
        "--title",
        "both",
    ]))
    .await
    .expect_code(0);
    assert!(run.stderr.contains("using the token"), "{}", run.stderr);
    assert_eq!(bodies(&server).await[0]["channel"], "C0FROMTOML");
    assert_no_secret(&run, &[]);

    write(dir.path(), "stepkit.toml", "[notify]\nchanel = \"x\"\n");
    let bad = crate::support::stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_SLACK_TOKEN", TOKEN)
        .args(["notify"])
        .run()
        .expect_code(2);
    assert!(bad.stderr.contains("chanel"), "{}", bad.stderr);
}

#[tokio::test]
async fn text_file_and_timeout_are_used() {
    let server = Contract::start().await;
    // Slower than --timeout: each attempt times out and is retried within the budget.
    server.route("POST", "*", ok_webhook().set_delay(std::time::Duration::from_secs(5))).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.md", "line one\nline two\n");
    let run = run(with_webhook(&server, dir.path()).args([
        "notify",
        "--status",
        "info",
        "--text-file",
        "notes.md",
        "--timeout",
        "300ms",
        "--retry-budget",
        "1s",
    ]))
    .await
    .expect_code(3);
    assert!(run.stderr.contains("no answer within 300ms"), "{}", run.stderr);
    let body = &bodies(&server).await[0];
    assert_eq!(body["attachments"][0]["blocks"][1]["text"]["text"], "line one\nline two");
}
