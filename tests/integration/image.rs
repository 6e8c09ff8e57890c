//! `stepkit image build|push` against a real Docker engine and real registries (started by .ci/run).

use crate::support::contract::Contract;
use crate::support::{in_ci, stepkit, write};
use std::process::Command;

pub(crate) fn docker_cli() -> String {
    std::env::var("STEPKIT_TEST_DOCKER").unwrap_or_else(|_| "/usr/bin/docker".into())
}

pub(crate) fn docker(args: &[&str]) -> std::process::Output {
    Command::new(docker_cli()).args(args).output().expect("the docker CLI runs")
}

/// True when a daemon answers; a developer without Docker skips, CI fails.
pub(crate) fn have_docker() -> bool {
    let ok = Command::new(docker_cli()).arg("info").output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        assert!(!in_ci(), "a Docker daemon is required under CI=true (.ci/run starts dockerd)");
        eprintln!("skipping: no Docker daemon answers");
    }
    ok
}

/// The loopback registries .ci/run starts: (open, with auth, user, password).
pub(crate) fn registries() -> Option<(String, String, String, String)> {
    let get = |k: &str| std::env::var(k).ok();
    match (
        get("STEPKIT_TEST_REGISTRY"),
        get("STEPKIT_TEST_AUTH_REGISTRY"),
        get("STEPKIT_TEST_REGISTRY_USER"),
        get("STEPKIT_TEST_REGISTRY_PASSWORD"),
    ) {
        (Some(a), Some(b), Some(u), Some(p)) => Some((a, b, u, p)),
        _ => {
            assert!(!in_ci(), "the test registries are required under CI=true (.ci/run starts them)");
            eprintln!("skipping: STEPKIT_TEST_REGISTRY* not set (run .ci/run to start the registries)");
            None
        }
    }
}

/// A build context: static busybox, a web root, and a Dockerfile using a build arg.
fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).expect("busybox-static is installed");
    write(dir.path(), "www/index.html", "<h1>stepkit</h1>");
    write(dir.path(), "Dockerfile", dockerfile);
    dir
}

const WEB: &str = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nARG GREETING=none\nRUN echo \"$GREETING\" > /greeting\nCOPY www /www\nCOPY . /ctx\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n";

pub(crate) fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
    )
}

#[test]
fn builds_with_tags_args_labels_and_dockerignore() {
    if !have_docker() {
        return;
    }
    let dir = context(WEB);
    write(dir.path(), ".dockerignore", "# secrets stay out\nsecret.txt\n*.log\n!keep.log\n");
    write(dir.path(), "secret.txt", "do not send");
    write(dir.path(), "debug.log", "noise");
    write(dir.path(), "keep.log", "wanted");
    let name = unique("stepkit-test/build");
    let (t1, t2) = (format!("{name}:1"), format!("{name}:2"));
    let run = stepkit()
        .current_dir(dir.path())
        .args([
            "--format",
            "json",
            "image",
            "build",
            "--tag",
            &t1,
            "--tag",
            &t2,
            "--build-arg",
            "GREETING=hello",
            "--label",
            "team=ci",
        ])
        .run()
        .expect_code(0);
    let json = run.json();
    let id = json["data"]["image_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sha256:"), "{json}");
    assert_eq!(json["outputs"]["image-id"], id.as_str());
    let inspect =
        String::from_utf8_lossy(&docker(&["inspect", "--format", "{{json .Config.Labels}}", &t2]).stdout)
            .into_owned();
    assert!(
        inspect.contains("\"team\":\"ci\"")
            && inspect.contains("org.opencontainers.image.created")
            && inspect.contains("org.opencontainers.image.title"),
        "{inspect}"
    );
    let greeting = docker(&["run", "--rm", &t1, "cat", "/greeting"]);
    assert_eq!(String::from_utf8_lossy(&greeting.stdout).trim(), "hello");
    let listing =
        String::from_utf8_lossy(&docker(&["run", "--rm", &t1, "ls", "-a", "/ctx"]).stdout).into_owned();
    assert!(listing.contains("keep.log") && listing.contains("Dockerfile"), "{listing}");
    assert!(
        !listing.contains("secret.txt") && !listing.contains("debug.log"),
        ".dockerignore is applied: {listing}"
    );
    docker(&["rmi", "-f", "--no-prune", &t1, &t2]);
}

