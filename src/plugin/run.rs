//! One plugin run: load, check the contract, build a default-deny store within its limits, call `run`,
//! and classify whatever went wrong.

use super::bindings::stepkit::check::types as wit;
use super::bindings::Plugin;
use super::cache::{CacheUse, PluginEngine, TICK};
use super::contract::{self, Shape};
use super::host::{Capture, LogLine, Logs, State};
use super::http::Fetcher;
use super::limits::{Limiter, Limits};
use super::{sanitize, PluginError, PluginErrorKind, PluginSpec};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Store, Trap};
use wasmtime_wasi::{FsPerms, WasiCtx};

const MAX_SUMMARY: usize = 500;
const MAX_MESSAGE: usize = 2000;
const MAX_METRICS: usize = 100;
const MAX_OUTPUT_LINE: usize = 1000;

/// A check's verdict (the WIT `verdict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
}

/// A finding's severity (the WIT `severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Failure,
}

/// One finding, sanitized; `file` only when it is a plain relative path.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub severity: Severity,
}

/// One metric, its name and unit sanitized.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// A plugin's report, sanitized and bounded.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub verdict: Verdict,
    pub summary: String,
    pub findings: Vec<Finding>,
    pub metrics: Vec<Metric>,
    /// Findings (and metrics) over the limits, dropped.
    pub dropped: usize,
}

/// Where the check runs (the WIT `ci-context`).
#[derive(Debug, Clone, Default)]
pub struct CiInfo {
    pub provider: String,
    pub repository: Option<String>,
    pub sha: Option<String>,
    pub branch: Option<String>,
    pub pull_request: Option<u64>,
}

/// What every plugin of a run receives besides its own config.
#[derive(Debug, Clone, Default)]
pub struct CheckInput {
    pub changed_files: Vec<String>,
    pub ci: CiInfo,
}

/// Where a run's time went, in milliseconds with microsecond precision (for benchmarks and slow-plugin hunts).
#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
pub struct Timings {
    /// Compiling the component (cache miss) or loading it from the cache (hit).
    pub load_ms: f64,
    pub instantiate_ms: f64,
    pub run_ms: f64,
}

fn ms_precise(since: Instant) -> f64 {
    (since.elapsed().as_micros() as f64) / 1000.0
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Everything one plugin run produced.
/// Serialized as the part of a `check` result's plugin entry that is not the report or error
/// (result::check::PluginData adds those).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PluginRun {
    pub name: String,
    pub file: std::path::PathBuf,
    #[serde(skip)]
    pub result: Result<Report, PluginError>,
    pub logs: Vec<LogLine>,
    /// Log lines over the log budget, dropped.
    pub logs_dropped: usize,
    /// WASI stdout and stderr, sanitized lines.
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    /// Output bytes over the capture limit, dropped.
    pub output_dropped: usize,
    pub duration_ms: u64,
    pub timings: Timings,
    /// Whether the compiled component came from the cache.
    pub cache: CacheUse,
}

