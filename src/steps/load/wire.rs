//! The HTTP/1.1 wire of `stepkit load`: a request goes out as bytes built once, and its answer is read
//! to the end its framing says (Content-Length, chunked, or the close) with httparse. A load generator
//! only needs the status and where the answer ends, so the body is skipped in place: one write and as
//! few reads as the answer needs, and nothing allocated per request.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most an answer's head (status line and headers) or a chunk-size line may take.
const MAX_HEAD: usize = 64 * 1024;
/// The most headers an answer may have (hyper's default too).
const MAX_HEADERS: usize = 100;
/// What is read at once; grows to MAX_HEAD only for a larger head.
const READ_BUFFER: usize = 16 * 1024;

/// How an exchange failed.
#[derive(Debug)]
pub(super) enum WireError {
    /// The peer closed (or reset) the connection before the first byte of the answer: on a connection
    /// that answered before, the server most likely closed it while idle, and the request can go again.
    ClosedBeforeAnswer(String),
    /// The connection broke in the middle of the answer.
    Io(String),
    /// The answer is not HTTP/1.x as RFC 9112 frames it.
    Protocol(String),
}

/// An answer read to its end.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Answered {
    pub status: u16,
    /// Whether the next request may use this connection.
    pub reusable: bool,
}

/// How the body of an answer ends.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// One connection and the bytes read from it but not yet used.
pub(super) struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Whether any byte of the current answer arrived.
    answering: bool,
}

impl Wire {
    pub fn new(stream: TcpStream) -> Self {
        Wire { stream, buf: vec![0; READ_BUFFER], start: 0, end: 0, answering: false }
    }

    /// Sends `request` and reads its answer to the end; `head` says the request was a HEAD, whose answer
    /// never has a body.
    pub async fn exchange(&mut self, request: &[u8], head: bool) -> Result<Answered, WireError> {
        self.answering = false;
        if let Err(e) = self.stream.write_all(request).await {
            return Err(WireError::ClosedBeforeAnswer(format!("send the request: {e}")));
        }
        loop {
            let (status, framing, reusable) = self.read_head(head).await?;
            // 1xx answers (100 Continue, 103 Early Hints) come before the real one; 101 ends HTTP/1.1.
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            match framing {
                Framing::None => {}
                Framing::Length(length) => self.skip(length).await?,
                Framing::Chunked => self.skip_chunked().await?,
                Framing::UntilClose => self.skip_to_close().await?,
            }
            let reusable = reusable && !matches!(framing, Framing::UntilClose) && status != 101;
            return Ok(Answered { status, reusable });
        }
    }

