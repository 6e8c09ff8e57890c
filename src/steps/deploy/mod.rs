//! `stepkit deploy` and `stepkit deploy rollback`: replace a container behind the health gate, keep
//! the previous version (stopped, renamed) for a rollback, and put it back when the new one fails.

pub mod companion;
mod companion_cmd;
pub mod container;
pub mod docker;
pub mod github;
pub mod hooks;
pub mod lock;
pub mod names;
mod outcome;
pub mod proxy;
pub mod pull;
pub mod redact;
pub mod swap;
pub mod traffic;

use crate::error::ModuleError;
use crate::report::{Live, Outcome};
use crate::secret::Secret;
use crate::signals::Signals;
use crate::steps::gate::{GateError, GateSettings};
use lock::LockSettings;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use swap::{Candidate, Ending, Plan};

pub use redact::MIN_SECRET_LEN;
use redact::{RedactedLive, Redactor};

/// A published port: `[IP:]HOST:CONTAINER[/proto]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub host_ip: Option<String>,
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// Resolved settings for `stepkit deploy`.
#[derive(Debug, Clone)]
pub struct DeploySettings {
    /// The `[env.NAME]` table it was resolved with, for the result and a label.
    pub environment: Option<String>,
    /// The application, which is the live container's name.
    pub app: String,
    pub image: String,
    pub publish: Vec<Publish>,
    /// `K=V` from `--env` (argv, so not secret).
    pub env: Vec<String>,
    /// From `--env-file`: the values are secrets.
    pub secret_env: Vec<(String, Secret)>,
    pub network: Option<String>,
    /// The user's labels (stepkit's own are added at creation).
    pub labels: Vec<(String, String)>,
    /// How many previous versions stay for a rollback.
    pub keep: usize,
    /// SIGTERM-to-SIGKILL time when a version is stopped.
    pub stop_timeout: Duration,
    /// An earlier deploy's result file, for the duration delta.
    pub previous_result: Option<PathBuf>,
    /// The gate the new version must pass (and the restored one, after a failure).
    pub gate: GateSettings,
    pub lock: LockSettings,
    /// Traffic moves through this reverse proxy (and no host port is needed by both versions).
    pub proxy: Option<traffic::ProxySettings>,
    /// Volumes, command, limits, restart policy, user, hosts, healthcheck.
    pub container: container::ContainerSpec,
    /// When the image is pulled, and with which registry login.
    pub pull: pull::PullSettings,
    pub hooks: hooks::HookSettings,
    /// Started (when missing) and gated before the app is touched; never replaced.
    pub companions: Vec<companion::CompanionSettings>,
}

impl DeploySettings {
    /// Values that must never be printed: env-file values, the gate's secret headers, the
    /// companions' secret env and the registry password.
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut out: Vec<&Secret> = self.secret_env.iter().map(|(_, v)| v).collect();
        out.extend(self.gate.secrets());
        out.extend(self.companions.iter().flat_map(|c| c.secrets()));
        out.extend(self.pull.password.as_ref());
        out
    }
}

pub use companion_cmd::{companion_command, CompanionAction, CompanionCommandSettings};

/// Resolved settings for `stepkit deploy rollback`.
#[derive(Debug, Clone)]
pub struct RollbackSettings {
    /// The `[env.NAME]` table it was resolved with, for the result.
    pub environment: Option<String>,
    pub app: String,
    pub stop_timeout: Duration,
    pub gate: GateSettings,
    pub lock: LockSettings,
    /// Traffic moves back through this reverse proxy.
    pub proxy: Option<traffic::ProxySettings>,
}

/// The deploy could not do its job. A new version that fails its gate is an outcome, not this.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Daemon(#[from] crate::docker::DaemonError),
    #[error("{what}: {message}")]
    Docker { what: String, message: String },
    #[error("find image {image} in the local Docker engine: it is not there and --pull never forbids pulling it; build it (stepkit image build --tag {image}) or pull it first, or drop --pull never")]
    ImageMissing { image: String },
    #[error("pull {image} from {registry} with {tried}: {message}; {}", pull_hint(*denied, registry))]
    Pull { image: String, registry: String, tried: String, message: String, denied: bool },
    #[error("{what}: no [deploy.companions.{name}] (or [env.ENV.companions.{name}]) in stepkit.toml{known}")]
    NoSuchCompanion { what: String, name: String, known: String },
    #[error("use --network {network}: the Docker engine has no such network; create it (docker network create {network}) or fix the name")]
    NetworkMissing { network: String },
    #[error("roll back {app}: there is no kept version ({app}-prev-*); a deploy keeps --keep N (default 1) previous versions")]
    NothingKept { app: String },
    #[error("deploy {app}: another deploy of it still holds its lock after --lock-timeout {waited}: {holder}; wait for it to finish or raise --lock-timeout (the lock is released when its holder exits, even by SIGKILL, so that process is alive; lock file {path})")]
    Locked { app: String, holder: String, waited: String, path: String },
    #[error("{what}: {message}; point --lock-dir (STEPKIT_DEPLOY_LOCK_DIR) at a writable directory")]
    Lock { what: String, message: String },
    #[error(transparent)]
    Gate(#[from] GateError),
}

