//! `stepkit deploy` and `stepkit deploy rollback` against a real Docker engine, with images built here
//! `FROM scratch` + static busybox: healthy, 500 on the health path, exits at once, turns unhealthy,
//! healthy only after a few seconds.

use crate::image::{docker, have_docker, unique};
use crate::support::ports::free_port_for;
use crate::support::{stepkit, write, Run};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// The kinds of version the tests deploy.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `busybox httpd` on 8080; `/cgi-bin/health` answers 200.
    Healthy,
    /// The same, but the health path answers 500.
    Http500,
    /// Exits with code 3 at once.
    Exits,
    /// Serves, but its HEALTHCHECK fails: unhealthy after about a second.
    Unhealthy,
    /// Starts serving and turns healthy only after 3 s.
    SlowHealthy,
    /// Serves at once, but its HEALTHCHECK always fails: "starting" for about 5 s, then unhealthy.
    NeverHealthy,
}

const HEAD: &str = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY www /www\n";
const SERVE: &str = "CMD [\"/bin/sh\", \"-c\", \"echo token=$API_TOKEN; exec httpd -f -p 8080 -h /www\"]\n";

fn dockerfile(kind: Kind) -> String {
    let rest = match kind {
        Kind::Healthy | Kind::Http500 => SERVE.to_string(),
        Kind::Exits => "CMD [\"/bin/sh\", \"-c\", \"echo starting; echo token=$API_TOKEN; exit 3\"]\n".into(),
        Kind::Unhealthy => format!("HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD [\"/bin/sh\", \"-c\", \"echo db unreachable; exit 1\"]\n{SERVE}"),
        Kind::SlowHealthy => "HEALTHCHECK --interval=1s --timeout=1s --start-period=60s CMD [\"/bin/sh\", \"-c\", \"test -e /ready\"]\n\
CMD [\"/bin/sh\", \"-c\", \"sleep 3; touch /ready; exec httpd -f -p 8080 -h /www\"]\n"
            .into(),
        Kind::NeverHealthy => format!("HEALTHCHECK --interval=1s --timeout=1s --retries=5 CMD [\"/bin/sh\", \"-c\", \"test -e /ready\"]\n{SERVE}"),
    };
    format!("{HEAD}{rest}")
}

/// One app under test: its images and containers go away on drop, even when the test panics.
pub(crate) struct Fixture {
    pub(crate) app: String,
    images: Vec<String>,
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new(name: &str) -> Self {
        Fixture {
            app: unique(&format!("stepkit-deploy-{name}")),
            images: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Builds a version of `kind` whose `/version` says `version`.
    pub(crate) fn build(&mut self, kind: Kind, version: &str) -> String {
        let ctx = self.dir.path().join(format!("ctx-{version}"));
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::copy("/bin/busybox", ctx.join("busybox")).expect("busybox-static is installed");
        write(&ctx, "www/version", version);
        let status = if matches!(kind, Kind::Http500) { "500 Internal Server Error" } else { "200 OK" };
        let script = write(&ctx, "www/cgi-bin/health", format!("#!/bin/sh\nprintf 'Status: {status}\\r\\nContent-Type: text/plain\\r\\n\\r\\n{version}\\n'\n"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A request that stays in flight for a while: what a drain waits for.
        let slow = write(
            &ctx,
            "www/cgi-bin/slow",
            format!("#!/bin/sh\nsleep 20\nprintf 'Status: 200 OK\\r\\n\\r\\n{version}\\n'\n"),
        );
        std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
        write(&ctx, "Dockerfile", dockerfile(kind));
        let tag = format!("stepkit-deploy-test/{}:{version}", self.app);
        let out = docker(&["build", "-q", "-t", &tag, ctx.to_str().unwrap()]);
        assert!(out.status.success(), "build {tag}: {}", String::from_utf8_lossy(&out.stderr));
        self.images.push(tag.clone());
        tag
    }

    /// Every container of this app, `name image running` per line, sorted.
    pub(crate) fn containers(&self) -> Vec<String> {
        let out = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={}", self.app),
            "--format",
            "{{.Names}} {{.Image}} {{.State}}",
        ]);
        let mut lines: Vec<String> =
            String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        lines.sort();
        lines
    }

    pub(crate) fn inspect(&self, name: &str, format: &str) -> String {
        String::from_utf8_lossy(&docker(&["inspect", "--format", format, name]).stdout).trim().to_string()
    }

    pub(crate) fn deploy(&self, image: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "--format",
            "json",
            "deploy",
            "--name",
            &self.app,
            "--image",
            image,
            "--stop-timeout",
            "1s",
            "--interval",
            "200ms",
            "--deadline",
            "40s",
        ];
        args.extend_from_slice(extra);
        stepkit().current_dir(self.dir.path()).args(args).run()
    }

    /// `deploy rollback` of this app, with the quick stop and gate interval `deploy` uses, then `extra`.
    pub(crate) fn rollback(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "--format",
            "json",
            "deploy",
            "rollback",
            "--name",
            &self.app,
            "--stop-timeout",
            "1s",
            "--interval",
            "200ms",
        ];
        args.extend_from_slice(extra);
        stepkit().current_dir(self.dir.path()).args(args).run()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let ids = docker(&["ps", "-aq", "--filter", &format!("name={}", self.app)]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            docker(&["rm", "-f", id]);
        }
        for image in &self.images {
            docker(&["rmi", "-f", "--no-prune", image]);
        }
    }
}

