//! Loopback ports handed over by the OS. A port a test needs closed stays bound to the test; only a
//! port a child process must bind itself is ever released, and only in `free_port_for`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A loopback port on which connections are refused, held until dropped. It is a socket bound to
/// the port that never listens (Linux answers a SYN for it with RST), so no other test's server can
/// take the port while the test counts on nothing answering there.
pub struct ClosedPort {
    _socket: OwnedFd,
    port: u16,
}

impl ClosedPort {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Binds a loopback port that refuses connections until the returned guard is dropped.
pub fn closed_port() -> ClosedPort {
    // SAFETY: plain socket calls on a descriptor owned by the returned guard; `address` and `len`
    // are sized for the AF_INET address they describe.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let socket = OwnedFd::from_raw_fd(fd);
        let mut address: libc::sockaddr_in = std::mem::zeroed();
        address.sin_family = libc::AF_INET as libc::sa_family_t;
        address.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let raw = &mut address as *mut libc::sockaddr_in as *mut libc::sockaddr;
        assert_eq!(libc::bind(socket.as_raw_fd(), raw, len), 0, "bind: {}", std::io::Error::last_os_error());
        assert_eq!(
            libc::getsockname(socket.as_raw_fd(), raw, &mut len),
            0,
            "getsockname: {}",
            std::io::Error::last_os_error()
        );
        ClosedPort { _socket: socket, port: u16::from_be(address.sin_port) }
    }
}

/// Starts something that must bind a loopback port itself (busybox httpd, a container's published
/// port): the OS picks a free port, which has to be released for the child to bind it, so another
/// test may take it in between. `start` returns None when the port was taken (EADDRINUSE), and is
/// then tried again on a new port.
pub fn free_port_for<T>(what: &str, mut start: impl FnMut(u16) -> Option<T>) -> T {
    for _ in 0..5 {
        if let Some(started) = start(free_port()) {
            return started;
        }
    }
    panic!("{what}: five free ports in a row were taken before it could bind them");
}

/// A port the OS just handed out and released, for a child that binds it itself. Prefer a listener
/// kept bound (an in-process server) or `free_port_for`, which retries when the port is taken.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_closed_port_refuses_connections_while_held() {
    let closed = closed_port();
    let refused = std::net::TcpStream::connect(closed.addr()).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused, "{refused}");
    let taken = std::net::TcpListener::bind(closed.addr()).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "the port stays held: {taken}");
}

#[test]
fn a_start_that_lost_its_port_is_tried_again_on_a_new_one() {
    let mut tried = Vec::new();
    let port = free_port_for("a test server", |port| {
        tried.push(port);
        (tried.len() == 2).then_some(port)
    });
    assert_eq!((tried.len(), port), (2, tried[1]), "{tried:?}");
}
