//! `[deploy.companions.NAME]` and `[env.ENV.companions.NAME]`: a database or cache beside the app,
//! resolved into the settings `stepkit deploy` and `stepkit deploy companion restart|remove` take.

use super::deploy_env::{env_flags, read_env_file};
use super::deploy_spec::{healthcheck, key, table_path, Argv, HealthcheckConfig, Tables};
use super::environment::{self, Environments};
use super::{flag, ConfigError};
use crate::ci::Env;
use crate::cli::CompanionTarget;
use crate::steps::deploy::companion::CompanionSettings;
use crate::steps::deploy::container::{parse_cpus, parse_memory, parse_volume, ContainerSpec, Restart};
use crate::steps::deploy::names::valid_app_name;
use crate::steps::deploy::{CompanionAction, CompanionCommandSettings};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One companion in stepkit.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CompanionConfig {
    pub image: String,
    /// `SOURCE:TARGET[:ro]`: a named volume keeps its state across restarts.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// `K=V` (plain) or a bare `K`: its value from stepkit's environment, a secret.
    #[serde(default)]
    pub env: Vec<String>,
    /// Docker's env-file format, relative to stepkit.toml; every value a secret.
    pub env_file: Option<PathBuf>,
    /// Default: the app's network.
    pub network: Option<String>,
    #[serde(default)]
    pub publish: Vec<String>,
    pub entrypoint: Option<Argv>,
    pub command: Option<Argv>,
    pub user: Option<String>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub restart: Option<String>,
    pub healthcheck: Option<HealthcheckConfig>,
    /// Ports on the companion's own address its gate waits for (`tcp = [5432]`).
    #[serde(default)]
    pub tcp: Vec<u16>,
    /// Default 60s: a database's first start initialises its files.
    pub gate_deadline: Option<String>,
}

/// Every companion of the app, in name order.
pub(super) fn companions(
    app: &str,
    app_network: Option<&str>,
    env: &Env,
    t: Tables,
) -> Result<Vec<CompanionSettings>, ConfigError> {
    let (Some(map), table) = t.companions() else { return Ok(Vec::new()) };
    map.iter().map(|(name, c)| one(app, app_network, name, c, &table, env, t.config)).collect()
}

/// The companion `name` of the app, for `stepkit deploy companion restart|remove`.
pub(super) fn named(
    app: &str,
    app_network: Option<&str>,
    name: &str,
    env: &Env,
    t: Tables,
) -> Result<CompanionSettings, ConfigError> {
    let (map, table) = t.companions();
    match map.and_then(|m| m.get(name)) {
        Some(c) => one(app, app_network, name, c, &table, env, t.config),
        None => {
            let known: Vec<&str> = map.into_iter().flat_map(|m| m.keys().map(String::as_str)).collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            Err(flag(
                "NAME",
                format!("stepkit.toml has no companion `{name}` in [{table}] (it has {known}); fix the name or --environment"),
            ))
        }
    }
}

fn one(
    app: &str,
    app_network: Option<&str>,
    name: &str,
    c: &CompanionConfig,
    table: &str,
    env: &Env,
    config: Option<&Path>,
) -> Result<CompanionSettings, ConfigError> {
    let table = format!("[{table}.{name}]");
    let err = |k: &str| {
        let table = table.clone();
        let k = k.to_string();
        move |m: String| key(&k, &table, m)
    };
    // The name is a DNS name on the network and part of the container's name.
    valid_app_name(name).map_err(|m| key("(its name)", &table, m))?;
    // APP-prev-*, APP-next-*, APP-hook-* and APP-rolledback-* are the deploy's own containers: a
    // companion named like them would be taken for one (and a leftover hook container is removed).
    if ["prev-", "next-", "hook-", "rolledback-"].iter().any(|p| name.starts_with(p)) {
        return Err(key("(its name)", &table, format!("`{name}` starts like the names of stepkit's own containers (prev-, next-, hook-, rolledback-); choose another")));
    }
    if c.image.trim().is_empty() || c.image.contains(char::is_whitespace) {
        return Err(key("image", &table, format!("`{}` is not an image reference", c.image)));
    }
    let network = c.network.clone().or_else(|| app_network.map(str::to_string)).ok_or_else(|| {
        key("network", &table, "a companion needs a user-defined network, which the default bridge is not (it has no DNS, so the app could not find it by name): set `network` here or --network for the app")
    })?;
    let dir = config.and_then(Path::parent).unwrap_or(Path::new("."));
    let mut spec = ContainerSpec::default();
    for v in &c.volumes {
        spec.volumes.push(parse_volume(v, dir).map_err(err("volumes"))?);
    }
    spec.entrypoint = c.entrypoint.as_ref().map(Argv::argv).transpose().map_err(err("entrypoint"))?;
    spec.command = c.command.as_ref().map(Argv::argv).transpose().map_err(err("command"))?;
    spec.user = c.user.clone();
    spec.memory = c.memory.as_deref().map(parse_memory).transpose().map_err(err("memory"))?;
    spec.nano_cpus = c.cpus.as_deref().map(parse_cpus).transpose().map_err(err("cpus"))?;
    if let Some(r) = &c.restart {
        spec.restart = Restart::parse(r).map_err(err("restart"))?;
    }
    spec.healthcheck = c.healthcheck.as_ref().map(healthcheck).transpose().map_err(err("healthcheck"))?;
    let (plain, mut secret_env) = env_flags(&c.env, env, &format!("`env` in {table} of stepkit.toml"))?;
    if let Some(file) = &c.env_file {
        let path = table_path(config, file);
        secret_env.extend(read_env_file(&path, env, &format!("`env-file` in {table} of stepkit.toml"))?);
    }
    let mut publish = Vec::new();
    for p in &c.publish {
        publish.push(super::deploy::parse_publish(p.trim()).map_err(err("publish"))?);
    }
    if c.tcp.contains(&0) {
        return Err(key("tcp", &table, "0 is not a port (1-65535)"));
    }
    let deadline = match &c.gate_deadline {
        Some(d) => super::layered::parse_duration(d).map_err(err("gate-deadline"))?,
        None => Duration::from_secs(60),
    };
    Ok(CompanionSettings {
        name: name.to_string(),
        container: format!("{app}-{name}"),
        image: c.image.trim().to_string(),
        env: plain,
        secret_env,
        network: Some(network),
        publish,
        spec,
        tcp: c.tcp.clone(),
        deadline,
    })
}

