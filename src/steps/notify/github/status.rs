//! `stepkit github status`: one commit status (context, state, description, link) from the results
//! or a given state; the description is cut to the 140 characters GitHub keeps.

use super::check_run::short;
use super::{GithubError, GithubSettings, State, StatusRequest};
use crate::github::{Client, Method};
use crate::report::{Live, Outcome, Verdict};
use crate::result::notify::{StatusData, GITHUB_VERSION};
use crate::steps::notify::{Message, Status, StepReport};
use serde::{Deserialize, Serialize};

/// GitHub's limit for a status description.
pub const DESCRIPTION_LIMIT: usize = 140;

/// The state the results mean: a failed step -> failure; a step that could not do its job (an
/// `error` result, a cancel, nothing ran) -> error; all passed -> success. `None` without results.
pub fn state_for(reports: &[StepReport]) -> Option<State> {
    if reports.is_empty() {
        return None;
    }
    let statuses: Vec<Status> = reports.iter().map(|r| Status::from_verdict(&r.verdict)).collect();
    Some(if reports.iter().any(|r| r.verdict == "failed") || statuses.contains(&Status::TimedOut) {
        State::Failure
    } else if statuses.iter().any(|s| *s != Status::Success) {
        State::Error
    } else {
        State::Success
    })
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Pending => "pending",
        State::Success => "success",
        State::Failure => "failure",
        State::Error => "error",
    }
}

/// The description: the user's, else the one step's headline, else the title. At most 140 characters.
pub fn description(request: &StatusRequest, message: &Message) -> String {
    let text = match (&request.description, message.steps.as_slice()) {
        (Some(text), _) => text.clone(),
        (None, [one]) => one.headline.clone(),
        (None, _) => message.title.clone(),
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= DESCRIPTION_LIMIT {
        return one_line;
    }
    let cut: String = one_line.chars().take(DESCRIPTION_LIMIT - 1).collect();
    format!("{cut}…")
}

#[derive(Serialize)]
struct Create<'a> {
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_url: Option<&'a str>,
    description: &'a str,
    context: &'a str,
}

#[derive(Deserialize)]
struct Created {
    id: u64,
    url: Option<String>,
}

pub(super) async fn run(
    settings: &GithubSettings,
    request: &StatusRequest,
    reports: Vec<StepReport>,
    live: &mut dyn Live,
) -> Result<Outcome, GithubError> {
    let action =
        format!("set the commit status `{}` on {}@{}", request.context, settings.repo, short(settings.sha()));
    // settings guarantees a state or results; an empty result list with auto is refused there.
    let state = request.state.or_else(|| state_for(&reports)).unwrap_or(State::Pending);
    let message = Message::new(reports, None, None, None, settings.origin.clone());
    let description = description(request, &message);
    let body = Create {
        state: state_name(state),
        target_url: request.target_url.as_deref().or(settings.origin.run_url.as_deref()),
        description: &description,
        context: &request.context,
    };
    let client = Client::new(&settings.api, &settings.repo, "statuses")?;
    let path = format!("/repos/{}/statuses/{}", settings.repo, settings.sha());
    let (created, _): (Created, _) =
        client.send_json(Method::Post, &path, Some(&body), &action, live).await?;

    let mut outcome = Outcome::new(
        "github status",
        Verdict::Passed,
        format!(
            "status `{}` is {} on {}@{}: {description}",
            request.context,
            state_name(state),
            settings.repo,
            short(settings.sha())
        ),
    );
    outcome.outputs =
        vec![("status-id".into(), created.id.to_string()), ("state".into(), state_name(state).into())];
    outcome.set_data(&StatusData {
        schema_version: GITHUB_VERSION,
        command: "status".into(),
        repo: settings.repo.clone(),
        sha: settings.sha().to_string(),
        id: created.id,
        url: created.url,
        state: state_name(state).to_string(),
        context: request.context.clone(),
        description,
        attempts: client.attempts(),
    });
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdict: &str) -> StepReport {
        StepReport::for_test("test", verdict, &format!("it {verdict}"))
    }

    #[test]
    fn state_follows_the_results() {
        assert_eq!(state_for(&[]), None);
        assert_eq!(state_for(&[report("passed"), report("passed")]), Some(State::Success));
        assert_eq!(state_for(&[report("passed"), report("failed"), report("error")]), Some(State::Failure));
        assert_eq!(state_for(&[report("passed"), report("error")]), Some(State::Error));
        assert_eq!(state_for(&[report("nothing-ran")]), Some(State::Error));
        assert_eq!(state_for(&[report("timed-out")]), Some(State::Failure));
    }

    #[test]
    fn description_is_one_line_of_at_most_140_characters() {
        let request = |d: Option<&str>| StatusRequest {
            context: "ci".into(),
            state: None,
            description: d.map(str::to_string),
            target_url: None,
        };
        let one = Message::new(vec![report("failed")], None, None, None, Default::default());
        assert_eq!(description(&request(None), &one), "it failed");
        assert_eq!(description(&request(Some("a\nb")), &one), "a b");
        let long = description(&request(Some(&"ü".repeat(200))), &one);
        assert_eq!(long.chars().count(), DESCRIPTION_LIMIT);
        assert!(long.ends_with('…'));
    }
}
