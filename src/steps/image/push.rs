//! Pushing: transient failures retried with exponential backoff inside a total budget, auth failures
//! at once (naming the credentials that were tried), and the digest the daemon reports.

use super::classify::{classify, classify_status, Failure};
use super::credentials::Login;
use super::reference::Reference;
use super::ImageError;
use crate::report::Live;
use crate::retry::{deliver, Attempt, RetryPolicy};
use bollard::query_parameters::PushImageOptions;
use bollard::Docker;
use futures_util::StreamExt;
use std::cell::RefCell;
use std::time::Duration;
use tokio::time::Instant;

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy)]
pub struct PushPolicy {
    /// Counted from the first failure: the first attempt may take as long as it keeps making progress
    /// (a big image on a slow link); the budget only bounds the retries.
    pub retry: RetryPolicy,
    /// An attempt with no event from the daemon for this long is stuck (a registry that accepted the
    /// connection and stopped answering): it is abandoned and counts as a transient failure.
    pub stall: Duration,
}

/// Pushes `reference` and returns the manifest digest the registry reported.
// The attempt holds the live output across its awaits; `deliver` awaits each attempt to its end before
// it calls the retry line, so the two borrows never overlap.
#[allow(clippy::await_holding_refcell_ref)]
pub async fn push(
    docker: &Docker,
    reference: &Reference,
    login: &Login,
    policy: PushPolicy,
    live: &mut dyn Live,
) -> Result<String, ImageError> {
    let credentials = login.credential.for_daemon(&reference.registry);
    // Both the attempt and the retry line write to the live output, one after the other.
    let live = RefCell::new(live);
    let pushed = deliver(
        policy.retry,
        |deadline| {
            let (live, credentials) = (&live, credentials.clone());
            async move {
                let mut live = live.borrow_mut();
                match push_once(docker, reference, credentials, policy.stall, deadline, &mut **live).await {
                    Ok(digest) => Attempt::Done(digest),
                    Err(Failure::Transient(message)) => {
                        Attempt::Retry { error: Failure::Transient(message), after: None }
                    }
                    Err(failure) => Attempt::Fail(failure),
                }
            }
        },
        |attempt, failure, wait| {
            live.borrow_mut().line(&format!(
                "stepkit: push of {} failed (attempt {attempt}: {}); retrying in {}",
                reference.full(),
                failure.message(),
                humantime::format_duration(wait)
            ))
        },
    )
    .await;
    pushed.map(|(digest, _)| digest).map_err(|gave_up| match gave_up.error {
        Failure::Denied(message) => ImageError::Denied {
            registry: reference.registry.clone(),
            tried: login.source.to_string(),
            hint: login.source.hint(),
            message,
        },
        Failure::Transient(message) => ImageError::RegistryUnavailable {
            registry: reference.registry.clone(),
            attempts: gave_up.attempts,
            waited: gave_up.waited,
            message,
        },
        Failure::Other(message) => {
            ImageError::Push { reference: reference.full(), attempts: gave_up.attempts, message }
        }
    })
}

/// One push attempt. It ends when the daemon is silent for `stall`, or at `deadline` (the end of
/// the retry budget); dropping the stream closes the connection, and the daemon cancels the push.
async fn push_once(
    docker: &Docker,
    reference: &Reference,
    credentials: Option<bollard::auth::DockerCredentials>,
    stall: Duration,
    deadline: Option<Instant>,
    live: &mut dyn Live,
) -> Result<String, Failure> {
    let options = PushImageOptions { tag: Some(reference.tag.clone()), ..Default::default() };
    let mut stream = docker.push_image(&reference.name(), Some(options), credentials);
    let mut digest = None;
    let mut last_status = String::new();
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let wait = left.map_or(stall, |left| left.min(stall));
        let item = match tokio::time::timeout(wait, stream.next()).await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(_) if left.is_some_and(|left| left < stall) => {
                return Err(Failure::Transient(
                    "the retry budget ran out during this attempt (--retry-budget)".into(),
                ));
            }
            Err(_) => {
                return Err(Failure::Transient(format!(
                    "no progress from the daemon for {} (the registry stopped answering; --stall-timeout)",
                    humantime::format_duration(stall)
                )));
            }
        };
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail {
                    return Err(classify(&detail.message.unwrap_or_default()));
                }
                if let Some(status) = info.status {
                    if let Some(found) = digest_in(&status) {
                        digest = Some(found);
                    }
                    // Layer progress repeats per chunk; only show a status once.
                    if status != last_status && !status.starts_with("Pushing") {
                        live.line(&status);
                        last_status = status;
                    }
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => return Err(classify(&error)),
            Err(bollard::errors::Error::DockerResponseServerError { status_code, message }) => {
                return Err(classify_status(status_code, &message))
            }
            Err(e) => return Err(Failure::Transient(e.to_string())),
        }
    }
    digest.ok_or_else(|| Failure::Other("the push finished without reporting a digest".into()))
}

/// `1: digest: sha256:<64 hex> size: 943` -> the digest.
fn digest_in(status: &str) -> Option<String> {
    let start = status.find("sha256:")?;
    let hex: String = status[start + 7..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    (hex.len() == 64).then(|| format!("sha256:{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_digest_in_push_status() {
        let d = "a".repeat(64);
        assert_eq!(digest_in(&format!("1: digest: sha256:{d} size: 943")), Some(format!("sha256:{d}")));
        assert_eq!(digest_in("Pushed"), None);
    }
}
