//! Who sent a delivery and whether it carries the shared secret: checked over the raw body, in
//! constant time, before a byte of it is parsed.

use crate::secret::Secret;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The forge that sent a delivery, told apart by its event header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Github,
    Gitlab,
    Gitea,
}

impl Provider {
    /// The name stored in the log (`github`, `gitlab`, `gitea`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Gitea => "gitea",
        }
    }

    /// The provider whose event header is present. Gitea also sends GitHub's headers, so it is asked first.
    pub fn detect(headers: &HeaderMap) -> Option<Provider> {
        if headers.contains_key("x-gitea-event") {
            Some(Provider::Gitea)
        } else if headers.contains_key("x-gitlab-event") {
            Some(Provider::Gitlab)
        } else if headers.contains_key("x-github-event") {
            Some(Provider::Github)
        } else {
            None
        }
    }

    /// The event name the provider put in its header (`push`, `Push Hook`, ...).
    pub fn event_header(self, headers: &HeaderMap) -> String {
        let name = match self {
            Provider::Github => "x-github-event",
            Provider::Gitlab => "x-gitlab-event",
            Provider::Gitea => "x-gitea-event",
        };
        header(headers, name).unwrap_or_default().to_string()
    }

    /// The provider's delivery id, which a replay repeats.
    pub fn delivery_id(self, headers: &HeaderMap) -> Option<String> {
        let names: &[&str] = match self {
            Provider::Github => &["x-github-delivery"],
            Provider::Gitlab => &["x-gitlab-event-uuid", "idempotency-key"],
            Provider::Gitea => &["x-gitea-delivery"],
        };
        names.iter().find_map(|n| header(headers, n)).map(|v| v.chars().take(128).collect())
    }
}

/// Why a delivery was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No provider event header: not a webhook stepkit knows.
    UnknownSender,
    /// The signature or token header is missing.
    Unsigned,
    /// It is present but wrong (or malformed).
    Forged,
}

impl Refused {
    /// The verdict stored in the log.
    pub fn verdict(&self) -> &'static str {
        match self {
            Refused::UnknownSender => "refused: no X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event header",
            Refused::Unsigned => "refused: unsigned (no signature or token header)",
            Refused::Forged => "refused: signature does not match the secret",
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Checks the delivery's signature (GitHub, Gitea) or token (GitLab) against `secret`.
pub fn verify(headers: &HeaderMap, body: &[u8], secret: &Secret) -> Result<Provider, Refused> {
    let provider = Provider::detect(headers).ok_or(Refused::UnknownSender)?;
    match provider {
        Provider::Github => {
            let value = header(headers, "x-hub-signature-256").ok_or(Refused::Unsigned)?;
            let hex = value.strip_prefix("sha256=").ok_or(Refused::Forged)?;
            hmac_matches(secret, body, hex).then_some(provider).ok_or(Refused::Forged)
        }
        Provider::Gitea => {
            let hex = header(headers, "x-gitea-signature").ok_or(Refused::Unsigned)?;
            hmac_matches(secret, body, hex).then_some(provider).ok_or(Refused::Forged)
        }
        Provider::Gitlab => {
            let token = header(headers, "x-gitlab-token").ok_or(Refused::Unsigned)?;
            // Hashing both sides first makes the comparison constant-time in the length too.
            let given = Sha256::digest(token.as_bytes());
            let wanted = Sha256::digest(secret.expose().as_bytes());
            bool::from(given.ct_eq(&wanted)).then_some(provider).ok_or(Refused::Forged)
        }
    }
}

/// HMAC-SHA256 of `body` under `secret` compared with the hex `signature`; `verify_slice` compares in
/// constant time.
fn hmac_matches(secret: &Secret, body: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The hex HMAC-SHA256 signature a sender puts on `body` (GitHub adds `sha256=` in front).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn github_signature_over_the_raw_body() {
        let secret = Secret::new("It's a Secret to Everybody");
        // GitHub's documented example: this payload, this secret, this signature.
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let ok = headers(&[("x-github-event", "push"), ("x-hub-signature-256", good)]);
        assert_eq!(verify(&ok, body, &secret), Ok(Provider::Github));
        assert_eq!(verify(&ok, b"Hello, World?", &secret), Err(Refused::Forged));
        let unsigned = headers(&[("x-github-event", "push")]);
        assert_eq!(verify(&unsigned, body, &secret), Err(Refused::Unsigned));
        let sha1 = headers(&[("x-github-event", "push"), ("x-hub-signature-256", "sha1=00")]);
        assert_eq!(verify(&sha1, body, &secret), Err(Refused::Forged));
        assert_eq!(verify(&HeaderMap::new(), body, &secret), Err(Refused::UnknownSender));
    }

    #[test]
    fn gitea_signature_and_gitlab_token() {
        let secret = Secret::new("s3cret");
        let body = br#"{"ref":"refs/heads/main"}"#;
        let signature = sign("s3cret", body);
        let gitea = headers(&[("x-gitea-event", "push"), ("x-gitea-signature", &signature)]);
        assert_eq!(verify(&gitea, body, &secret), Ok(Provider::Gitea));
        let wrong = headers(&[("x-gitea-event", "push"), ("x-gitea-signature", &sign("other", body))]);
        assert_eq!(verify(&wrong, body, &secret), Err(Refused::Forged));
        let gitlab = headers(&[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "s3cret")]);
        assert_eq!(verify(&gitlab, body, &secret), Ok(Provider::Gitlab));
        let bad = headers(&[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "s3cre")]);
        assert_eq!(verify(&bad, body, &secret), Err(Refused::Forged));
    }
}