fn pull_hint(denied: bool, registry: &str) -> String {
    if denied {
        format!("check the login for {registry}: STEPKIT_REGISTRY_USERNAME and STEPKIT_REGISTRY_PASSWORD, else `docker login {registry}`")
    } else {
        "check that the registry is up and has this tag (stepkit image push), or build the image on this machine".into()
    }
}

impl ModuleError for DeployError {
    /// Usage problems exit 2 (a missing image is the pipeline's order of steps); a lock still held after
    /// --lock-timeout is a timeout (124, `exit_code`); the rest is environment (3).
    fn is_usage(&self) -> bool {
        match self {
            DeployError::ImageMissing { .. }
            | DeployError::NothingKept { .. }
            | DeployError::NoSuchCompanion { .. }
            | DeployError::NetworkMissing { .. } => true,
            DeployError::Pull { denied, message, .. } => {
                *denied || message.contains("manifest unknown") || message.contains("not found")
            }
            DeployError::Gate(e) => e.is_usage(),
            DeployError::Daemon(_) => false,
            DeployError::Docker { .. } | DeployError::Locked { .. } | DeployError::Lock { .. } => false,
        }
    }

    /// Waited --lock-timeout for another deploy of the same app: a timeout (never a usage error).
    fn exit_code(&self) -> i32 {
        match self {
            DeployError::Locked { .. } => crate::exit::TIMED_OUT,
            _ if self.is_usage() => crate::exit::USAGE,
            _ => crate::exit::ENVIRONMENT,
        }
    }
}

async fn connect() -> Result<bollard::Docker, DeployError> {
    Ok(crate::docker::connect_within(Duration::from_secs(30)).await?)
}

/// `stepkit deploy`. Must be called inside a tokio runtime.
pub async fn deploy(settings: &DeploySettings, live: &mut dyn Live) -> Result<Outcome, DeployError> {
    // Caught from the start: a signal before the first change just ends the step, after it reverts.
    let mut signals = Signals::install();
    let command = format!("stepkit deploy --name {} --image {}", settings.app, settings.image);
    // Held to the end of the deploy: everything below reads and changes the app's containers.
    let _lock = match lock::acquire(&settings.lock, &settings.app, &command, &mut signals, live).await? {
        Ok(lock) => lock,
        Err(signal) => return Ok(outcome::interrupted_waiting("deploy", &settings.app, signal)),
    };
    let start = Instant::now();
    let at = chrono::Utc::now();
    let docker = connect().await?;
    let digest = pull::ensure(&docker, &settings.image, &settings.pull, live).await?;
    if let Some(network) = &settings.network {
        docker::check_network(&docker, network).await?;
    }
    let mut warnings = clear_leftovers(&docker, &settings.app, settings.proxy.as_ref(), live).await?;
    let previous = docker::find(&docker, &settings.app).await?;
    // The previous version's own secrets too: after a failure its logs and health checks are shown.
    let previous_secrets = previous.as_ref().map(|p| p.secrets.as_slice()).unwrap_or_default();
    Redactor::new(previous_secrets.iter().map(Secret::expose)).mask(live);
    let redactor = Redactor::new(settings.secrets().into_iter().chain(previous_secrets).map(Secret::expose));
    let live = &mut RedactedLive { inner: live, redactor: &redactor };
    let env_name = settings.environment.as_deref();
    let companions = match companion::ensure(
        &docker,
        &settings.app,
        env_name,
        &settings.companions,
        &settings.pull,
        &mut signals,
        live,
    )
    .await?
    {
        companion::Companions::Ready(done) => done,
        stopped => {
            let mut outcome = companion_cmd::before_app(
                "deploy",
                &settings.app,
                env_name,
                &settings.image,
                stopped,
                start.elapsed(),
            );
            outcome.warnings.extend(warnings);
            redactor.outcome(&mut outcome);
            return Ok(outcome);
        }
    };
    warnings.extend(companions.iter().filter_map(|c| c.drift.clone()));
    let record = names::Record {
        app: &settings.app,
        environment: settings.environment.as_deref(),
        image: &settings.image,
        digest: &digest,
        at,
        previous: previous.as_ref().map(|p| (p.image.as_str(), p.digest.as_str())),
        secret_keys: settings.secret_env.iter().map(|(k, _)| k.as_str()).collect(),
    };
    let labels = names::labels(&settings.labels, &record);
    let mut env = settings.env.clone();
    env.extend(settings.secret_env.iter().map(|(k, v)| format!("{k}={}", v.expose())));
    let spec = docker::Spec {
        name: names::candidate_name(&settings.app, at),
        image: settings.image.clone(),
        env,
        labels,
        publish: settings.publish.clone(),
        network: settings.network.clone(),
        aliases: Vec::new(),
        container: settings.container.clone(),
    };
    let plan = Plan {
        app: &settings.app,
        candidate: Candidate::New(Box::new(spec.clone())),
        retire_as: names::kept_name(&settings.app, at),
        stop_timeout: settings.stop_timeout,
        gate: &settings.gate,
        proxy: settings.proxy.as_ref(),
        hooks: Some(&settings.hooks),
    };
    live.line(&format!(
        "stepkit deploy: {} -> {} ({})",
        settings.app,
        settings.image,
        docker::short(&digest)
    ));
    let mut swap = swap::swap(&docker, &plan, live, &mut signals).await?;
    let mut after_failure = None;
    if swap.ending == Ending::Passed {
        after_failure =
            after_switch(&docker, &settings.app, &settings.hooks, &spec, &mut swap, &mut signals, live).await;
    }

    let mut removed = Vec::new();
    interrupted_after(&mut swap, &mut signals);
    if swap.ending == Ending::Passed {
        match prune(&docker, &settings.app, settings.keep).await {
            Ok(names) => removed = names,
            Err(e) => {
                warnings.push(format!("the deploy passed, but older versions could not be pruned: {e}"))
            }
        }
    }
    interrupted_after(&mut swap, &mut signals);
    let kept = docker::kept(&docker, &settings.app)
        .await
        .map(|k| k.into_iter().map(|f| f.name).collect())
        .unwrap_or_default();
    let baseline =
        settings.previous_result.as_ref().map(|path| outcome::read_previous_duration(path, &settings.app));
    let mut outcome = outcome::deploy_outcome(outcome::Deployed {
        swapped: outcome::Swapped {
            plan: &plan,
            environment: settings.environment.as_deref(),
            image: &settings.image,
            digest: &digest,
            swap,
            duration: start.elapsed(),
            kept,
            removed,
            warnings,
        },
        at,
        baseline,
        companions,
        after_failure,
    });
    redactor.outcome(&mut outcome);
    Ok(outcome)
}

