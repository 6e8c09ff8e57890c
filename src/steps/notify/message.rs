//! What a notification says, before any service's format: an overall status, a title, the user's text,
//! each step's verdict and headline, and where it happened (repository, commit, branch, run link).

use super::StepReport;
use crate::ci::Context;
use serde::Serialize;

// Both are part of the result file's schema, so they are defined with it; their behaviour is here.
pub use crate::result::notify::{Origin, Status};

impl Status {
    /// The status a result file's verdict means.
    pub fn from_verdict(verdict: &str) -> Status {
        match verdict {
            "passed" => Status::Success,
            "nothing-ran" => Status::Skipped,
            "timed-out" => Status::TimedOut,
            "interrupted" | "terminated" => Status::Cancelled,
            // "failed", "error" (the step could not do its job) and anything unknown.
            _ => Status::Failure,
        }
    }

    /// The status of several steps together: the worst one decides (a failure over a time-out over
    /// a cancel over a skip over a success). No steps: `Info`.
    pub fn overall(reports: &[StepReport]) -> Status {
        reports
            .iter()
            .map(|r| Status::from_verdict(&r.verdict))
            .max_by_key(|s| s.severity())
            .unwrap_or(Status::Info)
    }

    fn severity(self) -> u8 {
        match self {
            Status::Info => 0,
            Status::Success => 1,
            Status::Skipped => 2,
            Status::Cancelled => 3,
            Status::TimedOut => 4,
            Status::Failure => 5,
        }
    }

    /// The word for it: "succeeded", "failed", ...
    pub fn word(self) -> &'static str {
        match self {
            Status::Success => "succeeded",
            Status::Failure => "failed",
            Status::Cancelled => "was cancelled",
            Status::TimedOut => "timed out",
            Status::Skipped => "ran nothing",
            Status::Info => "",
        }
    }

    /// A short marker for plain text and markdown.
    pub fn icon(self) -> &'static str {
        match self {
            Status::Success => "✅",
            Status::Failure => "❌",
            Status::Cancelled => "⏹️",
            Status::TimedOut => "⏱️",
            Status::Skipped => "⚠️",
            Status::Info => "ℹ️",
        }
    }

    /// True for the statuses that should wake someone up.
    pub fn is_bad(self) -> bool {
        matches!(self, Status::Failure | Status::TimedOut)
    }
}

impl Origin {
    /// What the CI context knows.
    pub fn from_context(context: &Context) -> Origin {
        Origin {
            repository: context.repository.clone(),
            sha: context.sha.clone(),
            branch: context.branch.clone(),
            tag: context.tag.clone(),
            pr_number: context.pr_number,
            run_url: context.run_url.clone(),
            actor: context.actor.clone(),
            provider: context.provider.name().to_string(),
        }
    }

    /// The commit's first 7 characters.
    pub fn short_sha(&self) -> Option<&str> {
        self.sha.as_deref().map(|s| s.get(..7).unwrap_or(s))
    }

    /// "octo/app@abc1234 on main (PR #5), by alice": whatever is known, in that order.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        match (self.repository.as_deref(), self.short_sha()) {
            (Some(repo), Some(sha)) => out.push_str(&format!("{repo}@{sha}")),
            (Some(repo), None) => out.push_str(repo),
            (None, Some(sha)) => out.push_str(sha),
            (None, None) => {}
        }
        let place = match (&self.tag, &self.branch) {
            (Some(tag), _) => Some(format!("tag {tag}")),
            (None, Some(branch)) => Some(branch.clone()),
            (None, None) => None,
        };
        if let Some(place) = place {
            if !out.is_empty() {
                out.push_str(" on ");
            }
            out.push_str(&place);
        }
        if let Some(pr) = self.pr_number {
            out.push_str(&format!(" (PR #{pr})"));
        }
        if let Some(actor) = &self.actor {
            out.push_str(&format!(", by {actor}"));
        }
        out.trim_start().to_string()
    }
}

