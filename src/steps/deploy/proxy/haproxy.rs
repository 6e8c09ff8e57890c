//! HAProxy through its runtime API (the `stats socket ... level admin` of haproxy.cfg): versions are
//! dynamic servers of one backend (`add server`, `enable server`), drained with `set server ... state
//! drain`, counted with `show stat` (the `scur` column), and removed with `del server`. No reload, so
//! nothing else in the proxy restarts, and the drain is counted, not guessed.

use super::{Proxy, ProxyError, Upstream};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// One command's answer must come within this: the runtime API answers at once.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a removed server's last idle connections may keep `del server` waiting.
const REMOVE_RETRIES: u32 = 40;

/// Where the runtime API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socket {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl Socket {
    /// `HOST:PORT` is TCP, anything else a unix socket path.
    pub fn parse(text: &str) -> Socket {
        match text.parse::<SocketAddr>() {
            Ok(addr) => Socket::Tcp(addr),
            Err(_) => Socket::Unix(PathBuf::from(text.strip_prefix("unix:").unwrap_or(text))),
        }
    }

    fn shown(&self) -> String {
        match self {
            Socket::Unix(path) => path.display().to_string(),
            Socket::Tcp(addr) => addr.to_string(),
        }
    }
}

/// One backend of one HAProxy.
#[derive(Debug, Clone)]
pub struct HaProxy {
    pub socket: Socket,
    pub backend: String,
}

impl HaProxy {
    /// Sends one command and returns HAProxy's answer (it closes the connection after it).
    async fn command(&self, command: &str) -> Result<String, ProxyError> {
        let unreachable = |message: String| ProxyError::Unreachable { at: self.socket.shown(), message };
        let exchange = async {
            match &self.socket {
                Socket::Unix(path) => exchange(tokio::net::UnixStream::connect(path).await?, command).await,
                Socket::Tcp(addr) => exchange(tokio::net::TcpStream::connect(addr).await?, command).await,
            }
        };
        match tokio::time::timeout(ANSWER_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => Ok(answer.trim().to_string()),
            Ok(Err(e)) => Err(unreachable(e.to_string())),
            Err(_) => Err(unreachable(format!("no answer within {}s", ANSWER_TIMEOUT.as_secs()))),
        }
    }

    /// A command whose success is an empty answer (or one of `ok`).
    async fn expect(&self, command: &str, ok: &[&str]) -> Result<(), ProxyError> {
        let answer = self.command(command).await?;
        if answer.is_empty() || ok.iter().any(|ok| answer.contains(ok)) {
            Ok(())
        } else {
            Err(ProxyError::Refused { command: command.to_string(), answer })
        }
    }

    fn server(&self, name: &str) -> String {
        format!("{}/{name}", self.backend)
    }
}

async fn exchange(mut stream: impl AsyncRead + AsyncWrite + Unpin, command: &str) -> std::io::Result<String> {
    stream.write_all(format!("{command}\n").as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

impl Proxy for HaProxy {
    async fn add(&self, upstream: &Upstream) -> Result<(), ProxyError> {
        let server = self.server(&upstream.name);
        let add = format!("add server {server} {}", upstream.addr);
        let answer = self.command(&add).await?;
        if answer.contains("same name") {
            // Put back (a rollback to a version that was drained but not removed): point it again.
            let (ip, port) = (upstream.addr.ip(), upstream.addr.port());
            self.expect(
                &format!("set server {server} addr {ip} port {port}"),
                &["changed", "no need to change"],
            )
            .await?;
            return self.expect(&format!("set server {server} state ready"), &[]).await;
        }
        if !answer.contains("New server registered") {
            return Err(ProxyError::Refused { command: add, answer });
        }
        // A dynamic server starts in maintenance.
        self.expect(&format!("enable server {server}"), &[]).await
    }

    async fn drain(&self, name: &str) -> Result<(), ProxyError> {
        self.expect(&format!("set server {} state drain", self.server(name)), &[]).await
    }

    async fn in_flight(&self, name: &str) -> Result<u64, ProxyError> {
        let stat = self.command("show stat").await?;
        Ok(current_sessions(&stat, &self.backend, name).unwrap_or(0))
    }

    async fn remove(&self, name: &str) -> Result<(), ProxyError> {
        let server = self.server(name);
        self.expect(&format!("set server {server} state maint"), &[]).await?;
        self.expect(&format!("shutdown sessions server {server}"), &[]).await?;
        let delete = format!("del server {server}");
        let mut answer = String::new();
        for _ in 0..REMOVE_RETRIES {
            answer = self.command(&delete).await?;
            if answer.contains("Server deleted") || answer.contains("No such server") {
                return Ok(());
            }
            // Idle keep-alive connections to it are closed by HAProxy shortly; until then it refuses.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(ProxyError::Refused { command: delete, answer })
    }
}

/// `scur` (current sessions) of `backend/server` in `show stat`'s CSV.
fn current_sessions(stat: &str, backend: &str, server: &str) -> Option<u64> {
    let mut lines = stat.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (px, sv, scur) = (column("pxname")?, column("svname")?, column("scur")?);
    lines.map(|line| line.split(',').collect::<Vec<_>>()).find_map(|fields| {
        (fields.get(px) == Some(&backend) && fields.get(sv) == Some(&server))
            .then(|| fields.get(scur).and_then(|v| v.parse().ok()))
            .flatten()
    })
}

#[cfg(test)]
pub(crate) mod tests;
