//! The Go preset: packages and their tests from `go test -list`, subsets with an anchored `-run`,
//! results from `go test -json` (converted to JUnit by `junit::from_go_test_json`).

use super::{run_listing, PresetError, Selection};
use crate::steps::test::model::{CaseRef, TestFile};
use std::path::Path;

/// The user's command split into `go test` + flags, and the package patterns (default `./...`).
fn split_command(cmd: &[String]) -> (Vec<String>, Vec<String>) {
    let mut base = Vec::new();
    let mut packages = Vec::new();
    let mut after_test = false;
    let mut iter = cmd.iter().peekable();
    while let Some(arg) = iter.next() {
        if !after_test {
            after_test = arg == "test";
            base.push(arg.clone());
            continue;
        }
        if arg.starts_with('-') {
            base.push(arg.clone());
            // Flags that take a separate value (`-run X`, `-timeout 5m`, `-tags x`): keep the value with them.
            let takes_value = matches!(arg.trim_start_matches('-'), "run" | "skip" | "timeout" | "tags" | "count" | "parallel" | "p" | "cpu" | "coverprofile" | "covermode" | "coverpkg" | "exec" | "ldflags" | "gcflags" | "o");
            if takes_value && !arg.contains('=') {
                if let Some(value) = iter.next() {
                    base.push(value.clone());
                }
            }
        } else {
            packages.push(arg.clone());
        }
    }
    if packages.is_empty() {
        packages.push("./...".into());
    }
    (base, packages)
}

pub(super) fn discover(cmd: &[String], cwd: &Path) -> Result<Vec<TestFile>, PresetError> {
    let (mut argv, packages) = split_command(cmd);
    argv.extend(["-list".to_string(), ".".to_string()]);
    argv.extend(packages);
    let listing = run_listing(&argv, cwd)?;
    Ok(parse_listing(&listing))
}

/// `go test -list .` prints each package's test names, then `ok  <pkg> <time>`.
pub(crate) fn parse_listing(listing: &str) -> Vec<TestFile> {
    let mut files = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for line in listing.lines() {
        let trimmed = line.trim_end();
        if let Some(rest) = trimmed.strip_prefix("ok ") {
            let package = rest.split_whitespace().next().unwrap_or_default().to_string();
            let cases = pending.drain(..).map(|name| CaseRef { id: name.clone(), classname: Some(package.clone()), name }).collect::<Vec<_>>();
            if !cases.is_empty() {
                files.push(TestFile { path: package, cases });
            }
        } else if trimmed.starts_with("?") || trimmed.is_empty() {
            continue;
        } else if ["Test", "Example", "Fuzz"].iter().any(|p| trimmed.starts_with(p)) && !trimmed.contains(char::is_whitespace) {
            pending.push(trimmed.to_string());
        }
    }
    files
}

/// `go test -json` with stdout redirected to `<junit>.json`, which stepkit converts afterwards.
pub(super) fn argv(cmd: &[String], selections: &[Selection<'_>], junit: &Path) -> Vec<String> {
    let (base, _) = split_command(cmd);
    let mut out = vec!["sh".to_string(), "-c".to_string(), "exec \"$@\" > \"$0\"".to_string(), json_path(junit).display().to_string()];
    out.extend(base);
    out.push("-json".into());
    let names: Vec<String> = selections.iter().filter_map(|s| s.cases.as_ref()).flatten().map(|c| regex::escape(&c.id)).collect();
    if !names.is_empty() {
        out.push("-run".into());
        out.push(format!("^(?:{})$", names.join("|")));
    }
    out.extend(selections.iter().map(|s| s.file.path.clone()));
    out
}

/// Where a batch's `go test -json` stream goes.
pub fn json_path(junit: &Path) -> std::path::PathBuf {
    junit.with_extension("json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_flags_and_packages() {
        let cmd: Vec<String> = ["go", "test", "-race", "-timeout", "5m", "./a/...", "./b"].map(String::from).to_vec();
        let (base, packages) = split_command(&cmd);
        assert_eq!(base, ["go", "test", "-race", "-timeout", "5m"]);
        assert_eq!(packages, ["./a/...", "./b"]);
        assert_eq!(split_command(&["go".into(), "test".into()]).1, ["./..."]);
    }

    #[test]
    fn parses_the_listing_per_package() {
        let listing = "TestA\nTestB\nExampleC\nok  \texample.com/m/a\t0.002s\n?   \texample.com/m/none\t[no test files]\nTestX\nok  \texample.com/m/b\t(cached)\n";
        let files = parse_listing(listing);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "example.com/m/a");
        assert_eq!(files[0].cases.len(), 3);
        assert_eq!(files[1].cases[0].classname.as_deref(), Some("example.com/m/b"));
    }
}
