//! Moving traffic between versions through a reverse proxy: the new version is added to the proxy
//! only after its gate passed, the old one is drained (no new requests, the ones in flight finish,
//! bounded by the drain timeout) and only then taken out. A proxy is one small trait; HAProxy's
//! runtime API is the one implemented (see docs/deploy.md for why), a second proxy is a second file.

pub mod haproxy;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One version as the proxy reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The server's name in the proxy (the container's name: unique per version).
    pub name: String,
    pub addr: SocketAddr,
}

/// A proxy that did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("reach the proxy at {at}: {message}; check that it runs and that stepkit may use its socket")]
    Unreachable { at: String, message: String },
    #[error("the proxy refused `{command}`: {answer}")]
    Refused { command: String, answer: String },
}

/// What stepkit needs of a proxy: add a version, stop sending it new requests, count what it still
/// serves, take it out.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound is needed
pub trait Proxy {
    /// Adds `upstream` and sends it new requests from now on.
    async fn add(&self, upstream: &Upstream) -> Result<(), ProxyError>;
    /// Sends `name` no new requests; the ones in flight go on.
    async fn drain(&self, name: &str) -> Result<(), ProxyError>;
    /// Requests (connections) `name` still serves.
    async fn in_flight(&self, name: &str) -> Result<u64, ProxyError>;
    /// Takes `name` out; what it still serves is cut.
    async fn remove(&self, name: &str) -> Result<(), ProxyError>;
}

/// How a switch went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    /// From the drain of the old version to its last request (or to the drain timeout).
    pub drain: Duration,
    /// Requests the old version still served when the drain timeout ended them.
    pub cut: u64,
}

/// How often the old version's requests are counted while it drains.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// Moves traffic to `to` (already gated): added first, so that there is never a moment without a
/// version, then `from` drained for at most `drain_timeout` and removed.
pub async fn switch(
    proxy: &impl Proxy,
    to: &Upstream,
    from: Option<&str>,
    drain_timeout: Duration,
) -> Result<Switched, ProxyError> {
    proxy.add(to).await?;
    let Some(from) = from else { return Ok(Switched { drain: Duration::ZERO, cut: 0 }) };
    proxy.drain(from).await?;
    let started = Instant::now();
    let mut left = proxy.in_flight(from).await?;
    while left > 0 && started.elapsed() < drain_timeout {
        tokio::time::sleep(DRAIN_POLL.min(drain_timeout.saturating_sub(started.elapsed()))).await;
        left = proxy.in_flight(from).await?;
    }
    let drain = started.elapsed();
    proxy.remove(from).await?;
    Ok(Switched { drain, cut: left })
}
