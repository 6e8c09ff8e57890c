//! GitHub's documented failure contract, as a pure function of one reply: which answers are done,
//! which are worth waiting for (5xx, primary and secondary rate limits), and which no retry can fix.

use crate::retry::Attempt;
use crate::retry::{retry_after, until_epoch};
use serde::Deserialize;
use std::fmt;
use std::time::{Duration, SystemTime};

/// GitHub asks for at least a minute when a secondary limit comes without `Retry-After`.
const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// `x-ratelimit-reset` has one-second resolution and our clock may lag GitHub's a little.
const RESET_MARGIN: Duration = Duration::from_secs(1);

/// The headers the contract needs, copied out of the response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    pub retry_after: Option<String>,
    pub ratelimit_remaining: Option<String>,
    pub ratelimit_reset: Option<String>,
    pub link: Option<String>,
}

/// One HTTP answer from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// `Bad Gateway`, ... (empty for unknown codes).
    pub reason: String,
    pub headers: Headers,
    pub body: String,
}

/// Why an attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 401: the token is wrong, expired or revoked.
    Unauthorized { message: String },
    /// 403 that is not a rate limit: the token may not do this.
    Forbidden { message: String },
    /// 404: the repository (or PR) does not exist for this token.
    NotFound { message: String },
    /// 422: GitHub understood the request and refused its content.
    Invalid { message: String },
    /// Another 4xx.
    Rejected { status: u16, message: String },
    /// The token's hourly quota is used up until `reset`.
    RateLimited { reset: Option<SystemTime>, message: String },
    /// A secondary (abuse) limit: too many requests too fast.
    Secondary { message: String },
    /// 5xx.
    Server { status: u16, reason: String },
    /// No answer: connection refused or reset, DNS, TLS.
    Transport { message: String },
    /// No answer within the request timeout.
    Timeout { after: Duration },
    /// The request could not be built (a bad URL); not worth retrying.
    Request { message: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unauthorized { message } => write!(f, "401 {message}"),
            Failure::Forbidden { message } => write!(f, "403 {message}"),
            Failure::NotFound { message } => write!(f, "404 {message}"),
            Failure::Invalid { message } => write!(f, "422 {message}"),
            Failure::Rejected { status, message } => write!(f, "{status} {message}"),
            Failure::RateLimited { reset, .. } => match reset {
                Some(reset) => write!(f, "rate limit used up until {}", format_time(*reset)),
                None => write!(f, "rate limit used up"),
            },
            Failure::Secondary { message } => write!(f, "secondary rate limit ({message})"),
            Failure::Server { status, reason } => write!(f, "{status} {reason}"),
            Failure::Transport { message } => write!(f, "{message}"),
            Failure::Timeout { after } => {
                write!(f, "no answer within {}", humantime::format_duration(*after))
            }
            Failure::Request { message } => write!(f, "{message}"),
        }
    }
}

/// `2024-05-01 12:00:00 UTC`.
pub fn format_time(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// GitHub's error body: `{"message": ..., "errors": [...], "documentation_url": ...}`.
#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

/// An entry of `errors`: an object with `message` or `resource`/`field`/`code`, or a plain string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorDetail {
    Text(String),
    Object { message: Option<String>, resource: Option<String>, field: Option<String>, code: Option<String> },
}

/// GitHub's message and each of its `errors` ("Validation Failed: No commit found for SHA: abc (custom)").
pub fn error_message(reply: &Reply) -> String {
    let Ok(body) = serde_json::from_str::<ErrorBody>(&reply.body) else {
        return if reply.reason.is_empty() { format!("HTTP {}", reply.status) } else { reply.reason.clone() };
    };
    let mut out = body.message.unwrap_or_else(|| reply.reason.clone());
    let details: Vec<String> = body
        .errors
        .into_iter()
        .map(|e| match e {
            ErrorDetail::Text(text) => text,
            ErrorDetail::Object { message, resource, field, code } => {
                let what = [resource, field].into_iter().flatten().collect::<Vec<_>>().join(".");
                match (message, code) {
                    (Some(m), Some(c)) => format!("{m} ({c})"),
                    (Some(m), None) => m,
                    (None, Some(c)) if !what.is_empty() => format!("{what} {c}"),
                    (None, Some(c)) => c,
                    (None, None) => what,
                }
            }
        })
        .filter(|d| !d.is_empty())
        .collect();
    if !details.is_empty() {
        out.push_str(": ");
        out.push_str(&details.join("; "));
    }
    out
}

