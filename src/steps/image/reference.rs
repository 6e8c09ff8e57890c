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
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ => (
                "docker.io".to_string(),
                if name.contains('/') { name.to_string() } else { format!("library/{name}") },
            ),
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
    if let Some(sha) = short_sha(ctx) {
        tags.push(sha);
    }
    if let Some(pr) = ctx.pr_number {
        tags.push(format!("pr-{pr}"));
    } else if let Some(branch) = ctx.branch.as_deref().map(sanitize).filter(|t| !t.is_empty()) {
        tags.push(branch);
    }
    if let Some(git_tag) = ctx.tag.as_deref() {
        match Semver::parse(git_tag) {
            Some(v) if v.pre.is_some() => tags.push(v.version()),
            Some(v) => tags.extend([
                v.version(),
                format!("{}.{}", v.major, v.minor),
                v.major.to_string(),
                "latest".to_string(),
            ]),
            None => tags.push(sanitize(git_tag)),
        }
    }
    tags.retain(|t| !t.is_empty());
    tags.dedup();
    tags
}

/// The image's version as metadata-action computes it (its `version` output and the
/// `org.opencontainers.image.version` label): the highest-priority tag, semver (900) before the
/// ref (600: branch, git tag, pr-N) before `sha-<7>` (100). `v1.4.2` gives `1.4.2`.
pub fn ci_version(ctx: &Context) -> Option<String> {
    if let Some(v) = ctx.tag.as_deref().and_then(Semver::parse) {
        return Some(v.version());
    }
    let reference = match (ctx.pr_number, ctx.branch.as_deref(), ctx.tag.as_deref()) {
        (Some(pr), _, _) => Some(format!("pr-{pr}")),
        (None, Some(branch), _) => Some(sanitize(branch)),
        (None, None, Some(tag)) => Some(sanitize(tag)),
        (None, None, None) => None,
    };
    reference.filter(|v| !v.is_empty()).or_else(|| short_sha(ctx))
}

fn short_sha(ctx: &Context) -> Option<String> {
    ctx.sha.as_deref().filter(|s| s.len() >= 7 && s.is_ascii()).map(|s| format!("sha-{}", &s[..7]))
}

/// A branch or git tag name as a tag, as metadata-action sanitises it: every run of characters
/// outside `[A-Za-z0-9._-]` becomes one `-`. Unlike metadata-action, a leading `.` or `-` (which
/// Docker refuses) is dropped, and the result is cut at Docker's 128 characters.
pub fn sanitize(name: &str) -> String {
    let mut tag = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            tag.push(c);
            in_run = false;
        } else if !in_run {
            tag.push('-');
            in_run = true;
        }
    }
    let mut tag = tag.trim_start_matches(['.', '-']).to_string();
    tag.truncate(128);
    tag
}

/// A semantic version (semver.org 2.0, an optional leading `v`), as metadata-action's semver type
/// accepts it.
#[derive(Debug, PartialEq, Eq)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Option<String>,
}

