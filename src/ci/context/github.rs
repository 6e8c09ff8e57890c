//! GitHub Actions context: the `GITHUB_*` variables plus the event payload for pull requests.

use std::path::PathBuf;

use serde_json::Value;

use super::{var, Context, Provider};
use crate::ci::Env;

const DEFAULT_SERVER_URL: &str = "https://github.com";

pub(super) fn context(env: &Env) -> Context {
    let mut ctx = Context::new(Provider::GitHubActions);
    ctx.repository = var(env, "GITHUB_REPOSITORY");
    let server = env.get("GITHUB_SERVER_URL").unwrap_or(DEFAULT_SERVER_URL).trim_end_matches('/').to_string();
    ctx.repository_url = ctx.repository.as_ref().map(|repo| format!("{server}/{repo}"));
    ctx.sha = var(env, "GITHUB_SHA");
    ctx.run_id = var(env, "GITHUB_RUN_ID");
    ctx.job = var(env, "GITHUB_JOB");
    ctx.workspace = env.get("GITHUB_WORKSPACE").map(PathBuf::from);
    ctx.actor = var(env, "GITHUB_ACTOR");
    ctx.event_name = var(env, "GITHUB_EVENT_NAME");

    let git_ref = env.get("GITHUB_REF").unwrap_or_default();
    if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
        ctx.tag = Some(tag.to_string());
    } else if let Some(branch) = git_ref.strip_prefix("refs/heads/") {
        ctx.branch = Some(branch.to_string());
    }

    // On pull_request* events GITHUB_SHA is the synthetic merge commit and GITHUB_REF is refs/pull/N/merge;
    // what users mean by "the commit" (statuses, check runs, image labels) is the PR head, found in the payload.
    if is_pull_request_event(ctx.event_name.as_deref()) {
        ctx.branch = var(env, "GITHUB_HEAD_REF");
        ctx.pr_number = pr_number_from_ref(git_ref);
        if let Some(pr) = env.get("GITHUB_EVENT_PATH").and_then(read_pull_request) {
            ctx.sha = pr.head_sha.or(ctx.sha);
            ctx.pr_number = pr.number.or(ctx.pr_number);
            // GITHUB_HEAD_REF is only set for pull_request and pull_request_target; reviews need the payload.
            ctx.branch = ctx.branch.or(pr.head_ref);
        }
    }

    if let (Some(repo), Some(run_id)) = (&ctx.repository, &ctx.run_id) {
        let server = env.get("GITHUB_SERVER_URL").unwrap_or(DEFAULT_SERVER_URL).trim_end_matches('/');
        let mut url = format!("{server}/{repo}/actions/runs/{run_id}");
        // A re-run keeps the run id; without the attempt the link shows the latest attempt, not this one.
        if let Some(attempt) = env.get("GITHUB_RUN_ATTEMPT").filter(|a| *a != "1") {
            url.push_str(&format!("/attempts/{attempt}"));
        }
        ctx.run_url = Some(url);
    }
    ctx
}

/// pull_request, pull_request_target, pull_request_review and pull_request_review_comment all carry a PR.
fn is_pull_request_event(event_name: Option<&str>) -> bool {
    event_name.is_some_and(|e| e.starts_with("pull_request"))
}

/// `refs/pull/5/merge` -> 5; the fallback when the payload cannot be read.
fn pr_number_from_ref(git_ref: &str) -> Option<u64> {
    git_ref.strip_prefix("refs/pull/")?.split('/').next()?.parse().ok()
}

/// The parts of the event payload's `pull_request` object we use.
struct PullRequest {
    head_sha: Option<String>,
    head_ref: Option<String>,
    number: Option<u64>,
}

