//! Image references (`registry/repo/name:tag`): parsing, the registry they live in, and tags derived
//! from the CI context the way docker/metadata-action does.

use crate::ci::Context;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host[:port]; `docker.io` for Docker Hub.
    pub registry: String,
    /// Repository path inside the registry (`library/nginx` on Docker Hub).
    pub repository: String,
    pub tag: String,
}

impl Reference {
    /// Parses `name[:tag]`; the tag defaults to `latest`. The first component is a registry when it
    /// has a `.` or `:` or is `localhost`, as Docker decides.
    pub fn parse(reference: &str) -> Result<Reference, String> {
        let reference = reference.trim();
        if reference.is_empty() || reference.contains(char::is_whitespace) {
            return Err(format!("`{reference}` is not an image reference"));
        }
        let (name, tag) = match reference.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag.to_string()),
            _ => (reference, "latest".to_string()),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first.to_string(), rest.to_string()),
            _ => ("docker.io".to_string(), if name.contains('/') { name.to_string() } else { format!("library/{name}") }),
        };
        if !valid_tag(&tag) {
            return Err(format!("`{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`, at most 128, not starting with `.` or `-`)"));
        }
        if repository.is_empty() || repository.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("`{name}`: repository names must be lowercase"));
        }
        Ok(Reference { registry, repository, tag })
    }

    /// The name without the tag, as the Docker API wants it for push (`127.0.0.1:5000/team/app`).
    pub fn name(&self) -> String {
        if self.registry == "docker.io" {
            self.repository.strip_prefix("library/").unwrap_or(&self.repository).to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }

    /// `name:tag`.
    pub fn full(&self) -> String {
        format!("{}:{}", self.name(), self.tag)
    }

    /// The same image with another tag.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference { tag: tag.to_string(), ..self.clone() }
    }
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Tags for `image` from the CI context, like docker/metadata-action: `sha-<7>`, the branch
/// (sanitised), `pr-<N>`, and for a semver git tag `v1.2.3`: `1.2.3`, `1.2`, `1`, `latest`
/// (pre-releases get only their full version).
pub fn tags_from_ci(ctx: &Context) -> Vec<String> {
    let mut tags = Vec::new();
    if let Some(sha) = ctx.sha.as_deref().filter(|s| s.len() >= 7) {
        tags.push(format!("sha-{}", &sha[..7]));
    }
    if let Some(pr) = ctx.pr_number {
        tags.push(format!("pr-{pr}"));
    } else if let Some(branch) = ctx.branch.as_deref() {
        let tag = sanitize(branch);
        if !tag.is_empty() {
            tags.push(tag);
        }
    }
    if let Some(git_tag) = ctx.tag.as_deref() {
        match semver(git_tag) {
            Some((major, minor, patch, pre)) => match pre {
                Some(pre) => tags.push(format!("{major}.{minor}.{patch}-{pre}")),
                None => tags.extend([format!("{major}.{minor}.{patch}"), format!("{major}.{minor}"), major.to_string(), "latest".to_string()]),
            },
            None => tags.push(sanitize(git_tag)),
        }
    }
    tags.dedup();
    tags
}

/// A branch name as a tag: invalid characters become `-`, at most 128 characters.
pub fn sanitize(name: &str) -> String {
    let mut tag: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' }).collect();
    tag = tag.trim_start_matches(['.', '-']).to_string();
    tag.truncate(128);
    tag
}

/// `v1.2.3` / `1.2.3-rc.1` -> (1, 2, 3, pre-release).
fn semver(tag: &str) -> Option<(u64, u64, u64, Option<String>)> {
    let version = tag.strip_prefix('v').unwrap_or(tag);
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre.to_string())),
        None => (version, None),
    };
    let core = core.split('+').next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let (major, minor, patch) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch, pre))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::{Context, Provider};

    #[test]
    fn parses_references_like_docker() {
        let r = Reference::parse("127.0.0.1:5000/team/app:1.2").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str(), r.tag.as_str()), ("127.0.0.1:5000", "team/app", "1.2"));
        assert_eq!(r.full(), "127.0.0.1:5000/team/app:1.2");
        let hub = Reference::parse("nginx").unwrap();
        assert_eq!((hub.registry.as_str(), hub.repository.as_str(), hub.tag.as_str()), ("docker.io", "library/nginx", "latest"));
        assert_eq!(hub.full(), "nginx:latest");
        assert_eq!(Reference::parse("localhost:5000/app").unwrap().tag, "latest");
        assert!(Reference::parse("App:1").is_err());
        assert!(Reference::parse("app:-bad").is_err());
    }

    #[test]
    fn ci_tags_follow_metadata_action() {
        let mut ctx = Context::new(Provider::GitHubActions);
        ctx.sha = Some("0123456789abcdef".into());
        ctx.branch = Some("feature/Login page".into());
        assert_eq!(tags_from_ci(&ctx), ["sha-0123456", "feature-Login-page"]);
        ctx.pr_number = Some(42);
        assert_eq!(tags_from_ci(&ctx), ["sha-0123456", "pr-42"]);
        ctx.pr_number = None;
        ctx.branch = None;
        ctx.tag = Some("v1.2.3".into());
        assert_eq!(tags_from_ci(&ctx), ["sha-0123456", "1.2.3", "1.2", "1", "latest"]);
        ctx.tag = Some("v2.0.0-rc.1".into());
        assert_eq!(tags_from_ci(&ctx), ["sha-0123456", "2.0.0-rc.1"]);
    }
}
