//! The PHPUnit preset: test files from phpunit.xml's suites, cases from `--list-tests-xml`,
//! subsets with an exact `--filter` regex, one file per process (PHPUnit takes one path).

use super::{run_listing, PresetError, Selection};
use crate::steps::test::model::{CaseRef, TestFile};
use quick_xml::events::Event;
use quick_xml::Reader;
use regex::Regex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(super) fn discover(cmd: &[String], cwd: &Path) -> Result<Vec<TestFile>, PresetError> {
    let config = config_path(cmd, cwd).ok_or_else(|| PresetError::Discover {
        command: cmd.join(" "),
        message: "no phpunit.xml or phpunit.xml.dist here; pass --configuration FILE in the command".into(),
    })?;
    let text = std::fs::read_to_string(&config)
        .map_err(|e| PresetError::Discover { command: cmd.join(" "), message: format!("read {}: {e}", config.display()) })?;
    let base = config.parent().map(Path::to_path_buf).unwrap_or_else(|| cwd.to_path_buf());
    let paths = suite_files(&text, &base);

    let listing_file = std::env::temp_dir().join(format!("stepkit-phpunit-list-{}.xml", std::process::id()));
    let mut argv = cmd.to_vec();
    argv.push("--list-tests-xml".into());
    argv.push(listing_file.display().to_string());
    let listed = run_listing(&argv, cwd).and_then(|_| {
        std::fs::read_to_string(&listing_file)
            .map_err(|e| PresetError::Discover { command: argv.join(" "), message: format!("read its listing {}: {e}", listing_file.display()) })
    });
    let _ = std::fs::remove_file(&listing_file);
    let by_class = parse_listing(&listed?);

    let mut files = Vec::new();
    for path in paths {
        let Ok(source) = std::fs::read_to_string(&path) else { continue };
        let Some(class) = declared_class(&source) else { continue };
        // A file whose class PHPUnit did not list is not a test (an abstract base, a helper).
        let Some(cases) = by_class.get(&class) else { continue };
        let rel = path.strip_prefix(cwd).map(Path::to_path_buf).unwrap_or(path);
        files.push(TestFile { path: rel.display().to_string(), cases: cases.clone() });
    }
    Ok(files)
}

/// `-c FILE`, `--configuration FILE`, `--configuration=FILE` in CMD, else phpunit.xml(.dist).
fn config_path(cmd: &[String], cwd: &Path) -> Option<PathBuf> {
    let mut args = cmd.iter();
    while let Some(arg) = args.next() {
        if arg == "-c" || arg == "--configuration" {
            return args.next().map(|p| cwd.join(p));
        }
        if let Some(p) = arg.strip_prefix("--configuration=") {
            return Some(cwd.join(p));
        }
    }
    ["phpunit.xml", "phpunit.xml.dist"].iter().map(|n| cwd.join(n)).find(|p| p.is_file())
}

/// The test files of every `<testsuite>`: `<directory suffix=>` walked recursively, `<file>`s,
/// minus `<exclude>`s. Sorted, each once.
fn suite_files(config: &str, base: &Path) -> Vec<PathBuf> {
    let mut reader = Reader::from_str(config);
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut excludes: Vec<PathBuf> = Vec::new();
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_string();
                if matches!(name.as_str(), "directory" | "file" | "exclude") {
                    let suffix = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == "suffix")
                        .map(|a| a.value.to_string())
                        .unwrap_or_else(|| "Test.php".into());
                    current = Some((name, suffix));
                }
            }
            Ok(Event::Text(t)) => {
                if let Some((kind, suffix)) = current.take() {
                    let path = base.join(t.xml10_content().trim());
                    match kind.as_str() {
                        "directory" => dirs.push((path, suffix)),
                        "file" => files.push(path),
                        _ => excludes.push(path),
                    }
                }
            }
            Ok(Event::End(_)) => current = None,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    for (dir, suffix) in dirs {
        walk(&dir, &suffix, &mut files);
    }
    files.retain(|f| !excludes.iter().any(|x| f.starts_with(x)));
    files.sort();
    files.dedup();
    files
}

fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, suffix, out);
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
}

/// The fully qualified name of the (non-abstract) class a test file declares.
fn declared_class(source: &str) -> Option<String> {
    static NAMESPACE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static CLASS: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let namespace = NAMESPACE.get_or_init(|| Regex::new(r"(?m)^\s*namespace\s+([A-Za-z_\\][\w\\]*)\s*;").expect("valid regex"));
    let class = CLASS.get_or_init(|| Regex::new(r"(?m)^\s*((?:abstract|final|readonly)\s+)*class\s+(\w+)").expect("valid regex"));
    let found = class.captures(source)?;
    if found.get(1).is_some_and(|m| m.as_str().contains("abstract")) {
        return None;
    }
    let name = found.get(2)?.as_str();
    Some(match namespace.captures(source).and_then(|c| c.get(1)) {
        Some(ns) => format!("{}\\{name}", ns.as_str()),
        None => name.to_string(),
    })
}

