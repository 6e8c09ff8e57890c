//! `stepkit check` and `stepkit plugin` against the real components built from plugins/ (plugins/dist).

use crate::support::contract::{script, text, Contract};
use crate::support::wait::Lines;
use crate::support::{in_ci, stepkit, write, Run, Stepkit};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use wiremock::ResponseTemplate;

pub(crate) fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins")
}

/// Newest modification time of the plugin sources (dist and build output excluded).
fn newest_source(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "dist" || name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        let time = if path.is_dir() { newest_source(&path) } else { entry.metadata().ok()?.modified().ok() };
        newest = newest.max(time);
    }
    newest
}

/// Builds plugins/dist once per test run when it is missing or older than the sources. Returns false
/// (after saying why) when the components cannot be built on a developer machine; panics under CI.
pub(crate) fn components() -> bool {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        let dir = plugins_dir();
        let script = dir.join("build.sh");
        if !script.is_file() {
            return Err(format!("{} does not exist", script.display()));
        }
        let dist = dir.join("dist");
        let oldest_dist = std::fs::read_dir(&dist)
            .ok()
            .and_then(|d| d.flatten().filter_map(|e| e.metadata().ok()?.modified().ok()).min());
        // The components depend on the SDK and the WIT too.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let newest = [dir.clone(), root.join("crates/stepkit-plugin"), root.join("wit")]
            .iter()
            .filter_map(|d| newest_source(d))
            .max();
        let stale = match (oldest_dist, newest) {
            (Some(built), Some(source)) => source > built,
            _ => true,
        };
        if !stale {
            return Ok(());
        }
        let output = std::process::Command::new("bash")
            .arg(&script)
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("run {}: {e}", script.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed:\n{}{}",
                script.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    });
    match result {
        Ok(()) => true,
        Err(why) => {
            assert!(!in_ci(), "the plugin components are required under CI=true: {why}");
            eprintln!("skipping: the plugin components could not be built: {why}");
            false
        }
    }
}

/// A component from plugins/dist.
pub(crate) fn dist(name: &str) -> PathBuf {
    let path = plugins_dir().join("dist").join(format!("{name}.wasm"));
    assert!(path.is_file(), "plugins/build.sh did not produce {}", path.display());
    path
}

/// A cache shared by the tests that do not test the cache: each component is compiled once per run.
pub(crate) fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("stepkit-plugin-cache")
}

pub(crate) fn check(args: &[&str]) -> Stepkit {
    stepkit().env("STEPKIT_CACHE_DIR", shared_cache()).args(["check", "--format", "json"]).args(args)
}

