//! A checkout of exactly the event's commit: the configured clone fetches from its `origin`, then a
//! detached worktree of that commit is made for the job and removed after it. Payload values reach
//! git only as single arguments, after they were checked (hex commit ids, `refs/...` names).

use std::path::Path;
use tokio::process::Command;

/// Targets run in parallel but may share a clone: concurrent fetches fight over ref locks, and
/// `worktree prune` removes a worktree another job is still adding. Clone operations take turns.
static CLONE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn git(clone: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(clone)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| format!("run git in {}: {e}; is git installed?", clone.display()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(format!(
            "git {} in {}: {}",
            args.first().copied().unwrap_or_default(),
            clone.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The commit `git_ref` names after a fetch: tags as fetched, branches as `origin` has them.
fn ref_to_resolve(git_ref: &str) -> Result<String, String> {
    if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
        Ok(format!("refs/tags/{tag}^{{commit}}"))
    } else if let Some(branch) = git_ref.strip_prefix("refs/heads/") {
        Ok(format!("refs/remotes/origin/{branch}^{{commit}}"))
    } else {
        Err(format!("`{}` is neither a branch nor a tag", git_ref.escape_debug()))
    }
}

/// Fetches `clone` and checks out the event's commit (or, when the event names none, the commit its
/// ref points at) into `dir`. Returns the commit.
pub async fn checkout(clone: &Path, git_ref: &str, sha: Option<&str>, dir: &Path) -> Result<String, String> {
    let _turn = CLONE_LOCK.lock().await;
    git(
        clone,
        &[
            "fetch",
            "--quiet",
            "--force",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*",
        ],
    )
    .await
    .map_err(|e| format!("{e}; the clone needs an `origin` remote stepkit can fetch from"))?;
    let wanted = match sha {
        Some(sha) => format!("{sha}^{{commit}}"),
        None => ref_to_resolve(git_ref)?,
    };
    let commit = git(clone, &["rev-parse", "--verify", "--quiet", "--end-of-options", &wanted])
        .await
        .map_err(|_| format!("commit {wanted} is not in {} after fetching origin", clone.display()))?;
    remove_now(clone, dir).await;
    let dir_text = dir.to_string_lossy();
    git(clone, &["worktree", "add", "--detach", "--force", &dir_text, &commit]).await?;
    Ok(commit)
}

/// Removes the job's worktree (and its registration in the clone).
pub async fn remove(clone: &Path, dir: &Path) {
    let _turn = CLONE_LOCK.lock().await;
    remove_now(clone, dir).await;
}

async fn remove_now(clone: &Path, dir: &Path) {
    let dir_text = dir.to_string_lossy();
    let _ = git(clone, &["worktree", "remove", "--force", &dir_text]).await;
    let _ = std::fs::remove_dir_all(dir);
    let _ = git(clone, &["worktree", "prune"]).await;
}
