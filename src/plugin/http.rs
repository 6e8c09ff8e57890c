//! `host.http-request`: reqwest, only to granted hosts (redirects included) and, for a granted name, only
//! to the addresses it may lead to; a bounded body; the `Host` header is the URL's.

use super::bindings::stepkit::check::host::{HttpError, HttpResponse, Request as HttpRequest};
use super::grants::{check_parsed, check_url, name_may_reach, HostGrant, UrlDenied};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most redirects followed (all of them must stay within the grants).
const MAX_REDIRECTS: usize = 5;

/// Sends the plugin's requests. Lives in the store; blocks the plugin's thread on the runtime.
pub struct Fetcher {
    hosts: Arc<Vec<HostGrant>>,
    runtime: Option<tokio::runtime::Handle>,
    client: Option<reqwest::Client>,
    resolver: Arc<GuardedResolver>,
}

impl Fetcher {
    /// `runtime` is the async runtime requests run on (None: every request fails as a connection error).
    pub fn new(hosts: Vec<HostGrant>, runtime: Option<tokio::runtime::Handle>) -> Self {
        Fetcher {
            hosts: Arc::new(hosts),
            runtime,
            client: None,
            resolver: Arc::new(GuardedResolver::default()),
        }
    }

    /// Sends `request` if its host is granted, waiting at most `left` (what remains of the plugin's deadline).
    pub fn fetch(
        &mut self,
        request: HttpRequest,
        left: Duration,
        max_body: usize,
    ) -> Result<HttpResponse, HttpError> {
        let url = check_url(&self.hosts, &request.url).map_err(denied)?;
        let method = reqwest::Method::from_bytes(request.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("`{}` is not an HTTP method", request.method)))?;
        let timeout = match request.timeout_ms {
            Some(ms) => left.min(Duration::from_millis(ms.into())),
            None => left,
        };
        if timeout.is_zero() {
            return Err(HttpError::Timeout);
        }
        let runtime =
            self.runtime.clone().ok_or_else(|| HttpError::Connection("no async runtime for HTTP".into()))?;
        let client = self.client()?;
        let mut builder = client.request(method, url).timeout(timeout);
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("`{name}` is not a header name")))?;
            // The grant was checked against the URL's host; another Host header would send the request
            // to a different virtual host (or through a proxy, to a different site) than the one granted.
            if name == reqwest::header::HOST {
                return Err(HttpError::InvalidRequest(
                    "the Host header comes from the URL; a plugin may not set it".into(),
                ));
            }
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                HttpError::InvalidRequest(format!("the value of {name} is not a header value"))
            })?;
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let started = Instant::now();
        let result = runtime.block_on(async move {
            // The whole exchange, body included, must fit in the time left.
            tokio::time::timeout(timeout, async {
                let mut response = builder.send().await?;
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())
                    })
                    .collect::<Vec<_>>();
                if response.content_length().is_some_and(|n| n > max_body as u64) {
                    return Ok(Err(HttpError::TooLarge));
                }
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await? {
                    if body.len() + chunk.len() > max_body {
                        return Ok(Err(HttpError::TooLarge));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok::<_, reqwest::Error>(Ok((status, headers, body)))
            })
            .await
        });
        let (status, headers, body) = match result {
            Err(_) => return Err(HttpError::Timeout),
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(answer)) => answer?,
        };
        let elapsed_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        Ok(HttpResponse { status, headers, body, elapsed_ms })
    }

    fn client(&mut self) -> Result<reqwest::Client, HttpError> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let hosts = self.hosts.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match check_parsed(&hosts, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(reason) => attempt.error(RedirectDenied(match reason {
                    UrlDenied::Host(h) => h,
                    UrlDenied::Invalid(m) => m,
                })),
            }
        });
        // No proxy from the environment: a granted host must be reached directly, not via whatever HTTP_PROXY says.
        let client = crate::tls::http_client_builder()
            .redirect(policy)
            .dns_resolver(self.resolver.clone())
            .no_proxy()
            .build()
            .map_err(|e| HttpError::Connection(format!("set up the HTTP client: {e}")))?;
        self.client = Some(client.clone());
        Ok(client)
    }
}

