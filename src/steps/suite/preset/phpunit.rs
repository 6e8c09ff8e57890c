//! The PHPUnit preset: test files from phpunit.xml's suites, cases from `--list-tests-xml`,
//! subsets with an exact `--filter` regex; several files share a process through a configuration
//! generated per batch (PHPUnit takes one path argument).

use super::php_classes::{declared_classes, php_for};
use super::phpunit_args::{self, Args};
use super::{run_listing, BatchConfig, Discovery, PresetError, Selection, Unplaced};
use crate::steps::suite::model::{CaseRef, TestFile};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub(super) fn discover(cmd: &[String], cwd: &Path) -> Result<Discovery, PresetError> {
    let error = |message: String| PresetError::Discover { command: cmd.join(" "), message };
    let usage = |message: String| PresetError::Scope { command: cmd.join(" "), message };
    let args = phpunit_args::parse(cmd).map_err(usage)?;
    if args.filter {
        return Err(usage(
            "`--filter` in CMD: PHPUnit 9 lists tests without applying it and every batch selects its own tests with --filter, so it cannot be honoured; select with a path, --testsuite or --group".into(),
        ));
    }
    let config = config_path(&args, cwd);
    let paths: Vec<&String> = args.positional.iter().map(|&i| &cmd[i]).filter(|a| *a != "--").collect();
    if config.is_none() && paths.is_empty() {
        return Err(error("no phpunit.xml or phpunit.xml.dist here; pass --configuration FILE or a test directory in the command".into()));
    }
    let mut candidates = Vec::new();
    let mut template = None;
    let mut base = cwd.to_path_buf();
    if let Some(config) = &config {
        let text =
            std::fs::read_to_string(config).map_err(|e| error(format!("read {}: {e}", config.display())))?;
        base = config.parent().map(Path::to_path_buf).unwrap_or_else(|| cwd.to_path_buf());
        candidates = suite_files(&text, &base);
        template = Some(text);
    }
    // Several files per process need a configuration naming them; without one (a read-only
    // checkout, `--no-configuration`) each batch runs one file, as PHPUnit allows.
    let batch_config =
        if args.no_configuration { None } else { BatchConfig::probe(template.as_deref(), &base) };
    // Path arguments may name files outside every <testsuite>; their PHP files are candidates too.
    for path in &paths {
        let path = cwd.join(path);
        if path.is_dir() {
            walk(&path, ".php", &mut candidates);
        } else {
            candidates.push(path);
        }
    }
    candidates.sort();
    candidates.dedup();

    let listing_file = std::env::temp_dir().join(format!("stepkit-phpunit-list-{}.xml", std::process::id()));
    let mut argv = cmd.to_vec();
    argv.push("--list-tests-xml".into());
    argv.push(listing_file.display().to_string());
    let listed = run_listing(&argv, cwd).and_then(|_| {
        std::fs::read_to_string(&listing_file).map_err(|e| PresetError::Discover {
            command: argv.join(" "),
            message: format!("read its listing {}: {e}", listing_file.display()),
        })
    });
    let _ = std::fs::remove_file(&listing_file);
    let listing = parse_listing(&listed?, &args);

    let declared = declared_classes(&php_for(cmd, cwd), &candidates, cwd).map_err(error)?;
    let mut placed: HashSet<&str> = HashSet::new();
    let mut files = Vec::new();
    for path in &candidates {
        let Some(classes) = declared.get(path) else { continue };
        let mut cases = Vec::new();
        for class in classes {
            // A class PHPUnit did not list is not a test (an abstract base, a helper).
            if let Some((name, listed)) = listing.classes.iter().find(|(name, _)| name == class) {
                if placed.insert(name.as_str()) {
                    cases.extend(listed.iter().cloned());
                }
            }
        }
        if !cases.is_empty() {
            let rel = path.strip_prefix(cwd).map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
            files.push(TestFile { path: rel.display().to_string(), cases });
        }
    }
    let mut unplaced = Vec::new();
    for (class, cases) in listing.classes.iter().filter(|(class, _)| !placed.contains(class.as_str())) {
        let why = format!("PHPUnit listed class {class}, but no test file it was given (phpunit.xml's test suites, the path arguments) declares it, so no batch can run it");
        unplaced.extend(cases.iter().map(|c| Unplaced {
            classname: c.classname.clone(),
            name: c.name.clone(),
            why: why.clone(),
        }));
    }
    for phpt in &listing.phpt {
        unplaced.push(Unplaced { classname: None, name: phpt.clone(), why: format!("{phpt} is a .phpt test, which the phpunit preset cannot run in batches yet; run it with phpunit directly") });
    }
    // Suite options shaped the listing; a batch's generated suite has another name.
    let batch_command = cmd
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let selects = args.positional.contains(i);
            let names_a_suite = batch_config.is_some() && args.suite_options.contains(i);
            !selects && !names_a_suite
        })
        .map(|(_, a)| a.clone())
        .collect();
    Ok(Discovery {
        files,
        unplaced,
        skipped_at_listing: Vec::new(),
        batch_command,
        select_cases: false,
        multi_file: batch_config.is_some(),
        batch_config,
    })
}

