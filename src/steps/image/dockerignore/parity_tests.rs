//! Parity with the real docker CLI: every case in tests/fixtures/dockerignore/cases.json (recorded
//! from Docker by record.sh there) is rebuilt in a temporary directory and listed by
//! `context_files`, which must produce exactly the tar entries the docker CLI sent.

use super::{context_files, relative_inside, DockerIgnore};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The Dockerfile record.py writes; its content does not matter to the matcher.
const DOCKERFILE_TEXT: &str = "FROM scratch\nCOPY . /\n";

#[test]
fn context_matches_what_the_docker_cli_sends() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dockerignore/cases.json");
    let cases: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(path).expect("read cases.json")).expect("parse cases.json");
    assert!(cases.len() >= 40, "cases.json has only {} cases", cases.len());
    let failures: Vec<String> = cases.iter().filter_map(|case| check_case(case).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Docker:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Compares one case with the CLI's recorded tar, or with `expect` where the classic CLI lacks the
/// feature (`<Dockerfile>.dockerignore`); `expect` itself must agree with what BuildKit kept.
fn check_case(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().expect("every case has a name");
    let dir = tempfile::tempdir().expect("tempdir");
    let dockerfile = build_tree(dir.path(), case);
    let expected = match case.get("expect") {
        Some(expect) => {
            agrees_with_buildkit(case, expect).map_err(|e| format!("{name}: {e}"))?;
            expect
        }
        None => case.get("cli_sent").ok_or_else(|| format!("{name}: not recorded yet; run record.sh"))?,
    };
    match (expected.as_array(), context_files(dir.path(), &dockerfile)) {
        (None, Err(_)) => Ok(()),
        (None, Ok(listed)) => Err(format!(
            "{name}: Docker refused it ({}) but we listed {:?}",
            case["cli_sent_error"],
            listing(dir.path(), &listed)
        )),
        (Some(_), Err(e)) => Err(format!("{name}: {e}")),
        (Some(want), Ok(listed)) => {
            let want: Vec<&str> =
                want.iter().map(|v| v.as_str().expect("listing entries are strings")).collect();
            let got = listing(dir.path(), &listed);
            if got != want {
                return Err(format!("{name}:\n    docker: {want:?}\n    ours:   {got:?}"));
            }
            is_excluded_agrees(dir.path(), &dockerfile, &want).map_err(|e| format!("{name}: {e}"))
        }
    }
}

/// `is_excluded` answers path by path what the walk decided: every file or symlink of the tree is
/// excluded exactly when Docker did not send it.
fn is_excluded_agrees(root: &Path, dockerfile: &Path, sent: &[&str]) -> Result<(), String> {
    let (ignore, _) = DockerIgnore::for_build(root, dockerfile).map_err(|e| e.to_string())?;
    let effective = ignore
        .keeping_build_files(relative_inside(root, dockerfile).as_deref())
        .map_err(|e| e.to_string())?;
    for rel in tree_leaves(root, Path::new("")) {
        let text = rel.to_str().expect("test names are UTF-8");
        if effective.is_excluded(text) == sent.contains(&text) {
            return Err(format!(
                "is_excluded({text:?}) = {}, but Docker {} it",
                effective.is_excluded(text),
                if sent.contains(&text) { "sent" } else { "left out" }
            ));
        }
    }
    Ok(())
}

/// Every file and symlink below `root`, context-relative.
fn tree_leaves(root: &Path, rel: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let child = rel.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            out.extend(tree_leaves(root, &child));
        } else {
            out.push(child);
        }
    }
    out
}

/// `expect` = BuildKit's files plus the Dockerfile, which a classic-API context must carry.
fn agrees_with_buildkit(case: &Value, expect: &Value) -> Result<(), String> {
    let files = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| !s.ends_with('/'))
            .map(str::to_string)
            .collect()
    };
    let (expected, buildkit) = (files(expect), files(&case["buildkit_seen"]));
    let dockerfile = case["dockerfile"].as_str().unwrap_or("Dockerfile");
    let extra: Vec<&String> = expected.difference(&buildkit).filter(|f| *f != dockerfile).collect();
    let missing: Vec<&String> = buildkit.difference(&expected).collect();
    if extra.is_empty() && missing.is_empty() {
        Ok(())
    } else {
        Err(format!("`expect` disagrees with BuildKit: extra {extra:?}, missing {missing:?}"))
    }
}

/// Creates the case's tree as record.py does and returns the Dockerfile's path.
fn build_tree(root: &Path, case: &Value) -> PathBuf {
    for entry in
        case["tree"].as_array().expect("tree").iter().map(|v| v.as_str().expect("tree entries are strings"))
    {
        if let Some((name, target)) = entry.split_once(" -> ") {
            let link = root.join(name);
            fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, link).unwrap();
        } else if entry.ends_with('/') {
            fs::create_dir_all(root.join(entry)).unwrap();
        } else {
            let content = case["files"][entry].as_str().map_or_else(|| format!("{entry}\n"), str::to_string);
            write(&root.join(entry), &content);
        }
    }
    if let Some(text) = case["dockerignore"].as_str() {
        write(&root.join(".dockerignore"), text);
    }
    let dockerfile = root.join(case["dockerfile"].as_str().unwrap_or("Dockerfile"));
    write(&dockerfile, DOCKERFILE_TEXT);
    dockerfile
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Our entries in the recording's notation: directories end with "/".
fn listing(root: &Path, entries: &[PathBuf]) -> Vec<String> {
    entries
        .iter()
        .map(|rel| {
            let text = rel.to_str().expect("test names are UTF-8").to_string();
            let is_dir = fs::symlink_metadata(root.join(rel)).map(|m| m.is_dir()).unwrap_or(false);
            if is_dir {
                text + "/"
            } else {
                text
            }
        })
        .collect()
}