/// Resolves the names of granted hosts and keeps only the addresses a name may lead to
/// ([`name_may_reach`]): a granted name that resolves to 127.0.0.1 or 169.254.169.254 is refused.
/// IP literals never get here (the connector does not resolve them), so granting an address works.
#[derive(Default)]
struct GuardedResolver {
    /// Fixed answers for names, used instead of the system resolver (tests: a name that leads to loopback).
    fixed: HashMap<String, Vec<IpAddr>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let fixed = self.fixed.get(&host).cloned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = match fixed {
                Some(ips) => ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
                None => match tokio::net::lookup_host((host.as_str(), 0)).await {
                    Ok(found) => found.collect(),
                    Err(e) => return Err(Box::new(e) as BoxError),
                },
            };
            let allowed: Vec<SocketAddr> =
                all.iter().copied().filter(|a| name_may_reach(&host, a.ip())).collect();
            match (allowed.is_empty(), all.first()) {
                (true, Some(first)) => Err(Box::new(AddressDenied { host, ip: first.ip() }) as BoxError),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A granted name resolved only to addresses it may not lead to.
#[derive(Debug)]
struct AddressDenied {
    host: String,
    ip: IpAddr,
}

impl std::fmt::Display for AddressDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves to {}, a loopback, link-local or otherwise local address that a granted name may not lead to; \
             grant the address itself (--allow-host {}) or, for this machine, --allow-host localhost",
            self.host,
            self.ip,
            if self.ip.is_ipv6() { format!("[{}]", self.ip) } else { self.ip.to_string() }
        )
    }
}

impl std::error::Error for AddressDenied {}

/// A redirect left the grants.
#[derive(Debug)]
struct RedirectDenied(String);

impl std::fmt::Display for RedirectDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to {} is not granted", self.0)
    }
}

impl std::error::Error for RedirectDenied {}

fn denied(reason: UrlDenied) -> HttpError {
    match reason {
        UrlDenied::Host(host) => {
            HttpError::Denied(format!("{host} is not granted; the plugin needs --allow-host for it"))
        }
        UrlDenied::Invalid(message) => HttpError::InvalidRequest(message),
    }
}

