//! Settings for `stepkit deploy` and `stepkit deploy rollback`: flags, then `STEPKIT_DEPLOY_*`, then
//! defaults; the gate's own flags resolve as for `stepkit gate`, plus a probe of the new container itself.

use super::deploy_env::{env_flags, read_env_file};
use super::deploy_spec::{self, Tables};
use super::environment::{self, Environments};
use super::layered::{layers, Given};
use super::{env_parse, flag, gate_settings, ConfigError, GateFile};
use crate::ci::Env;
use crate::cli::{DeployRunArgs, GateArgs, LockArgs, ProxyArgs, RollbackArgs};
use crate::steps::deploy::lock::LockSettings;
use crate::steps::deploy::names::{valid_app_name, LABEL_PREFIX};
use crate::steps::deploy::traffic::ProxySettings;
use crate::steps::deploy::{DeploySettings, Publish, RollbackSettings};
use crate::steps::gate::GateSettings;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The flag's value, else the variable's, with where it came from; blank counts as unset.
pub(super) fn given<'a>(name: &str, flag: &'a Option<String>, env: &'a Env, var: &str) -> Option<Given<'a>> {
    let flag = flag.as_deref().filter(|v| !v.trim().is_empty());
    layers(name, flag).env(env, var).given().filter(|g| !g.text.trim().is_empty())
}

/// The flag's value, else the variable's, trimmed.
fn value(name: &str, flag: &Option<String>, env: &Env, var: &str) -> Option<String> {
    given(name, flag, env, var).map(|g| g.text.trim().to_string())
}

pub(super) fn app_name(name: &Option<String>, env: &Env) -> Result<String, ConfigError> {
    let given = given("--name", name, env, "STEPKIT_DEPLOY_NAME")
        .ok_or_else(|| flag("--name", "give the application's container name (or STEPKIT_DEPLOY_NAME)"))?;
    given.parse(|text| {
        let app = text.trim().to_string();
        valid_app_name(&app).map(|()| app)
    })
}

/// A duration flag (`0` too), else its variable, else `default`; errors name the one given.
fn duration(
    text: &Option<String>,
    env: &Env,
    (name, var): (&str, &str),
    default: Duration,
) -> Result<Duration, ConfigError> {
    layers(name, text.as_deref().filter(|v| !v.trim().is_empty())).env(env, var).duration(default)
}

/// Whole seconds (the Docker API's unit), rounded up so `500ms` still gives a grace period.
pub(super) fn stop_timeout(text: &Option<String>, env: &Env) -> Result<Duration, ConfigError> {
    let names = ("--stop-timeout", "STEPKIT_DEPLOY_STOP_TIMEOUT");
    let d = duration(text, env, names, Duration::from_secs(10))?;
    Ok(Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0)))
}

