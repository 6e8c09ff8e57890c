//! PHPUnit's command line read the way PHPUnit reads it (sebastian/cli-parser, as used by PHPUnit
//! 9 to 12): which arguments are paths that select tests, and the options stepkit must honour.
//!
//! PHPUnit's parser treats every argument that does not start with `-` as a path, except the value
//! of an option that takes one: `-c FILE`, `-d KEY=VALUE`, and the long options in
//! `VALUE_OPTIONS` (`--testsuite unit`, `--log-junit FILE`, ...). Options with an optional value
//! (`--colors`, `--coverage-text`, `--stop-on-*` in 12) take it only as `--opt=value`, never from
//! the next argument. After `--` everything is a path. A long option may be abbreviated to any
//! unique prefix; an abbreviation of a value option is refused here rather than guessed.

/// Long options that take a value from the next argument (or after `=`), in any PHPUnit 9-12.
/// Checked against the installed PHPUnit's own option list by an integration test.
pub(super) const VALUE_OPTIONS: &[&str] = &[
    "atleast-version",
    "bootstrap",
    "cache-directory",
    "cache-result-file",
    "columns",
    "configuration",
    "coverage-cache",
    "coverage-clover",
    "coverage-cobertura",
    "coverage-crap4j",
    "coverage-filter",
    "coverage-html",
    "coverage-openclover",
    "coverage-php",
    "coverage-xml",
    "covers",
    "default-time-limit",
    "diff-context",
    "dump-xdebug-filter",
    "exclude-filter",
    "exclude-group",
    "exclude-testsuite",
    "extension",
    "extensions",
    "filter",
    "generate-baseline",
    "group",
    "include-path",
    "list-tests-xml",
    "loader",
    "log-events-text",
    "log-events-verbose-text",
    "log-junit",
    "log-otr",
    "log-teamcity",
    "order-by",
    "prepend",
    "printer",
    "random-order-seed",
    "repeat",
    "requires-php-extension",
    "run-test-id",
    "test-files-file",
    "test-id-filter-file",
    "test-suffix",
    "testdox-exclude-group",
    "testdox-group",
    "testdox-html",
    "testdox-text",
    "testdox-xml",
    "testsuite",
    "trace-text",
    "use-baseline",
    "uses",
    "whitelist",
];

/// Flags (no value) whose name is also the start of a value option: `--list-tests` is itself, not
/// an abbreviation of `--list-tests-xml`.
pub(super) const FLAGS_PREFIXING_VALUE_OPTIONS: &[&str] =
    &["cache-result", "list-tests", "random-order", "testdox"];

/// What stepkit needs from PHPUnit's arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Args {
    /// Indices into CMD of the path arguments (and of a `--` before them).
    pub positional: Vec<usize>,
    /// `-c FILE` / `--configuration FILE`.
    pub configuration: Option<String>,
    /// `--group a,b` (repeatable).
    pub groups: Vec<String>,
    /// `--exclude-group a,b` (repeatable).
    pub exclude_groups: Vec<String>,
    /// Whether CMD has `--filter`.
    pub filter: bool,
    /// Indices into CMD of `--testsuite`/`--exclude-testsuite` and their values: they shaped the
    /// listing, and a batch that runs a generated suite of its own files must not repeat them.
    pub suite_options: Vec<usize>,
    /// Whether CMD has `--no-configuration` (PHPUnit then ignores every configuration file).
    pub no_configuration: bool,
}

/// Where PHPUnit's own arguments start: after the `phpunit` program or script.
fn start(cmd: &[String]) -> Result<usize, String> {
    cmd.iter()
        .position(|a| {
            !a.starts_with('-')
                && std::path::Path::new(a)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("phpunit"))
        })
        .map(|i| i + 1)
        .ok_or_else(|| {
            "CMD names no `phpunit` program or script, so stepkit cannot tell PHPUnit's arguments apart"
                .to_string()
        })
}

