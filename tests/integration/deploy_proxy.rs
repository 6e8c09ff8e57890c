//! `stepkit deploy --proxy-socket` against a real HAProxy and a real Docker engine: with a client
//! requesting through HAProxy the whole time, an upgrade, a version that fails its gate and a
//! rollback move traffic with no failed request, and only to a version that passed its gate.

use crate::deploy::{Fixture, Kind};
use crate::image::have_docker;
use crate::support::ports::free_port_for;
use crate::support::wait::{wait_for, wait_until, Lines};
use crate::support::{in_ci, stepkit, Run};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HAPROXY: &str = "/usr/sbin/haproxy";

/// A running HAProxy: a loopback frontend, an empty backend `app`, killed on drop.
pub(crate) struct Haproxy {
    child: Child,
    pub(crate) front: SocketAddr,
    pub(crate) socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts HAProxy, or `None` (with the reason) when it is not installed; under CI it must be.
pub(crate) fn start_haproxy() -> Option<Haproxy> {
    start_haproxy_with("", "")
}

/// `start_haproxy` with lines added to the `defaults` section and to the backend `app`.
pub(crate) fn start_haproxy_with(defaults: &str, backend: &str) -> Option<Haproxy> {
    if !std::path::Path::new(HAPROXY).exists() {
        assert!(!in_ci(), "CI must have HAProxy ({HAPROXY}): .ci/run installs it");
        eprintln!("skipping: no {HAPROXY}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    let config = dir.path().join("haproxy.cfg");
    // HAProxy binds its front port itself; one that exits before it serves lost the port.
    let (child, front) = free_port_for("HAProxy", |port| {
        let front: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        std::fs::write(
            &config,
            format!(
                "global\n  stats socket {} mode 600 level admin\n  maxconn 256\n\
                 defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n{defaults}\
                 frontend web\n  bind {front}\n  default_backend app\n\
                 backend app\n  balance roundrobin\n{backend}",
                socket.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(HAPROXY)
            .args(["-db", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let serving = wait_for("HAProxy to serve", || {
            if socket.exists() && std::net::TcpStream::connect(front).is_ok() {
                Some(true)
            } else {
                child.try_wait().unwrap().map(|_| false)
            }
        });
        serving.then_some((child, front))
    });
    Some(Haproxy { child, front, socket, _dir: dir })
}

/// One request through the proxy: the body of a 200, else what went wrong.
pub(crate) fn request(front: SocketAddr) -> Result<String, String> {
    let mut stream = std::net::TcpStream::connect(front).map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    write!(stream, "GET /version HTTP/1.0\r\nHost: app\r\n\r\n").map_err(|e| format!("send: {e}"))?;
    let mut text = String::new();
    stream.read_to_string(&mut text).map_err(|e| format!("read: {e}"))?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("no answer: {text:?}"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or_default().to_string());
    }
    Ok(body.trim().to_string())
}

/// One request's answer and when it came.
pub(crate) type Answer = (Instant, Result<String, String>);

/// Requests through the proxy, one after another, until dropped; every answer with its time.
pub(crate) struct Client {
    answers: Arc<Mutex<Vec<Answer>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Client {
    pub(crate) fn start(front: SocketAddr) -> Client {
        let answers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (answers.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let answer = request(front);
                a.lock().unwrap().push((Instant::now(), answer));
            }
        });
        Client { answers, stop, thread: Some(thread) }
    }

    /// Waits for `n` more answers, so that every phase is seen by some requests.
    pub(crate) fn more(&self, n: usize) {
        let from = self.answers.lock().unwrap().len();
        while self.answers.lock().unwrap().len() < from + n {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The answers between two moments.
    fn between(&self, from: Instant, to: Instant) -> Vec<Result<String, String>> {
        let answers = self.answers.lock().unwrap();
        answers.iter().filter(|(t, _)| *t >= from && *t <= to).map(|(_, a)| a.clone()).collect()
    }

    pub(crate) fn stop(&mut self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.answers.lock().unwrap().clone()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn proxy_flags(haproxy: &Haproxy, drain: &str) -> Vec<String> {
    ["--proxy-socket", haproxy.socket.to_str().unwrap(), "--proxy-backend", "app", "--upstream-port", "8080"]
        .into_iter()
        .map(str::to_string)
        .chain(["--drain-timeout".into(), drain.into()])
        .collect()
}

fn rollback(f: &Fixture, flags: &[String]) -> Run {
    stepkit()
        .current_dir(f.dir.path())
        .args(["--format", "json", "deploy", "rollback", "--name", &f.app, "--stop-timeout", "1s"])
        .args(["--interval", "200ms", "--deadline", "40s"])
        .args(flags)
        .run()
}

/// The servers of backend `app`, from the runtime API's `show stat`.
fn servers(haproxy: &Haproxy) -> Vec<String> {
    let mut stream = std::os::unix::net::UnixStream::connect(&haproxy.socket).unwrap();
    stream.write_all(b"show stat\n").unwrap();
    let mut stat = String::new();
    stream.read_to_string(&mut stat).unwrap();
    stat.lines()
        .filter_map(|l| l.strip_prefix("app,"))
        .filter_map(|rest| rest.split(',').next())
        .filter(|sv| *sv != "BACKEND")
        .map(str::to_string)
        .collect()
}

/// A request that stays in flight for 20 s (the image's `/cgi-bin/slow`), holding a drain open.
fn hold_a_slow_request(front: SocketAddr) {
    std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(front).unwrap();
        let _ = write!(stream, "GET /cgi-bin/slow HTTP/1.0\r\nHost: app\r\n\r\n");
        let _ = stream.read_to_end(&mut Vec::new());
    });
}

/// A `stepkit deploy` (or `deploy rollback`) working in the background, its stderr read as it comes.
/// Killed when dropped, so a test that fails while waiting on it leaves no deploy running; the
/// failure then shows what it wrote.
struct Deploying {
    child: Child,
    stderr: Lines,
}

impl Deploying {
    /// `stepkit COMMAND --name APP --stop-timeout 1s --interval 200ms FLAGS` in the fixture's directory.
    fn start(f: &Fixture, command: &[&str], flags: &[&str]) -> Self {
        let mut child = stepkit()
            .current_dir(f.dir.path())
            .args(command)
            .args(["--name", &f.app, "--stop-timeout", "1s", "--interval", "200ms"])
            .args(flags)
            .spawn();
        let stderr = Lines::read(child.stderr.take().unwrap());
        Deploying { child, stderr }
    }

    /// Waits until `version` answers through the proxy (it was added: the switch is under way); fails
    /// with the deploy's stderr when it ends first.
    fn wait_for_traffic(&mut self, front: SocketAddr, version: &str) {
        wait_until(&format!("{version} to get traffic"), || {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the deploy ended ({status}) before {version} got traffic:\n{}",
                    self.stderr.rest_unread()
                );
            }
            request(front).as_deref() == Ok(version)
        });
    }

    /// Sends `signal` and waits for the exit: its code, how long it took after the signal, its stderr.
    fn signal(mut self, signal: i32) -> (Option<i32>, Duration, String) {
        // SAFETY: signalling the child we started and have not waited for.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let signalled = Instant::now();
        let status = self.child.wait().unwrap();
        let took = signalled.elapsed();
        (status.code(), took, self.stderr.rest_unread())
    }

    /// SIGKILL: it undoes nothing.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Deploying {
    fn drop(&mut self) {
        // A no-op once it was waited for.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let unread = self.stderr.rest_unread();
            if !unread.is_empty() {
                eprintln!("the deploy's stderr:\n{unread}");
            }
        }
    }
}

fn only(answers: &[Result<String, String>], version: &str) -> bool {
    answers.iter().all(|a| a.as_deref() == Ok(version))
}

#[test]
fn traffic_moves_through_haproxy_only_to_gated_versions_with_no_failed_request() {
    if !have_docker() {
        return;
    }
    let Some(haproxy) = start_haproxy() else { return };
    let mut f = Fixture::new("proxy");
    // v2 serves only after 3 s and is healthy only then; "bad" serves at once but never turns healthy.
    let (v1, v2, bad) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::SlowHealthy, "v2"), f.build(Kind::NeverHealthy, "bad"));
    let flags = proxy_flags(&haproxy, "5s");
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();

    let first = f.deploy(&v1, &flags).expect_code(0);
    let proxy = &first.json()["data"]["proxy"];
    assert_eq!((proxy["switched"].as_bool(), proxy["cut"].as_u64()), (Some(true), Some(0)), "{proxy}");
    assert_eq!(proxy["backend"], "app");
    assert_eq!(request(haproxy.front), Ok("v1".to_string()), "the first deploy just adds");

    let mut client = Client::start(haproxy.front);
    client.more(20);

    // The upgrade: start-first (no host port), gated, then switched.
    let launched = Instant::now();
    let second = f.deploy(&v2, &flags).expect_code(0);
    let upgraded = Instant::now();
    let data = &second.json()["data"];
    assert_eq!((data["result"].as_str(), data["strategy"].as_str()), (Some("deployed"), Some("start-first")));
    assert_eq!((data["proxy"]["switched"].as_bool(), data["proxy"]["cut"].as_u64()), (Some(true), Some(0)));
    assert!(data["proxy"]["drain_ms"].is_u64(), "{data}");
    let opened = Duration::from_millis(data["gate"]["opened_after_ms"].as_u64().expect("the gate opened"));
    client.more(20);

    // A version that fails its gate: exit 1, traffic never leaves v2.
    let failing = f.deploy(&bad, &flags).expect_code(1);
    let failed = Instant::now();
    let data = &failing.json()["data"];
    assert_eq!(data["result"].as_str(), Some("rolled-back"), "{data}");
    assert_eq!(data["proxy"]["switched"].as_bool(), Some(false), "{data}");
    client.more(20);

    // The rollback moves traffic back to v1 the same way.
    let back_from = Instant::now();
    let back = rollback(&f, &flags.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect_code(0);
    let rolled_back = Instant::now();
    let data = &back.json()["data"];
    assert_eq!(
        (data["result"].as_str(), data["proxy"]["switched"].as_bool()),
        (Some("rolled-back"), Some(true))
    );
    client.more(20);
    let answers = client.stop();

    let failures: Vec<_> = answers.iter().filter_map(|(_, a)| a.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} of {} requests failed: {failures:?}", failures.len(), answers.len());
    assert!(
        answers.iter().all(|(_, a)| a.as_deref() != Ok("bad")),
        "the version that failed its gate never answered"
    );
    assert!(only(&client.between(launched - Duration::from_secs(3600), launched), "v1"));
    let first_v2 = answers.iter().find(|(_, a)| a.as_deref() == Ok("v2")).expect("v2 answered").0;
    assert!(first_v2 >= launched + opened, "v2 answered only after its gate opened");
    assert!(
        only(&client.between(upgraded, failed), "v2"),
        "after the upgrade and through the failed deploy: v2"
    );
    assert!(only(&client.between(failed, back_from), "v2"));
    let last = client.between(rolled_back, Instant::now());
    assert!(!last.is_empty() && only(&last, "v1"), "after the rollback: v1 only: {last:?}");
    assert_eq!(f.containers().iter().filter(|c| c.ends_with("running")).count(), 1, "{:?}", f.containers());
}

#[test]
fn an_unreachable_proxy_fails_the_deploy_and_the_previous_version_stays() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("proxy-gone");
    let v1 = f.build(Kind::Healthy, "v1");
    let socket = f.dir.path().join("no-haproxy.sock");
    let flags = ["--proxy-socket", socket.to_str().unwrap(), "--upstream-port", "8080"];
    let run = f.deploy(&v1, &flags).expect_code(1);
    let data = &run.json()["data"];
    let failure = data["failure"].as_str().unwrap_or_default();
    assert!(failure.contains("switch traffic") && failure.contains("no-haproxy.sock"), "{data}");
    assert!(f.containers().is_empty(), "the candidate is removed: {:?}", f.containers());
}

#[test]
fn sigterm_while_the_old_version_drains_leaves_traffic_on_it() {
    if !have_docker() {
        return;
    }
    let Some(haproxy) = start_haproxy() else { return };
    let mut f = Fixture::new("proxy-term");
    let (v1, v2) = (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"));
    // A request in flight on v1 will hold its drain open for the whole --drain-timeout.
    let flags = proxy_flags(&haproxy, "60s");
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    f.deploy(&v1, &flags).expect_code(0);

    // The slow request (20 s) is in flight on v1 when v2 is added.
    let front = haproxy.front;
    hold_a_slow_request(front);
    let mut client = Client::start(front);
    client.more(10);
    let mut deploy = Deploying::start(&f, &["deploy", "--image", &v2], &flags);
    // v2 answering through the proxy means it was added: the switch is under way, v1 draining.
    deploy
        .stderr
        .wait_for_line("the switch to begin", |line| line.contains("stepkit deploy: moving traffic to"));
    deploy.wait_for_traffic(front, "v2");
    client.more(10);
    let (code, took, stderr) = deploy.signal(libc::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(took < Duration::from_secs(5), "within 5 s of the signal: {took:?}\n{stderr}");
    assert!(stderr.contains("traffic is back on the previous version"), "{stderr}");
    let after = Instant::now();
    client.more(10);
    let answers = client.stop();
    let failures: Vec<_> = answers.iter().filter_map(|(_, a)| a.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} of {} requests failed: {failures:?}", failures.len(), answers.len());
    let last = client.between(after, Instant::now());
    assert!(!last.is_empty() && only(&last, "v1"), "traffic is back on v1: {last:?}");
    assert_eq!(f.containers(), vec![format!("{} {v1} running", f.app)], "{stderr}");
}

#[test]
fn a_deploy_killed_mid_switch_is_cleared_by_the_next_with_traffic_kept_serving() {
    if !have_docker() {
        return;
    }
    let Some(haproxy) = start_haproxy() else { return };
    let mut f = Fixture::new("proxy-kill");
    let (v1, v2, v3) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"), f.build(Kind::Healthy, "v3"));
    let flags = proxy_flags(&haproxy, "60s");
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    f.deploy(&v1, &flags).expect_code(0);
    let front = haproxy.front;
    hold_a_slow_request(front);
    let mut client = Client::start(front);
    client.more(10);
    let mut deploy = Deploying::start(&f, &["deploy", "--image", &v2], &flags);
    deploy.wait_for_traffic(front, "v2");
    // SIGKILL: nothing is undone; v2 (still APP-next-*) serves, v1 is drained.
    deploy.kill();
    client.more(10);

    let run = f.deploy(&v3, &flags).expect_code(0);
    let json = run.json();
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("left by a deploy"), "the leftover was cleared: {json}");
    let after = Instant::now();
    client.more(10);
    let answers = client.stop();
    let failures: Vec<_> = answers.iter().filter_map(|(_, a)| a.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} of {} requests failed: {failures:?}", failures.len(), answers.len());
    let last = client.between(after, Instant::now());
    assert!(!last.is_empty() && only(&last, "v3"), "{last:?}");
    let id = f.inspect(&f.app, "{{.Id}}");
    assert_eq!(servers(&haproxy), vec![id[..12].to_string()], "only v3 is left in the proxy");
    assert_eq!(f.containers().iter().filter(|c| c.ends_with("running")).count(), 1, "{:?}", f.containers());
}

#[test]
fn sigterm_while_a_rollback_drains_leaves_traffic_on_the_current_version() {
    if !have_docker() {
        return;
    }
    let Some(haproxy) = start_haproxy() else { return };
    let mut f = Fixture::new("proxy-rbterm");
    let (v1, v2) = (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"));
    // A request in flight on v2 holds the rollback's drain open for the whole --drain-timeout.
    let flags = proxy_flags(&haproxy, "60s");
    let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
    f.deploy(&v1, &refs).expect_code(0);
    f.deploy(&v2, &refs).expect_code(0);
    let front = haproxy.front;
    hold_a_slow_request(front);
    let mut client = Client::start(front);
    client.more(10);
    let mut deploy = Deploying::start(&f, &["deploy", "rollback"], &refs);
    // v1 answering again means it was put back into the backend: the switch is under way, v2 draining.
    deploy.wait_for_traffic(front, "v1");
    client.more(10);
    let (code, _, stderr) = deploy.signal(libc::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    let after = Instant::now();
    client.more(10);
    let answers = client.stop();
    let failures: Vec<_> = answers.iter().filter_map(|(_, a)| a.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} of {} requests failed: {failures:?}", failures.len(), answers.len());
    let last = client.between(after, Instant::now());
    assert!(!last.is_empty() && only(&last, "v2"), "traffic is back on v2, still APP: {last:?}\n{stderr}");
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}}"), v2, "{stderr}");
    let running: Vec<String> = f.containers().into_iter().filter(|c| c.ends_with("running")).collect();
    assert_eq!(running, vec![format!("{} {v2} running", f.app)], "{stderr}");
    let id = f.inspect(&f.app, "{{.Id}}");
    assert_eq!(servers(&haproxy), vec![id[..12].to_string()], "only v2 is left in the proxy");
}
