//! A tiny HTTP/1.1 server on 127.0.0.1 for the gate's tests: each test says how it answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// What the server saw.
pub struct Request {
    /// Time since the server started (for "healthy after N ms").
    pub elapsed: Duration,
    /// The request line and headers.
    pub head: String,
}

/// How the server answers one request.
pub struct Reply {
    status: u16,
    body: String,
    delay: Duration,
    hang_up: bool,
}

impl Reply {
    /// 200 with this body.
    pub fn ok(body: &str) -> Self {
        Reply::status(200, body)
    }

    /// This status and body.
    pub fn status(status: u16, body: &str) -> Self {
        Reply { status, body: body.to_string(), delay: Duration::ZERO, hang_up: false }
    }

    /// Close the connection without answering.
    pub fn hang_up() -> Self {
        Reply { hang_up: true, ..Reply::ok("") }
    }

    /// Answer only after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server that answers every request with `answer(request)`.
pub async fn serve(answer: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    let started = Instant::now();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { continue };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let request =
                    Request { elapsed: started.elapsed(), head: String::from_utf8_lossy(&head).into_owned() };
                let reply = answer(&request);
                tokio::time::sleep(reply.delay).await;
                if reply.hang_up {
                    return;
                }
                let response = format!(
                    "HTTP/1.1 {} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    reply.status,
                    reply.body.len(),
                    reply.body
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Server { addr, task }
}

/// A loopback port with nothing listening (bound, then released).
pub async fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    listener.local_addr().unwrap().port()
}
