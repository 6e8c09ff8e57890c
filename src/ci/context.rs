//! `Context`: which CI system runs us and what it tells us about the build (repo, commit, branch, PR, run URL).

mod github;
mod gitlab;
mod jenkins;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::Env;

/// The CI system stepkit runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Provider {
    // Spelled out: serde's kebab-case would turn `GitHubActions` into "git-hub-actions".
    /// GitHub Actions (`GITHUB_ACTIONS=true`).
    #[serde(rename = "github-actions")]
    GitHubActions,
    /// Jenkins (`JENKINS_URL`, `JENKINS_HOME`, or `BUILD_URL` with `EXECUTOR_NUMBER`).
    #[serde(rename = "jenkins")]
    Jenkins,
    /// GitLab CI (`GITLAB_CI`).
    #[serde(rename = "gitlab")]
    GitLab,
    /// No CI system we know: a developer's machine (or an unsupported CI).
    #[serde(rename = "local")]
    Local,
}

impl Provider {
    /// Human name, as used in logs ("GitHub Actions").
    pub fn name(&self) -> &'static str {
        match self {
            Provider::GitHubActions => "GitHub Actions",
            Provider::Jenkins => "Jenkins",
            Provider::GitLab => "GitLab CI",
            Provider::Local => "local",
        }
    }

    /// True for every provider except `Local`.
    pub fn is_ci(&self) -> bool {
        *self != Provider::Local
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the CI system tells us about the current build; every field is best-effort.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The CI system.
    pub provider: Provider,
    /// `owner/name` (GitLab: the full project path, which may include subgroups).
    pub repository: Option<String>,
    /// The repository's web address (`https://github.com/octo/repo`, a GitHub Enterprise or GitLab host, or
    /// the host of Jenkins' clone URL without any credentials in it): the image's `source` label.
    pub repository_url: Option<String>,
    /// The commit under test: for pull/merge requests the head commit, not the synthetic merge commit.
    pub sha: Option<String>,
    /// The branch being built (for pull/merge requests, their source branch).
    pub branch: Option<String>,
    /// The tag being built.
    pub tag: Option<String>,
    /// Pull request (GitLab: merge request IID) number.
    pub pr_number: Option<u64>,
    /// The run / build / pipeline id.
    pub run_id: Option<String>,
    /// A link to this run's page (GitLab: the job page).
    pub run_url: Option<String>,
    /// The job name.
    pub job: Option<String>,
    /// The checkout directory the CI system announces.
    pub workspace: Option<PathBuf>,
    /// Who triggered the run.
    pub actor: Option<String>,
    /// What triggered the run (GitHub event name, GitLab pipeline source).
    pub event_name: Option<String>,
}

impl Context {
    /// A context that knows only its provider.
    pub fn new(provider: Provider) -> Context {
        Context {
            provider,
            repository: None,
            repository_url: None,
            sha: None,
            branch: None,
            tag: None,
            pr_number: None,
            run_id: None,
            run_url: None,
            job: None,
            workspace: None,
            actor: None,
            event_name: None,
        }
    }

    /// One line for logs, e.g. "GitHub Actions, octo/repo@abc1234, PR #5".
    pub fn describe(&self) -> String {
        let mut parts = vec![self.provider.name().to_string()];
        let short_sha = self.sha.as_deref().map(|s| s.get(..7).unwrap_or(s));
        match (self.repository.as_deref(), short_sha) {
            (Some(repo), Some(sha)) => parts.push(format!("{repo}@{sha}")),
            (Some(repo), None) => parts.push(repo.to_string()),
            (None, Some(sha)) => parts.push(sha.to_string()),
            (None, None) => {}
        }
        if let Some(pr) = self.pr_number {
            parts.push(format!("PR #{pr}"));
        } else if let Some(tag) = &self.tag {
            parts.push(format!("tag {tag}"));
        } else if let Some(branch) = &self.branch {
            parts.push(format!("branch {branch}"));
        }
        if let Some(run) = &self.run_id {
            parts.push(format!("run {run}"));
        }
        parts.join(", ")
    }
}

