//! A local server that plays GitHub's Deployments REST API as documented, state included: deployments
//! and their statuses, `required_contexts` checked against the ref's commit statuses (409), `auto_merge`
//! of a ref behind the default branch (202, no deployment), validation (422), the token (401), another
//! repository (404), `auto_inactive` for earlier non-production, non-transient deployments, and failures
//! injected on the next matching requests (5xx, 403, rate limits).

use crate::support::contract::Contract;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use wiremock::{Request, Respond, ResponseTemplate};

/// The states GitHub accepts for a deployment status.
const STATES: [&str; 7] = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"];

/// One deployment as the server keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub(crate) id: u64,
    pub(crate) git_ref: String,
    pub(crate) environment: String,
    pub(crate) transient: bool,
    pub(crate) production: bool,
    pub(crate) payload: Value,
    /// Oldest first.
    pub(crate) statuses: Vec<Value>,
}

impl Deployment {
    /// The states of its statuses, oldest first.
    pub(crate) fn states(&self) -> Vec<String> {
        self.statuses.iter().map(|s| s["state"].as_str().unwrap_or_default().to_string()).collect()
    }
}

struct Fault {
    method: &'static str,
    path_contains: &'static str,
    reply: ResponseTemplate,
}

#[derive(Default)]
struct State {
    token: String,
    repo: String,
    deployments: Vec<Deployment>,
    /// (sha, context, state) of the commit statuses required_contexts is checked against.
    commit_statuses: Vec<(String, String, String)>,
    /// Refs behind the default branch: auto_merge would merge instead of deploying.
    behind: Vec<String>,
    faults: VecDeque<Fault>,
    /// Every request: method, path and query, body.
    log: Vec<(String, String, Value)>,
}

/// The running server and its state.
pub(crate) struct GithubDeployments {
    pub(crate) server: Contract,
    state: Arc<Mutex<State>>,
}

impl GithubDeployments {
    /// Serves repository `repo` to `token`.
    pub(crate) async fn start(repo: &str, token: &str) -> GithubDeployments {
        let state =
            Arc::new(Mutex::new(State { token: token.into(), repo: repo.into(), ..State::default() }));
        let server = Contract::start().await;
        server.on("*", "^/repos/").answer(Api(state.clone())).await;
        GithubDeployments { server, state }
    }

    pub(crate) fn uri(&self) -> String {
        self.server.uri()
    }

    /// A commit status of `sha` (what required_contexts is checked against).
    pub(crate) fn commit_status(&self, sha: &str, context: &str, state: &str) {
        self.state.lock().unwrap().commit_statuses.push((sha.into(), context.into(), state.into()));
    }

    /// `git_ref` is behind the default branch.
    pub(crate) fn behind(&self, git_ref: &str) {
        self.state.lock().unwrap().behind.push(git_ref.into());
    }

    /// The next request with `method` whose path contains `path_contains` gets `reply` instead.
    pub(crate) fn fail_next(
        &self,
        method: &'static str,
        path_contains: &'static str,
        reply: ResponseTemplate,
    ) {
        self.state.lock().unwrap().faults.push_back(Fault { method, path_contains, reply });
    }

    pub(crate) fn deployments(&self) -> Vec<Deployment> {
        self.state.lock().unwrap().deployments.clone()
    }

    /// Every request so far: method, path with query, body.
    pub(crate) fn log(&self) -> Vec<(String, String, Value)> {
        self.state.lock().unwrap().log.clone()
    }
}

struct Api(Arc<Mutex<State>>);

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(
        json!({"message": message, "documentation_url": "https://docs.github.com/rest/deployments"}),
    )
}

fn invalid(resource: &str, field: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(422).set_body_json(json!({"message": "Validation Failed", "errors": [{"resource": resource, "code": "custom", "field": field, "message": message}], "documentation_url": "https://docs.github.com/rest/deployments"}))
}

fn is_url(value: &Value) -> bool {
    value.as_str().is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
}

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let method = request.method.to_string();
        let path = request.url.path().to_string();
        let full = match request.url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        state.log.push((method.clone(), full, body.clone()));
        let auth = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(format!("Bearer {}", state.token).as_str()) {
            return error(401, "Bad credentials");
        }
        if let Some(i) =
            state.faults.iter().position(|f| f.method == method && path.contains(f.path_contains))
        {
            return state.faults.remove(i).unwrap().reply;
        }
        let prefix = format!("/repos/{}/deployments", state.repo);
        let Some(rest) = path.strip_prefix(&prefix) else { return error(404, "Not Found") };
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let query = |key: &str| request.url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.to_string());
        let per_page = query("per_page").and_then(|p| p.parse().ok()).unwrap_or(30usize);
        match (method.as_str(), parts.as_slice()) {
            ("POST", []) => state.create(&body),
            ("GET", []) => {
                let environment = query("environment");
                let list: Vec<Value> = state
                    .deployments
                    .iter()
                    .rev()
                    .filter(|d| environment.as_ref().is_none_or(|e| *e == d.environment))
                    .take(per_page)
                    .map(|d| state.deployment_json(d))
                    .collect();
                ResponseTemplate::new(200).set_body_json(list)
            }
            (_, [id, "statuses"]) => {
                let Some(index) =
                    id.parse::<u64>().ok().and_then(|id| state.deployments.iter().position(|d| d.id == id))
                else {
                    return error(404, "Not Found");
                };
                if method == "GET" {
                    let list: Vec<Value> =
                        state.deployments[index].statuses.iter().rev().take(per_page).cloned().collect();
                    return ResponseTemplate::new(200).set_body_json(list);
                }
                state.add_status(index, &body)
            }
            _ => error(404, "Not Found"),
        }
    }
}