pub(crate) fn plugin<'a>(run: &'a Run, json: &'a Value, index: usize) -> &'a Value {
    let p = &json["data"]["plugins"][index];
    assert!(p.is_object(), "no plugin {index} in the JSON\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    p
}

/// Runs one plugin with `args` and returns its JSON entry, checking the exit code.
pub(crate) fn one(name: &str, args: &[&str], code: i32) -> (Run, Value) {
    let file = dist(name);
    let mut all = vec!["--plugin", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = check(&all).run().expect_code(code);
    let json = run.json();
    let entry = plugin(&run, &json, 0).clone();
    (run, entry)
}

pub(crate) fn error_kind(entry: &Value) -> &str {
    entry["error"]["kind"].as_str().unwrap_or_else(|| panic!("no error in {entry:#}"))
}

#[test]
fn every_verdict_maps_to_its_exit_code() {
    if !components() {
        return;
    }
    for (verdict, code) in [("pass", 0), ("warn", 0), ("fail", 1), ("skip", 0), ("error", 1)] {
        let (_, entry) =
            one("verdict", &["--set", &format!("verdict={verdict}"), "--set", "finding=yes"], code);
        assert_eq!(entry["verdict"], verdict, "{entry:#}");
        let report = &entry["report"];
        assert_eq!(report["findings"][0]["file"], "src/lib.rs", "{entry:#}");
        assert_eq!(report["findings"][0]["line"], 3, "{entry:#}");
        assert_eq!(report["metrics"][0]["name"], "answer", "{entry:#}");
    }
}

#[test]
fn strict_fails_on_warn() {
    if !components() {
        return;
    }
    one("verdict", &["--set", "verdict=warn", "--strict"], 1);
}

#[test]
fn the_plugins_own_error_fails_the_step() {
    if !components() {
        return;
    }
    let (_, entry) = one("check-error", &[], 1);
    assert_eq!(error_kind(&entry), "check-error");
    assert!(entry["error"]["message"].as_str().unwrap().contains("invalid config"), "{entry:#}");
}

#[test]
fn a_loop_is_stopped_at_its_deadline() {
    if !components() {
        return;
    }
    let started = std::time::Instant::now();
    let (run, entry) = one("loop", &["--timeout", "1s"], 1);
    assert_eq!(error_kind(&entry), "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(run.stderr.contains("loop") && run.stderr.contains("ran out of time"), "{}", run.stderr);
}

#[test]
fn a_memory_bomb_hits_its_limit() {
    if !components() {
        return;
    }
    let (_, entry) = one("memory-bomb", &["--memory", "64MiB"], 1);
    assert_eq!(error_kind(&entry), "memory-limit", "{entry:#}");
}

#[test]
fn panic_and_trap_are_told_apart() {
    if !components() {
        return;
    }
    let (_, entry) = one("panic", &[], 1);
    assert_eq!(error_kind(&entry), "panic", "{entry:#}");
    assert!(entry["error"]["message"].as_str().unwrap().contains("boom"), "{entry:#}");
    let (_, entry) = one("trap", &[], 1);
    assert_eq!(error_kind(&entry), "trap", "{entry:#}");
}

#[test]
fn missing_export_and_other_contract_versions_are_named() {
    if !components() {
        return;
    }
    let (_, entry) = one("no-export", &[], 1);
    assert_eq!(error_kind(&entry), "missing-export", "{entry:#}");
    let (run, entry) = one("contract-v1", &[], 1);
    assert_eq!(error_kind(&entry), "contract-version", "{entry:#}");
    let message = entry["error"]["message"].as_str().unwrap();
    assert!(message.contains("1.0.0") && message.contains("0.1"), "{message}");
    assert!(run.stderr.contains("contract-v1"), "the error names the plugin:\n{}", run.stderr);
}

#[test]
fn a_file_that_is_not_a_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = write(dir.path(), "fake.wasm", b"\x7fELF\x02\x01\x01\x00 precompiled code");
    let run = check(&["--plugin", fake.to_str().unwrap()]).run().expect_code(1);
    let json = run.json();
    assert_eq!(error_kind(plugin(&run, &json, 0)), "not-a-component");
}

#[test]
fn reads_only_granted_directories() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let granted = dir.path().join("granted");
    let file = write(&granted, "notes.txt", "hello\nworld\n");
    write(dir.path(), "secret.txt", "top secret\n");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), granted.join("link.txt")).unwrap();
    let granted_arg = granted.to_str().unwrap();
    let path = format!("path={}", file.canonicalize().unwrap().display());

    let (_, entry) = one("read-file", &["--allow-read", granted_arg, "--set", &path], 0);
    assert_eq!(entry["report"]["summary"], "first line: hello", "{entry:#}");
    // Without the grant there is no filesystem at all.
    let (_, entry) = one("read-file", &["--set", &path], 1);
    assert_eq!(entry["verdict"], "error", "{entry:#}");

    let real = granted.canonicalize().unwrap();
    for escape in
        [format!("path={}/../secret.txt", real.display()), format!("path={}/link.txt", real.display())]
    {
        let (_, entry) = one("escape", &["--allow-read", granted_arg, "--set", &escape], 1);
        assert_eq!(entry["verdict"], "error", "{escape} must not be readable: {entry:#}");
        assert!(!entry.to_string().contains("top secret"), "{entry:#}");
    }
}

