//! The one way stepkit talks to GitHub: octocrab for transport and auth, raw responses (status and
//! headers matter), retries per the contract in classify.rs, and failures turned into `GithubError`s.

use super::classify::{classify, format_time, Failure, Headers, Reply};
use super::{ApiSettings, GithubError};
use crate::report::Live;
use crate::retry::deliver;
use crate::retry::{Attempt, GaveUp};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::Cell;
use std::time::SystemTime;

/// An HTTP method the commands use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
}

/// An API client for one repository and one command.
pub struct Client {
    octocrab: Octocrab,
    api: ApiSettings,
    /// `host[:port]` of the API, for messages and for keeping pagination on it.
    host: String,
    base: reqwest::Url,
    repo: String,
    /// The job permission the command needs (`checks`, `statuses`, `pull-requests`).
    permission: &'static str,
    /// Added to a 404's message (" (or it has no pull request #5)").
    not_found_hint: String,
    attempts: Cell<u32>,
}

impl Client {
    /// A client for `repo` whose writes need `permission`.
    pub fn new(api: &ApiSettings, repo: &str, permission: &'static str) -> Result<Client, GithubError> {
        let client_error = |message: String| GithubError::Client { api_url: api.api_url.clone(), message };
        let base = reqwest::Url::parse(&api.api_url).map_err(|e| client_error(format!("not a URL ({e})")))?;
        let host = match (base.host_str(), base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => return Err(client_error("the URL has no host".into())),
        };
        // octocrab's rustls connector takes the process default provider, so ring must be installed first.
        crate::tls::install_crypto_provider();
        let octocrab = Octocrab::builder()
            .base_uri(api.api_url.as_str())
            .map_err(|e| client_error(format!("not a URI octocrab accepts ({e})")))?
            .personal_token(api.token.expose().to_string())
            // octocrab already sends X-GitHub-Api-Version; the media type is GitHub's recommended one.
            .add_header(reqwest::header::ACCEPT, "application/vnd.github+json".into())
            .set_connect_timeout(Some(api.timeout))
            .set_read_timeout(Some(api.timeout))
            .set_write_timeout(Some(api.timeout))
            .build()
            .map_err(|e| client_error(describe(&e, api.token.expose())))?;
        Ok(Client {
            octocrab,
            api: api.clone(),
            host,
            base,
            repo: repo.to_string(),
            permission,
            not_found_hint: String::new(),
            attempts: Cell::new(0),
        })
    }

    /// Says more on a 404 than "the repository".
    pub fn with_not_found_hint(mut self, hint: String) -> Client {
        self.not_found_hint = hint;
        self
    }

    /// Every HTTP attempt so far, retries included.
    pub fn attempts(&self) -> u32 {
        self.attempts.get()
    }

