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
