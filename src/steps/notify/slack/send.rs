//! One POST to Slack (an incoming webhook or a Web API method) and its answer, with every reqwest
//! error stripped of its URL first: a webhook URL is a secret.

use super::answer::{self, Answer};
use crate::retry::{retry_after, Attempt};
use crate::secret::Secret;
use serde_json::Value;
use std::time::Duration;

/// Where a request goes.
pub enum Target<'a> {
    /// The URL is the credential.
    Webhook(&'a Secret),
    /// `https://slack.com/api/chat.postMessage` with a bearer token.
    Api { url: String, token: &'a Secret },
}

/// Why an attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Slack said no, for good.
    Refused { status: u16, code: String },
    /// Busy, down, unreachable or slow.
    Busy(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Refused { status, code } => write!(f, "{status} {code}"),
            Problem::Busy(reason) => f.write_str(reason),
        }
    }
}

/// A client for Slack: the per-request timeout, no redirects (a redirected webhook is a wrong URL).
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    crate::tls::http_client_builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("stepkit/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| describe(e, timeout))
}

/// POSTs `body` once.
pub async fn attempt(
    client: &reqwest::Client,
    target: &Target<'_>,
    body: &Value,
    timeout: Duration,
) -> Attempt<(Option<String>, Option<String>), Problem> {
    let request = match target {
        Target::Webhook(url) => client.post(url.expose()),
        Target::Api { url, token } => client.post(url).bearer_auth(token.expose()),
    };
    let response = match request.json(body).send().await {
        Ok(response) => response,
        Err(e) => return Attempt::Retry { error: Problem::Busy(describe(e, timeout)), after: None },
    };
    let status = response.status().as_u16();
    let after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after);
    let text = match response.text().await {
        Ok(text) => text,
        Err(e) => return Attempt::Retry { error: Problem::Busy(describe(e, timeout)), after: None },
    };
    let answer = match target {
        Target::Webhook(_) => answer::webhook(status, &text, after),
        Target::Api { .. } => answer::api(status, &text, after),
    };
    match answer {
        Answer::Posted { channel, ts } => Attempt::Done((channel, ts)),
        Answer::Busy { reason, after } => Attempt::Retry { error: Problem::Busy(reason), after },
        Answer::Refused { status, code } => Attempt::Fail(Problem::Refused { status, code }),
    }
}

/// A reqwest error in words, never with its URL (`without_url`), with its root cause (connection
/// refused, DNS), which names no URL; the layers between say nothing a user can act on.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        return format!("no answer within {}", humantime::format_duration(timeout));
    }
    let text = if error.is_connect() { "could not connect".to_string() } else { error.to_string() };
    let mut root = None;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        root = Some(cause);
        source = cause.source();
    }
    match root {
        Some(cause) => format!("{text} ({cause})"),
        None => text,
    }
}
