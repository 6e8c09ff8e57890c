//! `stepkit github check-run`: one completed check run per call, its conclusion from the results, a
//! summary table, and the steps' file/line annotations (50 per request, as GitHub requires).

use super::markdown::{cell, footer, steps_table, truncate};
use super::{CheckRunRequest, Conclusion, GithubError, GithubSettings};
use crate::github::{Client, Method};
use crate::report::{Annotation, AnnotationLevel, Live, Outcome, Verdict};
use crate::result::notify::{CheckRunData, GITHUB_VERSION};
use crate::steps::notify::{Message, Status, StepReport};
use octocrab::params::checks::{
    CheckRunConclusion, CheckRunOutput, CheckRunOutputAnnotation, CheckRunOutputAnnotationLevel,
    CheckRunStatus,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// GitHub takes at most 50 annotations per create or update request (more are appended by updates).
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// The most annotations one call sends: past that a check run is noise, and each batch is a request.
pub const MAX_ANNOTATIONS: usize = 1000;
/// GitHub's limit for `output.summary` and `output.text`.
pub const OUTPUT_LIMIT: usize = 65_535;
/// File-less annotations listed in the summary.
const MAX_LISTED: usize = 50;

/// The annotations split into what GitHub can pin to a line and what only the summary can carry.
#[derive(Default)]
pub struct Mapped {
    pub annotations: Vec<CheckRunOutputAnnotation>,
    /// (step, annotation) without a usable file.
    pub fileless: Vec<(String, Annotation)>,
    /// Annotations with a file past `MAX_ANNOTATIONS`.
    pub dropped: usize,
}

/// Every step's annotations, in order: file+line to path/start_line/end_line (a file without a line
/// marks its first line), error -> failure, warning -> warning, notice -> notice.
pub fn map_annotations(reports: &[StepReport], workspace: Option<&Path>) -> Mapped {
    let mut mapped = Mapped::default();
    for report in reports {
        for annotation in &report.annotations {
            let Some(path) = annotation.file.as_deref().and_then(|f| repository_path(f, workspace)) else {
                mapped.fileless.push((report.name(), annotation.clone()));
                continue;
            };
            if mapped.annotations.len() >= MAX_ANNOTATIONS {
                mapped.dropped += 1;
                continue;
            }
            let line = annotation.line.filter(|l| *l > 0).unwrap_or(1);
            mapped.annotations.push(CheckRunOutputAnnotation {
                path,
                start_line: line,
                end_line: line,
                start_column: None,
                end_column: None,
                annotation_level: match annotation.level {
                    AnnotationLevel::Error => CheckRunOutputAnnotationLevel::Failure,
                    AnnotationLevel::Warning => CheckRunOutputAnnotationLevel::Warning,
                    AnnotationLevel::Notice => CheckRunOutputAnnotationLevel::Notice,
                },
                message: truncate(&annotation.message, 4_000, "…").0,
                title: annotation.title.as_deref().map(|t| truncate(t, 255, "…").0),
                raw_details: None,
            });
        }
    }
    mapped
}

/// A path GitHub can find in the repository: relative, `/`-separated, no `..`. An absolute path
/// inside the workspace is made relative to it; any other absolute path has no place in the diff.
fn repository_path(file: &str, workspace: Option<&Path>) -> Option<String> {
    let path = Path::new(file);
    let relative = if path.is_absolute() { path.strip_prefix(workspace?).ok()? } else { path };
    let text = relative.to_str()?.trim_start_matches("./").replace('\\', "/");
    (!text.is_empty() && !text.split('/').any(|part| part == "..")).then_some(text)
}

/// The conclusion the results mean; no results: neutral.
pub fn conclusion_for(status: Status) -> Conclusion {
    match status {
        Status::Success => Conclusion::Success,
        Status::Failure => Conclusion::Failure,
        Status::Cancelled => Conclusion::Cancelled,
        Status::TimedOut => Conclusion::TimedOut,
        Status::Skipped => Conclusion::Skipped,
        Status::Info => Conclusion::Neutral,
    }
}

fn api_conclusion(conclusion: Conclusion) -> (CheckRunConclusion, &'static str) {
    match conclusion {
        Conclusion::Success => (CheckRunConclusion::Success, "success"),
        Conclusion::Failure => (CheckRunConclusion::Failure, "failure"),
        Conclusion::Neutral => (CheckRunConclusion::Neutral, "neutral"),
        Conclusion::Cancelled => (CheckRunConclusion::Cancelled, "cancelled"),
        Conclusion::Skipped => (CheckRunConclusion::Skipped, "skipped"),
        Conclusion::TimedOut => (CheckRunConclusion::TimedOut, "timed_out"),
        Conclusion::ActionRequired => (CheckRunConclusion::ActionRequired, "action_required"),
    }
}

/// The summary: the steps table, annotations without a file, what was not sent, the user's markdown.
pub fn summary(message: &Message, user: Option<&str>, mapped: &Mapped) -> String {
    let mut out = steps_table(message);
    if !mapped.fileless.is_empty() {
        out.push_str("\n**Annotations without a file**\n\n");
        for (step, annotation) in mapped.fileless.iter().take(MAX_LISTED) {
            let level = match annotation.level {
                AnnotationLevel::Error => "error",
                AnnotationLevel::Warning => "warning",
                AnnotationLevel::Notice => "notice",
            };
            let title = annotation.title.as_deref().map(|t| format!("**{}**: ", cell(t))).unwrap_or_default();
            out.push_str(&format!("- {level} ({}): {title}{}\n", cell(step), cell(&annotation.message)));
        }
        if mapped.fileless.len() > MAX_LISTED {
            out.push_str(&format!("- … and {} more\n", mapped.fileless.len() - MAX_LISTED));
        }
    }
    if mapped.dropped > 0 {
        out.push_str(&format!(
            "\n_{} more annotations were not sent: stepkit sends at most {MAX_ANNOTATIONS} per check run. The result files have them all._\n",
            mapped.dropped
        ));
    }
    if let Some(user) = user.filter(|u| !u.trim().is_empty()) {
        out.push('\n');
        out.push_str(user);
        if !user.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(&footer(&message.origin));
    truncate(
        &out,
        OUTPUT_LIMIT,
        "_Summary truncated to GitHub's 65,535 characters; the result files have everything._",
    )
    .0
}

/// The details below the summary: each step's result file and warnings. `None` when there are none.
fn text(reports: &[StepReport]) -> Option<String> {
    let mut out = String::new();
    for report in reports {
        out.push_str(&format!(
            "### {}\n\n`{}`, verdict {}",
            report.name(),
            report.path.display(),
            report.verdict
        ));
        if let Some(code) = report.exit_code {
            out.push_str(&format!(", exit code {code}"));
        }
        out.push('\n');
        for warning in &report.warnings {
            out.push_str(&format!("- warning: {}\n", cell(warning)));
        }
        out.push('\n');
    }
    (!out.is_empty())
        .then(|| truncate(&out, OUTPUT_LIMIT, "_Text truncated to GitHub's 65,535 characters._").0)
}

#[derive(Serialize)]
struct Create<'a> {
    name: &'a str,
    head_sha: &'a str,
    status: CheckRunStatus,
    conclusion: CheckRunConclusion,
    completed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details_url: Option<&'a str>,
    output: CheckRunOutput,
}

#[derive(Serialize)]
struct Update {
    output: CheckRunOutput,
}

/// The part of GitHub's check-run object we use.
#[derive(Deserialize)]
struct Created {
    id: u64,
    html_url: Option<String>,
}

fn output(
    title: &str,
    summary: &str,
    text: &Option<String>,
    annotations: Vec<CheckRunOutputAnnotation>,
) -> CheckRunOutput {
    CheckRunOutput {
        title: title.to_string(),
        summary: summary.to_string(),
        text: text.clone(),
        annotations,
        images: Vec::new(),
    }
}

pub(super) async fn run(
    settings: &GithubSettings,
    request: &CheckRunRequest,
    reports: Vec<StepReport>,
    live: &mut dyn Live,
) -> Result<Outcome, GithubError> {
    let mut mapped = map_annotations(&reports, settings.workspace.as_deref());
    let message = Message::new(reports, None, request.title.clone(), None, settings.origin.clone());
    let conclusion = request.conclusion.unwrap_or_else(|| conclusion_for(message.status));
    let (api_conclusion, conclusion_name) = api_conclusion(conclusion);
    let title = truncate(&message.title, 255, "…").0;
    let summary = summary(&message, request.summary.as_deref(), &mapped);
    let text = text(&message.steps);
    let total = mapped.annotations.len();

    let client = Client::new(&settings.api, &settings.repo, "checks")?;
    let action = format!("create the check run `{}` in {}", request.name, settings.repo);
    let first: Vec<_> = mapped.annotations.drain(..total.min(ANNOTATIONS_PER_REQUEST)).collect();
    let body = Create {
        name: &request.name,
        head_sha: settings.sha(),
        status: CheckRunStatus::Completed,
        conclusion: api_conclusion,
        completed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        details_url: request.details_url.as_deref().or(settings.origin.run_url.as_deref()),
        output: output(&title, &summary, &text, first),
    };
    let path = format!("/repos/{}/check-runs", settings.repo);
    let (created, _): (Created, _) =
        client.send_json(Method::Post, &path, Some(&body), &action, live).await?;
    let mut sent = total.min(ANNOTATIONS_PER_REQUEST);

    // GitHub appends the annotations of each update to the run's list.
    let path = format!("/repos/{}/check-runs/{}", settings.repo, created.id);
    while !mapped.annotations.is_empty() {
        let batch: Vec<_> =
            mapped.annotations.drain(..mapped.annotations.len().min(ANNOTATIONS_PER_REQUEST)).collect();
        let count = batch.len();
        let action = format!(
            "add annotations {}-{} of {total} to check run {} in {}",
            sent + 1,
            sent + count,
            created.id,
            settings.repo
        );
        client
            .send(
                Method::Patch,
                &path,
                Some(&Update { output: output(&title, &summary, &text, batch) }),
                &action,
                live,
            )
            .await?;
        sent += count;
    }

    let url = created.html_url.clone().unwrap_or_default();
    let mut outcome = Outcome::new(
        "github check-run",
        Verdict::Passed,
        format!(
            "check run `{}` is {conclusion_name} on {}@{} with {sent} annotations{}",
            request.name,
            settings.repo,
            short(settings.sha()),
            if url.is_empty() { String::new() } else { format!(": {url}") }
        ),
    );
    outcome.outputs =
        vec![("check-run-id".into(), created.id.to_string()), ("check-run-url".into(), url.clone())];
    if mapped.dropped > 0 {
        outcome.warnings.push(format!(
            "{} annotations were not sent (at most {MAX_ANNOTATIONS} per check run)",
            mapped.dropped
        ));
    }
    outcome.set_data(&CheckRunData {
        schema_version: GITHUB_VERSION,
        command: "check-run".into(),
        repo: settings.repo.clone(),
        sha: settings.sha().to_string(),
        id: created.id,
        url,
        conclusion: conclusion_name.to_string(),
        annotations_sent: sent,
        annotations_not_sent: mapped.dropped,
        annotations_without_file: mapped.fileless.len(),
        attempts: client.attempts(),
    });
    Ok(outcome)
}

/// The commit's first 7 characters.
pub(super) fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(annotations: Vec<Annotation>) -> StepReport {
        StepReport {
            annotations,
            warnings: vec!["slow".into()],
            exit_code: Some(1),
            ..StepReport::for_test("test", "failed", "2 of 3 tests failed")
        }
    }

    fn annotation(level: AnnotationLevel, file: Option<&str>, line: Option<u32>) -> Annotation {
        Annotation {
            level,
            title: Some("t".into()),
            message: "boom".into(),
            file: file.map(str::to_string),
            line,
        }
    }

    #[test]
    fn annotations_map_levels_lines_and_paths() {
        let reports = [report(vec![
            annotation(AnnotationLevel::Error, Some("src/a.py"), Some(12)),
            annotation(AnnotationLevel::Warning, Some("./b.py"), None),
            annotation(AnnotationLevel::Notice, Some("/work/repo/c/d.py"), Some(3)),
            annotation(AnnotationLevel::Error, Some("/elsewhere/e.py"), Some(3)),
            annotation(AnnotationLevel::Error, None, None),
        ])];
        let mapped = map_annotations(&reports, Some(Path::new("/work/repo")));
        let json = serde_json::to_value(&mapped.annotations).unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({"path": "src/a.py", "start_line": 12, "end_line": 12, "annotation_level": "failure", "message": "boom", "title": "t"})
        );
        assert_eq!(
            (json[1]["path"].as_str(), json[1]["start_line"].as_u64(), json[1]["annotation_level"].as_str()),
            (Some("b.py"), Some(1), Some("warning"))
        );
        assert_eq!(
            (json[2]["path"].as_str(), json[2]["annotation_level"].as_str()),
            (Some("c/d.py"), Some("notice"))
        );
        assert_eq!(mapped.annotations.len(), 3);
        assert_eq!(mapped.fileless.len(), 2, "outside the workspace and without a file");
        assert_eq!(repository_path("../x.py", None), None);
    }

    #[test]
    fn annotations_past_the_cap_are_counted_and_the_summary_says_so() {
        let many =
            (0..1_030).map(|i| annotation(AnnotationLevel::Error, Some("a.py"), Some(i + 1))).collect();
        let mapped = map_annotations(&[report(many)], None);
        assert_eq!((mapped.annotations.len(), mapped.dropped), (MAX_ANNOTATIONS, 30));
        let message = Message::new(vec![report(Vec::new())], None, None, None, Default::default());
        let text = summary(&message, Some("user text"), &mapped);
        assert!(text.contains("30 more annotations were not sent"), "{text}");
        assert!(
            text.contains("| ❌ | stepkit test | failed | 2 of 3 tests failed |")
                && text.contains("\nuser text\n"),
            "{text}"
        );
    }

    #[test]
    fn fileless_annotations_are_listed_and_long_summaries_truncated() {
        let mapped = map_annotations(&[report(vec![annotation(AnnotationLevel::Warning, None, None)])], None);
        let message = Message::new(vec![report(Vec::new())], None, None, None, Default::default());
        assert!(summary(&message, None, &mapped).contains("- warning (stepkit test): **t**: boom"));
        let long = summary(&message, Some(&"x".repeat(70_000)), &mapped);
        assert_eq!(long.chars().count(), OUTPUT_LIMIT);
        assert!(long.ends_with("the result files have everything._"));
        assert_eq!(conclusion_for(Status::Info), Conclusion::Neutral);
        assert_eq!(conclusion_for(Status::TimedOut), Conclusion::TimedOut);
    }
}
