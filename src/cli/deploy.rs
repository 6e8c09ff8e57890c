//! `stepkit deploy` and `stepkit deploy rollback` arguments.

use super::GateArgs;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `stepkit deploy --name APP --image IMAGE [container options] [gate options]`, or `stepkit deploy rollback --name APP`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub command: Option<DeployCommand>,
    #[command(flatten)]
    pub run: DeployRunArgs,
}

/// `stepkit deploy rollback`.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Put the newest kept version of APP back in place, behind the same gate
    Rollback(Box<RollbackArgs>),
    /// Restart or remove a companion (a database, a cache), which `stepkit deploy` never replaces
    Companion(super::CompanionArgs),
}

/// The container to deploy and how the old one is kept.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Besides the --http/--tcp/--container probes given, the gate always watches the new container itself: running, and healthy when its image has a HEALTHCHECK.\n\
Exit codes: 0 deployed, 1 the new version (or a companion, or a hook) failed and the previous one serves, 2 usage (also: the registry refused the login, the image is missing with --pull never), 3 Docker or the registry unreachable, 124 another deploy of APP still held its lock after --lock-timeout, 130/143 interrupted (the previous version is put back first).\n\n\
Examples:\n  stepkit deploy --name web --image registry.local/web:1.4.2 --publish 8080:8080 --http http://127.0.0.1:8080/health\n  \
stepkit deploy --name worker --image worker:sha-0123456 --network backend --env-file prod.env --keep 3\n  \
stepkit deploy --name web --image web:1.4.3 --proxy-socket /run/haproxy/admin.sock --upstream-port 8080 --drain-timeout 30s\n  \
stepkit deploy rollback --name web --http http://127.0.0.1:8080/health"
)]
pub struct DeployRunArgs {
    /// The [env.NAME] table of stepkit.toml to deploy with; flags and STEPKIT_DEPLOY_* variables still win [env: STEPKIT_ENVIRONMENT]
    #[arg(long, value_name = "NAME", help_heading = "Deploy")]
    pub environment: Option<String>,
    /// The application: the container's name [env: STEPKIT_DEPLOY_NAME]
    #[arg(long, value_name = "APP", help_heading = "Deploy")]
    pub name: Option<String>,
    /// The image to run; pulled from its registry when it is not in the local engine (see --pull) [env: STEPKIT_DEPLOY_IMAGE]
    #[arg(long, value_name = "IMAGE", help_heading = "Deploy")]
    pub image: Option<String>,
    /// Publish a container port: [IP:]HOST:CONTAINER[/tcp|udp] (repeatable). The previous version is stopped before the new one starts when they publish the same host port
    #[arg(long, short = 'p', value_name = "H:C", help_heading = "Deploy")]
    pub publish: Vec<String>,
    /// An environment variable for the container (repeatable); values on the command line are not secret, use --env-file for those
    #[arg(long, short = 'e', value_name = "K=V", help_heading = "Deploy")]
    pub env: Vec<String>,
    /// A file of KEY=VALUE lines (docker's env-file format); its values are secrets: masked, never printed [env: STEPKIT_DEPLOY_ENV_FILE]
    #[arg(long, value_name = "FILE", help_heading = "Deploy")]
    pub env_file: Option<PathBuf>,
    /// The network to attach the container to [env: STEPKIT_DEPLOY_NETWORK] [default: the engine's default bridge]
    #[arg(long, value_name = "NETWORK", help_heading = "Deploy")]
    pub network: Option<String>,
    /// A container label (repeatable); io.stepkit.deploy.* are stepkit's own
    #[arg(long, short = 'l', value_name = "K=V", help_heading = "Deploy")]
    pub label: Vec<String>,
    /// How many previous versions stay (stopped) for `stepkit deploy rollback`; older ones are removed [env: STEPKIT_DEPLOY_KEEP] [default: 1]
    #[arg(long, value_name = "N", help_heading = "Deploy")]
    pub keep: Option<usize>,
    #[command(flatten)]
    pub stop: StopArgs,
    /// The result file of an earlier deploy of APP: its duration_ms is the baseline for the duration delta [env: STEPKIT_DEPLOY_PREVIOUS_RESULT]
    #[arg(long, value_name = "FILE", help_heading = "Deploy")]
    pub previous_result: Option<PathBuf>,
    #[command(flatten)]
    pub spec: super::SpecArgs,
    #[command(flatten)]
    pub hooks: super::DeployHookArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    #[command(flatten)]
    pub github: super::GithubDeploymentArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// `stepkit deploy rollback --name APP [gate options]`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The current APP is stopped and removed once the restored version passes the gate; if the restored version fails it, the current one is put back.\n\
Exit codes: 0 rolled back, 1 the restored version failed its gate (the current one was put back), 2 usage or nothing kept to roll back to, 3 Docker unreachable, 124 another deploy of APP still held its lock after --lock-timeout."
)]
pub struct RollbackArgs {
    /// The [env.NAME] table of stepkit.toml (its name, stop and lock timeouts, probes, gate policy) [env: STEPKIT_ENVIRONMENT]
    #[arg(long, value_name = "NAME", help_heading = "Deploy")]
    pub environment: Option<String>,
    /// The application to roll back [env: STEPKIT_DEPLOY_NAME]
    #[arg(long, value_name = "APP", help_heading = "Deploy")]
    pub name: Option<String>,
    #[command(flatten)]
    pub stop: StopArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// How a replaced container is stopped (deploy, rollback and the companion commands alike).
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// How long a container gets to stop after SIGTERM before it is killed [env: STEPKIT_DEPLOY_STOP_TIMEOUT] [default: 10s]
    #[arg(long, value_name = "DURATION", help_heading = "Deploy")]
    pub stop_timeout: Option<String>,
}