#[test]
fn granted_directories_are_read_only() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "coverage.xml", "<coverage/>\n");
    let path = format!("path={}", file.canonicalize().unwrap().display());

    let (_, entry) = one("write-file", &["--allow-read", dir.path().to_str().unwrap(), "--set", &path], 1);
    // The plugin's own io error, listing each refused attempt: a pass would be the sandbox's leak.
    assert_eq!(error_kind(&entry), "check-error", "a write went through: {entry:#}");
    let message = entry["error"]["message"].as_str().unwrap();
    for attempt in ["overwrite:", "create:", "delete:"] {
        assert!(message.contains(attempt), "{attempt} not refused: {message}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "<coverage/>\n", "the granted file was changed");
    assert!(!dir.path().join("planted.txt").exists(), "a file was created in the granted directory");
}

#[test]
fn changed_files_come_from_git_since_a_ref() {
    if !components() || !crate::support::require_tool("git") {
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    write(repo.path(), "old.txt", "TODO in a file this change does not touch\n");
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    write(repo.path(), "src/new.rs", "fn main() {}\n// TODO: remove\n");
    git(&["add", "."]);
    git(&["commit", "-qm", "change"]);
    let file = dist("forbidden-patterns");
    let run = check(&["--plugin", file.to_str().unwrap(), "--allow-read", ".", "--changed-since", "HEAD~1"])
        .current_dir(repo.path())
        .run()
        .expect_code(0);
    let json = run.json();
    let findings = &plugin(&run, &json, 0)["report"]["findings"];
    assert_eq!(findings.as_array().map(Vec::len), Some(1), "only the changed file is scanned: {json:#}");
    assert_eq!(
        (findings[0]["file"].as_str(), findings[0]["line"].as_u64()),
        (Some("src/new.rs"), Some(2)),
        "{json:#}"
    );
    let bad = check(&["--plugin", file.to_str().unwrap(), "--changed-since", "no-such-ref"])
        .current_dir(repo.path())
        .run()
        .expect_code(2);
    assert!(bad.stderr.contains("--changed-since") && bad.stderr.contains("no-such-ref"), "{}", bad.stderr);
}

/// A contract server on loopback answering every request with the next of `answers` (the last
/// one repeated).
pub(crate) fn serve(answers: Vec<ResponseTemplate>) -> Contract {
    let server = Contract::start_blocking();
    server.route_blocking("*", "*", script(answers));
    server
}

pub(crate) fn ok_response(body: &str) -> ResponseTemplate {
    text(200, body)
}

#[test]
fn http_only_to_granted_hosts_and_redirects_stay_inside() {
    if !components() {
        return;
    }
    let server = serve(vec![ok_response("healthy")]);
    let port = server.port();
    let url = format!("url=http://127.0.0.1:{port}/status");
    let (_, entry) = one("http-get", &["--allow-host", &format!("127.0.0.1:{port}"), "--set", &url], 0);
    assert_eq!(entry["report"]["summary"], "status 200: healthy", "{entry:#}");

    let (_, entry) = one("http-get", &["--set", &url], 1);
    assert!(entry["error"]["message"].as_str().unwrap().contains("denied"), "{entry:#}");

    let server = Contract::start_blocking();
    let port = server.port();
    let redirect =
        ResponseTemplate::new(302).insert_header("location", format!("http://localhost:{port}/elsewhere"));
    server.route_blocking("*", "*", script([redirect, ok_response("should not be reached")]));
    let url = format!("url=http://127.0.0.1:{port}/");
    let (_, entry) = one("http-get", &["--allow-host", "127.0.0.1", "--set", &url], 1);
    let message = entry["error"]["message"].as_str().unwrap();
    assert!(message.contains("denied") && message.contains("localhost"), "{entry:#}");
}

#[test]
fn env_only_when_granted() {
    if !components() {
        return;
    }
    let file = dist("env");
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .env("PLUGIN_TOKEN", "abc123")
        .args([
            "check",
            "--format",
            "json",
            "--plugin",
            file.to_str().unwrap(),
            "--set",
            "name=PLUGIN_TOKEN",
            "--allow-env",
            "PLUGIN_TOKEN",
        ])
        .run()
        .expect_code(0);
    assert_eq!(plugin(&run, &run.json(), 0)["report"]["summary"], "PLUGIN_TOKEN=abc123");
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .env("PLUGIN_TOKEN", "abc123")
        .args(["check", "--format", "json", "--plugin", file.to_str().unwrap(), "--set", "name=PLUGIN_TOKEN"])
        .run()
        .expect_code(0);
    assert_eq!(plugin(&run, &run.json(), 0)["report"]["summary"], "PLUGIN_TOKEN unset");
}

#[test]
fn second_run_loads_from_the_cache() {
    if !components() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let file = dist("verdict");
    let run_once = || {
        let run = stepkit()
            .env("STEPKIT_CACHE_DIR", cache.path())
            .args(["check", "--format", "json", "--plugin", file.to_str().unwrap()])
            .run()
            .expect_code(0);
        plugin(&run, &run.json(), 0)["cache"].as_str().unwrap().to_string()
    };
    assert_eq!(run_once(), "miss");
    assert_eq!(run_once(), "hit");
}

#[test]
fn output_is_sanitized_and_bounded_on_github() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let summary = write(dir.path(), "step_summary", "");
    let file = dist("noisy");
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .current_dir(dir.path())
        .args(["check", "--plugin", file.to_str().unwrap()])
        .run()
        .expect_code(0);
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains('\u{1b}'), "an escape code got through:\n{out}");
        for line in out.lines() {
            let command = line.trim_start();
            // stepkit's own workflow commands (groups, annotations) are the only ones allowed.
            let ours = ["::group::", "::endgroup::", "::error ", "::warning ", "::notice "]
                .iter()
                .any(|c| command.starts_with(c));
            assert!(!command.starts_with("::") || ours, "a plugin line became a workflow command: {line}");
            assert!(!line.contains("##["), "{line}");
        }
    }
    assert!(run.stderr.contains("add-mask"), "the lines are shown, defused:\n{}", run.stderr);
    let flood = dist("flood");
    let run = check(&["--plugin", flood.to_str().unwrap()]).run().expect_code(0);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    assert!(entry["logs_dropped"].as_u64().unwrap() > 0, "{}", entry["logs_dropped"]);
    assert_eq!(entry["report"]["findings"].as_array().unwrap().len(), 1000);
    assert!(entry["report"]["dropped"].as_u64().unwrap() >= 99_000);
}

