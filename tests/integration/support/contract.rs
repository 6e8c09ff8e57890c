//! The one loopback HTTP contract server: wiremock, with routes answered by scripts (in order, the
//! last repeated), every request recorded. It stands in for the SaaS APIs a user cannot run (Slack,
//! the GitHub API) and for the plain endpoints a step probes; failures are scripted the way the
//! documented contracts describe them (429 + Retry-After, 5xx then success).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use wiremock::matchers::{any, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

/// A running contract server on 127.0.0.1; its listener is bound until it is dropped.
pub struct Contract {
    server: MockServer,
}

impl Contract {
    pub async fn start() -> Self {
        Contract { server: MockServer::start().await }
    }

    /// For a `#[test]` without a runtime: wiremock serves on a thread of its own either way.
    pub fn start_blocking() -> Self {
        block_on(Self::start())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn port(&self) -> u16 {
        self.server.address().port()
    }

    /// Answers `METHOD path` with `answers`; see `on` for the patterns.
    pub async fn route(&self, verb: &str, at: &str, answers: impl Respond + 'static) {
        self.on(verb, at).answer(answers).await
    }

    /// A route to declare: `METHOD` or `*` for any, and an exact path, `*` for any, or a regex
    /// starting with `^`. First declared, first matched.
    pub fn on(&self, verb: &str, at: &str) -> Route<'_> {
        let mock = match verb {
            "*" => Mock::given(any()),
            verb => Mock::given(method(verb)),
        };
        let mock = match at {
            "*" => mock,
            at if at.starts_with('^') => mock.and(path_regex(at)),
            at => mock.and(path(at)),
        };
        Route { server: &self.server, mock, times: None }
    }

    pub fn route_blocking(&self, verb: &str, at: &str, answers: impl Respond + 'static) {
        self.on(verb, at).answer_blocking(answers)
    }

    /// Every request received so far, in order.
    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.expect("request recording is on")
    }

    pub fn requests_blocking(&self) -> Vec<Request> {
        block_on(self.requests())
    }
}

/// A route being declared on a `Contract`.
pub struct Route<'a> {
    server: &'a MockServer,
    mock: MockBuilder,
    times: Option<u64>,
}

impl Route<'_> {
    /// Only requests with this query parameter.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.mock = self.mock.and(query_param(key, value));
        self
    }

    /// Only requests with this header value.
    pub fn header(mut self, key: &str, value: &str) -> Self {
        self.mock = self.mock.and(header(key, value));
        self
    }

    /// The route must be called exactly `n` times: checked when the server is dropped, so a test
    /// whose step calls too often or too rarely fails.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    pub async fn answer(self, answers: impl Respond + 'static) {
        let mut mock = self.mock.respond_with(answers);
        if let Some(n) = self.times {
            mock = mock.expect(n);
        }
        mock.mount(self.server).await
    }

    pub fn answer_blocking(self, answers: impl Respond + 'static) {
        block_on(self.answer(answers))
    }
}

fn block_on<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(work)
}

/// Answers in order, one per request; the last one answers every request after it.
pub struct Script {
    answers: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let at = self.next.fetch_add(1, Ordering::SeqCst).min(self.answers.len() - 1);
        self.answers[at].clone()
    }
}

/// The answers given in order, the last repeated.
pub fn script(answers: impl IntoIterator<Item = ResponseTemplate>) -> Script {
    let answers: Vec<_> = answers.into_iter().collect();
    assert!(!answers.is_empty(), "a script answers at least once");
    Script { answers, next: AtomicUsize::new(0) }
}

/// `failures` answers of `failure`, then `success` for ever: the retry contract.
pub fn failing_then(failures: usize, failure: ResponseTemplate, success: ResponseTemplate) -> Script {
    script(std::iter::repeat_n(failure, failures).chain([success]))
}

/// An answer of `status` with a text body.
pub fn text(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_string(body)
}

/// 429 Too Many Requests with `Retry-After: seconds`, as Slack and GitHub send it.
pub fn rate_limited(seconds: u64) -> ResponseTemplate {
    ResponseTemplate::new(429).insert_header("retry-after", seconds.to_string())
}

/// Answers `before` until the flag is set, then `after`: a service that becomes healthy when the
/// test says so.
pub struct Switch {
    pub flag: Arc<AtomicBool>,
    before: ResponseTemplate,
    after: ResponseTemplate,
}

pub fn switch(before: ResponseTemplate, after: ResponseTemplate) -> (Switch, Arc<AtomicBool>) {
    let flag = Arc::new(AtomicBool::new(false));
    (Switch { flag: flag.clone(), before, after }, flag)
}

impl Respond for Switch {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.flag.load(Ordering::SeqCst) {
            self.after.clone()
        } else {
            self.before.clone()
        }
    }
}

#[test]
fn a_script_answers_in_order_and_repeats_its_last_answer() {
    let server = Contract::start_blocking();
    server.route_blocking("GET", "/x", failing_then(2, rate_limited(7), text(200, "ok")));
    let get = || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let answers: Vec<String> = (0..4).map(|_| get()).collect();
    assert!(answers[0].starts_with("HTTP/1.1 429") && answers[0].contains("retry-after: 7"), "{answers:?}");
    assert!(answers[1].starts_with("HTTP/1.1 429"), "{answers:?}");
    assert!(answers[2].starts_with("HTTP/1.1 200") && answers[3].ends_with("ok"), "{answers:?}");
    assert_eq!(server.requests_blocking().len(), 4);
}

#[test]
#[should_panic(expected = "did not receive any request")]
fn a_route_called_fewer_times_than_declared_fails_the_test() {
    let server = Contract::start_blocking();
    server.on("GET", "/x").times(1).answer_blocking(text(200, "ok"));
    drop(server);
}
