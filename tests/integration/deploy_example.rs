//! docs/deploy.md's complete example (an app, its database companion, a migration hook and HAProxy in
//! front) run as written against a real Docker engine and a real HAProxy: the stepkit.toml, the
//! haproxy.cfg and the commands are taken from the page, with only the front port and the socket
//! directory replaced, as the page says.

use crate::deploy_companions::{build_app, build_db, inspect, Cleanup};
use crate::deploy_proxy::{request, Client};
use crate::image::{docker, have_docker};
use crate::support::{require_tool, stepkit, write, Run};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

const DB_SECRET: &str = "shop-db-secret-7d2e9";
/// What the page uses and the test replaces (the page names both).
const FRONT: &str = "127.0.0.1:8000";
const SOCKET_DIR: &str = "/run/haproxy/";

/// The first `n` fenced blocks after `marker` in `text`, each as (language, body).
fn blocks_after<'a>(text: &'a str, marker: &str, n: usize) -> Vec<(&'a str, &'a str)> {
    let mut rest = &text[text.find(marker).unwrap_or_else(|| panic!("docs/deploy.md has {marker}"))..];
    let mut blocks = Vec::new();
    while blocks.len() < n {
        let open = rest.find("```").expect("a fenced block") + 3;
        let lang_end = open + rest[open..].find('\n').expect("a fence line");
        let close = lang_end + 1 + rest[lang_end + 1..].find("```").expect("its end");
        blocks.push((&rest[open..lang_end], &rest[lang_end + 1..close]));
        rest = &rest[close + 3..];
    }
    blocks
}

/// The HAProxy the example starts (`-D -p haproxy.pid`), stopped by its pid when the test ends.
struct Daemon(PathBuf);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
            // SAFETY: the pid of the HAProxy this test started, from the pid file it wrote.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

/// A command line of the example, its `# comment` split off.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    match line.split_once(" #") {
        Some((command, comment)) => (command.trim(), Some(comment.trim())),
        None => (line.trim(), None),
    }
}

fn run_stepkit(dir: &Path, argv: &[String]) -> Run {
    let run = stepkit()
        .current_dir(dir)
        .env("STEPKIT_FORMAT", "json")
        .env("DB_PASSWORD", DB_SECRET)
        .env("STEPKIT_DEPLOY_LOCK_DIR", dir.join("locks"))
        .args(argv)
        .run()
        .expect_code(0);
    assert!(!run.stdout.contains(DB_SECRET) && !run.stderr.contains(DB_SECRET), "{argv:?}");
    run
}

