//! Probes: what the gate checks (HTTP, TCP, container) and one attempt at it, classified as a pass,
//! a wrong answer, still starting, an error (no usable answer) or a fatal state.

use super::answer::{ms, ErrorClass, Verdict};
use super::checks::Expectations;
use super::container;
use crate::secret::Secret;
use bollard::Docker;
use std::sync::Mutex;
use std::time::Duration;
// tokio's clock, the schedule's: an attempt's `at` and latency are on the gate's one timeline.
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// How much of a response body the checks read; health endpoints are small, and a huge page must not
/// make the gate slow or hungry.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// One thing the gate checks.
#[derive(Debug, Clone)]
pub enum Probe {
    Http(Box<HttpProbe>),
    Tcp {
        host: String,
        port: u16,
    },
    /// `name` is what the evidence calls it; `target`, when set, is the container actually inspected
    /// (a deploy's new version, gated under a temporary name before it takes the app's name).
    Container {
        name: String,
        target: Option<String>,
    },
}

impl Probe {
    /// A short name for tables and messages: `GET http://..`, `tcp db:5432`, `container web`.
    pub fn label(&self) -> String {
        match self {
            Probe::Http(http) => format!("GET {}", http.url),
            Probe::Tcp { host, port } => format!("tcp {}", host_port(host, *port)),
            Probe::Container { name, .. } => format!("container {name}"),
        }
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// An HTTP GET and what its answer must look like.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    pub url: reqwest::Url,
    pub expect: Expectations,
    /// Request headers (name, value), already validated.
    pub headers: Vec<(String, String)>,
    /// Request headers whose values are secrets (from `STEPKIT_GATE_HEADERS`, never argv).
    pub secret_headers: Vec<(String, Secret)>,
    /// An answer slower than this is wrong.
    pub max_latency: Option<Duration>,
}

impl HttpProbe {
    /// A probe of `url` with the default checks (status 200-399, nothing else).
    pub fn new(url: reqwest::Url) -> Self {
        HttpProbe {
            url,
            expect: Expectations::default(),
            headers: vec![],
            secret_headers: vec![],
            max_latency: None,
        }
    }
}

/// One attempt of one probe: the evidence row.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The round it belongs to (rounds start every interval); `None` for the container watcher and latency samples.
    pub round: Option<usize>,
    /// When it started, after the gate's start.
    pub at: Duration,
    /// Index into the gate's probes.
    pub probe: usize,
    pub verdict: Verdict,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Time to the full answer (or to the error).
    pub latency: Duration,
}

/// Trust for https:// probes: the system's roots plus `ca_certs`, or none at all when `insecure`.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    pub ca_certs: Vec<reqwest::Certificate>,
    pub insecure: bool,
}

/// The probes plus the clients they need, for the length of one gate.
pub struct Prober {
    pub probes: Vec<Probe>,
    http: reqwest::Client,
    docker: Option<Docker>,
    /// Per probe: the container's restart count when first seen, to catch a crash the daemon already restarted.
    restarts: Mutex<Vec<Option<i64>>>,
}