/// One deploy of an app at a time (deploy and rollback alike).
#[derive(Debug, Clone, Args)]
pub struct LockArgs {
    /// How long to wait while another deploy of APP holds its lock; 0 fails at once [env: STEPKIT_DEPLOY_LOCK_TIMEOUT] [default: 10m]
    #[arg(long, value_name = "DURATION", help_heading = "Deploy")]
    pub lock_timeout: Option<String>,
    /// Where the per-app lock files live; deploys that share the engine must share it [env: STEPKIT_DEPLOY_LOCK_DIR] [default: $XDG_STATE_HOME/stepkit/deploy, else ~/.local/state/stepkit/deploy]
    #[arg(long, value_name = "DIR", help_heading = "Deploy")]
    pub lock_dir: Option<PathBuf>,
}

/// Moving traffic through a reverse proxy (HAProxy's runtime API) instead of by the container's name.
#[derive(Debug, Clone, Default, Args)]
pub struct ProxyArgs {
    /// HAProxy's admin socket (a unix socket path or HOST:PORT, `stats socket ... level admin`); giving it moves traffic through HAProxy once the new version passed its gate [env: STEPKIT_DEPLOY_PROXY_SOCKET]
    #[arg(long, value_name = "PATH|HOST:PORT", help_heading = "Proxy")]
    pub proxy_socket: Option<String>,
    /// The HAProxy backend the versions are servers of [env: STEPKIT_DEPLOY_PROXY_BACKEND] [default: APP]
    #[arg(long, value_name = "NAME", help_heading = "Proxy")]
    pub proxy_backend: Option<String>,
    /// The container port HAProxy sends requests to; required with --proxy-socket [env: STEPKIT_DEPLOY_UPSTREAM_PORT]
    #[arg(long, value_name = "PORT", help_heading = "Proxy")]
    pub upstream_port: Option<String>,
    /// How long the previous version may finish its requests in flight before they are cut [env: STEPKIT_DEPLOY_DRAIN_TIMEOUT] [default: 30s]
    #[arg(long, value_name = "DURATION", help_heading = "Proxy")]
    pub drain_timeout: Option<String>,
}
