//! The Go preset: packages and their tests from `go test -list`, subsets with an anchored `-run`,
//! results from `go test -json` (converted to JUnit by `junit::from_go_test_json`).

use super::{run_listing, PresetError, Selection};
use crate::steps::suite::model::{CaseRef, TestFile};
use std::path::Path;

/// Flags of `go test` that take a value from the next argument (`go help testflag`, `go help build`,
/// Go 1.19-1.23): every other known flag is boolean (`-v`, `-race`, `-cover`, `-json`, ...).
const VALUE_FLAGS: &[&str] = &[
    "C",
    "asmflags",
    "bench",
    "benchtime",
    "blockprofile",
    "blockprofilerate",
    "buildmode",
    "compiler",
    "count",
    "covermode",
    "coverpkg",
    "coverprofile",
    "cpu",
    "cpuprofile",
    "exec",
    "fuzz",
    "fuzzminimizetime",
    "fuzztime",
    "gccgoflags",
    "gcflags",
    "installsuffix",
    "ldflags",
    "list",
    "memprofile",
    "memprofilerate",
    "mod",
    "modfile",
    "mutexprofile",
    "mutexprofilefraction",
    "o",
    "outputdir",
    "overlay",
    "p",
    "parallel",
    "pgo",
    "pkgdir",
    "run",
    "shuffle",
    "skip",
    "tags",
    "timeout",
    "toolexec",
    "trace",
    "vet",
];

/// Boolean flags of `go test` and `go build`.
const BOOL_FLAGS: &[&str] = &[
    "a",
    "asan",
    "benchmem",
    "buildvcs",
    "c",
    "cover",
    "failfast",
    "fullpath",
    "i",
    "json",
    "linkshared",
    "modcacherw",
    "msan",
    "n",
    "race",
    "short",
    "trimpath",
    "v",
    "work",
    "x",
];

/// `go test` CMD read as `go test` reads it: its flags, the package patterns (one run of
/// non-flag arguments, default `./...`), and what goes to the test binary (after `-args`, or from
/// the first flag go does not know, or a word after the package list).
#[derive(Debug, Default, PartialEq, Eq)]
struct GoCommand {
    flags: Vec<String>,
    packages: Vec<String>,
    binary_args: Vec<String>,
    /// The user's `-run` and `-skip` patterns, which select tests.
    run: Option<String>,
    skip: Option<String>,
}

fn split_command(cmd: &[String]) -> GoCommand {
    let mut out = GoCommand::default();
    let Some(test) = cmd.iter().position(|a| a == "test") else {
        out.flags = cmd.to_vec();
        out.packages.push("./...".into());
        return out;
    };
    out.flags.extend(cmd[..=test].iter().cloned());
    let mut i = test + 1;
    let mut package_run_ended = false;
    while i < cmd.len() {
        let arg = &cmd[i];
        let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')).filter(|f| !f.is_empty());
        let Some(flag) = flag else {
            // The package patterns are one run of words; a word after it belongs to the test binary.
            if package_run_ended {
                out.binary_args.extend(cmd[i..].iter().cloned());
                break;
            }
            out.packages.push(arg.clone());
            i += 1;
            continue;
        };
        package_run_ended |= !out.packages.is_empty();
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if name == "args" {
            out.binary_args.extend(cmd[i + 1..].iter().cloned());
            break;
        }
        if !VALUE_FLAGS.contains(&name) && !BOOL_FLAGS.contains(&name) {
            // go test hands an unknown flag and everything after it to the test binary.
            out.binary_args.extend(cmd[i..].iter().cloned());
            break;
        }
        out.flags.push(arg.clone());
        let mut value = inline;
        if VALUE_FLAGS.contains(&name) && value.is_none() {
            i += 1;
            if let Some(v) = cmd.get(i) {
                out.flags.push(v.clone());
                value = Some(v.clone());
            }
        }
        match name {
            "run" => out.run = value,
            "skip" => out.skip = value,
            _ => {}
        }
        i += 1;
    }
    if out.packages.is_empty() {
        out.packages.push("./...".into());
    }
    out
}

/// The command batches build on: the packages are dropped there (see `argv`), so CMD is kept whole.
pub(super) fn batch_command(cmd: &[String]) -> Vec<String> {
    cmd.to_vec()
}

/// A `-run`/`-skip` pattern's top-level part and the rest (`TestA/sub` -> `TestA`, `/sub`): go
/// matches each `/`-separated part against one level of test names.
fn top_level(pattern: &str) -> (&str, &str) {
    match pattern.find('/') {
        Some(at) => (&pattern[..at], &pattern[at..]),
        None => (pattern, ""),
    }
}

