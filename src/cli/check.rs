//! `stepkit check` arguments.

use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;

/// `stepkit check [--plugin FILE.wasm]... [grants] [limits]`
#[derive(Debug, Args)]
#[command(
    after_help = "Without --plugin, the [[check]] tables of stepkit.toml run (each with its own grants).\n\
A plugin gets nothing it is not granted: no files, no network, no environment.\n\
Exit codes: 0 every check passed, warned or skipped; 1 a check failed, errored or misbehaved (or warned, with --strict); 2 usage.\n\n\
Examples:\n  stepkit check --plugin coverage.wasm --allow-read . --set min=80\n  \
stepkit check --plugin status.wasm --allow-host api.example.com --allow-env API_TOKEN --timeout 10s\n  \
stepkit check --strict          # the [[check]] tables of ./stepkit.toml"
)]
pub struct CheckArgs {
    /// A plugin component to run (repeatable); the grants and limits below apply to each
    #[arg(long, value_name = "FILE.wasm")]
    pub plugin: Vec<PathBuf>,
    /// Let the plugins read this directory, read-only (repeatable)
    #[arg(long, value_name = "DIR", help_heading = "Grants")]
    pub allow_read: Vec<PathBuf>,
    /// Let the plugins send HTTP requests to this host: api.example.com, *.example.com, 127.0.0.1:8080 (repeatable)
    #[arg(long, value_name = "HOST", help_heading = "Grants")]
    pub allow_host: Vec<String>,
    /// Pass this environment variable to the plugins (repeatable)
    #[arg(long, value_name = "NAME", help_heading = "Grants")]
    pub allow_env: Vec<String>,
    /// A config value for the plugins, K=V (repeatable, kept in order); `--config K=V` says the same, while `--config FILE` stays stepkit's config file
    #[arg(long = "set", value_name = "K=V", help_heading = "Grants")]
    pub set: Vec<String>,
    /// CPU/wall time per plugin, host calls included [default: 30s]
    #[arg(long, value_name = "DURATION", help_heading = "Limits")]
    pub timeout: Option<String>,
    /// Memory per plugin, e.g. 128MiB [default: 256MiB]
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub memory: Option<String>,
    /// Wall time to compile a plugin that is not in the cache yet (not counted in --timeout) [default: 5m]
    #[arg(long, value_name = "DURATION", help_heading = "Limits")]
    pub compile_timeout: Option<String>,
    /// Largest plugin component file accepted [default: 64MiB]
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub max_component_size: Option<String>,
    /// Warn verdicts fail the step too [env: STEPKIT_CHECK_STRICT]
    #[arg(long)]
    pub strict: bool,
    /// Plugins run at the same time [default: the number of CPUs]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// A file listing the changed files (one path per line, relative to the workspace), passed to the plugins
    #[arg(long, value_name = "FILE", conflicts_with = "changed_since")]
    pub changed_files: Option<PathBuf>,
    /// The changed files are those git sees between REF and HEAD (`git diff --name-only REF...HEAD`), e.g. origin/main [env: STEPKIT_CHECK_CHANGED_SINCE]
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
}

/// After the `check` command, `--config K=V` is a plugin config value (the spelling), not stepkit's
/// config file: it is rewritten to `--set K=V` before clap sees it. Only a value that starts with a name and
/// `=` counts (`min=80`, `path=reports/x.xml`); `--config ci/stepkit.toml` and `--config ./a=b.toml` stay files.
pub fn config_values_as_set(mut args: Vec<OsString>) -> Vec<OsString> {
    let Some(command_at) = command_position(&args) else { return args };
    if args[command_at] != "check" {
        return args;
    }
    let mut i = command_at + 1;
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        if arg == "--" {
            break;
        }
        if arg == "--config" && args.get(i + 1).is_some_and(|v| is_key_value(&v.to_string_lossy())) {
            args[i] = "--set".into();
            i += 1;
        } else if let Some(value) = arg.strip_prefix("--config=").filter(|v| is_key_value(v)) {
            args[i] = format!("--set={value}").into();
        }
        i += 1;
    }
    args
}

/// Where the command word is: the first argument that is neither a global flag nor a global flag's value.
fn command_position(args: &[OsString]) -> Option<usize> {
    const TAKES_VALUE: [&str; 4] = ["--format", "--color", "--config", "--result-file"];
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let arg = arg.to_string_lossy();
        if !arg.starts_with('-') {
            return Some(i);
        }
        i += if TAKES_VALUE.contains(&arg.as_ref()) { 2 } else { 1 };
    }
    None
}

/// `name=value` with a name of letters, digits, `_`, `-` and `.`, starting with a letter or `_`.
fn is_key_value(value: &str) -> bool {
    let Some((key, _)) = value.split_once('=') else { return false };
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::config_values_as_set;
    use std::ffi::OsString;

    fn rewrite(args: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        config_values_as_set(args).into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn config_key_values_after_check_become_set() {
        assert_eq!(
            rewrite(&[
                "stepkit",
                "--format",
                "json",
                "check",
                "--plugin",
                "c.wasm",
                "--config",
                "min=80",
                "--config=path=r/x.xml"
            ]),
            [
                "stepkit",
                "--format",
                "json",
                "check",
                "--plugin",
                "c.wasm",
                "--set",
                "min=80",
                "--set=path=r/x.xml"
            ]
        );
    }

    #[test]
    fn config_files_and_other_commands_are_left_alone() {
        let file = ["stepkit", "check", "--config", "ci/stepkit.toml", "--config=./a=b.toml"];
        assert_eq!(rewrite(&file), file);
        let gate = ["stepkit", "gate", "--config", "min=80"];
        assert_eq!(rewrite(&gate), gate);
        let before = ["stepkit", "--config", "a=b", "check"];
        assert_eq!(rewrite(&before), before, "before the command it is the global flag");
        let named_check = ["stepkit", "plugin", "new", "check", "--config", "a=b"];
        assert_eq!(rewrite(&named_check), named_check, "a plugin called check is not the check command");
    }

    #[test]
    fn both_spellings_reach_the_plugin_config_in_order() {
        let args =
            ["stepkit", "check", "--plugin", "c.wasm", "--set", "a=1", "--config", "b=2", "--set", "c=3"];
        let cli = crate::cli::parse(args.iter().map(OsString::from)).unwrap();
        let crate::cli::Command::Check(check) = cli.command else { panic!("not check") };
        assert_eq!(check.set, ["a=1", "b=2", "c=3"]);
        assert!(cli.global.config.is_none());
    }
}