/// Cases per class from `--list-tests-xml`: `<testCaseClass name=><testCaseMethod name= dataSet=>`.
fn parse_listing(xml: &str) -> HashMap<String, Vec<CaseRef>> {
    let mut reader = Reader::from_str(xml);
    let mut out: HashMap<String, Vec<CaseRef>> = HashMap::new();
    let mut class = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let attr = |key: &str| e.attributes().flatten().find(|a| a.key.as_ref() == key).and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()));
                match e.name().as_ref() {
                    "testCaseClass" => class = attr("name").unwrap_or_default(),
                    "testCaseMethod" => {
                        let method = attr("name").unwrap_or_default();
                        let name = match attr("dataSet") {
                            Some(set) => format!("{method} with data set {set}"),
                            None => method,
                        };
                        out.entry(class.clone()).or_default().push(CaseRef {
                            id: format!("{class}::{name}"),
                            classname: Some(class.replace('\\', ".")),
                            name,
                        });
                    }
                    _ => {}
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

pub(super) fn argv(cmd: &[String], selections: &[Selection<'_>], junit: &Path) -> Vec<String> {
    let mut out = cmd.to_vec();
    out.push("--log-junit".into());
    out.push(junit.display().to_string());
    let cases: Vec<&str> = selections.iter().filter_map(|s| s.cases.as_ref()).flatten().map(|c| c.id.as_str()).collect();
    if !cases.is_empty() {
        out.push("--filter".into());
        out.push(filter_regex(&cases));
    }
    out.extend(selections.iter().map(|s| s.file.path.clone()));
    out
}

/// An exact, anchored filter for these `Class::name` ids. PHPUnit matches it against
/// `Class::method with data set ...`; a valid regex with delimiters is used as it is.
fn filter_regex(ids: &[&str]) -> String {
    let alternatives: Vec<String> = ids.iter().map(|id| pcre_escape(id)).collect();
    format!("/^(?:{})$/", alternatives.join("|"))
}

fn pcre_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/#-".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_gives_cases_with_data_sets() {
        let xml = r##"<?xml version="1.0"?><tests><testCaseClass name="Fixtures\DataTest"><testCaseMethod name="testA" groups="default"/><testCaseMethod name="testAdd" groups="default" dataSet="#0"/><testCaseMethod name="testAdd" groups="default" dataSet="&quot;named&quot;"/></testCaseClass></tests>"##;
        let cases = &parse_listing(xml)["Fixtures\\DataTest"];
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[1].name, "testAdd with data set #0");
        assert_eq!(cases[2].id, "Fixtures\\DataTest::testAdd with data set \"named\"");
        assert_eq!(cases[0].classname.as_deref(), Some("Fixtures.DataTest"));
    }

    #[test]
    fn filter_is_anchored_and_escaped() {
        let f = filter_regex(&["A\\BTest::testX with data set #0", "A\\BTest::testY"]);
        assert_eq!(f, r"/^(?:A\\BTest::testX with data set \#0|A\\BTest::testY)$/");
        let re = Regex::new(&f[1..f.len() - 1]).unwrap();
        assert!(re.is_match("A\\BTest::testY"));
        assert!(!re.is_match("A\\BTest::testYZ"));
    }

    #[test]
    fn finds_declared_class_and_skips_abstract() {
        assert_eq!(declared_class("<?php\nnamespace Fixtures;\n\nfinal class FooTest extends TestCase {}"), Some("Fixtures\\FooTest".into()));
        assert_eq!(declared_class("<?php\nabstract class BaseTest {}"), None);
    }

    #[test]
    fn suites_expand_directories_files_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["tests/ATest.php", "tests/sub/BTest.php", "tests/Helper.php", "tests/skip/CTest.php", "extra/X.php"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let config = r#"<phpunit><testsuites><testsuite name="u"><directory>tests</directory><exclude>tests/skip</exclude><file>extra/X.php</file></testsuite></testsuites></phpunit>"#;
        let files: Vec<String> = suite_files(config, dir.path()).iter().map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
        assert_eq!(files, ["extra/X.php", "tests/ATest.php", "tests/sub/BTest.php"]);
    }
}