/// The after-switch hooks, once the new version is live. A failure fails the deploy but keeps the
/// new version (see docs/deploy.md: rolling back after the switch would run the old code against
/// whatever the hook half-changed, and the new version did pass its gate); a signal ends the step
/// with the new version live. Returns why the deploy failed, if it did.
async fn after_switch(
    docker: &bollard::Docker,
    app: &str,
    settings: &hooks::HookSettings,
    app_spec: &docker::Spec,
    swap: &mut swap::Swap,
    signals: &mut Signals,
    live: &mut dyn Live,
) -> Option<String> {
    for (n, argv) in settings.after_switch.iter().enumerate() {
        let name = hooks::container_name(app, hooks::Phase::AfterSwitch, chrono::Utc::now(), n + 1);
        let spec = hooks::spec(app_spec, name.clone(), argv, hooks::Phase::AfterSwitch);
        let ran = swap::guarded(
            signals,
            hooks::run(docker, &spec, hooks::Phase::AfterSwitch, argv, settings.timeout, live),
        )
        .await;
        match ran {
            Ok(Ok(run)) => {
                let failed = (!run.passed()).then(|| run.failure());
                swap.hooks.push(run);
                if failed.is_some() {
                    return failed;
                }
            }
            Ok(Err(e)) => return Some(format!("its after-switch hook could not run: {e}")),
            Err(signal) => {
                let _ =
                    tokio::time::timeout(Duration::from_secs(3), hooks::remove_named(docker, &name)).await;
                swap.ending = Ending::Interrupted { signal, after_pass: true };
                return None;
            }
        }
    }
    None
}

/// A signal that came after the candidate passed (during clean-up) still ends the step with 130/143;
/// the swap itself is complete and stays.
fn interrupted_after(swap: &mut swap::Swap, signals: &mut Signals) {
    if let (Ending::Passed, Some(signal)) = (swap.ending, signals.pending()) {
        swap.ending = Ending::Interrupted { signal, after_pass: true };
    }
}

