//! `stepkit deploy --github-deployment`: the deploy reported as a GitHub deployment. Created with
//! `in_progress` before the deploy starts, `success` / `failure` / `error` when it ends, and the
//! environment's previously live deployment marked `inactive` once the new version serves. GitHub is
//! told what happened; it never decides it: a GitHub failure is a warning in the result.

use super::{DeployError, DeploySettings};
use crate::github::deployment::{self, NewDeployment, NewStatus, StatusState};
use crate::github::{ApiSettings, Client, GithubError};
use crate::report::{Live, Outcome, Verdict};
use crate::result::deploy::GithubDeploymentData;
use crate::signals::Signals;
use serde_json::json;
use std::time::Duration;

/// The time for the final status after the deploy caught SIGINT/SIGTERM (its revert took some of 5 s).
const INTERRUPTED_BUDGET: Duration = Duration::from_secs(1);

/// Resolved `--github-deployment` settings.
#[derive(Debug, Clone)]
pub struct GithubDeployment {
    pub api: ApiSettings,
    /// `owner/name`.
    pub repo: String,
    /// The repository's web page (`https://github.com/owner/name`), for the environment's link.
    pub repo_url: String,
    /// What is deployed: a commit sha (usually), branch or tag.
    pub git_ref: String,
    pub environment: String,
    pub environment_url: Option<String>,
    /// The CI run's page (the deployment's "View logs").
    pub log_url: Option<String>,
    pub transient: bool,
    pub production: Option<bool>,
}

/// What was reported, for the result and the warnings.
#[derive(Debug, Default)]
struct Report {
    id: Option<u64>,
    /// Every status GitHub accepted, in order.
    statuses: Vec<&'static str>,
    inactive: Vec<u64>,
    errors: Vec<String>,
}

/// `stepkit deploy`, reported to GitHub when `github` is set.
pub async fn deploy(
    settings: &DeploySettings,
    github: Option<&GithubDeployment>,
    live: &mut dyn Live,
) -> Result<Outcome, DeployError> {
    let Some(github) = github else { return super::deploy(settings, live).await };
    let mut report = Report::default();
    let client = match Client::new(&github.api, &github.repo, "deployments") {
        Ok(client) => Some(client),
        Err(e) => {
            report.errors.push(format!("failed to {e}"));
            None
        }
    };
    // GitHub may be slow (retries within --retry-budget): a signal meanwhile stops the reporting,
    // never the deploy's own handling of it.
    let mut signals = Signals::install();
    if let Some(client) = &client {
        tokio::select! {
            _ = start(client, github, settings, &mut report, live) => {}
            signal = signals.recv() => {
                let mut outcome = Outcome::new("deploy", signal.verdict(), format!(
                    "{} received while the GitHub deployment was being created; nothing was deployed", signal.name()));
                outcome.set_data(&super::outcome::interrupted(&settings.app));
                report.errors.push(format!("{} before the deploy started", signal.name()));
                attach(&mut outcome, github, report, client.attempts());
                return Ok(outcome);
            }
        }
    }
    drop(signals);
    let mut result = super::deploy(settings, live).await;
    if let (Some(client), Some(id)) = (&client, report.id) {
        let (state, description) = ending(&result);
        let interrupted =
            matches!(&result, Ok(o) if matches!(o.verdict, Verdict::Interrupted | Verdict::Terminated));
        // A signal the deploy already handled leaves little of the 5 s it has to end: one quick try.
        let budget =
            if interrupted { INTERRUPTED_BUDGET } else { github.api.retry.budget + github.api.timeout };
        let mut signals = Signals::install();
        let (timed_out, stopped) = tokio::select! {
            r = tokio::time::timeout(budget, finish(client, github, id, state, &description, &mut report, live)) => (r.is_err(), None),
            signal = signals.recv() => (false, Some(signal)),
        };
        if timed_out {
            report.errors.push(format!(
                "GitHub did not take the final status of deployment {id} within {}",
                humantime::format_duration(budget)
            ));
        }
        if let Some(signal) = stopped {
            report.errors.push(format!(
                "{} stopped the GitHub report; deployment {id} may stay `in_progress`",
                signal.name()
            ));
            // As for a signal during the deploy's clean-up: the new version stays, the step says it was stopped.
            if let Ok(outcome) = &mut result {
                if outcome.verdict == Verdict::Passed {
                    outcome.verdict = signal.verdict();
                }
            }
        }
    }
    let mut outcome = result?;
    attach(&mut outcome, github, report, client.as_ref().map_or(0, Client::attempts));
    Ok(outcome)
}

/// Creates the deployment and marks it `in_progress`.
async fn start(
    client: &Client,
    github: &GithubDeployment,
    settings: &DeploySettings,
    report: &mut Report,
    live: &mut dyn Live,
) {
    let new = NewDeployment {
        git_ref: github.git_ref.clone(),
        task: "deploy".into(),
        auto_merge: false,
        required_contexts: Vec::new(),
        environment: github.environment.clone(),
        description: format!("stepkit deploy {} {}", settings.app, settings.image),
        payload: json!({ "app": settings.app, "image": settings.image }),
        transient_environment: github.transient,
        production_environment: github.production,
    };
    let id = match deployment::create(client, &new, live).await {
        Ok(id) => id,
        Err(e) => return report.failed(e, live),
    };
    report.id = Some(id);
    live.line(&format!(
        "stepkit deploy: GitHub deployment {id} of {} to {} in {}",
        github.git_ref, github.environment, github.repo
    ));
    let description = format!("deploying {}", settings.image);
    report.post(client, github, id, StatusState::InProgress, &description, live).await;
}