/// Reads CMD as PHPUnit's parser does.
pub(super) fn parse(cmd: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    let mut i = start(cmd)?;
    while i < cmd.len() {
        let arg = cmd[i].trim();
        if arg.is_empty() {
            i += 1;
            continue;
        }
        if arg == "--" {
            args.positional.extend(i..cmd.len());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let takes_value = VALUE_OPTIONS.contains(&name);
            if !takes_value && !FLAGS_PREFIXING_VALUE_OPTIONS.contains(&name) && inline.is_none() {
                if let Some(full) = VALUE_OPTIONS.iter().find(|o| o.starts_with(name)) {
                    return Err(format!("`--{name}` in CMD abbreviates `--{full}`; spell it out (or write `--{full}=VALUE`) so stepkit reads the value as PHPUnit does"));
                }
            }
            if matches!(name, "testsuite" | "exclude-testsuite") {
                args.suite_options.push(i);
                if takes_value && inline.is_none() {
                    args.suite_options.push(i + 1);
                }
            }
            let value = match (takes_value, inline) {
                (true, Some(v)) => Some(v),
                (true, None) => {
                    i += 1;
                    Some(
                        cmd.get(i)
                            .cloned()
                            .ok_or_else(|| format!("`--{name}` at the end of CMD needs a value"))?,
                    )
                }
                _ => None,
            };
            match (name, value) {
                ("configuration", Some(v)) => args.configuration = Some(v),
                ("group", Some(v)) => args.groups.extend(split_list(&v)),
                ("exclude-group", Some(v)) => args.exclude_groups.extend(split_list(&v)),
                ("filter", Some(_)) => args.filter = true,
                ("no-configuration", None) => args.no_configuration = true,
                _ => {}
            }
        } else if let Some(short) = arg.strip_prefix('-') {
            // A cluster such as `-vc FILE`: `c` and `d` take the rest of the cluster, else the next argument.
            for (at, option) in short.char_indices() {
                if option == 'c' || option == 'd' {
                    let rest = &short[at + 1..];
                    let value = if rest.is_empty() {
                        i += 1;
                        cmd.get(i)
                            .cloned()
                            .ok_or_else(|| format!("`-{option}` at the end of CMD needs a value"))?
                    } else {
                        rest.to_string()
                    };
                    if option == 'c' {
                        args.configuration = Some(value);
                    }
                    break;
                }
            }
        } else {
            args.positional.push(i);
        }
        i += 1;
    }
    Ok(args)
}

fn split_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split(',').map(str::trim).filter(|g| !g.is_empty()).map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &str) -> Vec<String> {
        args.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn paths_are_told_from_option_values() {
        let c = cmd("vendor/bin/phpunit -c ci.xml --testsuite tests --log-junit=x.xml tests/Feature -d memory_limit=1G --colors always");
        let a = parse(&c).unwrap();
        // `always` is a path to PHPUnit: --colors takes its value only after `=`.
        assert_eq!(a.positional, vec![6, 10]);
        assert_eq!(a.suite_options, vec![3, 4]);
        assert_eq!(
            parse(&cmd("phpunit --testsuite=unit --exclude-testsuite slow --no-configuration"))
                .unwrap()
                .suite_options,
            vec![1, 2, 3]
        );
        assert_eq!(a.configuration.as_deref(), Some("ci.xml"));
        let a = parse(&cmd("php -d xdebug.mode=off vendor/bin/phpunit --group a,b --exclude-group=slow -vc phpunit.xml tests")).unwrap();
        assert_eq!(
            (a.groups, a.exclude_groups, a.configuration.as_deref(), a.positional),
            (vec!["a".to_string(), "b".to_string()], vec!["slow".to_string()], Some("phpunit.xml"), vec![9])
        );
        assert_eq!(parse(&cmd("phpunit --list-tests -- --weird")).unwrap().positional, vec![2, 3]);
        assert!(parse(&cmd("phpunit --filter")).unwrap_err().contains("needs a value"));
        assert!(parse(&cmd("phpunit --log-jun x.xml")).unwrap_err().contains("--log-junit"));
        assert!(parse(&cmd("make test")).is_err());
    }

    /// The installed PHPUnit's own option list (its CLI Builder's LONG_OPTIONS, read by PHP):
    /// every option that takes a value is in VALUE_OPTIONS, and every flag that starts a value
    /// option's name is in FLAGS_PREFIXING_VALUE_OPTIONS.
    #[test]
    fn the_tables_cover_the_installed_phpunit() {
        let code = r#"foreach (["PHPUnit/TextUI/CliArguments/Builder.php" => "PHPUnit\\TextUI\\CliArguments\\Builder", "PHPUnit/TextUI/Configuration/Cli/Builder.php" => "PHPUnit\\TextUI\\CliArguments\\Builder"] as $f => $c) { $p = stream_resolve_include_path($f); if ($p) { require $p; echo implode("\n", (new ReflectionClass($c))->getConstant("LONG_OPTIONS")); exit(0); } } exit(3);"#;
        let output = std::process::Command::new("php").args(["-r", code]).output();
        let Some(output) = output.ok().filter(|o| o.status.success()) else {
            assert!(
                !crate::ci::tests_in_ci(&crate::ci::Env::from_process()),
                "php and Debian's phpunit are required under CI=true"
            );
            eprintln!("skipping: no PHPUnit CLI Builder on PHP's include path");
            return;
        };
        let options: Vec<String> =
            String::from_utf8_lossy(&output.stdout).lines().map(String::from).collect();
        assert!(options.len() > 50, "{options:?}");
        let value_options: Vec<&str> = options
            .iter()
            .filter(|o| o.ends_with('=') && !o.ends_with("=="))
            .map(|o| o.trim_end_matches('='))
            .collect();
        for option in &value_options {
            assert!(VALUE_OPTIONS.contains(option), "--{option} takes a value in the installed PHPUnit");
        }
        for flag in options.iter().filter(|o| !o.ends_with('=')) {
            if value_options.iter().any(|v| v.starts_with(flag.as_str())) {
                assert!(
                    FLAGS_PREFIXING_VALUE_OPTIONS.contains(&flag.as_str()),
                    "--{flag} is a flag that starts a value option's name"
                );
            }
        }
    }
}
