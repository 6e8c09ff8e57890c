//! The HTTP/1.1 side of `stepkit load`: requests built once, one hyper keep-alive connection per worker
//! and origin, one request sent and its whole answer read, and every failure put into an error class.

use super::{LoadError, LoadSettings};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{HeaderMap, Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// A request ready to clone and send: only the body's refcount changes per request.
pub(super) struct Prepared {
    pub origin: usize,
    pub method: Method,
    /// Origin-form (path and query), as HTTP/1.1 sends it.
    pub path: hyper::Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Where connections go: the addresses of one `host:port`.
pub(super) struct Origin {
    pub addrs: Vec<SocketAddr>,
}

/// Everything the workers share.
pub(super) struct Plan {
    pub origins: Vec<Origin>,
    pub requests: Vec<Prepared>,
}

/// Why a request did not get an answer, or got an error status. The names are the result file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum ErrorClass {
    /// The TCP connection (or the HTTP handshake) failed: refused, unreachable.
    Connect,
    /// No whole answer within --timeout.
    Timeout,
    /// The connection broke while the request or answer was on it (reset, closed early).
    Io,
    /// An answer HTTP/1.1 could not read.
    Protocol,
    Status4xx,
    Status5xx,
}

impl ErrorClass {
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Io => "io",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Status4xx => "status_4xx",
            ErrorClass::Status5xx => "status_5xx",
        }
    }
}

/// The end of one request.
pub(super) enum Answer {
    /// A whole answer, whatever its status.
    Response {
        status: u16,
    },
    Failed {
        class: ErrorClass,
        detail: String,
    },
}

/// Resolves every origin once and builds every request, so workers only clone.
pub(super) async fn prepare(settings: &LoadSettings) -> Result<Plan, LoadError> {
    let mut origins: Vec<(String, Origin)> = Vec::new();
    let mut requests = Vec::new();
    for spec in &settings.requests {
        let authority = spec.url.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        let host_port = match spec.url.port_u16() {
            Some(_) => authority.rsplit('@').next().unwrap_or_default().to_string(),
            None => format!("{}:80", spec.url.host().unwrap_or_default()),
        };
        let origin = match origins.iter().position(|(key, _)| *key == host_port) {
            Some(i) => i,
            None => {
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host(host_port.as_str())
                    .await
                    .map_err(|e| LoadError::Resolve { url: spec.url.to_string(), message: e.to_string() })?
                    .collect();
                if addrs.is_empty() {
                    return Err(LoadError::Resolve {
                        url: spec.url.to_string(),
                        message: "no address".into(),
                    });
                }
                origins.push((host_port.clone(), Origin { addrs }));
                origins.len() - 1
            }
        };
        let mut headers = HeaderMap::new();
        // HTTP/1.1 needs Host; a user's own Host header (virtual hosts) replaces it below.
        let host = authority.rsplit('@').next().unwrap_or_default();
        if let Ok(value) = HeaderValue::from_str(host) {
            headers.insert(HOST, value);
        }
        let given = spec.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let secret = settings.secret_headers.iter().map(|(n, v)| (n.as_str(), v.expose()));
        for (name, value) in given.chain(secret) {
            // Settings checked both; a failure here would be a bug, and dropping the header is the safe side.
            if let (Ok(name), Ok(mut value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            {
                if settings.secret_headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name.as_str())) {
                    value.set_sensitive(true);
                }
                headers.insert(name, value);
            }
        }
        let path = spec.url.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        requests.push(Prepared {
            origin,
            method: spec.method.clone(),
            path: path.parse().unwrap_or_else(|_| hyper::Uri::from_static("/")),
            headers,
            body: spec.body.clone(),
        });
    }
    Ok(Plan { origins: origins.into_iter().map(|(_, o)| o).collect(), requests })
}

/// A worker's connections, one per origin, opened on first use and again after a failure.
pub(super) struct Connections {
    senders: Vec<Option<SendRequest<Full<Bytes>>>>,
    /// Connections opened (the first per origin included), for the result file.
    pub opened: u64,
}

impl Connections {
    pub fn new(origins: usize) -> Self {
        Connections { senders: (0..origins).map(|_| None).collect(), opened: 0 }
    }

    /// Sends `request` and reads the whole answer, within `timeout` (connecting included).
    pub async fn send(&mut self, plan: &Plan, index: usize, timeout: Duration) -> Answer {
        match tokio::time::timeout(timeout, self.send_unbounded(plan, index)).await {
            Ok(answer) => answer,
            Err(_) => {
                // The connection may still carry the late answer: never reuse it.
                self.senders[plan.requests[index].origin] = None;
                Answer::Failed {
                    class: ErrorClass::Timeout,
                    detail: format!("no answer within {}", humantime::format_duration(timeout)),
                }
            }
        }
    }

    async fn send_unbounded(&mut self, plan: &Plan, index: usize) -> Answer {
        let prepared = &plan.requests[index];
        let slot = prepared.origin;
        let reusable = matches!(&self.senders[slot], Some(s) if !s.is_closed());
        if !reusable {
            match connect(&plan.origins[slot]).await {
                Ok(sender) => {
                    self.opened += 1;
                    self.senders[slot] = Some(sender);
                }
                Err(detail) => return Answer::Failed { class: ErrorClass::Connect, detail },
            }
        }
        let Some(sender) = self.senders[slot].as_mut() else {
            return Answer::Failed { class: ErrorClass::Connect, detail: "no connection".into() };
        };
        if let Err(e) = sender.ready().await {
            self.senders[slot] = None;
            return Answer::Failed { class: ErrorClass::Io, detail: e.to_string() };
        }
        let mut request = Request::new(Full::new(prepared.body.clone()));
        *request.method_mut() = prepared.method.clone();
        *request.uri_mut() = prepared.path.clone();
        *request.headers_mut() = prepared.headers.clone();
        let answer = match sender.send_request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.into_body().collect().await {
                    Ok(_) => return Answer::Response { status },
                    Err(e) => failure(&e),
                }
            }
            Err(e) => failure(&e),
        };
        self.senders[slot] = None;
        answer
    }
}

fn failure(e: &hyper::Error) -> Answer {
    let class = if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        ErrorClass::Protocol
    } else {
        ErrorClass::Io
    };
    // hyper's Display is terse ("connection closed before message completed"); the source says why.
    let detail = match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    };
    Answer::Failed { class, detail }
}

async fn connect(origin: &Origin) -> Result<SendRequest<Full<Bytes>>, String> {
    let mut last = String::from("no address");
    for addr in &origin.addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Small requests must leave at once, not wait for Nagle's timer.
                let _ = stream.set_nodelay(true);
                let (sender, connection) =
                    http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("{addr}: {e}"))?;
                tokio::spawn(connection);
                return Ok(sender);
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}