/// A free port for a container to publish: dockerd binds it itself, so it cannot be handed over
/// bound (see `support::ports`). Prefer `on_a_free_port`, which retries when the port was taken.
pub(crate) use crate::support::ports::free_port;

/// Runs `first`, the deploy that first publishes a host port, on a free port and returns the port and
/// the run. dockerd binds the port itself, so another test may take it in between: a deploy that
/// failed on that ("address already in use") is run again on a new port.
pub(crate) fn on_a_free_port(mut first: impl FnMut(u16) -> Run) -> (u16, Run) {
    free_port_for("a published host port", |port| {
        let run = first(port);
        let taken =
            ["address already in use", "port is already allocated"].iter().any(|t| run.stderr.contains(t));
        (!taken).then_some((port, run))
    })
}

/// `f.deploy(image, ["--publish", "PORT:8080", "--http", "<its health URL>", extra...])`.
pub(crate) fn deploy_published(f: &Fixture, image: &str, port: u16, extra: &[&str]) -> Run {
    let (publish, health) = (format!("{port}:8080"), format!("http://127.0.0.1:{port}/cgi-bin/health"));
    f.deploy(image, &[&["--publish", publish.as_str(), "--http", health.as_str()][..], extra].concat())
}

/// The body of `GET path` on 127.0.0.1:port, or an empty string.
pub(crate) fn get(port: u16, path: &str) -> String {
    let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    get_on(stream, path)
}

/// The body of `GET path` asked on a connected `stream` (HTTP/1.0: the answer ends at close), or an
/// empty string when none came within 5 s.
pub(crate) fn get_on(mut stream: std::net::TcpStream, path: &str) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.split_once("\r\n\r\n").map(|(_, body)| body.trim().to_string()).unwrap_or_default()
}

