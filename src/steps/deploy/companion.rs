//! Companions ("accessories"): the containers an app needs beside it (a database, a cache), named
//! `APP-NAME` and found by the app as `NAME` on their network. A deploy starts a missing one and
//! gates it, and never replaces or stops a running one: their state is the point. `stepkit deploy
//! companion restart|remove NAME` is the deliberate way to change one.

use super::container::ContainerSpec;
use super::docker::{self, Spec};
use super::names::{LABEL_APP, LABEL_ENVIRONMENT, LABEL_IMAGE, LABEL_SECRET_ENV};
use super::pull::{self, PullSettings};
use super::swap::guarded;
use super::{traffic, DeployError, Publish};
use crate::report::{Live, Outcome, Verdict};
use crate::result::deploy::{CompanionData, GateVerdict};
use crate::secret::Secret;
use crate::signals::{Signal, Signals};
use crate::steps::gate::{self, GateSettings, Probe};
use bollard::Docker;
use std::time::Duration;

/// Marks a companion container with its name in stepkit.toml.
pub const LABEL_COMPANION: &str = "io.stepkit.deploy.companion";

/// One `[deploy.companions.NAME]` (or `[env.ENV.companions.NAME]`), resolved.
#[derive(Debug, Clone)]
pub struct CompanionSettings {
    /// Its key in stepkit.toml, and the name the app finds it by on the network.
    pub name: String,
    /// The container: `APP-NAME`.
    pub container: String,
    pub image: String,
    /// `K=V`, not secret.
    pub env: Vec<String>,
    /// From its `env-file` and bare `K` entries: never printed.
    pub secret_env: Vec<(String, Secret)>,
    pub network: Option<String>,
    pub publish: Vec<Publish>,
    pub spec: ContainerSpec,
    /// Ports on the companion's own address that must accept a connection for its gate to open.
    pub tcp: Vec<u16>,
    /// How long its gate may take (a database's first start initialises its files).
    pub deadline: Duration,
}

/// What a deploy did about one companion.
#[derive(Debug, Clone)]
pub struct Ensured {
    pub name: String,
    pub container: String,
    pub id: String,
    pub image: String,
    /// `running` (left alone), `started` (it existed, stopped), `created`, `restarted`, `removed`.
    pub action: &'static str,
    pub gate: Option<Outcome>,
    /// A running companion whose image differs from stepkit.toml's: left alone, and said so.
    pub drift: Option<String>,
}

impl Ensured {
    pub fn passed(&self) -> bool {
        self.gate.as_ref().is_none_or(|g| g.verdict == Verdict::Passed)
    }

    pub fn data(&self) -> CompanionData {
        CompanionData {
            name: self.name.clone(),
            container: self.container.clone(),
            id: self.id.clone(),
            image: self.image.clone(),
            action: self.action.into(),
            gate: self
                .gate
                .as_ref()
                .map(|g| GateVerdict { verdict: g.verdict, headline: g.headline.clone() }),
            drift: self.drift.clone(),
        }
    }
}

/// How ensuring the companions ended.
pub enum Companions {
    /// Every companion runs and passed its gate.
    Ready(Vec<Ensured>),
    /// This one failed its gate (or could not start); nothing of the app was touched.
    Failed(Vec<Ensured>, String),
    /// A signal: a companion this run created is removed again.
    Interrupted(Vec<Ensured>, Signal),
}

impl CompanionSettings {
    /// Its secret values, to redact.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.secret_env.iter().map(|(_, v)| v)
    }

    fn spec(&self, app: &str, environment: Option<&str>) -> Spec {
        let mut labels = vec![
            (LABEL_APP.to_string(), app.to_string()),
            (LABEL_COMPANION.to_string(), self.name.clone()),
            (LABEL_IMAGE.to_string(), self.image.clone()),
        ];
        if let Some(environment) = environment {
            labels.push((LABEL_ENVIRONMENT.into(), environment.into()));
        }
        let mut keys: Vec<&str> = self.secret_env.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        if !keys.is_empty() {
            labels.push((LABEL_SECRET_ENV.into(), keys.join(",")));
        }
        let mut env = self.env.clone();
        env.extend(self.secret_env.iter().map(|(k, v)| format!("{k}={}", v.expose())));
        Spec {
            name: self.container.clone(),
            image: self.image.clone(),
            env,
            labels,
            publish: self.publish.clone(),
            network: self.network.clone(),
            aliases: vec![self.name.clone()],
            container: self.spec.clone(),
        }
    }
}

