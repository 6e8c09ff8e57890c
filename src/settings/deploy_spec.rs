//! `[deploy]` in stepkit.toml (`[deploy.container]`, `[deploy.hooks]`) and its flags: the app's
//! container spec, the registry pull and the hooks. A flag wins over the chosen `[env.NAME]`
//! table's key, which wins over `[deploy]`'s.

use super::companion::CompanionConfig;
use super::environment::EnvConfig;
use super::layered::{layers, Given};
use super::{flag, relative_to, ConfigError, Secret};
use crate::ci::Env;
use crate::cli::{DeployHookArgs as HookArgs, SpecArgs};
use crate::steps::deploy::container::{
    parse_cpus, parse_memory, parse_volume, ContainerSpec, Healthcheck, Restart,
};
use crate::steps::deploy::hooks::HookSettings;
use crate::steps::deploy::pull::{PullPolicy, PullSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[deploy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {
    pub container: Option<ContainerConfig>,
    pub hooks: Option<HooksConfig>,
    /// `[deploy.companions.NAME]`.
    #[serde(default)]
    pub companions: BTreeMap<String, CompanionConfig>,
}

/// A command: an argv list, or one string split like a shell would (nothing expanded, no shell run).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Argv {
    Line(String),
    List(Vec<String>),
}

impl Argv {
    pub(super) fn argv(&self) -> Result<Vec<String>, String> {
        let argv = match self {
            Argv::Line(line) => split(line)?,
            Argv::List(list) => list.clone(),
        };
        if argv.is_empty() || argv[0].trim().is_empty() {
            return Err("is an empty command".into());
        }
        Ok(argv)
    }
}

/// One command line into its argv, POSIX quoting, nothing expanded.
fn split(line: &str) -> Result<Vec<String>, String> {
    shlex::split(line).ok_or_else(|| format!("`{line}` has an unclosed quote or a trailing backslash"))
}

/// `[deploy.container]` and `[env.NAME.container]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContainerConfig {
    /// `SOURCE:TARGET[:ro]`; a relative SOURCE path is relative to stepkit.toml.
    #[serde(default)]
    pub volumes: Vec<String>,
    pub entrypoint: Option<Argv>,
    pub command: Option<Argv>,
    pub restart: Option<String>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub user: Option<String>,
    #[serde(default)]
    pub add_host: Vec<String>,
    pub healthcheck: Option<HealthcheckConfig>,
    /// missing, always, never.
    pub pull: Option<String>,
}

/// A healthcheck in place of the image's: `cmd` and its timings, or `disable = true`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HealthcheckConfig {
    pub cmd: Option<Argv>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    #[serde(default)]
    pub disable: bool,
}

/// `[deploy.hooks]` and `[env.NAME.hooks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HooksConfig {
    #[serde(default)]
    pub before_switch: Vec<Argv>,
    #[serde(default)]
    pub after_switch: Vec<Argv>,
    pub timeout: Option<String>,
}

/// Where the spec keys come from: the chosen environment's table, then `[deploy]`, and the directory
/// their relative paths are relative to.
#[derive(Clone, Copy)]
pub(super) struct Tables<'a> {
    pub deploy: Option<&'a DeployConfig>,
    /// With its name.
    pub env: Option<(&'a str, &'a EnvConfig)>,
    pub config: Option<&'a Path>,
}

