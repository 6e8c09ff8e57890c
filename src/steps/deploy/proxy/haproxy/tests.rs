//! Against a real HAProxy (Debian's), started per test on loopback with its runtime API on a unix socket.

use super::super::{switch, Proxy, Upstream};
use super::{current_sessions, HaProxy, Socket};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HAPROXY: &str = "/usr/sbin/haproxy";

/// A running HAProxy with one frontend and an empty backend `app`, killed on drop.
pub(crate) struct Running {
    child: Child,
    pub(crate) front: SocketAddr,
    pub(crate) proxy: HaProxy,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start() -> Option<Running> {
    if !std::path::Path::new(HAPROXY).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must have HAProxy ({HAPROXY}): .ci/run installs it");
        eprintln!("skipping: no {HAPROXY}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    // Bound by the OS and closed for HAProxy to take: it cannot be handed a listening socket.
    let front = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = dir.path().join("haproxy.cfg");
    std::fs::write(
        &config,
        format!(
            "global\n  stats socket {} level admin\n  maxconn 256\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n\
             frontend web\n  bind {front}\n  default_backend app\n\
             backend app\n  balance roundrobin\n",
            socket.display()
        ),
    )
    .unwrap();
    let child = Command::new(HAPROXY)
        .args(["-db", "-f"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = std::time::Instant::now();
    while !socket.exists() || std::net::TcpStream::connect(front).is_err() {
        assert!(waiting.elapsed() < Duration::from_secs(10), "HAProxy did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let proxy = HaProxy { socket: Socket::Unix(socket), backend: "app".into() };
    Some(Running { child, front, proxy, _dir: dir })
}

/// A loopback HTTP server answering `name` to every request, `/slow` after `slow`.
pub(crate) async fn version(name: &'static str, slow: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                if request.starts_with(b"GET /slow") {
                    tokio::time::sleep(slow).await;
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{name}",
                    name.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

pub(crate) async fn get(front: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(front).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

pub(crate) fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

#[tokio::test]
async fn a_switch_adds_the_new_version_first_and_lets_the_old_one_finish_its_requests() {
    let Some(haproxy) = start() else { return };
    let proxy = &haproxy.proxy;
    let v1 = Upstream { name: "app-v1".into(), addr: version("v1", Duration::from_millis(1500)).await };
    let v2 = Upstream { name: "app-v2".into(), addr: version("v2", Duration::ZERO).await };

    let first = switch(proxy, &v1, None, Duration::from_secs(10)).await.unwrap();
    assert_eq!(first.cut, 0);
    assert_eq!(body(&get(haproxy.front, "/").await), "v1");

    // A slow request is in flight on v1 when traffic moves to v2.
    let front = haproxy.front;
    let slow = tokio::spawn(async move { get(front, "/slow").await });
    let waiting = std::time::Instant::now();
    while proxy.in_flight("app-v1").await.unwrap() == 0 {
        assert!(waiting.elapsed() < Duration::from_secs(5), "the slow request never reached v1");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let switched = switch(proxy, &v2, Some("app-v1"), Duration::from_secs(10)).await.unwrap();
    assert_eq!(switched.cut, 0, "the request in flight finished on the old version");
    assert!(switched.drain > Duration::from_millis(500), "the switch waited for it: {switched:?}");
    let answer = slow.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(body(&answer), "v1");
    for _ in 0..5 {
        assert_eq!(body(&get(haproxy.front, "/").await), "v2", "new requests reach only the new version");
    }
    let stat = proxy.command("show stat").await.unwrap();
    assert_eq!(current_sessions(&stat, "app", "app-v2"), Some(0));
    assert_eq!(current_sessions(&stat, "app", "app-v1"), None, "the old version is out of the proxy");
}

#[tokio::test]
async fn the_drain_timeout_bounds_the_wait_and_a_rollback_moves_traffic_back() {
    let Some(haproxy) = start() else { return };
    let proxy = &haproxy.proxy;
    let v1 = Upstream { name: "v1".into(), addr: version("v1", Duration::from_secs(20)).await };
    let v2 = Upstream { name: "v2".into(), addr: version("v2", Duration::ZERO).await };
    switch(proxy, &v1, None, Duration::from_secs(1)).await.unwrap();
    let front = haproxy.front;
    let stuck = tokio::spawn(async move { get(front, "/slow").await });
    while proxy.in_flight("v1").await.unwrap() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let switched = switch(proxy, &v2, Some("v1"), Duration::from_millis(300)).await.unwrap();
    assert_eq!(switched.cut, 1, "the stuck request was cut at the drain timeout: {switched:?}");
    assert!(switched.drain < Duration::from_secs(5), "{switched:?}");
    let _ = stuck.await;
    assert_eq!(body(&get(haproxy.front, "/").await), "v2");

    // Back to v1 the same way.
    switch(proxy, &v1, Some("v2"), Duration::from_secs(1)).await.unwrap();
    assert_eq!(body(&get(haproxy.front, "/").await), "v1");
}

#[tokio::test]
async fn a_proxy_that_is_not_there_or_refuses_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = HaProxy { socket: Socket::Unix(dir.path().join("none.sock")), backend: "app".into() };
    let err = missing.drain("v1").await.unwrap_err().to_string();
    assert!(err.contains("none.sock") && err.contains("check that it runs"), "{err}");

    let Some(haproxy) = start() else { return };
    let wrong = HaProxy { backend: "nope".into(), ..haproxy.proxy.clone() };
    let upstream = Upstream { name: "v1".into(), addr: "127.0.0.1:9".parse().unwrap() };
    let err = wrong.add(&upstream).await.unwrap_err().to_string();
    assert!(err.contains("add server nope/v1"), "{err}");
}

#[test]
fn reads_the_sessions_of_one_server_from_show_stat() {
    let stat = "# pxname,svname,qcur,qmax,scur,smax\nweb,FRONTEND,,,3,9\napp,v1,0,0,2,4\napp,v2,0,0,0,1\n";
    assert_eq!(current_sessions(stat, "app", "v1"), Some(2));
    assert_eq!(current_sessions(stat, "app", "v2"), Some(0));
    assert_eq!(current_sessions(stat, "app", "v3"), None);
    assert_eq!(Socket::parse("127.0.0.1:9999"), Socket::Tcp("127.0.0.1:9999".parse().unwrap()));
    assert_eq!(Socket::parse("unix:/run/haproxy/admin.sock"), Socket::Unix("/run/haproxy/admin.sock".into()));
}