impl State {
    fn deployment_json(&self, d: &Deployment) -> Value {
        json!({"url": format!("https://api.github.com/repos/{}/deployments/{}", self.repo, d.id), "id": d.id, "node_id": format!("DE_{}", d.id),
               "sha": d.git_ref, "ref": d.git_ref, "task": "deploy", "payload": d.payload, "original_environment": d.environment,
               "environment": d.environment, "creator": {"login": "github-actions[bot]"}, "created_at": "2026-12-04T20:00:00Z",
               "updated_at": "2026-12-04T20:00:00Z", "transient_environment": d.transient, "production_environment": d.production})
    }

    /// POST /repos/{owner}/{repo}/deployments.
    fn create(&mut self, body: &Value) -> ResponseTemplate {
        let Some(git_ref) = body["ref"].as_str() else {
            return error(422, "Invalid request.\n\n\"ref\" wasn't supplied.");
        };
        if !git_ref.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
            return invalid("Deployment", "ref", &format!("No ref found for: {git_ref}"));
        }
        for key in ["auto_merge", "transient_environment", "production_environment"] {
            if !(body[key].is_null() || body[key].is_boolean()) {
                return error(
                    422,
                    &format!("Invalid request.\n\nFor '{key}', {} is not a boolean.", body[key]),
                );
            }
        }
        let environment = body["environment"].as_str().unwrap_or("production").to_string();
        if body["auto_merge"].as_bool().unwrap_or(true) && self.behind.iter().any(|r| r == git_ref) {
            return ResponseTemplate::new(202).set_body_json(
                json!({"message": format!("Auto-merged main into {git_ref} on deployment.")}),
            );
        }
        // Without required_contexts every context of the ref must be success.
        let of_ref: Vec<&(String, String, String)> =
            self.commit_statuses.iter().filter(|(sha, _, _)| sha == git_ref).collect();
        let required: Vec<String> = match body["required_contexts"].as_array() {
            Some(list) => list.iter().filter_map(|c| c.as_str().map(str::to_string)).collect(),
            None => of_ref.iter().map(|(_, c, _)| c.clone()).collect(),
        };
        let failing: Vec<Value> = required
            .iter()
            .filter_map(|c| match of_ref.iter().find(|(_, context, _)| context == c) {
                Some((_, _, s)) if s == "success" => None,
                Some((_, context, s)) => Some(json!({"context": context, "state": s})),
                None => Some(json!({"context": c, "state": "missing"})),
            })
            .collect();
        if !failing.is_empty() {
            return ResponseTemplate::new(409).set_body_json(json!({"message": format!("Conflict: Commit status checks failed for {git_ref}."),
                "errors": [{"contexts": failing, "resource": "Deployment", "field": "required_contexts", "code": "invalid"}],
                "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"}));
        }
        let deployment = Deployment {
            id: 1000 + self.deployments.len() as u64 + 1,
            git_ref: git_ref.into(),
            production: body["production_environment"].as_bool().unwrap_or(environment == "production"),
            transient: body["transient_environment"].as_bool().unwrap_or(false),
            environment,
            payload: body["payload"].clone(),
            statuses: Vec::new(),
        };
        let reply = self.deployment_json(&deployment);
        self.deployments.push(deployment);
        ResponseTemplate::new(201).set_body_json(reply)
    }

    /// POST /repos/{owner}/{repo}/deployments/{id}/statuses.
    fn add_status(&mut self, index: usize, body: &Value) -> ResponseTemplate {
        let Some(state) = body["state"].as_str().filter(|s| STATES.contains(s)) else {
            return invalid("DeploymentStatus", "state", "state is not included in the list");
        };
        for key in ["environment_url", "log_url", "target_url"] {
            if !body[key].is_null() && !is_url(&body[key]) {
                return invalid("DeploymentStatus", key, &format!("{key} must use http(s) scheme"));
            }
        }
        if body["description"].as_str().is_some_and(|d| d.chars().count() > 140) {
            return invalid(
                "DeploymentStatus",
                "description",
                "description is too long (maximum is 140 characters)",
            );
        }
        let environment = self.deployments[index].environment.clone();
        let id = self.deployments[index].id;
        let status = json!({"id": id * 100 + self.deployments[index].statuses.len() as u64, "state": state,
            "description": body["description"].as_str().unwrap_or_default(), "environment": environment,
            "environment_url": body["environment_url"].as_str().unwrap_or_default(),
            "log_url": body["log_url"].as_str().unwrap_or_default(),
            "deployment_url": format!("https://api.github.com/repos/{}/deployments/{id}", self.repo)});
        self.deployments[index].statuses.push(status.clone());
        // auto_inactive (default true): earlier non-production, non-transient deployments of the
        // environment whose latest status is success become inactive.
        if state == "success" && body["auto_inactive"].as_bool().unwrap_or(true) {
            for d in self.deployments.iter_mut().filter(|d| d.id != id && d.environment == environment) {
                if !d.production && !d.transient && d.states().last().map(String::as_str) == Some("success") {
                    d.statuses.push(json!({"state": "inactive", "description": "auto_inactive", "environment": environment}));
                }
            }
        }
        ResponseTemplate::new(201).set_body_json(status)
    }
}
