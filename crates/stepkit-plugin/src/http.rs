//! HTTP through the host's `http-request` import: only hosts granted with `--allow-host` answer.

use crate::bindings::stepkit::check::host;
use crate::{CheckError, HttpError, HttpRequest, HttpResponse};

/// A request under construction; [`Request::send`] hands it to the host.
pub struct Request {
    inner: HttpRequest,
}

impl Request {
    /// Any method (`GET`, `HEAD`, `POST`, ...) to an `http://` or `https://` URL.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Request {
            inner: HttpRequest {
                method: method.into(),
                url: url.into(),
                headers: Vec::new(),
                body: None,
                timeout_ms: None,
            },
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// Add a header (repeatable).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// Set the request body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = Some(body.into());
        self
    }

    /// Limit this request; the plugin's CPU deadline bounds it anyway.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.inner.timeout_ms = Some(ms);
        self
    }

    /// Send it and wait for the whole response.
    pub fn send(&self) -> Result<HttpResponse, HttpError> {
        host::http_request(&self.inner)
    }
}

/// `GET url` with no headers.
pub fn get(url: &str) -> Result<HttpResponse, HttpError> {
    Request::get(url).send()
}

impl HttpResponse {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One line describing an HTTP failure, naming the variant (`denied: example.com`).
pub fn describe(error: &HttpError) -> String {
    match error {
        HttpError::Denied(why) => format!("denied: {why}"),
        HttpError::InvalidRequest(why) => format!("invalid request: {why}"),
        HttpError::Timeout => "timeout".to_string(),
        HttpError::Connection(why) => format!("connection: {why}"),
        HttpError::TooLarge => "too large: the response exceeded the host's limit".to_string(),
    }
}

impl From<HttpError> for CheckError {
    fn from(error: HttpError) -> Self {
        CheckError::Other(format!("http: {}", describe(&error)))
    }
}
