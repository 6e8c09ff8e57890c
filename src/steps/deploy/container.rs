//! The container spec beyond image, env, ports and network: volumes and bind mounts, command and
//! entrypoint, restart policy, memory and CPU limits, user, extra hosts, a healthcheck override. One
//! type for the app's versions, its hook containers and its companions, applied to the Docker API body.

use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig, RestartPolicy, RestartPolicyNameEnum};
use std::time::Duration;

/// How the engine restarts the container on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    No,
    Always,
    /// The default: survives a daemon restart, stays down once stepkit stops it.
    UnlessStopped,
    /// At most this many times (0: no limit).
    OnFailure(u32),
}

impl Restart {
    /// Docker's spelling: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
    pub fn parse(text: &str) -> Result<Restart, String> {
        match text.trim() {
            "no" => Ok(Restart::No),
            "always" => Ok(Restart::Always),
            "unless-stopped" => Ok(Restart::UnlessStopped),
            "on-failure" => Ok(Restart::OnFailure(0)),
            other => match other.strip_prefix("on-failure:").map(str::parse::<u32>) {
                Some(Ok(n)) => Ok(Restart::OnFailure(n)),
                _ => Err(format!(
                    "`{other}` is not a restart policy: no, always, unless-stopped or on-failure[:N]"
                )),
            },
        }
    }

    fn policy(self) -> RestartPolicy {
        let (name, max) = match self {
            Restart::No => (RestartPolicyNameEnum::NO, None),
            Restart::Always => (RestartPolicyNameEnum::ALWAYS, None),
            Restart::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
            Restart::OnFailure(n) => (RestartPolicyNameEnum::ON_FAILURE, Some(i64::from(n))),
        };
        RestartPolicy { name: Some(name), maximum_retry_count: max }
    }
}

/// A healthcheck in place of the image's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `healthcheck = "none"`: the image's HEALTHCHECK is switched off.
    Disabled,
    /// Run this argv (no shell unless it says `sh -c`).
    Command { argv: Vec<String>, interval: Duration, timeout: Duration, retries: u32, start_period: Duration },
}

/// Everything a container gets beyond image, env, ports and network. `Default` is Docker's defaults
/// except the restart policy (unless-stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// `SOURCE:TARGET[:ro|rw]`: a named volume, or a bind mount when SOURCE is an absolute path.
    pub volumes: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub restart: Restart,
    /// Bytes.
    pub memory: Option<i64>,
    /// CPUs in units of 10^-9 (Docker's NanoCpus): `0.5` CPU is 500_000_000.
    pub nano_cpus: Option<i64>,
    pub user: Option<String>,
    /// `HOST:IP`.
    pub extra_hosts: Vec<String>,
    /// `None`: the image's own.
    pub healthcheck: Option<Healthcheck>,
}

impl Default for ContainerSpec {
    fn default() -> Self {
        ContainerSpec {
            volumes: Vec::new(),
            entrypoint: None,
            command: None,
            restart: Restart::UnlessStopped,
            memory: None,
            nano_cpus: None,
            user: None,
            extra_hosts: Vec::new(),
            healthcheck: None,
        }
    }
}

fn nanos(d: Duration) -> i64 {
    d.as_nanos().min(i64::MAX as u128) as i64
}

impl ContainerSpec {
    /// Writes the spec into a create body whose `host_config` may already hold ports and network.
    pub fn apply(&self, body: &mut ContainerCreateBody) {
        if self.entrypoint.is_some() {
            body.entrypoint = self.entrypoint.clone();
        }
        if self.command.is_some() {
            body.cmd = self.command.clone();
        }
        if self.user.is_some() {
            body.user = self.user.clone();
        }
        body.healthcheck = self.healthcheck.as_ref().map(|h| match h {
            Healthcheck::Disabled => HealthConfig { test: Some(vec!["NONE".into()]), ..Default::default() },
            Healthcheck::Command { argv, interval, timeout, retries, start_period } => {
                let mut test = vec!["CMD".to_string()];
                test.extend(argv.iter().cloned());
                HealthConfig {
                    test: Some(test),
                    interval: Some(nanos(*interval)),
                    timeout: Some(nanos(*timeout)),
                    retries: Some(i64::from(*retries)),
                    start_period: Some(nanos(*start_period)),
                    start_interval: None,
                }
            }
        });
        let host = body.host_config.get_or_insert_with(HostConfig::default);
        host.restart_policy = Some(self.restart.policy());
        if !self.volumes.is_empty() {
            host.binds = Some(self.volumes.clone());
        }
        host.memory = self.memory;
        host.nano_cpus = self.nano_cpus;
        if !self.extra_hosts.is_empty() {
            host.extra_hosts = Some(self.extra_hosts.clone());
        }
    }

    /// The named volumes (not bind mounts) it mounts.
    pub fn named_volumes(&self) -> Vec<&str> {
        self.volumes
            .iter()
            .filter_map(|v| v.split(':').next())
            .filter(|source| !source.starts_with('/'))
            .collect()
    }
}

/// `256m`, `1g`, `512k`, `1048576` (bytes), as `docker run --memory` reads them; at least 6 MiB (Docker's floor).
pub fn parse_memory(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (digits, unit) = match t.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&t[..at], &t[at..]),
        _ => (t, ""),
    };
    let factor: i64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(format!("`{text}` has an unknown unit; use b, k, m or g (e.g. 256m)")),
    };
    let n: f64 = digits.parse().map_err(|_| format!("`{text}` is not a size like 256m or 1g"))?;
    let bytes = (n * factor as f64) as i64;
    if bytes < 6 << 20 {
        return Err(format!("`{text}` is below Docker's minimum of 6m"));
    }
    Ok(bytes)
}