impl<'a> Tables<'a> {
    /// The first table (environment, then `[deploy]`) whose `[..container]` has the key, with its name.
    fn container<T>(&self, get: impl Fn(&'a ContainerConfig) -> Option<T>) -> Option<(T, String)> {
        let env = self.env.and_then(|(name, t)| {
            t.container.as_ref().and_then(&get).map(|v| (v, format!("[env.{name}.container]")))
        });
        env.or_else(|| {
            self.deploy
                .and_then(|d| d.container.as_ref())
                .and_then(&get)
                .map(|v| (v, "[deploy.container]".to_string()))
        })
    }

    fn hooks<T>(&self, get: impl Fn(&'a HooksConfig) -> Option<T>) -> Option<(T, String)> {
        let env = self.env.and_then(|(name, t)| {
            t.hooks.as_ref().and_then(&get).map(|v| (v, format!("[env.{name}.hooks]")))
        });
        env.or_else(|| {
            self.deploy
                .and_then(|d| d.hooks.as_ref())
                .and_then(&get)
                .map(|v| (v, "[deploy.hooks]".to_string()))
        })
    }

    /// The companions: the environment's own when it declares any, else `[deploy]`'s (with the table name).
    pub fn companions(&self) -> (Option<&'a BTreeMap<String, CompanionConfig>>, String) {
        match self.env {
            Some((name, t)) if !t.companions.is_empty() => {
                (Some(&t.companions), format!("env.{name}.companions"))
            }
            _ => (self.deploy.map(|d| &d.companions), "deploy.companions".into()),
        }
    }
}

/// An error about a table's key: `` use `memory` in [deploy.container] of stepkit.toml: ... ``.
pub(super) fn key(key: &str, table: &str, message: impl Into<String>) -> ConfigError {
    flag(&format!("`{key}` in {table} of stepkit.toml"), message)
}

/// An error about a value from the flag `--NAME` (no table) or the table's key `NAME`.
fn origin(table: &Option<String>, name: &str, message: String) -> ConfigError {
    match table {
        Some(table) => key(name, table, message),
        None => flag(&format!("--{name}"), message),
    }
}

fn non_empty(list: &[String]) -> Option<&[String]> {
    (!list.is_empty()).then_some(list)
}

/// `STEPKIT_DEPLOY_MEMORY` for `--memory`.
fn variable(flag: &str) -> String {
    format!("STEPKIT_DEPLOY_{}", flag.trim_start_matches('-').to_uppercase().replace('-', "_"))
}

/// A one-value key: its flag, its `STEPKIT_DEPLOY_*` variable, else the first table that has it.
fn spec_value<'a>(
    flag: &'a Option<String>,
    name: &str,
    env: &'a Env,
    found: Option<(&'a String, String)>,
) -> Option<Given<'a>> {
    let found = found.map(|(text, table)| (text.as_str(), table));
    layers(name, flag.as_deref()).env(env, &variable(name)).key(name.trim_start_matches('-'), found).given()
}

/// The app's container spec: each key from its flag, else its variable (one-value keys), else the tables.
pub(super) fn container_spec<'a>(
    args: &'a SpecArgs,
    env: &'a Env,
    t: Tables<'a>,
    cwd: &Path,
) -> Result<ContainerSpec, ConfigError> {
    let config_dir =
        t.config.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| cwd.to_path_buf());
    let mut spec = ContainerSpec::default();
    if !args.volume.is_empty() {
        for v in &args.volume {
            spec.volumes.push(parse_volume(v, cwd).map_err(|m| flag("--volume", m))?);
        }
    } else if let Some((list, table)) = t.container(|c| non_empty(&c.volumes)) {
        for v in list {
            spec.volumes.push(parse_volume(v, &config_dir).map_err(|m| key("volumes", &table, m))?);
        }
    }
    let argv = |given: &Option<String>, name: &str, get: fn(&ContainerConfig) -> Option<&Argv>| match layers(
        name,
        given.as_deref(),
    )
    .env(env, &variable(name))
    .given()
    {
        Some(g) => g.parse(|line| split(line).and_then(|a| Argv::List(a).argv())).map(Some),
        None => match t.container(get) {
            Some((a, table)) => a.argv().map(Some).map_err(|m| key(name.trim_start_matches('-'), &table, m)),
            None => Ok(None),
        },
    };
    spec.entrypoint = argv(&args.entrypoint, "--entrypoint", |c| c.entrypoint.as_ref())?;
    spec.command = argv(&args.command, "--command", |c| c.command.as_ref())?;
    let text = |given: &'a Option<String>, name: &str, get: fn(&ContainerConfig) -> Option<&String>| {
        spec_value(given, name, env, t.container(get))
    };
    if let Some(g) = text(&args.restart, "--restart", |c| c.restart.as_ref()) {
        spec.restart = g.parse(Restart::parse)?;
    }
    if let Some(g) = text(&args.memory, "--memory", |c| c.memory.as_ref()) {
        spec.memory = Some(g.parse(parse_memory)?);
    }
    if let Some(g) = text(&args.cpus, "--cpus", |c| c.cpus.as_ref()) {
        spec.nano_cpus = Some(g.parse(parse_cpus)?);
    }
    spec.user = text(&args.user, "--user", |c| c.user.as_ref()).map(|g| g.text.trim().to_string());
    let (hosts, table) = match non_empty(&args.add_host) {
        Some(list) => (list, None),
        None => {
            t.container(|c| non_empty(&c.add_host)).map_or((&[][..], None), |(l, table)| (l, Some(table)))
        }
    };
    for h in hosts {
        let valid = h
            .split_once(':')
            .is_some_and(|(host, ip)| !host.is_empty() && ip.parse::<std::net::IpAddr>().is_ok());
        if !valid {
            return Err(origin(&table, "add-host", format!("`{h}` is not HOST:IP")));
        }
        spec.extra_hosts.push(h.clone());
    }
    if let Some((h, table)) = t.container(|c| c.healthcheck.as_ref()) {
        spec.healthcheck = Some(healthcheck(h).map_err(|m| key("healthcheck", &table, m))?);
    }
    Ok(spec)
}