/// `-c FILE` / `--configuration FILE` (a directory means its phpunit.xml), else the default names.
fn config_path(args: &Args, cwd: &Path) -> Option<PathBuf> {
    let defaults = ["phpunit.xml", "phpunit.dist.xml", "phpunit.xml.dist"];
    match &args.configuration {
        Some(path) if cwd.join(path).is_dir() => {
            defaults.iter().map(|n| cwd.join(path).join(n)).find(|p| p.is_file())
        }
        Some(path) => Some(cwd.join(path)),
        None => defaults.iter().map(|n| cwd.join(n)).find(|p| p.is_file()),
    }
}

/// The test files of every `<testsuite>`: `<directory suffix=>` walked recursively, `<file>`s,
/// minus `<exclude>`s. Sorted, each once. Only elements inside a `<testsuite>` count: the same
/// element names under `<coverage>`/`<filter>`/`<source>` name source code, and a coverage
/// `<exclude><directory>tests</directory>` must not hide the tests.
fn suite_files(config: &str, base: &Path) -> Vec<PathBuf> {
    let mut reader = Reader::from_str(config);
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut excludes: Vec<PathBuf> = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut in_suite = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.name().as_ref() == "testsuite" => in_suite = true,
            Ok(Event::End(e)) if e.name().as_ref() == "testsuite" => in_suite = false,
            Ok(Event::Start(e)) if in_suite => {
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

/// What `--list-tests-xml` listed: cases per class in listing order, and .phpt files.
#[derive(Debug, Default)]
struct Listing {
    classes: Vec<(String, Vec<CaseRef>)>,
    phpt: Vec<String>,
}

/// Cases per class from `--list-tests-xml`: `<testCaseClass name=><testCaseMethod name= groups= dataSet=>`.
/// PHPUnit 9 lists without applying `--group`/`--exclude-group` (it warns that they conflict), so
/// they are applied here from each method's `groups`, as the batches' PHPUnit will apply them.
fn parse_listing(xml: &str, args: &Args) -> Listing {
    let mut reader = Reader::from_str(xml);
    let mut out = Listing::default();
    let mut class = String::new();
    let selected = |groups: &str| {
        let groups: Vec<&str> = groups.split(',').map(str::trim).collect();
        (args.groups.is_empty() || args.groups.iter().any(|g| groups.contains(&g.as_str())))
            && !args.exclude_groups.iter().any(|g| groups.contains(&g.as_str()))
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let attr = |key: &str| {
                    e.attributes().flatten().find(|a| a.key.as_ref() == key).and_then(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned())
                    })
                };
                match e.name().as_ref() {
                    "testCaseClass" => class = attr("name").unwrap_or_default(),
                    "phptFile" => out.phpt.extend(attr("path")),
                    "testCaseMethod" if selected(&attr("groups").unwrap_or_default()) => {
                        let method = attr("name").unwrap_or_default();
                        let name = match attr("dataSet") {
                            Some(set) => format!("{method} with data set {set}"),
                            None => method,
                        };
                        let case = CaseRef {
                            id: format!("{class}::{name}"),
                            classname: Some(class.replace('\\', ".")),
                            name,
                        };
                        match out.classes.iter_mut().find(|(c, _)| *c == class) {
                            Some((_, cases)) => cases.push(case),
                            None => out.classes.push((class.clone(), vec![case])),
                        }
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

/// Runs one file by its path, or several through `config`, the batch's generated configuration.
pub(super) fn argv(
    cmd: &[String],
    selections: &[Selection<'_>],
    junit: &Path,
    config: Option<&Path>,
) -> Vec<String> {
    let mut out = cmd.to_vec();
    out.push("--log-junit".into());
    out.push(junit.display().to_string());
    if selections.iter().any(|s| s.cases.is_some()) {
        out.push("--filter".into());
        out.push(filter_regex(selections));
    }
    match config {
        // The last --configuration wins in PHPUnit's parser: the user's own one stays in CMD.
        Some(config) => out.extend(["--configuration".to_string(), config.display().to_string()]),
        None => out.extend(selections.iter().map(|s| s.file.path.clone())),
    }
    out
}

/// An exact, anchored filter: `Class::name` for the selected cases, `Class::.*` for the classes of
/// files run whole beside them. PHPUnit matches it against `Class::method with data set ...`; a
/// valid regex with delimiters is used as it is.
fn filter_regex(selections: &[Selection<'_>]) -> String {
    let mut alternatives: Vec<String> = Vec::new();
    for selection in selections {
        match &selection.cases {
            Some(cases) => alternatives.extend(cases.iter().map(|c| pcre_escape(&c.id))),
            None => {
                for case in &selection.file.cases {
                    let class =
                        format!("{}::.*", pcre_escape(case.id.split("::").next().unwrap_or(&case.id)));
                    if !alternatives.contains(&class) {
                        alternatives.push(class);
                    }
                }
            }
        }
    }
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
    use regex::Regex;

    #[test]
    fn listing_gives_cases_with_data_sets() {
        let xml = r##"<?xml version="1.0"?><tests><testCaseClass name="Fixtures\DataTest"><testCaseMethod name="testA" groups="default"/><testCaseMethod name="testAdd" groups="default" dataSet="#0"/><testCaseMethod name="testAdd" groups="default" dataSet="&quot;named&quot;"/></testCaseClass></tests>"##;
        let listing = parse_listing(xml, &Args::default());
        let cases = &listing.classes[0].1;
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[1].name, "testAdd with data set #0");
        assert_eq!(cases[2].id, "Fixtures\\DataTest::testAdd with data set \"named\"");
        assert_eq!(cases[0].classname.as_deref(), Some("Fixtures.DataTest"));
    }

    #[test]
    fn filter_is_anchored_and_escaped() {
        let case = |id: &str| CaseRef { id: id.into(), classname: None, name: String::new() };
        let split = TestFile {
            path: "a.php".into(),
            cases: vec![
                case("A\\BTest::testX with data set #0"),
                case("A\\BTest::testY"),
                case("A\\BTest::testZ"),
            ],
        };
        let whole =
            TestFile { path: "c.php".into(), cases: vec![case("C::one"), case("C::two"), case("D::three")] };
        let f = filter_regex(&[
            Selection { file: &split, cases: Some(split.cases[..2].iter().collect()) },
            Selection { file: &whole, cases: None },
        ]);
        assert_eq!(f, r"/^(?:A\\BTest::testX with data set \#0|A\\BTest::testY|C::.*|D::.*)$/");
        let re = Regex::new(&f[1..f.len() - 1]).unwrap();
        assert!(re.is_match("A\\BTest::testY"));
        assert!(!re.is_match("A\\BTest::testYZ"));
        assert!(!re.is_match("A\\BTest::testZ"));
        assert!(re.is_match("C::anything with data set #3") && re.is_match("D::three"));
        assert!(!re.is_match("CC::one"));
    }

    #[test]
    fn several_files_run_through_the_batch_configuration_one_file_by_path() {
        let a = TestFile { path: "tests/ATest.php".into(), cases: Vec::new() };
        let b = TestFile { path: "tests/BTest.php".into(), cases: Vec::new() };
        let cmd = vec!["phpunit".to_string(), "-c".into(), "ci.xml".into()];
        let both = [Selection { file: &a, cases: None }, Selection { file: &b, cases: None }];
        let argv = argv(&cmd, &both, Path::new("/w/j.xml"), Some(Path::new("/p/.stepkit-batch-1.xml")));
        assert_eq!(
            argv,
            [
                "phpunit",
                "-c",
                "ci.xml",
                "--log-junit",
                "/w/j.xml",
                "--configuration",
                "/p/.stepkit-batch-1.xml"
            ]
        );
        let argv = argv_one(&cmd, &both[..1]);
        assert_eq!(argv, ["phpunit", "-c", "ci.xml", "--log-junit", "/w/j.xml", "tests/ATest.php"]);
    }

    fn argv_one(cmd: &[String], selections: &[Selection<'_>]) -> Vec<String> {
        argv(cmd, selections, Path::new("/w/j.xml"), None)
    }

    #[test]
    fn groups_from_the_command_filter_the_listing() {
        let xml = r#"<tests><testCaseClass name="A"><testCaseMethod name="t1" groups="default"/><testCaseMethod name="t2" groups="slow,db"/></testCaseClass><phptFile path="/p/x.phpt"/></tests>"#;
        let only = |groups: &[&str], exclude: &[&str]| {
            let args = Args {
                groups: groups.iter().map(|g| g.to_string()).collect(),
                exclude_groups: exclude.iter().map(|g| g.to_string()).collect(),
                ..Args::default()
            };
            parse_listing(xml, &args)
                .classes
                .iter()
                .flat_map(|(_, c)| c.iter().map(|c| c.name.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(only(&[], &[]), ["t1", "t2"]);
        assert_eq!(only(&["db"], &[]), ["t2"]);
        assert_eq!(only(&[], &["slow"]), ["t1"]);
        assert_eq!(parse_listing(xml, &Args::default()).phpt, ["/p/x.phpt"]);
    }

    #[test]
    fn suites_expand_directories_files_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "tests/ATest.php",
            "tests/sub/BTest.php",
            "tests/Helper.php",
            "tests/skip/CTest.php",
            "extra/X.php",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let config = r#"<phpunit><testsuites><testsuite name="u"><directory>tests</directory><exclude>tests/skip</exclude><file>extra/X.php</file></testsuite></testsuites></phpunit>"#;
        let files: Vec<String> = suite_files(config, dir.path())
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(files, ["extra/X.php", "tests/ATest.php", "tests/sub/BTest.php"]);
    }

    #[test]
    fn coverage_directories_and_excludes_are_not_test_suites() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["tests/ATest.php", "src/LibTest.php"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let config = r#"<phpunit><testsuites><testsuite name="u"><directory>tests</directory></testsuite></testsuites>
            <coverage><include><directory suffix=".php">src</directory></include><exclude><directory>tests</directory></exclude></coverage>
            <filter><whitelist><directory>src</directory></whitelist></filter></phpunit>"#;
        let files: Vec<String> = suite_files(config, dir.path())
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(files, ["tests/ATest.php"]);
    }
}
