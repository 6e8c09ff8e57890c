//! Jenkins context: the Git plugin's and multibranch pipeline's variables, with `git` as the fallback.

use std::path::{Path, PathBuf};

use super::{git_head_branch, git_head_sha, var, Context, Provider};
use crate::ci::Env;

pub(super) fn context(env: &Env, cwd: &Path) -> Context {
    let mut ctx = Context::new(Provider::Jenkins);
    ctx.repository = env.get("GIT_URL").and_then(repository_from_git_url);
    ctx.repository_url = env.get("GIT_URL").and_then(web_url_from_git_url);
    ctx.sha = var(env, "GIT_COMMIT");
    ctx.tag = var(env, "TAG_NAME");
    ctx.pr_number = env.get("CHANGE_ID").and_then(|id| id.parse().ok());
    ctx.branch = if ctx.pr_number.is_some() {
        // Multibranch PR builds set BRANCH_NAME to "PR-5"; the source branch is CHANGE_BRANCH.
        var(env, "CHANGE_BRANCH")
    } else {
        env.get("BRANCH_NAME").or(env.get("GIT_BRANCH")).map(normalize_branch)
    };
    // Multibranch tag builds set BRANCH_NAME to the tag name; that is not a branch.
    if ctx.tag.is_some() && ctx.branch == ctx.tag {
        ctx.branch = None;
    }
    ctx.run_id = var(env, "BUILD_NUMBER").or_else(|| var(env, "BUILD_ID"));
    ctx.run_url = var(env, "BUILD_URL");
    ctx.job = var(env, "JOB_NAME");
    ctx.workspace = env.get("WORKSPACE").map(PathBuf::from);
    ctx.actor = var(env, "CHANGE_AUTHOR").or_else(|| var(env, "BUILD_USER_ID"));

    // Pipelines without the Git plugin's checkout (or `sh` steps in a custom checkout) have no GIT_* variables.
    // The current directory is where this step's checkout is (it may be a `dir()` below the workspace).
    let mut git_dirs = vec![cwd.to_path_buf()];
    git_dirs.extend(ctx.workspace.clone().filter(|w| w != cwd));
    if ctx.sha.is_none() {
        ctx.sha = git_dirs.iter().find_map(|d| git_head_sha(d));
    }
    if ctx.branch.is_none() && ctx.tag.is_none() && ctx.pr_number.is_none() {
        ctx.branch = git_dirs.iter().find_map(|d| git_head_branch(d));
    }
    ctx
}

/// `origin/main` or `refs/remotes/origin/main` (what GIT_BRANCH holds) -> `main`.
fn normalize_branch(branch: &str) -> String {
    let b = branch.strip_prefix("refs/").unwrap_or(branch);
    let b = b.strip_prefix("heads/").or_else(|| b.strip_prefix("remotes/")).unwrap_or(b);
    b.strip_prefix("origin/").unwrap_or(b).to_string()
}

/// The repository path of a clone URL: `https://github.com/octo/repo.git` and `git@github.com:octo/repo.git`
/// both give `octo/repo`; GitLab subgroups are kept (`group/sub/repo`). Local paths give `None`.
fn repository_from_git_url(url: &str) -> Option<String> {
    let url = url.trim();
    let path = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return None;
        }
        // Drop the host (and any user:token@ in front of it: Jenkins URLs sometimes embed credentials).
        rest.split_once('/')?.1
    } else {
        // scp-like `user@host:owner/name`; a ':' after a '/' means a local path such as ./a:b.
        let (host, path) = url.split_once(':')?;
        if host.contains('/') {
            return None;
        }
        path
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path).trim_end_matches('/');
    (path.contains('/') && !path.starts_with('/')).then(|| path.to_string())
}