#[test]
fn concurrent_plugins_from_the_config_file_each_report() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("granted"), "notes.txt", "healthy\n");
    let granted = dir.path().join("granted").canonicalize().unwrap();
    write(dir.path(), "secret.txt", "top secret\n");
    // Nothing listens here, and the host is not granted anyway: the request is denied before any connection.
    let url = "http://127.0.0.1:9/status";
    // (name, fixture, extra keys, expected verdict, expected error kind)
    let plugins = [
        ("ok", "verdict", "config = { verdict = \"pass\" }\n".to_string(), "pass", None),
        ("spin", "loop", "timeout = \"1s\"\n".to_string(), "error", Some("timeout")),
        ("boom", "panic", String::new(), "error", Some("panic")),
        ("hog", "memory-bomb", "memory = \"64MiB\"\n".to_string(), "error", Some("memory-limit")),
        (
            "reads",
            "read-file",
            format!(
                "allow-read = [\"granted\"]\nconfig = {{ path = \"{}/notes.txt\" }}\n",
                granted.display()
            ),
            "pass",
            None,
        ),
        ("crash", "trap", String::new(), "error", Some("trap")),
        (
            "sneak",
            "escape",
            format!(
                "allow-read = [\"granted\"]\nconfig = {{ path = \"{}/../secret.txt\" }}\n",
                granted.display()
            ),
            "error",
            Some("check-error"),
        ),
        ("phone", "http-get", format!("config = {{ url = \"{url}\" }}\n"), "error", Some("check-error")),
        ("hollow", "no-export", String::new(), "error", Some("missing-export")),
        ("future", "contract-v1", String::new(), "error", Some("contract-version")),
        ("bad", "verdict", "config = { verdict = \"fail\", finding = \"yes\" }\n".to_string(), "fail", None),
        ("ok-too", "verdict", "config = { verdict = \"warn\" }\n".to_string(), "warn", None),
    ];
    let mut toml = String::new();
    for (name, file, extra, _, _) in &plugins {
        toml.push_str(&format!(
            "[[check]]\nname = \"{name}\"\nplugin = \"{}\"\n{extra}\n",
            dist(file).display()
        ));
    }
    write(dir.path(), "stepkit.toml", toml);
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .current_dir(dir.path())
        .args(["check", "--format", "json", "--jobs", "4"])
        .run()
        .expect_code(1);
    let json = run.json();
    for (index, (name, _, _, verdict, kind)) in plugins.iter().enumerate() {
        let entry = plugin(&run, &json, index);
        assert_eq!(
            (entry["name"].as_str(), entry["verdict"].as_str()),
            (Some(*name), Some(*verdict)),
            "{entry:#}"
        );
        assert_eq!(entry["error"]["kind"].as_str(), *kind, "{name}: {entry:#}");
        if kind.is_some() {
            // Each error names its plugin where a reader looks: the human lines on stderr.
            assert!(
                run.stderr.lines().any(|l| l.contains(name) && l.contains("error")),
                "{name} is not named:\n{}",
                run.stderr
            );
        }
    }
    assert_eq!(plugin(&run, &json, 4)["report"]["summary"], "first line: healthy");
    assert!(plugin(&run, &json, 7)["error"]["message"].as_str().unwrap().contains("denied"), "{json:#}");
    assert!(!run.stdout.contains("top secret"), "the escape read the secret:\n{}", run.stdout);
    assert_eq!(json["outputs"]["failed"], "9");
}