#[test]
fn a_failing_dockerfile_step_is_reported_with_the_daemon_error() {
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo about to fail; exit 3\"]\n");
    let tag = format!("{}:1", unique("stepkit-test/fail"));
    let run =
        stepkit().current_dir(dir.path()).args(["--format", "json", "image", "build", "--tag", &tag]).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let step = r#"Step 3/3 : RUN ["/bin/busybox", "sh", "-c", "echo about to fail; exit 3"]"#;
    let json = run.json();
    assert_eq!(json["data"]["step"], step, "the failing step is named: {json}");
    let error = json["data"]["error"].as_str().unwrap();
    assert!(error.contains("returned a non-zero code: 3"), "the daemon's error text: {error}");
    assert!(run.stderr.contains(&format!("the build failed at {step}: ")), "{}", run.stderr);
    assert!(run.stderr.contains("about to fail"), "the step's own output streamed live: {}", run.stderr);
}

#[test]
fn push_reports_the_digest_the_registry_serves() {
    let Some((open, ..)) = registries() else { return };
    if !have_docker() {
        return;
    }
    let dir = context(WEB);
    let tag = format!("{open}/{}:v1", unique("stepkit-test/push"));
    let run = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "image", "build", "--push", "--tag", &tag])
        .run()
        .expect_code(0);
    let digest = run.json()["data"]["pushed"][0]["digest"].as_str().unwrap().to_string();
    let (name, reference) = tag.split_once('/').unwrap().1.rsplit_once(':').unwrap();
    let head = Command::new("curl")
        .args(["-sI", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json"])
        .arg(format!("http://{open}/v2/{name}/manifests/{reference}"))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&head.stdout).to_ascii_lowercase();
    assert!(headers.contains(&format!("docker-content-digest: {digest}")), "{headers}");
    assert_eq!(run.json()["outputs"]["digest"], digest.as_str());
}

#[test]
fn credentials_good_and_bad_and_never_printed() {
    let Some((_, auth, user, password)) = registries() else { return };
    if !have_docker() {
        return;
    }
    let dir = context(WEB);
    let tag = format!("{auth}/{}:1", unique("stepkit-test/auth"));
    stepkit().current_dir(dir.path()).args(["image", "build", "--tag", &tag]).run().expect_code(0);
    let wrong = "wrong-password-5c1e";
    let bad = stepkit()
        .env("STEPKIT_REGISTRY_PASSWORD", wrong)
        .args(["image", "push", &tag, "--username", &user, "--retry-budget", "30s"])
        .run();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains(&format!("push to {auth}: the registry refused user `{user}` from --username")),
        "the registry and the credential source are named: {}",
        bad.stderr
    );
    assert!(!bad.stderr.contains("retrying in"), "a refusal is not retried: {}", bad.stderr);
    assert_eq!(
        bad.stderr.matches("The push refers to repository").count(),
        1,
        "one attempt only: {}",
        bad.stderr
    );
    assert!(!bad.stderr.contains(wrong) && !bad.stdout.contains(wrong));
    let anonymous = stepkit()
        .env("DOCKER_CONFIG", dir.path().join("no-docker-config"))
        .args(["image", "push", &tag])
        .run();
    assert_eq!(anonymous.code, 2, "{}", anonymous.stderr);
    assert!(anonymous.stderr.contains("no credentials"), "{}", anonymous.stderr);
    let good = stepkit()
        .env("STEPKIT_REGISTRY_PASSWORD", &password)
        .args(["--format", "json", "image", "push", &tag, "--username", &user])
        .run()
        .expect_code(0);
    assert!(good.json()["data"]["pushed"][0]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(
        !good.stderr.contains(&password) && !good.stdout.contains(&password),
        "the password never reaches output"
    );
    let stdin = stepkit()
        .args(["image", "push", &tag, "--username", &user, "--password-stdin"])
        .stdin_text(&format!("{password}\n"))
        .run()
        .expect_code(0);
    assert!(!stdin.stderr.contains(&password));
}

