//! `stepkit github comment`: the results as a pull request comment. Sticky by default: a hidden marker
//! names the comment, so each run edits the one it wrote before instead of adding another.

use super::check_run::short;
use super::markdown::{footer, steps_table, truncate};
use super::{CommentRequest, GithubError, GithubSettings};
use crate::github::{Client, Method};
use crate::report::{Live, Outcome, Verdict};
use crate::result::notify::{CommentData, GITHUB_VERSION};
use crate::steps::notify::{Message, StepReport};
use serde::Deserialize;
use serde_json::json;

/// GitHub's limit for a comment body.
pub const BODY_LIMIT: usize = 65_536;
/// 100 pages of 100: a PR with more comments than that is not one to search to the end.
const MAX_PAGES: usize = 100;

/// The hidden line that marks a sticky comment: `<!-- stepkit:KEY -->`.
pub fn marker(key: &str) -> String {
    format!("<!-- stepkit:{key} -->")
}

/// The comment: marker, heading, steps table, the user's markdown, footer; at most 65,536 characters
/// (the marker comes first, so a cut never loses it).
pub fn body(message: &Message, marker: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(marker) = marker {
        out.push_str(marker);
        out.push('\n');
    }
    out.push_str(&format!("### {} {}\n\n", message.status.icon(), message.title));
    let table = steps_table(message);
    if !table.is_empty() {
        out.push_str(&table);
        out.push('\n');
    }
    if let Some(text) = message.text.as_deref().filter(|t| !t.trim().is_empty()) {
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&footer(&message.origin));
    truncate(&out, BODY_LIMIT, "_Comment truncated to GitHub's 65,536 characters._").0
}

/// A listed comment: only what the search needs.
#[derive(Debug, Deserialize)]
pub struct Listed {
    pub id: u64,
    pub html_url: Option<String>,
    pub body: Option<String>,
}

/// The first comment that carries `marker` (GitHub lists the oldest first).
pub fn find_marked<'a>(comments: &'a [Listed], marker: &str) -> Option<&'a Listed> {
    comments.iter().find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), as GitHub paginates.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        params.split(';').any(|p| matches!(p.trim().split_once('='), Some(("rel", v)) if v.trim_matches('"').split_whitespace().any(|r| r == "next"))).then(|| url.to_string())
    })
}

pub(super) async fn run(
    settings: &GithubSettings,
    request: &CommentRequest,
    reports: Vec<StepReport>,
    live: &mut dyn Live,
) -> Result<Outcome, GithubError> {
    let Some(pr) = request.pr else {
        let mut outcome = Outcome::new(
            "github comment",
            Verdict::Passed,
            "nothing to comment on: this build is not for a pull request",
        );
        outcome.warnings.push(
            "nothing to comment on: not a pull request build and no --pr given; no comment was written"
                .into(),
        );
        outcome.set_data(&CommentData::NoPullRequest {
            schema_version: GITHUB_VERSION,
            command: "comment".into(),
            repo: settings.repo.clone(),
            pr: None,
            id: None,
            attempts: 0,
        });
        return Ok(outcome);
    };
    let message = Message::new(reports, None, None, request.body.clone(), settings.origin.clone());
    let marker = request.sticky.as_deref().map(marker);
    let text = body(&message, marker.as_deref());
    let client = Client::new(&settings.api, &settings.repo, "pull-requests")?
        .with_not_found_hint(format!(" (or it has no pull request #{pr})"));

    let existing = match &marker {
        Some(marker) => find_existing(&client, settings, pr, marker, live).await?,
        None => None,
    };
    let payload = json!({ "body": text });
    let (created, verb): (Listed, &str) = match existing {
        Some(id) => {
            let action = format!("update comment {id} on pull request #{pr} in {}", settings.repo);
            let path = format!("/repos/{}/issues/comments/{id}", settings.repo);
            (client.send_json(Method::Patch, &path, Some(&payload), &action, live).await?.0, "updated")
        }
        None => {
            let action = format!("comment on pull request #{pr} in {}", settings.repo);
            let path = format!("/repos/{}/issues/{pr}/comments", settings.repo);
            (client.send_json(Method::Post, &path, Some(&payload), &action, live).await?.0, "created")
        }
    };

    let url = created.html_url.clone().unwrap_or_default();
    let mut outcome = Outcome::new(
        "github comment",
        Verdict::Passed,
        format!(
            "{verb} comment {} on pull request #{pr} in {}{}",
            created.id,
            settings.repo,
            if url.is_empty() { String::new() } else { format!(": {url}") }
        ),
    );
    outcome.outputs =
        vec![("comment-id".into(), created.id.to_string()), ("comment-url".into(), url.clone())];
    outcome.set_data(&CommentData::Written {
        schema_version: GITHUB_VERSION,
        command: "comment".into(),
        repo: settings.repo.clone(),
        sha: settings.sha.as_deref().map(|s| short(s).to_string()),
        pr,
        id: created.id,
        url,
        action: verb.to_string(),
        status: message.status,
        sticky: request.sticky.clone(),
        attempts: client.attempts(),
    });
    Ok(outcome)
}