#[test]
fn jobs_run_plugins_at_the_same_time_and_jobs_1_one_after_another() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sleep = dist("sleep");
    let toml: String = (1..=4)
        .map(|n| {
            format!(
                "[[check]]\nname = \"nap-{n}\"\nplugin = \"{}\"\nconfig = {{ secs = \"2\" }}\n\n",
                sleep.display()
            )
        })
        .collect();
    write(dir.path(), "stepkit.toml", toml);
    let timed = |jobs: &str| {
        let started = std::time::Instant::now();
        let run = check(&["--jobs", jobs]).current_dir(dir.path()).run().expect_code(0);
        let elapsed = started.elapsed();
        assert_eq!(run.json()["data"]["plugins"].as_array().map(Vec::len), Some(4), "{}", run.stdout);
        elapsed
    };
    // Four 2 s sleeps: one after another they cannot take less than 8 s, so less means they overlapped.
    timed("4"); // fills the compiled-component cache, so compiling is not in the timings below
    let serial = timed("1");
    let parallel = timed("4");
    assert!(serial >= std::time::Duration::from_secs(8), "--jobs 1 runs them one at a time: {serial:?}");
    assert!(
        parallel < std::time::Duration::from_secs(6),
        "--jobs 4 runs them together: {parallel:?} (serial: {serial:?})"
    );
}

