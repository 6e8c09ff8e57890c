//! `stepkit notify`: post what the pipeline's steps concluded to Slack, through an incoming webhook or
//! a bot token (chat.postMessage / chat.update), retrying while Slack is busy.

pub mod answer;
pub mod payload;
mod send;

use super::message::Origin;
use super::{Message, Status, StepReport};
use crate::report::{Live, Outcome, Verdict};
use crate::result::notify::{MessageData, NotifyData, StepData, NOTIFY_VERSION};
use crate::retry::{deliver, RetryPolicy};
use crate::secret::Secret;
use send::{Problem, Target};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// How the message reaches Slack.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// An incoming webhook: posts to the one channel it was made for.
    Webhook {
        url: Secret,
        /// Where the URL came from (`STEPKIT_SLACK_WEBHOOK_URL`, `--webhook-url-file`), for errors.
        source: String,
    },
    /// A bot token and the Web API.
    Bot {
        token: Secret,
        /// Where the token came from, for errors.
        source: String,
        /// A channel ID (C...) or name.
        channel: String,
        /// `https://slack.com/api`, without the trailing slash.
        api_url: String,
        /// Reply in this message's thread.
        thread_ts: Option<String>,
        /// Change this message instead of posting a new one (chat.update).
        update: Option<String>,
    },
}

/// When a message is worth sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only for a failure or a time-out.
    Failure,
    /// Only for a success.
    Success,
}

/// Everything `stepkit notify` needs, resolved.
#[derive(Debug, Clone)]
pub struct SlackSettings {
    pub delivery: Delivery,
    /// Result files of earlier steps (`--result-file`), in order.
    pub results: Vec<PathBuf>,
    /// `None`: the steps' worst verdict decides.
    pub status: Option<Status>,
    pub title: Option<String>,
    pub text: Option<String>,
    pub when: When,
    /// Raw mentions added when the status is bad.
    pub mentions: Vec<String>,
    /// One request's time limit.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub origin: Origin,
    /// Found while resolving (both credentials set, a setting that does not apply).
    pub warnings: Vec<String>,
}

impl SlackSettings {
    /// The values that must never be printed, for the CI's log masking.
    pub fn secrets(&self) -> Vec<&Secret> {
        match &self.delivery {
            Delivery::Webhook { url, .. } => vec![url],
            Delivery::Bot { token, .. } => vec![token],
        }
    }
}

/// Slack could not be told.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("post to Slack: {what} was refused ({answer}): {advice}")]
    Refused { what: String, answer: String, advice: String },
    #[error("post to Slack at {host}: {last}, after {attempts} attempt(s) in {waited}; check https://slack-status.com or allow more time with --retry-budget")]
    Unreachable { host: String, last: String, attempts: u32, waited: String },
    #[error("post to Slack: cannot start an HTTP client ({0})")]
    Client(String),
}

impl crate::error::ModuleError for SlackError {
    /// Refusals are configuration problems (a wrong URL, token, channel): exit 2.
    fn is_usage(&self) -> bool {
        matches!(self, SlackError::Refused { .. })
    }
}

/// Builds the message from the result files and sends it, unless `--when` says not to.
pub async fn notify(settings: &SlackSettings, live: &mut dyn Live) -> Result<Outcome, SlackError> {
    let steps: Vec<StepReport> = settings.results.iter().map(|p| StepReport::read(p)).collect();
    let message = Message::new(
        steps,
        settings.status,
        settings.title.clone(),
        settings.text.clone(),
        settings.origin.clone(),
    );
    let mode = match settings.delivery {
        Delivery::Webhook { .. } => "webhook",
        Delivery::Bot { .. } => "bot",
    };
    let channel = match &settings.delivery {
        Delivery::Bot { channel, .. } => Some(channel.clone()),
        Delivery::Webhook { .. } => None,
    };
    if let Some(reason) = skip_reason(settings.when, message.status) {
        let mut outcome =
            outcome(&message, mode, channel.as_deref(), None, 0, false, format!("nothing sent: {reason}"));
        outcome.warnings.extend(settings.warnings.iter().cloned());
        return Ok(outcome);
    }

    let mut body = payload::build(&message, &payload::Extras { mentions: settings.mentions.clone() });
    let (target, what, host, method) = match &settings.delivery {
        Delivery::Webhook { url, source } => {
            (Target::Webhook(url), format!("the webhook in {source}"), host_of(url.expose()), None)
        }
        Delivery::Bot { token, source, channel, api_url, thread_ts, update } => {
            body["channel"] = json!(channel);
            if let Some(ts) = thread_ts {
                body["thread_ts"] = json!(ts);
            }
            let method = if let Some(ts) = update {
                body["ts"] = json!(ts);
                "chat.update"
            } else {
                "chat.postMessage"
            };
            let target = Target::Api { url: format!("{api_url}/{method}"), token };
            (target, format!("{method} with the token in {source}"), host_of(api_url), Some(method))
        }
    };

    let client = send::client(settings.timeout).map_err(SlackError::Client)?;
    let delivered = deliver(
        settings.retry,
        |_| send::attempt(&client, &target, &body, settings.timeout),
        |n, problem, wait| {
            live.line(&format!(
                "Slack at {host}: {problem}; attempt {} in {}",
                n + 1,
                humantime::format_duration(round(wait))
            ))
        },
    )
    .await;
    let ((posted_channel, ts), attempts) = delivered.map_err(|gave_up| match gave_up.error {
        Problem::Refused { status, code } => {
            let advice = match method {
                Some(method) => answer::api_advice(&code, method),
                None => answer::webhook_advice(&code),
            };
            // The Web API says no with HTTP 200 and a code; the status only adds noise there.
            let answer = if method.is_some() && status == 200 { code } else { format!("{status} {code}") };
            SlackError::Refused { what: what.clone(), answer, advice }
        }
        Problem::Busy(last) => SlackError::Unreachable {
            host: host.clone(),
            last,
            attempts: gave_up.attempts,
            waited: humantime::format_duration(round(gave_up.waited)).to_string(),
        },
    })?;

    // chat.postMessage answers with the channel's ID, which chat.update needs: prefer it for outputs.
    let channel = posted_channel.or(channel);
    let headline = match &settings.delivery {
        Delivery::Bot { channel: asked, update, .. } => {
            let verb = if update.is_some() { "updated in" } else { "sent to" };
            let ts = ts.as_deref().map(|ts| format!(" (ts {ts})")).unwrap_or_default();
            format!("{verb} {}{ts}", channel_label(asked))
        }
        Delivery::Webhook { .. } => "sent to Slack through the incoming webhook".to_string(),
    };
    let mut outcome = outcome(&message, mode, channel.as_deref(), ts.as_deref(), attempts, true, headline);
    if mode == "bot" {
        outcome.outputs.extend(ts.iter().map(|ts| ("ts".to_string(), ts.clone())));
        outcome.outputs.extend(channel.iter().map(|c| ("channel".to_string(), c.clone())));
    }
    outcome.warnings.extend(settings.warnings.iter().cloned());
    Ok(outcome)
}