/// `0.5`, `2`: CPUs, as `docker run --cpus` reads them.
pub fn parse_cpus(text: &str) -> Result<i64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n <= 4096.0 => Ok((n * 1e9).round() as i64),
        _ => Err(format!("`{text}` is not a number of CPUs like 0.5 or 2")),
    }
}

/// `SOURCE:TARGET[:ro|rw]`: TARGET absolute; a SOURCE that is a path (`/`, `./`, `../`) is a bind mount,
/// made absolute against `base` (the config file's directory or the working directory); anything
/// else is a named volume.
pub fn parse_volume(text: &str, base: &std::path::Path) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "`{text}` {why}; expected SOURCE:TARGET[:ro], e.g. pgdata:/var/lib/data or ./conf:/etc/app:ro"
        )
    };
    let parts: Vec<&str> = text.trim().split(':').collect();
    let (source, target, mode) = match parts[..] {
        [s, t] => (s, t, None),
        [s, t, m @ ("ro" | "rw")] => (s, t, Some(m)),
        [_, _, _] => return Err(bad("has a mode that is not ro or rw")),
        _ => return Err(bad("is not SOURCE:TARGET")),
    };
    if source.is_empty() || !target.starts_with('/') {
        return Err(bad("needs a source and an absolute target"));
    }
    let source = if source.starts_with('/') {
        source.to_string()
    } else if source.starts_with("./") || source.starts_with("../") || source == "." {
        base.join(source.strip_prefix("./").unwrap_or(source)).display().to_string()
    } else if source.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && source.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
    {
        source.to_string()
    } else {
        return Err(bad("has a source that is neither a path nor a volume name"));
    };
    Ok(match mode {
        Some(m) => format!("{source}:{target}:{m}"),
        None => format!("{source}:{target}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn restart_policies_read_as_docker_spells_them() {
        assert_eq!(Restart::parse("no"), Ok(Restart::No));
        assert_eq!(Restart::parse("on-failure:3"), Ok(Restart::OnFailure(3)));
        assert_eq!(Restart::parse("on-failure"), Ok(Restart::OnFailure(0)));
        assert!(Restart::parse("sometimes").unwrap_err().contains("unless-stopped"));
        assert!(Restart::parse("on-failure:x").is_err());
    }

    #[test]
    fn sizes_and_cpus() {
        assert_eq!(parse_memory("256m"), Ok(256 << 20));
        assert_eq!(parse_memory("1G"), Ok(1 << 30));
        assert_eq!(parse_memory("1.5g"), Ok(3 << 29));
        assert_eq!(parse_memory("8388608"), Ok(8 << 20));
        assert!(parse_memory("1m").unwrap_err().contains("minimum"));
        assert!(parse_memory("12q").unwrap_err().contains("unit"));
        assert!(parse_memory("lots").is_err());
        assert_eq!(parse_cpus("0.5"), Ok(500_000_000));
        assert!(parse_cpus("0").is_err() && parse_cpus("half").is_err());
    }

    #[test]
    fn volumes_and_bind_mounts() {
        let base = Path::new("/srv/app");
        assert_eq!(parse_volume("pgdata:/var/lib/data", base).unwrap(), "pgdata:/var/lib/data");
        assert_eq!(parse_volume("./conf:/etc/app:ro", base).unwrap(), "/srv/app/conf:/etc/app:ro");
        assert_eq!(parse_volume("/data:/data:rw", base).unwrap(), "/data:/data:rw");
        assert!(parse_volume("data", base).unwrap_err().contains("SOURCE:TARGET"));
        assert!(parse_volume("data:relative", base).unwrap_err().contains("absolute"));
        assert!(parse_volume("data:/x:rx", base).unwrap_err().contains("ro or rw"));
        assert!(parse_volume("da ta:/x", base).is_err());
        let spec =
            ContainerSpec { volumes: vec!["pgdata:/d".into(), "/srv/x:/x".into()], ..Default::default() };
        assert_eq!(spec.named_volumes(), vec!["pgdata"]);
    }

    #[test]
    fn the_spec_lands_in_the_create_body() {
        let spec = ContainerSpec {
            volumes: vec!["v:/d".into()],
            entrypoint: Some(vec!["/bin/sh".into()]),
            command: Some(vec!["-c".into(), "true".into()]),
            restart: Restart::OnFailure(2),
            memory: Some(64 << 20),
            nano_cpus: Some(500_000_000),
            user: Some("1000:1000".into()),
            extra_hosts: vec!["db.internal:10.0.0.5".into()],
            healthcheck: Some(Healthcheck::Command {
                argv: vec!["test".into(), "-e".into(), "/ready".into()],
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(2),
                retries: 3,
                start_period: Duration::ZERO,
            }),
        };
        let mut body = ContainerCreateBody::default();
        spec.apply(&mut body);
        let host = body.host_config.unwrap();
        assert_eq!(host.binds, Some(vec!["v:/d".to_string()]));
        assert_eq!((host.memory, host.nano_cpus), (Some(64 << 20), Some(500_000_000)));
        assert_eq!(host.restart_policy.unwrap().maximum_retry_count, Some(2));
        assert_eq!(body.cmd.unwrap(), vec!["-c", "true"]);
        assert_eq!(body.healthcheck.unwrap().test.unwrap(), vec!["CMD", "test", "-e", "/ready"]);
        let mut body = ContainerCreateBody::default();
        ContainerSpec { healthcheck: Some(Healthcheck::Disabled), ..Default::default() }.apply(&mut body);
        assert_eq!(body.healthcheck.unwrap().test.unwrap(), vec!["NONE"]);
        assert_eq!(body.cmd, None, "the image's own command unless one is given");
    }
}