#[test]
fn the_documented_app_with_its_database_behind_haproxy_runs_as_written() {
    if !have_docker() || !require_tool("haproxy") {
        return;
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md")).unwrap();
    let marker = "<!-- example: app-database-proxy";
    let dir = tempfile::tempdir().unwrap();
    let front: SocketAddr = format!("127.0.0.1:{}", crate::deploy::free_port()).parse().unwrap();
    let sockets = format!("{}/", dir.path().display());
    let substitute = |text: &str| text.replace(FRONT, &front.to_string()).replace(SOCKET_DIR, &sockets);
    let blocks = blocks_after(&doc, marker, 3);
    let [("toml", toml), ("", haproxy_cfg), ("sh", commands)] = blocks[..] else {
        panic!("the example is a stepkit.toml, a haproxy.cfg and the commands: {blocks:?}")
    };
    assert!(toml.contains(SOCKET_DIR), "the page's socket is where the test looks for it");
    assert!(haproxy_cfg.contains(FRONT) && haproxy_cfg.contains(SOCKET_DIR), "{haproxy_cfg}");
    let commands = substitute(commands);
    // The example's own names: this test is the only one using them on this engine.
    let cleanup = Cleanup {
        containers: vec!["shop-stage".into()],
        volumes: vec!["shop-stage-db".into(), "shop-uploads".into()],
        networks: vec!["shop-stage".into()],
        images: vec!["shop-web:1.4.2".into(), "shop-web:1.4.3".into(), "shop-db:16".into()],
    };
    cleanup.run();
    build_app(dir.path(), "shop-web:1.4.2", "1.4.2");
    build_app(dir.path(), "shop-web:1.4.3", "1.4.3");
    build_db(dir.path(), "shop-db:16", "/var/lib/postgresql/data");
    write(dir.path(), "stepkit.toml", substitute(toml));
    write(dir.path(), "haproxy.cfg", substitute(haproxy_cfg));
    // Dropped before `cleanup` (declared later): HAProxy goes before the network does.
    let _haproxy = Daemon(dir.path().join("haproxy.pid"));

    // A client requesting through HAProxy without pause from the first deploy on; every answer kept.
    let mut client: Option<Client> = None;
    // Each stepkit command, its result, and when it started and ended.
    let mut runs: Vec<(String, Run, Instant, Instant)> = Vec::new();
    let mut served = Vec::new();
    for line in commands.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')) {
        let (command, comment) = split_comment(line);
        let argv = shlex::split(command).unwrap();
        match argv[0].as_str() {
            "docker" => {
                let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
                assert!(docker(&args).status.success(), "{line}");
            }
            "haproxy" => {
                let status = std::process::Command::new("haproxy")
                    .current_dir(dir.path())
                    .args(&argv[1..])
                    .status()
                    .unwrap();
                assert!(status.success(), "{line}");
            }
            "stepkit" => {
                let started = Instant::now();
                let run = run_stepkit(dir.path(), &argv[1..]);
                runs.push((command.to_string(), run, started, Instant::now()));
                if client.is_none() {
                    client = Some(Client::start(front));
                }
                // Every phase is seen by some requests.
                if let Some(c) = &client {
                    c.more(20);
                }
            }
            "curl" => {
                assert_eq!(argv.last().map(String::as_str), Some(&*format!("http://{front}/version")));
                let answer = request(front).unwrap_or_else(|e| panic!("{line}: {e}"));
                assert_eq!(Some(answer.as_str()), comment, "{line}: the page says what it serves");
                served.push(answer);
            }
            other => panic!("the example runs only docker, haproxy, stepkit and curl, not {other}"),
        }
    }
    let answers = client.expect("the example deploys").stop();

    // The served version after each step: the upgrade, then the rollback.
    assert_eq!(served, ["1.4.2", "1.4.3", "1.4.2"], "{commands}");
    let failures: Vec<_> = answers.iter().filter_map(|(_, a)| a.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} of {} requests failed: {failures:?}", failures.len(), answers.len());
    let commands_run: Vec<&str> = runs.iter().map(|(c, ..)| c.as_str()).collect();
    assert_eq!(
        commands_run,
        [
            "stepkit deploy --environment stage --image shop-web:1.4.2",
            "stepkit deploy --environment stage --image shop-web:1.4.3",
            "stepkit deploy rollback --environment stage"
        ]
    );
    // Between the commands a single version answers: 1.4.2, then 1.4.3, then 1.4.2 again. (During a
    // switch both may, for the length of the drain; that is the point of it.)
    let between = |from: Instant, to: Instant| -> Vec<&str> {
        answers.iter().filter(|(t, _)| *t > from && *t < to).filter_map(|(_, a)| a.as_deref().ok()).collect()
    };
    let far = Instant::now() + std::time::Duration::from_secs(3600);
    for (from, to, version) in
        [(runs[0].3, runs[1].2, "1.4.2"), (runs[1].3, runs[2].2, "1.4.3"), (runs[2].3, far, "1.4.2")]
    {
        let seen = between(from, to);
        assert!(!seen.is_empty() && seen.iter().all(|v| *v == version), "{version} only: {seen:?}");
    }
    let (first, second, back) = (runs[0].1.json(), runs[1].1.json(), runs[2].1.json());
    // 1.4.3 answered only after its gate opened (and its migration, which comes after the gate, ran).
    let opened = second["data"]["gate"]["opened_after_ms"].as_u64().expect("the gate opened");
    let first_new = answers.iter().find(|(_, a)| a.as_deref() == Ok("1.4.3")).expect("1.4.3 answered").0;
    assert!(first_new >= runs[1].2 + std::time::Duration::from_millis(opened), "{second}");
    for (json, result) in [(&first, "deployed"), (&second, "deployed"), (&back, "rolled-back")] {
        let data = &json["data"];
        assert_eq!(
            (data["result"].as_str(), data["environment"].as_str(), data["proxy"]["switched"].as_bool()),
            (Some(result), Some("stage"), Some(true)),
            "{json}"
        );
        assert_eq!(data["proxy"]["cut"].as_u64(), Some(0), "no request in flight was cut: {json}");
    }

    // The database companion: created once, then left alone, with its state kept through the rollback.
    let (c1, c2) = (&first["data"]["companions"][0], &second["data"]["companions"][0]);
    assert_eq!(
        (c1["container"].as_str(), c1["action"].as_str()),
        (Some("shop-stage-db"), Some("created")),
        "{first}"
    );
    assert_eq!(c2["action"], "running", "the second deploy leaves the database alone: {second}");
    assert_eq!(c1["id"], c2["id"], "the same companion container");
    assert_eq!(inspect("shop-stage-db", "{{.Id}}"), c1["id"].as_str().unwrap(), "after the rollback too");
    let boots = docker(&["exec", "shop-stage-db", "cat", "/var/lib/postgresql/data/boots"]);
    assert_eq!(String::from_utf8_lossy(&boots.stdout), "boot\n", "started once, never restarted");

    // The migration hook of each version reached the database, which keeps both; the rollback ran none.
    let hook = &second["data"]["hooks"][0];
    assert_eq!(
        (hook["phase"].as_str(), hook["exit_code"].as_i64()),
        (Some("before-switch"), Some(0)),
        "{second}"
    );
    let output = hook["output"].as_str().unwrap();
    assert!(output.contains("migrating to 1.4.3 as ***") && output.contains("migrated 1.4.3"), "{output}");
    let log = docker(&["exec", "shop-stage-db", "cat", "/var/lib/postgresql/data/migrations"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout), "1.4.2\n1.4.3\n");

    // What serves now is the rolled-back-to 1.4.2 under the app's name, with the example's container spec.
    assert_eq!(inspect("shop-stage", "{{.Config.Image}}"), "shop-web:1.4.2");
    assert_eq!(inspect("shop-stage", "{{index .Config.Labels \"io.stepkit.deploy.environment\"}}"), "stage");
    assert_eq!(
        inspect("shop-stage", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}"),
        "268435456 1000000000"
    );
    assert!(inspect("shop-stage", "{{json .Mounts}}").contains("\"Name\":\"shop-uploads\""));
    assert!(
        inspect("shop-stage", "{{json .Config.Healthcheck.Test}}").contains("http://127.0.0.1:8080/health")
    );
    assert_eq!(inspect("shop-stage", "{{.State.Health.Status}}"), "healthy");

    // The rare case: a restart makes a new container on the same volume; a remove keeps the volume.
    let restart = run_stepkit(
        dir.path(),
        &["deploy", "companion", "restart", "db", "--environment", "stage"].map(String::from),
    );
    let restarted = &restart.json()["data"]["companions"][0];
    assert_eq!(restarted["action"], "restarted", "{}", restart.stdout);
    assert_ne!(restarted["id"], c1["id"]);
    let boots = docker(&["exec", "shop-stage-db", "cat", "/var/lib/postgresql/data/boots"]);
    assert_eq!(String::from_utf8_lossy(&boots.stdout), "boot\nboot\n", "the same volume, started twice");
    let remove = stepkit()
        .current_dir(dir.path())
        .env("DB_PASSWORD", DB_SECRET)
        .env("STEPKIT_DEPLOY_LOCK_DIR", dir.path().join("locks"))
        .args(["deploy", "companion", "remove", "db", "--environment", "stage"])
        .run()
        .expect_code(0);
    assert!(remove.stderr.contains("volumes were kept"), "{}", remove.stderr);
    assert!(inspect("shop-stage-db", "{{.Id}}").is_empty(), "the container is gone");
    assert!(docker(&["volume", "inspect", "shop-stage-db"]).status.success(), "its volume is not");
    let unknown = stepkit()
        .current_dir(dir.path())
        .args(["deploy", "companion", "remove", "cache", "--environment", "stage"])
        .run();
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("no companion `cache`") && unknown.stderr.contains("it has db"),
        "{}",
        unknown.stderr
    );
}
