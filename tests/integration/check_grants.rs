//! `stepkit check` flags that an attacker could shape: `--set` secrets, `--changed-since` values, symlinked
//! `--allow-read` grants and granted host names that resolve to this machine.

use crate::check::{components, ok_response, one, serve};
use crate::support::stepkit;
use std::path::Path;

/// A `check` run with a plugin file that need not exist: these errors come before any plugin loads.
fn check_in(dir: &Path, args: &[&str]) -> crate::support::Run {
    stepkit()
        .current_dir(dir)
        .env("GITHUB_ACTIONS", "true")
        .env("NO_COLOR", "1")
        .args(["check", "--plugin", "missing.wasm"])
        .args(args)
        .run()
}

#[test]
fn secret_set_values_are_masked_before_any_output_and_malformed_ones_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let run = check_in(
        dir.path(),
        &["--set", "api-token=hunter2secret", "--set", "min=80", "--set", "Password=pa55word"],
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines[..2],
        ["::add-mask::hunter2secret", "::add-mask::pa55word"],
        "masks come first:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("::add-mask::80"), "a plain config value is not a secret:\n{}", run.stderr);

    // `token:hunter2secret` (a colon for `=`): named by its position, its text never shown.
    let run = check_in(dir.path(), &["--set", "min=80", "--set", "token:hunter2secret"]).expect_code(2);
    assert!(
        run.stderr.contains("--set") && run.stderr.contains("value 2 is not KEY=VALUE"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2secret"), "{}", run.stderr);
}

#[test]
fn changed_since_is_a_revision_never_a_git_option() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("written-by-git");
    let hostile = format!("--changed-since=--output={}", target.display());
    let run = check_in(dir.path(), &[&hostile]).expect_code(2);
    assert!(
        run.stderr.contains("--changed-since") && run.stderr.contains("not a git revision"),
        "{}",
        run.stderr
    );
    let run = stepkit()
        .current_dir(dir.path())
        .env("STEPKIT_CHECK_CHANGED_SINCE", format!("--output={}", target.display()))
        .args(["check", "--plugin", "missing.wasm"])
        .run()
        .expect_code(2);
    assert!(run.stderr.contains("not a git revision"), "{}", run.stderr);
    assert!(!target.exists(), "git wrote the --output file");
}

#[test]
fn a_grant_through_a_symlink_is_refused_naming_its_target() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/", dir.path().join("data")).unwrap();
    let run = check_in(dir.path(), &["--allow-read", "data"]).expect_code(2);
    assert!(
        run.stderr.contains("--allow-read") && run.stderr.contains("data leads through a symlink to /;"),
        "{}",
        run.stderr
    );
    let table = "[[check]]\nplugin = \"missing.wasm\"\nallow-read = [\"data\"]\n";
    std::fs::write(dir.path().join("stepkit.toml"), table).unwrap();
    let run = stepkit().current_dir(dir.path()).args(["check"]).run().expect_code(2);
    assert!(run.stderr.contains("allow-read") && run.stderr.contains("symlink to /"), "{}", run.stderr);
}

/// This machine's host name when it resolves only to loopback addresses (Debian's /etc/hosts does so).
fn loopback_host_name() -> Option<String> {
    use std::net::ToSocketAddrs;
    let out = std::process::Command::new("hostname").output().ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let addrs: Vec<_> = (name.as_str(), 80).to_socket_addrs().ok()?.collect();
    (!name.is_empty()
        && name != "localhost"
        && !addrs.is_empty()
        && addrs.iter().all(|a| a.ip().is_loopback()))
    .then_some(name)
}

#[test]
fn a_granted_name_that_resolves_to_loopback_is_denied() {
    if !components() {
        return;
    }
    let server = serve(vec![ok_response("local"), ok_response("local")]);
    let port = server.port();
    // `localhost`, granted by that name, is this machine on purpose.
    let url = format!("url=http://localhost:{port}/");
    let (_, entry) = one("http-get", &["--allow-host", "localhost", "--set", &url], 0);
    assert_eq!(entry["report"]["summary"], "status 200: local", "{entry:#}");
    // Any other granted name that leads to loopback is refused (the unit tests in plugin/http.rs cover
    // a name resolving to 169.254.169.254 with a fixed answer; here the system resolver answers).
    let Some(name) = loopback_host_name() else {
        eprintln!(
            "skipping the system-resolver half: this machine's host name does not resolve to loopback only"
        );
        return;
    };
    let url = format!("url=http://{name}:{port}/");
    let (_, entry) = one("http-get", &["--allow-host", &name, "--set", &url], 1);
    let message = entry["error"]["message"].as_str().unwrap();
    assert!(message.contains("denied") && message.contains("resolves to 127."), "{entry:#}");
}
