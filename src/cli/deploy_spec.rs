//! `stepkit deploy` arguments for the container spec, the registry pull, hooks, and
//! `stepkit deploy companion restart|remove`.

use super::{LockArgs, StopArgs};
use clap::{Args, Subcommand};

/// What the app's container gets beyond image, env, ports and network (also `[deploy.container]`).
#[derive(Debug, Clone, Default, Args)]
pub struct SpecArgs {
    /// Mount a named volume or a host path: SOURCE:TARGET[:ro|rw] (repeatable); a SOURCE starting with /, ./ or ../ is a bind mount
    #[arg(long, value_name = "SRC:DST", help_heading = "Container")]
    pub volume: Vec<String>,
    /// Replace the image's ENTRYPOINT: an argv, split like a shell would (no shell runs it) [env: STEPKIT_DEPLOY_ENTRYPOINT]
    #[arg(long, value_name = "CMD", help_heading = "Container")]
    pub entrypoint: Option<String>,
    /// Replace the image's CMD: an argv, split like a shell would (no shell runs it unless it says sh -c) [env: STEPKIT_DEPLOY_COMMAND]
    #[arg(long, value_name = "CMD", help_heading = "Container")]
    pub command: Option<String>,
    /// no, always, unless-stopped or on-failure[:N] [env: STEPKIT_DEPLOY_RESTART] [default: unless-stopped]
    #[arg(long, value_name = "POLICY", help_heading = "Container")]
    pub restart: Option<String>,
    /// Memory limit: 256m, 1g [env: STEPKIT_DEPLOY_MEMORY]
    #[arg(long, value_name = "SIZE", help_heading = "Container")]
    pub memory: Option<String>,
    /// CPU limit: 0.5, 2 [env: STEPKIT_DEPLOY_CPUS]
    #[arg(long, value_name = "N", help_heading = "Container")]
    pub cpus: Option<String>,
    /// The user (and group) the container runs as: 1000, app, 1000:1000 [env: STEPKIT_DEPLOY_USER]
    #[arg(long, value_name = "USER", help_heading = "Container")]
    pub user: Option<String>,
    /// An /etc/hosts entry HOST:IP (repeatable)
    #[arg(long, value_name = "HOST:IP", help_heading = "Container")]
    pub add_host: Vec<String>,
    /// When to pull the image from its registry (credentials as for `stepkit image push`: STEPKIT_REGISTRY_USERNAME + STEPKIT_REGISTRY_PASSWORD, else the docker config): missing, always, never [env: STEPKIT_DEPLOY_PULL] [default: missing]
    #[arg(long, value_name = "WHEN", help_heading = "Container")]
    pub pull: Option<String>,
}

/// Commands run in a one-off container of the new image (also `[deploy.hooks]`).
#[derive(Debug, Clone, Default, Args)]
pub struct DeployHookArgs {
    /// Run CMD (an argv, split like a shell would; no shell unless it says sh -c) once the new version passed its gate, before it gets traffic or the app's name; a failure leaves the previous version serving (repeatable, in order)
    #[arg(long, value_name = "CMD", help_heading = "Hooks")]
    pub before_switch: Vec<String>,
    /// Run CMD once the new version took over; a failure fails the deploy but the new version stays (repeatable)
    #[arg(long, value_name = "CMD", help_heading = "Hooks")]
    pub after_switch: Vec<String>,
    /// How long one hook may run before its container is killed [env: STEPKIT_DEPLOY_HOOK_TIMEOUT] [default: 10m]
    #[arg(long, value_name = "DURATION", help_heading = "Hooks")]
    pub hook_timeout: Option<String>,
}

/// `stepkit deploy companion restart|remove NAME`.
#[derive(Debug, Args)]
pub struct CompanionArgs {
    #[command(subcommand)]
    pub command: CompanionCommand,
}

/// What to do to a companion that `stepkit deploy` leaves alone.
#[derive(Debug, Subcommand)]
pub enum CompanionCommand {
    /// Replace the companion's container with one from stepkit.toml as it is now, and gate it (its volumes stay)
    Restart(CompanionTarget),
    /// Stop and remove the companion's container; its named volumes stay (remove them with docker volume rm)
    Remove(CompanionTarget),
}

/// Which companion of which app.
#[derive(Debug, Clone, Args)]
pub struct CompanionTarget {
    /// The companion, as named in [deploy.companions.NAME] (or [env.ENV.companions.NAME])
    #[arg(value_name = "NAME")]
    pub companion: String,
    /// The [env.NAME] table of stepkit.toml [env: STEPKIT_ENVIRONMENT]
    #[arg(long, value_name = "NAME", help_heading = "Deploy")]
    pub environment: Option<String>,
    /// The application the companion belongs to [env: STEPKIT_DEPLOY_NAME]
    #[arg(long, value_name = "APP", help_heading = "Deploy")]
    pub name: Option<String>,
    /// The network of the app [env: STEPKIT_DEPLOY_NETWORK]
    #[arg(long, value_name = "NETWORK", help_heading = "Deploy")]
    pub network: Option<String>,
    #[command(flatten)]
    pub stop: StopArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}