/// The lock: 10 minutes' wait by default (a deploy's gate deadline is usually shorter), in the user's
/// state directory unless one shared by everyone who deploys on this engine is given.
pub(super) fn lock(args: &LockArgs, env: &Env, cwd: &Path) -> Result<LockSettings, ConfigError> {
    let names = ("--lock-timeout", "STEPKIT_DEPLOY_LOCK_TIMEOUT");
    let timeout = duration(&args.lock_timeout, env, names, Duration::from_secs(600))?;
    let dir = args
        .lock_dir
        .clone()
        .or_else(|| env.get("STEPKIT_DEPLOY_LOCK_DIR").map(PathBuf::from))
        .map(|dir| cwd.join(dir))
        .unwrap_or_else(|| {
            let xdg = env.get("XDG_STATE_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
            xdg.or_else(|| env.get("HOME").map(|home| Path::new(home).join(".local/state")))
                .unwrap_or_else(std::env::temp_dir)
                .join("stepkit/deploy")
        });
    Ok(LockSettings { dir, timeout })
}

/// The proxy, when `--proxy-socket` is given; the other proxy flags without it are a mistake.
fn proxy(args: &ProxyArgs, env: &Env, app: &str) -> Result<Option<ProxySettings>, ConfigError> {
    let backend = given("--proxy-backend", &args.proxy_backend, env, "STEPKIT_DEPLOY_PROXY_BACKEND");
    let port = given("--upstream-port", &args.upstream_port, env, "STEPKIT_DEPLOY_UPSTREAM_PORT");
    let drain = given("--drain-timeout", &args.drain_timeout, env, "STEPKIT_DEPLOY_DRAIN_TIMEOUT");
    let Some(socket) = value("--proxy-socket", &args.proxy_socket, env, "STEPKIT_DEPLOY_PROXY_SOCKET") else {
        return match [&backend, &port, &drain].into_iter().flatten().next() {
            Some(g) => Err(flag(
                &g.origin.to_string(),
                "works only with --proxy-socket (STEPKIT_DEPLOY_PROXY_SOCKET), HAProxy's admin socket",
            )),
            None => Ok(None),
        };
    };
    let port = port.ok_or_else(|| {
        flag("--upstream-port", "give the container port HAProxy sends requests to (or STEPKIT_DEPLOY_UPSTREAM_PORT); it is required with --proxy-socket")
    })?;
    let upstream_port = port.parse(|text| {
        text.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`{text}` is not a port (1-65535)"))
    })?;
    // HAProxy names are words: a space or a `/` would change the runtime command.
    let backend = match backend {
        Some(g) => g.parse(|text| match text.trim() {
            name if name.contains(|c: char| c.is_whitespace() || c == '/') => {
                Err(format!("`{name}` is not an HAProxy backend name"))
            }
            name => Ok(name.to_string()),
        })?,
        None => app.to_string(),
    };
    let drain_timeout = drain.map(|g| g.parse(super::layered::parse_duration)).transpose()?;
    let drain_timeout = drain_timeout.unwrap_or(Duration::from_secs(30));
    Ok(Some(ProxySettings { socket, backend, upstream_port, drain_timeout }))
}

/// The gate's settings, always with the container probe on the app itself beside the user's probes: a
/// version that exits or turns unhealthy fails at once, instead of an HTTP probe being refused until the deadline.
fn gate(args: &GateArgs, env: &Env, app: &str, file: GateFile) -> Result<GateSettings, ConfigError> {
    if args.container.iter().any(|c| c.trim() == app) {
        return gate_settings(args, env, file);
    }
    let mut args = args.clone();
    args.container.push(app.to_string());
    gate_settings(&args, env, file)
}

/// `[IP:]HOST:CONTAINER[/tcp|udp]`.
pub(super) fn parse_publish(text: &str) -> Result<Publish, String> {
    let bad = |why: &str| format!("`{text}` {why}; expected [IP:]HOST:CONTAINER[/tcp|udp], e.g. 8080:80");
    let (ports, protocol) = match text.rsplit_once('/') {
        Some((ports, proto @ ("tcp" | "udp"))) => (ports, proto),
        Some(_) => return Err(bad("has an unknown protocol")),
        None => (text, "tcp"),
    };
    let (rest, container) = ports.rsplit_once(':').ok_or_else(|| {
        bad("names no host port (stepkit does not pick random ports: the gate must know where to look)")
    })?;
    let (host_ip, host) = match rest.rsplit_once(':') {
        Some((ip, host)) => (Some(ip.trim_start_matches('[').trim_end_matches(']').to_string()), host),
        None => (None, rest),
    };
    let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
    let (Some(host_port), Some(container_port)) = (port(host), port(container)) else {
        return Err(bad("has a port that is not 1-65535"));
    };
    if host_ip.as_deref().is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err()) {
        return Err(bad("has a host IP that is not an IP address"));
    }
    Ok(Publish { host_ip, host_port, container_port, protocol: protocol.into() })
}

/// Resolves `stepkit deploy`: flags, then `STEPKIT_DEPLOY_*`, then the chosen `[env.NAME]` table.
pub fn deploy_settings(
    args: &DeployRunArgs,
    env: &Env,
    cwd: &Path,
    gate_file: GateFile,
    envs: Environments,
) -> Result<DeploySettings, ConfigError> {
    let (mut s, chosen) =
        environment::resolve(args, env, envs, gate_file, |a, g| resolve_deploy(a, env, cwd, g))?;
    let table = chosen.as_ref().map(|c| (c.name.as_str(), c.table()));
    extend(&mut s, args, env, cwd, Tables { deploy: envs.deploy, env: table, config: envs.path })?;
    s.environment = chosen.map(|c| c.name);
    Ok(s)
}

/// The container spec, the pull, the hooks and the companions (deploy_spec.rs, companion.rs).
fn extend(
    s: &mut DeploySettings,
    args: &DeployRunArgs,
    env: &Env,
    cwd: &Path,
    t: Tables,
) -> Result<(), ConfigError> {
    s.container = deploy_spec::container_spec(&args.spec, env, t, cwd)?;
    s.pull = deploy_spec::pull_settings(&args.spec, env, t)?;
    s.hooks = deploy_spec::hook_settings(&args.hooks, env, t)?;
    s.companions = super::companion::companions(&s.app, s.network.as_deref(), env, t)?;
    Ok(())
}