/// Runs one plugin to its report or a classified error; never panics on plugin behaviour.
/// `runtime` carries the plugin's HTTP requests; call from a blocking thread, not inside async code.
/// `on_start` is called once the component is loaded and its deadline starts (not when loading fails),
/// so a caller that watches the clock does not count compilation against the plugin's time.
pub fn run(
    engine: &PluginEngine,
    spec: &PluginSpec,
    input: &CheckInput,
    runtime: Option<tokio::runtime::Handle>,
    on_start: impl FnOnce(),
) -> PluginRun {
    let started = Instant::now();
    let stdout = Capture::new(spec.limits.output_bytes);
    let stderr = Capture::new(spec.limits.output_bytes);
    let mut out = PluginRun {
        name: spec.name.clone(),
        file: spec.file.clone(),
        result: Err(error(spec, PluginErrorKind::Io, String::new())),
        logs: Vec::new(),
        logs_dropped: 0,
        stdout: Vec::new(),
        stderr: Vec::new(),
        output_dropped: 0,
        duration_ms: 0,
        timings: Timings::default(),
        cache: CacheUse::Off,
    };
    let mut logs = Logs::default();
    out.result = execute(
        engine,
        spec,
        input,
        (runtime, on_start),
        (&stdout, &stderr),
        &mut logs,
        (&mut out.cache, &mut out.timings),
    );
    let (text_out, dropped_out) = stdout.contents();
    let (text_err, dropped_err) = stderr.contents();
    if let Err(e) = &mut out.result {
        if e.kind == PluginErrorKind::Trap {
            // A Rust guest prints its panic message to stderr and then traps (`unreachable`).
            if let Some(message) = text_err.lines().find(|l| l.contains("panicked at")) {
                e.kind = PluginErrorKind::Panic;
                // The message follows the location line; the backtrace hint after it is noise here.
                let rest: Vec<&str> = text_err
                    .lines()
                    .skip_while(|l| !l.contains("panicked at"))
                    .skip(1)
                    .take_while(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
                    .take(3)
                    .collect();
                e.message =
                    sanitize::line(&format!("{} {}", message.trim(), rest.join(" ").trim()), MAX_MESSAGE);
            }
        }
    }
    out.stdout = nonempty_lines(&text_out);
    out.stderr = nonempty_lines(&text_err);
    out.output_dropped = dropped_out + dropped_err;
    out.logs = logs.lines;
    out.logs_dropped = logs.dropped;
    out.duration_ms = ms(started);
    out
}

fn nonempty_lines(text: &str) -> Vec<String> {
    let mut lines = sanitize::lines(text, MAX_OUTPUT_LINE);
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

fn error(spec: &PluginSpec, kind: PluginErrorKind, message: String) -> PluginError {
    PluginError { name: spec.name.clone(), file: spec.file.clone(), kind, message }
}

/// Reads and loads the component (within the size and compile-time limits) and reads its shape.
fn load(
    engine: &PluginEngine,
    path: &Path,
    name: &str,
    limits: &Limits,
) -> Result<(wasmtime::component::Component, CacheUse, Shape), PluginError> {
    let fail =
        |kind, message| PluginError { name: name.to_string(), file: path.to_path_buf(), kind, message };
    let metadata =
        std::fs::metadata(path).map_err(|e| fail(PluginErrorKind::Io, format!("{e}; check the path")))?;
    // Loading is not covered by the plugin's deadline: a FIFO or a device would block it forever.
    if !metadata.is_file() {
        return Err(fail(
            PluginErrorKind::Io,
            "it is not a regular file; give the path of a .wasm file".into(),
        ));
    }
    // Compiling takes time and memory in proportion to the size (a 28 MB component took 2.7 GB), and
    // none of it counts against --memory: refuse what is far past any real plugin before reading it.
    let size = metadata.len();
    if size > limits.component_bytes {
        return Err(fail(
            PluginErrorKind::CompileLimit,
            format!(
                "it is {size} bytes, over the component size limit of {} bytes; raise it with --max-component-size or `max-component-size` in its [[check]] table",
                limits.component_bytes
            ),
        ));
    }
    let unreadable = |e: std::io::Error| fail(PluginErrorKind::Io, format!("{e}; check the path"));
    let mut bytes = Vec::new();
    // `take`: the file may have grown since it was measured.
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path).map_err(unreadable)?, limits.component_bytes + 1),
        &mut bytes,
    )
    .map_err(unreadable)?;
    if bytes.len() as u64 > limits.component_bytes {
        return Err(fail(
            PluginErrorKind::CompileLimit,
            format!(
                "it grew past the component size limit of {} bytes while it was read",
                limits.component_bytes
            ),
        ));
    }
    let (component, cache) =
        engine.load(bytes, limits.compile_timeout).map_err(|(kind, message)| fail(kind, message))?;
    let shape = contract::shape(&component, engine.engine());
    Ok((component, cache, shape))
}

/// `stepkit plugin inspect`: the component's contract version, exports and imports.
pub fn inspect(engine: &PluginEngine, path: &Path, limits: &Limits) -> Result<Shape, PluginError> {
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    load(engine, path, &name, limits).map(|(_, _, shape)| shape)
}

