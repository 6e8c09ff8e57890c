//! SIGTERM and SIGINT sent to `stepkit deploy` while it works, against a real Docker engine: whatever
//! the moment, one working version runs as `APP` afterwards, never zero.

use crate::deploy::{deploy_published, get, get_on, on_a_free_port, Fixture, Kind};
use crate::image::have_docker;
use crate::support::wait::{wait_until, Lines};
use std::process::Command;
use std::time::{Duration, Instant};

/// The line the gate writes for an attempt whose result differs from the one before.
const GATE_ATTEMPT: &str = "stepkit gate: +";

/// Starts a deploy of `image`, sends `signal` once the new container exists and its gate is waiting,
/// and returns the exit code, stderr and how long the exit took after the signal.
fn signal_mid_deploy(
    f: &Fixture,
    image: &str,
    extra: &[&str],
    signal: i32,
) -> (Option<i32>, String, Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepkit"))
        .current_dir(f.dir.path())
        .args(["deploy", "--name", &f.app, "--image", image, "--stop-timeout", "1s", "--interval", "200ms"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = Lines::read(child.stderr.take().unwrap());
    // The new container has been started and its gate has probed it once: the gate is waiting.
    stderr.wait_for_line("the first gate attempt", |line| line.starts_with(GATE_ATTEMPT));
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, signal) };
    let signalled = Instant::now();
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    (status.code(), stderr.rest(), took)
}

#[test]
fn sigterm_in_the_middle_puts_the_previous_version_back() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("sigterm");
    let (v1, slow) = (f.build(Kind::Healthy, "v1"), f.build(Kind::SlowHealthy, "v2-slow"));
    let (port, first) = on_a_free_port(|port| deploy_published(&f, &v1, port, &[]));
    first.expect_code(0);
    let publish = format!("{port}:8080");
    let health = format!("http://127.0.0.1:{port}/cgi-bin/health");

    // Stop-first: when the signal comes the old version is already stopped and must be started again.
    let (code, stderr, took) =
        signal_mid_deploy(&f, &slow, &["--publish", &publish, "--http", &health], libc::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(took < Duration::from_secs(5), "within 5 s of the signal: {took:?}\n{stderr}");
    assert!(stderr.contains("SIGTERM received") && stderr.contains("is back and running"), "{stderr}");
    assert_eq!(f.containers(), vec![format!("{} {v1} running", f.app)], "{stderr}");
    let mut answered = String::new();
    for _ in 0..20 {
        answered = get(port, "/version");
        if answered == "v1" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(answered, "v1");
}

#[test]
fn sigint_during_a_start_first_gate_keeps_the_previous_version() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("sigint");
    let (v1, slow) = (f.build(Kind::Healthy, "v1"), f.build(Kind::SlowHealthy, "v2-slow"));
    f.deploy(&v1, &[]).expect_code(0);
    let before = f.inspect(&f.app, "{{.Id}} {{.State.StartedAt}}");
    // No shared port: the old version runs, renamed, while the new one's HEALTHCHECK is starting.
    let (code, stderr, took) = signal_mid_deploy(&f, &slow, &[], libc::SIGINT);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_secs(5), "within 5 s of the signal: {took:?}\n{stderr}");
    assert_eq!(f.containers(), vec![format!("{} {v1} running", f.app)], "{stderr}");
    assert_eq!(
        f.inspect(&f.app, "{{.Id}} {{.State.StartedAt}}"),
        before,
        "the very same container, never stopped or restarted"
    );
}

