//! The store's state for one plugin run and the host side of `stepkit:check/host`: logs and HTTP.

use super::bindings::stepkit::check::host::{
    self, HttpError, HttpResponse, LogLevel, Request as HttpRequest,
};
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
/// What every kept line costs against the log budget besides its text (its `LogLine`, the level, the
/// prefix and newline it is printed with): empty lines are not free, so a flood of them is bounded too.
pub const LINE_COST: usize = 64;

/// One line a plugin logged, already sanitized.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
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

impl Logs {
    /// Keeps the lines of `message` while each (its sanitized text plus [`LINE_COST`]) fits in `budget`;
    /// from the first one that does not, the rest are only counted. Counting is a scan for `\n` with no
    /// allocation, so host memory and time stay bounded whatever the guest sends (millions of empty lines,
    /// millions of calls).
    pub fn add(&mut self, level: &'static str, message: &str, budget: usize) {
        // "text\n" is one line, as a logger means it; "\n" alone is one empty line.
        let message = message.strip_suffix('\n').unwrap_or(message);
        let mut lines = message.split('\n');
        for raw in lines.by_ref() {
            if self.bytes >= budget {
                self.dropped += 1;
                break;
            }
            let line = sanitize::line(raw.strip_suffix('\r').unwrap_or(raw), MAX_LINE);
            let cost = line.len() + LINE_COST;
            if self.bytes + cost > budget {
                // Full from here on: later lines are dropped too, so what is kept is a prefix of the log.
                self.bytes = budget;
                self.dropped += 1;
                break;
            }
            self.bytes += cost;
            self.lines.push(LogLine { level, message: line });
        }
        self.dropped += lines.count();
    }
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
        // `message` was copied out of the guest's memory, so its size is bounded by `--memory`.
        self.logs.add(level, &message, self.limits.log_bytes);
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
        (
            String::from_utf8_lossy(&buffer).into_owned(),
            self.dropped.load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let keep = buf.len().min(self.capacity.saturating_sub(buffer.len()));
        buffer.extend_from_slice(&buf[..keep]);
        self.dropped.fetch_add(buf.len() - keep, std::sync::atomic::Ordering::Relaxed);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
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

    #[test]
    fn empty_lines_cost_their_overhead() {
        let mut logs = Logs::default();
        logs.add("info", &"\n".repeat(4_000_000), 64 << 10);
        assert_eq!(logs.lines.len(), (64 << 10) / LINE_COST);
        assert_eq!(logs.lines.len() + logs.dropped, 4_000_000, "every line is kept or counted");
        // A later call, even an empty one, is dropped and counted: the budget is spent.
        logs.add("info", "", 64 << 10);
        assert_eq!(logs.dropped, 4_000_001 - logs.lines.len());
    }

    #[test]
    fn lines_are_kept_in_order_until_the_first_that_does_not_fit() {
        let mut logs = Logs::default();
        logs.add("info", "one\ntwo\r\n", 2 * LINE_COST + 6);
        logs.add("warn", &"x".repeat(10), 2 * LINE_COST + 6);
        logs.add("warn", "", 2 * LINE_COST + 6);
        let kept: Vec<&str> = logs.lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(kept, ["one", "two"]);
        assert_eq!(logs.dropped, 2);
    }

    #[tokio::test]
    async fn capture_keeps_the_start_and_counts_the_rest() {
        let capture = Capture::new(4);
        let mut writer = capture.clone();
        writer.write_all(b"abcdef").await.unwrap();
        writer.write_all(b"gh").await.unwrap();
        assert_eq!(capture.contents(), ("abcd".to_string(), 4));
    }
}