/// Removes the new versions a deploy that did not finish (SIGKILL, a crash, a lost machine) left under
/// their gated names: with the lock held no other deploy is gating them, and they may hold host ports
/// the next version needs. Returns what was removed, as warnings.
async fn clear_leftovers(
    docker: &bollard::Docker,
    app: &str,
    proxy: Option<&traffic::ProxySettings>,
    live: &mut dyn Live,
) -> Result<Vec<String>, DeployError> {
    let mut warnings = Vec::new();
    for left in docker::hook_leftovers(docker, app).await? {
        docker::remove(docker, &left.id).await?;
        warnings.push(format!(
            "removed hook container {}, left by a deploy of {app} that did not finish",
            left.name
        ));
    }
    for left in docker::candidates(docker, app).await? {
        if let Some(proxy) = proxy {
            // Killed during its switch, it may be a server of the proxy, and the live version drained
            // or gone from it: traffic goes back to the live version before the leftover goes.
            let current = docker::find(docker, app).await?;
            let from = traffic::from(docker, current.as_ref(), proxy.upstream_port).await?;
            let to = proxy::Upstream { name: traffic::server_name(&left.id), addr: ([0, 0, 0, 0], 0).into() };
            warnings.extend(traffic::undo(proxy, &to, from.as_ref()).await);
        }
        docker::remove(docker, &left.id).await?;
        let text =
            format!("removed {} ({}), left by a deploy of {app} that did not finish", left.name, left.image);
        live.line(&format!("stepkit deploy: {text}"));
        warnings.push(text);
    }
    Ok(warnings)
}

/// Removes kept versions beyond the `keep` newest; returns their names.
async fn prune(docker: &bollard::Docker, app: &str, keep: usize) -> Result<Vec<String>, DeployError> {
    let mut removed = Vec::new();
    for old in docker::kept(docker, app).await?.into_iter().skip(keep) {
        docker::remove(docker, &old.id).await?;
        removed.push(old.name);
    }
    Ok(removed)
}

/// `stepkit deploy rollback`. Must be called inside a tokio runtime.
pub async fn rollback(settings: &RollbackSettings, live: &mut dyn Live) -> Result<Outcome, DeployError> {
    let mut signals = Signals::install();
    let command = format!("stepkit deploy rollback --name {}", settings.app);
    let _lock = match lock::acquire(&settings.lock, &settings.app, &command, &mut signals, live).await? {
        Ok(lock) => lock,
        Err(signal) => return Ok(outcome::interrupted_waiting("deploy rollback", &settings.app, signal)),
    };
    let start = Instant::now();
    let at = chrono::Utc::now();
    let docker = connect().await?;
    let mut warnings = clear_leftovers(&docker, &settings.app, settings.proxy.as_ref(), live).await?;
    let target = docker::kept(&docker, &settings.app)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DeployError::NothingKept { app: settings.app.clone() })?;
    // Both versions' env-file values, from their secret-env labels: the target's logs are shown when
    // it fails its gate, the current one's when it is put back and fails too.
    let current = docker::find(&docker, &settings.app).await?;
    let found: Vec<&Secret> = target.secrets.iter().chain(current.iter().flat_map(|c| &c.secrets)).collect();
    Redactor::new(found.iter().map(|s| s.expose())).mask(live);
    let redactor = Redactor::new(found.into_iter().chain(settings.gate.secrets()).map(Secret::expose));
    let live = &mut RedactedLive { inner: live, redactor: &redactor };
    live.line(&format!("stepkit deploy rollback: {} -> {} ({})", settings.app, target.image, target.name));
    let retire_as = names::rolled_back_name(&settings.app, at);
    let plan = Plan {
        app: &settings.app,
        candidate: Candidate::Kept(target.clone()),
        retire_as: retire_as.clone(),
        stop_timeout: settings.stop_timeout,
        gate: &settings.gate,
        proxy: settings.proxy.as_ref(),
        hooks: None,
    };
    let mut swap = swap::swap(&docker, &plan, live, &mut signals).await?;
    let mut removed = Vec::new();
    interrupted_after(&mut swap, &mut signals);
    if let (Ending::Passed, Some(from)) = (swap.ending, &swap.previous) {
        // The version rolled back from is not kept: a second rollback goes further back, not forth.
        match docker::remove(&docker, &from.id).await {
            Ok(()) => removed.push(retire_as),
            Err(e) => warnings.push(format!("the rollback passed, but the version rolled back from ({retire_as}) could not be removed: {e}")),
        }
    }
    let kept = docker::kept(&docker, &settings.app)
        .await
        .map(|k| k.into_iter().map(|f| f.name).collect())
        .unwrap_or_default();
    let mut outcome = outcome::rollback_outcome(outcome::RolledBack {
        swapped: outcome::Swapped {
            plan: &plan,
            environment: settings.environment.as_deref(),
            image: &target.image,
            digest: &target.digest,
            swap,
            duration: start.elapsed(),
            kept,
            removed,
            warnings,
        },
        target: &target,
    });
    redactor.outcome(&mut outcome);
    Ok(outcome)
}
