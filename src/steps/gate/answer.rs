//! What one probe attempt found (the verdict and, for no answer, its error class), and the small
//! formatters every part of the gate writes evidence with. A leaf: the checks, the container watch
//! and the prober all build on it.

use std::time::Duration;

/// Why an attempt got no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Nothing listens on the port (yet).
    Refused,
    /// The name does not resolve.
    Dns,
    /// No answer within `--timeout`.
    Timeout,
    /// The connection was reset or closed mid-answer.
    Reset,
    /// Any other failure to connect (unreachable network, ...).
    Connect,
    /// The peer answered with something that is not HTTP.
    Protocol,
    /// The TLS handshake failed: an untrusted or wrong certificate, or no TLS on the port.
    Tls,
    /// The container does not exist (yet).
    NotFound,
    /// The Docker daemon did not answer an inspect.
    Docker,
    Other,
}

impl ErrorClass {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Refused => "refused",
            ErrorClass::Dns => "dns",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Reset => "reset",
            ErrorClass::Connect => "connect",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Tls => "tls",
            ErrorClass::NotFound => "not-found",
            ErrorClass::Docker => "docker",
            ErrorClass::Other => "other",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// Answered, wrongly: what was wrong.
    Wrong(String),
    /// Not ready yet, and saying so (a container created but not started, a HEALTHCHECK still in its
    /// start period): it never counts toward `--failures`, only the deadline bounds it.
    Starting(String),
    /// No usable answer.
    Error {
        class: ErrorClass,
        message: String,
    },
    /// Container exited or turned unhealthy: what happened.
    Fatal(String),
}

impl Verdict {
    /// The policy's view of it.
    pub fn kind(&self) -> super::policy::Kind {
        use super::policy::Kind;
        match self {
            Verdict::Pass => Kind::Pass,
            Verdict::Wrong(_) => Kind::Wrong,
            Verdict::Starting(_) => Kind::Starting,
            Verdict::Error { .. } => Kind::Error,
            Verdict::Fatal(_) => Kind::Fatal,
        }
    }

    /// `pass`, `wrong`, `starting`, `error`, `fatal`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Wrong(_) => "wrong",
            Verdict::Starting(_) => "starting",
            Verdict::Error { .. } => "error",
            Verdict::Fatal(_) => "fatal",
        }
    }

    /// The detail message, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Verdict::Pass => None,
            Verdict::Wrong(m)
            | Verdict::Starting(m)
            | Verdict::Fatal(m)
            | Verdict::Error { message: m, .. } => Some(m),
        }
    }

    /// The error class, for errors.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Verdict::Error { class, .. } => Some(*class),
            _ => None,
        }
    }
}

/// Milliseconds for people: `3 ms`, `812 ms`, `2.5 s`.
pub fn ms(d: Duration) -> String {
    let millis = d.as_secs_f64() * 1000.0;
    if millis >= 10_000.0 {
        format!("{:.1} s", millis / 1000.0)
    } else if millis >= 10.0 {
        format!("{millis:.0} ms")
    } else {
        format!("{millis:.1} ms")
    }
}

/// The first `max` characters of `text` on one line.
pub fn snippet(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_and_milliseconds() {
        assert_eq!(snippet("a\n  b\tc", 10), "a b c");
        assert_eq!(snippet("abcdef", 3), "abc…");
        assert_eq!(ms(Duration::from_micros(2500)), "2.5 ms");
        assert_eq!(ms(Duration::from_millis(812)), "812 ms");
        assert_eq!(ms(Duration::from_millis(12_340)), "12.3 s");
    }
}
