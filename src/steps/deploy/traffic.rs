//! The deploy's side of a reverse proxy: which server a container is in the proxy, where the proxy
//! reaches it, and the switch with its undo (used when a later step fails or a signal comes).

use super::docker;
use super::proxy::haproxy::{HaProxy, Socket};
use super::proxy::{self, Proxy, ProxyError, Switched, Upstream};
use super::DeployError;
use bollard::Docker;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Resolved `--proxy-socket`, `--proxy-backend`, `--upstream-port`, `--drain-timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// As given: a unix socket path or `HOST:PORT`.
    pub socket: String,
    pub backend: String,
    /// The container port the proxy sends to.
    pub upstream_port: u16,
    pub drain_timeout: Duration,
}

impl ProxySettings {
    pub fn haproxy(&self) -> HaProxy {
        HaProxy { socket: Socket::parse(&self.socket), backend: self.backend.clone() }
    }

    /// For lines and the result: `haproxy SOCKET backend NAME`.
    pub fn shown(&self) -> String {
        format!("haproxy {} backend {}", self.socket, self.backend)
    }
}

/// A version's server name in the proxy: its id's first 12 characters, because the container's
/// name changes (`APP-next-*`, `APP`, `APP-prev-*`) while the server must stay findable.
pub fn server_name(id: &str) -> String {
    id.chars().take(12).collect()
}

/// The container as the proxy reaches it: its IP on its (first) network, which a proxy on the
/// host reaches on Linux, and the upstream port. Only a running container has an IP.
pub async fn upstream(docker: &Docker, id: &str, port: u16) -> Result<Upstream, DeployError> {
    let err = |message: String| DeployError::Docker {
        what: format!("find the address of container {}", docker::short(id)),
        message,
    };
    let info = docker.inspect_container(id, None).await.map_err(|e| err(e.to_string()))?;
    let ip = info
        .network_settings
        .and_then(|n| n.networks)
        .into_iter()
        .flatten()
        .filter_map(|(_, endpoint)| endpoint.ip_address.filter(|ip| !ip.is_empty()))
        .find_map(|ip| ip.parse::<IpAddr>().ok())
        .ok_or_else(|| {
            err("it has no IP address on any network (is it running, not --network host?)".into())
        })?;
    Ok(Upstream { name: server_name(id), addr: SocketAddr::new(ip, port) })
}

/// The old version's server when it is running, else nothing to drain.
pub async fn from(
    docker: &Docker,
    previous: Option<&docker::Found>,
    port: u16,
) -> Result<Option<Upstream>, DeployError> {
    match previous.filter(|p| p.running) {
        Some(p) => Ok(Some(upstream(docker, &p.id, port).await?)),
        None => Ok(None),
    }
}

/// How long an undo lets the candidate finish what it got since it was added: requests that came in
/// during a switch, not long ones, and the signal budget is 5 s in all.
const UNDO_DRAIN: Duration = Duration::from_millis(500);

/// Moves traffic from `from` to `to`.
pub async fn switch(
    settings: &ProxySettings,
    to: &Upstream,
    from: Option<&Upstream>,
) -> Result<Switched, ProxyError> {
    switch_within(&settings.haproxy(), to, from, settings.drain_timeout).await
}

async fn switch_within(
    haproxy: &HaProxy,
    to: &Upstream,
    from: Option<&Upstream>,
    drain_timeout: Duration,
) -> Result<Switched, ProxyError> {
    match proxy::switch(haproxy, to, from.map(|f| f.name.as_str()), drain_timeout).await {
        // `from` was never a server of the backend (deployed without the proxy, or an undo of a
        // switch that never added it): `to` is added and serving, there is nothing to drain.
        Err(ProxyError::Refused { command, answer })
            if answer.contains("No such server") && command.ends_with("state drain") =>
        {
            Ok(Switched { drain: Duration::ZERO, cut: 0 })
        }
        other => other,
    }
}

/// Puts traffic back on `from` and takes `to` out, whatever part of a switch happened (each step
/// is idempotent): a switch the other way, so `from` serves again before `to` is drained (briefly:
/// a removal without a drain would cut its requests in flight) and removed. The problems.
pub async fn undo(settings: &ProxySettings, to: &Upstream, from: Option<&Upstream>) -> Vec<String> {
    let haproxy = settings.haproxy();
    let undone = match from {
        Some(from) => switch_within(&haproxy, from, Some(to), UNDO_DRAIN).await.map(|_| ()),
        None => haproxy.remove(&to.name).await,
    };
    match undone {
        Ok(()) => Vec::new(),
        // Never added: nothing to take out.
        Err(e) if e.to_string().contains("No such server") => Vec::new(),
        Err(e) => vec![format!("traffic could not be moved back to the previous version: {e}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::steps::deploy::proxy::haproxy::tests::{body, get, start, version};
    use crate::steps::deploy::proxy::haproxy::Socket;

    fn settings(proxy: &HaProxy) -> ProxySettings {
        let Socket::Unix(path) = &proxy.socket else { panic!("the test HAProxy has a unix socket") };
        ProxySettings {
            socket: path.display().to_string(),
            backend: proxy.backend.clone(),
            upstream_port: 0,
            drain_timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn a_previous_version_the_proxy_never_had_is_no_failure_and_an_undo_puts_the_old_one_back() {
        let Some(haproxy) = start() else { return };
        let s = settings(&haproxy.proxy);
        let v1 = Upstream { name: "v1".into(), addr: version("v1", Duration::ZERO).await };
        let v2 = Upstream { name: "v2".into(), addr: version("v2", Duration::ZERO).await };

        // Deployed before the proxy was used: not a server of the backend.
        let first = switch(&s, &v1, Some(&v2)).await.unwrap();
        assert_eq!(first, Switched { drain: Duration::ZERO, cut: 0 });
        assert_eq!(body(&get(haproxy.front, "/").await), "v1");

        switch(&s, &v2, Some(&v1)).await.unwrap();
        assert_eq!(body(&get(haproxy.front, "/").await), "v2");
        // A later step failed: back to v1, whatever part of the switch had happened.
        assert_eq!(undo(&s, &v2, Some(&v1)).await, Vec::<String>::new());
        for _ in 0..3 {
            assert_eq!(body(&get(haproxy.front, "/").await), "v1");
        }
        let never_added = Upstream { name: "v3".into(), addr: v2.addr };
        assert_eq!(undo(&s, &never_added, Some(&v1)).await, Vec::<String>::new(), "nothing to take out");
        assert_eq!(body(&get(haproxy.front, "/").await), "v1");
    }

    #[test]
    fn the_server_name_survives_renames() {
        assert_eq!(server_name("0123456789abcdef0123"), "0123456789ab");
        assert_eq!(server_name("abc"), "abc");
    }
}