#[test]
fn inspect_shows_contract_and_capabilities() {
    if !components() {
        return;
    }
    let file = dist("http-get");
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .args(["plugin", "inspect", "--format", "json", file.to_str().unwrap()])
        .run()
        .expect_code(0);
    let json = run.json();
    assert_eq!(json["data"]["contract"], "0.1.0");
    let imports: Vec<&str> =
        json["data"]["imports"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(imports.iter().any(|i| i.starts_with("stepkit:check/host")), "{imports:?}");
    let text = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .args(["plugin", "inspect", file.to_str().unwrap()])
        .run()
        .expect_code(0);
    assert!(text.stderr.contains("http-request") && text.stderr.contains("--allow-host"), "{}", text.stderr);

    let v1 = dist("contract-v1");
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .args(["plugin", "inspect", v1.to_str().unwrap()])
        .run()
        .expect_code(1);
    assert!(run.stderr.contains("1.0.0"), "{}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    let text_file = write(dir.path(), "x.wasm", "(component)");
    stepkit().args(["plugin", "inspect", text_file.to_str().unwrap()]).run().expect_code(2);
}

#[test]
fn plugin_new_writes_a_project() {
    let dir = tempfile::tempdir().unwrap();
    let run = stepkit()
        .current_dir(dir.path())
        .args(["plugin", "new", "coverage-gate", "--lang", "rust"])
        .run()
        .expect_code(0);
    assert!(run.stderr.contains("cargo build"), "{}", run.stderr);
    let manifest = std::fs::read_to_string(dir.path().join("coverage-gate/Cargo.toml")).unwrap();
    assert!(manifest.contains("stepkit-plugin"), "{manifest}");
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/stepkit-plugin");
    stepkit()
        .current_dir(dir.path())
        .args(["plugin", "new", "local", "--sdk-path", sdk.to_str().unwrap()])
        .run()
        .expect_code(0);
    let manifest = std::fs::read_to_string(dir.path().join("local/Cargo.toml")).unwrap();
    assert!(manifest.contains("path = "), "{manifest}");
    stepkit()
        .current_dir(dir.path())
        .args(["plugin", "new", "lint", "--lang", "python"])
        .run()
        .expect_code(0);
    assert!(dir.path().join("lint/wit/check.wit").is_file());
    assert!(dir.path().join("lint/app.py").is_file());
    stepkit()
        .current_dir(dir.path())
        .args(["plugin", "new", "lint", "--lang", "python"])
        .run()
        .expect_code(2);
}

#[test]
fn no_plugins_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = stepkit().current_dir(dir.path()).args(["check"]).run().expect_code(2);
    assert!(run.stderr.contains("--plugin"), "{}", run.stderr);
}

/// The Python example (plugins/dist/migrations) checking `dir`'s db/migrations, compiled into `cache`.
fn check_migrations(dir: &Path, cache: &Path) -> Stepkit {
    stepkit()
        .env("STEPKIT_CACHE_DIR", cache)
        .current_dir(dir)
        .args(["check", "--format", "json", "--plugin"])
        .args([dist("migrations")])
        .args(["--allow-read", ".", "--set", "path=db/migrations"])
}

#[test]
fn the_python_example_runs_with_its_findings() {
    if !components() {
        return;
    }
    // The componentize-py component is ~18 MB: the first run of the suite compiles it into the shared cache.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "db/migrations/0001_a.up.sql", "create table a();");
    write(dir.path(), "db/migrations/0001_a.down.sql", "drop table a;");
    write(dir.path(), "db/migrations/0002_b.up.sql", "create table b();");
    let run = check_migrations(dir.path(), &shared_cache()).run().expect_code(1);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    assert_eq!(entry["verdict"], "fail", "{entry:#}");
    assert_eq!(entry["report"]["findings"][0]["file"], "db/migrations/0002_b.up.sql", "{entry:#}");
}

#[test]
fn a_cold_compile_does_not_count_against_the_timeout() {
    if !components() {
        return;
    }
    // An empty cache: the ~18 MB Python component compiles for far longer than its 5 s (+ 2 s grace)
    // limit, and still runs, because the deadline starts at instantiation.
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "db/migrations/0001_a.up.sql", "create table a();");
    write(dir.path(), "db/migrations/0001_a.down.sql", "drop table a;");
    let run = check_migrations(dir.path(), cache.path()).args(["--timeout", "5s"]).run().expect_code(0);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    assert_eq!(
        (entry["verdict"].as_str(), entry["cache"].as_str()),
        (Some("pass"), Some("miss")),
        "{entry:#}"
    );
}