/// The app's running containers, by name.
fn running(f: &Fixture) -> Vec<String> {
    f.containers()
        .into_iter()
        .filter(|c| c.ends_with(" running"))
        .map(|c| c.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

/// What `/version` answers on `port`, waiting up to 20 s for a restored or new version to come up.
fn answer(port: u16) -> String {
    answer_at(|| get(port, "/version"))
}

/// `ask()` until it answers, for up to 20 s.
fn answer_at(ask: impl Fn() -> String) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let text = ask();
        if !text.is_empty() || Instant::now() > until {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A deploy run by hand, so a signal can be sent to it while it works.
pub(crate) struct Running {
    child: std::process::Child,
    stderr: Lines,
}

impl Running {
    pub(crate) fn start(f: &Fixture, image: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stepkit"))
            .current_dir(f.dir.path())
            .args([
                "deploy",
                "--name",
                &f.app,
                "--image",
                image,
                "--stop-timeout",
                "1s",
                "--interval",
                "200ms",
                "--deadline",
                "40s",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Lines::read(child.stderr.take().unwrap());
        Running { child, stderr }
    }

    /// Waits for a stderr line containing `text` and returns it (the test fails, showing the output,
    /// if none comes).
    pub(crate) fn wait_for(&mut self, text: &str) -> String {
        self.stderr.wait_for_line(&format!("a line with {text:?}"), |line| line.contains(text))
    }

    /// SIGTERM, then the exit code and everything it wrote.
    fn terminate(self) -> (Option<i32>, String) {
        self.signal(libc::SIGTERM)
    }

    /// Sends `signal`, then the exit code and everything it wrote.
    pub(crate) fn signal(self, signal: i32) -> (Option<i32>, String) {
        // SAFETY: signalling the child we started.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        self.finish()
    }

    /// Waits for it to end: the exit code and everything it wrote.
    pub(crate) fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        (status.code(), self.stderr.rest())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

#[test]
fn a_sigterm_at_any_moment_leaves_one_working_version() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("sigtermany");
    let (v1, v2, v3, bad) = (
        f.build(Kind::Healthy, "v1"),
        f.build(Kind::SlowHealthy, "v2"),
        f.build(Kind::SlowHealthy, "v3"),
        f.build(Kind::Http500, "v4-500"),
    );
    // A shared host port: stop-first, the swap with the most moments at which nothing serves.
    let (port, first) = on_a_free_port(|port| deploy_published(&f, &v1, port, &[]));
    first.expect_code(0);
    let publish = format!("{port}:8080");
    let health = format!("http://127.0.0.1:{port}/cgi-bin/health");
    let gate = ["--publish", publish.as_str(), "--http", health.as_str()];
    let check = |moment: &str, code: Option<i32>, stderr: &str, allowed: &[&str]| {
        // A signal that lands before stepkit installed its handler (the first phase, on a loaded machine)
        // ends it by the default action (no exit code, which a shell shows as 143): it had not touched
        // anything.
        assert!(matches!(code, Some(143) | Some(0) | None), "{moment}: exit {code:?}\n{stderr}");
        assert_eq!(
            running(&f),
            vec![f.app.clone()],
            "{moment}: exactly one version runs, as {}\n{:?}\n{stderr}",
            f.app,
            f.containers()
        );
        let answered = answer(port);
        assert!(
            allowed.contains(&answered.as_str()),
            "{moment}: it answers as one of {allowed:?}, not {answered:?}\n{stderr}"
        );
        answered
    };

    // Upgrades signalled as each phase begins, told by its line on stderr: planned, stopping the
    // previous version (its httpd ignores SIGTERM, so a stop takes the whole 1 s --stop-timeout),
    // starting the new one, or gating it (it takes 3 s to turn healthy).
    let mut current = "v1".to_string();
    let phases =
        [" -> ", "first: the new version needs its host port", "stepkit deploy: starting ", GATE_ATTEMPT];
    for (i, phase) in phases.into_iter().enumerate() {
        let (image, version) = if i % 2 == 0 { (&v2, "v2") } else { (&v3, "v3") };
        let mut run = Running::start(&f, image, &gate);
        run.wait_for(phase);
        let (code, stderr) = run.terminate();
        current = check(
            &format!("SIGTERM at `{phase}` in the upgrade to {version}"),
            code,
            &stderr,
            &[&current, version],
        );
    }

    // A new version that fails; the signal comes while the restored version is being gated again
    // (ten successes needed, so that gate lasts a while).
    let mut run = Running::start(&f, &bad, &[&gate[..], &["--failures", "2", "--successes", "10"]].concat());
    run.wait_for("gating the restored previous version");
    // The re-gate has probed once (one of its ten successes).
    run.wait_for(GATE_ATTEMPT);
    let (code, stderr) = run.terminate();
    assert_eq!(code, Some(143), "{stderr}");
    check("SIGTERM during the re-gate", code, &stderr, &[&current]);
    assert!(
        f.containers().iter().all(|c| !c.contains("v4-500")),
        "the failed version is gone: {:?}",
        f.containers()
    );
}

/// `GET /version` from the container's own address on the default bridge network.
fn ask_container(f: &Fixture) -> String {
    let ip = f.inspect(&f.app, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
    let Ok(addr) = format!("{ip}:8080").parse::<std::net::SocketAddr>() else { return String::new() };
    let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return String::new();
    };
    get_on(stream, "/version")
}

/// The app answers, from its container, as `current` or as `version`: a signal may land before or
/// after the switch, never leave neither. The one it answers as is `current` for the next signal.
fn answers_as_either(f: &Fixture, current: &mut String, version: &str, moment: &str, stderr: &str) {
    let answered = answer_at(|| ask_container(f));
    assert!(
        [current.as_str(), version].contains(&answered.as_str()),
        "{moment}: it answers as {current} or {version}, not {answered:?}\n{stderr}"
    );
    *current = answered;
}

#[test]
fn a_sigterm_during_a_start_first_upgrade_leaves_one_working_version() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("sigtermstart");
    let (v1, v2, v3) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"), f.build(Kind::Healthy, "v3"));
    // No published port: the new version passes its (container) gate at once, and the previous one
    // is stopped only then, which takes the whole 1 s --stop-timeout: the signals land before the
    // pass (as the deploy starts, as the new version starts), during that stop, and during the
    // clean-up after it (once the stopped version shows as exited).
    f.deploy(&v1, &[]).expect_code(0);
    let mut current = "v1".to_string();
    const STOPPING: &str = "stepkit deploy: stopping the previous version";
    let phases = [" -> ", "stepkit deploy: starting ", STOPPING, "exited"];
    for (i, phase) in phases.into_iter().enumerate() {
        let (image, version) = if i % 2 == 0 { (&v2, "v2") } else { (&v3, "v3") };
        let mut run = Running::start(&f, image, &[]);
        if phase == "exited" {
            let line = run.wait_for(STOPPING);
            let kept = line.rsplit("(kept as ").next().unwrap().trim_end_matches(')').to_string();
            wait_until(&format!("{kept} to have stopped"), || {
                f.containers().iter().any(|c| c.starts_with(&format!("{kept} ")) && c.ends_with(" exited"))
            });
        } else {
            run.wait_for(phase);
        }
        let (code, stderr) = run.terminate();
        let moment = format!("SIGTERM at `{phase}` in the start-first upgrade to {version}");
        // On a loaded machine the first phase's signal can land before stepkit has installed its
        // handler: the default action ends it (no exit code) before it touched anything, which leaves
        // v1 alone too.
        assert!(matches!(code, Some(143) | Some(0) | None), "{moment}: exit {code:?}\n{stderr}");
        assert_eq!(
            running(&f),
            vec![f.app.clone()],
            "{moment}: exactly one version runs\n{:?}\n{stderr}",
            f.containers()
        );
        answers_as_either(&f, &mut current, version, &moment, &stderr);
    }
}

#[test]
fn a_sigterm_while_the_name_moves_leaves_one_working_version() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("sigtermname");
    let (v1, v2, v3) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"), f.build(Kind::Healthy, "v3"));
    f.deploy(&v1, &[]).expect_code(0);
    // After the gate passed the name moves in two renames (the previous version to its kept name, the
    // new one from APP-next-* to APP): signals sent as each begins.
    let mut current = "v1".to_string();
    for (i, line) in ["stepkit deploy: keeping", "takes the name"].into_iter().enumerate() {
        let (image, version) = if i % 2 == 0 { (&v2, "v2") } else { (&v3, "v3") };
        let mut run = Running::start(&f, image, &[]);
        run.wait_for(line);
        let (code, stderr) = run.terminate();
        let moment = format!("SIGTERM at `{line}` in the upgrade to {version}");
        assert!(matches!(code, Some(143) | Some(0)), "{moment}: exit {code:?}\n{stderr}");
        assert_eq!(running(&f), vec![f.app.clone()], "{moment}\n{:?}\n{stderr}", f.containers());
        assert!(
            f.containers().iter().all(|c| !c.contains("-next-")),
            "{moment}: no new version is left under its gated name\n{:?}",
            f.containers()
        );
        answers_as_either(&f, &mut current, version, &moment, &stderr);
    }
}

#[test]
fn sigterm_during_a_before_switch_hook_leaves_the_old_version_and_no_hook_container() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("sigtermhook");
    let (v1, v2) = (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"));
    let (port, first) = on_a_free_port(|port| f.deploy(&v1, &["--publish", &format!("{port}:8080")]));
    first.expect_code(0);
    let publish = format!("{port}:8080");
    let before = f.inspect(&f.app, "{{.Id}}");
    // Stop-first (the same host port): the old version is stopped while the migration runs, and must
    // be started again.
    let mut run = Running::start(
        &f,
        &v2,
        &["--publish", &publish, "--before-switch", "sh -c 'echo migrating; sleep 60'"],
    );
    // The hook has printed, so it is in its `sleep 60`.
    run.wait_for("migrating");
    let hooks = |f: &Fixture| f.containers().into_iter().filter(|c| c.contains("-hook-")).count();
    wait_until("the hook's container", || hooks(&f) > 0);
    assert_eq!(hooks(&f), 1, "the hook runs in its own container");
    let (code, stderr) = run.terminate();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM received") && stderr.contains("is back and running"), "{stderr}");
    assert_eq!(
        f.containers(),
        vec![format!("{} {v1} running", f.app)],
        "no candidate, no hook container: {stderr}"
    );
    assert_eq!(f.inspect(&f.app, "{{.Id}}"), before);
    assert_eq!(answer(port), "v1");
}

#[test]
fn sigterm_during_an_after_switch_hook_keeps_the_new_version_and_no_hook_container() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("sigtermafter");
    let (v1, v2) = (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"));
    let (port, first) = on_a_free_port(|port| f.deploy(&v1, &["--publish", &format!("{port}:8080")]));
    first.expect_code(0);
    let publish = format!("{port}:8080");
    // The hook runs once v2 is APP and serves: the signal must not take it away again.
    let mut run =
        Running::start(&f, &v2, &["--publish", &publish, "--after-switch", "sh -c 'echo warming; sleep 60'"]);
    run.wait_for("warming");
    let hooks = |f: &Fixture| f.containers().into_iter().filter(|c| c.contains("-hook-")).count();
    wait_until("the hook's container", || hooks(&f) > 0);
    assert_eq!(hooks(&f), 1, "the hook runs in its own container");
    let (code, stderr) = run.terminate();
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(hooks(&f), 0, "the hook's container is removed: {:?}\n{stderr}", f.containers());
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}} {{.State.Running}}"), format!("{v2} true"), "{stderr}");
    assert_eq!(answer(port), "v2");
    let running = f.containers().into_iter().filter(|c| c.ends_with("running")).count();
    assert_eq!(running, 1, "one version serves: {:?}", f.containers());
}