/// Resolves `stepkit deploy companion restart|remove NAME`: the app (flag, variable or the chosen
/// `[env.NAME]` table), its network, the companion's table, the lock and stop timeout as for a deploy.
pub fn companion_command_settings(
    args: &CompanionTarget,
    action: CompanionAction,
    env: &Env,
    cwd: &Path,
    envs: Environments,
) -> Result<CompanionCommandSettings, ConfigError> {
    let chosen = environment::select(&args.environment, env, envs)?;
    let table = chosen.as_ref().map(|c| c.table());
    let pick = |given: &Option<String>, var: &str, from: Option<&Option<String>>| {
        given.clone().or_else(|| env.get(var).map(str::to_string)).or_else(|| from.and_then(|f| f.clone()))
    };
    let name = pick(&args.name, "STEPKIT_DEPLOY_NAME", table.map(|t| &t.name));
    let app = super::deploy::app_name(&name, env)?;
    let network = pick(&args.network, "STEPKIT_DEPLOY_NETWORK", table.map(|t| &t.network));
    let stop = pick(&args.stop.stop_timeout, "STEPKIT_DEPLOY_STOP_TIMEOUT", table.map(|t| &t.stop_timeout));
    let t = Tables {
        deploy: envs.deploy,
        env: chosen.as_ref().map(|c| (c.name.as_str(), c.table())),
        config: envs.path,
    };
    Ok(CompanionCommandSettings {
        action,
        environment: chosen.as_ref().map(|c| c.name.clone()),
        companion: named(&app, network.as_deref(), args.companion.trim(), env, t)?,
        stop_timeout: super::deploy::stop_timeout(&stop, env)?,
        lock: super::deploy::lock(&args.lock, env, cwd)?,
        pull: super::deploy_spec::pull_settings(&Default::default(), env, t)?,
        app,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::file::parse;

    fn resolve(
        text: &str,
        env: &Env,
        network: Option<&str>,
        envname: Option<&'static str>,
    ) -> Result<Vec<CompanionSettings>, ConfigError> {
        let file = parse(text).unwrap();
        let t = Tables {
            deploy: file.deploy.as_ref(),
            env: envname.map(|n| (n, &file.env[n])),
            config: Some(Path::new("/srv/app/stepkit.toml")),
        };
        companions("web", network, env, t)
    }

    const FILE: &str = r#"
[deploy.companions.db]
image = "db:16"
volumes = ["web-db:/data", "./init:/init:ro"]
env = ["POSTGRES_DB=web", "POSTGRES_PASSWORD"]
tcp = [5432]
[env.stage]
name = "web-stage"
[env.stage.companions.db]
image = "db:16"
volumes = ["web-stage-db:/data"]
gate-deadline = "2m"
"#;

    #[test]
    fn a_companion_is_app_name_on_the_apps_network_with_its_secrets_by_name() {
        let env = Env::from_pairs([("POSTGRES_PASSWORD", "pg-companion-secret")]);
        let c = &resolve(FILE, &env, Some("backend"), None).unwrap()[0];
        assert_eq!(
            (c.name.as_str(), c.container.as_str(), c.network.as_deref()),
            ("db", "web-db", Some("backend"))
        );
        assert_eq!(c.spec.volumes, vec!["web-db:/data".to_string(), "/srv/app/init:/init:ro".into()]);
        assert_eq!(
            (c.env.clone(), c.secret_env[0].0.as_str()),
            (vec!["POSTGRES_DB=web".to_string()], "POSTGRES_PASSWORD")
        );
        assert_eq!((c.tcp.clone(), c.deadline), (vec![5432], Duration::from_secs(60)));
        assert!(!format!("{c:?}").contains("pg-companion-secret"));
        let stage = &resolve(FILE, &env, Some("backend"), Some("stage")).unwrap()[0];
        assert_eq!(
            (stage.spec.volumes[0].as_str(), stage.deadline),
            ("web-stage-db:/data", Duration::from_secs(120)),
            "the environment's own"
        );
    }

    #[test]
    fn mistakes_name_the_companions_key() {
        let e = resolve(FILE, &Env::default(), Some("backend"), None).unwrap_err().to_string();
        assert!(e.contains("[deploy.companions.db]") && e.contains("POSTGRES_PASSWORD"), "{e}");
        let env = Env::from_pairs([("POSTGRES_PASSWORD", "x")]);
        let e = resolve(FILE, &env, None, None).unwrap_err().to_string();
        assert!(e.contains("`network` in [deploy.companions.db]") && e.contains("default bridge"), "{e}");
        let e = resolve("[deploy.companions.db]\nimage = \"db\"\ntcp = [0]\n", &env, Some("n"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`tcp`"), "{e}");
        let e = resolve("[deploy.companions.\"my db\"]\nimage = \"db\"\n", &env, Some("n"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid container name"), "{e}");
        let e = resolve("[deploy.companions.hook-db]\nimage = \"db\"\n", &env, Some("n"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("stepkit's own containers"), "{e}");
    }
}