#[test]
fn findings_become_annotations_and_a_summary_table_on_github() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let summary = write(dir.path(), "step_summary", "");
    let outputs = write(dir.path(), "github_output", "");
    let file = dist("verdict");
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .current_dir(dir.path())
        .args([
            "check",
            "--plugin",
            file.to_str().unwrap(),
            "--set",
            "verdict=fail",
            "--set",
            "finding=yes",
            "--result-file",
            "result.json",
        ])
        .run()
        .expect_code(1);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("::error file=src/lib.rs,line=3,title=check verdict::")),
        "{}",
        run.stderr
    );
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(table.contains("| verdict | fail |"), "{table}");
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(outputs.contains("failed"), "{outputs}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap()).unwrap();
    assert_eq!(result["exit_code"], 1);
    assert_eq!(result["data"]["plugins"][0]["verdict"], "fail");
}

#[test]
fn a_plugin_blocked_in_a_host_call_is_abandoned_after_its_deadline() {
    if !components() {
        return;
    }
    let started = std::time::Instant::now();
    let (run, entry) = one("sleep", &["--timeout", "1s"], 1);
    assert_eq!(error_kind(&entry), "timeout", "{entry:#}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "took {:?}", started.elapsed());
    assert!(!run.stderr.contains("panicked"), "the abandoned thread must not panic at exit:\n{}", run.stderr);
}

#[test]
fn sigint_reports_the_plugins_that_finished() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (spin, quick) = (dist("loop"), dist("verdict"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stepkit"))
        .env_clear()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .current_dir(dir.path())
        .args([
            "check",
            "--format",
            "json",
            "--plugin",
            spin.to_str().unwrap(),
            "--plugin",
            quick.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The quick plugin (cached by the other tests, or compiled here) has finished and been reported.
    let mut stderr = Lines::read(child.stderr.take().unwrap());
    stderr.wait_for_line("the verdict plugin's result", |line| line.starts_with("check verdict:"));
    let started = std::time::Instant::now();
    // SAFETY: kill with a pid this test spawned and has not waited for yet.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopping took {:?}", started.elapsed());
    assert_eq!(output.status.code(), Some(130), "{}", stderr.rest());
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["verdict"], "interrupted");
    assert_eq!(json["data"]["plugins"][0]["name"], "verdict", "{json:#}");
}

#[test]
fn config_file_paths_are_relative_to_the_file_and_env_values_are_masked() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(conf.join("checks")).unwrap();
    std::fs::copy(dist("env"), conf.join("checks/env.wasm")).unwrap();
    write(&conf, "data/x.txt", "x");
    write(&conf, "stepkit.toml", "[[check]]\nplugin = \"checks/env.wasm\"\nallow-read = [\"data\"]\nallow-env = [\"DEPLOY_TOKEN\"]\nconfig = { name = \"DEPLOY_TOKEN\" }\n");
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .env("GITHUB_ACTIONS", "true")
        .env("DEPLOY_TOKEN", "s3cr3t-value")
        .current_dir(dir.path())
        .args(["--config", "conf/stepkit.toml", "check", "--format", "json"])
        .run()
        .expect_code(0);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    assert_eq!(entry["name"], "env");
    assert_eq!(entry["report"]["summary"], "DEPLOY_TOKEN=s3cr3t-value", "{entry:#}");
    assert!(
        run.stderr.contains("::add-mask::s3cr3t-value"),
        "a granted variable is masked on GitHub:\n{}",
        run.stderr
    );
}
