//! Which push failures are worth retrying: the daemon reports registry failures as text inside a
//! 200 response, so the HTTP status and the registry's error words are read back out of that text.

use regex::Regex;
use std::sync::LazyLock;

/// How a push attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try: 5xx, 429, 408, refused/reset connections, timeouts, stalls.
    Transient(String),
    /// The registry said no to these credentials: trying again cannot help.
    Denied(String),
    /// Anything else (unknown repository, bad manifest, a certificate problem): reported at once.
    Other(String),
}

impl Failure {
    /// What went wrong, in the registry's or the daemon's words.
    pub fn message(&self) -> &str {
        match self {
            Failure::Transient(message) | Failure::Denied(message) | Failure::Other(message) => message,
        }
    }
}

/// Text that is data, not the error: quoted URLs (`Put "https://..."`), bare URLs and digests. A repository
/// named `access-denied` or a digest with `401` in it must not decide anything.
static NOISE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""[^"]*"|\S*://\S*|sha256:[0-9a-f]+"#).unwrap());

/// An HTTP status: after `HTTP`/`status`/`status code`, or before its reason phrase. A bare number is
/// not one (`127.0.0.1:500` is a port).
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:\bhttp|\bstatus(?: code)?:?)\s+([1-5][0-9]{2})\b|\b([1-5][0-9]{2})\s+(?:unauthorized|forbidden|too many requests|request timeout|internal server error|not implemented|bad gateway|service unavailable|gateway timeout|not found|bad request|conflict)\b",
    )
    .unwrap()
});

/// A whole word or phrase from the list; `-` and `_` count as word characters, so that
/// `permission_denied`'s neighbours and a name like `my-denied-app` are not matches of `denied`.
fn words(list: &[&str]) -> Regex {
    let alternatives = list.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|");
    Regex::new(&format!(r"(?:^|[^a-z0-9_-])(?:{alternatives})(?:$|[^a-z0-9_-])")).unwrap()
}

/// The registry refusing the credentials (the distribution spec's UNAUTHORIZED and DENIED codes,
/// and what Docker Hub, GHCR and token servers say).
static DENIED: LazyLock<Regex> = LazyLock::new(|| {
    words(&[
        "unauthorized",
        "denied",
        "forbidden",
        "authentication required",
        "no basic auth credentials",
        "incorrect username or password",
        "insufficient_scope",
        "authorization failed",
    ])
});

/// Network and load failures, as Go's net/http and the registries word them.
static TRANSIENT: LazyLock<Regex> = LazyLock::new(|| {
    words(&[
        "connection refused",
        "connection reset",
        "broken pipe",
        "eof",
        "timeout",
        "timed out",
        "deadline exceeded",
        "toomanyrequests",
        "too many requests",
        "no such host",
        "temporary failure in name resolution",
        "server misbehaving",
        "network is unreachable",
        "no route to host",
        "server closed idle connection",
        "transport connection broken",
    ])
});

/// Classifies one error text from the daemon's push stream.
pub fn classify(message: &str) -> Failure {
    let lower = message.to_ascii_lowercase();
    let text = NOISE.replace_all(&lower, " ");
    // A status decides when there is one: a 503 from a token server is not an auth failure.
    for found in STATUS.captures_iter(&text) {
        let code: u16 = found.get(1).or_else(|| found.get(2)).map_or(0, |m| m.as_str().parse().unwrap_or(0));
        match code {
            401 | 403 => return Failure::Denied(message.to_string()),
            408 | 429 | 500..=599 => return Failure::Transient(message.to_string()),
            _ => {}
        }
    }
    if DENIED.is_match(&text) {
        Failure::Denied(message.to_string())
    } else if TRANSIENT.is_match(&text) {
        Failure::Transient(message.to_string())
    } else {
        Failure::Other(message.to_string())
    }
}

