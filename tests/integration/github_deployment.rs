//! `stepkit deploy --github-deployment` with real containers against the local GitHub contract server
//! (github_contract.rs): statuses in_progress -> success / failure, the replaced deployment inactive,
//! GitHub's failures as warnings that never change the deploy, on Actions and on Jenkins.

use crate::deploy::{Fixture, Kind};
use crate::github_contract::GithubDeployments;
use crate::image::have_docker;
use crate::support::{stepkit, write, Run};
use serde_json::Value;
use wiremock::ResponseTemplate;

/// The test secret (.ci/run greps every output of the suite for it).
const TOKEN: &str = "ghp_deployment-token-secret-5e1a";
/// The token on Actions, which stepkit registers with `::add-mask::` (the runner swallows that line),
/// so it is not in .ci/run's list; it must appear nowhere else.
const ACTIONS_TOKEN: &str = "ghs_deploy-actions-token-77c3";
/// A token the server refuses.
const WRONG_TOKEN: &str = "ghp_not-the-right-one-0000";
const SHA: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a9a0b1c2d3";

/// Runs a deploy of `image` with `--github-deployment` (blocking, beside the async server); the token
/// is checked to appear in no output.
async fn deploy(
    f: &Fixture,
    server: &GithubDeployments,
    image: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let mut command = stepkit()
        .current_dir(f.dir.path())
        .env("GITHUB_API_URL", server.uri())
        .args(["--format", "json", "--result-file", "out.json", "deploy", "--name", &f.app, "--image", image])
        .args(["--stop-timeout", "1s", "--interval", "200ms", "--deadline", "30s", "--github-deployment"])
        .args(args);
    for (key, value) in env {
        command = command.env(key, value);
    }
    let run = tokio::task::spawn_blocking(move || command.run()).await.expect("the deploy finishes");
    let file = std::fs::read_to_string(f.dir.path().join("out.json")).unwrap_or_default();
    for text in [&run.stdout, &run.stderr, &file] {
        for line in text.lines().filter(|l| !l.starts_with("::add-mask::")) {
            for token in [TOKEN, ACTIONS_TOKEN, WRONG_TOKEN] {
                assert!(!line.contains(token), "the token leaked:\n{text}");
            }
        }
    }
    run
}

fn actions() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "octo/app"),
        ("GITHUB_SHA", SHA),
        ("GITHUB_RUN_ID", "4242"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_TOKEN", ACTIONS_TOKEN),
    ]
}

fn reported(run: &Run) -> Value {
    run.json()["data"]["github_deployment"].clone()
}

fn warnings(run: &Run) -> String {
    run.json()["warnings"].to_string()
}

