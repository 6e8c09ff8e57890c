//! `[env.NAME]` tables in stepkit.toml: what a deploy to one environment (dev, stage, prod) needs,
//! chosen with `--environment NAME` or `STEPKIT_ENVIRONMENT`. A table fills what neither a flag nor
//! its `STEPKIT_DEPLOY_*` variable gives, so one command line serves every environment.

use super::layered::{layers, Origin};
use super::{flag, relative_to, ConfigError, GateConfig, GateFile};
use crate::ci::Env;
use crate::cli::{DeployRunArgs, RollbackArgs};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[env.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvConfig {
    pub name: Option<String>,
    pub image: Option<String>,
    #[serde(default)]
    pub publish: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    /// Relative to the config file.
    pub env_file: Option<PathBuf>,
    pub network: Option<String>,
    #[serde(default)]
    pub label: Vec<String>,
    pub keep: Option<usize>,
    pub stop_timeout: Option<String>,
    pub lock_timeout: Option<String>,
    /// HAProxy's admin socket and the rest of the proxy flags.
    pub proxy_socket: Option<String>,
    pub proxy_backend: Option<String>,
    /// Kept as text like the flag's, so that its errors read the same; a TOML integer is what people
    /// write for a port, so both are taken.
    #[serde(default, deserialize_with = "text_or_integer")]
    pub upstream_port: Option<String>,
    pub drain_timeout: Option<String>,
    /// Gate probes, as `--http` and `--tcp` take them.
    #[serde(default)]
    pub http: Vec<String>,
    #[serde(default)]
    pub tcp: Vec<String>,
    /// The gate's policy for this environment, in place of `[gate]`.
    pub gate: Option<GateConfig>,
    /// Container spec keys that win over `[deploy.container]`'s.
    pub container: Option<super::deploy_spec::ContainerConfig>,
    /// Hook lists that replace `[deploy.hooks]`' (each key on its own).
    pub hooks: Option<super::deploy_spec::HooksConfig>,
    /// This environment's companions, in place of `[deploy.companions]` (their volumes are its own).
    #[serde(default)]
    pub companions: BTreeMap<String, super::CompanionConfig>,
}

/// `8080` or `"8080"`, as text.
fn text_or_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrInteger {
        Text(String),
        Integer(i64),
    }
    Ok(Option::<TextOrInteger>::deserialize(d)?.map(|v| match v {
        TextOrInteger::Text(text) => text,
        TextOrInteger::Integer(n) => n.to_string(),
    }))
}

/// The config file's `[env.*]` tables and where the file is (for relative paths).
#[derive(Debug, Clone, Copy, Default)]
pub struct Environments<'a> {
    pub tables: Option<&'a BTreeMap<String, EnvConfig>>,
    pub path: Option<&'a Path>,
    /// `[deploy]`, which an environment's table overrides.
    pub deploy: Option<&'a super::DeployConfig>,
}

/// The chosen environment and which flags its table filled in.
pub(super) struct Chosen<'a> {
    pub name: String,
    table: &'a EnvConfig,
    path: Option<&'a Path>,
    /// The flags the table filled in, each with its key as the resolver names it.
    filled: Vec<(&'static str, Origin)>,
}

/// The flags of a command that a chosen table fills in: deploy's and rollback's.
pub(super) trait Fillable: Sized {
    /// `--environment`.
    fn environment(&self) -> &Option<String>;
    /// The flags, with what the chosen table fills in.
    fn filled(&self, chosen: &mut Chosen, env: &Env) -> Self;
}

impl Fillable for DeployRunArgs {
    fn environment(&self) -> &Option<String> {
        &self.environment
    }
    fn filled(&self, chosen: &mut Chosen, env: &Env) -> Self {
        chosen.deploy_args(self, env)
    }
}

impl Fillable for RollbackArgs {
    fn environment(&self) -> &Option<String> {
        &self.environment
    }
    fn filled(&self, chosen: &mut Chosen, env: &Env) -> Self {
        chosen.rollback_args(self, env)
    }
}