fn resolve_deploy(
    args: &DeployRunArgs,
    env: &Env,
    cwd: &Path,
    gate_file: GateFile,
) -> Result<DeploySettings, ConfigError> {
    let app = app_name(&args.name, env)?;
    let image = given("--image", &args.image, env, "STEPKIT_DEPLOY_IMAGE")
        .ok_or_else(|| flag("--image", "give the image to deploy (or STEPKIT_DEPLOY_IMAGE)"))?
        .parse(|text| match text.trim() {
            image if image.contains(char::is_whitespace) => {
                Err(format!("`{image}` is not an image reference"))
            }
            image => Ok(image.to_string()),
        })?;
    let mut publish = Vec::new();
    for p in &args.publish {
        let parsed = parse_publish(p.trim()).map_err(|m| flag("--publish", m))?;
        if publish.iter().any(|q: &Publish| q.host_port == parsed.host_port && q.protocol == parsed.protocol)
        {
            return Err(flag(
                "--publish",
                format!("host port {}/{} is given twice", parsed.host_port, parsed.protocol),
            ));
        }
        publish.push(parsed);
    }
    let (env_plain, mut secret_env) = env_flags(&args.env, env, "--env")?;
    // A path need not be UTF-8, so not through `given`; its errors still name where it came from.
    let env_file = match (&args.env_file, env.get("STEPKIT_DEPLOY_ENV_FILE")) {
        (Some(path), _) => Some((path.clone(), "--env-file".to_string())),
        (None, Some(path)) => {
            Some((PathBuf::from(path), "environment variable STEPKIT_DEPLOY_ENV_FILE".into()))
        }
        (None, None) => None,
    };
    if let Some((path, origin)) = env_file {
        secret_env.extend(read_env_file(&cwd.join(path), env, &origin)?);
    }
    let mut labels = Vec::new();
    for l in &args.label {
        let (k, v) = l.split_once('=').ok_or_else(|| flag("--label", format!("`{l}` is not K=V")))?;
        if k.trim().is_empty() {
            return Err(flag("--label", format!("`{l}` has an empty key")));
        }
        if k.starts_with(LABEL_PREFIX) {
            return Err(flag(
                "--label",
                format!("{k}: the {LABEL_PREFIX}* labels are stepkit's own record of the deploy"),
            ));
        }
        labels.push((k.trim().to_string(), v.to_string()));
    }
    let keep = match args.keep {
        Some(n) => n,
        None => {
            env_parse::<usize>(env, "STEPKIT_DEPLOY_KEEP", "a whole number (0 keeps no previous version)")?
                .unwrap_or(1)
        }
    };
    Ok(DeploySettings {
        environment: None,
        proxy: proxy(&args.proxy, env, &app)?,
        gate: gate(&args.gate, env, &app, gate_file)?,
        app,
        image,
        publish,
        env: env_plain,
        secret_env,
        network: value("--network", &args.network, env, "STEPKIT_DEPLOY_NETWORK"),
        labels,
        keep,
        stop_timeout: stop_timeout(&args.stop.stop_timeout, env)?,
        lock: lock(&args.lock, env, cwd)?,
        previous_result: args
            .previous_result
            .clone()
            .or_else(|| env.get("STEPKIT_DEPLOY_PREVIOUS_RESULT").map(PathBuf::from))
            .map(|p| cwd.join(p)),
        container: Default::default(),
        pull: Default::default(),
        hooks: Default::default(),
        companions: Vec::new(),
    })
}

/// Resolves `stepkit deploy rollback`, with the chosen `[env.NAME]` table as for a deploy.
pub fn rollback_settings(
    args: &RollbackArgs,
    env: &Env,
    cwd: &Path,
    gate_file: GateFile,
    envs: Environments,
) -> Result<RollbackSettings, ConfigError> {
    let (mut s, chosen) =
        environment::resolve(args, env, envs, gate_file, |a, g| resolve_rollback(a, env, cwd, g))?;
    s.environment = chosen.map(|c| c.name);
    Ok(s)
}

fn resolve_rollback(
    args: &RollbackArgs,
    env: &Env,
    cwd: &Path,
    gate_file: GateFile,
) -> Result<RollbackSettings, ConfigError> {
    let app = app_name(&args.name, env)?;
    Ok(RollbackSettings {
        environment: None,
        proxy: proxy(&args.proxy, env, &app)?,
        gate: gate(&args.gate, env, &app, gate_file)?,
        stop_timeout: stop_timeout(&args.stop.stop_timeout, env)?,
        lock: lock(&args.lock, env, cwd)?,
        app,
    })
}

#[cfg(test)]
mod tests;
