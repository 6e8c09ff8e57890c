//! `stepkit plugin new` makes projects that build: each is built with the real toolchain (offline, with
//! the SDK copy it carries) and its component run through `stepkit check`.

use crate::check::{components, plugin, plugins_dir, shared_cache};
use crate::support::{in_ci, stepkit, write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Returns false (after saying why) when a toolchain the test needs is missing on a developer machine;
/// panics under CI, where .ci/run installs it.
fn require(found: Result<(), String>) -> bool {
    match found {
        Ok(()) => true,
        Err(why) => {
            assert!(!in_ci(), "required under CI=true (.ci/run installs it): {why}");
            eprintln!("skipping: {why}");
            false
        }
    }
}

/// The wasm32-wasip2 standard library in the active toolchain (with or without rustup).
fn wasip2_target() -> Result<(), String> {
    let out =
        Command::new("rustc").args(["--print", "sysroot"]).output().map_err(|e| format!("rustc: {e}"))?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let lib = Path::new(&sysroot).join("lib/rustlib/wasm32-wasip2");
    if lib.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the wasm32-wasip2 target is not installed ({} is missing): rustup target add wasm32-wasip2",
            lib.display()
        ))
    }
}

/// componentize-py as plugins/build.sh finds it: $COMPONENTIZE_PY, PATH, or pip's scripts directory.
fn componentize_py() -> Result<PathBuf, String> {
    let candidates = std::env::var_os("COMPONENTIZE_PY")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("componentize-py")])
        .chain(
            Command::new("python3")
                .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
                .output()
                .ok()
                .map(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).join("componentize-py")),
        );
    for candidate in candidates {
        if Command::new(&candidate).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Ok(candidate);
        }
    }
    Err("componentize-py is not installed: python3 -m pip install componentize-py".into())
}

/// Runs a build command, panicking with its output when it fails.
fn build(command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The template's check over two changed files: passes under `max-files=5`, fails under `max-files=1`.
fn runs_through_the_host(dir: &Path, component: &Path) {
    assert!(component.is_file(), "the build produced no {}", component.display());
    write(dir, "changed.txt", "src/a.rs\nsrc/b.rs\n");
    for (max, code, verdict) in [("5", 0, "pass"), ("1", 1, "fail")] {
        let run = stepkit()
            .env("STEPKIT_CACHE_DIR", shared_cache())
            .current_dir(dir)
            .args([
                "check",
                "--format",
                "json",
                "--changed-files",
                "changed.txt",
                "--set",
                &format!("max-files={max}"),
            ])
            .args(["--plugin", component.to_str().unwrap()])
            .run()
            .expect_code(code);
        let json = run.json();
        let entry = plugin(&run, &json, 0);
        assert_eq!(entry["verdict"], verdict, "{entry:#}");
        assert_eq!(entry["report"]["metrics"][0]["value"], 2.0, "{entry:#}");
    }
}

#[test]
fn a_new_rust_plugin_builds_offline_and_runs() {
    // components() has built plugins/ (so the SDK's dependencies are compiled in plugins/target).
    if !components() || !require(wasip2_target()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    stepkit().current_dir(dir.path()).args(["plugin", "new", "demo", "--lang", "rust"]).run().expect_code(0);
    let project = dir.path().join("demo");
    assert!(project.join("vendor/stepkit-plugin/wit/check.wit").is_file());
    let target = plugins_dir().join("target");
    build(
        Command::new("cargo")
            .args(["build", "--offline", "--quiet", "--target", "wasm32-wasip2", "--release"])
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target),
    );
    runs_through_the_host(dir.path(), &target.join("wasm32-wasip2/release/demo.wasm"));
}

#[test]
fn a_new_python_plugin_builds_and_runs() {
    if !components() {
        return;
    }
    let tool = componentize_py();
    if !require(tool.as_ref().map(|_| ()).map_err(Clone::clone)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    stepkit()
        .current_dir(dir.path())
        .args(["plugin", "new", "demo", "--lang", "python"])
        .run()
        .expect_code(0);
    let project = dir.path().join("demo");
    let component = project.join("demo.wasm");
    // The command the project's README gives.
    build(
        Command::new(tool.unwrap())
            .args(["-d", "wit", "-w", "plugin", "componentize", "app", "-o", "demo.wasm"])
            .current_dir(&project),
    );
    runs_through_the_host(dir.path(), &component);
}

#[test]
fn sdk_path_is_for_rust_projects_only() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/stepkit-plugin");
    let run = stepkit()
        .current_dir(dir.path())
        .args(["plugin", "new", "lint", "--lang", "python", "--sdk-path", sdk.to_str().unwrap()])
        .run()
        .expect_code(2);
    assert!(run.stderr.contains("--sdk-path"), "{}", run.stderr);
    assert!(!dir.path().join("lint").exists(), "nothing is written on a usage error");
}
