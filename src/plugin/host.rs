//! The store's state for one plugin run and the host side of `stepkit:check/host`: logs and HTTP.

use super::bindings::stepkit::check::host::{self, HttpError, HttpResponse, LogLevel, Request as HttpRequest};
use super::bindings::stepkit::check::types;
use super::http::Fetcher;
use super::limits::{Limiter, Limits};
use super::sanitize;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Longest log line shown; longer lines are cut.
const MAX_LINE: usize = 1000;

/// One line a plugin logged, already sanitized.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// What the plugin said while it ran, bounded by `Limits::log_bytes`.
#[derive(Debug, Default)]
pub struct Logs {
    pub lines: Vec<LogLine>,
    bytes: usize,
    /// Lines over the budget, counted and dropped.
    pub dropped: usize,
}

/// Everything one plugin's store holds.
pub struct State {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: Limiter,
    pub logs: Logs,
    pub limits: Limits,
    pub started: Instant,
    pub fetcher: Fetcher,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl types::Host for State {}

impl host::Host for State {
    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        for line in sanitize::lines(&message, MAX_LINE) {
            if self.logs.bytes + line.len() > self.limits.log_bytes {
                self.logs.dropped += 1;
                continue;
            }
            self.logs.bytes += line.len();
            self.logs.lines.push(LogLine { level, message: line });
        }
    }

    fn http_request(&mut self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        // Host time counts against the plugin's deadline: the request gets at most what is left.
        let left = self.limits.timeout.saturating_sub(self.started.elapsed());
        self.fetcher.fetch(request, left, self.limits.http_body_bytes)
    }
}

/// A WASI stdout/stderr that keeps the first `capacity` bytes and quietly drops the rest, so a chatty
/// plugin is never inherited onto stepkit's own output and never fails its writes (which would make a
/// Rust guest panic in `println!`).
#[derive(Clone)]
pub struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
    capacity: usize,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

impl Capture {
    pub fn new(capacity: usize) -> Self {
        Capture { buffer: Arc::default(), capacity, dropped: Arc::default() }
    }

    /// The bytes kept, as lossy text, and how many bytes were dropped.
    pub fn contents(&self) -> (String, usize) {
        let buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        (String::from_utf8_lossy(&buffer).into_owned(), self.dropped.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let keep = buf.len().min(self.capacity.saturating_sub(buffer.len()));
        buffer.extend_from_slice(&buf[..keep]);
        self.dropped.fetch_add(buf.len() - keep, std::sync::atomic::Ordering::Relaxed);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl wasmtime_wasi::cli::IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for Capture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn capture_keeps_the_start_and_counts_the_rest() {
        let capture = Capture::new(4);
        let mut writer = capture.clone();
        writer.write_all(b"abcdef").await.unwrap();
        writer.write_all(b"gh").await.unwrap();
        assert_eq!(capture.contents(), ("abcd".to_string(), 4));
    }
}