#[test]
fn first_deploy_upgrade_prune_and_the_rollback_command() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("upgrade");
    let (v1, v2, v3) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::SlowHealthy, "v2"), f.build(Kind::Healthy, "v3"));
    // First deploy: nothing to keep.
    let (port, first) =
        on_a_free_port(|port| deploy_published(&f, &v1, port, &["--result-file", "first.json"]));
    let first = first.expect_code(0);
    let publish = format!("{port}:8080");
    let health = format!("http://127.0.0.1:{port}/cgi-bin/health");
    let gate = ["--publish", &publish, "--http", &health];
    let json = first.json();
    let data = &json["data"];
    assert_eq!(
        (data["result"].as_str(), data["rolled_back"].as_bool(), &data["previous"]),
        (Some("deployed"), Some(false), &serde_json::Value::Null),
        "{json}"
    );
    assert_eq!(data["gate"]["state"], "open");
    assert!(
        data["duration_ms"].is_u64() && data["container_id"].as_str().is_some_and(|id| id.len() == 64),
        "{json}"
    );
    assert_eq!(get(port, "/version"), "v1");
    let labels = f.inspect(&f.app, "{{json .Config.Labels}}");
    for expected in [
        format!("\"io.stepkit.deploy.app\":\"{}\"", f.app),
        format!("\"io.stepkit.deploy.image\":\"{v1}\""),
        "\"io.stepkit.deploy.digest\":\"sha256:".into(),
        "\"io.stepkit.deploy.time\":\"20".into(),
    ] {
        assert!(labels.contains(&expected), "{expected} in {labels}");
    }

    // Upgrade to a version that takes 3 s to come up: the port is shared, so the old one stops first.
    let second = f
        .deploy(
            &v2,
            &[&gate[..], &["--result-file", "second.json", "--previous-result", "first.json"]].concat(),
        )
        .expect_code(0);
    let json = second.json();
    let data = &json["data"];
    assert_eq!(
        (data["result"].as_str(), data["strategy"].as_str(), data["previous"]["image"].as_str()),
        (Some("deployed"), Some("stop-first"), Some(v1.as_str())),
        "{json}"
    );
    let kept = data["previous"]["name"].as_str().unwrap().to_string();
    assert!(kept.starts_with(&format!("{}-prev-", f.app)), "{kept}");
    assert_eq!(data["kept"], serde_json::json!([kept]));
    assert!(
        data["gate"]["attempts"].as_array().unwrap().iter().any(|a| a["outcome"] == "error"),
        "the gate waited while v2 started: {json}"
    );
    assert_eq!(data["previous_duration_ms"], first.json()["data"]["duration_ms"]);
    assert!(data["duration_delta_ms"].is_i64() && data["downtime_ms"].is_u64(), "{json}");
    assert_eq!(get(port, "/version"), "v2");
    assert_eq!(f.inspect(&kept, "{{.State.Running}}"), "false", "the kept version is stopped");
    assert!(f
        .inspect(&f.app, "{{json .Config.Labels}}")
        .contains(&format!("\"io.stepkit.deploy.previous\":\"{v1}\"")));

    // A third version with --keep 1: the oldest kept version goes.
    let third = f.deploy(&v3, &[&gate[..], &["--keep", "1"]].concat()).expect_code(0);
    let data = &third.json()["data"];
    assert_eq!(data["removed"], serde_json::json!([kept]), "{data}");
    assert_eq!(data["kept"].as_array().unwrap().len(), 1);
    assert_eq!(get(port, "/version"), "v3");

    // The rollback command brings v2 back behind the same gate and removes v3.
    let back = f.rollback(&["--http", &health]).expect_code(0);
    let data = &back.json()["data"];
    assert_eq!(
        (data["result"].as_str(), data["image"].as_str(), data["previous"]["image"].as_str()),
        (Some("rolled-back"), Some(v2.as_str()), Some(v3.as_str())),
        "{data}"
    );
    assert_eq!(get(port, "/version"), "v2");
    let containers = f.containers();
    assert_eq!(containers, vec![format!("{} {v2} running", f.app)], "v3 is gone and nothing else is kept");

    // Nothing left to roll back to: a usage error that says why.
    let none = stepkit().args(["deploy", "rollback", "--name", &f.app]).run();
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(none.stderr.contains("no kept version"), "{}", none.stderr);
}

#[test]
fn env_labels_and_network_reach_each_version_and_keep_two_keeps_two() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("options");
    let versions: Vec<String> = ["v1", "v2", "v3", "v4"].iter().map(|v| f.build(Kind::Healthy, v)).collect();
    let network = unique("stepkit-deploy-net");
    assert!(docker(&["network", "create", &network]).status.success(), "docker network create {network}");
    let options = ["--env", "MODE=prod", "--label", "team=payments", "--network", &network, "--keep", "2"];

    let (port, first) = on_a_free_port(|port| deploy_published(&f, &versions[0], port, &options));
    let mut first = Some(first);
    let mut last = serde_json::Value::Null;
    for version in &versions {
        let run = first.take().unwrap_or_else(|| deploy_published(&f, version, port, &options));
        last = run.expect_code(0).json();
        assert_eq!(get(port, "/version"), version.rsplit(':').next().unwrap());
        assert!(
            f.inspect(&f.app, "{{json .Config.Env}}").contains("\"MODE=prod\""),
            "--env reaches {version}"
        );
        assert_eq!(
            f.inspect(&f.app, "{{index .Config.Labels \"team\"}}"),
            "payments",
            "--label reaches {version}"
        );
        assert!(
            f.inspect(&f.app, "{{json .NetworkSettings.Networks}}").contains(&format!("\"{network}\"")),
            "{version} runs on {network}"
        );
    }
    // Four versions with --keep 2: v2 and v3 are kept (stopped), v1 was removed by the last deploy.
    let data = &last["data"];
    assert_eq!(data["kept"].as_array().map(Vec::len), Some(2), "{data}");
    assert_eq!(data["removed"].as_array().map(Vec::len), Some(1), "{data}");
    let mut images: Vec<String> = f
        .containers()
        .iter()
        .map(|line| line.split_once(' ').map_or(line.clone(), |(_, rest)| rest.to_string()))
        .collect();
    images.sort();
    let mut expected = vec![
        format!("{} exited", versions[1]),
        format!("{} exited", versions[2]),
        format!("{} running", versions[3]),
    ];
    expected.sort();
    assert_eq!(images, expected, "{:?}", f.containers());
    drop(f);
    docker(&["network", "rm", &network]);
}

