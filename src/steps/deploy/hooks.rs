//! Hooks: a command (an argv, no shell unless it says `sh -c`) run in a one-off container of the new
//! image, with the app's env, volumes and network (so its companions are reachable by name), under a
//! timeout. `before-switch` hooks (migrations) run after the new version passed its gate and before
//! it gets traffic; `after-switch` ones once it has. Their output is kept, bounded, for the result.

use super::container::Healthcheck;
use super::docker::{self, Spec};
use super::DeployError;
use crate::report::Live;
use crate::result::deploy::HookData;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::{LogsOptions, WaitContainerOptions};
use bollard::Docker;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// A hook's output is cut to its last this many bytes: a migration can log a lot, the result file
/// and the step summary have limits.
pub const OUTPUT_LIMIT: usize = 16 * 1024;

/// `[deploy.hooks]`, `--before-switch`, `--after-switch`, `--hook-timeout`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookSettings {
    pub before_switch: Vec<Vec<String>>,
    pub after_switch: Vec<Vec<String>>,
    /// Per hook; past it the hook's container is killed and the hook failed.
    pub timeout: Duration,
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    BeforeSwitch,
    AfterSwitch,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::BeforeSwitch => "before-switch",
            Phase::AfterSwitch => "after-switch",
        }
    }
}

/// One hook that ran.
#[derive(Debug, Clone)]
pub struct HookRun {
    pub phase: Phase,
    pub argv: Vec<String>,
    /// `None` when it was killed at its timeout (or never started).
    pub exit_code: Option<i64>,
    pub timed_out: bool,
    /// Its `--hook-timeout`: named when it was reached (the duration also counts the kill).
    pub timeout: Duration,
    pub duration: Duration,
    /// stdout and stderr interleaved, the last [`OUTPUT_LIMIT`] bytes.
    pub output: String,
    pub truncated: bool,
}

impl HookRun {
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// `` `migrate up` `` as a shell would show it.
    pub fn command(&self) -> String {
        shlex::try_join(self.argv.iter().map(String::as_str)).unwrap_or_else(|_| self.argv.join(" "))
    }

    /// Why it failed, to follow "failed": `its before-switch hook `migrate`: exited with 3`.
    pub fn failure(&self) -> String {
        let how = match (self.timed_out, self.exit_code) {
            (true, _) => format!(
                "did not finish within {} (--hook-timeout); its container was killed",
                humantime::format_duration(self.timeout)
            ),
            (false, Some(code)) => format!("exited with {code}"),
            (false, None) => "could not run".to_string(),
        };
        format!("its {} hook `{}`: {how}", self.phase.name(), self.command())
    }

    pub fn data(&self) -> HookData {
        HookData {
            phase: self.phase.name().into(),
            command: self.argv.clone(),
            exit_code: self.exit_code,
            timed_out: self.timed_out,
            duration_ms: self.duration.as_millis() as u64,
            output: self.output.clone(),
            output_truncated: self.truncated,
        }
    }

    /// For the outcome's text: the command, how it ended, its output indented.
    pub fn text(&self) -> String {
        let state = if self.passed() { "passed".to_string() } else { self.failure() };
        let mut out = format!("{} hook `{}`: {state}\n", self.phase.name(), self.command());
        for line in self.output.lines() {
            out.push_str(&format!("  | {line}\n"));
        }
        out
    }
}