/// Resolves a command's flags (`resolve`) in the environment they choose, if any: its table fills the
/// flags nothing else set, its `gate` table stands in for `[gate]`, and an error about a value the
/// table gave names the table's key. Returns the chosen environment beside the settings.
pub(super) fn resolve<'a, A: Fillable, S>(
    args: &A,
    env: &Env,
    envs: Environments<'a>,
    gate_file: GateFile<'a>,
    resolve: impl FnOnce(&A, GateFile<'a>) -> Result<S, ConfigError>,
) -> Result<(S, Option<Chosen<'a>>), ConfigError> {
    match select(args.environment(), env, envs)? {
        Some(mut chosen) => {
            let filled = args.filled(&mut chosen, env);
            let s = resolve(&filled, chosen.gate_file(gate_file)).map_err(|e| chosen.blame(e))?;
            Ok((s, Some(chosen)))
        }
        None => Ok((resolve(args, gate_file)?, None)),
    }
}

/// The environment named by the flag or `STEPKIT_ENVIRONMENT`, whose table must exist.
pub(super) fn select<'a>(
    name: &Option<String>,
    env: &Env,
    envs: Environments<'a>,
) -> Result<Option<Chosen<'a>>, ConfigError> {
    let given = layers("--environment", name.as_deref()).env(env, "STEPKIT_ENVIRONMENT").given();
    let Some(given) = given.filter(|g| !g.text.trim().is_empty()) else { return Ok(None) };
    let name = given.text.trim().to_string();
    match envs.tables.and_then(|t| t.get(&name)) {
        Some(table) => Ok(Some(Chosen { name, table, path: envs.path, filled: Vec::new() })),
        None => {
            let known: Vec<&str> =
                envs.tables.into_iter().flat_map(|t| t.keys().map(String::as_str)).collect();
            let known = if known.is_empty() {
                "it has none".to_string()
            } else {
                format!("it has {}", known.join(", "))
            };
            Err(flag(
                &given.origin.to_string(),
                format!("there is no [env.{name}] table in stepkit.toml ({known}); add one or fix the name"),
            ))
        }
    }
}

