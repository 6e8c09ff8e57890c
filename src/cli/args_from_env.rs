//! `--args-from-env VAR`: stepkit's own arguments taken from an environment variable and split with
//! POSIX shell quoting (nothing expanded, nothing executed), so CI glue needs no python3 or bash 4.

use std::ffi::OsString;

/// The flag's name.
pub const FLAG: &str = "--args-from-env";

/// Global options before the subcommand that take a value in the next argument: the scan skips the value
/// (it may well not start with `-`) instead of taking it for the subcommand.
const GLOBAL_VALUE_OPTIONS: [&str; 4] = ["--format", "--color", "--config", "--result-file"];

/// Why the arguments could not be taken from the variable (all usage errors, exit 2).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgsFromEnvError {
    #[error("{FLAG} needs the name of an environment variable, e.g. `stepkit {FLAG} STEPKIT_ARGS`")]
    MissingName,
    #[error("{FLAG} {0}: the variable is unset or empty; set it to stepkit's arguments, e.g. STEPKIT_ARGS=\"junit summary 'reports/*.xml'\"")]
    Unset(String),
    #[error("{FLAG} {0}: the value is not valid UTF-8")]
    NotUtf8(String),
    #[error("{FLAG} {0}: unbalanced quote or a trailing backslash in the value; close every ' and \" (quote a literal quote as \\\" or '\"')")]
    Unbalanced(String),
    #[error("{FLAG} was given twice (the second in {0}); give it once, before the subcommand")]
    Twice(String),
}

/// Replaces `--args-from-env VAR` (or `--args-from-env=VAR`) among the global options before the
/// subcommand with the words of `$VAR`. Arguments after the subcommand are left alone: there the flag is
/// clap's to reject, and a test command's own `--args-from-env` stays its own.
pub fn expand(
    args: Vec<OsString>,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Vec<OsString>, ArgsFromEnvError> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = args.into_iter();
    out.extend(rest.next()); // the program name
    let mut expanded_from: Option<String> = None;
    // Words from the variable are scanned too (they may hold global options), but not expanded again.
    let mut pending: std::collections::VecDeque<OsString> = Default::default();
    let mut next =
        |pending: &mut std::collections::VecDeque<OsString>| pending.pop_front().or_else(|| rest.next());
    while let Some(arg) = next(&mut pending) {
        let text = arg.to_str().unwrap_or_default();
        let name = if text == FLAG {
            Some(next(&mut pending).ok_or(ArgsFromEnvError::MissingName)?)
        } else {
            text.strip_prefix(FLAG).and_then(|v| v.strip_prefix('=')).map(OsString::from)
        };
        let Some(name) = name else {
            let is_option = text.starts_with('-') && text != "--";
            let takes_value = GLOBAL_VALUE_OPTIONS.contains(&text);
            out.push(arg);
            if takes_value {
                out.extend(next(&mut pending));
            }
            if !is_option {
                break;
            }
            continue;
        };
        let name = name.to_string_lossy().into_owned();
        if name.is_empty() {
            return Err(ArgsFromEnvError::MissingName);
        }
        if let Some(first) = &expanded_from {
            return Err(ArgsFromEnvError::Twice(if *first == name { name } else { first.clone() }));
        }
        let words = split(&name, lookup(&name))?;
        pending = words.into_iter().map(OsString::from).chain(pending).collect();
        expanded_from = Some(name);
    }
    out.extend(pending);
    out.extend(rest);
    Ok(out)
}

/// The words of one variable's value.
fn split(name: &str, value: Option<OsString>) -> Result<Vec<String>, ArgsFromEnvError> {
    let value = value.filter(|v| !v.is_empty()).ok_or_else(|| ArgsFromEnvError::Unset(name.to_string()))?;
    let value = value.into_string().map_err(|_| ArgsFromEnvError::NotUtf8(name.to_string()))?;
    shlex::split(&value).ok_or_else(|| ArgsFromEnvError::Unbalanced(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], value: Option<&str>) -> Result<Vec<String>, ArgsFromEnvError> {
        let args = args.iter().map(OsString::from).collect();
        let lookup = |name: &str| (name == "VAR").then(|| value.map(OsString::from)).flatten();
        expand(args, lookup).map(|v| v.into_iter().map(|a| a.into_string().unwrap()).collect())
    }

    #[test]
    fn quoted_words_stay_whole_and_nothing_runs() {
        let value = "junit summary 'reports/*.xml' \"a b\" $(touch /tmp/x) `id` $HOME";
        let got = run(&["stepkit", "--args-from-env", "VAR"], Some(value)).unwrap();
        assert_eq!(
            got,
            ["stepkit", "junit", "summary", "reports/*.xml", "a b", "$(touch", "/tmp/x)", "`id`", "$HOME"]
        );
    }

    #[test]
    fn a_quoted_newline_stays_in_one_argument() {
        let got =
            run(&["stepkit", "--args-from-env=VAR"], Some("test -- sh -c 'echo a\necho b'\n--x")).unwrap();
        assert_eq!(got, ["stepkit", "test", "--", "sh", "-c", "echo a\necho b", "--x"]);
    }

    #[test]
    fn global_options_before_and_inside_are_kept_in_order() {
        let got =
            run(&["stepkit", "--format", "json", "--args-from-env", "VAR", "-q"], Some("--color never gate"));
        assert_eq!(got.unwrap(), ["stepkit", "--format", "json", "--color", "never", "gate", "-q"]);
    }

    #[test]
    fn after_the_subcommand_the_flag_is_not_ours() {
        let args = ["stepkit", "test", "--", "tool", "--args-from-env", "VAR"];
        assert_eq!(run(&args, Some("nope")).unwrap(), args);
        let args = ["stepkit", "--config", "--args-from-env", "x"];
        assert_eq!(run(&args, Some("nope")).unwrap(), args, "a global option's value is a value");
    }

    #[test]
    fn bad_input_names_the_variable() {
        let err = run(&["stepkit", "--args-from-env", "VAR"], Some("test 'open")).unwrap_err();
        assert_eq!(err, ArgsFromEnvError::Unbalanced("VAR".into()));
        assert!(err.to_string().contains("--args-from-env VAR: unbalanced quote"), "{err}");
        assert_eq!(
            run(&["stepkit", "--args-from-env", "VAR"], None),
            Err(ArgsFromEnvError::Unset("VAR".into()))
        );
        assert_eq!(
            run(&["stepkit", "--args-from-env", "VAR"], Some("")),
            Err(ArgsFromEnvError::Unset("VAR".into()))
        );
        assert_eq!(run(&["stepkit", "--args-from-env"], None), Err(ArgsFromEnvError::MissingName));
        assert_eq!(run(&["stepkit", "--args-from-env="], None), Err(ArgsFromEnvError::MissingName));
        let twice = run(&["stepkit", "--args-from-env", "VAR"], Some("--args-from-env VAR test"));
        assert_eq!(twice, Err(ArgsFromEnvError::Twice("VAR".into())));
    }
}
