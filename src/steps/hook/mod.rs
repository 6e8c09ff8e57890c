//! `stepkit hook serve|list|show|replay`: a webhook receiver for teams without a CI server. It
//! verifies GitHub/GitLab/Gitea deliveries, matches `[[hook.rule]]`s, queues one job per rule per
//! target and runs the rule's stepkit steps on a checkout of the pushed commit.

mod checkout;
pub mod event;
mod log;
pub mod rules;
mod serve;
mod server;
pub mod store;
pub mod verify;
mod worker;
mod writer;

pub use log::{list, replay, show};
pub use rules::Rule;
pub use serve::serve;
pub use server::QueuePolicy;
pub use worker::{JobRecord, StepRecord, JOB_SCHEMA_VERSION};

use crate::secret::Secret;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A target's queue when `[hook.target.NAME]` says nothing: coalesce, at most 16 queued.
pub const DEFAULT_QUEUE: QueuePolicy = QueuePolicy { coalesce: true, queue_limit: 16 };

/// The request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bodies over this many bytes are refused (unread when Content-Length says so).
    pub max_body: usize,
    /// A client must send its request line and headers within this time.
    pub header_timeout: Duration,
    /// ... and its body within this time.
    pub body_timeout: Duration,
    /// Connections served at once; more are dropped.
    pub max_connections: usize,
}

/// A target's settings (`[hook.target.NAME]`).
#[derive(Debug, Clone)]
pub struct TargetSettings {
    pub queue: QueuePolicy,
    pub quiet: Duration,
}

/// PEM files for serving HTTPS directly.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `stepkit hook serve`, resolved.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub secret: Secret,
    /// Where the secret came from, so children can be kept from inheriting it.
    pub secret_env: Option<String>,
    pub tls: Option<TlsFiles>,
    pub limits: Limits,
    /// The store (`<state>/hook.db`), checkouts and job records live here.
    pub state_dir: PathBuf,
    pub grace: Duration,
    pub rules: Vec<Rule>,
    pub targets: BTreeMap<String, TargetSettings>,
    /// This binary, which runs the steps.
    pub exe: PathBuf,
}

/// `stepkit hook list|show|replay`, resolved.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub state_dir: PathBuf,
    pub rules: Vec<Rule>,
    pub targets: BTreeMap<String, TargetSettings>,
    pub limit: i64,
}

/// The store's file inside the state directory.
pub fn store_path(state_dir: &std::path::Path) -> PathBuf {
    state_dir.join("hook.db")
}

/// Why the hook could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("listen on {addr}: {source}; choose a free address with --listen / STEPKIT_HOOK_LISTEN")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("load the TLS {what} {path}: {message}; give PEM files with --tls-cert and --tls-key")]
    Tls { what: &'static str, path: PathBuf, message: String },
    #[error("find delivery {id} in {store}: no such delivery; `stepkit hook list` shows the ids")]
    NoDelivery { id: i64, store: PathBuf },
    #[error("find job {id} in {store}: no such job; `stepkit hook list` shows the ids")]
    NoJob { id: i64, store: PathBuf },
    #[error("replay delivery {id}: {why}")]
    Replay { id: i64, why: String },
    #[error("run the hook server: {0}")]
    Runtime(std::io::Error),
}

impl crate::error::ModuleError for HookError {
    /// Usage errors (exit 2): a wrong id, a bad TLS file, a delivery that cannot be replayed.
    fn is_usage(&self) -> bool {
        matches!(
            self,
            HookError::Tls { .. }
                | HookError::NoDelivery { .. }
                | HookError::NoJob { .. }
                | HookError::Replay { .. }
        )
    }
}
