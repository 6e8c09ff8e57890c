//! `stepkit hook serve` end to end: real git repositories in temp dirs, the real server on loopback,
//! GitHub-shaped signed deliveries, and the jobs' real steps (`junit summary` of the checked-out tree).

use crate::support::wait::{wait_for, wait_until, Lines};
use crate::support::{stepkit, write};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SECRET: &str = "hook-test-secret-0123456789";

pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Commits a report.xml whose one test case is named `case` on the current branch; returns the sha.
pub fn commit_report(repo: &Path, case: &str) -> String {
    write(
        repo,
        "report.xml",
        format!("<testsuite name=\"s\" tests=\"1\"><testcase classname=\"c\" name=\"{case}\" time=\"0.1\"/></testsuite>\n"),
    );
    git(repo, &["add", "report.xml"]);
    git(repo, &["commit", "-q", "-m", case]);
    git(repo, &["rev-parse", "HEAD"])
}

/// An upstream repository with one commit on main, and a clone of it for the server.
pub struct Repos {
    pub dir: tempfile::TempDir,
    pub upstream: PathBuf,
    pub clone: PathBuf,
    pub main_sha: String,
}

pub fn repos() -> Repos {
    let dir = tempfile::tempdir().unwrap();
    let upstream = dir.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q", "-b", "main"]);
    let main_sha = commit_report(&upstream, "on_main");
    let clone = dir.path().join("clone");
    git(dir.path(), &["clone", "-q", upstream.to_str().unwrap(), clone.to_str().unwrap()]);
    Repos { dir, upstream, clone, main_sha }
}

/// A running `stepkit hook serve`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Lines,
    pub state: PathBuf,
    pub config: PathBuf,
}

/// Starts the server with this stepkit.toml (written to `dir`) and extra flags; waits until it listens.
pub fn start(dir: &Path, config: &str, extra: &[&str]) -> Server {
    start_with_env(dir, config, extra, &[])
}

/// `start`, with these variables in the server's environment (which its steps inherit).
pub fn start_with_env(dir: &Path, config: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let config_path = write(dir, "stepkit.toml", config);
    let state = dir.join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepkit"))
        .args(["hook", "serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .arg("--state-dir")
        .arg(&state)
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STEPKIT_HOOK_SECRET", SECRET)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = Lines::read(child.stderr.take().unwrap());
    // The server binds port 0 itself and says which port it got: nothing to race for.
    let line = stderr.wait_for_line("where the server listens", |line| line.contains("listening on http://"));
    let addr = line.split("listening on http://").nth(1).and_then(|rest| rest.split('/').next());
    let addr = addr.and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("no address in {line:?}"));
    Server { child, addr, stderr, state, config: config_path }
}

/// A test that fails midway must not leave its server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// SIGTERM, then the exit code and everything it printed.
    pub fn stop(self) -> (i32, String) {
        self.terminate();
        self.wait()
    }

    /// Sends SIGTERM and returns at once.
    pub fn terminate(&self) {
        // SAFETY: kill(2) on the server this test started and has not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
    }

    /// Reads the server's lines until one contains `needle`; returns the lines read since the last
    /// call.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        self.stderr.wait_for_line(&format!("the server to say `{needle}`"), |line| line.contains(needle));
        self.stderr.unread()
    }

    /// Waits for the server to exit: its exit code and everything it printed not read yet.
    pub fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        let out = self.stderr.rest_unread();
        let code = status.code().unwrap_or(-1);
        crate::support::record(&crate::support::Run { code, stdout: String::new(), stderr: out.clone() });
        (code, out)
    }

    /// `stepkit hook <args> --format json` against this server's store.
    pub fn query(&self, args: &[&str]) -> serde_json::Value {
        stepkit()
            .args(["hook"])
            .args(args)
            .args(["--format", "json", "--config"])
            .args([self.config.as_os_str(), "--state-dir".as_ref(), self.state.as_os_str()])
            .run()
            .expect_code(0)
            .json()["data"]
            .clone()
    }

    /// Waits until every job has ended (none queued or running) and returns them.
    pub fn settled_jobs(&self) -> Vec<serde_json::Value> {
        wait_for("every job to have ended", || {
            let jobs = self.query(&["list", "--limit", "100"])["jobs"].as_array().unwrap().clone();
            let settled = jobs.iter().all(|j| !matches!(j["state"].as_str(), Some("queued" | "running")));
            (!jobs.is_empty() && settled).then_some(jobs)
        })
    }
}

/// Sends raw bytes, returns the status code and the body (empty when the server closed without answering).
pub fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