fn classify(error: &reqwest::Error) -> HttpError {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(RedirectDenied(host)) = e.downcast_ref::<RedirectDenied>() {
            return HttpError::Denied(format!("a redirect to {host} left the granted hosts"));
        }
        if let Some(denied) = e.downcast_ref::<AddressDenied>() {
            return HttpError::Denied(denied.to_string());
        }
        source = e.source();
    }
    if error.is_timeout() {
        HttpError::Timeout
    } else if error.is_builder() {
        HttpError::InvalidRequest(error.to_string())
    } else {
        HttpError::Connection(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Answers one connection with `response` (or holds it open, silent, when None).
    fn serve_once(response: Option<String>) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            match response {
                Some(text) => {
                    let _ = stream.write_all(text.as_bytes());
                }
                None => std::thread::sleep(Duration::from_secs(5)),
            }
        });
        port
    }

    fn get(port: u16) -> HttpRequest {
        HttpRequest {
            method: "get".into(),
            url: format!("http://127.0.0.1:{port}/"),
            headers: vec![],
            body: None,
            timeout_ms: None,
        }
    }

    fn fetcher(runtime: &tokio::runtime::Runtime) -> Fetcher {
        Fetcher::new(vec![HostGrant::parse("127.0.0.1").unwrap()], Some(runtime.handle().clone()))
    }

    #[test]
    fn bodies_over_the_limit_are_refused() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let body = "x".repeat(100);
        let port = serve_once(Some(format!(
            "HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{body}"
        )));
        assert!(matches!(
            fetcher(&runtime).fetch(get(port), Duration::from_secs(5), 10),
            Err(HttpError::TooLarge)
        ));
        // Without a length the stream is cut as soon as it passes the limit.
        let port = serve_once(Some(format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{body}")));
        assert!(matches!(
            fetcher(&runtime).fetch(get(port), Duration::from_secs(5), 10),
            Err(HttpError::TooLarge)
        ));
        let port = serve_once(Some(format!(
            "HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{body}"
        )));
        let response = fetcher(&runtime).fetch(get(port), Duration::from_secs(5), 100).unwrap();
        assert_eq!((response.status, response.body.len()), (200, 100));
    }

    #[test]
    fn the_time_left_bounds_a_silent_server() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let port = serve_once(None);
        let started = Instant::now();
        assert!(matches!(
            fetcher(&runtime).fetch(get(port), Duration::from_millis(300), 100),
            Err(HttpError::Timeout)
        ));
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(matches!(fetcher(&runtime).fetch(get(port), Duration::ZERO, 100), Err(HttpError::Timeout)));
    }

    /// A server that counts the connections it accepts and answers each with 200 and the Host it was sent.
    fn counting_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                let host = request.lines().find_map(|l| l.strip_prefix("host: ")).unwrap_or("").to_string();
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{host}",
                        host.len()
                    )
                    .as_bytes(),
                );
            }
        });
        (port, accepted)
    }

    fn fetcher_for(grant: &str, fixed: &[(&str, &str)], runtime: &tokio::runtime::Runtime) -> Fetcher {
        let mut f = Fetcher::new(vec![HostGrant::parse(grant).unwrap()], Some(runtime.handle().clone()));
        let fixed = fixed.iter().map(|(name, ip)| (name.to_string(), vec![ip.parse().unwrap()])).collect();
        f.resolver = Arc::new(GuardedResolver { fixed });
        f
    }

    fn get_url(url: String) -> HttpRequest {
        HttpRequest { method: "GET".into(), url, headers: vec![], body: None, timeout_ms: None }
    }

    #[test]
    fn a_granted_name_that_resolves_to_loopback_is_refused_before_connecting() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (port, accepted) = counting_server();
        // `internal.example` is granted and resolves to the local server: refused, no connection made.
        let mut f = fetcher_for("internal.example", &[("internal.example", "127.0.0.1")], &runtime);
        match f.fetch(get_url(format!("http://internal.example:{port}/")), Duration::from_secs(5), 100) {
            Err(HttpError::Denied(why)) => assert!(
                why.contains("internal.example resolves to 127.0.0.1") && why.contains("--allow-host"),
                "{why}"
            ),
            other => panic!("expected a denial, got {other:?}"),
        }
        // The metadata service by name: refused too.
        let mut f = fetcher_for("metadata.example", &[("metadata.example", "169.254.169.254")], &runtime);
        assert!(matches!(
            f.fetch(get_url(format!("http://metadata.example:{port}/")), Duration::from_secs(2), 100),
            Err(HttpError::Denied(_))
        ));
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);

        // The address itself, or `localhost` by its exact name (the system resolver), reach it.
        let mut f = fetcher_for(&format!("127.0.0.1:{port}"), &[], &runtime);
        assert_eq!(
            f.fetch(get_url(format!("http://127.0.0.1:{port}/")), Duration::from_secs(5), 100)
                .unwrap()
                .status,
            200
        );
        let mut f = fetcher_for("localhost", &[], &runtime);
        assert_eq!(
            f.fetch(get_url(format!("http://localhost:{port}/")), Duration::from_secs(5), 100)
                .unwrap()
                .status,
            200
        );
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn a_plugin_cannot_set_the_host_header() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (port, accepted) = counting_server();
        let mut f = fetcher_for(&format!("127.0.0.1:{port}"), &[], &runtime);
        for name in ["Host", "host", "HOST"] {
            let mut request = get_url(format!("http://127.0.0.1:{port}/"));
            request.headers = vec![(name.into(), "api.example.com".into())];
            match f.fetch(request, Duration::from_secs(5), 100) {
                Err(HttpError::InvalidRequest(why)) => assert!(why.contains("Host header"), "{why}"),
                other => panic!("expected the Host header to be refused, got {other:?}"),
            }
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
        // Without one, the server sees the URL's host.
        let response =
            f.fetch(get_url(format!("http://127.0.0.1:{port}/")), Duration::from_secs(5), 100).unwrap();
        assert_eq!(String::from_utf8_lossy(&response.body), format!("127.0.0.1:{port}"));
    }

    #[test]
    fn ungranted_hosts_and_bad_methods_never_leave_the_host() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut request = get(1);
        request.url = "http://localhost:1/".into();
        assert!(matches!(
            fetcher(&runtime).fetch(request, Duration::from_secs(1), 10),
            Err(HttpError::Denied(_))
        ));
        let mut request = get(1);
        request.method = "GE T".into();
        assert!(matches!(
            fetcher(&runtime).fetch(request, Duration::from_secs(1), 10),
            Err(HttpError::InvalidRequest(_))
        ));
    }
}
