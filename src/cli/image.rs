//! `stepkit image build|push` arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `stepkit image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

/// `stepkit image <command>`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build an image through the Docker API (context filtered by .dockerignore), optionally push it
    #[command(after_help = "Examples:\n  \
        stepkit image build --tag registry.example.com/app:1.2.3\n  \
        stepkit image build --image ghcr.io/org/app --tags-from-ci --push")]
    Build(BuildArgs),
    /// Push tags to their registry, retrying transient failures, and verify the pushed digest
    Push(PushArgs),
}

/// Registry login options (the password never comes from argv).
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Registry user; the password comes from STEPKIT_REGISTRY_PASSWORD or --password-stdin [env: STEPKIT_REGISTRY_USERNAME]
    #[arg(long)]
    pub username: Option<String>,
    /// Read the registry password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Total time for retrying transient push failures (5xx, 429, refused connections, stalls), from the first failure [env: STEPKIT_PUSH_RETRY_BUDGET] [default: 2m]
    #[arg(long, value_name = "DURATION")]
    pub retry_budget: Option<String>,
    /// Abandon a push attempt after this long without progress from the daemon (a registry that stopped answering); it is retried [env: STEPKIT_PUSH_STALL_TIMEOUT] [default: 2m]
    #[arg(long, value_name = "DURATION")]
    pub stall_timeout: Option<String>,
}

/// `stepkit image build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The build context directory [default: .]
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// The Dockerfile, inside the context [default: <context>/Dockerfile]
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A full tag (repeatable): registry/name:tag
    #[arg(long, short = 't', value_name = "TAG")]
    pub tag: Vec<String>,
    /// Add tags derived from the CI context (sha-<7>, branch, pr-<N>, semver) to --image
    #[arg(long, requires = "image")]
    pub tags_from_ci: bool,
    /// The image name the CI tags go on (registry/name)
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// A build argument (repeatable)
    #[arg(long, value_name = "K=V")]
    pub build_arg: Vec<String>,
    /// A label (repeatable); OCI labels are always set and these override them
    #[arg(long, value_name = "K=V")]
    pub label: Vec<String>,
    /// Build up to this stage of a multi-stage Dockerfile
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Do not use the build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Always pull newer base images
    #[arg(long)]
    pub pull: bool,
    /// Push every tag after the build
    #[arg(long)]
    pub push: bool,
    #[command(flatten)]
    pub login: LoginArgs,
}

/// `stepkit image push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Tags to push: registry/name:tag
    #[arg(required = true, value_name = "TAG")]
    pub tags: Vec<String>,
    #[command(flatten)]
    pub login: LoginArgs,
}
