//! Which classes each PHP file declares, read by PHP's own tokenizer (`token_get_all`) through the
//! `php` that runs the tests: any valid layout maps, `<?php use ...; final class FooTest` on one
//! line included, where a line-based pattern would miss it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SCRIPT: &str = include_str!("php_classes.php");

/// The PHP binary that runs PHPUnit in `cmd`: an explicit `php ... phpunit`, else the interpreter
/// named by the phpunit script's `#!` line, else `php` from PATH (what `#!/usr/bin/env php` finds).
pub(super) fn php_for(cmd: &[String], cwd: &Path) -> String {
    let is_php = |a: &str| {
        Path::new(a).file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.strip_prefix("php").is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
        })
    };
    let script = cmd.iter().position(|a| {
        !a.starts_with('-')
            && Path::new(a).file_name().is_some_and(|n| n.to_string_lossy().starts_with("phpunit"))
    });
    if let Some(php) = cmd[..script.unwrap_or(0)].iter().find(|a| is_php(a)) {
        return php.clone();
    }
    let shebang = script
        .map(|i| &cmd[i])
        .filter(|s| s.contains('/'))
        .and_then(|s| std::fs::read_to_string(cwd.join(s)).ok())
        .and_then(|text| {
            let first = text.lines().next()?.strip_prefix("#!")?.to_string();
            let mut words = first.split_whitespace();
            let program = words.next()?;
            let php = if Path::new(program).file_name().is_some_and(|n| n == "env") {
                words.next()?
            } else {
                program
            };
            is_php(php).then(|| php.to_string())
        });
    shebang.unwrap_or_else(|| "php".to_string())
}

/// The classes `files` declare, by file (namespaced names, in source order). Unreadable files are
/// missing from the map.
pub(super) fn declared_classes(
    php: &str,
    files: &[PathBuf],
    cwd: &Path,
) -> Result<HashMap<PathBuf, Vec<String>>, String> {
    let mut out: HashMap<PathBuf, Vec<String>> = HashMap::new();
    if files.is_empty() {
        return Ok(out);
    }
    let code = SCRIPT.strip_prefix("<?php").unwrap_or(SCRIPT);
    let mut child = Command::new(php)
        .args(["-r", code])
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("start `{php}` to read the test files' classes: {e}; is PHP installed and on PATH?")
        })?;
    let mut input = String::new();
    for file in files {
        input.push_str(&file.display().to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written from a thread: php answers while it reads, and a full pipe either way would deadlock.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("wait for `{php}` reading the test files' classes: {e}"))?;
    let _ = writer.join();
    if !output.status.success() {
        return Err(format!(
            "`{php}` could not read the test files' classes: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((path, class)) = line.split_once('\t') {
            if class != "!" {
                out.entry(PathBuf::from(path)).or_default().push(class.to_string());
            }
        }
    }
    Ok(out)
}
