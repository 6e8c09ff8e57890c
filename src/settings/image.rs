//! Settings for `stepkit image build|push`: tags (given and from CI), OCI labels, registry login.

use super::layered::layers;
use super::{flag, ConfigError, Secret};
use crate::ci::{git_head_commit_time, Context, Env};
use crate::cli::{BuildArgs, LoginArgs, PushArgs};
use crate::retry::RetryPolicy;
use crate::steps::image::build::BuildRequest;
use crate::steps::image::push::PushPolicy;
use crate::steps::image::reference::{ci_version, tags_from_ci, Reference};
use crate::steps::image::{BuildSettings, PushSettings};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::time::Duration;

fn pairs(values: &[String], name: &str) -> Result<Vec<(String, String)>, ConfigError> {
    values
        .iter()
        .map(|v| {
            v.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| flag(name, format!("`{v}` is not K=V")))
        })
        .collect()
}

/// Resolves the registry login; the password comes from the env or stdin, never argv.
pub fn push_settings(
    login: &LoginArgs,
    env: &Env,
    stdin: impl std::io::Read,
) -> Result<PushSettings, ConfigError> {
    let username =
        login.username.clone().or_else(|| env.get("STEPKIT_REGISTRY_USERNAME").map(str::to_string));
    let password = if login.password_stdin {
        Some(Secret::from_reader("the registry password", stdin)?)
    } else {
        Secret::from_env(env, "STEPKIT_REGISTRY_PASSWORD")
    };
    match (&username, &password) {
        (Some(_), None) => {
            return Err(flag(
                "--username",
                "no password: set STEPKIT_REGISTRY_PASSWORD or pass --password-stdin",
            ))
        }
        // A password alone would be silently unused (the docker config would answer instead).
        (None, Some(_)) => {
            let from = if login.password_stdin { "--password-stdin" } else { "STEPKIT_REGISTRY_PASSWORD" };
            return Err(flag(
                "--username",
                format!("{from} gives a password but no user is set: pass --username or set STEPKIT_REGISTRY_USERNAME (or drop {from} to use the docker config)"),
            ));
        }
        _ => {}
    }
    let budget = layers("--retry-budget", login.retry_budget.as_deref())
        .env(env, "STEPKIT_PUSH_RETRY_BUDGET")
        .duration(Duration::from_secs(120))?;
    let stall = layers("--stall-timeout", login.stall_timeout.as_deref())
        .env(env, "STEPKIT_PUSH_STALL_TIMEOUT")
        .duration(Duration::from_secs(120))?;
    if stall.is_zero() {
        return Err(flag("--stall-timeout", "must be more than 0 (every attempt would be stuck at once)"));
    }
    let policy = PushPolicy { retry: RetryPolicy::after_first_failure(budget), stall };
    Ok(PushSettings { username, password, docker_config: docker_config_file(env), policy })
}

/// The docker config file the docker CLI reads: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub(super) fn docker_config_file(env: &Env) -> Option<std::path::PathBuf> {
    env.get("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| env.get("HOME").map(|home| Path::new(home).join(".docker")))
        .map(|dir| dir.join("config.json"))
}

