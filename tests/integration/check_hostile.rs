//! Hostile plugins against the engine itself: log floods of empty lines, names that carry workflow
//! commands into compile errors, forged or broken cache entries, compiles that never end, limits that
//! overflow, and a host that cannot reserve memory.

use crate::check::{check, components, dist, error_kind, one, plugin};
use crate::support::{stepkit, write, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[test]
fn a_flood_of_empty_log_lines_is_bounded_and_counted() {
    if !components() {
        return;
    }
    let file = dist("empty-lines");
    let (run, peak_kib) = check(&["--plugin", file.to_str().unwrap()]).run_with_peak_rss();
    let run = run.expect_code(0);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    let kept = entry["logs"].as_array().unwrap().len() as u64;
    let dropped = entry["logs_dropped"].as_u64().unwrap();
    // 4,000,000 empty lines in one call, then 200,000 empty calls: every one kept or counted.
    assert_eq!(kept + dropped, 4_200_000, "{kept} kept, {dropped} dropped");
    // Each line costs at least 64 bytes of the 64 KiB log budget, text or not.
    assert!(kept <= 1024 && dropped > 0, "{kept} lines kept");
    assert!(
        run.stdout.len() + run.stderr.len() < 512 << 10,
        "{} bytes of output",
        run.stdout.len() + run.stderr.len()
    );
    // The guest's own 4 MB string is copied once; keeping the lines took 6 GB before they were bounded.
    assert!(peak_kib < 400 << 10, "stepkit peaked at {} MiB", peak_kib >> 10);
}

/// A component that imports one resource type per name: wasmparser refuses names that are not kebab-case
/// and quotes them in its error, which is how a component's own text reaches the log at compile time.
fn component_importing(names: &[&str]) -> Vec<u8> {
    let mut section = vec![u8::try_from(names.len()).unwrap()];
    for name in names {
        section.extend_from_slice(&[0x00, u8::try_from(name.len()).unwrap()]);
        section.extend_from_slice(name.as_bytes());
        section.extend_from_slice(&[0x03, 0x01]); // a type, bound `(sub resource)`
    }
    let mut bytes =
        vec![0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x0a, u8::try_from(section.len()).unwrap()];
    bytes.extend_from_slice(&section);
    bytes
}

/// No line of `out` runs as a workflow command or carries a terminal escape.
fn assert_inert(out: &str, what: &str) {
    assert!(!out.contains('\u{1b}'), "{what} carries ESC:\n{out}");
    for line in out.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("::add-mask::") && !line.starts_with("::error title=forged"),
            "{what} runs a command: {line}\n{out}"
        );
    }
}

#[test]
fn names_in_a_compile_error_cannot_run_workflow_commands() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "hostile.wasm",
        component_importing(&["x\n::add-mask::hunter2\u{1b}[2J", "\n::error title=forged::pwned"]),
    );
    let file = file.to_str().unwrap();
    let cache = dir.path().join("cache");
    let json = stepkit()
        .env("STEPKIT_CACHE_DIR", &cache)
        .args(["check", "--format", "json", "--plugin", file])
        .run()
        .expect_code(1);
    let value = json.json();
    let entry = plugin(&json, &value, 0);
    assert_eq!(error_kind(entry), "invalid", "{entry:#}");
    assert!(
        entry["error"]["message"].as_str().unwrap().contains("add-mask"),
        "the error still names what is wrong: {entry:#}"
    );
    let runs = [
        json,
        stepkit()
            .env("STEPKIT_CACHE_DIR", &cache)
            .env("GITHUB_ACTIONS", "true")
            .args(["check", "--plugin", file])
            .run()
            .expect_code(1),
        stepkit()
            .env("STEPKIT_CACHE_DIR", &cache)
            .env("GITHUB_ACTIONS", "true")
            .args(["plugin", "inspect", file])
            .run(),
        stepkit()
            .env("STEPKIT_CACHE_DIR", &cache)
            .args(["plugin", "inspect", "--format", "json", file])
            .run(),
    ];
    for run in &runs {
        assert_ne!(run.code, 0, "{run:?}");
        assert_inert(&run.stdout, "stdout");
        assert_inert(&run.stderr, "stderr");
    }
    assert!(runs[2].stderr.contains("add-mask"), "inspect says what is wrong: {}", runs[2].stderr);
}

