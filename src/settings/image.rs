//! Settings for `stepkit image build|push`: tags (given and from CI), OCI labels, registry login.

use super::{ConfigError, Secret};
use crate::ci::{git_head_commit_time, Context, Env};
use chrono::{DateTime, Utc};
use crate::cli::{BuildArgs, LoginArgs, PushArgs};
use crate::steps::image::build::BuildRequest;
use crate::steps::image::push::RetryPolicy;
use crate::steps::image::reference::{ci_version, tags_from_ci, Reference};
use crate::steps::image::{BuildSettings, PushSettings};
use std::path::Path;
use std::time::Duration;

fn flag(name: &str, message: String) -> ConfigError {
    ConfigError::Flag { flag: name.into(), message }
}

fn pairs(values: &[String], name: &str) -> Result<Vec<(String, String)>, ConfigError> {
    values
        .iter()
        .map(|v| v.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| flag(name, format!("`{v}` is not K=V"))))
        .collect()
}

/// Resolves the registry login; the password comes from the env or stdin, never argv.
pub fn push_settings(login: &LoginArgs, env: &Env, stdin: impl std::io::Read) -> Result<PushSettings, ConfigError> {
    let username = login.username.clone().or_else(|| env.get("STEPKIT_REGISTRY_USERNAME").map(str::to_string));
    let password = if login.password_stdin {
        Some(Secret::from_reader("the registry password", stdin)?)
    } else {
        Secret::from_env(env, "STEPKIT_REGISTRY_PASSWORD")
    };
    if username.is_some() && password.is_none() {
        return Err(flag("--username", "no password: set STEPKIT_REGISTRY_PASSWORD or pass --password-stdin".into()));
    }
    let budget = duration(login.retry_budget.as_deref(), env, "--retry-budget", "STEPKIT_PUSH_RETRY_BUDGET", Duration::from_secs(120))?;
    let stall = duration(login.stall_timeout.as_deref(), env, "--stall-timeout", "STEPKIT_PUSH_STALL_TIMEOUT", Duration::from_secs(120))?;
    if stall.is_zero() {
        return Err(flag("--stall-timeout", "must be more than 0 (every attempt would be stuck at once)".into()));
    }
    let retry = RetryPolicy { first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(30), budget, stall };
    Ok(PushSettings { username, password, docker_config: docker_config_file(env), retry })
}

/// A duration from the flag, else the env var, else `default`; errors name where the text came from.
fn duration(flag_value: Option<&str>, env: &Env, name: &str, env_name: &str, default: Duration) -> Result<Duration, ConfigError> {
    let parse = |text: &str| humantime::parse_duration(text.trim()).map_err(|e| e.to_string());
    match (flag_value, env.get(env_name)) {
        (Some(text), _) => parse(text).map_err(|e| flag(name, format!("`{text}` is not a duration like 90s or 5m ({e})"))),
        (None, Some(text)) => parse(text).map_err(|_| ConfigError::Env { name: env_name.into(), value: text.into(), expected: "a duration like 90s or 5m".into() }),
        (None, None) => Ok(default),
    }
}

/// The docker config file the docker CLI reads: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_file(env: &Env) -> Option<std::path::PathBuf> {
    env.get("DOCKER_CONFIG").map(std::path::PathBuf::from).or_else(|| env.get("HOME").map(|home| Path::new(home).join(".docker"))).map(|dir| dir.join("config.json"))
}

/// Resolves `image build`.
pub fn build_settings(args: &BuildArgs, env: &Env, ctx: &Context, cwd: &Path, stdin: impl std::io::Read) -> Result<BuildSettings, ConfigError> {
    let context = cwd.join(args.context.clone().unwrap_or_else(|| ".".into()));
    let dockerfile = match &args.file {
        Some(f) => cwd.join(f),
        None => context.join("Dockerfile"),
    };
    let mut tags = Vec::new();
    for tag in &args.tag {
        tags.push(Reference::parse(tag).map_err(|m| flag("--tag", m))?);
    }
    if args.tags_from_ci {
        let image = args.image.as_deref().unwrap_or_default();
        let base = Reference::parse(image).map_err(|m| flag("--image", m))?;
        for tag in tags_from_ci(ctx) {
            tags.push(base.with_tag(&tag));
        }
    }
    if tags.is_empty() {
        return Err(flag("--tag", "give at least one --tag, or --image with --tags-from-ci".into()));
    }
    let created = created_time(env, &context)?;
    let mut labels = oci_labels(ctx, &tags[0], created);
    for (k, v) in pairs(&args.label, "--label")? {
        labels.retain(|(key, _)| *key != k);
        labels.push((k, v));
    }
    let request = BuildRequest {
        context,
        dockerfile,
        tags,
        build_args: pairs(&args.build_arg, "--build-arg")?,
        labels,
        target: args.target.clone(),
        no_cache: args.no_cache,
        pull: args.pull,
    };
    let push = if args.push { Some(push_settings(&args.login, env, stdin)?) } else { None };
    Ok(BuildSettings { request, push })
}

/// Resolves `image push`.
pub fn push_args(args: &PushArgs, env: &Env, stdin: impl std::io::Read) -> Result<(Vec<Reference>, PushSettings), ConfigError> {
    let refs = args.tags.iter().map(|t| Reference::parse(t).map_err(|m| flag("TAG", m))).collect::<Result<Vec<_>, _>>()?;
    Ok((refs, push_settings(&args.login, env, stdin)?))
}

/// The image's `created` time: SOURCE_DATE_EPOCH (the reproducible-builds convention), else the time
/// of the commit being built, else now. Not "now" by default: a label that changes on every build
/// would defeat the daemon's build cache, and the same commit should give the same image.
fn created_time(env: &Env, context: &Path) -> Result<DateTime<Utc>, ConfigError> {
    if let Some(text) = env.get("SOURCE_DATE_EPOCH") {
        let invalid = || ConfigError::Env { name: "SOURCE_DATE_EPOCH".into(), value: text.to_string(), expected: "whole seconds since 1970-01-01 UTC".into() };
        let seconds: i64 = text.trim().parse().map_err(|_| invalid())?;
        return DateTime::from_timestamp(seconds, 0).ok_or_else(invalid);
    }
    Ok(git_head_commit_time(context).and_then(|s| DateTime::from_timestamp(s, 0)).unwrap_or_else(Utc::now))
}

/// The OCI labels every image gets: source, revision, created, version, title.
fn oci_labels(ctx: &Context, first: &Reference, created: DateTime<Utc>) -> Vec<(String, String)> {
    let mut labels = vec![("org.opencontainers.image.created".to_string(), created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))];
    if let Some(repo) = &ctx.repository {
        let source = if repo.contains("://") { repo.clone() } else { format!("https://github.com/{repo}") };
        labels.push(("org.opencontainers.image.source".into(), source));
    }
    if let Some(sha) = &ctx.sha {
        labels.push(("org.opencontainers.image.revision".into(), sha.clone()));
    }
    // metadata-action's version (`v1.4.2` -> `1.4.2`); without any CI context, the first tag.
    labels.push(("org.opencontainers.image.version".into(), ci_version(ctx).unwrap_or_else(|| first.tag.clone())));
    labels.push(("org.opencontainers.image.title".into(), first.repository.rsplit('/').next().unwrap_or_default().to_string()));
    labels
}
