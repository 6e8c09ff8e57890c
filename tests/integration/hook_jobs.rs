//! `stepkit hook serve` jobs end to end: SIGTERM while a step runs (finished within the grace
//! period, or stopped after it, the queue kept across the restart), and a rule's report steps
//! (`github status`, `notify`) reporting the job's results to local servers that play GitHub and Slack.

use crate::hook::{commit_report, git, push_payload, repos, send_github, start, start_with_env, SECRET};
use crate::support::contract::{switch, text, Contract};
use crate::support::wait::wait_until;
use crate::support::{record, stepkit, write, Run};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wiremock::ResponseTemplate;

/// A health endpoint for a `gate` step: 503 until `ready`, then 200.
struct Health {
    server: Contract,
    ready: Arc<AtomicBool>,
}

fn health() -> Health {
    let server = Contract::start_blocking();
    let (answers, ready) = switch(ResponseTemplate::new(503), ResponseTemplate::new(200));
    server.route_blocking("*", "/health", answers);
    Health { server, ready }
}

impl Health {
    /// Waits for a probe that arrives after this call: the gate step is running now.
    fn next_probe(&self) {
        let before = self.server.requests_blocking().len();
        wait_until("the gate step to probe", || self.server.requests_blocking().len() > before);
    }
}

/// The processes whose command line has `needle` as one argument (from /proc).
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if cmdline.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()) {
            found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
        }
    }
    found
}

/// `stepkit hook list` on the store in `work` (the server need not run).
fn jobs(work: &Path) -> Vec<Value> {
    let run = stepkit()
        .current_dir(work)
        .args(["hook", "list", "--format", "json", "--config", "stepkit.toml", "--state-dir", "state"])
        .run()
        .expect_code(0);
    let mut jobs = run.json()["data"]["jobs"].as_array().unwrap().clone();
    jobs.sort_by_key(|j| j["id"].as_i64());
    jobs
}

#[test]
fn hook_sigterm_lets_the_running_job_finish_within_grace_stops_it_after_and_keeps_the_queue() {
    let repos = repos();
    let work = repos.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let health = health();
    let url = format!("{}/health", health.server.uri());
    let first = commit_report(&repos.upstream, "first");
    let second = commit_report(&repos.upstream, "second");
    let config = format!(
        "[hook]\nclone = {:?}\n[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\n\
         steps = [[\"gate\", \"--http\", \"{url}\", \"--interval\", \"200ms\", \"--deadline\", \"10m\"]]\n",
        repos.clone
    );

    // Past the grace period: the running step is stopped, its job queued again; the queued job stays.
    let server = start(&work, &config, &["--grace", "1s"]);
    assert_eq!(send_github(server.addr, "push", "t-1", &push_payload("refs/heads/main", &first, &[])).0, 202);
    health.next_probe();
    assert_eq!(
        send_github(server.addr, "push", "t-2", &push_payload("refs/heads/main", &second, &[])).0,
        202
    );
    server.terminate();
    let (code, log) = server.wait();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("grace period over"), "{log}");
    assert!(
        processes_with(&url).is_empty(),
        "the stopped step outlived the server: {:?}",
        processes_with(&url)
    );
    let [one, two] = &jobs(&work)[..] else { panic!("{:#?}", jobs(&work)) };
    assert_eq!((one["state"].as_str(), one["sha"].as_str()), (Some("queued"), Some(first.as_str())));
    assert_eq!(one["result"]["state"], "interrupted", "{one:#}");
    assert_ne!(one["result"]["steps"][0]["exit_code"], 0, "{one:#}");
    assert_eq!((two["state"].as_str(), &two["result"]), (Some("queued"), &Value::Null));

    // Within the grace period: the step keeps running after the signal, finishes, then the server exits.
    let mut server = start(&work, &config, &["--grace", "10m"]);
    health.next_probe();
    server.terminate();
    let mut log = server.wait_for_line("no longer listening");
    health.next_probe();
    health.ready.store(true, Ordering::SeqCst);
    let (code, rest) = server.wait();
    log.push_str(&rest);
    assert_eq!(code, 0, "{log}");
    let id = one["id"].as_i64().unwrap();
    assert!(log.contains(&format!("job {id} succeeded")) && !log.contains("grace period over"), "{log}");
    let [one, two] = &jobs(&work)[..] else { panic!() };
    assert_eq!(
        (one["state"].as_str(), one["result"]["steps"][0]["exit_code"].as_i64()),
        (Some("succeeded"), Some(0))
    );
    assert_eq!(two["state"], "queued", "a shutdown starts no new job: {two:#}");

    // After the restart the queued job runs.
    let server = start(&work, &config, &[]);
    let settled = server.settled_jobs();
    let two = settled.iter().find(|j| j["sha"] == second.as_str()).unwrap();
    assert_eq!(two["state"], "succeeded", "{two:#}");
    let (code, log) = server.stop();
    assert_eq!(code, 0, "{log}");
}

