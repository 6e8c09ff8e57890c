//! Pushing: transient failures retried with exponential backoff inside a total budget, auth failures
//! at once (naming the credentials that were tried), and the digest the daemon reports.

use super::classify::{classify, classify_status, Failure};
use super::credentials::Login;
use super::reference::Reference;
use super::ImageError;
use crate::report::Live;
use bollard::query_parameters::PushImageOptions;
use bollard::Docker;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Total time for retrying, counted from the first failure; no retry runs past it.
    pub budget: Duration,
    /// An attempt with no event from the daemon for this long is stuck (a registry that accepted the
    /// connection and stopped answering): it is abandoned and counts as a transient failure.
    pub stall: Duration,
}

/// Pushes `reference` and returns the manifest digest the registry reported.
pub async fn push(
    docker: &Docker,
    reference: &Reference,
    login: &Login,
    policy: RetryPolicy,
    live: &mut dyn Live,
) -> Result<String, ImageError> {
    let started = Instant::now();
    let mut delay = policy.first_delay;
    let mut attempt = 0;
    // The first attempt may take as long as it keeps making progress (a big image on a slow link);
    // the budget only bounds the retries after a failure, each of them by what is left of it.
    let mut retry_deadline: Option<Instant> = None;
    let credentials = login.credential.for_daemon(&reference.registry);
    loop {
        attempt += 1;
        match push_once(docker, reference, credentials.clone(), policy.stall, retry_deadline, live).await {
            Ok(digest) => return Ok(digest),
            Err(Failure::Denied(message)) => {
                return Err(ImageError::Denied {
                    registry: reference.registry.clone(),
                    tried: login.source.to_string(),
                    hint: login.source.hint(),
                    message,
                });
            }
            Err(Failure::Other(message)) => {
                return Err(ImageError::Push { reference: reference.full(), attempts: attempt, message })
            }
            Err(Failure::Transient(message)) => {
                let deadline = *retry_deadline.get_or_insert_with(|| Instant::now() + policy.budget);
                if Instant::now() + delay >= deadline {
                    return Err(ImageError::RegistryUnavailable {
                        registry: reference.registry.clone(),
                        attempts: attempt,
                        waited: started.elapsed(),
                        message,
                    });
                }
                live.line(&format!(
                    "stepkit: push of {} failed (attempt {attempt}: {message}); retrying in {}",
                    reference.full(),
                    humantime::format_duration(delay)
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(policy.max_delay);
            }
        }
    }
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