#[tokio::test]
async fn deploys_report_in_progress_then_success_and_the_replaced_one_inactive() {
    if !have_docker() {
        return;
    }
    let server = GithubDeployments::start("octo/app", ACTIONS_TOKEN).await;
    // The running workflow's own check is pending and the commit is behind main: GitHub's defaults
    // (every context success, auto_merge) would refuse or merge; stepkit asks for neither.
    server.commit_status(SHA, "ci/tests", "pending");
    server.behind(SHA);
    let mut f = Fixture::new("ghdep");
    let v1 = f.build(Kind::Healthy, "v1");
    let v2 = f.build(Kind::Healthy, "v2");
    let broken = f.build(Kind::Exits, "v3");
    let url = ["--environment-url", "https://app.example.com/"];

    let run = deploy(&f, &server, &v1, &url, &actions()).await.expect_code(0);
    assert!(run.stderr.contains(&format!("::add-mask::{ACTIONS_TOKEN}")), "{}", run.stderr);
    let first = reported(&run);
    assert_eq!(first["statuses"], serde_json::json!(["in_progress", "success"]), "{first}");
    assert_eq!(
        (first["environment"].as_str(), first["log_url"].as_str()),
        (Some("production"), Some("https://github.com/octo/app/actions/runs/4242"))
    );
    assert_eq!(first["url"], "https://github.com/octo/app/deployments/production");
    assert_eq!(run.json()["outputs"]["github-deployment-id"], first["id"].to_string());
    let sent = &server.log()[0];
    assert_eq!((sent.0.as_str(), sent.1.as_str()), ("POST", "/repos/octo/app/deployments"));
    assert_eq!((sent.2["ref"].as_str(), sent.2["auto_merge"].as_bool()), (Some(SHA), Some(false)));
    assert_eq!(sent.2["required_contexts"], serde_json::json!([]));
    assert_eq!(sent.2["payload"]["image"], v1.as_str());

    let run = deploy(&f, &server, &v2, &url, &actions()).await.expect_code(0);
    let second = reported(&run);
    assert_eq!(second["inactive"], serde_json::json!([first["id"]]), "{second}");
    let deployments = server.deployments();
    assert_eq!(deployments[0].states(), ["in_progress", "success", "inactive"]);
    assert_eq!(deployments[1].states(), ["in_progress", "success"]);
    let success = &deployments[1].statuses[1];
    assert_eq!(
        (success["environment_url"].as_str(), success["log_url"].as_str()),
        (Some("https://app.example.com/"), Some("https://github.com/octo/app/actions/runs/4242"))
    );
    assert!(deployments[1].production, "production is GitHub's default for `production`");

    // A version that fails its gate: failure on its deployment; v2 stays the live one on GitHub too.
    let run = deploy(&f, &server, &broken, &url, &actions()).await.expect_code(1);
    assert_eq!(run.json()["data"]["result"], "rolled-back");
    let third = reported(&run);
    assert_eq!(
        (third["statuses"].clone(), third["inactive"].clone()),
        (serde_json::json!(["in_progress", "failure"]), serde_json::json!([]))
    );
    let deployments = server.deployments();
    assert_eq!(deployments[1].states(), ["in_progress", "success"], "the live deployment is untouched");
    assert_eq!(deployments[2].states(), ["in_progress", "failure"]);
    assert!(
        deployments[2].statuses[1]["description"].as_str().unwrap().contains("failed"),
        "{:?}",
        deployments[2].statuses[1]
    );
}

#[tokio::test]
async fn github_failures_are_warnings_that_never_change_the_deploy() {
    if !have_docker() {
        return;
    }
    let server = GithubDeployments::start("octo/app", ACTIONS_TOKEN).await;
    let mut f = Fixture::new("ghfail");
    let v1 = f.build(Kind::Healthy, "v1");
    let broken = f.build(Kind::Exits, "v2");

    // 5xx twice, then a secondary rate limit: retried, and the deployment is complete.
    server.fail_next("POST", "/deployments", ResponseTemplate::new(502));
    server.fail_next("POST", "/deployments", ResponseTemplate::new(503));
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(serde_json::json!({"message": "You have exceeded a secondary rate limit."}));
    server.fail_next("POST", "/statuses", limited);
    let run = deploy(&f, &server, &v1, &[], &actions()).await.expect_code(0);
    let report = reported(&run);
    assert_eq!(
        (report["statuses"].clone(), report["attempts"].as_u64()),
        (serde_json::json!(["in_progress", "success"]), Some(7)),
        "{report}"
    );
    assert!(run.stderr.contains("retrying in"), "{}", run.stderr);

    // A bad token: the deploy still happens and passes; the result says GitHub was not told.
    let mut env = actions();
    env.retain(|(k, _)| *k != "GITHUB_TOKEN");
    env.push(("STEPKIT_GITHUB_TOKEN", WRONG_TOKEN));
    let run = deploy(&f, &server, &v1, &[], &env).await.expect_code(0);
    assert_eq!(run.json()["data"]["result"], "deployed");
    assert!(reported(&run)["id"].is_null());
    assert!(
        warnings(&run).contains("GitHub refused the token from STEPKIT_GITHUB_TOKEN (401 Bad credentials)"),
        "{}",
        warnings(&run)
    );

    // The token may create deployments but not statuses: the permission is named.
    let forbidden = ResponseTemplate::new(403)
        .insert_header("x-ratelimit-remaining", "4999")
        .set_body_json(serde_json::json!({"message": "Resource not accessible by integration"}));
    server.fail_next("POST", "/statuses", forbidden);
    let run = deploy(&f, &server, &v1, &[], &actions()).await.expect_code(0);
    assert!(warnings(&run).contains("`permissions: deployments: write`"), "{}", warnings(&run));

    // A failed deploy while GitHub is down stays a failed deploy (exit 1), never an error or a pass.
    for _ in 0..20 {
        server.fail_next("POST", "/statuses", ResponseTemplate::new(500));
    }
    let before = server.deployments().len();
    let run =
        deploy(&f, &server, &broken, &[], &[actions(), vec![("STEPKIT_GITHUB_RETRY_BUDGET", "2s")]].concat())
            .await
            .expect_code(1);
    assert_eq!(run.json()["data"]["result"], "rolled-back");
    let report = reported(&run);
    assert_eq!(report["statuses"], serde_json::json!([]), "{report}");
    assert!(warnings(&run).contains("(last: 500 Internal Server Error)"), "{}", warnings(&run));
    assert_eq!(server.deployments().len(), before + 1, "created, though no status landed");
}

