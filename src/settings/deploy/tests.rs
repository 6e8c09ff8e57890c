//! Unit tests for resolving `stepkit deploy` and `stepkit deploy rollback`.

use super::*;
use crate::steps::gate::Probe;
use clap::Parser;

fn run_args(argv: &[&str]) -> DeployRunArgs {
    let mut full = vec!["stepkit", "deploy"];
    full.extend_from_slice(argv);
    match crate::cli::Cli::try_parse_from(full).unwrap().command {
        crate::cli::Command::Deploy(args) => args.run,
        other => panic!("not deploy: {other:?}"),
    }
}

fn resolve(argv: &[&str], env: &Env) -> Result<DeploySettings, ConfigError> {
    deploy_settings(&run_args(argv), env, Path::new("/"), GateFile::default(), Environments::default())
}

fn err(argv: &[&str]) -> String {
    resolve(argv, &Env::default()).expect_err("an error").to_string()
}

#[test]
fn defaults_gate_on_the_container_itself() {
    let s = resolve(&["--name", "web", "--image", "web:2"], &Env::default()).unwrap();
    assert_eq!(
        (s.app.as_str(), s.image.as_str(), s.keep, s.stop_timeout),
        ("web", "web:2", 1, Duration::from_secs(10))
    );
    assert!(matches!(&s.gate.probes[..], [Probe::Container { name, .. }] if name == "web"));
    let s = resolve(
        &["--name", "web", "--image", "web:2", "--http", "http://127.0.0.1:8080/health"],
        &Env::default(),
    )
    .unwrap();
    assert!(
        matches!(&s.gate.probes[..], [Probe::Http(_), Probe::Container { name, .. }] if name == "web"),
        "the container probe is always there"
    );
    let s = resolve(&["--name", "web", "--image", "web:2", "--container", "web"], &Env::default()).unwrap();
    assert_eq!(s.gate.probes.len(), 1, "not twice");
}

#[test]
fn every_flag() {
    let env = Env::from_pairs([("DB_PASSWORD", "from-env-secret")]);
    let s = resolve(
        &[
            "--name",
            "web",
            "--image",
            "r/web:2",
            "-p",
            "8080:80",
            "--publish",
            "127.0.0.1:9090:90/udp",
            "-e",
            "MODE=prod",
            "-e",
            "DB_PASSWORD",
            "--network",
            "backend",
            "-l",
            "team=ci",
            "--keep",
            "3",
            "--stop-timeout",
            "1500ms",
            "--deadline",
            "30s",
        ],
        &env,
    )
    .unwrap();
    assert_eq!(
        s.publish[0],
        Publish { host_ip: None, host_port: 8080, container_port: 80, protocol: "tcp".into() }
    );
    assert_eq!(
        s.publish[1],
        Publish {
            host_ip: Some("127.0.0.1".into()),
            host_port: 9090,
            container_port: 90,
            protocol: "udp".into()
        }
    );
    assert_eq!(s.env, vec!["MODE=prod".to_string()]);
    assert_eq!(s.secret_env[0].0, "DB_PASSWORD");
    assert_eq!(s.secret_env[0].1.expose(), "from-env-secret");
    assert_eq!(
        (s.network.as_deref(), s.keep, s.stop_timeout, s.gate.deadline),
        (Some("backend"), 3, Duration::from_secs(2), Duration::from_secs(30))
    );
    assert_eq!(s.labels, vec![("team".to_string(), "ci".to_string())]);
}

#[test]
fn env_vars_stand_in_for_flags() {
    let env = Env::from_pairs([
        ("STEPKIT_DEPLOY_NAME", "api"),
        ("STEPKIT_DEPLOY_IMAGE", "api:7"),
        ("STEPKIT_DEPLOY_KEEP", "0"),
        ("STEPKIT_DEPLOY_NETWORK", ""),
    ]);
    let s = resolve(&[], &env).unwrap();
    assert_eq!((s.app.as_str(), s.image.as_str(), s.keep, s.network), ("api", "api:7", 0, None));
    let s = resolve(&["--name", "web"], &env).unwrap();
    assert_eq!(s.app, "web");
}