/// What one reply means for the delivery.
pub fn classify(reply: Reply) -> Attempt<Reply, Failure> {
    let status = reply.status;
    if (200..300).contains(&status) {
        return Attempt::Done(reply);
    }
    let headers = &reply.headers;
    let retry_after = headers.retry_after.as_deref().and_then(retry_after);
    let exhausted = headers.ratelimit_remaining.as_deref().map(str::trim) == Some("0");
    match status {
        401 => Attempt::Fail(Failure::Unauthorized { message: error_message(&reply) }),
        403 | 429 if retry_after.is_some() => Attempt::Retry {
            error: Failure::Secondary { message: error_message(&reply) },
            after: retry_after,
        },
        403 | 429 if exhausted => {
            let wait = headers.ratelimit_reset.as_deref().and_then(until_epoch);
            let reset = headers
                .ratelimit_reset
                .as_deref()
                .and_then(|r| r.trim().parse::<u64>().ok())
                .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
            Attempt::Retry {
                error: Failure::RateLimited { reset, message: error_message(&reply) },
                after: Some(wait.map(|w| w + RESET_MARGIN).unwrap_or(SECONDARY_DEFAULT_WAIT)),
            }
        }
        429 => Attempt::Retry {
            error: Failure::Secondary { message: error_message(&reply) },
            after: Some(SECONDARY_DEFAULT_WAIT),
        },
        403 => {
            let message = error_message(&reply);
            if message.to_ascii_lowercase().contains("secondary rate limit") {
                Attempt::Retry { error: Failure::Secondary { message }, after: Some(SECONDARY_DEFAULT_WAIT) }
            } else {
                Attempt::Fail(Failure::Forbidden { message })
            }
        }
        404 => Attempt::Fail(Failure::NotFound { message: error_message(&reply) }),
        422 => Attempt::Fail(Failure::Invalid { message: error_message(&reply) }),
        500..=599 => {
            Attempt::Retry { error: Failure::Server { status, reason: reply.reason.clone() }, after: None }
        }
        _ => Attempt::Fail(Failure::Rejected { status, message: error_message(&reply) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: Headers, body: &str) -> Reply {
        Reply { status, reason: "Reason".into(), headers, body: body.into() }
    }

    fn failure(attempt: Attempt<Reply, Failure>) -> (Failure, Option<Option<Duration>>) {
        match attempt {
            Attempt::Done(r) => panic!("done: {r:?}"),
            Attempt::Retry { error, after } => (error, Some(after)),
            Attempt::Fail(error) => (error, None),
        }
    }

    #[test]
    fn successes_are_done_and_auth_errors_are_final() {
        assert!(matches!(classify(reply(201, Headers::default(), "{}")), Attempt::Done(_)));
        let (f, retry) =
            failure(classify(reply(401, Headers::default(), r#"{"message":"Bad credentials"}"#)));
        assert_eq!((f, retry), (Failure::Unauthorized { message: "Bad credentials".into() }, None));
        let (f, retry) = failure(classify(reply(
            403,
            Headers { ratelimit_remaining: Some("4999".into()), ..Headers::default() },
            r#"{"message":"Resource not accessible by integration"}"#,
        )));
        assert_eq!(
            (f, retry),
            (Failure::Forbidden { message: "Resource not accessible by integration".into() }, None)
        );
        assert!(matches!(
            failure(classify(reply(404, Headers::default(), r#"{"message":"Not Found"}"#))),
            (Failure::NotFound { .. }, None)
        ));
        assert!(matches!(
            failure(classify(reply(410, Headers::default(), "gone"))),
            (Failure::Rejected { status: 410, .. }, None)
        ));
    }

    #[test]
    fn rate_limits_wait_for_the_reset_or_retry_after() {
        let reset = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() + 30;
        let headers = Headers {
            ratelimit_remaining: Some("0".into()),
            ratelimit_reset: Some(reset.to_string()),
            ..Headers::default()
        };
        let (f, after) = failure(classify(reply(403, headers, r#"{"message":"API rate limit exceeded"}"#)));
        assert!(matches!(f, Failure::RateLimited { reset: Some(_), .. }), "{f:?}");
        let wait = after.unwrap().unwrap();
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(31), "{wait:?}");

        let headers = Headers { retry_after: Some("3".into()), ..Headers::default() };
        assert_eq!(
            failure(classify(reply(429, headers.clone(), "{}"))).1,
            Some(Some(Duration::from_secs(3)))
        );
        assert!(matches!(failure(classify(reply(403, headers, "{}"))).0, Failure::Secondary { .. }));
        let (f, after) = failure(classify(reply(
            403,
            Headers::default(),
            r#"{"message":"You have exceeded a secondary rate limit"}"#,
        )));
        assert_eq!(
            (matches!(f, Failure::Secondary { .. }), after),
            (true, Some(Some(SECONDARY_DEFAULT_WAIT)))
        );
        assert_eq!(
            failure(classify(reply(429, Headers::default(), ""))).1,
            Some(Some(SECONDARY_DEFAULT_WAIT))
        );
    }

    #[test]
    fn server_errors_back_off() {
        let (f, after) = failure(classify(Reply {
            status: 502,
            reason: "Bad Gateway".into(),
            headers: Headers::default(),
            body: "<html>".into(),
        }));
        assert_eq!(f.to_string(), "502 Bad Gateway");
        assert_eq!(after, Some(None), "the backoff decides");
    }

    #[test]
    fn validation_errors_carry_every_detail() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"Status","code":"custom","message":"No commit found for SHA: abc"},
                      {"resource":"CheckRun","field":"head_sha","code":"missing_field"},"plain"],"documentation_url":"https://docs.github.com"}"#;
        let (f, retry) = failure(classify(reply(422, Headers::default(), body)));
        assert_eq!(retry, None);
        assert_eq!(f.to_string(), "422 Validation Failed: No commit found for SHA: abc (custom); CheckRun.head_sha missing_field; plain");
        assert_eq!(error_message(&reply(500, Headers::default(), "<html>oops</html>")), "Reason");
    }
}
