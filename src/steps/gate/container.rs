//! The container probe through the Docker API: running (and healthy, when the image has a HEALTHCHECK)
//! passes; created or health "starting" is still starting; exited, restarted or unhealthy is fatal.
//! Also the exit watcher and the last log lines.

use super::answer::{ms, snippet, ErrorClass, Verdict};
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerStateStatusEnum as Status, HealthStatusEnum as Health};
use bollard::query_parameters::{LogsOptions, WaitContainerOptions};
use bollard::Docker;
use futures_util::StreamExt;
use std::time::Duration;

/// Inspects the container once. `seen_restarts` is its restart count when the gate first saw it: a
/// higher count now means it crashed and the daemon restarted it between two attempts.
/// Returns the verdict and the restart count seen now.
pub async fn inspect(
    docker: &Docker,
    name: &str,
    timeout: Duration,
    seen_restarts: Option<i64>,
) -> (Verdict, Option<i64>) {
    let response = match tokio::time::timeout(timeout, docker.inspect_container(name, None)).await {
        Err(_) => {
            return (
                Verdict::Error {
                    class: ErrorClass::Timeout,
                    message: format!("the daemon did not answer within {}", ms(timeout)),
                },
                None,
            )
        }
        Ok(Err(DockerError::DockerResponseServerError { status_code: 404, .. })) => {
            return (
                Verdict::Error { class: ErrorClass::NotFound, message: format!("no container named {name}") },
                None,
            )
        }
        Ok(Err(e)) => {
            return (
                Verdict::Error { class: ErrorClass::Docker, message: format!("inspect {name}: {e}") },
                None,
            )
        }
        Ok(Ok(response)) => response,
    };
    let restarts = response.restart_count;
    let state = response.state.unwrap_or_default();
    let exited = || {
        let mut text = format!("exited with code {}", state.exit_code.unwrap_or(-1));
        if state.oom_killed == Some(true) {
            text.push_str(" (killed: out of memory)");
        }
        if let Some(error) = state.error.as_deref().filter(|e| !e.is_empty()) {
            text.push_str(&format!(": {error}"));
        }
        text
    };
    let verdict = match state.status {
        Some(Status::RUNNING) => match (seen_restarts, restarts) {
            (Some(seen), Some(now)) if now > seen => {
                Verdict::Fatal(format!("restarted {} time(s) during the gate; last {}", now - seen, exited()))
            }
            _ => match state.health.as_ref().and_then(|h| h.status) {
                // Docker reports "starting" for the whole start period: slow, not broken.
                Some(Health::STARTING) => {
                    Verdict::Starting("running; its health check is still starting".into())
                }
                Some(Health::UNHEALTHY) => {
                    let last = state
                        .health
                        .as_ref()
                        .and_then(|h| h.log.as_ref())
                        .and_then(|log| log.last())
                        .and_then(|r| r.output.clone())
                        .unwrap_or_default();
                    let last = snippet(&last, 200);
                    Verdict::Fatal(if last.is_empty() {
                        "unhealthy".into()
                    } else {
                        format!("unhealthy; last health check said: {last}")
                    })
                }
                // No HEALTHCHECK ("none" or absent) or healthy: running is enough.
                _ => Verdict::Pass,
            },
        },
        Some(Status::EXITED | Status::DEAD) => Verdict::Fatal(exited()),
        Some(Status::RESTARTING) => Verdict::Fatal(format!("restarting: it {}", exited())),
        Some(Status::REMOVING) => Verdict::Fatal("being removed".into()),
        Some(Status::CREATED) => Verdict::Starting("created, not started".into()),
        Some(Status::PAUSED) => Verdict::Wrong("paused".into()),
        other => Verdict::Wrong(format!(
            "in state {}",
            other.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into())
        )),
    };
    (verdict, restarts)
}

/// Resolves when the container next exits, with what to say about it; never resolves when it cannot
/// watch (no such container yet: the periodic inspect still notices an exit within one interval).
pub async fn watch_exit(docker: &Docker, name: &str) -> String {
    let options = WaitContainerOptions { condition: "next-exit".into() };
    let mut stream = docker.wait_container(name, Some(options));
    match stream.next().await {
        Some(Ok(response)) => format!("exited with code {}", response.status_code),
        Some(Err(DockerError::DockerContainerWaitError { code, error })) if error.is_empty() => {
            format!("exited with code {code}")
        }
        Some(Err(DockerError::DockerContainerWaitError { code, error })) => {
            format!("exited with code {code}: {error}")
        }
        _ => std::future::pending().await,
    }
}