fn execute(
    engine: &PluginEngine,
    spec: &PluginSpec,
    input: &CheckInput,
    (runtime, on_start): (Option<tokio::runtime::Handle>, impl FnOnce()),
    (stdout, stderr): (&Capture, &Capture),
    logs: &mut Logs,
    (cache, timings): (&mut CacheUse, &mut Timings),
) -> Result<Report, PluginError> {
    let loading = Instant::now();
    let (component, cache_use, shape) = load(engine, &spec.file, &spec.name, &spec.limits)?;
    timings.load_ms = ms_precise(loading);
    *cache = cache_use;
    // The message quotes the component's export names.
    contract::check_compatible(&shape)
        .map_err(|(kind, message)| error(spec, kind, sanitize::line(&message, MAX_MESSAGE)))?;

    let mut linker: Linker<State> = Linker::new(engine.engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|e| error(spec, PluginErrorKind::Link, format!("{e:#}")))?;
    Plugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
        .map_err(|e| error(spec, PluginErrorKind::Link, format!("{e:#}")))?;

    // Default deny: no inherited stdio, env, args, sockets or name lookup; only what the grants add.
    let mut wasi = WasiCtx::builder();
    // The store is driven synchronously on its own thread: file calls may block it directly instead of
    // a round trip through a thread pool per call (~0.2 ms per file otherwise).
    wasi.stdout(stdout.clone()).stderr(stderr.clone()).allow_blocking_current_thread(true);
    for (name, value) in &spec.grants.env {
        wasi.env(name, value);
    }
    let mut readable = Vec::new();
    for dir in &spec.grants.read {
        let guest = dir.to_string_lossy().into_owned();
        wasi.preopened_dir(dir, &guest, FsPerms::ReadOnly).map_err(|e| {
            error(spec, PluginErrorKind::Io, format!("open --allow-read {}: {e:#}", dir.display()))
        })?;
        readable.push(guest);
    }
    let started = Instant::now();
    // The deadline (epochs, and `State::started` for host calls) counts from here.
    on_start();
    let state = State {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limiter: Limiter::new(spec.limits.memory),
        logs: Logs::default(),
        limits: spec.limits.clone(),
        started,
        fetcher: Fetcher::new(spec.grants.hosts.clone(), runtime),
    };
    let mut store = Store::new(engine.engine(), state);
    store.limiter(|state| &mut state.limiter);
    let ticks = (spec.limits.timeout.as_millis() / TICK.as_millis()).max(1);
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    store.epoch_deadline_trap();

    let instantiated = Plugin::instantiate(&mut store, &component, &linker);
    timings.instantiate_ms = ms_precise(started);
    let running = Instant::now();
    let result = instantiated.map_err(|e| classify(spec, &store, e, true)).and_then(|plugin| {
        let input = wit_input(spec, input, readable);
        plugin
            .stepkit_check_check()
            .call_run(&mut store, &input)
            .map_err(|e| classify(spec, &store, e, false))
    });
    timings.run_ms = ms_precise(running);
    *logs = std::mem::take(&mut store.data_mut().logs);
    match result? {
        Ok(report) => Ok(convert(report, spec.limits.findings)),
        Err(check_error) => {
            let message = match check_error {
                wit::CheckError::InvalidConfig(m) => format!("invalid config: {m}"),
                wit::CheckError::Io(m) => format!("i/o: {m}"),
                wit::CheckError::Other(m) => m,
            };
            Err(error(spec, PluginErrorKind::CheckError, sanitize::line(&message, MAX_MESSAGE)))
        }
    }
}

fn wit_input(spec: &PluginSpec, input: &CheckInput, readable_dirs: Vec<String>) -> wit::Input {
    wit::Input {
        config: spec.grants.config.clone(),
        changed_files: input.changed_files.clone(),
        readable_dirs,
        ci: wit::CiContext {
            provider: input.ci.provider.clone(),
            repository: input.ci.repository.clone(),
            sha: input.ci.sha.clone(),
            branch: input.ci.branch.clone(),
            pull_request: input.ci.pull_request,
        },
    }
}