#[test]
fn a_failed_upgrade_rolls_back_automatically() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("failed");
    let (v1, bad, exits) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::Http500, "v2-500"), f.build(Kind::Exits, "v3-exits"));
    // A first deploy that fails leaves nothing behind: there is nothing to restore.
    let (port, first) = on_a_free_port(|port| deploy_published(&f, &exits, port, &["--failures", "3"]));
    let first = first.expect_code(1);
    let publish = format!("{port}:8080");
    let health = format!("http://127.0.0.1:{port}/cgi-bin/health");
    let gate = ["--publish", &publish, "--http", &health, "--failures", "3"];
    assert_eq!(
        (first.json()["data"]["result"].as_str(), first.json()["data"]["rolled_back"].as_bool()),
        (Some("failed"), Some(false)),
        "{}",
        first.stdout
    );
    assert!(first.json()["headline"].as_str().unwrap().contains("no previous version"), "{}", first.stdout);
    assert!(f.containers().is_empty(), "{:?}", f.containers());
    f.deploy(&v1, &gate).expect_code(0);

    let run = f.deploy(&bad, &gate).expect_code(1);
    let json = run.json();
    let data = &json["data"];
    assert_eq!(
        (data["result"].as_str(), data["rolled_back"].as_bool()),
        (Some("rolled-back"), Some(true)),
        "{json}"
    );
    assert_eq!(
        (data["gate"]["state"].as_str(), data["restore_gate"]["state"].as_str()),
        (Some("closed"), Some("open")),
        "{json}"
    );
    assert!(json["headline"].as_str().unwrap().contains("status 500"), "{json}");
    assert!(run.stderr.contains("restored the previous version"), "{}", run.stderr);
    assert_eq!(get(port, "/version"), "v1");
    assert_eq!(
        f.containers(),
        vec![format!("{} {v1} running", f.app)],
        "the failed version is removed, the previous one is back under its name"
    );

    // A version that exits at once: the container probe that every deploy adds fails it at once.
    let started = Instant::now();
    let run = f.deploy(&exits, &gate).expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(30), "not the 40 s deadline: {:?}", started.elapsed());
    assert!(run.json()["headline"].as_str().unwrap().contains("exited with code 3"), "{}", run.stdout);
    assert_eq!(get(port, "/version"), "v1");
    assert_eq!(f.containers(), vec![format!("{} {v1} running", f.app)]);
}

#[test]
fn a_rollback_whose_version_fails_the_gate_puts_the_current_one_back() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("badrollback");
    let (v1, v2) = (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"));
    // v1 gets a secret from an env file; its label records the name only.
    let secret = "deploy-secret-7d41c9";
    write(f.dir.path(), "v1.env", format!("API_TOKEN={secret}\n"));
    let (port, first) = on_a_free_port(|port| deploy_published(&f, &v1, port, &["--env-file", "v1.env"]));
    first.expect_code(0);
    let publish = format!("{port}:8080");
    let health = format!("http://127.0.0.1:{port}/cgi-bin/health");
    let labels = f.inspect(&f.app, "{{json .Config.Labels}}");
    assert!(
        labels.contains("\"io.stepkit.deploy.secret-env\":\"API_TOKEN\"") && !labels.contains(secret),
        "{labels}"
    );
    let kept = f.deploy(&v2, &["--publish", &publish, "--http", &health]).expect_code(0).json()["data"]
        ["previous"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    // The health page says its version: a gate that wants v2 fails the kept v1, whose logs are then
    // shown; they echo the token it was deployed with, which the rollback knows only from the label.
    let run = f.rollback(&["--http", &health, "--body-contains", "v2", "--failures", "2"]).expect_code(1);
    let json = run.json();
    let data = &json["data"];
    assert_eq!(
        (data["result"].as_str(), data["gate"]["state"].as_str(), data["restore_gate"]["state"].as_str()),
        (Some("restored-current"), Some("closed"), Some("open")),
        "{json}"
    );
    let logs = data["gate"]["container_logs"][&f.app].to_string();
    assert!(logs.contains("token=***"), "v1's log line is shown, redacted: {logs}");
    assert!(run.stderr.contains("token=***"), "and in the text evidence: {}", run.stderr);
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains(secret), "the env-file value never reaches output:\n{output}");
    }
    assert_eq!(get(port, "/version"), "v2");
    let mut expected = vec![format!("{} {v2} running", f.app), format!("{kept} {v1} exited")];
    expected.sort();
    assert_eq!(f.containers(), expected, "the kept version is kept again, under its kept name");
}