impl<'a> Chosen<'a> {
    /// The chosen `[env.NAME]` table.
    pub fn table(&self) -> &'a EnvConfig {
        self.table
    }

    /// The table's `value` for the flag `name`, when the resolver picks it: neither the flag (`given`)
    /// nor `var` is set. Its origin is the key in `[env.NAME]`.
    fn pick(
        &self,
        name: &str,
        given: Option<&str>,
        env: &Env,
        var: &str,
        value: Option<&str>,
    ) -> Option<(String, Origin)> {
        let found = value.map(|v| (v, format!("[env.{}]", self.name)));
        match layers(name, given).env(env, var).key(name.trim_start_matches('-'), found).given() {
            Some(g) if matches!(g.origin, Origin::Key { .. }) => Some((g.text.into_owned(), g.origin)),
            _ => None,
        }
    }

    /// `slot` (a flag) takes the table's value when neither the flag nor `var` is set.
    fn text(
        &mut self,
        slot: &mut Option<String>,
        env: &Env,
        var: &str,
        from: &Option<String>,
        name: &'static str,
    ) {
        if let Some((text, origin)) = self.pick(name, slot.as_deref(), env, var, from.as_deref()) {
            *slot = Some(text);
            self.filled.push((name, origin));
        }
    }

    /// A repeatable flag takes the table's list when none was given.
    fn list(&mut self, slot: &mut Vec<String>, from: &[String], name: &'static str) {
        if slot.is_empty() && !from.is_empty() {
            *slot = from.to_vec();
            let origin = Origin::Key {
                key: name.trim_start_matches('-').into(),
                table: format!("[env.{}]", self.name),
            };
            self.filled.push((name, origin));
        }
    }

    /// The deploy flags, with what the table fills in.
    fn deploy_args(&mut self, args: &DeployRunArgs, env: &Env) -> DeployRunArgs {
        let t = self.table;
        let mut a = args.clone();
        self.text(&mut a.name, env, "STEPKIT_DEPLOY_NAME", &t.name, "--name");
        self.text(&mut a.image, env, "STEPKIT_DEPLOY_IMAGE", &t.image, "--image");
        self.text(&mut a.network, env, "STEPKIT_DEPLOY_NETWORK", &t.network, "--network");
        self.list(&mut a.publish, &t.publish, "--publish");
        self.list(&mut a.env, &t.env, "--env");
        self.list(&mut a.label, &t.label, "--label");
        // A path from argv need not be UTF-8, so a given flag is not looked at; a TOML string is UTF-8.
        let file = t.env_file.as_deref().and_then(Path::to_str).filter(|_| a.env_file.is_none());
        if let Some((path, origin)) = self.pick("--env-file", None, env, "STEPKIT_DEPLOY_ENV_FILE", file) {
            a.env_file = Some(relative_to(self.path, PathBuf::from(path)));
            self.filled.push(("--env-file", origin));
        }
        let keep = t.keep.filter(|_| a.keep.is_none()).map(|k| k.to_string());
        if self.pick("--keep", None, env, "STEPKIT_DEPLOY_KEEP", keep.as_deref()).is_some() {
            a.keep = t.keep;
        }
        self.common(&mut a.stop.stop_timeout, &mut a.lock.lock_timeout, &mut a.gate, env);
        self.proxy(&mut a.proxy, env);
        a
    }

    /// The proxy flags (deploy and rollback alike: a rollback moves traffic the same way).
    fn proxy(&mut self, p: &mut crate::cli::ProxyArgs, env: &Env) {
        let t = self.table;
        self.text(&mut p.proxy_socket, env, "STEPKIT_DEPLOY_PROXY_SOCKET", &t.proxy_socket, "--proxy-socket");
        self.text(
            &mut p.proxy_backend,
            env,
            "STEPKIT_DEPLOY_PROXY_BACKEND",
            &t.proxy_backend,
            "--proxy-backend",
        );
        self.text(
            &mut p.upstream_port,
            env,
            "STEPKIT_DEPLOY_UPSTREAM_PORT",
            &t.upstream_port,
            "--upstream-port",
        );
        self.text(
            &mut p.drain_timeout,
            env,
            "STEPKIT_DEPLOY_DRAIN_TIMEOUT",
            &t.drain_timeout,
            "--drain-timeout",
        );
    }

    /// The rollback flags, with what the table fills in.
    fn rollback_args(&mut self, args: &RollbackArgs, env: &Env) -> RollbackArgs {
        let t = self.table;
        let mut a = args.clone();
        self.text(&mut a.name, env, "STEPKIT_DEPLOY_NAME", &t.name, "--name");
        self.common(&mut a.stop.stop_timeout, &mut a.lock.lock_timeout, &mut a.gate, env);
        self.proxy(&mut a.proxy, env);
        a
    }

    fn common(
        &mut self,
        stop: &mut Option<String>,
        lock: &mut Option<String>,
        gate: &mut crate::cli::GateArgs,
        env: &Env,
    ) {
        let t = self.table;
        self.text(stop, env, "STEPKIT_DEPLOY_STOP_TIMEOUT", &t.stop_timeout, "--stop-timeout");
        self.text(lock, env, "STEPKIT_DEPLOY_LOCK_TIMEOUT", &t.lock_timeout, "--lock-timeout");
        // The probes go together: flags given replace all of the table's.
        if gate.http.is_empty() && gate.tcp.is_empty() {
            self.list(&mut gate.http, &t.http, "--http");
            self.list(&mut gate.tcp, &t.tcp, "--tcp");
        }
    }

    /// The gate policy: the environment's `gate` table, else the file's `[gate]`.
    fn gate_file(&self, file: GateFile<'a>) -> GateFile<'a> {
        match &self.table.gate {
            Some(table) => GateFile { table: Some(table), path: file.path },
            None => file,
        }
    }

    /// An error about a value the table gave names the table's key, not the flag.
    fn blame(&self, e: ConfigError) -> ConfigError {
        let origin =
            |name: &str| self.filled.iter().find(|(flag, _)| *flag == name).map(|(_, o)| o.to_string());
        match e {
            ConfigError::Flag { flag, message } => {
                ConfigError::Flag { flag: origin(&flag).unwrap_or(flag), message }
            }
            // The env file's read error names it like a secret's source.
            ConfigError::SecretFile { what, path, source } => {
                ConfigError::SecretFile { what: origin(&what).unwrap_or(what), path, source }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{deploy_settings, rollback_settings};
    use super::*;
    use crate::steps::gate::Probe;
    use clap::Parser;
    use std::time::Duration;

    const FILE: &str = r#"
[gate]
interval = "3s"

[env.stage]
name = "web-stage"
image = "web:stage"
publish = ["8081:8080"]
env = ["MODE=stage"]
env-file = "env/stage.env"
http = ["http://127.0.0.1:8081/health"]
stop-timeout = "2s"
lock-timeout = "1m"

[env.prod]
name = "web"
image = "web:prod"
keep = 3
[env.prod.gate]
interval = "1s"
"#;

    fn cli(argv: &[&str]) -> crate::cli::DeployArgs {
        let mut full = vec!["stepkit", "deploy"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Deploy(args) => *args,
            other => panic!("not deploy: {other:?}"),
        }
    }

    fn deploy(
        argv: &[&str],
        env: &[(&str, &str)],
    ) -> Result<crate::steps::deploy::DeploySettings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("env")).unwrap();
        std::fs::write(dir.path().join("env/stage.env"), "TOKEN=stage-secret\n").unwrap();
        let file = super::super::file::parse(FILE).unwrap();
        let path = dir.path().join("stepkit.toml");
        let envs = Environments { tables: Some(&file.env), path: Some(&path), deploy: None };
        let gate = GateFile { table: file.gate.as_ref(), path: Some(&path) };
        deploy_settings(&cli(argv).run, &Env::from_pairs(env.iter().copied()), Path::new("/"), gate, envs)
    }

    /// Why `stepkit deploy --environment x` fails with `toml` as stepkit.toml.
    fn deploy_error_with(toml: &str) -> String {
        let file = super::super::file::parse(toml).unwrap();
        let envs = Environments { tables: Some(&file.env), path: None, deploy: None };
        let args = cli(&["--environment", "x"]).run;
        deploy_settings(&args, &Env::default(), Path::new("/"), GateFile::default(), envs)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_chosen_table_fills_what_flags_and_variables_leave_unset() {
        let s = deploy(&["--environment", "stage"], &[]).unwrap();
        assert_eq!(s.environment.as_deref(), Some("stage"));
        assert_eq!((s.app.as_str(), s.image.as_str()), ("web-stage", "web:stage"));
        assert_eq!(s.publish[0].host_port, 8081);
        assert_eq!(s.env, vec!["MODE=stage".to_string()]);
        assert_eq!(s.secret_env[0].0, "TOKEN", "the env file is found next to stepkit.toml");
        assert!(
            matches!(&s.gate.probes[..], [Probe::Http(_), Probe::Container { name, .. }] if name == "web-stage")
        );
        assert_eq!((s.stop_timeout, s.lock.timeout), (Duration::from_secs(2), Duration::from_secs(60)));
        assert_eq!(s.gate.interval, Duration::from_secs(3), "the file's [gate] without an env gate table");

        // STEPKIT_ENVIRONMENT chooses too; flags and STEPKIT_DEPLOY_* variables win over the table.
        let s = deploy(
            &["--image", "web:hotfix"],
            &[("STEPKIT_ENVIRONMENT", "prod"), ("STEPKIT_DEPLOY_KEEP", "5")],
        )
        .unwrap();
        assert_eq!(
            (s.environment.as_deref(), s.app.as_str(), s.image.as_str()),
            (Some("prod"), "web", "web:hotfix")
        );
        assert_eq!((s.keep, s.gate.interval), (5, Duration::from_secs(1)));
        let s = deploy(&["--environment", "prod"], &[]).unwrap();
        assert_eq!(s.keep, 3);
        let s = deploy(&["--name", "web", "--image", "x"], &[]).unwrap();
        assert_eq!(s.environment, None, "no environment unless one is chosen");
    }

    #[test]
    fn an_unknown_environment_or_a_bad_table_value_is_named() {
        let e = deploy(&["--environment", "qa"], &[]).unwrap_err().to_string();
        assert!(
            e.contains("--environment") && e.contains("[env.qa]") && e.contains("it has prod, stage"),
            "{e}"
        );
        let e = deploy(&[], &[("STEPKIT_ENVIRONMENT", "qa")]).unwrap_err().to_string();
        assert!(e.starts_with("use environment variable STEPKIT_ENVIRONMENT: there is no [env.qa]"), "{e}");
        let e = deploy(&["--environment", "stage", "--stop-timeout", "soon"], &[]).unwrap_err().to_string();
        assert!(e.contains("use --stop-timeout"), "a flag's own mistake names the flag: {e}");
        let e = deploy_error_with("[env.x]\nname = \"web\"\nimage = \"i\"\npublish = [\"nope\"]\n");
        assert!(e.contains("`publish` in [env.x] of stepkit.toml"), "{e}");
        assert!(super::super::file::parse("[env.x]\nimages = \"i\"\n").unwrap_err().contains("images"));
    }

    #[test]
    fn an_env_file_from_the_table_is_named_as_its_key() {
        // Its errors used to name --env-file, a flag nobody gave.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.env"), "=x\n").unwrap();
        let path = dir.path().join("stepkit.toml");
        let file = super::super::file::parse(
            "[env.a]\nname = \"web\"\nimage = \"i\"\nenv-file = \"bad.env\"\n\n\
             [env.b]\nname = \"web\"\nimage = \"i\"\nenv-file = \"missing.env\"\n",
        )
        .unwrap();
        let envs = Environments { tables: Some(&file.env), path: Some(&path), deploy: None };
        let run = |argv: &[&str], env: &[(&str, &str)]| {
            let env = Env::from_pairs(env.iter().copied());
            deploy_settings(&cli(argv).run, &env, dir.path(), GateFile::default(), envs)
                .unwrap_err()
                .to_string()
        };
        let e = run(&["--environment", "a"], &[]);
        assert!(e.starts_with("use `env-file` in [env.a] of stepkit.toml: ") && e.contains("line 1"), "{e}");
        let e = run(&["--environment", "b"], &[]);
        assert!(e.starts_with("read secret `env-file` in [env.b] of stepkit.toml from "), "{e}");
        // The flag and the variable win over the key, and are named as themselves.
        let e = run(&["--environment", "a", "--env-file", "missing.env"], &[]);
        assert!(e.starts_with("read secret --env-file from "), "{e}");
        let e = run(&["--environment", "a"], &[("STEPKIT_DEPLOY_ENV_FILE", "missing.env")]);
        assert!(e.starts_with("read secret environment variable STEPKIT_DEPLOY_ENV_FILE from "), "{e}");
    }

    #[test]
    fn the_proxy_keys_fill_the_proxy_flags_for_deploy_and_rollback() {
        let file = super::super::file::parse(
            "[env.prod]\nname = \"web\"\nimage = \"web:1\"\nproxy-socket = \"/run/haproxy/admin.sock\"\n\
             upstream-port = 8080\ndrain-timeout = \"10s\"\n",
        )
        .unwrap();
        let envs = Environments { tables: Some(&file.env), path: None, deploy: None };
        let env = Env::default();
        let s = deploy_settings(
            &cli(&["--environment", "prod"]).run,
            &env,
            Path::new("/"),
            GateFile::default(),
            envs,
        )
        .unwrap();
        let p = s.proxy.expect("the table turns the proxy on");
        assert_eq!(
            (p.backend.as_str(), p.upstream_port, p.drain_timeout),
            ("web", 8080, Duration::from_secs(10))
        );
        let args = cli(&["rollback", "--environment", "prod"]);
        let Some(crate::cli::DeployCommand::Rollback(r)) = args.command else { panic!() };
        let s = rollback_settings(&r, &env, Path::new("/"), GateFile::default(), envs).unwrap();
        assert_eq!(s.proxy.map(|p| p.socket), Some("/run/haproxy/admin.sock".to_string()));
        let e = deploy_error_with(
            "[env.x]\nname = \"web\"\nimage = \"i\"\nproxy-socket = \"/s\"\nupstream-port = \"http\"\n",
        );
        assert!(e.contains("`upstream-port` in [env.x] of stepkit.toml"), "{e}");
        let quoted = super::super::file::parse("[env.x]\nupstream-port = \"80\"\n").unwrap();
        assert_eq!(quoted.env["x"].upstream_port.as_deref(), Some("80"), "the flag's text works too");
        let e = deploy_error_with(
            "[env.x]\nupstream-port = 99999\nname = \"web\"\nimage = \"i\"\nproxy-socket = \"/s\"\n",
        );
        assert!(e.contains("`upstream-port` in [env.x]") && e.contains("not a port"), "{e}");
    }

    #[test]
    fn rollback_takes_the_name_and_probes_from_the_table() {
        let file = super::super::file::parse(FILE).unwrap();
        let envs = Environments { tables: Some(&file.env), path: None, deploy: None };
        let args = cli(&["rollback", "--environment", "stage"]);
        let Some(crate::cli::DeployCommand::Rollback(r)) = args.command else { panic!() };
        let s = rollback_settings(&r, &Env::default(), Path::new("/"), GateFile::default(), envs).unwrap();
        assert_eq!((s.environment.as_deref(), s.app.as_str()), (Some("stage"), "web-stage"));
        assert!(matches!(&s.gate.probes[..], [Probe::Http(_), Probe::Container { .. }]));
    }
}