/// The web address of a clone URL, without credentials: `https://user:tok@git.example.com/o/r.git` and
/// `git@git.example.com:o/r.git` both give `https://git.example.com/o/r` (plain `http://` stays http).
fn web_url_from_git_url(url: &str) -> Option<String> {
    let path = repository_from_git_url(url)?;
    let url = url.trim();
    let (scheme, host) = match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next()?.rsplit('@').next()?;
            // An ssh:// port is the ssh server's, not the web server's.
            match scheme {
                "http" | "https" => (scheme, host),
                _ => ("https", host.split(':').next()?),
            }
        }
        None => ("https", url.split_once(':')?.0.rsplit('@').next()?),
    };
    Some(format!("{scheme}://{host}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_drop_credentials_and_ssh_ports() {
        for (clone, web) in [
            ("https://user:token@git.example.com/octo/repo.git", "https://git.example.com/octo/repo"),
            ("git@github.com:octo/repo.git", "https://github.com/octo/repo"),
            ("ssh://git@git.example.com:2222/group/sub/repo.git", "https://git.example.com/group/sub/repo"),
            ("http://gitea.local:3000/octo/repo", "http://gitea.local:3000/octo/repo"),
        ] {
            assert_eq!(web_url_from_git_url(clone).as_deref(), Some(web), "{clone}");
        }
        assert_eq!(web_url_from_git_url("/srv/repos/app"), None);
    }

    fn jenkins_env(extra: &[(&str, &str)]) -> Env {
        let mut pairs = vec![
            ("JENKINS_URL", "https://ci.example.com/"),
            ("BUILD_NUMBER", "12"),
            ("BUILD_ID", "12"),
            ("BUILD_URL", "https://ci.example.com/job/app/job/main/12/"),
            ("JOB_NAME", "app/main"),
            ("WORKSPACE", "/var/jenkins/workspace/app_main"),
            ("GIT_URL", "https://github.com/octo/app.git"),
            ("GIT_COMMIT", "abcdef0123456789abcdef0123456789abcdef01"),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    fn detect(env: &Env) -> Context {
        let dir = tempfile::tempdir().unwrap();
        crate::ci::detect(env, dir.path())
    }

    #[test]
    fn branch_build() {
        let ctx = detect(&jenkins_env(&[("BRANCH_NAME", "main"), ("GIT_BRANCH", "origin/main")]));
        assert_eq!(ctx.provider, Provider::Jenkins);
        assert_eq!(ctx.repository.as_deref(), Some("octo/app"));
        assert_eq!(ctx.sha.as_deref(), Some("abcdef0123456789abcdef0123456789abcdef01"));
        assert_eq!(ctx.branch.as_deref(), Some("main"));
        assert_eq!((ctx.tag, ctx.pr_number), (None, None));
        assert_eq!(ctx.run_id.as_deref(), Some("12"));
        assert_eq!(ctx.run_url.as_deref(), Some("https://ci.example.com/job/app/job/main/12/"));
        assert_eq!(ctx.job.as_deref(), Some("app/main"));
        assert_eq!(ctx.workspace.as_deref(), Some(Path::new("/var/jenkins/workspace/app_main")));
    }

    #[test]
    fn freestyle_job_strips_the_remote_from_git_branch() {
        let ctx = detect(&jenkins_env(&[("GIT_BRANCH", "origin/release/2.x"), ("BUILD_NUMBER", "")]));
        assert_eq!(ctx.branch.as_deref(), Some("release/2.x"));
        assert_eq!(ctx.run_id.as_deref(), Some("12"), "BUILD_ID is the fallback");
    }

    #[test]
    fn multibranch_pull_request() {
        let ctx = detect(&jenkins_env(&[
            ("BRANCH_NAME", "PR-5"),
            ("CHANGE_ID", "5"),
            ("CHANGE_BRANCH", "feature/login"),
            ("CHANGE_AUTHOR", "mona"),
        ]));
        assert_eq!(ctx.pr_number, Some(5));
        assert_eq!(ctx.branch.as_deref(), Some("feature/login"));
        assert_eq!(ctx.actor.as_deref(), Some("mona"));
    }

    #[test]
    fn multibranch_tag() {
        let ctx = detect(&jenkins_env(&[("BRANCH_NAME", "v1.0.0"), ("TAG_NAME", "v1.0.0")]));
        assert_eq!((ctx.tag.as_deref(), ctx.branch), (Some("v1.0.0"), None));
    }

    #[test]
    fn normalizes_branch_spellings() {
        for (raw, want) in [
            ("main", "main"),
            ("origin/main", "main"),
            ("refs/heads/main", "main"),
            ("refs/remotes/origin/feat/x", "feat/x"),
            ("feature/origin/x", "feature/origin/x"),
        ] {
            assert_eq!(normalize_branch(raw), want, "{raw}");
        }
    }

    #[test]
    fn parses_repository_from_clone_urls() {
        for (url, want) in [
            ("https://github.com/octo/app.git", Some("octo/app")),
            ("https://github.com/octo/app", Some("octo/app")),
            ("https://user:s3cret@github.com/octo/app.git/", Some("octo/app")),
            ("git@github.com:octo/app.git", Some("octo/app")),
            ("ssh://git@github.com:22/octo/app.git", Some("octo/app")),
            ("https://gitlab.com/group/sub/app.git", Some("group/sub/app")),
            ("github.com:octo/app", Some("octo/app")),
            ("file:///srv/git/app.git", None),
            ("/srv/git/app.git", None),
            ("./odd:name/app", None),
            ("https://github.com/app", None),
            ("nonsense", None),
        ] {
            assert_eq!(repository_from_git_url(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn falls_back_to_git_without_git_plugin_variables() {
        let Some((repo, sha)) = crate::ci::context::tests::temp_git_repo() else { return };
        let env = Env::from_pairs([("JENKINS_HOME", "/var/jenkins"), ("BUILD_NUMBER", "3")]);
        let ctx = crate::ci::detect(&env, repo.path());
        assert_eq!(ctx.provider, Provider::Jenkins);
        assert_eq!(ctx.sha.as_deref(), Some(sha.as_str()));
        assert_eq!(ctx.branch.as_deref(), Some("feature"));

        // The workspace is tried when the current directory is not a checkout.
        let elsewhere = tempfile::tempdir().unwrap();
        let env =
            Env::from_pairs([("JENKINS_HOME", "/var/jenkins"), ("WORKSPACE", repo.path().to_str().unwrap())]);
        let ctx = crate::ci::detect(&env, elsewhere.path());
        assert_eq!(ctx.sha.as_deref(), Some(sha.as_str()));
    }

    #[test]
    fn git_fallback_failure_leaves_none() {
        let ctx = detect(&Env::from_pairs([("JENKINS_URL", "https://ci.example.com/")]));
        assert_eq!(ctx, Context::new(Provider::Jenkins));
    }
}