#[test]
fn a_registry_that_is_down_is_retried_then_exits_3() {
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\n");
    let tag = format!("127.0.0.1:15999/{}:1", unique("stepkit-test/down"));
    stepkit().current_dir(dir.path()).args(["image", "build", "--tag", &tag]).run().expect_code(0);
    let started = std::time::Instant::now();
    let run = stepkit().args(["image", "push", &tag, "--retry-budget", "4s"]).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("still failing after") && run.stderr.contains("127.0.0.1:15999"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("retrying in"), "transient failures are retried: {}", run.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    docker(&["rmi", "-f", "--no-prune", &tag]);
}

/// A registry on loopback that answers docker's version check and then refuses every push request
/// with `status` and the registry error `code` (the distribution spec's JSON error body).
async fn refusing_registry(status: u16, code: &str) -> Contract {
    use wiremock::ResponseTemplate;
    let server = Contract::start().await;
    let version = ResponseTemplate::new(200)
        .insert_header("Docker-Distribution-Api-Version", "registry/2.0")
        .set_body_string("{}");
    server.route("GET", "/v2/", version).await;
    let body =
        serde_json::json!({"errors": [{"code": code, "message": format!("the registry says {code}")}]});
    server.route("*", "*", ResponseTemplate::new(status).set_body_json(body)).await;
    server
}

/// How many pushes reached the registry: each one starts with an upload request.
async fn upload_requests(server: &Contract) -> usize {
    let requests = server.requests().await;
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/blobs/uploads/"))
        .count()
}

/// Builds a one-layer image tagged for `server` and pushes it with `push_args`; returns the registry
/// address and the push's run. The image is removed afterwards.
async fn push_to(server: &Contract, name: &str, push_args: &[&str]) -> (String, crate::support::Run) {
    let registry = format!("127.0.0.1:{}", server.port());
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\n");
    let tag = format!("{registry}/{}:1", unique(name));
    let build = stepkit().current_dir(dir.path()).args(["image", "build", "--tag", &tag]);
    tokio::task::spawn_blocking(move || build.run().expect_code(0)).await.unwrap();
    let push = stepkit()
        .args(["image", "push", &tag])
        .args(push_args)
        .kill_after(std::time::Duration::from_secs(240));
    let run = tokio::task::spawn_blocking(move || push.run()).await.unwrap();
    docker(&["rmi", "-f", "--no-prune", &tag]);
    (registry, run)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_push_is_retried_then_exits_3() {
    if !have_docker() {
        return;
    }
    // The daemon gives up on 429 TOOMANYREQUESTS at once (Docker Hub's rate limit), so stepkit's own
    // backoff is what retries it.
    let server = refusing_registry(429, "TOOMANYREQUESTS").await;
    let (registry, run) =
        push_to(&server, "stepkit-test/ratelimit", &["--retry-budget", "4s", "--format", "json"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("toomanyrequests") && run.stderr.contains("retrying in"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("push to {registry}: still failing after")), "{}", run.stderr);
    let attempts = upload_requests(&server).await;
    assert!(attempts >= 2, "stepkit retried through the daemon: {attempts} push(es) reached the registry");
    assert_eq!(run.json()["exit_code"], 3, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_answering_503_is_a_transient_failure_not_a_usage_error() {
    if !have_docker() {
        return;
    }
    // The daemon retries 5xx uploads itself for about 50 s before it reports one; stepkit must then
    // count it as the registry being unavailable (exit 3), not as a bad request (exit 1).
    let server = refusing_registry(503, "UNAVAILABLE").await;
    let (registry, run) = push_to(&server, "stepkit-test/unavailable", &["--retry-budget", "1s"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("503")
            && run.stderr.contains(&format!("push to {registry}: still failing after")),
        "{}",
        run.stderr
    );
    assert!(upload_requests(&server).await >= 1);
}

#[test]
fn an_unreachable_daemon_exits_3_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Dockerfile", "FROM scratch\n");
    let run = stepkit()
        .current_dir(dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["image", "build", "--tag", "x:1"])
        .run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("reach the Docker daemon"), "{}", run.stderr);
}

#[test]
fn sigterm_stops_a_build_within_5s() {
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sleep\", \"47\"]\n");
    let tag = format!("{}:1", unique("stepkit-test/sigterm"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepkit"))
        .current_dir(dir.path())
        .args(["image", "build", "--no-cache", "--tag", &tag])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Signal only once the RUN step's container is up: then the build is really in the middle.
    let running = || {
        String::from_utf8_lossy(&docker(&["ps", "--no-trunc", "--format", "{{.Command}}"]).stdout)
            .contains("sleep 47")
    };
    crate::support::wait::wait_until("the build's RUN step", running);
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(status.code(), Some(143));
    // The daemon cancels the build once the client is gone: the RUN container goes away.
    let mut gone = false;
    for _ in 0..20 {
        if !running() {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(gone, "the build's RUN container was stopped");
}

#[test]
fn tags_and_labels_come_from_the_ci_context() {
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\n");
    let name = unique("stepkit-test/ci");
    let run = stepkit()
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_REF", "refs/tags/v1.4.2")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args([
            "--format",
            "json",
            "image",
            "build",
            "--image",
            &name,
            "--tags-from-ci",
            "--label",
            r#"odd=say "hi" to $HOME \o/"#,
        ])
        .run()
        .expect_code(0);
    let tags: Vec<String> = run.json()["data"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> =
        ["sha-0123456", "1.4.2", "1.4", "1", "latest"].iter().map(|t| format!("{name}:{t}")).collect();
    assert_eq!(tags, expected);
    let labels = String::from_utf8_lossy(
        &docker(&["inspect", "--format", "{{json .Config.Labels}}", &tags[0]]).stdout,
    )
    .into_owned();
    assert!(
        labels.contains("\"org.opencontainers.image.revision\":\"0123456789abcdef0123456789abcdef01234567\""),
        "{labels}"
    );
    assert!(
        labels.contains("\"org.opencontainers.image.source\":\"https://github.com/octo/app\""),
        "{labels}"
    );
    assert!(
        labels.contains("\"org.opencontainers.image.version\":\"1.4.2\""),
        "metadata-action's version, not the git tag: {labels}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(
        parsed["org.opencontainers.image.created"], "2023-11-14T22:13:20Z",
        "SOURCE_DATE_EPOCH, not now"
    );
    assert_eq!(parsed["odd"], r#"say "hi" to $HOME \o/"#, "quotes, $ and backslashes survive the LABEL line");
    // All labels in one build step: the classic builder would otherwise commit one step per label.
    let history = String::from_utf8_lossy(
        &docker(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tags[0]]).stdout,
    )
    .into_owned();
    assert_eq!(history.matches("LABEL").count(), 1, "{history}");
    let mut rmi = vec!["rmi", "-f", "--no-prune"];
    rmi.extend(tags.iter().map(String::as_str));
    docker(&rmi);
}

/// Standard base64, for `auths` entries (no dependency just for the tests).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// A DOCKER_CONFIG directory holding `config.json`; returns (dir, the config file's path as text).
fn docker_config(json: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "config.json", json);
    (dir, file.display().to_string())
}

/// A `docker-credential-<name>` script in `bin` that prints `answer` (or fails with `exit`).
fn credential_helper(bin: &std::path::Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = write(bin, &format!("docker-credential-{name}"), format!("#!/bin/sh\nread server\n{body}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn path_with(bin: &std::path::Path) -> String {
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn credentials_from_the_docker_config() {
    let Some((_, auth, user, password)) = registries() else { return };
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\n");
    let tag = format!("{auth}/{}:1", unique("stepkit-test/config"));
    stepkit().current_dir(dir.path()).args(["image", "build", "--tag", &tag]).run().expect_code(0);

    // `auths` with base64 user:password, as `docker login` writes it without a store.
    let (config, file) = docker_config(&format!(
        r#"{{"auths": {{"{auth}": {{"auth": "{}"}}}}}}"#,
        base64(format!("{user}:{password}").as_bytes())
    ));
    let run = stepkit()
        .env("DOCKER_CONFIG", config.path())
        .args(["--format", "json", "image", "push", &tag])
        .run()
        .expect_code(0);
    let used = run.json()["data"]["pushed"][0]["credentials"].as_str().unwrap().to_string();
    assert_eq!(used, format!("user `{user}` from the `auths` entry `{auth}` in {file}"));
    assert!(!run.stdout.contains(&password) && !run.stderr.contains(&password));

    // `credHelpers` for this registry: a helper program on PATH answers.
    let bin = tempfile::tempdir().unwrap();
    credential_helper(
        bin.path(),
        "stepkit-test",
        &format!(
            r#"[ "$server" = "{auth}" ] || {{ echo "credentials not found in native keychain"; exit 1; }}; printf '{{"ServerURL":"%s","Username":"{user}","Secret":"{password}"}}' "$server""#
        ),
    );
    let (config, file) = docker_config(&format!(r#"{{"credHelpers": {{"{auth}": "stepkit-test"}}}}"#));
    let run = stepkit()
        .env("DOCKER_CONFIG", config.path())
        .env("PATH", path_with(bin.path()))
        .args(["--format", "json", "image", "push", &tag])
        .run()
        .expect_code(0);
    assert_eq!(
        run.json()["data"]["pushed"][0]["credentials"],
        format!("user `{user}` from docker-credential-stepkit-test (`credHelpers` in {file})").as_str()
    );
    assert!(!run.stdout.contains(&password) && !run.stderr.contains(&password));

    // A helper that fails is an error naming it, not a silent anonymous push.
    credential_helper(
        bin.path(),
        "stepkit-test-broken",
        "echo 'the keychain is locked (stepkit-test-3e9a)' >&2; exit 1",
    );
    let (config, file) = docker_config(&format!(r#"{{"credHelpers": {{"{auth}": "stepkit-test-broken"}}}}"#));
    let run = stepkit()
        .env("DOCKER_CONFIG", config.path())
        .env("PATH", path_with(bin.path()))
        .args(["image", "push", &tag])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("find credentials for {auth}"))
            && run.stderr.contains("docker-credential-stepkit-test-broken"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("`credHelpers` in {file}"))
            && run.stderr.contains("the keychain is locked"),
        "{}",
        run.stderr
    );

    // A credsStore whose program is not installed.
    let (config, _) = docker_config(r#"{"credsStore": "stepkit-test-not-installed"}"#);
    let run = stepkit().env("DOCKER_CONFIG", config.path()).args(["image", "push", &tag]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("docker-credential-stepkit-test-not-installed")
            && run.stderr.contains("`credsStore`"),
        "{}",
        run.stderr
    );

    // An unreadable config.
    let (config, file) = docker_config("{\"auths\": ");
    let run = stepkit().env("DOCKER_CONFIG", config.path()).args(["image", "push", &tag]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("read the docker config {file}")), "{}", run.stderr);

    // A helper with no entry for this registry falls back to anonymous, and the refusal says so.
    credential_helper(
        bin.path(),
        "stepkit-test-empty",
        "echo 'credentials not found in native keychain'; exit 1",
    );
    let (config, file) = docker_config(r#"{"credsStore": "stepkit-test-empty"}"#);
    let run = stepkit()
        .env("DOCKER_CONFIG", config.path())
        .env("PATH", path_with(bin.path()))
        .args(["image", "push", &tag])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "push to {auth}: the registry refused no credentials (no --username; docker-credential-stepkit-test-empty (`credsStore` in {file}) has no credentials for `{auth}`)"
        )),
        "{}",
        run.stderr
    );
    docker(&["rmi", "-f", "--no-prune", &tag]);
}

#[test]
fn a_wrong_password_in_the_docker_config_fails_at_once_naming_it() {
    let Some((_, auth, user, _)) = registries() else { return };
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\n");
    let tag = format!("{auth}/{}:1", unique("stepkit-test/config-wrong"));
    stepkit().current_dir(dir.path()).args(["image", "build", "--tag", &tag]).run().expect_code(0);
    let wrong = "wrong-config-password-7d2b";
    let (config, file) = docker_config(&format!(
        r#"{{"auths": {{"http://{auth}/v2/": {{"auth": "{}"}}}}}}"#,
        base64(format!("{user}:{wrong}").as_bytes())
    ));
    let run = stepkit()
        .env("DOCKER_CONFIG", config.path())
        .args(["image", "push", &tag, "--retry-budget", "30s"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("push to {auth}: the registry refused user `{user}` from the `auths` entry `http://{auth}/v2/` in {file}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("retrying in"), "an auth failure is not retried: {}", run.stderr);
    assert!(!run.stderr.contains(wrong));
    docker(&["rmi", "-f", "--no-prune", &tag]);
}

/// A "registry" on 127.0.0.1 that accepts connections and never answers. With `version_check`, it
/// answers docker's `GET /v2/` first (so the daemon, whose own ping gives up after ~25 s, goes on to
/// upload) and then goes silent: the push hangs forever, the failure the stall timeout exists for.
fn silent_registry(version_check: bool) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        return;
                    }
                    // dockerd tries HTTPS first on an insecure registry: close, so it falls back to HTTP.
                    if version_check && seen.is_empty() && chunk[0] == 0x16 {
                        return;
                    }
                    seen.extend_from_slice(&chunk[..n]);
                    if version_check
                        && seen.starts_with(b"GET /v2/ ")
                        && seen.windows(4).any(|w| w == b"\r\n\r\n")
                    {
                        let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 2\r\n\r\n{}";
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                        seen.clear();
                    }
                }
            });
        }
    });
    address
}

#[test]
fn a_push_that_stalls_is_abandoned_retried_then_exits_3() {
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\n");
    for version_check in [true, false] {
        let registry = silent_registry(version_check);
        let tag = format!("{registry}/{}:1", unique("stepkit-test/stall"));
        stepkit().current_dir(dir.path()).args(["image", "build", "--tag", &tag]).run().expect_code(0);
        let run = stepkit()
            .env("STEPKIT_PUSH_STALL_TIMEOUT", "2s")
            .args(["image", "push", &tag, "--retry-budget", "5s"])
            .kill_after(std::time::Duration::from_secs(120))
            .run();
        assert_eq!(
            run.code, 3,
            "a stalled push ends on its own (version check answered: {version_check}): {}",
            run.stderr
        );
        assert!(run.stderr.contains("retrying in"), "a stall is retried: {}", run.stderr);
        assert!(run.stderr.contains(&format!("push to {registry}: still failing after")), "{}", run.stderr);
        assert!(
            run.stderr.contains("no progress from the daemon for 2s"),
            "the stall is named: {}",
            run.stderr
        );
        docker(&["rmi", "-f", "--no-prune", &tag]);
    }
}

/// `$GITHUB_OUTPUT` as name -> value (the `name<<delimiter` form stepkit writes).
fn github_outputs(path: &std::path::Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut outputs = std::collections::HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) =
            line.split_once("<<").unwrap_or_else(|| panic!("not name<<delimiter: {line}\n{text}"));
        let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
        outputs.insert(name.to_string(), value.join("\n"));
    }
    outputs
}

#[test]
fn build_and_push_outputs_reach_github_and_the_build_is_grouped() {
    let Some((open, ..)) = registries() else { return };
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"true\"]\n");
    let name = unique("stepkit-test/outputs");
    let (t1, t2) = (format!("{open}/{name}:1"), format!("{open}/{name}:2"));
    let files = tempfile::tempdir().unwrap();
    let build_out = files.path().join("build-output");
    let build = stepkit()
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &build_out)
        .args(["--format", "json", "image", "build", "--push", "--tag", &t1, "--tag", &t2])
        .run()
        .expect_code(0);
    let json = build.json();
    let id = json["data"]["image_id"].as_str().unwrap().to_string();
    let digest = json["data"]["digest"].as_str().unwrap().to_string();
    assert_eq!(json["data"]["pushed"][0]["digest"], digest.as_str());
    let outputs = github_outputs(&build_out);
    assert_eq!(outputs["image-id"], id);
    assert_eq!(outputs["tags"], format!("{t1}\n{t2}"));
    assert_eq!(outputs["digest"], digest);
    // The build's output sits inside one ::group:: on GitHub.
    let group = build
        .stderr
        .find("::group::docker build")
        .unwrap_or_else(|| panic!("no build group: {}", build.stderr));
    let step =
        build.stderr.find("Step 3/3 : RUN").unwrap_or_else(|| panic!("no build output: {}", build.stderr));
    let end = build.stderr[group..]
        .find("::endgroup::")
        .map(|i| i + group)
        .unwrap_or_else(|| panic!("group not closed: {}", build.stderr));
    assert!(group < step && step < end, "{}", build.stderr);

    let push_out = files.path().join("push-output");
    let push = stepkit()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &push_out)
        .args(["--format", "json", "image", "push", &t1, &t2])
        .run()
        .expect_code(0);
    let json = push.json();
    assert_eq!(json["data"]["image_id"], id.as_str(), "push reports the image id too");
    assert_eq!(json["data"]["tags"], serde_json::json!([t1, t2]));
    assert_eq!(json["data"]["digest"], digest.as_str(), "the same image pushed again has the same digest");
    assert_eq!(json["data"]["pushed"][1]["image_id"], id.as_str());
    let outputs = github_outputs(&push_out);
    assert_eq!(
        (outputs["image-id"].as_str(), outputs["tags"].as_str(), outputs["digest"].as_str()),
        (id.as_str(), format!("{t1}\n{t2}").as_str(), digest.as_str())
    );
    docker(&["rmi", "-f", "--no-prune", &t1, &t2]);
}