/// The container's last `lines` log lines (stdout and stderr interleaved as the daemon stored them).
pub async fn last_logs(docker: &Docker, name: &str, lines: usize) -> Result<Vec<String>, String> {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        follow: false,
        tail: lines.to_string(),
        ..Default::default()
    };
    let collect = async {
        let mut stream = docker.logs(name, Some(options));
        let mut bytes = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(
                    LogOutput::StdOut { message }
                    | LogOutput::StdErr { message }
                    | LogOutput::Console { message }
                    | LogOutput::StdIn { message },
                ) => bytes.extend_from_slice(&message),
                Err(e) => return Err(format!("read the logs of {name}: {e}")),
            }
        }
        Ok(bytes)
    };
    let bytes = tokio::time::timeout(Duration::from_secs(5), collect)
        .await
        .map_err(|_| format!("read the logs of {name}: no answer within 5 s"))??;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<String> = text.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
    Ok(all[all.len().saturating_sub(lines)..].to_vec())
}

#[cfg(test)]
pub(crate) mod tests {
    //! Against the real Docker engine: skipped with a reason when none answers, failed when `CI=true`.

    use super::*;
    use crate::report::Silent;
    use crate::report::Verdict as StepVerdict;
    use crate::steps::gate::probe::Probe;
    use crate::steps::gate::{run, GateSettings};
    use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig};
    use bollard::query_parameters::{BuildImageOptions, CreateContainerOptions, RemoveContainerOptions};

    const IMAGE: &str = "stepkit-gate-test:busybox";

    /// A daemon with the test image, or `None` (after saying why) when Docker is not available here.
    pub(crate) async fn docker() -> Option<Docker> {
        let docker = match crate::docker::connect().await {
            Ok(docker) => docker,
            Err(e) if crate::ci::tests_in_ci(&crate::ci::Env::from_process()) => {
                panic!("CI=true needs a Docker daemon: {e}")
            }
            Err(e) => {
                eprintln!("skipping a container gate test: {e}");
                return None;
            }
        };
        // One build per test process: parallel builds of the same tag race in the daemon.
        static BUILT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        BUILT
            .get_or_init(|| async {
                let mut tar = tar::Builder::new(Vec::new());
                let dockerfile = b"FROM scratch\nCOPY busybox /bin/busybox\n";
                let mut header = tar::Header::new_gnu();
                header.set_size(dockerfile.len() as u64);
                header.set_mode(0o644);
                tar.append_data(&mut header, "Dockerfile", &dockerfile[..]).unwrap();
                tar.append_path_with_name("/bin/busybox", "busybox")
                    .expect("busybox-static is installed (/bin/busybox)");
                let body = bollard::body_full(tar.into_inner().unwrap().into());
                let options = BuildImageOptions { t: Some(IMAGE.into()), rm: true, ..Default::default() };
                let mut build = docker.build_image(options, None, Some(body));
                while let Some(item) = build.next().await {
                    item.expect("build the busybox test image");
                }
            })
            .await;
        Some(docker)
    }

    /// Removes the container when dropped, even when the test panics.
    pub(crate) struct Started(pub String);

    impl Drop for Started {
        fn drop(&mut self) {
            let name = self.0.clone();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    if let Ok(docker) = crate::docker::connect().await {
                        let _ = docker
                            .remove_container(
                                &name,
                                Some(RemoveContainerOptions { force: true, ..Default::default() }),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }

    /// Starts `sh -c script` in the busybox image, with an optional health check command.
    /// Failing checks during `start_period` do not count toward unhealthy; the first pass makes it healthy.
    pub(crate) async fn start(
        docker: &Docker,
        name: &str,
        script: &str,
        health: Option<(&str, Duration)>,
    ) -> Started {
        let _ = docker
            .remove_container(name, Some(RemoveContainerOptions { force: true, ..Default::default() }))
            .await;
        let healthcheck = health.map(|(cmd, start_period)| HealthConfig {
            test: Some(vec!["CMD".into(), "/bin/busybox".into(), "sh".into(), "-c".into(), cmd.into()]),
            interval: Some(50_000_000),
            timeout: Some(1_000_000_000),
            retries: Some(2),
            start_period: Some(start_period.as_nanos() as i64),
            ..Default::default()
        });
        let config = ContainerCreateBody {
            image: Some(IMAGE.into()),
            cmd: Some(vec!["/bin/busybox".into(), "sh".into(), "-c".into(), script.into()]),
            healthcheck,
            host_config: Some(HostConfig { network_mode: Some("none".into()), ..Default::default() }),
            ..Default::default()
        };
        docker
            .create_container(
                Some(CreateContainerOptions { name: Some(name.into()), ..Default::default() }),
                config,
            )
            .await
            .expect("create the test container");
        let started = Started(name.into());
        docker.start_container(name, None).await.expect("start the test container");
        started
    }

    fn settings(name: &str, deadline: Duration) -> GateSettings {
        let mut s = GateSettings::new(vec![Probe::Container { name: name.into(), target: None }]);
        s.interval = Duration::from_millis(100);
        s.timeout = Duration::from_secs(5);
        s.deadline = deadline;
        s
    }

    // Real time, not tokio's paused clock: the container sleeps and runs its HEALTHCHECK on the host's
    // clock, and dockerd answers from another process, during which paused time would jump ahead.
    #[tokio::test]
    async fn a_container_that_exits_closes_the_gate_with_its_logs() {
        let Some(docker) = docker().await else { return };
        let name = format!("stepkit-gate-exits-{}", std::process::id());
        let _c = start(
            &docker,
            &name,
            "echo booting; echo about to crash >&2; /bin/busybox sleep 1; exit 3",
            None,
        )
        .await;
        // Running, but its port never opens: the gate waits, and the exit closes it (not the deadline).
        let mut settings = settings(&name, Duration::from_secs(60));
        settings.probes.push(Probe::Tcp {
            host: "127.0.0.1".into(),
            port: crate::steps::gate::test_server::refused_port().await,
        });
        let outcome = run(&settings, &mut Silent).await.unwrap();
        assert_eq!(outcome.verdict, StepVerdict::Failed, "{}", outcome.headline);
        assert!(outcome.headline.contains("exited with code 3"), "{}", outcome.headline);
        assert!(outcome.text.contains("about to crash"), "{}", outcome.text);
        let logs = outcome.data["container_logs"][&name].as_array().unwrap();
        assert!(
            logs.iter().any(|l| l == "about to crash") && logs.iter().any(|l| l == "booting"),
            "{logs:?}"
        );
    }

    #[tokio::test]
    async fn a_health_check_must_turn_healthy() {
        let Some(docker) = docker().await else { return };
        let name = format!("stepkit-gate-healthy-{}", std::process::id());
        let _c = start(
            &docker,
            &name,
            "/bin/busybox sleep 1; /bin/busybox touch /ready; exec /bin/busybox sleep 60",
            Some(("/bin/busybox test -e /ready", Duration::from_secs(60))),
        )
        .await;
        let outcome = run(&settings(&name, Duration::from_secs(60)), &mut Silent).await.unwrap();
        assert_eq!(outcome.verdict, StepVerdict::Passed, "{}\n{}", outcome.headline, outcome.text);
        let attempts = outcome.data["attempts"].as_array().unwrap();
        assert!(
            attempts
                .iter()
                .any(|a| a["outcome"] == "starting"
                    && a["detail"].as_str().unwrap().contains("still starting")),
            "{attempts:?}"
        );
    }

    #[tokio::test]
    async fn an_unhealthy_container_closes_the_gate() {
        let Some(docker) = docker().await else { return };
        let name = format!("stepkit-gate-unhealthy-{}", std::process::id());
        let _c = start(
            &docker,
            &name,
            "exec /bin/busybox sleep 60",
            Some(("echo db unreachable; exit 1", Duration::ZERO)),
        )
        .await;
        let outcome = run(&settings(&name, Duration::from_secs(60)), &mut Silent).await.unwrap();
        assert_eq!(outcome.verdict, StepVerdict::Failed, "{}", outcome.headline);
        assert!(
            outcome.headline.contains("unhealthy") && outcome.headline.contains("db unreachable"),
            "{}",
            outcome.headline
        );
    }

    #[tokio::test]
    async fn a_missing_container_is_an_error_until_the_deadline() {
        let Some(docker) = docker().await else { return };
        let name = format!("stepkit-gate-missing-{}", std::process::id());
        let _ = docker
            .remove_container(&name, Some(RemoveContainerOptions { force: true, ..Default::default() }))
            .await;
        let outcome = run(&settings(&name, Duration::from_millis(500)), &mut Silent).await.unwrap();
        assert_eq!(outcome.verdict, StepVerdict::TimedOut, "{}", outcome.headline);
        assert_eq!(outcome.data["attempts"][0]["error_class"], "not-found");
    }
}