/// A POST to /hook with these headers and body.
pub fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut request = format!("POST /hook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    exchange(addr, request.as_bytes())
}

/// A GitHub push payload (the documented fields stepkit reads, plus a few it ignores).
pub fn push_payload(git_ref: &str, sha: &str, paths: &[&str]) -> String {
    serde_json::json!({
        "ref": git_ref,
        "before": "0000000000000000000000000000000000000000",
        "after": sha,
        "created": true,
        "deleted": false,
        "forced": false,
        "repository": {"full_name": "octo/app", "name": "app", "owner": {"login": "octo"}},
        "pusher": {"name": "octo"},
        "head_commit": {"id": sha, "message": "$(reboot)"},
        "commits": [{"id": sha, "added": paths, "modified": [], "removed": []}]
    })
    .to_string()
}

/// A signed GitHub delivery of `event`.
pub fn send_github(addr: SocketAddr, event: &str, delivery: &str, body: &str) -> (u16, String) {
    let signature = format!("sha256={}", stepkit::steps::hook::verify::sign(SECRET, body.as_bytes()));
    post(
        addr,
        &[
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", &signature),
            ("User-Agent", "GitHub-Hookshot/abc"),
        ],
        body,
    )
}

fn config(clone: &Path) -> String {
    format!(
        "[hook]\nclone = {clone:?}\n[hook.target.odd]\ncoalesce = false\n\
         [[hook.rule]]\nname = \"release\"\nrepository = \"octo/app\"\ntag = \"release-*\"\ntarget = \"prod\"\nsteps = [[\"junit\", \"summary\", \"report.xml\"]]\n\
         [[hook.rule]]\nname = \"dev\"\nbranch = \"dev\"\ntarget = \"dev\"\nsteps = [[\"junit\", \"summary\", \"report.xml\"]]\n\
         [[hook.rule]]\nname = \"odd\"\nref = \"refs/heads/$*\"\ntarget = \"odd\"\nsteps = [[\"junit\", \"summary\", \"report.xml\"]]\n"
    )
}

fn job_for<'a>(jobs: &'a [serde_json::Value], target: &str) -> &'a serde_json::Value {
    jobs.iter().find(|j| j["target"] == target).unwrap_or_else(|| panic!("no job for {target}: {jobs:#?}"))
}

/// The test case names the job's `junit summary` step saw, read from the step's result file.
fn summarized_case(state: &Path, job: &serde_json::Value) -> String {
    let id = job["id"].as_i64().unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join(format!("jobs/{id}/job.json"))).unwrap())
            .unwrap();
    assert_eq!(record["schema_version"], 1);
    assert_eq!(record["state"], "succeeded", "{record:#}");
    let result = std::fs::read_to_string(record["steps"][0]["result_file"].as_str().unwrap()).unwrap();
    result
}

#[test]
fn hook_tag_and_branch_run_their_steps_on_the_pushed_commit_and_other_branches_do_nothing() {
    let repos = repos();
    git(&repos.upstream, &["tag", "release-1.2.0"]);
    git(&repos.upstream, &["checkout", "-q", "-b", "dev"]);
    let dev_sha = commit_report(&repos.upstream, "on_dev");
    // A branch name a shell would run: it must reach the step as data only.
    git(&repos.upstream, &["checkout", "-q", "-b", "$(touch${IFS}pwned)"]);
    let odd_sha = commit_report(&repos.upstream, "on_odd");
    git(&repos.upstream, &["branch", "$(reboot)", &odd_sha]);
    let work = repos.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let server = start(&work, &config(&repos.clone), &[]);

    let ping = serde_json::json!({"zen": "Design for failure.", "hook_id": 1, "repository": {"full_name": "octo/app"}});
    assert_eq!(send_github(server.addr, "ping", "d-ping", &ping.to_string()).0, 200);
    let (status, body) = send_github(
        server.addr,
        "push",
        "d-tag",
        &push_payload("refs/tags/release-1.2.0", &repos.main_sha, &[]),
    );
    assert_eq!(status, 202, "{body}");
    let (status, body) =
        send_github(server.addr, "push", "d-dev", &push_payload("refs/heads/dev", &dev_sha, &[]));
    assert_eq!(status, 202, "{body}");
    let (status, body) =
        send_github(server.addr, "push", "d-main", &push_payload("refs/heads/main", &repos.main_sha, &[]));
    assert_eq!((status, body.contains("no rule matches")), (200, true), "{body}");
    let (status, body) = send_github(
        server.addr,
        "push",
        "d-odd",
        &push_payload("refs/heads/$(touch${IFS}pwned)", &odd_sha, &[]),
    );
    assert_eq!(status, 202, "{body}");
    let (status, body) =
        send_github(server.addr, "push", "d-reboot", &push_payload("refs/heads/$(reboot)", &odd_sha, &[]));
    assert_eq!(status, 202, "{body}");

    let jobs = server.settled_jobs();
    assert_eq!(jobs.len(), 4, "main matched nothing: {jobs:#?}");
    let prod = job_for(&jobs, "prod");
    assert_eq!(
        (prod["ref"].as_str(), prod["sha"].as_str()),
        (Some("refs/tags/release-1.2.0"), Some(repos.main_sha.as_str()))
    );
    assert!(summarized_case(&server.state, prod).contains("on_main"));
    let dev = job_for(&jobs, "dev");
    assert!(summarized_case(&server.state, dev).contains("on_dev"));
    let odd: Vec<_> = jobs.iter().filter(|j| j["target"] == "odd").collect();
    let refs: Vec<_> = odd.iter().map(|j| j["ref"].as_str().unwrap()).collect();
    assert!(
        refs.contains(&"refs/heads/$(touch${IFS}pwned)") && refs.contains(&"refs/heads/$(reboot)"),
        "{refs:?}"
    );
    for job in &odd {
        assert_eq!(job["state"], "succeeded", "{job:#}");
    }
    for dir in [&work, &server.state, &repos.clone] {
        assert!(!dir.join("pwned").exists(), "a shell ran the branch name in {}", dir.display());
    }
    let (code, log) = server.stop();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains(SECRET), "{log}");
}