/// A core module of `count` functions wrapped in a component: valid, exports nothing, and slow to compile.
fn component_with_functions(count: u32) -> Vec<u8> {
    fn leb(mut n: u32, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(u32::try_from(body.len()).unwrap(), out);
        out.extend_from_slice(body);
    }
    // Each body: i32.const 1, then 40 times (i32.const k, i32.mul, i32.const k, i32.xor), end.
    let mut body = vec![0x00, 0x41, 0x01];
    for k in 1..=40u8 {
        body.extend_from_slice(&[0x41, k, 0x6c, 0x41, k, 0x73]);
    }
    body.push(0x0b);
    let mut functions = Vec::new();
    leb(count, &mut functions);
    let mut code = functions.clone();
    functions.extend(std::iter::repeat_n(0x00, count as usize));
    for _ in 0..count {
        leb(u32::try_from(body.len()).unwrap(), &mut code);
        code.extend_from_slice(&body);
    }
    let mut module = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    section(0x01, &[0x01, 0x60, 0x00, 0x01, 0x7f], &mut module); // type: () -> i32
    section(0x03, &functions, &mut module);
    section(0x0a, &code, &mut module);
    let mut component = vec![0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    section(0x01, &module, &mut component); // a core module section
    component
}

fn check_in(cache: &Path, file: &Path, limits: &[&str]) -> Value {
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", cache)
        .args(["check", "--format", "json", "--plugin", file.to_str().unwrap()])
        .args(limits)
        .run()
        .expect_code(1);
    plugin(&run, &run.json(), 0).clone()
}

#[test]
fn compiling_is_bounded_in_size_and_time_and_says_which_limit_stopped_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "big.wasm", component_with_functions(20_000));
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 4 << 20, "{size} bytes");
    let cache = dir.path().join("cache");

    let entry = check_in(&cache, &file, &["--max-component-size", "1MiB"]);
    assert_eq!(error_kind(&entry), "compile-limit", "{entry:#}");
    let message = entry["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("size limit")
            && message.contains("--max-component-size")
            && message.contains(&size.to_string()),
        "{message}"
    );

    let entry = check_in(&cache, &file, &["--compile-timeout", "10ms"]);
    assert_eq!(error_kind(&entry), "compile-limit", "{entry:#}");
    let message = entry["error"]["message"].as_str().unwrap();
    assert!(message.contains("10ms") && message.contains("--compile-timeout"), "{message}");
    assert_eq!(entry["cache"], "off", "nothing was cached: {entry:#}");

    // Within the default limits the same component compiles: what stops it then is the contract.
    let entry = check_in(&cache, &file, &[]);
    assert_eq!(error_kind(&entry), "missing-export", "{entry:#}");
}

#[test]
fn limits_past_the_largest_duration_are_usage_errors() {
    if !components() {
        return;
    }
    let (a, b) = (dist("verdict"), dist("check-error"));
    for flag in ["--timeout", "--compile-timeout"] {
        let run = check(&[
            "--plugin",
            a.to_str().unwrap(),
            "--plugin",
            b.to_str().unwrap(),
            flag,
            "18446744073709551615s",
        ])
        .run()
        .expect_code(2);
        assert!(run.stderr.contains(flag) && run.stderr.contains("longer than"), "{}", run.stderr);
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "stepkit.toml",
        format!("[[check]]\nplugin = {:?}\ntimeout = \"18446744073709551615s\"\n", a.to_str().unwrap()),
    );
    let run = check(&[]).current_dir(dir.path()).run().expect_code(2);
    assert!(run.stderr.contains("timeout") && run.stderr.contains("stepkit.toml"), "{}", run.stderr);
}

/// Runs `name` from plugins/dist with its own cache directory.
fn cached_run(cache: &Path, name: &str, args: &[&str], code: i32) -> (Run, Value) {
    let file = dist(name);
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", cache)
        .args(["check", "--format", "json", "--plugin", file.to_str().unwrap()])
        .args(args)
        .run()
        .expect_code(code);
    let json = run.json();
    (run, json)
}

/// The cache entry of `name`: it is named by the sha256 of the component.
fn entry_of(cache: &Path, name: &str) -> PathBuf {
    use sha2::Digest;
    let hex: String =
        sha2::Sha256::digest(std::fs::read(dist(name)).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    let dir = cache.join("components");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&hex))
        .collect();
    assert_eq!(found.len(), 1, "{found:?} in {}", dir.display());
    found[0].clone()
}

