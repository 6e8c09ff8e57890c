//! GitHub Deployments (REST): create a deployment of a ref to an environment, post its statuses,
//! and find the environment's deployments whose latest status is `success` (the live one, which a
//! new deployment replaces).

use super::{error_message, Client, GithubError, Method};
use crate::report::Live;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// GitHub keeps 140 characters of a deployment's or status's description.
const DESCRIPTION_LIMIT: usize = 140;
/// How many of an environment's newest deployments are looked at for a live one: a deploy replaces
/// one, and older live ones are leftovers of runs that ended before they could mark theirs inactive.
const SCAN_DEPLOYMENTS: usize = 10;

/// `POST /repos/{owner}/{repo}/deployments`.
#[derive(Debug, Clone, Serialize)]
pub struct NewDeployment {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub task: String,
    /// Always false: merging the default branch into the ref is not a deploy's business (and a 202
    /// "Auto-merged" answer creates no deployment).
    pub auto_merge: bool,
    /// Always sent, usually empty: by default GitHub requires every commit status of the ref to be
    /// `success`, and the running pipeline's own statuses are still pending (a 409 on every run).
    pub required_contexts: Vec<String>,
    pub environment: String,
    pub description: String,
    /// What was deployed (app, image), for whoever reads the deployment.
    pub payload: Value,
    pub transient_environment: bool,
    /// `None`: GitHub's default (true for `production`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_environment: Option<bool>,
}

/// A deployment status's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    InProgress,
    Success,
    Failure,
    Error,
    Inactive,
}

impl StatusState {
    /// The word GitHub uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::InProgress => "in_progress",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
            StatusState::Inactive => "inactive",
        }
    }
}

/// `POST /repos/{owner}/{repo}/deployments/{id}/statuses`.
#[derive(Debug, Clone, Serialize)]
pub struct NewStatus {
    pub state: StatusState,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    /// GitHub marks earlier non-production, non-transient deployments of the environment inactive on
    /// `success`; stepkit marks the replaced one itself (production too), so this stays on.
    pub auto_inactive: bool,
}

/// The fields stepkit reads of a deployment (a thin reply must not fail a parse, see client.rs).
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    pub id: u64,
}

#[derive(Deserialize)]
struct Status {
    state: String,
}

/// Creates the deployment; its id.
pub async fn create(client: &Client, new: &NewDeployment, live: &mut dyn Live) -> Result<u64, GithubError> {
    let mut new = new.clone();
    new.description = truncate(&new.description);
    let action = format!(
        "create a GitHub deployment of {} to environment {} in {}",
        new.git_ref,
        new.environment,
        client.repo()
    );
    let path = format!("/repos/{}/deployments", client.repo());
    let reply = match client.send(Method::Post, &path, Some(&new), &action, live).await {
        // 409: the ref's required statuses are not all `success`, or an auto-merge conflicted.
        Err(GithubError::Rejected { action, status: 409, message }) => {
            return Err(GithubError::Conflict { action, message })
        }
        other => other?,
    };
    if reply.status == 202 {
        // "Auto-merged main into topic-branch on deployment.": a merge commit, no deployment.
        return Err(GithubError::Conflict { action, message: error_message(&reply) });
    }
    let created: Deployment = client.parse(&reply, &action)?;
    Ok(created.id)
}

/// Posts a status on deployment `id`.
pub async fn set_status(
    client: &Client,
    id: u64,
    status: &NewStatus,
    live: &mut dyn Live,
) -> Result<(), GithubError> {
    let mut status = status.clone();
    status.description = truncate(&status.description);
    let action = format!("set GitHub deployment {id} of {} to {}", client.repo(), status.state.as_str());
    let path = format!("/repos/{}/deployments/{id}/statuses", client.repo());
    client.send(Method::Post, &path, Some(&status), &action, live).await.map(|_| ())
}

/// The environment's deployments (newest first, `except` left out) whose latest status is `success`.
pub async fn live_ones(
    client: &Client,
    environment: &str,
    except: u64,
    live: &mut dyn Live,
) -> Result<Vec<u64>, GithubError> {
    let action = format!("list the GitHub deployments of environment {environment} in {}", client.repo());
    let query = url_encode(environment);
    let path =
        format!("/repos/{}/deployments?environment={query}&per_page={SCAN_DEPLOYMENTS}", client.repo());
    let (deployments, _): (Vec<Deployment>, _) =
        client.send_json(Method::Get, &path, None::<&()>, &action, live).await?;
    let mut found = Vec::new();
    for deployment in deployments.into_iter().filter(|d| d.id != except) {
        let action = format!("read the statuses of GitHub deployment {} in {}", deployment.id, client.repo());
        // Statuses come newest first: the first one is the deployment's current state.
        let path = format!("/repos/{}/deployments/{}/statuses?per_page=1", client.repo(), deployment.id);
        let (statuses, _): (Vec<Status>, _) =
            client.send_json(Method::Get, &path, None::<&()>, &action, live).await?;
        if statuses.first().is_some_and(|s| s.state == "success") {
            found.push(deployment.id);
        }
    }
    Ok(found)
}

/// Cut to GitHub's limit with an ellipsis, on a character boundary.
fn truncate(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION_LIMIT {
        return text.to_string();
    }
    let mut out: String = text.chars().take(DESCRIPTION_LIMIT - 1).collect();
    out.push('…');
    out
}

/// A query value: environment names may hold spaces and other characters a URL cannot.
fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_request_bodies_carry_what_the_contract_needs() {
        let new = NewDeployment {
            git_ref: "abc".into(),
            task: "deploy".into(),
            auto_merge: false,
            required_contexts: vec![],
            environment: "stage".into(),
            description: "d".into(),
            payload: json!({"app": "web"}),
            transient_environment: false,
            production_environment: None,
        };
        let body = serde_json::to_value(&new).unwrap();
        assert_eq!(body["ref"], "abc");
        assert_eq!(
            (body["auto_merge"].clone(), body["required_contexts"].clone()),
            (json!(false), json!([]))
        );
        assert!(body.get("production_environment").is_none(), "GitHub's default unless given");
        let status = NewStatus {
            state: StatusState::InProgress,
            description: "x".into(),
            log_url: None,
            environment_url: Some("https://stage.example.com".into()),
            auto_inactive: true,
        };
        let body = serde_json::to_value(&status).unwrap();
        assert_eq!(body["state"], "in_progress");
        assert!(body.get("log_url").is_none());
    }

    #[test]
    fn descriptions_are_cut_to_140_characters_and_names_encoded() {
        assert_eq!(truncate("short"), "short");
        let cut = truncate(&"é".repeat(200));
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
        assert_eq!(url_encode("prod eu/1"), "prod%20eu%2F1");
    }
}