/// Why `--when` holds the message back, if it does.
pub fn skip_reason(when: When, status: Status) -> Option<String> {
    let name =
        serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    match when {
        When::Always => None,
        When::Failure if !status.is_bad() => Some(format!("--when failure and the status is {name}")),
        When::Success if status != Status::Success => {
            Some(format!("--when success and the status is {name}"))
        }
        _ => None,
    }
}

fn outcome(
    message: &Message,
    mode: &str,
    channel: Option<&str>,
    ts: Option<&str>,
    attempts: u32,
    sent: bool,
    headline: String,
) -> Outcome {
    let mut outcome = Outcome::new("notify", Verdict::Passed, headline);
    let steps = message
        .steps
        .iter()
        .map(|s| StepData {
            name: s.name(),
            verdict: s.verdict.clone(),
            headline: s.headline.clone(),
            path: s.path.clone(),
        })
        .collect();
    outcome.set_data(&NotifyData {
        schema_version: NOTIFY_VERSION,
        mode: mode.to_string(),
        channel: channel.map(str::to_string),
        ts: ts.map(str::to_string),
        status: message.status,
        sent,
        attempts,
        message: MessageData {
            title: message.title.clone(),
            text: message.text.clone(),
            origin: message.origin.clone(),
            steps,
        },
    });
    outcome
}

/// `#deploys` for a name, the ID as is (C0123ABCD).
fn channel_label(channel: &str) -> String {
    let is_id = channel.len() >= 9
        && channel.starts_with(['C', 'G', 'D'])
        && channel.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if is_id || channel.starts_with('#') {
        channel.to_string()
    } else {
        format!("#{channel}")
    }
}

/// The host of a URL, the only part of an endpoint errors may name.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "the configured URL".into())
}

/// Whole seconds (milliseconds under one) read better than nanoseconds in a log line.
fn round(d: Duration) -> Duration {
    if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs_f64().round() as u64)
    } else {
        Duration::from_millis(d.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ModuleError;

    #[test]
    fn when_holds_back_what_it_should() {
        assert_eq!(skip_reason(When::Always, Status::Success), None);
        assert_eq!(skip_reason(When::Failure, Status::Failure), None);
        assert_eq!(skip_reason(When::Failure, Status::TimedOut), None);
        assert_eq!(
            skip_reason(When::Failure, Status::Success).as_deref(),
            Some("--when failure and the status is success")
        );
        assert_eq!(skip_reason(When::Success, Status::Success), None);
        assert_eq!(
            skip_reason(When::Success, Status::Cancelled).as_deref(),
            Some("--when success and the status is cancelled")
        );
    }

    #[test]
    fn channels_and_hosts_are_shown_safely() {
        assert_eq!(channel_label("deploys"), "#deploys");
        assert_eq!(channel_label("#deploys"), "#deploys");
        assert_eq!(channel_label("C0123ABCD"), "C0123ABCD");
        assert_eq!(host_of("https://hooks.slack.com/services/T0/B0/secret"), "hooks.slack.com");
        assert_eq!(host_of("not a url"), "the configured URL");
    }

    #[test]
    fn refusals_are_usage_errors_and_name_the_setting_not_the_url() {
        let err = SlackError::Refused {
            what: "the webhook in STEPKIT_SLACK_WEBHOOK_URL".into(),
            answer: "404 no_service".into(),
            advice: answer::webhook_advice("no_service"),
        };
        assert!(err.is_usage());
        assert_eq!(
            err.to_string(),
            "post to Slack: the webhook in STEPKIT_SLACK_WEBHOOK_URL was refused (404 no_service): the webhook was removed or its app uninstalled; create a new incoming webhook and store its URL"
        );
        let err = SlackError::Unreachable {
            host: "hooks.slack.com".into(),
            last: "503 server error".into(),
            attempts: 4,
            waited: "2m".into(),
        };
        assert!(!err.is_usage());
    }
}