/// Starts what is missing and gates every companion, in order, before the app is touched.
pub async fn ensure(
    docker: &Docker,
    app: &str,
    environment: Option<&str>,
    companions: &[CompanionSettings],
    pull: &PullSettings,
    signals: &mut Signals,
    live: &mut dyn Live,
) -> Result<Companions, DeployError> {
    let mut done = Vec::new();
    for c in companions {
        if let Some(network) = &c.network {
            docker::check_network(docker, network).await?;
        }
        let found = docker::find(docker, &c.container).await?;
        let (id, action, drift) = match &found {
            Some(f) if f.running => {
                let drift = (f.image != c.image).then(|| {
                    format!(
                        "companion {} runs {} but stepkit.toml says {}; it is left alone (stepkit deploy companion restart {} applies it)",
                        c.container, f.image, c.image, c.name
                    )
                });
                (f.id.clone(), "running", drift)
            }
            Some(f) => {
                live.line(&format!("stepkit deploy: starting companion {} ({})", c.container, f.image));
                match guarded(signals, docker::start(docker, &f.id)).await {
                    Ok(started) => started?,
                    Err(signal) => return Ok(Companions::Interrupted(done, signal)),
                }
                (f.id.clone(), "started", None)
            }
            None => match create(docker, app, environment, c, pull, signals, live).await? {
                Ok(id) => (id, "created", None),
                Err(signal) => return Ok(Companions::Interrupted(done, signal)),
            },
        };
        if let Some(d) = &drift {
            live.line(&format!("stepkit deploy: {d}"));
        }
        let mut ensured = Ensured {
            name: c.name.clone(),
            container: c.container.clone(),
            id: id.clone(),
            image: found.as_ref().map_or_else(|| c.image.clone(), |f| f.image.clone()),
            action,
            gate: None,
            drift,
        };
        match guarded(signals, gate_one(docker, c, &id, live)).await {
            Ok(Ok(outcome)) => {
                let passed = outcome.verdict == Verdict::Passed;
                let headline = outcome.headline.clone();
                ensured.gate = Some(outcome);
                done.push(ensured);
                if !passed {
                    let why = format!("companion {} failed its gate: {headline}", c.container);
                    return Ok(Companions::Failed(done, why));
                }
            }
            Ok(Err(e)) => {
                done.push(ensured);
                return Ok(Companions::Failed(done, format!("companion {}: {e}", c.container)));
            }
            Err(signal) => {
                if action == "created" {
                    // Never gated, never used: the next deploy starts it afresh.
                    let _ = tokio::time::timeout(Duration::from_secs(3), docker::remove(docker, &id)).await;
                }
                done.push(ensured);
                return Ok(Companions::Interrupted(done, signal));
            }
        }
    }
    Ok(Companions::Ready(done))
}

/// Pulls its image when needed, creates and starts it; `Err(signal)` when a signal came first (what
/// was created is removed).
async fn create(
    docker: &Docker,
    app: &str,
    environment: Option<&str>,
    c: &CompanionSettings,
    pull: &PullSettings,
    signals: &mut Signals,
    live: &mut dyn Live,
) -> Result<Result<String, Signal>, DeployError> {
    match guarded(signals, pull::ensure(docker, &c.image, pull, live)).await {
        Ok(digest) => digest?,
        Err(signal) => return Ok(Err(signal)),
    };
    live.line(&format!("stepkit deploy: creating companion {} ({}) as `{}`", c.container, c.image, c.name));
    let spec = c.spec(app, environment);
    let started = guarded(signals, async {
        let id = docker::create(docker, &spec).await?;
        docker::start(docker, &id).await.map(|()| id)
    })
    .await;
    match started {
        Ok(id) => Ok(Ok(id?)),
        Err(signal) => {
            let _ = tokio::time::timeout(Duration::from_secs(3), docker::remove(docker, &c.container)).await;
            Ok(Err(signal))
        }
    }
}

/// Its gate: the container runs (and is healthy when it has a HEALTHCHECK), and each `tcp` port
/// accepts a connection on its address.
async fn gate_one(
    docker: &Docker,
    c: &CompanionSettings,
    id: &str,
    live: &mut dyn Live,
) -> Result<Outcome, DeployError> {
    let mut probes = vec![Probe::Container { name: c.container.clone(), target: Some(id.to_string()) }];
    for port in &c.tcp {
        let addr = traffic::upstream(docker, id, *port).await?.addr;
        probes.push(Probe::Tcp { host: addr.ip().to_string(), port: *port });
    }
    let mut gate = GateSettings::new(probes);
    gate.interval = Duration::from_millis(250);
    gate.timeout = Duration::from_secs(2);
    gate.deadline = c.deadline;
    live.line(&format!("stepkit deploy: gating companion {}", c.container));
    Ok(gate::run(&gate, live).await?)
}

/// `stepkit deploy companion remove NAME` (and the first half of a restart): stopped and removed;
/// its volumes stay.
pub async fn remove(
    docker: &Docker,
    c: &CompanionSettings,
    stop_timeout: Duration,
    live: &mut dyn Live,
) -> Result<Option<Ensured>, DeployError> {
    let Some(old) = docker::find(docker, &c.container).await? else { return Ok(None) };
    live.line(&format!("stepkit deploy: stopping and removing companion {} ({})", c.container, old.image));
    docker::stop(docker, &old.id, stop_timeout).await?;
    docker::remove(docker, &old.id).await?;
    Ok(Some(Ensured {
        name: c.name.clone(),
        container: c.container.clone(),
        id: old.id,
        image: old.image,
        action: "removed",
        gate: None,
        drift: None,
    }))
}