/// `[..container.healthcheck]`: Docker's defaults (30s, 30s, 3 retries, no start period) where unset.
pub(super) fn healthcheck(h: &HealthcheckConfig) -> Result<Healthcheck, String> {
    if h.disable {
        return match h.cmd {
            Some(_) => Err("has both `disable = true` and a `cmd`".into()),
            None => Ok(Healthcheck::Disabled),
        };
    }
    let argv = h.cmd.as_ref().ok_or("needs a `cmd` (or `disable = true`)")?.argv()?;
    let time = |t: &Option<String>, default: u64| match t {
        Some(t) => super::layered::parse_duration(t),
        None => Ok(Duration::from_secs(default)),
    };
    Ok(Healthcheck::Command {
        argv,
        interval: time(&h.interval, 30)?,
        timeout: time(&h.timeout, 30)?,
        retries: h.retries.unwrap_or(3),
        start_period: time(&h.start_period, 0)?,
    })
}

/// `--pull` (or its variable, or the tables) and the registry login `stepkit image push` would use,
/// from the environment (a password never comes from argv).
pub(super) fn pull_settings<'a>(
    args: &'a SpecArgs,
    env: &'a Env,
    t: Tables<'a>,
) -> Result<PullSettings, ConfigError> {
    let policy = match spec_value(&args.pull, "--pull", env, t.container(|c| c.pull.as_ref())) {
        Some(g) => g.parse(PullPolicy::parse)?,
        None => PullPolicy::Missing,
    };
    let username = env.get("STEPKIT_REGISTRY_USERNAME").map(str::to_string);
    let password = Secret::from_env(env, "STEPKIT_REGISTRY_PASSWORD");
    if username.is_some() != password.is_some() {
        return Err(ConfigError::Env {
            name: if username.is_some() { "STEPKIT_REGISTRY_USERNAME" } else { "STEPKIT_REGISTRY_PASSWORD" }.into(),
            value: "(set)".into(),
            expected: "STEPKIT_REGISTRY_USERNAME and STEPKIT_REGISTRY_PASSWORD together (or neither, to use the docker config)".into(),
        });
    }
    Ok(PullSettings { policy, username, password, docker_config: super::image::docker_config_file(env) })
}

/// `--before-switch`/`--after-switch` (flags replace a table's list), `--hook-timeout` (default 10 min).
pub(super) fn hook_settings<'a>(
    args: &'a HookArgs,
    env: &'a Env,
    t: Tables<'a>,
) -> Result<HookSettings, ConfigError> {
    let list = |given: &[String],
                name: &str,
                get: fn(&HooksConfig) -> Option<&Vec<Argv>>|
     -> Result<Vec<Vec<String>>, ConfigError> {
        if !given.is_empty() {
            return given
                .iter()
                .map(|line| split(line).and_then(|a| Argv::List(a).argv()).map_err(|m| flag(name, m)))
                .collect();
        }
        match t.hooks(|h| get(h).filter(|l| !l.is_empty())) {
            Some((l, table)) => {
                l.iter().map(|a| a.argv().map_err(|m| key(name.trim_start_matches('-'), &table, m))).collect()
            }
            None => Ok(Vec::new()),
        }
    };
    let before_switch = list(&args.before_switch, "--before-switch", |h| Some(&h.before_switch))?;
    let after_switch = list(&args.after_switch, "--after-switch", |h| Some(&h.after_switch))?;
    let found = t.hooks(|h| h.timeout.as_ref()).map(|(v, table)| (v.as_str(), table));
    let given = layers("--hook-timeout", args.hook_timeout.as_deref())
        .env(env, "STEPKIT_DEPLOY_HOOK_TIMEOUT")
        .key("timeout", found)
        .given();
    let timeout = match given {
        Some(g) => g.parse(|text| match super::layered::parse_duration(text)? {
            d if d.is_zero() => Err("must be more than 0".to_string()),
            d => Ok(d),
        })?,
        None => Duration::from_secs(600),
    };
    Ok(HookSettings { before_switch, after_switch, timeout })
}

