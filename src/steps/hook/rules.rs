//! Rules from `[[hook.rule]]`: which events, on which repository and ref (and touching which paths),
//! run which steps on which target.

use super::event::{Event, Kind};
use glob::{MatchOptions, Pattern};
use std::path::PathBuf;

/// One `[[hook.rule]]`, resolved.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `name`, or `rule N` (1-based) when none is given.
    pub name: String,
    /// `owner/name`, compared without case; `None` matches any repository.
    pub repository: Option<String>,
    pub event: Kind,
    /// A glob over the full ref (`refs/tags/release-*`); `branch = "dev"` becomes `refs/heads/dev`.
    pub git_ref: Pattern,
    /// Globs over changed files; empty means any. Events without a file list (tags, releases) match.
    pub paths: Vec<Pattern>,
    /// The environment the steps deploy to; one job runs per target at a time.
    pub target: String,
    /// The local clone fetched before each job.
    pub clone: PathBuf,
    /// stepkit argv lists, run in order (`["deploy", "--environment", "prod"]`).
    pub steps: Vec<Vec<String>>,
    /// stepkit argv lists run after `steps` whatever they concluded, to report the job.
    pub report: Vec<Vec<String>>,
}

/// `*` crosses `/` in refs (`refs/heads/*` covers `feature/x`), but not in paths (`src/*` vs `src/**`).
const REF_MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};
const PATH_MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Rule {
    /// Whether this rule runs for `event`.
    pub fn matches(&self, event: &Event) -> bool {
        if self.event != event.kind {
            return false;
        }
        if let Some(repository) = &self.repository {
            if !repository.eq_ignore_ascii_case(&event.repository) {
                return false;
            }
        }
        if !self.git_ref.matches_with(&event.git_ref, REF_MATCH) {
            return false;
        }
        match (&event.paths, self.paths.is_empty()) {
            (_, true) | (None, false) => true,
            (Some(changed), false) => {
                changed.iter().any(|path| self.paths.iter().any(|p| p.matches_with(path, PATH_MATCH)))
            }
        }
    }
}

/// The rules that match `event`, in file order.
pub fn matching<'a>(rules: &'a [Rule], event: &Event) -> Vec<&'a Rule> {
    rules.iter().filter(|rule| rule.matches(event)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(git_ref: &str, paths: &[&str]) -> Rule {
        Rule {
            name: "r".into(),
            repository: Some("Octo/App".into()),
            event: Kind::Push,
            git_ref: Pattern::new(git_ref).unwrap(),
            paths: paths.iter().map(|p| Pattern::new(p).unwrap()).collect(),
            target: "prod".into(),
            clone: "/srv/app".into(),
            steps: vec![vec!["gate".into()]],
            report: Vec::new(),
        }
    }

    fn push(git_ref: &str, paths: Option<&[&str]>) -> Event {
        Event {
            kind: Kind::Push,
            repository: "octo/app".into(),
            git_ref: git_ref.into(),
            sha: Some("a".repeat(40)),
            paths: paths.map(|p| p.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn ref_globs_repository_and_event() {
        let release = rule("refs/tags/release-*", &[]);
        assert!(release.matches(&push("refs/tags/release-1.2.0", None)));
        assert!(!release.matches(&push("refs/heads/release-1.2.0", None)));
        let branches = rule("refs/heads/*", &[]);
        assert!(branches.matches(&push("refs/heads/feature/x", None)));
        let mut other = push("refs/heads/main", None);
        other.repository = "octo/other".into();
        assert!(!branches.matches(&other));
        other.repository = "octo/app".into();
        other.kind = Kind::Create;
        assert!(!branches.matches(&other));
    }

    #[test]
    fn path_filters_need_one_changed_file_inside() {
        let docs = rule("refs/heads/main", &["src/**", "Dockerfile"]);
        assert!(docs.matches(&push("refs/heads/main", Some(&["src/a/b.rs"]))));
        assert!(docs.matches(&push("refs/heads/main", Some(&["README.md", "Dockerfile"]))));
        assert!(!docs.matches(&push("refs/heads/main", Some(&["README.md", "docs/Dockerfile"]))));
        assert!(docs.matches(&push("refs/heads/main", None)), "no file list: cannot tell, so it runs");
    }
}