/// The hook container's name: the app's, the phase and a time stamp, so a leftover is recognisable.
pub fn container_name(app: &str, phase: Phase, at: chrono::DateTime<chrono::Utc>, n: usize) -> String {
    format!("{app}-hook-{}-{}-{n}", phase.name(), at.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// The hook's container: the new version's spec without ports, aliases, restart or healthcheck,
/// running `argv` (after the image's entrypoint, as `docker run IMAGE ARGV` does).
pub fn spec(app_spec: &Spec, name: String, argv: &[String], phase: Phase) -> Spec {
    let mut spec = app_spec.clone();
    spec.name = name;
    spec.publish.clear();
    spec.aliases.clear();
    spec.labels.push((HOOK_LABEL.into(), phase.name().into()));
    spec.container.command = Some(argv.to_vec());
    spec.container.restart = super::container::Restart::No;
    spec.container.healthcheck = Some(Healthcheck::Disabled);
    spec
}

/// Marks a hook container (and says which phase).
pub const HOOK_LABEL: &str = "io.stepkit.deploy.hook";

/// Runs one hook to its end or its timeout and removes its container. A future dropped mid-way (a
/// signal) leaves the container: the caller removes it by name.
pub async fn run(
    docker: &Docker,
    spec: &Spec,
    phase: Phase,
    argv: &[String],
    timeout: Duration,
    live: &mut dyn Live,
) -> Result<HookRun, DeployError> {
    let command = shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "));
    live.line(&format!("stepkit deploy: {} hook `{command}` in {}", phase.name(), spec.name));
    let start = Instant::now();
    let id = docker::create(docker, spec).await?;
    let ran = async {
        docker::start(docker, &id).await?;
        let mut waited = docker.wait_container(&id, None::<WaitContainerOptions>);
        let (exit, timed_out) = match tokio::time::timeout(timeout, waited.next()).await {
            Ok(Some(Ok(r))) => (Some(r.status_code), false),
            Ok(Some(Err(DockerError::DockerContainerWaitError { code, .. }))) => (Some(code), false),
            Ok(Some(Err(e))) => {
                return Err(DeployError::Docker {
                    what: format!("wait for hook container {}", spec.name),
                    message: e.to_string(),
                })
            }
            Ok(None) => (None, false),
            Err(_) => {
                docker::kill(docker, &id).await?;
                (None, true)
            }
        };
        let (output, truncated) = logs(docker, &id).await;
        Ok(HookRun {
            phase,
            argv: argv.to_vec(),
            exit_code: exit,
            timed_out,
            timeout,
            duration: start.elapsed(),
            output,
            truncated,
        })
    }
    .await;
    // Gone whatever happened: a hook container is never worth keeping.
    let removed = docker::remove(docker, &id).await;
    let run = ran?;
    removed?;
    for line in run.output.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev() {
        live.line(&format!("  | {line}"));
    }
    live.line(&format!(
        "stepkit deploy: {} hook `{command}` {}",
        phase.name(),
        if run.passed() { "passed".to_string() } else { run.failure() }
    ));
    Ok(run)
}

/// The container's output, its last [`OUTPUT_LIMIT`] bytes (cut at a line start), and whether it was cut.
async fn logs(docker: &Docker, id: &str) -> (String, bool) {
    let options = LogsOptions { stdout: true, stderr: true, ..Default::default() };
    let mut stream = docker.logs(id, Some(options));
    let mut bytes: Vec<u8> = Vec::new();
    let mut cut = false;
    while let Some(Ok(chunk)) = stream.next().await {
        bytes.extend_from_slice(&chunk.into_bytes());
        if bytes.len() > 2 * OUTPUT_LIMIT {
            bytes.drain(..bytes.len() - OUTPUT_LIMIT);
            cut = true;
        }
    }
    if bytes.len() > OUTPUT_LIMIT {
        bytes.drain(..bytes.len() - OUTPUT_LIMIT);
        cut = true;
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if cut {
        if let Some(at) = text.find('\n') {
            text.drain(..=at);
        }
    }
    (crate::sanitize::text(&text), cut)
}

/// Removes hook containers left by a deploy stopped mid-hook (SIGKILL) or a future dropped by a signal.
pub async fn remove_named(docker: &Docker, name: &str) -> Result<(), DeployError> {
    docker::remove(docker, name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(exit: Option<i64>, timed_out: bool) -> HookRun {
        HookRun {
            phase: Phase::BeforeSwitch,
            argv: vec!["migrate".into(), "up to".into()],
            exit_code: exit,
            timed_out,
            timeout: Duration::from_secs(2),
            duration: Duration::from_millis(2300),
            output: "applied 1\napplied 2\n".into(),
            truncated: false,
        }
    }

    #[test]
    fn a_hook_says_how_it_ended() {
        assert!(run(Some(0), false).passed());
        assert_eq!(run(Some(3), false).failure(), "its before-switch hook `migrate 'up to'`: exited with 3");
        assert!(run(None, true).failure().contains("did not finish within 2s"));
        let text = run(Some(0), false).text();
        assert!(text.starts_with("before-switch hook `migrate 'up to'`: passed\n  | applied 1\n"), "{text}");
        assert_eq!(run(Some(1), false).data().command[1], "up to");
    }

    #[test]
    fn the_hook_container_has_no_ports_no_restart_and_the_hooks_argv() {
        let app = Spec {
            name: "web-next-x".into(),
            image: "web:2".into(),
            env: vec!["A=1".into()],
            labels: vec![],
            publish: vec![super::super::Publish {
                host_ip: None,
                host_port: 8080,
                container_port: 80,
                protocol: "tcp".into(),
            }],
            network: Some("backend".into()),
            aliases: vec!["web".into()],
            container: Default::default(),
        };
        let at = chrono::Utc::now();
        let name = container_name("web", Phase::BeforeSwitch, at, 1);
        assert!(name.starts_with("web-hook-before-switch-20") && name.ends_with("-1"), "{name}");
        let s = spec(&app, name, &["migrate".into()], Phase::BeforeSwitch);
        assert!(s.publish.is_empty() && s.aliases.is_empty());
        assert_eq!((s.network.as_deref(), &s.env[..]), (Some("backend"), &["A=1".to_string()][..]));
        assert_eq!(s.container.command, Some(vec!["migrate".to_string()]));
        assert_eq!(s.container.restart, super::super::container::Restart::No);
    }
}