/// A path from a table, relative to stepkit.toml.
pub(super) fn table_path(config: Option<&Path>, path: &Path) -> PathBuf {
    relative_to(config, path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::file::parse;

    fn tables<'a>(file: &'a super::super::ConfigFile, env: Option<&'static str>) -> Tables<'a> {
        Tables {
            deploy: file.deploy.as_ref(),
            env: env.map(|name| (name, &file.env[name])),
            config: Some(Path::new("/srv/app/stepkit.toml")),
        }
    }

    const FILE: &str = r#"
[deploy.container]
volumes = ["data:/data", "./conf:/conf:ro"]
command = "bin/server --port 8080"
memory = "256m"
restart = "always"
[deploy.container.healthcheck]
cmd = ["wget", "-q", "http://127.0.0.1:8080/health"]
interval = "1s"
[deploy.hooks]
before-switch = ["bin/migrate up", ["sh", "-c", "echo done"]]
timeout = "2m"
[env.prod]
name = "web"
[env.prod.container]
memory = "1g"
[env.prod.hooks]
after-switch = ["bin/warm"]
"#;

    #[test]
    fn the_tables_give_the_spec_and_the_environment_wins_key_by_key() {
        let file = parse(FILE).unwrap();
        let s =
            container_spec(&SpecArgs::default(), &Env::default(), tables(&file, None), Path::new("/work"))
                .unwrap();
        assert_eq!(s.volumes, vec!["data:/data".to_string(), "/srv/app/conf:/conf:ro".into()]);
        assert_eq!(s.command, Some(vec!["bin/server".into(), "--port".into(), "8080".into()]));
        assert_eq!((s.memory, s.restart), (Some(256 << 20), Restart::Always));
        assert!(
            matches!(s.healthcheck, Some(Healthcheck::Command { interval, retries: 3, .. }) if interval == Duration::from_secs(1))
        );
        let prod = container_spec(
            &SpecArgs::default(),
            &Env::default(),
            tables(&file, Some("prod")),
            Path::new("/work"),
        )
        .unwrap();
        assert_eq!(
            (prod.memory, prod.restart),
            (Some(1 << 30), Restart::Always),
            "prod's memory, [deploy]'s restart"
        );
        let flags =
            SpecArgs { memory: Some("64m".into()), volume: vec!["./x:/x".into()], ..Default::default() };
        let s =
            container_spec(&flags, &Env::default(), tables(&file, Some("prod")), Path::new("/work")).unwrap();
        assert_eq!(
            (s.memory, &s.volumes[..]),
            (Some(64 << 20), &["/work/x:/x".to_string()][..]),
            "flags win; relative to the working directory"
        );
    }

    #[test]
    fn hooks_from_flags_or_tables_with_a_timeout() {
        let file = parse(FILE).unwrap();
        let h = hook_settings(&HookArgs::default(), &Env::default(), tables(&file, Some("prod"))).unwrap();
        assert_eq!(
            h.before_switch,
            vec![
                vec!["bin/migrate".to_string(), "up".into()],
                vec!["sh".into(), "-c".into(), "echo done".into()]
            ]
        );
        assert_eq!(
            (h.after_switch, h.timeout),
            (vec![vec!["bin/warm".to_string()]], Duration::from_secs(120))
        );
        let args = HookArgs {
            before_switch: vec!["sh -c 'exit 3'".into()],
            hook_timeout: Some("5s".into()),
            ..Default::default()
        };
        let h = hook_settings(&args, &Env::default(), tables(&file, None)).unwrap();
        assert_eq!((h.before_switch[0].len(), h.timeout), (3, Duration::from_secs(5)));
        let h = hook_settings(
            &HookArgs::default(),
            &Env::default(),
            Tables { deploy: None, env: None, config: None },
        )
        .unwrap();
        assert_eq!((h.before_switch.len(), h.timeout), (0, Duration::from_secs(600)));
        let bad = HookArgs { before_switch: vec!["sh -c 'unclosed".into()], ..Default::default() };
        assert!(hook_settings(&bad, &Env::default(), tables(&file, None))
            .unwrap_err()
            .to_string()
            .contains("--before-switch"));
    }

    #[test]
    fn mistakes_name_the_table_key_or_the_flag() {
        let file =
            parse("[deploy.container]\nmemory = \"lots\"\n[env.x.container]\nrestart = \"sometimes\"\n")
                .unwrap();
        let e = container_spec(&SpecArgs::default(), &Env::default(), tables(&file, None), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`memory` in [deploy.container] of stepkit.toml"), "{e}");
        let e =
            container_spec(&SpecArgs::default(), &Env::default(), tables(&file, Some("x")), Path::new("/"))
                .unwrap_err()
                .to_string();
        assert!(e.contains("`restart` in [env.x.container]"), "{e}");
        let e = container_spec(
            &SpecArgs { add_host: vec!["nohost".into()], ..Default::default() },
            &Env::default(),
            Tables { deploy: None, env: None, config: None },
            Path::new("/"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--add-host"), "{e}");
        let file = parse("[deploy.container.healthcheck]\ninterval = \"1s\"\n").unwrap();
        let e = container_spec(&SpecArgs::default(), &Env::default(), tables(&file, None), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`healthcheck`") && e.contains("needs a `cmd`"), "{e}");
        let env = Env::from_pairs([("STEPKIT_REGISTRY_PASSWORD", "pw-only-3f1")]);
        let e = pull_settings(&SpecArgs::default(), &env, tables(&file, None)).unwrap_err().to_string();
        assert!(e.contains("STEPKIT_REGISTRY_PASSWORD") && !e.contains("pw-only-3f1"), "{e}");
        let e = pull_settings(
            &SpecArgs { pull: Some("often".into()), ..Default::default() },
            &Env::default(),
            tables(&file, None),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--pull") && e.contains("missing, always or never"), "{e}");
    }

    #[test]
    fn a_variable_stands_between_the_flag_and_the_tables_and_is_named_in_errors() {
        let file = parse(FILE).unwrap();
        let env = Env::from_pairs([
            ("STEPKIT_DEPLOY_MEMORY", "512m"),
            ("STEPKIT_DEPLOY_COMMAND", "bin/worker --queue high"),
            ("STEPKIT_DEPLOY_USER", "1000"),
            ("STEPKIT_DEPLOY_HOOK_TIMEOUT", "30s"),
            ("STEPKIT_DEPLOY_PULL", "never"),
        ]);
        let s =
            container_spec(&SpecArgs::default(), &env, tables(&file, Some("prod")), Path::new("/")).unwrap();
        assert_eq!(
            (s.memory, s.user.as_deref(), s.restart),
            (Some(512 << 20), Some("1000"), Restart::Always),
            "the variable wins over [env.prod.container]; [deploy.container] fills the rest"
        );
        assert_eq!(s.command, Some(vec!["bin/worker".to_string(), "--queue".into(), "high".into()]));
        let flags = SpecArgs { memory: Some("64m".into()), ..Default::default() };
        let s = container_spec(&flags, &env, tables(&file, None), Path::new("/")).unwrap();
        assert_eq!(s.memory, Some(64 << 20), "the flag wins over the variable");
        let h = hook_settings(&HookArgs::default(), &env, tables(&file, None)).unwrap();
        assert_eq!(h.timeout, Duration::from_secs(30), "over the table's 2m");
        assert_eq!(
            pull_settings(&SpecArgs::default(), &env, tables(&file, None)).unwrap().policy,
            PullPolicy::Never
        );

        for (var, value) in [
            ("STEPKIT_DEPLOY_MEMORY", "lots"),
            ("STEPKIT_DEPLOY_RESTART", "sometimes"),
            ("STEPKIT_DEPLOY_CPUS", "many"),
            ("STEPKIT_DEPLOY_ENTRYPOINT", "sh -c 'unclosed"),
        ] {
            let env = Env::from_pairs([(var, value)]);
            let e = container_spec(&SpecArgs::default(), &env, tables(&file, None), Path::new("/"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("use environment variable {var}:")), "{e}");
        }
        // These named the flag before, though only the variable was set.
        for (var, value) in [("STEPKIT_DEPLOY_PULL", "often"), ("STEPKIT_DEPLOY_HOOK_TIMEOUT", "0")] {
            let env = Env::from_pairs([(var, value)]);
            let e = match var {
                "STEPKIT_DEPLOY_PULL" => {
                    pull_settings(&SpecArgs::default(), &env, tables(&file, None)).unwrap_err().to_string()
                }
                _ => hook_settings(&HookArgs::default(), &env, tables(&file, None)).unwrap_err().to_string(),
            };
            assert!(e.starts_with(&format!("use environment variable {var}:")) && !e.contains("--"), "{e}");
        }
        let zero = parse("[deploy.hooks]\ntimeout = \"0\"\n").unwrap();
        let e = hook_settings(&HookArgs::default(), &Env::default(), tables(&zero, None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`timeout` in [deploy.hooks] of stepkit.toml") && e.contains("more than 0"),
            "{e}"
        );
    }

    #[test]
    fn the_documented_configuration_parses() {
        let doc = include_str!("../../docs/configuration.md");
        let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
        let end = start + doc[start..].find("```").unwrap();
        let file = parse(&doc[start..end]).unwrap();
        let deploy = file.deploy.expect("a [deploy] table");
        assert_eq!(deploy.companions["db"].tcp, vec![5432]);
        assert!(file.env["stage"].companions.contains_key("db"));
    }
}