/// Names what stopped the plugin: the deadline, the memory limit, exit, a missing import, or a trap.
fn classify(
    spec: &PluginSpec,
    store: &Store<State>,
    err: wasmtime::Error,
    instantiating: bool,
) -> PluginError {
    let limits = &spec.limits;
    if let Some(Trap::Interrupt) = err.downcast_ref::<Trap>() {
        let what = format!("it was stopped after {} (the limit; raise it with --timeout or `timeout` in its [[check]] table)", humantime::format_duration(limits.timeout));
        return error(spec, PluginErrorKind::Timeout, what);
    }
    if store.data().limiter.hit {
        let what = format!(
            "it asked for more than {} MiB (raise it with --memory or `memory` in its [[check]] table)",
            limits.memory >> 20
        );
        return error(spec, PluginErrorKind::MemoryLimit, what);
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return error(
            spec,
            PluginErrorKind::Exit,
            format!("it called exit({}) instead of returning a report", exit.0),
        );
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        // wasmtime's full text carries a multi-line backtrace; the trap and the function it hit say enough.
        let function = err
            .downcast_ref::<wasmtime::WasmBacktrace>()
            .and_then(|bt| bt.frames().iter().find_map(|f| f.func_name().map(str::to_string)))
            .map(|name| format!(" in {name}"))
            .unwrap_or_default();
        return error(spec, PluginErrorKind::Trap, sanitize::line(&format!("{trap}{function}"), MAX_MESSAGE));
    }
    let text = sanitize::line(&format!("{err:#}"), MAX_MESSAGE);
    if instantiating && is_resource_exhaustion(&err) {
        // wasmtime reserves address space for each linear memory at instantiation; `ulimit -v`, a cgroup or
        // a full machine makes that fail, which says nothing about the plugin's imports.
        let what = format!("the host could not reserve memory to instantiate it ({text}); the machine, its `ulimit -v` or its container limits are too tight: raise them or run fewer plugins at once (--jobs)");
        return error(spec, PluginErrorKind::Resources, what);
    }
    if instantiating {
        return error(
            spec,
            PluginErrorKind::Link,
            format!("{text}; `stepkit plugin inspect` lists what it imports"),
        );
    }
    error(spec, PluginErrorKind::Trap, text)
}

/// Whether `err` comes from the host running out of memory or address space (ENOMEM from mmap and the
/// like), seen through wasmtime's error chain, where it arrives as an io error or as its text.
fn is_resource_exhaustion(err: &wasmtime::Error) -> bool {
    err.chain().any(|cause| {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::OutOfMemory || io.raw_os_error() == Some(libc::ENOMEM) {
                return true;
            }
        }
        let text = cause.to_string();
        text.contains("Cannot allocate memory")
            || text.contains("os error 12")
            || text.contains("out of memory")
    })
}

fn convert(report: wit::Report, max_findings: usize) -> Report {
    let verdict = match report.verdict {
        wit::Verdict::Pass => Verdict::Pass,
        wit::Verdict::Warn => Verdict::Warn,
        wit::Verdict::Fail => Verdict::Fail,
        wit::Verdict::Skip => Verdict::Skip,
        wit::Verdict::Error => Verdict::Error,
    };
    let total = report.findings.len() + report.metrics.len();
    let findings: Vec<Finding> = report
        .findings
        .into_iter()
        .take(max_findings)
        .map(|f| {
            let file = f.file.as_deref().and_then(sanitize::relative_path);
            let mut message = sanitize::line(&f.message, MAX_MESSAGE);
            // A file that is not a plain relative path (bidi, zero-width, `##[`, `..`) is no location, but
            // what the plugin said is not lost: it stays in the message, sanitized.
            if let (None, Some(raw)) = (&file, &f.file) {
                message.push_str(&format!(" (file: {})", sanitize::line(raw, 300)));
            }
            Finding {
                message,
                line: f.line.filter(|_| file.is_some()),
                file,
                severity: match f.severity {
                    wit::Severity::Notice => Severity::Notice,
                    wit::Severity::Warning => Severity::Warning,
                    wit::Severity::Failure => Severity::Failure,
                },
            }
        })
        .collect();
    let metrics: Vec<Metric> = report
        .metrics
        .into_iter()
        .take(MAX_METRICS)
        .map(|m| Metric {
            name: sanitize::line(&m.name, 100),
            value: m.value,
            unit: sanitize::line(&m.unit, 20),
        })
        .collect();
    let dropped = total - findings.len() - metrics.len();
    Report { verdict, summary: sanitize::line(&report.summary, MAX_SUMMARY), findings, metrics, dropped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_reservation_failures_are_resources_not_link() {
        let enomem = wasmtime::Error::new(std::io::Error::from_raw_os_error(libc::ENOMEM))
            .context("failed to create memory");
        assert!(is_resource_exhaustion(&enomem));
        // As rustix reports an mmap failure: its own error type, known here only by its text.
        assert!(is_resource_exhaustion(
            &wasmtime::format_err!("Cannot allocate memory (os error 12)").context("instantiate")
        ));
        let link = wasmtime::format_err!("component imports instance `acme:thing/x`, but a matching implementation was not found in the linker");
        assert!(!is_resource_exhaustion(&link));
        assert!(!is_resource_exhaustion(&wasmtime::Error::new(std::io::Error::from_raw_os_error(
            libc::ENOENT
        ))));
    }
}