#[test]
fn an_unhealthy_version_fails_its_gate_and_env_file_secrets_stay_hidden() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("unhealthy");
    let (v1, sick, slow) = (
        f.build(Kind::Healthy, "v1"),
        f.build(Kind::Unhealthy, "v2-sick"),
        f.build(Kind::SlowHealthy, "v3-slow"),
    );
    let secret = "deploy-secret-7d41c9";
    write(f.dir.path(), "prod.env", format!("# the app's secrets\nAPI_TOKEN={secret}\n"));
    // No published port: the previous version keeps serving while the new one is gated on its HEALTHCHECK.
    f.deploy(&v1, &["--env-file", "prod.env"]).expect_code(0);
    assert_eq!(f.inspect(&f.app, "{{.State.Running}}"), "true");
    let run = f.deploy(&sick, &["--env-file", "prod.env"]).expect_code(1);
    let json = run.json();
    assert_eq!(
        (json["data"]["strategy"].as_str(), json["data"]["rolled_back"].as_bool()),
        (Some("start-first"), Some(true)),
        "{json}"
    );
    assert!(json["headline"].as_str().unwrap().contains("unhealthy"), "{json}");
    let logs = json["data"]["gate"]["container_logs"][&f.app].to_string();
    assert!(logs.contains("token=***"), "the container's log line is shown, redacted: {logs}");
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains(secret), "the env-file value never reaches output:\n{output}");
    }
    assert_eq!(f.containers(), vec![format!("{} {v1} running", f.app)]);
    // The container itself did get it.
    let env = f.inspect(&f.app, "{{json .Config.Env}}");
    assert!(env.contains(&format!("API_TOKEN={secret}")), "{env}");

    // A version whose HEALTHCHECK passes only after 3 s: the default gate waits for "healthy".
    let run = f.deploy(&slow, &[]).expect_code(0);
    let json = run.json();
    let attempts = json["data"]["gate"]["attempts"].as_array().unwrap();
    assert!(
        attempts.iter().any(|a| a["detail"].as_str().is_some_and(|d| d.contains("still starting"))),
        "{json}"
    );
    assert_eq!(json["data"]["strategy"], "start-first");
    let kept = json["data"]["previous"]["name"].as_str().unwrap().to_string();
    assert_eq!(f.containers(), vec![format!("{} {slow} running", f.app), format!("{kept} {v1} exited")]);
}

#[test]
fn a_slow_health_check_is_starting_not_failing() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("slowfail");
    let (v1, slow) = (f.build(Kind::Healthy, "v1"), f.build(Kind::SlowHealthy, "v2-slow"));
    f.deploy(&v1, &[]).expect_code(0);
    // "starting" lasts about 3 s, many 200 ms rounds: --failures 2 must not roll it back.
    let run = f.deploy(&slow, &["--failures", "2"]).expect_code(0);
    let json = run.json();
    assert_eq!(json["data"]["result"], "deployed", "{json}");
    let attempts = json["data"]["gate"]["attempts"].as_array().unwrap();
    let starting = attempts.iter().filter(|a| a["outcome"] == "starting").count();
    assert!(
        starting >= 2,
        "more rounds were starting than --failures allows, and they did not count: {json}"
    );
    assert!(attempts.iter().all(|a| a["outcome"] != "wrong"), "{json}");
    let kept = json["data"]["previous"]["name"].as_str().unwrap().to_string();
    assert_eq!(f.containers(), vec![format!("{} {slow} running", f.app), format!("{kept} {v1} exited")]);
}

#[test]
fn a_missing_image_or_network_exits_2_and_an_unreachable_daemon_3() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("missing");
    let image = format!("stepkit-deploy-test/{}:never-built", f.app);
    // --pull never: a missing image would otherwise be pulled from Docker Hub (tests stay on loopback).
    let run = f.deploy(&image, &["--pull", "never"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&image) && run.stderr.contains("build it"), "{}", run.stderr);
    assert_eq!(run.json()["exit_code"], 2);
    assert!(f.containers().is_empty());

    // A network that does not exist is caught before anything changes.
    let v1 = f.build(Kind::Healthy, "v1");
    let run = f.deploy(&v1, &["--network", "stepkit-no-such-network"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--network stepkit-no-such-network"), "{}", run.stderr);
    assert!(f.containers().is_empty());

    let down = stepkit()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["deploy", "--name", &f.app, "--image", "x:1"])
        .run();
    assert_eq!(down.code, 3, "{}", down.stderr);
    assert!(down.stderr.contains("reach the Docker daemon"), "{}", down.stderr);
}
