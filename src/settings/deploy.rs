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
    match environment::select(&args.environment, env, envs)? {
        Some(mut chosen) => {
            let filled = chosen.deploy_args(args, env);
            let mut s = resolve_deploy(&filled, env, cwd, chosen.gate_file(gate_file))
                .map_err(|e| chosen.blame(e))?;
            let tables =
                Tables { deploy: envs.deploy, env: Some((&chosen.name, chosen.table())), config: envs.path };
            extend(&mut s, args, env, cwd, tables)?;
            s.environment = Some(chosen.name);
            Ok(s)
        }
        None => {
            let mut s = resolve_deploy(args, env, cwd, gate_file)?;
            extend(&mut s, args, env, cwd, Tables { deploy: envs.deploy, env: None, config: envs.path })?;
            Ok(s)
        }
    }
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
        stop_timeout: stop_timeout(&args.stop_timeout, env)?,
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
    match environment::select(&args.environment, env, envs)? {
        Some(mut chosen) => {
            let filled = chosen.rollback_args(args, env);
            let mut s = resolve_rollback(&filled, env, cwd, chosen.gate_file(gate_file))
                .map_err(|e| chosen.blame(e))?;
            s.environment = Some(chosen.name);
            Ok(s)
        }
        None => resolve_rollback(args, env, cwd, gate_file),
    }
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
        stop_timeout: stop_timeout(&args.stop_timeout, env)?,
        lock: lock(&args.lock, env, cwd)?,
        app,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::gate::Probe;
    use clap::Parser;

    fn run_args(argv: &[&str]) -> DeployRunArgs {
        let mut full = vec!["stepkit", "deploy"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Deploy(args) => args.run,
            other => panic!("not deploy: {other:?}"),
        }
    }

    fn resolve(argv: &[&str], env: &Env) -> Result<DeploySettings, ConfigError> {
        deploy_settings(&run_args(argv), env, Path::new("/"), GateFile::default(), Environments::default())
    }

    fn err(argv: &[&str]) -> String {
        resolve(argv, &Env::default()).expect_err("an error").to_string()
    }

    #[test]
    fn defaults_gate_on_the_container_itself() {
        let s = resolve(&["--name", "web", "--image", "web:2"], &Env::default()).unwrap();
        assert_eq!(
            (s.app.as_str(), s.image.as_str(), s.keep, s.stop_timeout),
            ("web", "web:2", 1, Duration::from_secs(10))
        );
        assert!(matches!(&s.gate.probes[..], [Probe::Container { name, .. }] if name == "web"));
        let s = resolve(
            &["--name", "web", "--image", "web:2", "--http", "http://127.0.0.1:8080/health"],
            &Env::default(),
        )
        .unwrap();
        assert!(
            matches!(&s.gate.probes[..], [Probe::Http(_), Probe::Container { name, .. }] if name == "web"),
            "the container probe is always there"
        );
        let s =
            resolve(&["--name", "web", "--image", "web:2", "--container", "web"], &Env::default()).unwrap();
        assert_eq!(s.gate.probes.len(), 1, "not twice");
    }

    #[test]
    fn every_flag() {
        let env = Env::from_pairs([("DB_PASSWORD", "from-env-secret")]);
        let s = resolve(
            &[
                "--name",
                "web",
                "--image",
                "r/web:2",
                "-p",
                "8080:80",
                "--publish",
                "127.0.0.1:9090:90/udp",
                "-e",
                "MODE=prod",
                "-e",
                "DB_PASSWORD",
                "--network",
                "backend",
                "-l",
                "team=ci",
                "--keep",
                "3",
                "--stop-timeout",
                "1500ms",
                "--deadline",
                "30s",
            ],
            &env,
        )
        .unwrap();
        assert_eq!(
            s.publish[0],
            Publish { host_ip: None, host_port: 8080, container_port: 80, protocol: "tcp".into() }
        );
        assert_eq!(
            s.publish[1],
            Publish {
                host_ip: Some("127.0.0.1".into()),
                host_port: 9090,
                container_port: 90,
                protocol: "udp".into()
            }
        );
        assert_eq!(s.env, vec!["MODE=prod".to_string()]);
        assert_eq!(s.secret_env[0].0, "DB_PASSWORD");
        assert_eq!(s.secret_env[0].1.expose(), "from-env-secret");
        assert_eq!(
            (s.network.as_deref(), s.keep, s.stop_timeout, s.gate.deadline),
            (Some("backend"), 3, Duration::from_secs(2), Duration::from_secs(30))
        );
        assert_eq!(s.labels, vec![("team".to_string(), "ci".to_string())]);
    }

    #[test]
    fn env_vars_stand_in_for_flags() {
        let env = Env::from_pairs([
            ("STEPKIT_DEPLOY_NAME", "api"),
            ("STEPKIT_DEPLOY_IMAGE", "api:7"),
            ("STEPKIT_DEPLOY_KEEP", "0"),
            ("STEPKIT_DEPLOY_NETWORK", ""),
        ]);
        let s = resolve(&[], &env).unwrap();
        assert_eq!((s.app.as_str(), s.image.as_str(), s.keep, s.network), ("api", "api:7", 0, None));
        let s = resolve(&["--name", "web"], &env).unwrap();
        assert_eq!(s.app, "web");
    }

    #[test]
    fn env_file_values_are_secrets_and_errors_never_show_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("prod.env"),
            "# comment\n\nAPI_TOKEN=s3cr3t-value=with=equals\n  PASSTHROUGH\nUNSET_ONE\n",
        )
        .unwrap();
        let env = Env::from_pairs([("PASSTHROUGH", "passed-through")]);
        let s = deploy_settings(
            &run_args(&["--name", "web", "--image", "web:2", "--env-file", "prod.env"]),
            &env,
            dir.path(),
            GateFile::default(),
            Environments::default(),
        )
        .unwrap();
        let got: Vec<(&str, &str)> = s.secret_env.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(got, vec![("API_TOKEN", "s3cr3t-value=with=equals"), ("PASSTHROUGH", "passed-through")]);
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert_eq!(s.secrets().len(), 2);
        std::fs::write(dir.path().join("bad.env"), "OK=1\n=s3cr3t-orphan\n").unwrap();
        let e = deploy_settings(
            &run_args(&["--name", "web", "--image", "web:2", "--env-file", "bad.env"]),
            &env,
            dir.path(),
            GateFile::default(),
            Environments::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--env-file") && e.contains("line 2") && !e.contains("s3cr3t"), "{e}");
        let e = deploy_settings(
            &run_args(&["--name", "web", "--image", "web:2", "--env-file", "missing.env"]),
            &env,
            dir.path(),
            GateFile::default(),
            Environments::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing.env"), "{e}");
    }

    #[test]
    fn mistakes_name_the_flag() {
        assert!(err(&["--image", "web:2"]).contains("--name"));
        assert!(err(&["--name", "web"]).contains("--image"));
        assert!(err(&["--name=-web", "--image", "x"]).contains("--name"));
        assert!(err(&["--name", "web", "--image", "x", "-p", "8080"]).contains("--publish"));
        assert!(err(&["--name", "web", "--image", "x", "-p", "8080:0"]).contains("1-65535"));
        assert!(err(&["--name", "web", "--image", "x", "-p", "8080:80/sctp"]).contains("protocol"));
        assert!(err(&["--name", "web", "--image", "x", "-p", "8080:80", "-p", "8080:81"]).contains("twice"));
        assert!(err(&["--name", "web", "--image", "x", "-e", "NOT_SET_ANYWHERE"]).contains("--env"));
        assert!(
            err(&["--name", "web", "--image", "x", "-e", "A,B=1"]).contains("--env"),
            "a `,` would break the secret-env label"
        );
        assert!(
            err(&["--name", "web", "--image", "x", "-l", "io.stepkit.deploy.app=other"]).contains("--label")
        );
        assert!(err(&["--name", "web", "--image", "x", "--stop-timeout", "soon"]).contains("--stop-timeout"));
        assert!(
            err(&["--name", "web", "--image", "x", "--interval", "2"]).contains("--interval"),
            "the gate's flags are checked too"
        );
    }

    #[test]
    fn the_lock_waits_ten_minutes_in_the_state_dir_unless_told() {
        let base = ["--name", "web", "--image", "web:2"];
        let home = Env::from_pairs([("HOME", "/home/ci")]);
        let s = resolve(&base, &home).unwrap();
        assert_eq!(
            (s.lock.timeout, s.lock.dir.as_path()),
            (Duration::from_secs(600), Path::new("/home/ci/.local/state/stepkit/deploy"))
        );
        let xdg = Env::from_pairs([("HOME", "/home/ci"), ("XDG_STATE_HOME", "/var/state")]);
        assert_eq!(resolve(&base, &xdg).unwrap().lock.dir, Path::new("/var/state/stepkit/deploy"));
        let env = Env::from_pairs([
            ("HOME", "/home/ci"),
            ("STEPKIT_DEPLOY_LOCK_TIMEOUT", "1m"),
            ("STEPKIT_DEPLOY_LOCK_DIR", "/srv/locks"),
        ]);
        let s = resolve(&base, &env).unwrap();
        assert_eq!(
            (s.lock.timeout, s.lock.dir.as_path()),
            (Duration::from_secs(60), Path::new("/srv/locks"))
        );
        let flags = [&base[..], &["--lock-timeout", "0", "--lock-dir", "locks"]].concat();
        let s = resolve(&flags, &env).unwrap();
        assert_eq!(
            (s.lock.timeout, s.lock.dir.as_path()),
            (Duration::ZERO, Path::new("/locks")),
            "flags win"
        );
        assert!(err(&[&base[..], &["--lock-timeout", "soon"]].concat()).contains("--lock-timeout"));
    }

    #[test]
    fn rollback_takes_the_name_and_the_gate() {
        let parsed = crate::cli::Cli::try_parse_from([
            "stepkit",
            "deploy",
            "rollback",
            "--name",
            "web",
            "--tcp",
            "127.0.0.1:8080",
        ])
        .unwrap();
        let crate::cli::Command::Deploy(args) = parsed.command else { panic!() };
        let Some(crate::cli::DeployCommand::Rollback(r)) = args.command else { panic!() };
        let env = Env::from_pairs([("STEPKIT_DEPLOY_LOCK_TIMEOUT", "30s")]);
        let s = rollback_settings(&r, &env, Path::new("/"), GateFile::default(), Environments::default())
            .unwrap();
        assert_eq!((s.app.as_str(), s.lock.timeout), ("web", Duration::from_secs(30)));
        assert!(matches!(&s.gate.probes[..], [Probe::Tcp { port: 8080, .. }, Probe::Container { .. }]));
        assert!(
            crate::cli::Cli::try_parse_from(["stepkit", "deploy", "--name", "web", "rollback"]).is_err(),
            "deploy flags do not mix with the subcommand"
        );
    }

    #[test]
    fn the_proxy_flags_turn_the_proxy_on_and_name_themselves_when_wrong() {
        let base = ["--name", "web", "--image", "web:2"];
        let s = resolve(&base, &Env::default()).unwrap();
        assert_eq!(s.proxy, None, "no proxy unless its socket is given");
        let s = resolve(
            &[&base[..], &["--proxy-socket", "/run/haproxy/admin.sock", "--upstream-port", "8080"]].concat(),
            &Env::default(),
        )
        .unwrap();
        assert_eq!(
            s.proxy,
            Some(ProxySettings {
                socket: "/run/haproxy/admin.sock".into(),
                backend: "web".into(),
                upstream_port: 8080,
                drain_timeout: Duration::from_secs(30),
            }),
            "the backend defaults to the app, the drain to 30s"
        );
        let env = Env::from_pairs([
            ("STEPKIT_DEPLOY_PROXY_SOCKET", "127.0.0.1:9999"),
            ("STEPKIT_DEPLOY_PROXY_BACKEND", "be_web"),
            ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80"),
            ("STEPKIT_DEPLOY_DRAIN_TIMEOUT", "5s"),
        ]);
        let p = resolve(&base, &env).unwrap().proxy.unwrap();
        assert_eq!(
            (p.socket.as_str(), p.backend.as_str(), p.upstream_port, p.drain_timeout),
            ("127.0.0.1:9999", "be_web", 80, Duration::from_secs(5))
        );

        let e = err(&[&base[..], &["--proxy-socket", "/s"]].concat());
        assert!(e.contains("--upstream-port") && e.contains("required"), "{e}");
        let e = err(&[&base[..], &["--proxy-socket", "/s", "--upstream-port", "0"]].concat());
        assert!(e.contains("--upstream-port") && e.contains("not a port"), "{e}");
        let e = err(&[&base[..], &["--upstream-port", "80"]].concat());
        assert!(e.contains("--upstream-port") && e.contains("only with --proxy-socket"), "{e}");
        let e =
            err(&[&base[..], &["--proxy-socket", "/s", "--upstream-port", "80", "--drain-timeout", "x"]]
                .concat());
        assert!(e.contains("--drain-timeout"), "{e}");
        let e =
            err(&[&base[..], &["--proxy-socket", "/s", "--upstream-port", "80", "--proxy-backend", "a b"]]
                .concat());
        assert!(e.contains("--proxy-backend"), "{e}");
    }

    #[test]
    fn a_bad_variable_is_named_not_a_flag_that_was_not_given() {
        let base = ["--name", "web", "--image", "web:2"];
        let bad = |var: &str, value: &str, extra: &[(&'static str, &'static str)]| {
            let mut pairs = vec![(var.to_string(), value.to_string())];
            pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            resolve(&base, &Env::from_pairs(pairs)).expect_err("an error").to_string()
        };
        let socket = [("STEPKIT_DEPLOY_PROXY_SOCKET", "/s")];
        for (var, value, extra, flag) in [
            ("STEPKIT_DEPLOY_STOP_TIMEOUT", "soon", &[][..], "--stop-timeout"),
            ("STEPKIT_DEPLOY_LOCK_TIMEOUT", "soon", &[][..], "--lock-timeout"),
            ("STEPKIT_DEPLOY_UPSTREAM_PORT", "http", &socket[..], "--upstream-port"),
            (
                "STEPKIT_DEPLOY_DRAIN_TIMEOUT",
                "soon",
                &[("STEPKIT_DEPLOY_PROXY_SOCKET", "/s"), ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80")][..],
                "--drain-timeout",
            ),
            (
                "STEPKIT_DEPLOY_PROXY_BACKEND",
                "a b",
                &[("STEPKIT_DEPLOY_PROXY_SOCKET", "/s"), ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80")][..],
                "--proxy-backend",
            ),
            ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80", &[][..], "--upstream-port"),
        ] {
            let e = bad(var, value, extra);
            assert!(e.starts_with(&format!("use environment variable {var}:")), "{e}");
            assert!(!e.contains(flag), "{flag} was not given: {e}");
        }
        let e = resolve(&["--image", "web:2"], &Env::from_pairs([("STEPKIT_DEPLOY_NAME", "-web")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("use environment variable STEPKIT_DEPLOY_NAME:"), "{e}");
        let e = resolve(&base, &Env::from_pairs([("STEPKIT_DEPLOY_ENV_FILE", "/nonexistent/prod.env")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("STEPKIT_DEPLOY_ENV_FILE") && !e.contains("--env-file"), "{e}");
        let e = resolve(&["--name", "web"], &Env::from_pairs([("STEPKIT_DEPLOY_IMAGE", "web 2")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("use environment variable STEPKIT_DEPLOY_IMAGE:"), "{e}");
    }

    /// The `STEPKIT_DEPLOY_*` names in `text` (and `STEPKIT_ENVIRONMENT`).
    fn deploy_variables(text: &str) -> std::collections::BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            // `STEPKIT_DEPLOY_*` in prose is not a name.
            .filter(|w| {
                (w.starts_with("STEPKIT_DEPLOY_") && !w.ends_with('_')) || *w == "STEPKIT_ENVIRONMENT"
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_env_table_in_docs_names_every_variable_the_help_does() {
        let mut cli = <crate::cli::Cli as clap::CommandFactory>::command();
        let deploy = cli.find_subcommand_mut("deploy").unwrap();
        let mut help = deploy.render_long_help().to_string();
        help += &deploy.find_subcommand_mut("rollback").unwrap().render_long_help().to_string();
        let doc = include_str!("../../docs/deploy.md");
        let start = doc.find("## Settings from the environment").unwrap();
        let table = &doc[start..start + doc[start..].find("\n## ").unwrap()];
        assert_eq!(deploy_variables(table), deploy_variables(&help));
        assert!(deploy_variables(&help).contains("STEPKIT_DEPLOY_MEMORY"));
    }
}