/// One notification, ready for a service to format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub status: Status,
    /// The first line: the user's `--title`, else what the steps concluded.
    pub title: String,
    /// The user's own text, shown as given (already free of secrets: it came from a flag or file).
    pub text: Option<String>,
    /// Each step's result, in the order given.
    #[serde(skip)]
    pub steps: Vec<StepReport>,
    pub origin: Origin,
}

impl Message {
    /// A message about `steps`; `status` and `title` override what they say.
    pub fn new(
        steps: Vec<StepReport>,
        status: Option<Status>,
        title: Option<String>,
        text: Option<String>,
        origin: Origin,
    ) -> Message {
        let status = status.unwrap_or_else(|| Status::overall(&steps));
        let title = title.unwrap_or_else(|| default_title(status, &steps, &origin));
        Message { status, title, text, steps, origin }
    }

    /// One line per step: "❌ stepkit test: 2 of 10 tests failed".
    pub fn step_lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| format!("{} {}: {}", Status::from_verdict(&s.verdict).icon(), s.name(), s.headline))
            .collect()
    }
}

/// "stepkit test failed in octo/app" / "3 steps succeeded in octo/app" / "stepkit notify".
fn default_title(status: Status, steps: &[StepReport], origin: &Origin) -> String {
    let subject = match steps {
        [] => return format!("{} stepkit", origin.repository.as_deref().unwrap_or("")).trim().to_string(),
        [one] => one.name(),
        many => format!("{} steps", many.len()),
    };
    match &origin.repository {
        Some(repo) => format!("{subject} {} in {repo}", status.word()),
        None => format!("{subject} {}", status.word()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(command: &str, verdict: &str, headline: &str) -> StepReport {
        StepReport::for_test(command, verdict, headline)
    }

    #[test]
    fn the_worst_step_decides_the_status() {
        assert_eq!(Status::overall(&[]), Status::Info);
        assert_eq!(Status::overall(&[report("test", "passed", "")]), Status::Success);
        let mixed = [
            report("test", "passed", ""),
            report("gate", "timed-out", ""),
            report("deploy", "interrupted", ""),
        ];
        assert_eq!(Status::overall(&mixed), Status::TimedOut);
        assert_eq!(
            Status::overall(&[report("image push", "error", ""), report("test", "timed-out", "")]),
            Status::Failure
        );
        assert_eq!(Status::from_verdict("nothing-ran"), Status::Skipped);
        assert_eq!(Status::from_verdict("terminated"), Status::Cancelled);
    }

    #[test]
    fn titles_and_lines_say_what_happened_where() {
        let origin = Origin {
            repository: Some("octo/app".into()),
            sha: Some("0123456789abcdef".into()),
            branch: Some("main".into()),
            pr_number: Some(5),
            actor: Some("alice".into()),
            ..Origin::default()
        };
        assert_eq!(origin.describe(), "octo/app@0123456 on main (PR #5), by alice");
        let message = Message::new(
            vec![report("test", "failed", "2 of 10 tests failed")],
            None,
            None,
            None,
            origin.clone(),
        );
        assert_eq!(message.status, Status::Failure);
        assert_eq!(message.title, "stepkit test failed in octo/app");
        assert_eq!(message.step_lines(), ["❌ stepkit test: 2 of 10 tests failed"]);

        let two = Message::new(
            vec![report("test", "passed", "ok"), report("deploy", "passed", "ok")],
            None,
            None,
            None,
            Origin::default(),
        );
        assert_eq!(two.title, "2 steps succeeded");
        let custom = Message::new(
            Vec::new(),
            Some(Status::Info),
            Some("Deploy of v1.2 started".into()),
            Some("by the release job".into()),
            origin,
        );
        assert_eq!((custom.status, custom.title.as_str()), (Status::Info, "Deploy of v1.2 started"));
        assert_eq!(
            Origin { tag: Some("v1".into()), branch: Some("main".into()), ..Origin::default() }.describe(),
            "tag v1"
        );
    }
}
