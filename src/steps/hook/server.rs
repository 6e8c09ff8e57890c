//! The HTTP side: hyper's HTTP/1 server under axum routes. Each connection has a header-read
//! timeout (slowloris), each body a size limit checked before reading and a read timeout; the
//! signature is verified over the raw body before anything parses it; then the delivery is logged
//! and its jobs queued in one store transaction (grouped with whatever else arrived meanwhile, see
//! `writer`), and the answer goes out once that is committed, before any job runs.

use super::event::{self, Unusable};
use super::rules::{self, Rule};
use super::store::{Accepted, DeliveryRecord, NewJob};
use super::verify::{self, Provider};
use super::writer::StoreHandle;
use super::Limits;
use crate::secret::Secret;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify, Semaphore};

/// How a target's queue takes new jobs.
#[derive(Debug, Clone)]
pub struct QueuePolicy {
    pub coalesce: bool,
    pub queue_limit: usize,
}

/// What the request handlers share.
pub struct App {
    pub secret: Secret,
    pub rules: Vec<Rule>,
    pub queues: BTreeMap<String, QueuePolicy>,
    pub store: StoreHandle,
    /// Wakes the target's worker when a job was queued.
    pub wake: BTreeMap<String, Arc<Notify>>,
    pub limits: Limits,
    pub log: mpsc::UnboundedSender<String>,
}

#[derive(Clone, Copy)]
struct Remote(SocketAddr);

/// The routes: `POST /hook` takes deliveries, `GET /healthz` answers `ok`.
pub fn router(app: Arc<App>) -> Router {
    Router::new().route("/hook", post(receive)).route("/healthz", get(|| async { "ok\n" })).with_state(app)
}

/// Accepts connections until `shutdown` turns true.
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => { tokio::time::sleep(std::time::Duration::from_millis(50)).await; continue }
            },
            _ = shutdown.changed() => return,
        };
        // Past the connection bound a client is dropped at once rather than queued unread.
        let Ok(permit) = connections.clone().try_acquire_owned() else { continue };
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(Remote(remote));
                    tower::ServiceExt::oneshot(router.clone(), request.map(Body::new))
                });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            match tls {
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
                Some(acceptor) => {
                    // The handshake gets the header timeout too, or a silent client holds a slot forever.
                    let handshake =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await;
                    if let Ok(Ok(stream)) = handshake {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            }
        });
    }
}

/// An answer: the status and a one-line JSON body.
/// The body of a 2xx answer: the delivery logged and the jobs it queued and superseded. Fields in
/// alphabetical order, as the answer has always had them.
#[derive(serde::Serialize)]
struct Queued {
    delivery: i64,
    jobs: Vec<i64>,
    superseded: Vec<i64>,
    verdict: String,
}

/// The body of a refusal: why.
#[derive(serde::Serialize)]
struct Refused {
    error: String,
}

fn answer(status: StatusCode, body: &impl serde::Serialize) -> Response {
    // Plain structs of numbers and strings: serializing them cannot fail.
    let body = serde_json::to_string(body).unwrap_or_default();
    let mut response =
        (status, [(header::CONTENT_TYPE, "application/json")], format!("{body}\n")).into_response();
    if status.is_client_error() || status.is_server_error() {
        // The rest of a refused body stays unread: close rather than reuse the connection.
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

/// The headers as logged: the GitLab token and anything credential-like replaced.
fn logged_headers(headers: &HeaderMap) -> String {
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str();
            let value =
                if matches!(name, "x-gitlab-token" | "authorization" | "cookie" | "proxy-authorization") {
                    "***".to_string()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).chars().take(512).collect()
                };
            (name.to_string(), serde_json::Value::String(value))
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

async fn receive(
    State(app): State<Arc<App>>,
    Extension(Remote(remote)): Extension<Remote>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let provider = Provider::detect(&parts.headers);
    let mut record = DeliveryRecord {
        provider: provider.map(|p| p.name().to_string()),
        event: provider.map(|p| p.event_header(&parts.headers)).unwrap_or_default(),
        delivery_id: provider.and_then(|p| p.delivery_id(&parts.headers)),
        remote: remote.to_string(),
        headers: logged_headers(&parts.headers),
        ..DeliveryRecord::default()
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.limits.max_body as u64) {
        return refuse(
            &app,
            record,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "refused: body of {} bytes is over the {}-byte limit (not read)",
                declared.unwrap_or(0),
                app.limits.max_body
            ),
        )
        .await;
    }
    let limited = http_body_util::Limited::new(body, app.limits.max_body);
    let body = match tokio::time::timeout(app.limits.body_timeout, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            let verdict = format!("refused: body over the {}-byte limit (cut off)", app.limits.max_body);
            return refuse(&app, record, StatusCode::PAYLOAD_TOO_LARGE, verdict).await;
        }
        Ok(Err(e)) => {
            return refuse(&app, record, StatusCode::BAD_REQUEST, format!("refused: body unreadable: {e}"))
                .await
        }
        Err(_) => {
            let verdict = format!("refused: body not received within {:?}", app.limits.body_timeout);
            return refuse(&app, record, StatusCode::REQUEST_TIMEOUT, verdict).await;
        }
    };
    let provider = match verify::verify(&parts.headers, &body, &app.secret) {
        Ok(provider) => provider,
        Err(refused) => {
            return refuse(&app, record, StatusCode::UNAUTHORIZED, refused.verdict().to_string()).await
        }
    };
    // Verified: only now is the body parsed, and only now is it worth keeping.
    record.body_sha256 = Some(hex::encode(Sha256::digest(&body)));
    let parsed = event::parse(provider, &record.event, &body);
    record.body = Some(body.to_vec());
    match parsed {
        Ok(event) => {
            let matched = rules::matching(&app.rules, &event);
            let jobs: Vec<NewJob> = matched.iter().map(|rule| new_job(app.as_ref(), rule, &event)).collect();
            record.status = if jobs.is_empty() { 200 } else { 202 };
            record.verdict = if jobs.is_empty() {
                format!(
                    "accepted: no rule matches {} {} in {}",
                    event.kind.name(),
                    event.git_ref,
                    event.repository
                )
            } else {
                let names: Vec<&str> = matched.iter().map(|r| r.name.as_str()).collect();
                format!("accepted: {} {} matches {}", event.kind.name(), event.git_ref, names.join(", "))
            };
            store_accepted(&app, record, jobs).await
        }
        Err(Unusable::Ignored(why)) => {
            record.status = 200;
            record.verdict = format!("accepted: nothing to run ({why})");
            store_accepted(&app, record, Vec::new()).await
        }
        Err(Unusable::Malformed(why)) => {
            record.body = None;
            refuse(&app, record, StatusCode::BAD_REQUEST, format!("refused: {why}")).await
        }
    }
}