/// Work out where we run and what the CI system knows about the build. Never fails: unknown parts stay `None`.
pub fn detect(env: &Env, cwd: &Path) -> Context {
    // GitHub first: a GitHub job may run on a self-hosted runner that also has Jenkins variables lying around.
    if env.is_true("GITHUB_ACTIONS") {
        github::context(env)
    } else if env.is_set("GITLAB_CI") {
        gitlab::context(env)
    } else if env.is_set("JENKINS_URL")
        || env.is_set("JENKINS_HOME")
        || (env.is_set("BUILD_URL") && env.is_set("EXECUTOR_NUMBER"))
    {
        jenkins::context(env, cwd)
    } else {
        let mut ctx = Context::new(Provider::Local);
        ctx.sha = git_head_sha(cwd);
        ctx.branch = git_head_branch(cwd);
        ctx
    }
}

/// An owned copy of `env[key]` (empty counts as unset).
fn var(env: &Env, key: &str) -> Option<String> {
    env.get(key).map(str::to_string)
}

/// `git rev-parse HEAD` in `dir`; `None` when git is missing or `dir` is not a repository.
fn git_head_sha(dir: &Path) -> Option<String> {
    git_rev_parse(dir, &["HEAD"])
}

/// The checked-out branch in `dir`; `None` on a detached HEAD (what CI checkouts usually are) or without git.
fn git_head_branch(dir: &Path) -> Option<String> {
    git_rev_parse(dir, &["--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD")
}

/// The committer time of HEAD in `dir` (seconds since the epoch); `None` without git or a repository.
pub fn git_head_commit_time(dir: &Path) -> Option<i64> {
    git(dir, &["log", "-1", "--format=%ct", "HEAD"])?.parse().ok()
}

/// Files added, copied, modified or renamed between `base` and HEAD in `dir` (`base...HEAD`: since
/// the merge base, what a pull request shows), relative to the repository root.
pub fn git_changed_files(dir: &Path, base: &str) -> Result<Vec<String>, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        // `--end-of-options` (git >= 2.24): whatever `base` says, git reads it as a revision, never a flag.
        .args(["diff", "--name-only", "--diff-filter=ACMR", "-z", "--end-of-options"])
        .arg(format!("{base}...HEAD"))
        .arg("--")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run git: {e}"))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or_default().to_string();
        return Err(format!("git cannot compare `{base}` with HEAD in {} ({why}); fetch the base first (actions/checkout with fetch-depth: 0, or `git fetch origin main`)", dir.display()));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

fn git_rev_parse(dir: &Path, args: &[&str]) -> Option<String> {
    let mut all = vec!["rev-parse"];
    all.extend_from_slice(args);
    git(dir, &all)
}

/// One line of `git -C dir ARGS` output; `None` when git fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env() -> Env {
        Env::from_pairs(Vec::<(String, String)>::new())
    }

    #[test]
    fn provider_serializes_to_stable_ids() {
        let ids: Vec<String> =
            [Provider::GitHubActions, Provider::Jenkins, Provider::GitLab, Provider::Local]
                .iter()
                .map(|p| serde_json::to_string(p).unwrap())
                .collect();
        assert_eq!(ids, ["\"github-actions\"", "\"jenkins\"", "\"gitlab\"", "\"local\""]);
        assert_eq!(Provider::GitHubActions.name(), "GitHub Actions");
        assert!(!Provider::Local.is_ci());
    }

    #[test]
    fn detection_order_and_triggers() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        let detect_with =
            |pairs: &[(&str, &str)]| detect(&Env::from_pairs(pairs.iter().copied()), cwd).provider;
        assert_eq!(
            detect_with(&[("GITHUB_ACTIONS", "true"), ("JENKINS_URL", "http://j/")]),
            Provider::GitHubActions
        );
        assert_eq!(detect_with(&[("GITLAB_CI", "true"), ("JENKINS_HOME", "/var/jenkins")]), Provider::GitLab);
        assert_eq!(detect_with(&[("JENKINS_URL", "http://j/")]), Provider::Jenkins);
        assert_eq!(detect_with(&[("JENKINS_HOME", "/var/jenkins")]), Provider::Jenkins);
        assert_eq!(
            detect_with(&[("BUILD_URL", "http://j/job/x/1/"), ("EXECUTOR_NUMBER", "0")]),
            Provider::Jenkins
        );
        // BUILD_URL alone is too generic to mean Jenkins.
        assert_eq!(detect_with(&[("BUILD_URL", "http://x/")]), Provider::Local);
        // Empty and false values do not count.
        assert_eq!(detect_with(&[("GITHUB_ACTIONS", "false"), ("GITLAB_CI", "")]), Provider::Local);
    }

    #[test]
    fn local_outside_a_repository_knows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = detect(&no_env(), dir.path());
        assert_eq!(ctx, Context::new(Provider::Local));
        assert_eq!(ctx.describe(), "local");
    }

    #[test]
    fn describe_summarises_the_build() {
        let mut ctx = Context::new(Provider::GitHubActions);
        ctx.repository = Some("octo/repo".into());
        ctx.sha = Some("abc1234def5678".into());
        ctx.pr_number = Some(5);
        ctx.branch = Some("feature".into());
        assert_eq!(ctx.describe(), "GitHub Actions, octo/repo@abc1234, PR #5");

        let mut ctx = Context::new(Provider::Jenkins);
        ctx.sha = Some("abc".into());
        ctx.branch = Some("main".into());
        ctx.run_id = Some("12".into());
        assert_eq!(ctx.describe(), "Jenkins, abc, branch main, run 12");
    }

    /// A temp git repository on branch `feature` with one commit; `None` (test skipped) when git is missing.
    pub(super) fn temp_git_repo() -> Option<(tempfile::TempDir, String)> {
        if Command::new("git").arg("--version").output().is_err() {
            assert!(
                !crate::ci::tests_in_ci(&crate::ci::Env::from_process()),
                "git is required under CI=true"
            );
            eprintln!("skipping: git is not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
                .args(["-c", "init.defaultBranch=main"])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        git(&["init", "-q"]);
        git(&["commit", "-q", "--allow-empty", "-m", "first"]);
        git(&["checkout", "-q", "-b", "feature"]);
        let sha = git(&["rev-parse", "HEAD"]);
        Some((dir, sha))
    }

    #[test]
    fn local_falls_back_to_git() {
        let Some((repo, sha)) = temp_git_repo() else { return };
        let ctx = detect(&no_env(), repo.path());
        assert_eq!(ctx.provider, Provider::Local);
        assert_eq!(ctx.sha.as_deref(), Some(sha.as_str()));
        assert_eq!(ctx.branch.as_deref(), Some("feature"));
    }

    #[test]
    fn detached_head_has_no_branch() {
        let Some((repo, sha)) = temp_git_repo() else { return };
        let status = Command::new("git")
            .arg("-C")
            .arg(repo.path())
            .args(["checkout", "-q", "--detach"])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(git_head_sha(repo.path()).as_deref(), Some(sha.as_str()));
        assert_eq!(git_head_branch(repo.path()), None);
    }

    #[test]
    fn a_base_that_looks_like_an_option_stays_a_revision() {
        let Some((repo, sha)) = temp_git_repo() else { return };
        let target = repo.path().join("written-by-git");
        let hostile = format!("--output={}", target.display());
        let why = git_changed_files(repo.path(), &hostile).unwrap_err();
        assert!(why.contains("git cannot compare"), "{why}");
        assert!(!target.exists(), "git took the base as its --output option");
        // A real revision still works: nothing changed between HEAD and itself.
        assert_eq!(git_changed_files(repo.path(), &sha), Ok(vec![]));
    }
}