/// Walks the PR's comments page by page (the `Link` header) until one carries the marker.
async fn find_existing(
    client: &Client,
    settings: &GithubSettings,
    pr: u64,
    marker: &str,
    live: &mut dyn Live,
) -> Result<Option<u64>, GithubError> {
    let action = format!("list the comments of pull request #{pr} in {}", settings.repo);
    let mut path = format!("/repos/{}/issues/{pr}/comments?per_page=100", settings.repo);
    for _ in 0..MAX_PAGES {
        let (page, reply): (Vec<Listed>, _) =
            client.send_json(Method::Get, &path, None::<&()>, &action, live).await?;
        if let Some(found) = find_marked(&page, marker) {
            return Ok(Some(found.id));
        }
        match reply.headers.link.as_deref().and_then(next_link) {
            Some(next) => path = client.same_host_path(&next, &action)?,
            None => return Ok(None),
        }
    }
    live.line(&format!("searched the first {MAX_PAGES} pages of comments on pull request #{pr} without finding {marker}; adding a new comment"));
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::notify::message::Origin;

    #[test]
    fn the_marker_is_found_in_any_comment_body() {
        let comments = vec![
            Listed { id: 1, html_url: None, body: None },
            Listed { id: 2, html_url: None, body: Some("<!-- stepkit:other -->".into()) },
            Listed { id: 3, html_url: None, body: Some("hello\n<!-- stepkit:stepkit -->\nold".into()) },
            Listed { id: 4, html_url: None, body: Some("<!-- stepkit:stepkit -->".into()) },
        ];
        assert_eq!(find_marked(&comments, &marker("stepkit")).map(|c| c.id), Some(3));
        assert_eq!(find_marked(&comments, &marker("none")).map(|c| c.id), None);
    }

    #[test]
    fn the_next_link_is_parsed_from_githubs_link_header() {
        let link = r#"<https://api.github.com/repositories/1/issues/5/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/5/comments?per_page=100&page=3>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/repositories/1/issues/5/comments?per_page=100&page=2")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev", <https://x/?page=1>; rel="first""#), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn the_body_starts_with_the_marker_and_stays_under_the_limit() {
        let message = Message::new(
            Vec::new(),
            None,
            Some("Deploy".into()),
            Some("x".repeat(70_000)),
            Origin::default(),
        );
        let text = body(&message, Some(&marker("k")));
        assert!(text.starts_with("<!-- stepkit:k -->\n### ℹ️ Deploy\n\nxxx"), "{}", &text[..60]);
        assert_eq!(text.chars().count(), BODY_LIMIT);
        assert!(!body(&message, None).contains("<!--"));
    }
}
