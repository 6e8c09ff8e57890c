//! GitLab CI context: the predefined `CI_*` variables.

use std::path::PathBuf;

use super::{var, Context, Provider};
use crate::ci::Env;

pub(super) fn context(env: &Env) -> Context {
    let mut ctx = Context::new(Provider::GitLab);
    ctx.repository = var(env, "CI_PROJECT_PATH");
    ctx.repository_url = var(env, "CI_PROJECT_URL");
    // Merged-results pipelines test a synthetic merge commit (CI_COMMIT_SHA); the MR's own head is this one.
    ctx.sha = var(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA").or_else(|| var(env, "CI_COMMIT_SHA"));
    ctx.branch = var(env, "CI_COMMIT_BRANCH").or_else(|| var(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"));
    ctx.tag = var(env, "CI_COMMIT_TAG");
    ctx.pr_number = env.get("CI_MERGE_REQUEST_IID").and_then(|iid| iid.parse().ok());
    ctx.run_id = var(env, "CI_PIPELINE_ID");
    ctx.run_url = var(env, "CI_JOB_URL").or_else(|| var(env, "CI_PIPELINE_URL"));
    ctx.job = var(env, "CI_JOB_NAME");
    ctx.workspace = env.get("CI_PROJECT_DIR").map(PathBuf::from);
    ctx.actor = var(env, "GITLAB_USER_LOGIN");
    ctx.event_name = var(env, "CI_PIPELINE_SOURCE");
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn detect(pairs: &[(&str, &str)]) -> Context {
        crate::ci::detect(&Env::from_pairs(pairs.iter().copied()), Path::new("/nonexistent"))
    }

    #[test]
    fn branch_pipeline() {
        let ctx = detect(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "group/sub/app"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/group/sub/app"),
            ("CI_COMMIT_SHA", "aaaa"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_PIPELINE_ID", "555"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_JOB_URL", "https://gitlab.com/group/sub/app/-/jobs/777"),
            ("CI_JOB_NAME", "test"),
            ("CI_PROJECT_DIR", "/builds/group/sub/app"),
            ("GITLAB_USER_LOGIN", "mona"),
        ]);
        assert_eq!(ctx.provider, Provider::GitLab);
        assert_eq!(ctx.repository.as_deref(), Some("group/sub/app"));
        assert_eq!(ctx.repository_url.as_deref(), Some("https://gitlab.example.com/group/sub/app"));
        assert_eq!(ctx.sha.as_deref(), Some("aaaa"));
        assert_eq!(ctx.branch.as_deref(), Some("main"));
        assert_eq!((ctx.tag, ctx.pr_number), (None, None));
        assert_eq!(ctx.run_id.as_deref(), Some("555"));
        assert_eq!(ctx.run_url.as_deref(), Some("https://gitlab.com/group/sub/app/-/jobs/777"));
        assert_eq!(ctx.job.as_deref(), Some("test"));
        assert_eq!(ctx.workspace.as_deref(), Some(Path::new("/builds/group/sub/app")));
        assert_eq!(ctx.actor.as_deref(), Some("mona"));
        assert_eq!(ctx.event_name.as_deref(), Some("push"));
    }

    #[test]
    fn merge_request_pipeline() {
        let ctx = detect(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "merge"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "head"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature"),
            ("CI_MERGE_REQUEST_IID", "17"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ]);
        assert_eq!(
            (ctx.sha.as_deref(), ctx.branch.as_deref(), ctx.pr_number),
            (Some("head"), Some("feature"), Some(17))
        );
    }

    #[test]
    fn tag_pipeline() {
        let ctx = detect(&[("GITLAB_CI", "true"), ("CI_COMMIT_TAG", "v2"), ("CI_COMMIT_SHA", "bbbb")]);
        assert_eq!((ctx.tag.as_deref(), ctx.branch), (Some("v2"), None));
    }
}