impl Semver {
    /// `v1.2.3`, `1.2.3-rc.1`, `v1.2.3+build-5` (build metadata is not a pre-release; it is dropped).
    fn parse(tag: &str) -> Option<Semver> {
        let version = tag.trim();
        let version = version.strip_prefix('v').unwrap_or(version);
        // Build metadata first: it may itself contain `-` (`+build-5`).
        let (version, build) = match version.split_once('+') {
            Some((version, build)) => (version, Some(build)),
            None => (version, None),
        };
        if build.is_some_and(|b| {
            !b.split('.')
                .all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        }) {
            return None;
        }
        let (core, pre) = match version.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (version, None),
        };
        let identifier_ok = |id: &str| {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !(id.len() > 1 && id.starts_with('0') && id.chars().all(|c| c.is_ascii_digit()))
        };
        if pre.is_some_and(|p| !p.split('.').all(identifier_ok)) {
            return None;
        }
        let number = |part: &str| {
            (!part.is_empty()
                && part.chars().all(|c| c.is_ascii_digit())
                && !(part.len() > 1 && part.starts_with('0')))
            .then(|| part.parse().ok())
            .flatten()
        };
        let mut parts = core.split('.');
        let (major, minor, patch) = (number(parts.next()?)?, number(parts.next()?)?, number(parts.next()?)?);
        if parts.next().is_some() {
            return None;
        }
        Some(Semver { major, minor, patch, pre: pre.map(str::to_string) })
    }

    /// `1.2.3` or `1.2.3-rc.1`: metadata-action's `{{version}}`.
    fn version(&self) -> String {
        match &self.pre {
            Some(pre) => format!("{}.{}.{}-{pre}", self.major, self.minor, self.patch),
            None => format!("{}.{}.{}", self.major, self.minor, self.patch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::{Context, Provider};

    #[test]
    fn parses_references_like_docker() {
        let r = Reference::parse("127.0.0.1:5000/team/app:1.2").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_str()),
            ("127.0.0.1:5000", "team/app", "1.2")
        );
        assert_eq!(r.full(), "127.0.0.1:5000/team/app:1.2");
        let hub = Reference::parse("nginx").unwrap();
        assert_eq!(
            (hub.registry.as_str(), hub.repository.as_str(), hub.tag.as_str()),
            ("docker.io", "library/nginx", "latest")
        );
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
        ctx.tag = Some("v1.2.3+build-5".into());
        assert_eq!(
            tags_from_ci(&ctx),
            ["sha-0123456", "1.2.3", "1.2", "1", "latest"],
            "build metadata is not a pre-release"
        );
        ctx.tag = Some("v2.0.0-rc.1+build.7".into());
        assert_eq!(tags_from_ci(&ctx), ["sha-0123456", "2.0.0-rc.1"]);
        ctx.tag = Some("release/2024 spring".into());
        assert_eq!(
            tags_from_ci(&ctx),
            ["sha-0123456", "release-2024-spring"],
            "not semver: the sanitised tag name"
        );
    }

    #[test]
    fn semver_follows_semver_org() {
        let v = |t: &str| Semver::parse(t).map(|v| v.version());
        assert_eq!(v("v1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("1.2.3-alpha.1-x").as_deref(), Some("1.2.3-alpha.1-x"));
        assert_eq!(v("v1.2.3+build-5").as_deref(), Some("1.2.3"));
        assert_eq!(v("v0.0.0").as_deref(), Some("0.0.0"));
        for not_semver in
            ["v1.2", "1.2.3.4", "v01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3+a..b", "1.2.x", "release"]
        {
            assert_eq!(v(not_semver), None, "{not_semver}");
        }
    }

    #[test]
    fn branch_names_are_sanitised_like_metadata_action() {
        // metadata-action: tag.replace(/[^a-zA-Z0-9._-]+/g, '-')
        assert_eq!(sanitize("feature/Login page"), "feature-Login-page");
        assert_eq!(sanitize("feature//x  y"), "feature-x-y");
        assert_eq!(sanitize("fix/ünïcode→names"), "fix-n-code-names");
        assert_eq!(
            sanitize("dependabot/npm_and_yarn/lodash-4.17.21"),
            "dependabot-npm_and_yarn-lodash-4.17.21"
        );
        assert_eq!(sanitize("--/.hidden"), "hidden", "Docker refuses a leading `-` or `.`");
        assert_eq!(sanitize(&"a".repeat(200)).len(), 128);
    }

    #[test]
    fn the_version_is_metadata_actions() {
        let mut ctx = Context::new(Provider::GitHubActions);
        assert_eq!(ci_version(&ctx), None);
        ctx.sha = Some("0123456789abcdef".into());
        assert_eq!(ci_version(&ctx).as_deref(), Some("sha-0123456"));
        ctx.branch = Some("feature/x y".into());
        assert_eq!(ci_version(&ctx).as_deref(), Some("feature-x-y"));
        ctx.pr_number = Some(7);
        assert_eq!(ci_version(&ctx).as_deref(), Some("pr-7"));
        ctx.tag = Some("v1.4.2".into());
        assert_eq!(ci_version(&ctx).as_deref(), Some("1.4.2"), "semver outranks the ref");
        ctx.tag = Some("v2.0.0-rc.1+build.7".into());
        assert_eq!(ci_version(&ctx).as_deref(), Some("2.0.0-rc.1"));
        ctx.pr_number = None;
        ctx.branch = None;
        ctx.tag = Some("nightly".into());
        assert_eq!(ci_version(&ctx).as_deref(), Some("nightly"));
    }
}