/// Resolves `image build`.
pub fn build_settings(
    args: &BuildArgs,
    env: &Env,
    ctx: &Context,
    cwd: &Path,
    stdin: impl std::io::Read,
) -> Result<BuildSettings, ConfigError> {
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
        return Err(flag("--tag", "give at least one --tag, or --image with --tags-from-ci"));
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
pub fn push_args(
    args: &PushArgs,
    env: &Env,
    stdin: impl std::io::Read,
) -> Result<(Vec<Reference>, PushSettings), ConfigError> {
    let refs = args
        .tags
        .iter()
        .map(|t| Reference::parse(t).map_err(|m| flag("TAG", m)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((refs, push_settings(&args.login, env, stdin)?))
}

/// The image's `created` time: SOURCE_DATE_EPOCH (the reproducible-builds convention), else the time
/// of the commit being built, else now. Not "now" by default: a label that changes on every build
/// would defeat the daemon's build cache, and the same commit should give the same image.
fn created_time(env: &Env, context: &Path) -> Result<DateTime<Utc>, ConfigError> {
    if let Some(text) = env.get("SOURCE_DATE_EPOCH") {
        let invalid = || ConfigError::Env {
            name: "SOURCE_DATE_EPOCH".into(),
            value: text.to_string(),
            expected: "whole seconds since 1970-01-01 UTC".into(),
        };
        let seconds: i64 = text.trim().parse().map_err(|_| invalid())?;
        return DateTime::from_timestamp(seconds, 0).ok_or_else(invalid);
    }
    Ok(git_head_commit_time(context).and_then(|s| DateTime::from_timestamp(s, 0)).unwrap_or_else(Utc::now))
}

/// The OCI labels every image gets: source, revision, created, version, title.
fn oci_labels(ctx: &Context, first: &Reference, created: DateTime<Utc>) -> Vec<(String, String)> {
    let mut labels = vec![(
        "org.opencontainers.image.created".to_string(),
        created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )];
    if let Some(source) = &ctx.repository_url {
        labels.push(("org.opencontainers.image.source".into(), source.clone()));
    }
    if let Some(sha) = &ctx.sha {
        labels.push(("org.opencontainers.image.revision".into(), sha.clone()));
    }
    // metadata-action's version (`v1.4.2` -> `1.4.2`); without any CI context, the first tag.
    labels.push((
        "org.opencontainers.image.version".into(),
        ci_version(ctx).unwrap_or_else(|| first.tag.clone()),
    ));
    labels.push((
        "org.opencontainers.image.title".into(),
        first.repository.rsplit('/').next().unwrap_or_default().to_string(),
    ));
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::Provider;
    use clap::Parser;

    fn build_args(argv: &[&str]) -> BuildArgs {
        let mut full = vec!["stepkit", "image", "build"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Image(crate::cli::ImageArgs {
                command: crate::cli::ImageCommand::Build(args),
            }) => args,
            other => panic!("not image build: {other:?}"),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied().chain([("SOURCE_DATE_EPOCH", "0")]))
    }

    fn resolve(argv: &[&str], pairs: &[(&str, &str)]) -> Result<BuildSettings, ConfigError> {
        build_settings(
            &build_args(argv),
            &env(pairs),
            &Context::new(Provider::Local),
            Path::new("/work"),
            std::io::empty(),
        )
    }

    fn err(argv: &[&str], pairs: &[(&str, &str)]) -> String {
        resolve(argv, pairs).expect_err("an error").to_string()
    }

    #[test]
    fn build_args_and_labels_are_k_equals_v() {
        let s = resolve(
            &[
                "-t",
                "app:1",
                "--build-arg",
                "A=1",
                "--build-arg",
                "B==x=y",
                "--build-arg",
                "EMPTY=",
                "--label",
                "team=ci",
            ],
            &[],
        )
        .unwrap();
        let pairs =
            |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(s.request.build_args, pairs(&[("A", "1"), ("B", "=x=y"), ("EMPTY", "")]));
        assert!(s.request.labels.contains(&("team".into(), "ci".into())));
        let e = err(&["-t", "app:1", "--build-arg", "NOVALUE"], &[]);
        assert!(e.contains("--build-arg") && e.contains("`NOVALUE` is not K=V"), "{e}");
        let e = err(&["-t", "app:1", "--label", "nolabel"], &[]);
        assert!(e.contains("--label") && e.contains("`nolabel`"), "{e}");
    }

    #[test]
    fn a_label_overrides_the_oci_label_of_the_same_name() {
        let s =
            resolve(&["-t", "reg.test/team/app:1", "--label", "org.opencontainers.image.title=Shop"], &[])
                .unwrap();
        let titles: Vec<_> =
            s.request.labels.iter().filter(|(k, _)| k == "org.opencontainers.image.title").collect();
        assert_eq!(titles, [&("org.opencontainers.image.title".to_string(), "Shop".to_string())]);
        assert!(
            s.request.labels.contains(&("org.opencontainers.image.version".into(), "1".into())),
            "no CI context: the first tag's tag"
        );
    }

    #[test]
    fn durations_come_from_the_flag_then_the_env_and_must_parse() {
        let s = resolve(
            &["-t", "app:1", "--push", "--retry-budget", "45s"],
            &[("STEPKIT_PUSH_RETRY_BUDGET", "10m")],
        )
        .unwrap()
        .push
        .unwrap();
        assert_eq!(
            (s.policy.retry.budget, s.policy.stall),
            (Duration::from_secs(45), Duration::from_secs(120))
        );
        let s = resolve(
            &["-t", "app:1", "--push"],
            &[("STEPKIT_PUSH_RETRY_BUDGET", "10m"), ("STEPKIT_PUSH_STALL_TIMEOUT", "30s")],
        )
        .unwrap()
        .push
        .unwrap();
        assert_eq!(
            (s.policy.retry.budget, s.policy.stall),
            (Duration::from_secs(600), Duration::from_secs(30))
        );
        let e = err(&["-t", "app:1", "--push", "--retry-budget", "soon"], &[]);
        assert!(e.contains("use --retry-budget: `soon` is not a duration"), "{e}");
        let e = err(&["-t", "app:1", "--push"], &[("STEPKIT_PUSH_RETRY_BUDGET", "2 fortnights")]);
        assert!(e.contains("STEPKIT_PUSH_RETRY_BUDGET") && e.contains("`2 fortnights`"), "{e}");
        let e = err(&["-t", "app:1", "--push", "--stall-timeout", "0s"], &[]);
        assert!(e.contains("--stall-timeout") && e.contains("more than 0"), "{e}");
    }

    #[test]
    fn a_password_needs_a_user_and_a_user_a_password() {
        let e = err(&["-t", "app:1", "--push"], &[("STEPKIT_REGISTRY_PASSWORD", "pw-alone-4f0c")]);
        assert!(
            e.contains("STEPKIT_REGISTRY_PASSWORD")
                && e.contains("--username")
                && !e.contains("pw-alone-4f0c"),
            "{e}"
        );
        let e = err(&["-t", "app:1", "--push", "--username", "ci"], &[]);
        assert!(e.contains("no password"), "{e}");
        let s = resolve(
            &["-t", "app:1", "--push"],
            &[("STEPKIT_REGISTRY_USERNAME", "ci"), ("STEPKIT_REGISTRY_PASSWORD", "pw-pair-8e21")],
        )
        .unwrap()
        .push
        .unwrap();
        assert_eq!(
            (s.username.as_deref(), s.password.as_ref().map(Secret::expose)),
            (Some("ci"), Some("pw-pair-8e21"))
        );
        // Without --push nothing is pushed, so a password in the environment is no one's business.
        assert!(resolve(&["-t", "app:1"], &[("STEPKIT_REGISTRY_PASSWORD", "pw-alone-4f0c")]).is_ok());
    }

    #[test]
    fn the_docker_config_is_where_the_docker_cli_looks() {
        let s =
            resolve(&["-t", "app:1", "--push"], &[("HOME", "/home/ci"), ("DOCKER_CONFIG", "/etc/docker-ci")])
                .unwrap()
                .push
                .unwrap();
        assert_eq!(s.docker_config.as_deref(), Some(Path::new("/etc/docker-ci/config.json")));
        let s = resolve(&["-t", "app:1", "--push"], &[("HOME", "/home/ci")]).unwrap().push.unwrap();
        assert_eq!(s.docker_config.as_deref(), Some(Path::new("/home/ci/.docker/config.json")));
        assert_eq!(resolve(&["-t", "app:1", "--push"], &[]).unwrap().push.unwrap().docker_config, None);
    }

    #[test]
    fn the_env_table_in_docs_names_every_variable_the_help_does() {
        let commands: [&[&str]; 2] = [&["image", "build"], &["image", "push"]];
        let names = crate::settings::tests::env_table_matches_help(
            "image.md",
            &commands,
            &["STEPKIT_REGISTRY_", "STEPKIT_PUSH_"],
        );
        for var in ["STEPKIT_REGISTRY_PASSWORD", "STEPKIT_PUSH_STALL_TIMEOUT"] {
            assert!(names.contains(var), "{var} in {names:?}");
        }
    }
}
