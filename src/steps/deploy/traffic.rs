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

/// Moves traffic from `from` to `to`.
pub async fn switch(
    settings: &ProxySettings,
    to: &Upstream,
    from: Option<&Upstream>,
) -> Result<Switched, ProxyError> {
    proxy::switch(&settings.haproxy(), to, from.map(|f| f.name.as_str()), settings.drain_timeout).await
}

/// Puts traffic back on `from` and takes `to` out, whatever part of a switch happened (each step
/// is idempotent): `from` first, so that there is never a moment without a version. The problems.
pub async fn undo(settings: &ProxySettings, to: &Upstream, from: Option<&Upstream>) -> Vec<String> {
    let proxy = settings.haproxy();
    let mut problems = Vec::new();
    if let Some(from) = from {
        if let Err(e) = proxy.add(from).await {
            problems.push(format!("the previous version could not be put back into the proxy: {e}"));
        }
    }
    match proxy.remove(&to.name).await {
        // Never added: nothing to take out.
        Err(e) if e.to_string().contains("No such server") => {}
        Err(e) => problems.push(format!("the new version could not be taken out of the proxy: {e}")),
        Ok(()) => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_name_survives_renames() {
        assert_eq!(server_name("0123456789abcdef0123"), "0123456789ab");
        assert_eq!(server_name("abc"), "abc");
    }
}