#[tokio::test]
async fn on_jenkins_explicit_flags_name_the_repository_ref_and_build() {
    if !have_docker() {
        return;
    }
    let server = GithubDeployments::start("octo/app", TOKEN).await;
    let mut f = Fixture::new("ghjenkins");
    let v1 = f.build(Kind::Healthy, "v1");
    write(f.dir.path(), "secrets/gh", format!("{TOKEN}\n"));
    let env = [
        ("JENKINS_URL", "https://jenkins.example.com/"),
        ("BUILD_URL", "https://jenkins.example.com/job/app/31/"),
        ("EXECUTOR_NUMBER", "0"),
    ];
    let flags = [
        "--github-repo",
        "octo/app",
        "--github-ref",
        SHA,
        "--github-environment",
        "stage",
        "--github-token-file",
        "secrets/gh",
    ];
    let run = deploy(&f, &server, &v1, &flags, &env).await.expect_code(0);
    let first = reported(&run);
    assert_eq!(
        (first["log_url"].as_str(), first["environment"].as_str()),
        (Some("https://jenkins.example.com/job/app/31/"), Some("stage"))
    );
    // stage is not production: GitHub's auto_inactive retires the old one, and stepkit names it.
    let run = deploy(&f, &server, &v1, &flags, &env).await.expect_code(0);
    assert_eq!(reported(&run)["inactive"], serde_json::json!([first["id"]]));
    let deployments = server.deployments();
    assert_eq!(deployments[0].states().last().map(String::as_str), Some("inactive"));
    assert!(!deployments[0].production);

    // Another repository: a 404 that names it, and the deploy is unaffected.
    let other = ["--github-repo", "octo/other", "--github-ref", SHA, "--github-token-file", "secrets/gh"];
    let run = deploy(&f, &server, &v1, &other, &env).await.expect_code(0);
    assert!(warnings(&run).contains("repository octo/other not found"), "{}", warnings(&run));
}

#[tokio::test]
async fn github_deployment_flags_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = stepkit()
            .current_dir(dir.path())
            .args(["deploy", "--name", "web", "--image", "web:1"])
            .args(args);
        for (k, v) in env {
            command = command.env(k, v);
        }
        command.run().expect_code(2)
    };
    let r = run(&["--github-environment", "stage"], &[]);
    assert!(
        r.stderr.contains("--github-environment") && r.stderr.contains("only with --github-deployment"),
        "{}",
        r.stderr
    );
    let r = run(&["--github-deployment", "--github-repo", "octo/app", "--github-ref", SHA], &[]);
    assert!(r.stderr.contains("--github-token-file") && r.stderr.contains("GITHUB_TOKEN"), "{}", r.stderr);
    let r = run(&["--github-deployment", "--github-ref", SHA], &[("GITHUB_TOKEN", TOKEN)]);
    assert!(r.stderr.contains("--github-repo OWNER/NAME"), "{}", r.stderr);
    let r = run(&["--github-deployment", "--github-repo", "octo/app"], &[("GITHUB_TOKEN", TOKEN)]);
    assert!(r.stderr.contains("--github-ref"), "{}", r.stderr);
    let r = run(
        &[
            "--github-deployment",
            "--github-repo",
            "octo/app",
            "--github-ref",
            SHA,
            "--environment-url",
            "app.example.com",
        ],
        &[("GITHUB_TOKEN", TOKEN)],
    );
    assert!(r.stderr.contains("--environment-url"), "{}", r.stderr);
    assert!(!r.stderr.contains(TOKEN));
}
