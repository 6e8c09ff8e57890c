//! A verified delivery's payload read into the few facts rules match on: kind, repository, ref,
//! commit and changed paths. Only called after the signature checked out.

use super::verify::Provider;
use serde::Deserialize;

/// What happened, in stepkit's words (rules name these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Commits or a tag pushed (GitHub/Gitea `push`, GitLab `Push Hook` and `Tag Push Hook`).
    Push,
    /// A branch or tag created (GitHub `create`).
    Create,
    /// A release published (GitHub `release` with action `published`).
    Release,
    /// GitHub's hello when a webhook is added.
    Ping,
}

impl Kind {
    /// The name rules use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Push => "push",
            Kind::Create => "create",
            Kind::Release => "release",
            Kind::Ping => "ping",
        }
    }

    /// The kind a rule's `event` names.
    pub fn parse(name: &str) -> Option<Kind> {
        [Kind::Push, Kind::Create, Kind::Release, Kind::Ping].into_iter().find(|k| k.name() == name)
    }
}

/// The facts of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: Kind,
    /// `owner/name` (GitLab: `group/project`).
    pub repository: String,
    /// The full ref: `refs/heads/main`, `refs/tags/release-1.2.0`.
    pub git_ref: String,
    /// The commit, when the payload names it (create and release events do not: the fetch resolves the ref).
    pub sha: Option<String>,
    /// Files added, modified or removed by the pushed commits; `None` when the payload has no list.
    pub paths: Option<Vec<String>>,
}

/// Why a verified payload cannot become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Valid, but nothing to run (ping, a deleted branch, a release edited rather than published).
    Ignored(String),
    /// Not the JSON the provider documents.
    Malformed(String),
}

#[derive(Deserialize)]
struct Repository {
    full_name: Option<String>,
}

#[derive(Deserialize)]
struct Project {
    path_with_namespace: Option<String>,
}

#[derive(Deserialize, Default)]
struct Commit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

/// GitHub's and Gitea's push payload; GitLab's carries the same fields under other names.
#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    after: Option<String>,
    checkout_sha: Option<String>,
    #[serde(default)]
    deleted: bool,
    repository: Option<Repository>,
    project: Option<Project>,
    commits: Option<Vec<Commit>>,
}

#[derive(Deserialize)]
struct Create {
    #[serde(rename = "ref")]
    git_ref: String,
    ref_type: String,
    repository: Repository,
}

#[derive(Deserialize)]
struct Release {
    action: String,
    release: ReleaseBody,
    repository: Repository,
}

#[derive(Deserialize)]
struct ReleaseBody {
    tag_name: String,
}

const NO_COMMIT: &str = "0000000000000000000000000000000000000000";