    /// `owner/name`.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// `host[:port]` of the API.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends one request until it is delivered or the contract says stop; `action` ("create the check
    /// run `tests` in octo/app") starts every error message.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        action: &str,
        live: &mut dyn Live,
    ) -> Result<Reply, GithubError> {
        let on_retry = |n: u32, failure: &Failure, wait: std::time::Duration| {
            live.line(&format!(
                "GitHub API at {}: {failure}; attempt {n} failed, retrying in {}",
                self.host,
                humantime::format_duration(round(wait))
            ));
        };
        match deliver(self.api.retry, |_| self.attempt(method, path, body), on_retry).await {
            Ok((reply, _)) => Ok(reply),
            Err(gave_up) => Err(self.error(action, gave_up)),
        }
    }

    /// `send`, then the reply's JSON as `T`.
    pub async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        action: &str,
        live: &mut dyn Live,
    ) -> Result<(T, Reply), GithubError> {
        let reply = self.send(method, path, body, action, live).await?;
        let value = self.parse(&reply, action)?;
        Ok((value, reply))
    }

    /// The reply's JSON as `T`.
    pub fn parse<T: DeserializeOwned>(&self, reply: &Reply, action: &str) -> Result<T, GithubError> {
        serde_json::from_str(&reply.body).map_err(|e| GithubError::Response {
            action: action.into(),
            host: self.host.clone(),
            message: format!("{} with a body that does not parse: {e}", reply.status),
        })
    }

    /// A `Link` URL as a path on the API host: pagination must not lead the token anywhere else.
    pub fn same_host_path(&self, url: &str, action: &str) -> Result<String, GithubError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| GithubError::Response {
            action: action.into(),
            host: self.host.clone(),
            message: format!("a Link URL that does not parse ({e})"),
        })?;
        if parsed.origin() != self.base.origin() {
            return Err(GithubError::Response {
                action: action.into(),
                host: self.host.clone(),
                message: format!("a Link to another host ({})", parsed.origin().ascii_serialization()),
            });
        }
        Ok(match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        })
    }

    async fn attempt<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Attempt<Reply, Failure> {
        self.attempts.set(self.attempts.get() + 1);
        let request = async {
            let response = match method {
                Method::Get => self.octocrab._get(path).await,
                Method::Post => self.octocrab._post(path, body).await,
                Method::Patch => self.octocrab._patch(path, body).await,
            }?;
            let status = response.status();
            let header =
                |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            let headers = Headers {
                retry_after: header("retry-after"),
                ratelimit_remaining: header("x-ratelimit-remaining"),
                ratelimit_reset: header("x-ratelimit-reset"),
                link: header("link"),
            };
            let body = self.octocrab.body_to_string(response).await?;
            Ok::<_, octocrab::Error>(Reply {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or_default().to_string(),
                headers,
                body,
            })
        };
        // The connector's timeouts cover connecting and each read; this one covers the whole exchange.
        match tokio::time::timeout(self.api.timeout, request).await {
            Err(_) => Attempt::Retry { error: Failure::Timeout { after: self.api.timeout }, after: None },
            Ok(Ok(reply)) => classify(reply),
            // The connector's own read timeout can fire first (a pooled connection's read timer started
            // in an earlier attempt): the same failure as the whole-exchange timeout, told the same way.
            Ok(Err(error)) if timed_out(&error) => {
                Attempt::Retry { error: Failure::Timeout { after: self.api.timeout }, after: None }
            }
            Ok(Err(error)) => {
                let message = describe(&error, self.api.token.expose());
                match error {
                    octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. } => {
                        Attempt::Retry { error: Failure::Transport { message }, after: None }
                    }
                    _ => Attempt::Fail(Failure::Request { message }),
                }
            }
        }
    }

    fn error(&self, action: &str, gave_up: GaveUp<Failure>) -> GithubError {
        let action = action.to_string();
        match gave_up.error {
            Failure::Unauthorized { message } => {
                GithubError::Unauthorized { action, token_source: self.api.token_source.clone(), message }
            }
            Failure::Forbidden { message } => {
                GithubError::Forbidden { action, permission: self.permission, message }
            }
            Failure::NotFound { .. } => {
                GithubError::NotFound { action, repo: self.repo.clone(), hint: self.not_found_hint.clone() }
            }
            Failure::Invalid { message } => GithubError::Invalid { action, message },
            Failure::Rejected { status, message } => GithubError::Rejected { action, status, message },
            Failure::Request { message } => GithubError::Request { action, message },
            Failure::RateLimited { reset, .. } => {
                let reset = match reset {
                    Some(time) => {
                        let left = time.duration_since(SystemTime::now()).unwrap_or_default();
                        format!("{} (in {})", format_time(time), humantime::format_duration(round(left)))
                    }
                    None => "its reset (GitHub sent no x-ratelimit-reset)".into(),
                };
                GithubError::RateLimited { action, reset }
            }
            last @ (Failure::Secondary { .. }
            | Failure::Server { .. }
            | Failure::Transport { .. }
            | Failure::Timeout { .. }) => GithubError::Unavailable {
                action,
                host: self.host.clone(),
                attempts: gave_up.attempts,
                waited: humantime::format_duration(round(gave_up.waited)).to_string(),
                last: last.to_string(),
            },
        }
    }
}

/// Whole seconds read better in a log line than nanoseconds.
fn round(duration: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(duration.as_secs_f64().round() as u64)
}

/// Whether an error of the HTTP stack is a timeout (an `io::Error` of kind `TimedOut` in its chain).
fn timed_out(error: &octocrab::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
            return true;
        }
        source = e.source();
    }
    false
}

/// An octocrab error and its causes in one line ("Service Error: client error (Connect): tcp connect
/// error: Connection refused"). The token is cut out should any layer ever quote a header.
fn describe(error: &octocrab::Error, token: &str) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    // snafu's Display of some variants appends a backtrace; the first line says it all.
    let text = text.lines().next().unwrap_or_default();
    let text = text.trim_start_matches("Service Error: ").trim_start_matches("Hyper Error: ").to_string();
    if token.is_empty() {
        text
    } else {
        text.replace(token, "***")
    }
}