impl Prober {
    /// Builds the HTTP client; `docker` is needed only for container probes.
    pub fn new(
        probes: Vec<Probe>,
        tls: &TlsSettings,
        docker: Option<Docker>,
    ) -> Result<Self, reqwest::Error> {
        let http = crate::tls::http_client_builder()
            .tls_certs_merge(tls.ca_certs.iter().cloned())
            .tls_danger_accept_invalid_certs(tls.insecure)
            // Fresh connections every attempt: a pooled connection to the previous container would hide the new one.
            .pool_max_idle_per_host(0)
            // A health endpoint that redirects has answered; following it would test another thing.
            .redirect(reqwest::redirect::Policy::none())
            // Gated services are internal (localhost, service names): a CI proxy must not stand in for them.
            .no_proxy()
            .user_agent(concat!("stepkit-gate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let restarts = Mutex::new(vec![None; probes.len()]);
        Ok(Prober { probes, http, docker, restarts })
    }

    /// The Docker client, when there is one.
    pub fn docker(&self) -> Option<&Docker> {
        self.docker.as_ref()
    }

    /// One attempt of probe `index`, bounded by `timeout`. `start` is the gate's start.
    pub async fn attempt(&self, index: usize, timeout: Duration, start: Instant) -> Attempt {
        let at = start.elapsed();
        let began = Instant::now();
        let (verdict, status) = match &self.probes[index] {
            Probe::Http(http) => {
                let (verdict, status) = self.http(http, timeout).await;
                let latency = began.elapsed();
                let verdict = match (verdict, http.max_latency) {
                    (Verdict::Pass, Some(max)) if latency > max => {
                        Verdict::Wrong(format!("answered in {}, over --max-latency {}", ms(latency), ms(max)))
                    }
                    (verdict, _) => verdict,
                };
                (verdict, status)
            }
            Probe::Tcp { host, port } => (tcp(host, *port, timeout).await, None),
            Probe::Container { name, target } => {
                let verdict = match &self.docker {
                    Some(docker) => {
                        let seen = self.restarts.lock().map(|r| r[index]).unwrap_or(None);
                        let at = target.as_deref().unwrap_or(name);
                        let (verdict, restarts) = container::inspect(docker, at, timeout, seen).await;
                        if let (Some(count), Ok(mut all)) = (restarts, self.restarts.lock()) {
                            all[index].get_or_insert(count);
                        }
                        verdict
                    }
                    None => Verdict::Error { class: ErrorClass::Docker, message: "no Docker client".into() },
                };
                (verdict, None)
            }
        };
        Attempt { round: None, at, probe: index, verdict, status, latency: began.elapsed() }
    }

    /// A latency sample: the HTTP checks without `--max-latency` (the samples are judged by their p95).
    pub async fn sample(&self, index: usize, timeout: Duration, start: Instant) -> Attempt {
        let at = start.elapsed();
        let began = Instant::now();
        let (verdict, status) = match &self.probes[index] {
            Probe::Http(http) => self.http(http, timeout).await,
            _ => (
                Verdict::Error { class: ErrorClass::Other, message: "only HTTP probes are sampled".into() },
                None,
            ),
        };
        Attempt { round: None, at, probe: index, verdict, status, latency: began.elapsed() }
    }

    async fn http(&self, probe: &HttpProbe, timeout: Duration) -> (Verdict, Option<u16>) {
        let mut request = self.http.get(probe.url.clone()).timeout(timeout);
        for (name, value) in &probe.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in &probe.secret_headers {
            let mut value = reqwest::header::HeaderValue::from_str(value.expose())
                .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
            value.set_sensitive(true);
            request = request.header(name.as_str(), value);
        }
        let exchange = async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                let room = BODY_LIMIT - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= BODY_LIMIT {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => (timed_out(timeout), None),
            Ok(Err(e)) => (classify_http(&e, timeout), e.status().map(|s| s.as_u16())),
            Ok(Ok((status, body))) => (probe.expect.check_answer(status, &body), Some(status)),
        }
    }
}

fn timed_out(timeout: Duration) -> Verdict {
    Verdict::Error { class: ErrorClass::Timeout, message: format!("no answer within {}", ms(timeout)) }
}

/// Tells refused from DNS from timeout from reset by the error's source chain (reqwest wraps hyper wraps io).
fn classify_http(error: &reqwest::Error, timeout: Duration) -> Verdict {
    let message = chain(error);
    if error.is_timeout() {
        return Verdict::Error {
            class: ErrorClass::Timeout,
            message: format!("no answer within {}: {message}", ms(timeout)),
        };
    }
    let mut class = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            class = class.or(io_class(io));
        }
        if e.to_string().contains("dns error") {
            class = Some(ErrorClass::Dns);
        }
        if is_tls_failure(e) {
            class = Some(ErrorClass::Tls);
        }
        source = e.source();
    }
    let lower = message.to_ascii_lowercase();
    let class = class.unwrap_or(
        if lower.contains("closed before message completed") || lower.contains("incomplete message") {
            ErrorClass::Reset
        } else if error.is_connect() {
            ErrorClass::Connect
        } else if lower.contains("invalid http") || lower.contains("parse") || error.is_decode() {
            ErrorClass::Protocol
        } else {
            ErrorClass::Other
        },
    );
    Verdict::Error { class, message }
}

