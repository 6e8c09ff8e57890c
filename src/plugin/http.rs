//! `host.http-request`: reqwest, only to granted hosts (redirects included), with a bounded body.

use super::bindings::stepkit::check::host::{HttpError, HttpResponse, Request as HttpRequest};
use super::grants::{check_parsed, check_url, HostGrant, UrlDenied};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most redirects followed (all of them must stay within the grants).
const MAX_REDIRECTS: usize = 5;

/// Sends the plugin's requests. Lives in the store; blocks the plugin's thread on the runtime.
pub struct Fetcher {
    hosts: Arc<Vec<HostGrant>>,
    runtime: Option<tokio::runtime::Handle>,
    client: Option<reqwest::Client>,
}

impl Fetcher {
    /// `runtime` is the async runtime requests run on (None: every request fails as a connection error).
    pub fn new(hosts: Vec<HostGrant>, runtime: Option<tokio::runtime::Handle>) -> Self {
        Fetcher { hosts: Arc::new(hosts), runtime, client: None }
    }

    /// Sends `request` if its host is granted, waiting at most `left` (what remains of the plugin's deadline).
    pub fn fetch(&mut self, request: HttpRequest, left: Duration, max_body: usize) -> Result<HttpResponse, HttpError> {
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
        let runtime = self.runtime.clone().ok_or_else(|| HttpError::Connection("no async runtime for HTTP".into()))?;
        let client = self.client()?;
        let mut builder = client.request(method, url).timeout(timeout);
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| HttpError::InvalidRequest(format!("`{name}` is not a header name")))?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| HttpError::InvalidRequest(format!("the value of {name} is not a header value")))?;
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
                    .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
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
            .no_proxy()
            .build()
            .map_err(|e| HttpError::Connection(format!("set up the HTTP client: {e}")))?;
        self.client = Some(client.clone());
        Ok(client)
    }
}

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
        UrlDenied::Host(host) => HttpError::Denied(format!("{host} is not granted; the plugin needs --allow-host for it")),
        UrlDenied::Invalid(message) => HttpError::InvalidRequest(message),
    }
}

fn classify(error: &reqwest::Error) -> HttpError {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(RedirectDenied(host)) = e.downcast_ref::<RedirectDenied>() {
            return HttpError::Denied(format!("a redirect to {host} left the granted hosts"));
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
        HttpRequest { method: "get".into(), url: format!("http://127.0.0.1:{port}/"), headers: vec![], body: None, timeout_ms: None }
    }

    fn fetcher(runtime: &tokio::runtime::Runtime) -> Fetcher {
        Fetcher::new(vec![HostGrant::parse("127.0.0.1").unwrap()], Some(runtime.handle().clone()))
    }

    #[test]
    fn bodies_over_the_limit_are_refused() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let body = "x".repeat(100);
        let port = serve_once(Some(format!("HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{body}")));
        assert!(matches!(fetcher(&runtime).fetch(get(port), Duration::from_secs(5), 10), Err(HttpError::TooLarge)));
        // Without a length the stream is cut as soon as it passes the limit.
        let port = serve_once(Some(format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{body}")));
        assert!(matches!(fetcher(&runtime).fetch(get(port), Duration::from_secs(5), 10), Err(HttpError::TooLarge)));
        let port = serve_once(Some(format!("HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{body}")));
        let response = fetcher(&runtime).fetch(get(port), Duration::from_secs(5), 100).unwrap();
        assert_eq!((response.status, response.body.len()), (200, 100));
    }

    #[test]
    fn the_time_left_bounds_a_silent_server() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let port = serve_once(None);
        let started = Instant::now();
        assert!(matches!(fetcher(&runtime).fetch(get(port), Duration::from_millis(300), 100), Err(HttpError::Timeout)));
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(matches!(fetcher(&runtime).fetch(get(port), Duration::ZERO, 100), Err(HttpError::Timeout)));
    }

    #[test]
    fn ungranted_hosts_and_bad_methods_never_leave_the_host() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut request = get(1);
        request.url = "http://localhost:1/".into();
        assert!(matches!(fetcher(&runtime).fetch(request, Duration::from_secs(1), 10), Err(HttpError::Denied(_))));
        let mut request = get(1);
        request.method = "GE T".into();
        assert!(matches!(fetcher(&runtime).fetch(request, Duration::from_secs(1), 10), Err(HttpError::InvalidRequest(_))));
    }
}