    /// Reads and parses the status line and headers.
    async fn read_head(&mut self, head: bool) -> Result<(u16, Framing, bool), WireError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf[self.start..self.end]) {
                Ok(httparse::Status::Complete(length)) => {
                    let status = response.code.unwrap_or_default();
                    let framing = framing(&response, head)?;
                    let reusable = keeps_alive(&response);
                    self.start += length;
                    return Ok((status, framing, reusable));
                }
                Ok(httparse::Status::Partial) => {
                    if self.end - self.start >= MAX_HEAD {
                        return Err(WireError::Protocol(format!(
                            "answer head larger than {} KiB",
                            MAX_HEAD / 1024
                        )));
                    }
                    if self.fill().await? == 0 {
                        return Err(self.closed("before the answer's head was complete"));
                    }
                }
                Err(e) => return Err(WireError::Protocol(format!("unreadable answer head: {e}"))),
            }
        }
    }

    /// Skips `length` body bytes.
    async fn skip(&mut self, mut length: u64) -> Result<(), WireError> {
        loop {
            let take = length.min((self.end - self.start) as u64);
            self.start += take as usize;
            length -= take;
            if length == 0 {
                return Ok(());
            }
            if self.fill().await? == 0 {
                return Err(WireError::Io(format!("connection closed {length} bytes before the body's end")));
            }
        }
    }

    /// Skips a chunked body: chunks until the empty one, then the trailer section.
    async fn skip_chunked(&mut self) -> Result<(), WireError> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete((length, size))) => {
                        self.start += length;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.fill_within_limit("chunk size line").await?,
                    Err(_) => return Err(WireError::Protocol("unreadable chunk size".into())),
                }
            };
            if size == 0 {
                // Trailer fields, if any, end with an empty line.
                while self.line().await? > 0 {}
                return Ok(());
            }
            self.skip(size).await?;
            if self.line().await? != 0 {
                return Err(WireError::Protocol("chunk data longer than its size".into()));
            }
        }
    }

    /// Reads one CRLF-ended line and returns its length without the line end.
    async fn line(&mut self) -> Result<usize, WireError> {
        loop {
            if let Some(at) = self.buf[self.start..self.end].iter().position(|&b| b == b'\n') {
                let line = &self.buf[self.start..self.start + at];
                let length = line.strip_suffix(b"\r").unwrap_or(line).len();
                self.start += at + 1;
                return Ok(length);
            }
            self.fill_within_limit("line of a chunked body").await?;
        }
    }

    /// Skips an HTTP/1.0-style body that ends when the server closes.
    async fn skip_to_close(&mut self) -> Result<(), WireError> {
        loop {
            self.start = self.end;
            if self.fill().await? == 0 {
                return Ok(());
            }
        }
    }

    /// Reads more, or fails if the connection closed or `what` grew past MAX_HEAD.
    async fn fill_within_limit(&mut self, what: &str) -> Result<(), WireError> {
        if self.end - self.start >= MAX_HEAD {
            return Err(WireError::Protocol(format!("{what} larger than {} KiB", MAX_HEAD / 1024)));
        }
        match self.fill().await? {
            0 => Err(WireError::Io(format!("connection closed in a {what}"))),
            _ => Ok(()),
        }
    }

    /// Reads what the socket has into the free end of the buffer; 0 means the peer closed.
    async fn fill(&mut self) -> Result<usize, WireError> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.end == self.buf.len() {
                self.buf.resize((self.buf.len() * 2).min(MAX_HEAD + READ_BUFFER), 0);
            }
        }
        match self.stream.read(&mut self.buf[self.end..]).await {
            Ok(n) => {
                self.end += n;
                self.answering |= n > 0;
                Ok(n)
            }
            Err(e) if !self.answering => Err(WireError::ClosedBeforeAnswer(e.to_string())),
            Err(e) => Err(WireError::Io(e.to_string())),
        }
    }

    fn closed(&self, when: &str) -> WireError {
        if self.answering {
            WireError::Io(format!("connection closed {when}"))
        } else {
            WireError::ClosedBeforeAnswer("connection closed before the answer".into())
        }
    }
}

/// Where the body of `response` ends (RFC 9112 §6.3).
fn framing(response: &httparse::Response<'_, '_>, head: bool) -> Result<Framing, WireError> {
    let status = response.code.unwrap_or_default();
    if head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    let mut length = None;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked must be the last coding; any other leaves the body to run until the close.
            let last = header.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            return Ok(if last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                Framing::Chunked
            } else {
                Framing::UntilClose
            });
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| WireError::Protocol("unreadable Content-Length".into()))?;
            if length.is_some_and(|known| known != value) {
                return Err(WireError::Protocol("two different Content-Length headers".into()));
            }
            length = Some(value);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// Whether the server keeps the connection open after this answer: HTTP/1.1 unless it says `close`,