/// Reads the payload at `GITHUB_EVENT_PATH`; a missing or broken payload yields `None`, never an error,
/// because the environment variables are still a usable context.
fn read_pull_request(path: &str) -> Option<PullRequest> {
    let bytes = std::fs::read(path).ok()?;
    let payload: Value = serde_json::from_slice(&bytes).ok()?;
    let pr = payload.get("pull_request")?;
    let text = |pointer: &str| {
        pr.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from)
    };
    Some(PullRequest {
        head_sha: text("/head/sha"),
        head_ref: text("/head/ref"),
        number: pr.get("number").and_then(Value::as_u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::Path;

    const MERGE_SHA: &str = "1111111111111111111111111111111111111111";
    const HEAD_SHA: &str = "2222222222222222222222222222222222222222";

    fn github_env(extra: &[(&str, &str)]) -> Env {
        let mut pairs = vec![
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "octo/repo"),
            ("GITHUB_SHA", MERGE_SHA),
            ("GITHUB_RUN_ID", "987"),
            ("GITHUB_JOB", "test"),
            ("GITHUB_WORKSPACE", "/home/runner/work/repo/repo"),
            ("GITHUB_ACTOR", "mona"),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    fn event_file(json: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(json.as_bytes()).unwrap();
        file
    }

    fn detect(env: &Env) -> Context {
        crate::ci::detect(env, Path::new("/nonexistent"))
    }

    #[test]
    fn push_to_a_branch() {
        let ctx = detect(&github_env(&[("GITHUB_EVENT_NAME", "push"), ("GITHUB_REF", "refs/heads/main")]));
        assert_eq!(ctx.provider, Provider::GitHubActions);
        assert_eq!(ctx.repository.as_deref(), Some("octo/repo"));
        assert_eq!(ctx.sha.as_deref(), Some(MERGE_SHA));
        assert_eq!(ctx.branch.as_deref(), Some("main"));
        assert_eq!(ctx.tag, None);
        assert_eq!(ctx.pr_number, None);
        assert_eq!(ctx.run_id.as_deref(), Some("987"));
        assert_eq!(ctx.run_url.as_deref(), Some("https://github.com/octo/repo/actions/runs/987"));
        assert_eq!(ctx.repository_url.as_deref(), Some("https://github.com/octo/repo"));
        assert_eq!(ctx.job.as_deref(), Some("test"));
        assert_eq!(ctx.workspace.as_deref(), Some(Path::new("/home/runner/work/repo/repo")));
        assert_eq!(ctx.actor.as_deref(), Some("mona"));
        assert_eq!(ctx.event_name.as_deref(), Some("push"));
    }

    #[test]
    fn push_of_a_tag_on_enterprise_server_rerun() {
        let ctx = detect(&github_env(&[
            ("GITHUB_REF", "refs/tags/v1.2.3"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
            ("GITHUB_RUN_ATTEMPT", "2"),
        ]));
        assert_eq!(ctx.tag.as_deref(), Some("v1.2.3"));
        assert_eq!(ctx.branch, None);
        assert_eq!(
            ctx.run_url.as_deref(),
            Some("https://ghe.example.com/octo/repo/actions/runs/987/attempts/2")
        );
        assert_eq!(
            ctx.repository_url.as_deref(),
            Some("https://ghe.example.com/octo/repo"),
            "the image source label follows the server"
        );
    }

    #[test]
    fn pull_request_uses_the_head_commit_from_the_payload() {
        let payload = format!(
            r#"{{"action":"synchronize","number":42,"pull_request":{{"number":42,
                "head":{{"sha":"{HEAD_SHA}","ref":"feature/x"}},"base":{{"sha":"0000","ref":"main"}}}}}}"#
        );
        let file = event_file(&payload);
        let ctx = detect(&github_env(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_REF", "refs/pull/42/merge"),
            ("GITHUB_HEAD_REF", "feature/x"),
            ("GITHUB_EVENT_PATH", file.path().to_str().unwrap()),
        ]));
        assert_eq!(ctx.sha.as_deref(), Some(HEAD_SHA));
        assert_eq!(ctx.pr_number, Some(42));
        assert_eq!(ctx.branch.as_deref(), Some("feature/x"));
        assert_eq!(ctx.describe(), "GitHub Actions, octo/repo@2222222, PR #42, run 987");
    }

    #[test]
    fn pull_request_review_takes_the_branch_from_the_payload() {
        let payload = format!(
            r#"{{"review":{{}},"pull_request":{{"number":7,"head":{{"sha":"{HEAD_SHA}","ref":"fix"}}}}}}"#
        );
        let file = event_file(&payload);
        let ctx = detect(&github_env(&[
            ("GITHUB_EVENT_NAME", "pull_request_review"),
            ("GITHUB_REF", "refs/pull/7/merge"),
            ("GITHUB_EVENT_PATH", file.path().to_str().unwrap()),
        ]));
        assert_eq!(
            (ctx.sha.as_deref(), ctx.pr_number, ctx.branch.as_deref()),
            (Some(HEAD_SHA), Some(7), Some("fix"))
        );
    }

    #[test]
    fn broken_or_missing_payload_falls_back_to_the_environment() {
        let broken = event_file("{ this is not json");
        let not_a_pr = event_file(r#"{"pull_request": "surprise"}"#);
        for path in [
            broken.path().to_str().unwrap(),
            not_a_pr.path().to_str().unwrap(),
            "/nonexistent/event.json",
            "",
        ] {
            let ctx = detect(&github_env(&[
                ("GITHUB_EVENT_NAME", "pull_request_target"),
                ("GITHUB_REF", "refs/pull/9/merge"),
                ("GITHUB_HEAD_REF", "topic"),
                ("GITHUB_EVENT_PATH", path),
            ]));
            assert_eq!(ctx.sha.as_deref(), Some(MERGE_SHA), "payload {path:?}");
            assert_eq!(ctx.pr_number, Some(9), "payload {path:?}");
            assert_eq!(ctx.branch.as_deref(), Some("topic"), "payload {path:?}");
        }
    }

    #[test]
    fn payload_is_ignored_for_other_events() {
        let file = event_file(&format!(r#"{{"pull_request":{{"number":3,"head":{{"sha":"{HEAD_SHA}"}}}}}}"#));
        let ctx = detect(&github_env(&[
            ("GITHUB_EVENT_NAME", "workflow_dispatch"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_EVENT_PATH", file.path().to_str().unwrap()),
        ]));
        assert_eq!((ctx.sha.as_deref(), ctx.pr_number), (Some(MERGE_SHA), None));
    }

    #[test]
    fn minimal_environment_has_no_run_url() {
        let ctx = detect(&Env::from_pairs([("GITHUB_ACTIONS", "true")]));
        assert_eq!(ctx, Context::new(Provider::GitHubActions));
    }
}
