//! The client side of `stepkit load`: requests built once into the bytes they are sent as, one
//! keep-alive connection per worker and origin (wire.rs reads the answers), and every failure put into
//! an error class.

use super::wire::{Wire, WireError};
use super::{LoadError, LoadSettings};
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use hyper::{HeaderMap, Method};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// A request as it goes on the wire. Its bytes may hold a secret header: never shown, so no `Debug`.
pub(super) struct Prepared {
    pub origin: usize,
    /// Request line, headers and body.
    pub bytes: Vec<u8>,
    /// A HEAD request's answer has no body, whatever its headers say.
    pub head: bool,
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
    /// The TCP connection could not be opened: refused, unreachable, no route.
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
#[derive(Debug)]
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
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            {
                headers.insert(name, value);
            }
        }
        let path = spec.url.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        requests.push(Prepared {
            origin,
            bytes: serialize(&spec.method, path, &headers, &spec.body),
            head: spec.method == Method::HEAD,
        });
    }
    Ok(Plan { origins: origins.into_iter().map(|(_, o)| o).collect(), requests })
}

/// The request line, the headers and the body, as HTTP/1.1 sends them. A body's length goes in
/// Content-Length unless the user framed it; methods that define a body (POST, PUT, PATCH) say
/// `Content-Length: 0` when they have none, as RFC 9110 asks of a user agent.
fn serialize(method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256 + body.len());
    bytes.extend_from_slice(format!("{method} {path} HTTP/1.1\r\n").as_bytes());
    for (name, value) in headers {
        bytes.extend_from_slice(name.as_str().as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    let framed = headers.contains_key(CONTENT_LENGTH) || headers.contains_key(TRANSFER_ENCODING);
    let defines_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if !framed && (!body.is_empty() || defines_body) {
        bytes.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// A worker's connections, one per origin, opened on first use and again after a failure.
pub(super) struct Connections {
    wires: Vec<Option<Wire>>,
    /// Connections opened (the first per origin included), for the result file.
    pub opened: u64,
}

impl Connections {
    pub fn new(origins: usize) -> Self {
        Connections { wires: (0..origins).map(|_| None).collect(), opened: 0 }
    }

    /// Sends `request` and reads the whole answer, within `timeout` (connecting included).
    pub async fn send(&mut self, plan: &Plan, index: usize, timeout: Duration) -> Answer {
        match tokio::time::timeout(timeout, self.send_unbounded(plan, index)).await {
            Ok(answer) => answer,
            // The connection, which may still carry the late answer, was dropped with the request.
            Err(_) => Answer::Failed {
                class: ErrorClass::Timeout,
                detail: format!("no answer within {}", humantime::format_duration(timeout)),
            },
        }
    }

    async fn send_unbounded(&mut self, plan: &Plan, index: usize) -> Answer {
        let prepared = &plan.requests[index];
        let slot = prepared.origin;
        // A kept connection the server closed while it was idle fails before any answer: the request
        // goes once more on a new connection, as browsers and hyper's pool do. A new one fails for good.
        let mut reused = self.wires[slot].is_some();
        loop {
            // Taken out while in use: a timeout drops it with the request, so it is never reused.
            let mut wire = match self.wires[slot].take() {
                Some(wire) => wire,
                None => match connect(&plan.origins[slot]).await {
                    Ok(wire) => {
                        self.opened += 1;
                        wire
                    }
                    Err(detail) => return Answer::Failed { class: ErrorClass::Connect, detail },
                },
            };
            let failure = match wire.exchange(&prepared.bytes, prepared.head).await {
                Ok(answered) => {
                    if answered.reusable {
                        self.wires[slot] = Some(wire);
                    }
                    return Answer::Response { status: answered.status };
                }
                Err(failure) => failure,
            };
            let (class, detail) = match failure {
                WireError::ClosedBeforeAnswer(_) if reused => {
                    reused = false;
                    continue;
                }
                WireError::ClosedBeforeAnswer(detail) | WireError::Io(detail) => (ErrorClass::Io, detail),
                WireError::Protocol(detail) => (ErrorClass::Protocol, detail),
            };
            return Answer::Failed { class, detail };
        }
    }
}

async fn connect(origin: &Origin) -> Result<Wire, String> {
    let mut last = String::from("no address");
    for addr in &origin.addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Small requests must leave at once, not wait for Nagle's timer.
                let _ = stream.set_nodelay(true);
                return Ok(Wire::new(stream));
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server that answers one request per connection and then closes without saying so, as a
    /// server does when its keep-alive timeout ends; `answer: false` closes without answering at all.
    async fn plan(answer: bool) -> Plan {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                if answer {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
                }
            }
        });
        let bytes = serialize(&Method::GET, "/", &HeaderMap::new(), b"");
        Plan {
            origins: vec![Origin { addrs: vec![addr] }],
            requests: vec![Prepared { origin: 0, bytes, head: false }],
        }
    }

    #[tokio::test]
    async fn a_kept_connection_closed_while_idle_sends_the_request_again_on_a_new_one() {
        let plan = plan(true).await;
        let mut connections = Connections::new(1);
        for _ in 0..3 {
            let answer = connections.send(&plan, 0, Duration::from_secs(5)).await;
            assert!(matches!(answer, Answer::Response { status: 200 }), "{answer:?}");
        }
        assert_eq!(connections.opened, 3);
    }

    #[tokio::test]
    async fn a_new_connection_closed_before_answering_is_an_io_error_not_sent_again() {
        let plan = plan(false).await;
        let mut connections = Connections::new(1);
        let answer = connections.send(&plan, 0, Duration::from_secs(5)).await;
        assert!(matches!(answer, Answer::Failed { class: ErrorClass::Io, .. }), "{answer:?}");
        assert_eq!(connections.opened, 1);
    }

    #[test]
    fn a_body_is_framed_by_its_length_and_a_user_framing_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("example.test"));
        let get = serialize(&Method::GET, "/a?b=1", &headers, b"");
        assert_eq!(get, b"GET /a?b=1 HTTP/1.1\r\nhost: example.test\r\n\r\n");
        let post = serialize(&Method::POST, "/", &headers, b"");
        assert_eq!(post, b"POST / HTTP/1.1\r\nhost: example.test\r\ncontent-length: 0\r\n\r\n");
        let put = serialize(&Method::PUT, "/", &headers, b"{}");
        assert_eq!(put, b"PUT / HTTP/1.1\r\nhost: example.test\r\ncontent-length: 2\r\n\r\n{}");
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        let chunked = serialize(&Method::POST, "/", &headers, b"2\r\n{}\r\n0\r\n\r\n");
        assert!(!String::from_utf8_lossy(&chunked).contains("content-length"));
    }
}