/// Reads a verified payload. `event` is the provider's event header.
pub fn parse(provider: Provider, event: &str, body: &[u8]) -> Result<Event, Unusable> {
    let kind = match (provider, event) {
        (Provider::Github, "ping") | (Provider::Gitea, "ping") => {
            return Err(Unusable::Ignored("ping".into()))
        }
        (Provider::Github | Provider::Gitea, "push") => Kind::Push,
        (Provider::Gitlab, "Push Hook" | "Tag Push Hook") => Kind::Push,
        (Provider::Github, "create") => Kind::Create,
        (Provider::Github, "release") => Kind::Release,
        (_, other) => {
            return Err(Unusable::Ignored(format!("event `{other}` is not one stepkit runs jobs for")))
        }
    };
    let malformed = |e: serde_json::Error| Unusable::Malformed(format!("the {event} payload: {e}"));
    match kind {
        Kind::Push => {
            let push: Push = serde_json::from_slice(body).map_err(malformed)?;
            let sha = push.checkout_sha.or(push.after).filter(|s| s != NO_COMMIT);
            if push.deleted || sha.is_none() {
                return Err(Unusable::Ignored(format!("{} was deleted", push.git_ref)));
            }
            let repository = push
                .repository
                .and_then(|r| r.full_name)
                .or(push.project.and_then(|p| p.path_with_namespace))
                .ok_or_else(|| Unusable::Malformed("the push payload names no repository".into()))?;
            let paths = push.commits.map(|commits| {
                let mut paths: Vec<String> =
                    commits.into_iter().flat_map(|c| [c.added, c.modified, c.removed].concat()).collect();
                paths.sort();
                paths.dedup();
                paths
            });
            Ok(Event { kind, repository, git_ref: push.git_ref, sha: checked_sha(sha)?, paths })
        }
        Kind::Create => {
            let create: Create = serde_json::from_slice(body).map_err(malformed)?;
            let prefix = if create.ref_type == "tag" { "refs/tags/" } else { "refs/heads/" };
            Ok(Event {
                kind,
                repository: create.repository.full_name.unwrap_or_default(),
                git_ref: format!("{prefix}{}", create.git_ref),
                sha: None,
                paths: None,
            })
        }
        Kind::Release => {
            let release: Release = serde_json::from_slice(body).map_err(malformed)?;
            if release.action != "published" {
                return Err(Unusable::Ignored(format!("release {}", release.action)));
            }
            Ok(Event {
                kind,
                repository: release.repository.full_name.unwrap_or_default(),
                git_ref: format!("refs/tags/{}", release.release.tag_name),
                sha: None,
                paths: None,
            })
        }
        Kind::Ping => Err(Unusable::Ignored("ping".into())),
    }
}

/// A commit id is hex and nothing else: it later becomes a git argument.
fn checked_sha(sha: Option<String>) -> Result<Option<String>, Unusable> {
    match sha {
        Some(s) if (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(s)),
        Some(s) => Err(Unusable::Malformed(format!("`{}` is not a commit id", s.escape_debug()))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_push_gives_ref_sha_and_changed_paths() {
        let body = br#"{"ref":"refs/heads/dev","before":"0000000000000000000000000000000000000000",
            "after":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","deleted":false,
            "repository":{"full_name":"octo/app"},
            "commits":[{"added":["a.txt"],"modified":["src/x.rs"],"removed":[]},{"added":[],"modified":["a.txt"],"removed":["old"]}]}"#;
        let event = parse(Provider::Github, "push", body).unwrap();
        assert_eq!(event.git_ref, "refs/heads/dev");
        assert_eq!(event.sha.as_deref(), Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert_eq!(event.paths.unwrap(), ["a.txt", "old", "src/x.rs"]);
    }

    #[test]
    fn gitlab_tag_push_and_deleted_branch() {
        let body = br#"{"object_kind":"tag_push","ref":"refs/tags/release-1","checkout_sha":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "after":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","project":{"path_with_namespace":"group/app"},"commits":[]}"#;
        let event = parse(Provider::Gitlab, "Tag Push Hook", body).unwrap();
        assert_eq!((event.kind, event.repository.as_str()), (Kind::Push, "group/app"));
        let deleted = br#"{"ref":"refs/heads/x","after":"0000000000000000000000000000000000000000","repository":{"full_name":"o/a"}}"#;
        assert!(matches!(parse(Provider::Github, "push", deleted), Err(Unusable::Ignored(_))));
        let evil = br#"{"ref":"refs/heads/x","after":"--upload-pack=evil","repository":{"full_name":"o/a"}}"#;
        assert!(matches!(parse(Provider::Github, "push", evil), Err(Unusable::Malformed(_))));
    }

    #[test]
    fn create_and_release_name_a_tag_without_a_commit() {
        let create = br#"{"ref":"release-1.2.0","ref_type":"tag","repository":{"full_name":"octo/app"}}"#;
        let event = parse(Provider::Github, "create", create).unwrap();
        assert_eq!((event.git_ref.as_str(), event.sha), ("refs/tags/release-1.2.0", None));
        let edited = br#"{"action":"edited","release":{"tag_name":"v1"},"repository":{"full_name":"o/a"}}"#;
        assert!(matches!(parse(Provider::Github, "release", edited), Err(Unusable::Ignored(_))));
    }
}