#[test]
fn a_cache_entry_copied_over_another_or_corrupted_is_recompiled() {
    if !components() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path();
    cached_run(cache, "verdict", &[], 0);
    cached_run(cache, "check-error", &[], 1);
    // verdict's compiled code under check-error's name: it must not run as check-error.
    std::fs::copy(entry_of(cache, "verdict"), entry_of(cache, "check-error")).unwrap();
    let (run, json) = cached_run(cache, "check-error", &[], 1);
    let entry = plugin(&run, &json, 0);
    assert_eq!((error_kind(entry), entry["cache"].as_str()), ("check-error", Some("miss")), "{entry:#}");
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("failed authentication"), "{warnings}\n{}", run.stderr);
    assert_eq!(
        plugin(&run, &cached_run(cache, "check-error", &[], 1).1, 0)["cache"],
        "hit",
        "replaced by a good entry"
    );

    // Corrupted in the middle of its code: recompiled, never a crash, the other plugin still reports.
    let entry = entry_of(cache, "verdict");
    let mut bytes = std::fs::read(&entry).unwrap();
    let third = bytes.len() / 3;
    for byte in &mut bytes[third..third + 64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&entry, bytes).unwrap();
    let (a, b) = (dist("verdict"), dist("check-error"));
    let run = stepkit()
        .env("STEPKIT_CACHE_DIR", cache)
        .args(["check", "--format", "json", "--plugin", a.to_str().unwrap(), "--plugin", b.to_str().unwrap()])
        .run()
        .expect_code(1);
    let json = run.json();
    assert_eq!(
        (plugin(&run, &json, 0)["verdict"].as_str(), plugin(&run, &json, 0)["cache"].as_str()),
        (Some("pass"), Some("miss")),
        "{json:#}"
    );
    assert_eq!(plugin(&run, &json, 1)["cache"], "hit");
}

#[test]
fn a_restored_cache_with_0644_entries_is_used_and_umask_002_still_caches() {
    use std::os::unix::fs::PermissionsExt;
    if !components() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("fresh/stepkit");
    let run = |code| {
        let file = dist("verdict");
        let run = stepkit()
            .umask(0o002)
            .env("STEPKIT_CACHE_DIR", &cache)
            .args(["check", "--format", "json", "--plugin", file.to_str().unwrap()])
            .run()
            .expect_code(code);
        let json = run.json();
        (plugin(&run, &json, 0)["cache"].as_str().unwrap().to_string(), json["warnings"].to_string())
    };
    let (first, warnings) = run(0);
    assert_eq!(first, "miss", "the cache is on under umask 002: {warnings}");
    assert_eq!(std::fs::metadata(cache.join("components")).unwrap().permissions().mode() & 0o777, 0o700);
    // A CI cache restore writes entries 0644: they are authenticated by their MAC, so still used.
    let entry = entry_of(&cache, "verdict");
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(run(0).0, "hit");
    // ...but a key others can read is no secret: replaced, and the entries it sealed compile again.
    std::fs::set_permissions(cache.join("components/key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (again, warnings) = run(0);
    assert_eq!(again, "miss");
    assert!(warnings.contains("0600"), "{warnings}");
}

#[test]
fn a_host_that_cannot_reserve_memory_is_a_resources_error_not_link() {
    if !components() {
        return;
    }
    // Cached first, so the limited run only instantiates (wasmtime reserves GiBs of address space per
    // linear memory; compiling under the limit would fail differently).
    one("verdict", &[], 0);
    let file = dist("verdict");
    let run = check(&["--plugin", file.to_str().unwrap(), "--jobs", "1"])
        .address_space_limit(ADDRESS_SPACE)
        .run()
        .expect_code(1);
    let json = run.json();
    let entry = plugin(&run, &json, 0);
    assert_eq!(error_kind(entry), "resources", "{entry:#}");
    assert!(entry["error"]["message"].as_str().unwrap().contains("reserve memory"), "{entry:#}");
}

/// Enough for stepkit and a cached component, far less than one linear memory's reservation.
const ADDRESS_SPACE: u64 = 3 << 30;