pub(super) fn discover(cmd: &[String], cwd: &Path) -> Result<Vec<TestFile>, PresetError> {
    let go = split_command(cmd);
    let mut argv = go.flags.clone();
    // The user's -run selects what is listed (its top level: -list matches top-level names only).
    let list = go.run.as_deref().map(|r| top_level(r).0).filter(|r| !r.is_empty()).unwrap_or(".");
    argv.extend(["-list".to_string(), list.to_string()]);
    argv.extend(go.packages.iter().cloned());
    argv.extend(go.binary_args.iter().cloned());
    let listing = run_listing(&argv, cwd)?;
    let mut files = parse_listing(&listing);
    // -list does not apply -skip; a top-level -skip removes whole tests, so apply it here the way
    // go will (RE2 and the regex crate share this syntax).
    if let Some(skip) = go.skip.as_deref().filter(|s| !s.contains('/')) {
        let re = regex::Regex::new(skip).map_err(|e| PresetError::Discover {
            command: cmd.join(" "),
            message: format!("-skip `{skip}` is not a valid pattern: {e}"),
        })?;
        for file in &mut files {
            file.cases.retain(|c| !re.is_match(&c.name));
        }
        files.retain(|f| !f.cases.is_empty());
    }
    Ok(files)
}

/// `go test -list .` prints each package's test names, then `ok  <pkg> <time>`.
pub(crate) fn parse_listing(listing: &str) -> Vec<TestFile> {
    let mut files = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for line in listing.lines() {
        let trimmed = line.trim_end();
        if let Some(rest) = trimmed.strip_prefix("ok ") {
            let package = rest.split_whitespace().next().unwrap_or_default().to_string();
            let cases = pending
                .drain(..)
                .map(|name| CaseRef { id: name.clone(), classname: Some(package.clone()), name })
                .collect::<Vec<_>>();
            if !cases.is_empty() {
                files.push(TestFile { path: package, cases });
            }
        } else if trimmed.starts_with("?") || trimmed.is_empty() {
            continue;
        } else if ["Test", "Example", "Fuzz"].iter().any(|p| trimmed.starts_with(p))
            && !trimmed.contains(char::is_whitespace)
        {
            pending.push(trimmed.to_string());
        }
    }
    files
}

/// `go test -json` with stdout redirected to `<junit>.json`, which stepkit converts afterwards.
pub(super) fn argv(cmd: &[String], selections: &[Selection<'_>], junit: &Path) -> Vec<String> {
    let go = split_command(cmd);
    let mut out = vec![
        "sh".to_string(),
        "-c".to_string(),
        "exec \"$@\" > \"$0\"".to_string(),
        json_path(junit).display().to_string(),
    ];
    // The user's package patterns are left out: the batch names only its own packages.
    out.extend(go.flags);
    out.push("-json".into());
    // A later -run wins over the user's; the user's subtest levels (`TestA/sub`) are kept.
    let subtests = go.run.as_deref().map(|r| top_level(r).1).unwrap_or("");
    // One -run covers every package of the batch: once any package runs only some of its tests, a
    // package run whole must name all of its own, or the pattern would filter them out.
    let names: Vec<String> = if selections.iter().any(|s| s.cases.is_some()) {
        selections
            .iter()
            .flat_map(|s| s.cases.clone().unwrap_or_else(|| s.file.cases.iter().collect()))
            .map(|c| regex::escape(&c.id))
            .collect()
    } else {
        Vec::new()
    };
    if !names.is_empty() {
        out.push("-run".into());
        out.push(format!("^(?:{})${subtests}", names.join("|")));
    }
    out.extend(selections.iter().map(|s| s.file.path.clone()));
    out.extend(go.binary_args);
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
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let go = split_command(&words(
            "go test -race -timeout 5m ./a/... ./b -count=1 -run TestX/sub -v -args -update x",
        ));
        assert_eq!(go.flags, words("go test -race -timeout 5m -count=1 -run TestX/sub -v"));
        assert_eq!(go.packages, ["./a/...", "./b"]);
        assert_eq!(go.binary_args, ["-update", "x"]);
        assert_eq!((go.run.as_deref(), top_level("TestX/sub")), (Some("TestX/sub"), ("TestX", "/sub")));
        assert_eq!(split_command(&words("go test")).packages, ["./..."]);
        // An unknown flag and what follows go to the test binary; a value that looks like a path stays with its flag.
        let go = split_command(&words("go test -coverprofile ./c.out ./pkg/... -custom ./x"));
        assert_eq!((go.packages, go.binary_args), (vec!["./pkg/...".to_string()], words("-custom ./x")));
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

    #[test]
    fn a_package_run_whole_beside_a_split_one_names_all_its_tests() {
        let files = parse_listing(
            "TestA\nTestB\nok  \texample.com/m/a\t0.002s\nTestX\nok  \texample.com/m/b\t0.001s\n",
        );
        let selections = [
            Selection { file: &files[0], cases: None },
            Selection { file: &files[1], cases: Some(vec![&files[1].cases[0]]) },
        ];
        let cmd: Vec<String> = ["go", "test", "./..."].iter().map(|s| s.to_string()).collect();
        let argv = argv(&cmd, &selections, Path::new("/tmp/j.xml"));
        let run = &argv[argv.iter().position(|a| a == "-run").unwrap() + 1];
        assert_eq!(run, "^(?:TestA|TestB|TestX)$", "{argv:?}");
    }
}
