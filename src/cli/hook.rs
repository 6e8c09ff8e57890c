//! `stepkit hook` arguments: the webhook server and its log.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `stepkit hook serve|list|show|replay`
#[derive(Debug, Clone, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

/// The hook subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum HookCommand {
    /// Receive GitHub/GitLab/Gitea webhooks and run the matching [[hook.rule]]'s steps
    Serve(HookServeArgs),
    /// The newest deliveries and jobs
    List(HookListArgs),
    /// One delivery and its jobs (or one job with --job)
    Show(HookShowArgs),
    /// Queue the jobs an earlier delivery matches under today's rules
    Replay(HookReplayArgs),
}

/// Where the store is, for every hook command.
#[derive(Debug, Clone, Args)]
pub struct StateDirArg {
    /// The directory of the store, checkouts and job records [env: STEPKIT_HOOK_STATE_DIR] [default: .stepkit/hook]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// `stepkit hook serve`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The webhook secret comes from STEPKIT_HOOK_SECRET or --secret-file, never argv; without one the server does not start.\n\
Rules, targets and defaults are read from [hook] in stepkit.toml (see docs/hook.md).\n\
Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad config or no secret, 3 cannot listen or open the store."
)]
pub struct HookServeArgs {
    /// Address to listen on [env: STEPKIT_HOOK_LISTEN] [default: 127.0.0.1:9000]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Read the webhook secret from FILE [env: STEPKIT_HOOK_SECRET_FILE]
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateDirArg,
    /// Largest body accepted, in bytes [env: STEPKIT_HOOK_MAX_BODY] [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<u64>,
    /// Time a client has to send its request headers [env: STEPKIT_HOOK_HEADER_TIMEOUT] [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub header_timeout: Option<String>,
    /// Time a client has to send its body [env: STEPKIT_HOOK_BODY_TIMEOUT] [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub body_timeout: Option<String>,
    /// On SIGTERM, how long a running job may go on before it is stopped [env: STEPKIT_HOOK_GRACE] [default: 60s]
    #[arg(long, value_name = "DURATION")]
    pub grace: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// `stepkit hook list`
#[derive(Debug, Clone, Args)]
pub struct HookListArgs {
    #[command(flatten)]
    pub state: StateDirArg,
    /// How many deliveries and jobs [default: 20]
    #[arg(long, value_name = "N")]
    pub limit: Option<i64>,
}

/// `stepkit hook show ID`
#[derive(Debug, Clone, Args)]
pub struct HookShowArgs {
    /// The delivery id (or job id with --job), as `hook list` prints it
    pub id: i64,
    /// ID is a job id
    #[arg(long)]
    pub job: bool,
    #[command(flatten)]
    pub state: StateDirArg,
}

/// `stepkit hook replay ID`
#[derive(Debug, Clone, Args)]
pub struct HookReplayArgs {
    /// The delivery id, as `hook list` prints it
    pub id: i64,
    #[command(flatten)]
    pub state: StateDirArg,
}