#[test]
fn env_file_values_are_secrets_and_errors_never_show_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prod.env"),
        "# comment\n\nAPI_TOKEN=s3cr3t-value=with=equals\n  PASSTHROUGH\nUNSET_ONE\n",
    )
    .unwrap();
    let env = Env::from_pairs([("PASSTHROUGH", "passed-through")]);
    let s = deploy_settings(
        &run_args(&["--name", "web", "--image", "web:2", "--env-file", "prod.env"]),
        &env,
        dir.path(),
        GateFile::default(),
        Environments::default(),
    )
    .unwrap();
    let got: Vec<(&str, &str)> = s.secret_env.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    assert_eq!(got, vec![("API_TOKEN", "s3cr3t-value=with=equals"), ("PASSTHROUGH", "passed-through")]);
    assert!(!format!("{s:?}").contains("s3cr3t"));
    assert_eq!(s.secrets().len(), 2);
    std::fs::write(dir.path().join("bad.env"), "OK=1\n=s3cr3t-orphan\n").unwrap();
    let e = deploy_settings(
        &run_args(&["--name", "web", "--image", "web:2", "--env-file", "bad.env"]),
        &env,
        dir.path(),
        GateFile::default(),
        Environments::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--env-file") && e.contains("line 2") && !e.contains("s3cr3t"), "{e}");
    let e = deploy_settings(
        &run_args(&["--name", "web", "--image", "web:2", "--env-file", "missing.env"]),
        &env,
        dir.path(),
        GateFile::default(),
        Environments::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing.env"), "{e}");
}

#[test]
fn mistakes_name_the_flag() {
    assert!(err(&["--image", "web:2"]).contains("--name"));
    assert!(err(&["--name", "web"]).contains("--image"));
    assert!(err(&["--name=-web", "--image", "x"]).contains("--name"));
    assert!(err(&["--name", "web", "--image", "x", "-p", "8080"]).contains("--publish"));
    assert!(err(&["--name", "web", "--image", "x", "-p", "8080:0"]).contains("1-65535"));
    assert!(err(&["--name", "web", "--image", "x", "-p", "8080:80/sctp"]).contains("protocol"));
    assert!(err(&["--name", "web", "--image", "x", "-p", "8080:80", "-p", "8080:81"]).contains("twice"));
    assert!(err(&["--name", "web", "--image", "x", "-e", "NOT_SET_ANYWHERE"]).contains("--env"));
    assert!(
        err(&["--name", "web", "--image", "x", "-e", "A,B=1"]).contains("--env"),
        "a `,` would break the secret-env label"
    );
    assert!(err(&["--name", "web", "--image", "x", "-l", "io.stepkit.deploy.app=other"]).contains("--label"));
    assert!(err(&["--name", "web", "--image", "x", "--stop-timeout", "soon"]).contains("--stop-timeout"));
    assert!(
        err(&["--name", "web", "--image", "x", "--interval", "2"]).contains("--interval"),
        "the gate's flags are checked too"
    );
}

#[test]
fn the_lock_waits_ten_minutes_in_the_state_dir_unless_told() {
    let base = ["--name", "web", "--image", "web:2"];
    let home = Env::from_pairs([("HOME", "/home/ci")]);
    let s = resolve(&base, &home).unwrap();
    assert_eq!(
        (s.lock.timeout, s.lock.dir.as_path()),
        (Duration::from_secs(600), Path::new("/home/ci/.local/state/stepkit/deploy"))
    );
    let xdg = Env::from_pairs([("HOME", "/home/ci"), ("XDG_STATE_HOME", "/var/state")]);
    assert_eq!(resolve(&base, &xdg).unwrap().lock.dir, Path::new("/var/state/stepkit/deploy"));
    let env = Env::from_pairs([
        ("HOME", "/home/ci"),
        ("STEPKIT_DEPLOY_LOCK_TIMEOUT", "1m"),
        ("STEPKIT_DEPLOY_LOCK_DIR", "/srv/locks"),
    ]);
    let s = resolve(&base, &env).unwrap();
    assert_eq!((s.lock.timeout, s.lock.dir.as_path()), (Duration::from_secs(60), Path::new("/srv/locks")));
    let flags = [&base[..], &["--lock-timeout", "0", "--lock-dir", "locks"]].concat();
    let s = resolve(&flags, &env).unwrap();
    assert_eq!((s.lock.timeout, s.lock.dir.as_path()), (Duration::ZERO, Path::new("/locks")), "flags win");
    assert!(err(&[&base[..], &["--lock-timeout", "soon"]].concat()).contains("--lock-timeout"));
}

#[test]
fn rollback_takes_the_name_and_the_gate() {
    let parsed = crate::cli::Cli::try_parse_from([
        "stepkit",
        "deploy",
        "rollback",
        "--name",
        "web",
        "--tcp",
        "127.0.0.1:8080",
    ])
    .unwrap();
    let crate::cli::Command::Deploy(args) = parsed.command else { panic!() };
    let Some(crate::cli::DeployCommand::Rollback(r)) = args.command else { panic!() };
    let env = Env::from_pairs([("STEPKIT_DEPLOY_LOCK_TIMEOUT", "30s")]);
    let s =
        rollback_settings(&r, &env, Path::new("/"), GateFile::default(), Environments::default()).unwrap();
    assert_eq!((s.app.as_str(), s.lock.timeout), ("web", Duration::from_secs(30)));
    assert!(matches!(&s.gate.probes[..], [Probe::Tcp { port: 8080, .. }, Probe::Container { .. }]));
    assert!(
        crate::cli::Cli::try_parse_from(["stepkit", "deploy", "--name", "web", "rollback"]).is_err(),
        "deploy flags do not mix with the subcommand"
    );
}

#[test]
fn the_proxy_flags_turn_the_proxy_on_and_name_themselves_when_wrong() {
    let base = ["--name", "web", "--image", "web:2"];
    let s = resolve(&base, &Env::default()).unwrap();
    assert_eq!(s.proxy, None, "no proxy unless its socket is given");
    let s = resolve(
        &[&base[..], &["--proxy-socket", "/run/haproxy/admin.sock", "--upstream-port", "8080"]].concat(),
        &Env::default(),
    )
    .unwrap();
    assert_eq!(
        s.proxy,
        Some(ProxySettings {
            socket: "/run/haproxy/admin.sock".into(),
            backend: "web".into(),
            upstream_port: 8080,
            drain_timeout: Duration::from_secs(30),
        }),
        "the backend defaults to the app, the drain to 30s"
    );
    let env = Env::from_pairs([
        ("STEPKIT_DEPLOY_PROXY_SOCKET", "127.0.0.1:9999"),
        ("STEPKIT_DEPLOY_PROXY_BACKEND", "be_web"),
        ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80"),
        ("STEPKIT_DEPLOY_DRAIN_TIMEOUT", "5s"),
    ]);
    let p = resolve(&base, &env).unwrap().proxy.unwrap();
    assert_eq!(
        (p.socket.as_str(), p.backend.as_str(), p.upstream_port, p.drain_timeout),
        ("127.0.0.1:9999", "be_web", 80, Duration::from_secs(5))
    );

    let e = err(&[&base[..], &["--proxy-socket", "/s"]].concat());
    assert!(e.contains("--upstream-port") && e.contains("required"), "{e}");
    let e = err(&[&base[..], &["--proxy-socket", "/s", "--upstream-port", "0"]].concat());
    assert!(e.contains("--upstream-port") && e.contains("not a port"), "{e}");
    let e = err(&[&base[..], &["--upstream-port", "80"]].concat());
    assert!(e.contains("--upstream-port") && e.contains("only with --proxy-socket"), "{e}");
    let e = err(
        &[&base[..], &["--proxy-socket", "/s", "--upstream-port", "80", "--drain-timeout", "x"]].concat()
    );
    assert!(e.contains("--drain-timeout"), "{e}");
    let e =
        err(&[&base[..], &["--proxy-socket", "/s", "--upstream-port", "80", "--proxy-backend", "a b"]]
            .concat());
    assert!(e.contains("--proxy-backend"), "{e}");
}

#[test]
fn a_bad_variable_is_named_not_a_flag_that_was_not_given() {
    let base = ["--name", "web", "--image", "web:2"];
    let bad = |var: &str, value: &str, extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![(var.to_string(), value.to_string())];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        resolve(&base, &Env::from_pairs(pairs)).expect_err("an error").to_string()
    };
    let socket = [("STEPKIT_DEPLOY_PROXY_SOCKET", "/s")];
    for (var, value, extra, flag) in [
        ("STEPKIT_DEPLOY_STOP_TIMEOUT", "soon", &[][..], "--stop-timeout"),
        ("STEPKIT_DEPLOY_LOCK_TIMEOUT", "soon", &[][..], "--lock-timeout"),
        ("STEPKIT_DEPLOY_UPSTREAM_PORT", "http", &socket[..], "--upstream-port"),
        (
            "STEPKIT_DEPLOY_DRAIN_TIMEOUT",
            "soon",
            &[("STEPKIT_DEPLOY_PROXY_SOCKET", "/s"), ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80")][..],
            "--drain-timeout",
        ),
        (
            "STEPKIT_DEPLOY_PROXY_BACKEND",
            "a b",
            &[("STEPKIT_DEPLOY_PROXY_SOCKET", "/s"), ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80")][..],
            "--proxy-backend",
        ),
        ("STEPKIT_DEPLOY_UPSTREAM_PORT", "80", &[][..], "--upstream-port"),
    ] {
        let e = bad(var, value, extra);
        assert!(e.starts_with(&format!("use environment variable {var}:")), "{e}");
        assert!(!e.contains(flag), "{flag} was not given: {e}");
    }
    let e = resolve(&["--image", "web:2"], &Env::from_pairs([("STEPKIT_DEPLOY_NAME", "-web")]))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("use environment variable STEPKIT_DEPLOY_NAME:"), "{e}");
    let e = resolve(&base, &Env::from_pairs([("STEPKIT_DEPLOY_ENV_FILE", "/nonexistent/prod.env")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("STEPKIT_DEPLOY_ENV_FILE") && !e.contains("--env-file"), "{e}");
    let e = resolve(&["--name", "web"], &Env::from_pairs([("STEPKIT_DEPLOY_IMAGE", "web 2")]))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("use environment variable STEPKIT_DEPLOY_IMAGE:"), "{e}");
}

#[test]
fn the_env_table_in_docs_names_every_variable_the_help_does() {
    let commands: [&[&str]; 2] = [&["deploy"], &["deploy", "rollback"]];
    let names = crate::settings::tests::env_table_matches_help(
        "deploy.md",
        &commands,
        &["STEPKIT_DEPLOY_", "STEPKIT_ENVIRONMENT"],
    );
    assert!(names.contains("STEPKIT_DEPLOY_MEMORY") && names.contains("STEPKIT_ENVIRONMENT"), "{names:?}");
}