/// The job a matching rule queues for an event.
pub fn new_job(queues: &impl QueueLookup, rule: &Rule, event: &event::Event) -> NewJob {
    let policy = queues.queue(&rule.target);
    NewJob {
        rule: rule.name.clone(),
        target: rule.target.clone(),
        repository: event.repository.clone(),
        event: event.kind.name().to_string(),
        git_ref: event.git_ref.clone(),
        sha: event.sha.clone(),
        clone: rule.clone.clone(),
        steps: rule.steps.clone(),
        report: rule.report.clone(),
        coalesce: policy.coalesce,
        queue_limit: policy.queue_limit,
    }
}

/// Where a target's queue policy is found (the server's App, or replay's settings).
pub trait QueueLookup {
    fn queue(&self, target: &str) -> QueuePolicy;
}

impl QueueLookup for App {
    fn queue(&self, target: &str) -> QueuePolicy {
        self.queues.get(target).cloned().unwrap_or(super::DEFAULT_QUEUE)
    }
}

impl QueueLookup for BTreeMap<String, QueuePolicy> {
    fn queue(&self, target: &str) -> QueuePolicy {
        self.get(target).cloned().unwrap_or(super::DEFAULT_QUEUE)
    }
}

async fn store_accepted(app: &Arc<App>, record: DeliveryRecord, jobs: Vec<NewJob>) -> Response {
    let targets: Vec<String> = jobs.iter().map(|j| j.target.clone()).collect();
    let (status, verdict) = (record.status, record.verdict.clone());
    // Answered only once committed: a 2xx means the delivery and its jobs survive a restart.
    let outcome = app.store.call(move |store| store.accept(&record, &jobs)).await;
    match outcome {
        Ok(Accepted::Queued { delivery, jobs, superseded }) => {
            for target in &targets {
                if let Some(wake) = app.wake.get(target) {
                    wake.notify_one();
                }
            }
            let coalesced = if superseded.is_empty() {
                String::new()
            } else {
                format!("; superseded queued jobs {superseded:?}")
            };
            let _ = app.log.send(format!("hook: delivery {delivery} {verdict}; jobs {jobs:?}{coalesced}"));
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED);
            answer(code, &Queued { delivery, jobs, superseded, verdict })
        }
        Ok(Accepted::Replay(first)) => {
            let _ = app.log.send(format!("hook: refused a replay of delivery {first}"));
            answer(StatusCode::CONFLICT, &Refused { error: format!("replay of delivery {first}") })
        }
        Ok(Accepted::QueueFull(target)) => {
            let _ = app.log.send(format!("hook: refused a delivery: the queue of target {target} is full"));
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                &Refused { error: format!("the queue of target {target} is full") },
            )
        }
        Err(e) => {
            let _ = app.log.send(format!("hook: could not log a delivery: {e}"));
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                &Refused { error: "the delivery could not be stored".into() },
            )
        }
    }
}

async fn refuse(app: &Arc<App>, mut record: DeliveryRecord, status: StatusCode, verdict: String) -> Response {
    record.status = status.as_u16();
    record.verdict = verdict.clone();
    let _ = app.log.send(format!("hook: {} from {}: {verdict}", status.as_u16(), record.remote));
    // A refusal promises nothing that must survive a crash, so its row is written with the next
    // group but not waited for: a flood of forged requests is answered at CPU speed, not disk speed.
    app.store.submit(move |store| store.refuse(&record).map(drop), app.log.clone()).await;
    answer(status, &Refused { error: verdict })
}