/// The final status, then (after a success) the replaced deployment `inactive`.
async fn finish(
    client: &Client,
    github: &GithubDeployment,
    id: u64,
    state: StatusState,
    description: &str,
    report: &mut Report,
    live: &mut dyn Live,
) {
    // Looked up before `success` lands: GitHub's own auto_inactive may already have marked it then,
    // and the result must name what this deploy replaced.
    let replaced = match state {
        StatusState::Success => match deployment::live_ones(client, &github.environment, id, live).await {
            Ok(ids) => ids,
            Err(e) => {
                report.failed(e, live);
                Vec::new()
            }
        },
        _ => Vec::new(),
    };
    if !report.post(client, github, id, state, description, live).await {
        // The new deployment is not `success` on GitHub: the old one stays its live one.
        return;
    }
    for old in replaced {
        let status = NewStatus {
            state: StatusState::Inactive,
            description: format!("replaced by deployment {id}"),
            log_url: github.log_url.clone(),
            environment_url: None,
            auto_inactive: true,
        };
        match deployment::set_status(client, old, &status, live).await {
            Ok(()) => report.inactive.push(old),
            Err(e) => report.failed(e, live),
        }
    }
}

impl Report {
    /// Posts a status; false when GitHub did not take it.
    async fn post(
        &mut self,
        client: &Client,
        github: &GithubDeployment,
        id: u64,
        state: StatusState,
        description: &str,
        live: &mut dyn Live,
    ) -> bool {
        let status = NewStatus {
            state,
            description: description.to_string(),
            log_url: github.log_url.clone(),
            environment_url: github.environment_url.clone(),
            auto_inactive: true,
        };
        match deployment::set_status(client, id, &status, live).await {
            Ok(()) => {
                self.statuses.push(state.as_str());
                true
            }
            Err(e) => {
                self.failed(e, live);
                false
            }
        }
    }

    fn failed(&mut self, error: GithubError, live: &mut dyn Live) {
        let text = format!("failed to {error}");
        live.line(&format!("stepkit deploy: {text}"));
        self.errors.push(text);
    }
}

/// The final state for how the deploy ended, and its description.
fn ending(result: &Result<Outcome, DeployError>) -> (StatusState, String) {
    match result {
        Err(e) => (StatusState::Error, format!("the deploy could not run: {e}")),
        // A deploy interrupted after the new version passed keeps it: that is a success on GitHub too.
        Ok(o) if o.data["result"] == "deployed" => (StatusState::Success, o.headline.clone()),
        Ok(o) if o.verdict == Verdict::Failed => (StatusState::Failure, o.headline.clone()),
        Ok(o) => (StatusState::Error, o.headline.clone()),
    }
}

/// `data.github_deployment` and a warning per GitHub failure; the verdict stays the deploy's.
fn attach(outcome: &mut Outcome, github: &GithubDeployment, report: Report, attempts: u32) {
    for error in &report.errors {
        outcome.warnings.push(format!("GitHub deployment: {error}"));
    }
    let url = format!("{}/deployments/{}", github.repo_url, github.environment);
    if let Some(id) = report.id {
        outcome.outputs.push(("github-deployment-id".into(), id.to_string()));
    }
    let data = GithubDeploymentData {
        id: report.id,
        repository: github.repo.clone(),
        git_ref: github.git_ref.clone(),
        environment: github.environment.clone(),
        environment_url: github.environment_url.clone(),
        log_url: github.log_url.clone(),
        url: report.id.map(|_| url),
        statuses: report.statuses.iter().map(|s| s.to_string()).collect(),
        inactive: report.inactive,
        attempts,
        errors: report.errors,
    };
    // Every shape of the deploy's data has this optional field (result::deploy).
    if let (Some(map), Ok(data)) = (outcome.data.as_object_mut(), serde_json::to_value(&data)) {
        map.insert("github_deployment".into(), data);
    }
    let said = match (report.id, report.statuses.last()) {
        (Some(id), Some(last)) => format!("GitHub deployment {id} in {}: {last}", github.environment),
        (Some(id), None) => format!("GitHub deployment {id} in {}: no status accepted", github.environment),
        (None, _) => "GitHub deployment: not created".to_string(),
    };
    outcome.text.push_str(&format!("{said}\n"));
    outcome.markdown.push_str(&format!("\n{said}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_state_follows_the_deploy_not_the_other_way() {
        let mut passed = Outcome::new("deploy", Verdict::Passed, "web runs web:2");
        passed.data = json!({"result": "deployed"});
        assert_eq!(ending(&Ok(passed)).0, StatusState::Success);
        let mut failed = Outcome::new("deploy", Verdict::Failed, "web:3 failed its gate");
        failed.data = json!({"result": "rolled-back"});
        assert_eq!(ending(&Ok(failed)), (StatusState::Failure, "web:3 failed its gate".into()));
        let mut cut = Outcome::new("deploy", Verdict::Interrupted, "SIGTERM received");
        cut.data = json!({"result": "interrupted"});
        assert_eq!(ending(&Ok(cut)).0, StatusState::Error);
        let error = DeployError::NothingKept { app: "web".into() };
        assert_eq!(ending(&Err(error)).0, StatusState::Error);
    }
}