/// Classifies an HTTP error from the daemon itself (before any push stream): its words first, then its status.
pub fn classify_status(status: u16, message: &str) -> Failure {
    let text = format!("{status} {message}");
    match classify(message) {
        Failure::Other(_) if status == 401 || status == 403 => Failure::Denied(text),
        Failure::Other(_) if status == 408 || status == 429 || (500..600).contains(&status) => {
            Failure::Transient(text)
        }
        Failure::Other(_) => Failure::Other(text),
        Failure::Denied(_) => Failure::Denied(text),
        Failure::Transient(_) => Failure::Transient(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(message: &str) -> &'static str {
        match classify(message) {
            Failure::Transient(_) => "transient",
            Failure::Denied(_) => "denied",
            Failure::Other(_) => "other",
        }
    }

    /// Error texts as dockerd (20.10 to 28, classic and containerd pushers) prints them.
    #[test]
    fn real_daemon_errors() {
        let digest = format!("sha256:401a403b500c502deadbeef{}", "0".repeat(35));
        let cases: &[(&str, &str)] = &[
            ("unauthorized: authentication required", "denied"),
            ("no basic auth credentials", "denied"),
            ("denied: requested access to the resource is denied", "denied"),
            ("unauthorized: incorrect username or password", "denied"),
            ("denied: permission_denied: write_package", "denied"),
            ("server message: insufficient_scope: authorization failed", "denied"),
            ("error parsing HTTP 403 response body: unexpected end of JSON input: \"\"", "denied"),
            ("failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://auth.example/token?scope=repository%3Aa%3Apush: 401 Unauthorized", "denied"),
            ("received unexpected HTTP status: 500 Internal Server Error", "transient"),
            ("received unexpected HTTP status: 502 Bad Gateway", "transient"),
            ("received unexpected HTTP status: 503 Service Unavailable", "transient"),
            ("error parsing HTTP 502 response body: invalid character '<' looking for beginning of value: \"<html>502 Bad Gateway</html>\"", "transient"),
            ("failed to authorize: failed to fetch oauth token: unexpected status: 503 Service Unavailable", "transient"),
            ("toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading", "transient"),
            ("Get \"http://127.0.0.1:15999/v2/\": dial tcp 127.0.0.1:15999: connect: connection refused", "transient"),
            ("Put \"https://registry.example/v2/app/blobs/uploads/3f1c?digest=sha256:abc\": read tcp 10.0.0.2:51234->10.0.0.9:443: read: connection reset by peer", "transient"),
            ("Patch \"https://registry.example/v2/app/blobs/uploads/3f1c\": write tcp 10.0.0.2:51234->10.0.0.9:443: write: broken pipe", "transient"),
            ("Get \"https://registry.example/v2/\": net/http: TLS handshake timeout", "transient"),
            ("Get \"http://127.0.0.1:15998/v2/\": net/http: request canceled (Client.Timeout exceeded while awaiting headers)", "transient"),
            ("Put \"https://registry.example/v2/app/manifests/1\": EOF", "transient"),
            ("unexpected EOF", "transient"),
            ("Get \"https://10.1.1.1/v2/\": dial tcp 10.1.1.1:443: i/o timeout", "transient"),
            ("Get \"https://registry.example/v2/\": context deadline exceeded", "transient"),
            ("Get \"https://registry.example/v2/\": dial tcp: lookup registry.example on 127.0.0.53:53: no such host", "transient"),
            ("manifest invalid: manifest invalid", "other"),
            ("name unknown: repository name not known to registry", "other"),
            ("blob unknown: blob unknown to registry", "other"),
            ("Get \"https://127.0.0.1:5000/v2/\": http: server gave HTTP response to HTTPS client", "other"),
            ("Get \"https://registry.example/v2/\": x509: certificate signed by unknown authority", "other"),
            ("tag invalid: the tag is not valid", "other"),
        ];
        for (message, expected) in cases {
            assert_eq!(kind(message), *expected, "{message}");
        }
        // Numbers and words inside digests, URLs, ports and names decide nothing.
        assert_eq!(kind(&format!("manifest invalid: {digest}")), "other");
        assert_eq!(kind("Head \"http://127.0.0.1:5000/v2/access-denied/blobs/sha256:401\": http: server gave HTTP response to HTTPS client"), "other");
        assert_eq!(kind("name unknown: my-denied-app on 127.0.0.1:500"), "other");
        assert_eq!(kind("blob unknown: layer 403 of geofence"), "other");
    }

    #[test]
    fn daemon_http_errors_use_words_then_status() {
        assert!(matches!(
            classify_status(500, "Get https://r/v2/: unauthorized: authentication required"),
            Failure::Denied(_)
        ));
        assert!(matches!(classify_status(500, "something broke"), Failure::Transient(_)));
        assert!(matches!(
            classify_status(
                404,
                "An image does not exist locally with the tag: 127.0.0.1:5000/access-denied"
            ),
            Failure::Other(_)
        ));
    }
}
