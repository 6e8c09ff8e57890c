//! Who answers to the app's name during a deploy, against a real Docker engine: a client container on
//! the app's user-defined network asks `http://APP:8080/version` ten times a second (Docker's DNS
//! resolves the name), and `docker inspect APP` is polled. The name moves to a new version only after
//! its gate passed; a version that never passes is never reached by it.

use crate::deploy::{Fixture, Kind};
use crate::image::{docker, have_docker, unique};
use crate::support::wait::wait_until;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A user-defined network and a client container on it that asks for the app by name, recording
/// every answer in its log; both go on drop, even when the test panics.
struct Client {
    network: String,
    name: String,
}

impl Client {
    fn start(image: &str, app: &str) -> Self {
        let network = unique("stepkit-deploy-dns");
        assert!(docker(&["network", "create", &network]).status.success(), "docker network create {network}");
        let client = Client { network, name: unique("stepkit-deploy-client") };
        // busybox wget resolves through Docker's embedded DNS; an unanswered request records "".
        let script = format!(
            "while :; do echo \"answer=$(timeout 2 wget -q -O - http://{app}:8080/version 2>/dev/null)\"; sleep 0.1; done"
        );
        let run = docker(&[
            "run",
            "-d",
            "--name",
            &client.name,
            "--network",
            &client.network,
            image,
            "/bin/sh",
            "-c",
            &script,
        ]);
        assert!(run.status.success(), "start the client: {}", String::from_utf8_lossy(&run.stderr));
        client
    }

    /// Every answer so far, oldest first.
    fn answers(&self) -> Vec<String> {
        let out = docker(&["logs", &self.name]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("answer="))
            .map(|a| a.trim().to_string())
            .collect()
    }

    /// Waits up to 20 s for an answer `want`; returns the answers from `from` on.
    fn wait_for(&self, want: &str, from: usize) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let mut answers = self.answers();
            let answers = answers.split_off(from.min(answers.len()));
            if answers.iter().any(|a| a == want) || Instant::now() > until {
                return answers;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        docker(&["rm", "-f", &self.name]);
        let attached = docker(&[
            "network",
            "inspect",
            "--format",
            "{{range .Containers}}{{.Name}} {{end}}",
            &self.network,
        ]);
        for name in String::from_utf8_lossy(&attached.stdout).split_whitespace() {
            docker(&["network", "disconnect", "-f", &self.network, name]);
        }
        docker(&["network", "rm", &self.network]);
    }
}

/// Polls `docker inspect APP` (its image) and whether a gated new version (`APP-next-*`) runs, until stopped.
struct Watch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(String, bool)>>,
}

impl Watch {
    fn start(app: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (app, flag) = (app.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let image = docker(&["inspect", "--format", "{{.Config.Image}}", &app]);
                let gated = docker(&[
                    "ps",
                    "-q",
                    "--filter",
                    &format!("name={app}-next-"),
                    "--filter",
                    "status=running",
                ]);
                seen.push((
                    String::from_utf8_lossy(&image.stdout).trim().to_string(),
                    !String::from_utf8_lossy(&gated.stdout).trim().is_empty(),
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        });
        Watch { stop, thread }
    }

    fn finish(self) -> Vec<(String, bool)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[test]
fn the_name_moves_to_a_new_version_only_after_its_gate_passed() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("dns");
    let (v1, never, v3) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::NeverHealthy, "v2-never"), f.build(Kind::Healthy, "v3"));
    let client = Client::start(&v1, &f.app);
    let net = ["--network", client.network.as_str()];
    f.deploy(&v1, &net).expect_code(0);
    let answers = client.wait_for("v1", 0);
    assert!(answers.iter().any(|a| a == "v1"), "the client reaches v1 by name: {answers:?}");

    // v2 serves its version at once but never turns healthy: about 5 s under its gate, then it fails.
    let from = client.answers().len();
    let watch = Watch::start(&f.app);
    let run = f.deploy(&never, &net).expect_code(1);
    // A few more answers and samples after the rollback, so its end is covered too.
    let ended = client.answers().len();
    wait_until("the client to ask three more times", || client.answers().len() >= ended + 3);
    let seen = watch.finish();
    let answers = client.answers().split_off(from);
    let json = run.json();
    assert_eq!(
        (json["data"]["result"].as_str(), json["data"]["strategy"].as_str()),
        (Some("rolled-back"), Some("start-first")),
        "{json}"
    );
    assert!(json["headline"].as_str().unwrap().contains("unhealthy"), "{json}");
    assert!(
        seen.iter().all(|(image, _)| image == &v1),
        "`docker inspect {}` named {v1} throughout: {seen:?}",
        f.app
    );
    assert!(answers.len() >= 20, "the client asked all through the deploy: {answers:?}");
    assert!(
        answers.iter().all(|a| a == "v1"),
        "every request to {} by name reached v1, none the unchecked version or nothing: {answers:?}",
        f.app
    );
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}}"), v1);
    assert_eq!(f.containers(), vec![format!("{} {v1} running", f.app)], "the failed version is gone");
    assert!(
        seen.iter().filter(|(_, gated)| *gated).count() >= 5,
        "the new version ran, gated, for seconds, as {}-next-*: {seen:?}\n{}",
        f.app,
        run.stderr
    );

    // A version that passes: the name (and the DNS answer) moves to it, and only to it.
    let from = client.answers().len();
    let watch = Watch::start(&f.app);
    let run = f.deploy(&v3, &net).expect_code(0);
    let seen = watch.finish();
    let answers = client.wait_for("v3", from);
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}}"), v3, "{}", run.stderr);
    assert!(seen.iter().all(|(image, _)| image == &v1 || image == &v3 || image.is_empty()), "{seen:?}");
    let reached: Vec<&String> = answers.iter().filter(|a| !a.is_empty()).collect();
    let first_v3 = reached.iter().position(|a| *a == "v3").expect("v3 answers by the app's name");
    assert!(
        reached[..first_v3].iter().all(|a| *a == "v1") && reached[first_v3..].iter().all(|a| *a == "v3"),
        "v1 until the switch, v3 after it: {answers:?}"
    );
    assert!(f.containers().iter().all(|c| !c.contains("-next-")), "{:?}", f.containers());

    // The rollback moves the name back the same way: the kept v1 is gated under its kept name first.
    let from = client.answers().len();
    let back = f.rollback(&[]).expect_code(0);
    assert_eq!(back.json()["data"]["image"], v1.as_str(), "{}", back.stdout);
    let answers = client.wait_for("v1", from);
    let reached: Vec<&String> = answers.iter().filter(|a| !a.is_empty()).collect();
    let first_v1 = reached.iter().position(|a| *a == "v1").expect("v1 answers by the app's name again");
    assert!(
        reached[..first_v1].iter().all(|a| *a == "v3") && reached[first_v1..].iter().all(|a| *a == "v1"),
        "{answers:?}"
    );
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}}"), v1);
}