/// A rustls error, found by type or, once hyper has boxed it into a string-only error, by the texts
/// rustls::Error displays (a certificate problem, an alert from the peer, a non-TLS peer).
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let wrapped = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .is_some_and(|inner| inner.is::<rustls::Error>());
    let text = e.to_string();
    wrapped
        || e.is::<rustls::Error>()
        || [
            "invalid peer certificate",
            "received fatal alert",
            "peer is incompatible",
            "peer misbehaved",
            "corrupt message",
        ]
        .iter()
        .any(|t| text.contains(t))
}

fn io_class(io: &std::io::Error) -> Option<ErrorClass> {
    use std::io::ErrorKind::*;
    match io.kind() {
        ConnectionRefused => Some(ErrorClass::Refused),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => Some(ErrorClass::Reset),
        TimedOut => Some(ErrorClass::Timeout),
        _ => None,
    }
}

/// The error's sources, without repeats (each layer often echoes the one below). reqwest's own top
/// line only repeats the URL, which the probe's label already shows.
fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = if error.source().is_some() { error.source() } else { Some(error) };
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// Connects to HOST:PORT: resolving and connecting are told apart.
async fn tcp(host: &str, port: u16, timeout: Duration) -> Verdict {
    let work = async {
        let addrs: Vec<_> = match tokio::net::lookup_host((host, port)).await {
            Ok(addrs) => addrs.collect(),
            Err(e) => {
                return Verdict::Error { class: ErrorClass::Dns, message: format!("resolve {host}: {e}") }
            }
        };
        if addrs.is_empty() {
            return Verdict::Error {
                class: ErrorClass::Dns,
                message: format!("{host} resolves to no address"),
            };
        }
        match tokio::net::TcpStream::connect(&addrs[..]).await {
            Ok(mut stream) => {
                // A listener that accepts and closes at once (a proxy with no backend) is not healthy.
                let mut byte = [0u8; 1];
                match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut byte)).await {
                    Ok(Ok(0)) => Verdict::Wrong("the connection was closed at once".into()),
                    _ => Verdict::Pass,
                }
            }
            Err(e) => Verdict::Error {
                class: io_class(&e).unwrap_or(ErrorClass::Connect),
                message: format!("connect to {}: {e}", host_port(host, port)),
            },
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(verdict) => verdict,
        Err(_) => timed_out(timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::gate::test_server::{refused_port, serve, Reply};
    use crate::steps::gate::JsonExpect;

    fn http_probe(url: &str) -> HttpProbe {
        HttpProbe::new(reqwest::Url::parse(url).unwrap())
    }

    async fn once(probe: Probe, timeout: Duration) -> Attempt {
        let prober = Prober::new(vec![probe], &TlsSettings::default(), None).unwrap();
        prober.attempt(0, timeout, Instant::now()).await
    }

    #[tokio::test(start_paused = true)]
    async fn http_against_real_local_servers() {
        let healthy = serve(|_| Reply::ok(r#"{"status":"ok","checks":{"db":"up"}}"#)).await;
        let mut probe = http_probe(&format!("{}/health", healthy.url()));
        probe.expect.json = vec![JsonExpect::parse("/checks/db=up").unwrap()];
        probe.expect.body_contains = vec!["\"ok\"".into()];
        let a = once(Probe::Http(Box::new(probe.clone())), Duration::from_secs(5)).await;
        assert_eq!(a.verdict, Verdict::Pass, "{a:?}");
        assert_eq!(a.status, Some(200));

        let broken = serve(|_| Reply::status(500, "database down")).await;
        let a = once(Probe::Http(Box::new(http_probe(&broken.url()))), Duration::from_secs(5)).await;
        assert!(
            matches!(&a.verdict, Verdict::Wrong(m) if m.contains("status 500") && m.contains("database down")),
            "{a:?}"
        );
        assert_eq!(a.status, Some(500));

        let redirect = serve(|_| Reply::status(302, "")).await;
        let a = once(Probe::Http(Box::new(http_probe(&redirect.url()))), Duration::from_secs(5)).await;
        assert_eq!(
            (a.verdict, a.status),
            (Verdict::Pass, Some(302)),
            "3xx passes by default and is not followed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn http_sends_the_given_headers() {
        let echo = serve(|req| {
            if req.head.to_ascii_lowercase().contains("x-probe: gate") {
                Reply::ok("seen")
            } else {
                Reply::status(401, "no header")
            }
        })
        .await;
        let mut probe = http_probe(&echo.url());
        assert!(matches!(
            once(Probe::Http(Box::new(probe.clone())), Duration::from_secs(5)).await.verdict,
            Verdict::Wrong(_)
        ));
        probe.headers = vec![("X-Probe".into(), "gate".into())];
        assert_eq!(
            once(Probe::Http(Box::new(probe.clone())), Duration::from_secs(5)).await.verdict,
            Verdict::Pass
        );
        probe.headers = vec![];
        probe.secret_headers = vec![("X-Probe".into(), Secret::new("gate"))];
        assert_eq!(
            once(Probe::Http(Box::new(probe.clone())), Duration::from_secs(5)).await.verdict,
            Verdict::Pass
        );
        assert!(!format!("{probe:?}").contains("gate"), "secret header values stay out of Debug");
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_told_apart_from_wrong_answers() {
        let port = refused_port().await;
        let a = once(
            Probe::Http(Box::new(http_probe(&format!("http://127.0.0.1:{port}/")))),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(a.verdict.class(), Some(ErrorClass::Refused), "{a:?}");
        assert_eq!(a.status, None);
        let a = once(Probe::Tcp { host: "127.0.0.1".into(), port }, Duration::from_secs(5)).await;
        assert_eq!(a.verdict.class(), Some(ErrorClass::Refused), "{a:?}");

        // A name with an empty label: the resolver refuses it without sending a query (tests stay on loopback).
        let a =
            once(Probe::Http(Box::new(http_probe("http://gate-probe..invalid/"))), Duration::from_secs(5))
                .await;
        assert_eq!(a.verdict.class(), Some(ErrorClass::Dns), "{a:?}");
        let a =
            once(Probe::Tcp { host: "gate-probe..invalid".into(), port: 80 }, Duration::from_secs(5)).await;
        assert_eq!(a.verdict.class(), Some(ErrorClass::Dns), "{a:?}");

        let slow = serve(|_| Reply::ok("late").after(Duration::from_secs(5))).await;
        let a = once(Probe::Http(Box::new(http_probe(&slow.url()))), Duration::from_millis(200)).await;
        assert_eq!(a.verdict.class(), Some(ErrorClass::Timeout), "{a:?}");
        // On paused time the timeout is exact.
        assert_eq!(a.latency, Duration::from_millis(200));
        assert!(a.verdict.detail().is_some_and(|m| m.starts_with("no answer within 200 ms")), "{a:?}");

        let hangup = serve(|_| Reply::hang_up()).await;
        let a = once(Probe::Http(Box::new(http_probe(&hangup.url()))), Duration::from_secs(5)).await;
        assert_eq!(a.verdict.class(), Some(ErrorClass::Reset), "{a:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_is_wrong_under_max_latency() {
        let slow = serve(|_| Reply::ok("fine").after(Duration::from_millis(300))).await;
        let mut probe = http_probe(&slow.url());
        probe.max_latency = Some(Duration::from_millis(20));
        let a = once(Probe::Http(Box::new(probe)), Duration::from_secs(5)).await;
        assert!(matches!(&a.verdict, Verdict::Wrong(m) if m.contains("--max-latency")), "{a:?}");
        assert_eq!(a.status, Some(200));
        // On paused time the latency is exactly the server's delay.
        assert_eq!(a.latency, Duration::from_millis(300));
        assert_eq!(a.verdict, Verdict::Wrong("answered in 300 ms, over --max-latency 20 ms".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn tcp_passes_on_a_listening_port() {
        let server = serve(|_| Reply::ok("")).await;
        let a =
            once(Probe::Tcp { host: "127.0.0.1".into(), port: server.addr.port() }, Duration::from_secs(5))
                .await;
        assert_eq!(a.verdict, Verdict::Pass, "{a:?}");
        let a =
            once(Probe::Tcp { host: "localhost".into(), port: server.addr.port() }, Duration::from_secs(5))
                .await;
        assert_eq!(a.verdict, Verdict::Pass, "{a:?}");
    }

    #[test]
    fn labels() {
        assert_eq!(Probe::Tcp { host: "::1".into(), port: 80 }.label(), "tcp [::1]:80");
        assert_eq!(Probe::Container { name: "web".into(), target: None }.label(), "container web");
    }
}