#[test]
fn hook_burst_to_one_target_coalesces_into_the_newest_push() {
    let repos = repos();
    let work = repos.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let rules = format!(
        "[hook]\nclone = {:?}\n[hook.target.prod]\nquiet = \"3s\"\n[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\nsteps = [[\"junit\", \"summary\", \"report.xml\"]]\n",
        repos.clone
    );
    let mut shas = Vec::new();
    for n in 0..5 {
        shas.push(commit_report(&repos.upstream, &format!("push_{n}")));
    }
    let server = start(&work, &rules, &[]);
    for (n, sha) in shas.iter().enumerate() {
        let (status, body) = send_github(
            server.addr,
            "push",
            &format!("burst-{n}"),
            &push_payload("refs/heads/main", sha, &[]),
        );
        assert_eq!(status, 202, "{body}");
    }
    let jobs = server.settled_jobs();
    let ran: Vec<_> = jobs.iter().filter(|j| j["state"] == "succeeded").collect();
    let superseded = jobs.iter().filter(|j| j["state"] == "superseded").count();
    assert_eq!((ran.len(), superseded), (1, 4), "{jobs:#?}");
    assert_eq!(ran[0]["sha"], shas[4].as_str());
    assert!(summarized_case(&server.state, ran[0]).contains("push_4"));
    server.stop();
}

#[test]
fn hook_restart_mid_queue_loses_nothing() {
    let repos = repos();
    let work = repos.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let rules = |quiet: &str| {
        format!(
            "[hook]\nclone = {:?}\n[hook.target.prod]\nquiet = \"{quiet}\"\ncoalesce = false\n[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\nsteps = [[\"junit\", \"summary\", \"report.xml\"]]\n",
            repos.clone
        )
    };
    let first = commit_report(&repos.upstream, "first");
    let second = commit_report(&repos.upstream, "second");
    // A long quiet period keeps both jobs queued when SIGTERM arrives.
    let server = start(&work, &rules("1h"), &[]);
    assert_eq!(send_github(server.addr, "push", "r-1", &push_payload("refs/heads/main", &first, &[])).0, 202);
    assert_eq!(
        send_github(server.addr, "push", "r-2", &push_payload("refs/heads/main", &second, &[])).0,
        202
    );
    let (code, log) = server.stop();
    assert_eq!(code, 0, "{log}");
    let server = start(&work, &rules("0s"), &[]);
    let jobs = server.settled_jobs();
    let shas: Vec<_> =
        jobs.iter().filter(|j| j["state"] == "succeeded").map(|j| j["sha"].as_str().unwrap()).collect();
    assert_eq!(shas.len(), 2, "{jobs:#?}");
    assert!(shas.contains(&first.as_str()) && shas.contains(&second.as_str()));
    // A replay queues the delivery's jobs again, and the running server runs them.
    let delivery = jobs[0]["delivery"].as_i64().unwrap().to_string();
    let replayed = server.query(&["replay", &delivery]);
    assert_eq!(replayed["schema_version"], 1);
    wait_until("the replayed job to run", || server.settled_jobs().len() >= 3);
    server.stop();
}