#[test]
fn pushing_a_tag_that_does_not_exist_is_a_usage_error_before_anything_is_pushed() {
    let Some((open, ..)) = registries() else { return };
    if !have_docker() {
        return;
    }
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\n");
    let name = unique("stepkit-test/missing");
    let (real, missing) = (format!("{open}/{name}:1"), format!("{open}/{name}:typo"));
    stepkit().current_dir(dir.path()).args(["image", "build", "--tag", &real]).run().expect_code(0);
    let run = stepkit().args(["image", "push", &real, &missing]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("push {missing}: there is no such image in the local Docker engine")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("docker push"), "nothing was pushed: {}", run.stderr);
    docker(&["rmi", "-f", "--no-prune", &real]);
}

#[test]
fn a_password_without_a_user_is_a_usage_error_naming_both() {
    let secret = "lonely-password-2a7e";
    let run = stepkit()
        .env("STEPKIT_REGISTRY_PASSWORD", secret)
        .args(["image", "push", "127.0.0.1:15999/app:1"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("STEPKIT_REGISTRY_PASSWORD") && run.stderr.contains("--username"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret));
    let run = stepkit()
        .args(["image", "push", "127.0.0.1:15999/app:1", "--password-stdin"])
        .stdin_text(&format!("{secret}\n"))
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--password-stdin gives a password but no user"), "{}", run.stderr);
}

#[test]
fn context_file_and_its_own_dockerignore() {
    if !have_docker() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let ctx = work.path().join("app");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::copy("/bin/busybox", ctx.join("busybox")).unwrap();
    write(&ctx, "keep.txt", "sent");
    write(&ctx, "only-root-ignore.txt", "the root .dockerignore would drop this");
    write(&ctx, "only-file-ignore.txt", "the Dockerfile's own ignore file drops this");
    write(&ctx, ".dockerignore", "only-root-ignore.txt\n");
    write(&ctx, "docker/web.Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /ctx\n");
    // Beside a custom Dockerfile, <Dockerfile>.dockerignore replaces the context's .dockerignore.
    write(&ctx, "docker/web.Dockerfile.dockerignore", "only-file-ignore.txt\n");
    let tag = format!("{}:1", unique("stepkit-test/context"));
    // Both paths are relative to the working directory, as with `docker build`.
    stepkit()
        .current_dir(work.path())
        .args(["image", "build", "--context", "app", "--file", "app/docker/web.Dockerfile", "--tag", &tag])
        .run()
        .expect_code(0);
    let listing =
        String::from_utf8_lossy(&docker(&["run", "--rm", &tag, "/bin/busybox", "ls", "-a", "/ctx"]).stdout)
            .into_owned();
    assert!(listing.contains("keep.txt") && listing.contains("only-root-ignore.txt"), "{listing}");
    assert!(!listing.contains("only-file-ignore.txt"), "<Dockerfile>.dockerignore is applied: {listing}");
    docker(&["rmi", "-f", "--no-prune", &tag]);
}

#[test]
fn target_stops_at_a_stage_and_pull_needs_no_network_for_scratch() {
    if !have_docker() {
        return;
    }
    let dir = context(concat!(
        "FROM scratch AS base\n",
        "COPY busybox /bin/busybox\n",
        "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo base > /stage\"]\n",
        "FROM base AS final\n",
        "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo final > /stage\"]\n",
    ));
    let name = unique("stepkit-test/target");
    let (base, last) = (format!("{name}:base"), format!("{name}:final"));
    stepkit()
        .current_dir(dir.path())
        .args(["image", "build", "--target", "base", "--tag", &base])
        .run()
        .expect_code(0);
    let stage = docker(&["run", "--rm", &base, "/bin/busybox", "cat", "/stage"]);
    assert_eq!(String::from_utf8_lossy(&stage.stdout).trim(), "base", "--target stops at the named stage");
    // --pull with only FROM scratch and a stage name: nothing to pull, so it works with no network.
    let run = stepkit()
        .current_dir(dir.path())
        .args(["image", "build", "--pull", "--tag", &last])
        .run()
        .expect_code(0);
    let stage = docker(&["run", "--rm", &last, "/bin/busybox", "cat", "/stage"]);
    assert_eq!(String::from_utf8_lossy(&stage.stdout).trim(), "final", "{}", run.stderr);
    let missing =
        stepkit().current_dir(dir.path()).args(["image", "build", "--target", "nope", "--tag", &last]).run();
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("the build failed before the first step: ")
            && missing.stderr.contains("nope"),
        "the daemon's error names the stage: {}",
        missing.stderr
    );
    docker(&["rmi", "-f", "--no-prune", &base, &last]);
}

#[test]
fn no_cache_runs_every_step_again() {
    if !have_docker() {
        return;
    }
    // A step whose output differs each time it really runs: the same id means the cache answered.
    let dir = context("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"cat /proc/sys/kernel/random/uuid > /id\"]\n");
    let tag = format!("{}:1", unique("stepkit-test/nocache"));
    let id_after = |extra: &[&str]| {
        let mut args = vec!["image", "build", "--tag", &tag];
        args.extend_from_slice(extra);
        stepkit().current_dir(dir.path()).args(&args).run().expect_code(0);
        String::from_utf8_lossy(&docker(&["run", "--rm", &tag, "/bin/busybox", "cat", "/id"]).stdout)
            .trim()
            .to_string()
    };
    let first = id_after(&[]);
    assert_eq!(id_after(&[]), first, "a second build of the same context uses the cache");
    assert_ne!(id_after(&["--no-cache"]), first, "--no-cache ran the RUN step again");
    docker(&["rmi", "-f", "--no-prune", &tag]);
}