/// The suite's GitHub test token and Slack webhook secret (.ci/run greps every output for them).
const GITHUB_TOKEN: &str = "ghp_github-token-secret-9c2d";
const SLACK_PATH: &str = "/services/T000/B000/slack-webhook-secret-6b1f";

#[test]
fn hook_report_steps_set_the_commit_status_and_post_to_slack_from_the_jobs_results() {
    let github = Contract::start_blocking();
    let created = json!({"id": 1, "url": "https://api.github.com/x", "state": "success"});
    let statuses = github.on("POST", "^/repos/octo/app/statuses/[0-9a-f]{40}$").times(2);
    statuses.answer_blocking(ResponseTemplate::new(201).set_body_json(created));
    let slack = Contract::start_blocking();
    slack.on("POST", SLACK_PATH).times(2).answer_blocking(text(200, "ok"));
    let repos = repos();
    let passing = repos.main_sha.clone();
    write(
        &repos.upstream,
        "report.xml",
        "<testsuite name=\"s\" tests=\"1\" failures=\"1\"><testcase classname=\"c\" name=\"breaks\"><failure message=\"boom\"/></testcase></testsuite>\n",
    );
    git(&repos.upstream, &["commit", "-q", "-am", "breaks"]);
    let failing = git(&repos.upstream, &["rev-parse", "HEAD"]);
    let work = repos.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let config = format!(
        "[hook]\nclone = {:?}\n[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\n\
         steps = [[\"junit\", \"summary\", \"report.xml\"]]\n\
         report = [[\"github\", \"status\", \"--context\", \"stepkit/prod\", \"--repo\", \"octo/app\"], [\"notify\"]]\n",
        repos.clone
    );
    let slack_url = format!("{}{SLACK_PATH}", slack.uri());
    let env = [
        ("GITHUB_API_URL", github.uri()),
        ("GITHUB_TOKEN", GITHUB_TOKEN.to_string()),
        ("STEPKIT_SLACK_WEBHOOK_URL", slack_url),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = start_with_env(&work, &config, &[], &env);
    for (n, sha) in [&passing, &failing].into_iter().enumerate() {
        let (status, body) =
            send_github(server.addr, "push", &format!("rep-{n}"), &push_payload("refs/heads/main", sha, &[]));
        assert_eq!(status, 202, "{body}");
        server.settled_jobs();
    }
    let jobs = server.settled_jobs();
    let (code, log) = server.stop();
    assert_eq!(code, 0, "{log}");

    // The job's state is its steps'; the report steps ran after the failure too, and succeeded.
    let state_of = |sha: &str| jobs.iter().find(|j| j["sha"] == sha).unwrap()["state"].clone();
    assert_eq!((state_of(&passing), state_of(&failing)), (json!("succeeded"), json!("failed")), "{jobs:#?}");
    for job in &jobs {
        let report = &job["result"]["report"];
        assert_eq!(report.as_array().map(Vec::len), Some(2), "{job:#}");
        assert!(report.as_array().unwrap().iter().all(|s| s["exit_code"] == 0), "{job:#}");
        // The steps' logs join the suite's secret check.
        for step in job["result"]["steps"].as_array().unwrap().iter().chain(report.as_array().unwrap()) {
            let text = std::fs::read_to_string(step["log_file"].as_str().unwrap()).unwrap_or_default();
            record(&Run { code: 0, stdout: String::new(), stderr: text });
        }
    }

    // GitHub: one commit status per pushed commit, from the junit step's result.
    let statuses = github.requests_blocking();
    let status_of = |sha: &str| -> Value {
        let request = statuses.iter().find(|r| r.url.path().ends_with(sha)).expect("a status for the commit");
        let auth = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        assert_eq!(auth, Some(format!("Bearer {GITHUB_TOKEN}").as_str()));
        serde_json::from_slice(&request.body).unwrap()
    };
    let (ok, bad) = (status_of(&passing), status_of(&failing));
    assert_eq!(
        (ok["state"].as_str(), ok["context"].as_str()),
        (Some("success"), Some("stepkit/prod")),
        "{ok}"
    );
    assert_eq!(bad["state"], "failure", "{bad}");

    // Slack: one message per job, saying what the junit step concluded.
    let messages: Vec<String> =
        slack.requests_blocking().iter().map(|r| String::from_utf8_lossy(&r.body).to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].contains("stepkit junit summary succeeded"), "{}", messages[0]);
    assert!(messages[1].contains("stepkit junit summary failed"), "{}", messages[1]);
    assert!(!log.contains(GITHUB_TOKEN) && !log.contains("slack-webhook-secret") && !log.contains(SECRET));
}
