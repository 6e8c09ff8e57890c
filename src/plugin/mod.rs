//! The WebAssembly plugin host: one wasmtime engine with a compiled-component cache, a store per plugin run
//! with default-deny WASI, resource limits and capability grants, and the `stepkit:check` bindings.

pub mod cache;
pub mod contract;
pub mod grants;
mod host;
mod http;
pub mod limits;
mod run;
/// The shared sanitizer, still reachable as `plugin::sanitize` for the host code.
pub use crate::sanitize;
mod seal;

pub use cache::{CacheUse, PluginEngine};
pub use grants::{Grants, HostGrant};
pub use host::LogLine;
pub use limits::Limits;
pub use run::{
    inspect, run, CheckInput, CiInfo, Finding, Metric, PluginRun, Report, Severity, Timings, Verdict,
};

use std::path::PathBuf;

/// The host side of the `stepkit:check` WIT (wit/check.wit).
#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/check.wit",
        world: "plugin",
    });
}

/// One plugin to run: its file, its name in reports, what it may touch and use.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    pub name: String,
    pub file: PathBuf,
    pub grants: Grants,
    pub limits: Limits,
}

/// How a plugin run went wrong, for reports and JSON (`"kind"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PluginErrorKind {
    /// The plugin file could not be read, or a granted directory could not be opened.
    Io,
    /// Not a WebAssembly component (a core module, a precompiled file, text).
    NotAComponent,
    /// A component wasmtime refused to compile.
    Invalid,
    /// Over the component size limit, or compiling it took longer than the compile time limit.
    CompileLimit,
    /// It exports `stepkit:check/check` of another major version.
    ContractVersion,
    /// It does not export `stepkit:check/check` at all.
    MissingExport,
    /// It imports something this host does not provide.
    Link,
    /// It ran past its time limit (CPU or host calls).
    Timeout,
    /// It asked for more memory (or table space) than its limit.
    MemoryLimit,
    /// Its code panicked.
    Panic,
    /// Its code trapped (unreachable, out-of-bounds access, stack overflow...).
    Trap,
    /// It called exit.
    Exit,
    /// It ran and returned its own `check-error`.
    CheckError,
    /// The host could not get the resources to run it (memory reservation, threads): the machine's limits.
    Resources,
    /// stepkit itself failed while running it (a bug: the run fails rather than pass silently).
    Internal,
}

impl PluginErrorKind {
    /// A few words for tables and headlines.
    pub fn describe(self) -> &'static str {
        match self {
            PluginErrorKind::Io => "could not be read",
            PluginErrorKind::NotAComponent => "is not a component",
            PluginErrorKind::Invalid => "is not a valid component",
            PluginErrorKind::CompileLimit => "is over the compile limits",
            PluginErrorKind::ContractVersion => "was built for another contract version",
            PluginErrorKind::MissingExport => "does not export the check",
            PluginErrorKind::Link => "needs imports stepkit does not provide",
            PluginErrorKind::Timeout => "ran out of time",
            PluginErrorKind::MemoryLimit => "hit its memory limit",
            PluginErrorKind::Panic => "panicked",
            PluginErrorKind::Trap => "trapped",
            PluginErrorKind::Exit => "exited",
            PluginErrorKind::CheckError => "reported an error",
            PluginErrorKind::Resources => "could not get host resources",
            PluginErrorKind::Internal => "hit a stepkit failure",
        }
    }
}

/// A plugin that did not produce a report; names the plugin and its file and says what to do.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[error("run plugin {name} ({}): it {}: {message}", file.display(), kind.describe())]
pub struct PluginError {
    pub name: String,
    pub file: PathBuf,
    pub kind: PluginErrorKind,
    pub message: String,
}