/// HTTP/1.0 only if it says `keep-alive`.
fn keeps_alive(response: &httparse::Response<'_, '_>) -> bool {
    let says = |token: &[u8]| {
        response.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("connection")
                && h.value.split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
        })
    };
    match response.version {
        Some(1) => !says(b"close"),
        _ => says(b"keep-alive"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A loopback server for one connection: for each request it reads, it writes the next answer a
    /// few bytes at a time (so every parser state meets a partial read), and closes after the last.
    async fn server(answers: Vec<&'static [u8]>) -> Wire {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            for answer in answers {
                let mut request = Vec::new();
                while !request.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    request.push(byte[0]);
                }
                for piece in answer.chunks(7) {
                    stream.write_all(piece).await.unwrap();
                    stream.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
        });
        Wire::new(TcpStream::connect(addr).await.unwrap())
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

    async fn one(answer: &'static [u8], head: bool) -> Result<Answered, WireError> {
        server(vec![answer]).await.exchange(GET, head).await
    }

    #[tokio::test]
    async fn a_length_framed_answer_leaves_the_connection_ready_for_the_next() {
        let mut wire = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
        ])
        .await;
        assert_eq!(wire.exchange(GET, false).await.unwrap(), Answered { status: 200, reusable: true });
        assert_eq!(wire.exchange(GET, false).await.unwrap(), Answered { status: 404, reusable: true });
    }

    #[tokio::test]
    async fn a_chunked_answer_is_read_through_its_extensions_and_trailers() {
        let mut wire = server(vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: yes\r\n\r\n",
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ])
        .await;
        assert_eq!(wire.exchange(GET, false).await.unwrap(), Answered { status: 200, reusable: true });
        assert_eq!(wire.exchange(GET, false).await.unwrap(), Answered { status: 201, reusable: true });
    }

    #[tokio::test]
    async fn interim_answers_are_skipped_and_bodiless_answers_have_no_body() {
        let continued =
            one(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
        assert_eq!(continued.await.unwrap(), Answered { status: 200, reusable: true });
        // A HEAD answer announces the length of the body it does not send.
        let head = one(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true);
        assert_eq!(head.await.unwrap(), Answered { status: 200, reusable: true });
        let no_content = one(b"HTTP/1.1 204 No Content\r\n\r\n", false);
        assert_eq!(no_content.await.unwrap(), Answered { status: 204, reusable: true });
    }

    #[tokio::test]
    async fn a_server_that_closes_is_not_asked_again() {
        let until_close = one(b"HTTP/1.0 200 OK\r\n\r\nthe body ends at the close", false);
        assert_eq!(until_close.await.unwrap(), Answered { status: 200, reusable: false });
        let says_close = one(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false);
        assert_eq!(says_close.await.unwrap(), Answered { status: 200, reusable: false });
        let keeps = one(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", false);
        assert_eq!(keeps.await.unwrap(), Answered { status: 200, reusable: true });
    }

    #[tokio::test]
    async fn a_close_before_the_answer_differs_from_a_close_inside_it() {
        let before = one(b"", false).await;
        assert!(matches!(before, Err(WireError::ClosedBeforeAnswer(_))), "{before:?}");
        let inside = one(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", false).await;
        assert!(matches!(&inside, Err(WireError::Io(m)) if m.contains("6 bytes before")), "{inside:?}");
        let in_head = one(b"HTTP/1.1 200 OK\r\nContent-Le", false).await;
        assert!(matches!(in_head, Err(WireError::Io(_))), "{in_head:?}");
    }

    #[tokio::test]
    async fn answers_http_cannot_frame_are_protocol_errors() {
        for (answer, says) in [
            (&b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..], "unreadable answer head"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", "two different"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n", "unreadable Content-Length"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "unreadable chunk size"),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
                "longer than its size",
            ),
        ] {
            let result = one(answer, false).await;
            assert!(matches!(&result, Err(WireError::Protocol(m)) if m.contains(says)), "{says}: {result:?}");
        }
    }

    #[tokio::test]
    async fn a_head_past_the_limit_is_refused_not_buffered_forever() {
        let huge: &'static [u8] =
            format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n", "a".repeat(MAX_HEAD)).leak().as_bytes();
        let result = one(huge, false).await;
        assert!(matches!(&result, Err(WireError::Protocol(m)) if m.contains("64 KiB")), "{result:?}");
    }
}
