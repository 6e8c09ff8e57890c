//! Resolves arguments + `STEPKIT_*` env vars + stepkit.toml + defaults into the plain settings steps take.
//! Precedence: flag > env var > config file > default. An empty env var counts as unset.

mod check;
mod companion;
mod coverage;
mod dashboard;
mod deploy;
mod deploy_env;
mod deploy_github;
mod deploy_spec;
mod environment;
mod file;
mod gate;
mod github;
mod history;
mod hook;
mod image;
mod junit;
mod layered;
mod load;
mod notify;
mod secret;
mod test;

use crate::secret::Secret;
pub use check::{cache_dir, check_settings, scaffold_settings, secret_config_values, CheckConfig};
pub use companion::{companion_command_settings, CompanionConfig};
pub use coverage::coverage_merge_settings;
pub use dashboard::dashboard_settings;
pub use deploy::{deploy_settings, rollback_settings};
pub use deploy_github::github_deployment_settings;
pub use deploy_spec::DeployConfig;
pub use environment::{EnvConfig, Environments};
pub use file::{ConfigFile, JunitConfig, OutputConfig};
pub use gate::{gate_settings, GateConfig, GateFile};
pub use github::github_settings;
pub use history::{
    history_password, history_query_settings, history_record_settings, self_record_settings, HistoryConfig,
    HistoryInputs,
};
pub use hook::{hook_log_settings, hook_serve_settings, HookConfig};
pub use image::{build_settings, push_args, push_settings};
pub use junit::{merge_settings, summary_settings};
pub use load::load_settings;
pub use notify::{notify_settings, NotifyConfig};
pub use test::{test_settings, TestConfig};

use crate::ci::Env;
use crate::cli::{ColorArg, FormatArg, GlobalArgs};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A setting that could not be resolved; names the flag, env var or file and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("read config file {path}: {source}; check --config / STEPKIT_CONFIG")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parse config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("use environment variable {name}: `{value}` is not valid; expected {expected}")]
    Env { name: String, value: String, expected: String },
    #[error("read secret {what} from {path}: {source}")]
    SecretFile { what: String, path: PathBuf, source: std::io::Error },
    #[error("use {flag}: {message}")]
    Flag { flag: String, message: String },
}

/// A bad value of the flag `name` (`--timeout`): a usage error that names the flag.
pub(crate) fn flag(name: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Flag { flag: name.into(), message: message.into() }
}

/// How the final result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Human text on stderr.
    Text,
    /// JSON on stdout (human text still on stderr).
    Json,
    /// Markdown on stdout (human text still on stderr).
    Markdown,
}

/// Whether human output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Settings shared by every command.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    pub format: Format,
    pub color: Color,
    pub result_file: Option<PathBuf>,
    pub quiet: bool,
    /// The config file that was read, if any.
    pub config_path: Option<PathBuf>,
}

/// Everything resolved from the global flags, plus the parsed config file for the command's own settings.
pub struct Resolved {
    pub global: GlobalSettings,
    pub file: ConfigFile,
}

/// Loads the config file and resolves the global settings.
pub fn resolve(args: &GlobalArgs, env: &Env, cwd: &Path) -> Result<Resolved, ConfigError> {
    let (file, config_path) = file::load(args.config.as_deref(), env, cwd)?;
    let output = file.output.clone().unwrap_or_default();
    let format = match args.format {
        Some(FormatArg::Text) => Format::Text,
        Some(FormatArg::Json) => Format::Json,
        Some(FormatArg::Markdown) => Format::Markdown,
        None => env_enum(
            env,
            "STEPKIT_FORMAT",
            &[("text", Format::Text), ("json", Format::Json), ("markdown", Format::Markdown)],
        )?
        .or(output.format)
        .unwrap_or(Format::Text),
    };
    let color = match args.color {
        Some(ColorArg::Auto) => Color::Auto,
        Some(ColorArg::Always) => Color::Always,
        Some(ColorArg::Never) => Color::Never,
        None => env_enum(
            env,
            "STEPKIT_COLOR",
            &[("auto", Color::Auto), ("always", Color::Always), ("never", Color::Never)],
        )?
        .or_else(|| env.is_set("NO_COLOR").then_some(Color::Never))
        .or(output.color)
        .unwrap_or(Color::Auto),
    };
    let result_file = args
        .result_file
        .clone()
        .or_else(|| env.get("STEPKIT_RESULT_FILE").map(PathBuf::from))
        .or_else(|| output.result_file.clone().map(|p| relative_to(config_path.as_deref(), p)));
    Ok(Resolved {
        global: GlobalSettings { format, color, result_file, quiet: args.quiet, config_path },
        file,
    })
}

/// A path from the config file is relative to the file's directory, like in every other tool.
pub(crate) fn relative_to(config_path: Option<&Path>, path: PathBuf) -> PathBuf {
    match config_path.and_then(Path::parent) {
        Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() => dir.join(path),
        _ => path,
    }
}

/// The result files a reporting step (`notify`, `github`) reads: the `--result` files given, relative
/// to the working directory; without any, inside a `stepkit hook` job, the result files of the job's
/// steps that ran before it (`STEPKIT_HOOK_RESULT_FILES`, in order, separated like PATH), so a rule's
/// report steps need not know where the job keeps them. A step that left no file is still listed,
/// and reported as such.
pub(crate) fn result_files(given: &[PathBuf], env: &Env, cwd: &Path) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given.iter().map(|p| cwd.join(p)).collect();
    }
    env.get("STEPKIT_HOOK_RESULT_FILES")
        .map(|list| std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default()
}

/// Reads an env var that must be one of `choices`.
pub(crate) fn env_enum<T: Copy>(
    env: &Env,
    name: &str,
    choices: &[(&str, T)],
) -> Result<Option<T>, ConfigError> {
    let Some(value) = env.get(name) else { return Ok(None) };
    choices.iter().find(|(key, _)| key.eq_ignore_ascii_case(value.trim())).map(|(_, v)| Some(*v)).ok_or_else(
        || ConfigError::Env {
            name: name.to_string(),
            value: value.to_string(),
            expected: choices.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
        },
    )
}

/// Reads an env var that must parse as `T`.
pub(crate) fn env_parse<T: std::str::FromStr>(
    env: &Env,
    name: &str,
    expected: &str,
) -> Result<Option<T>, ConfigError> {
    let Some(value) = env.get(name) else { return Ok(None) };
    value.trim().parse().map(Some).map_err(|_| ConfigError::Env {
        name: name.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every variable of a step's table is named in the step's `--help` (typed there by hand) and in
    /// docs/configuration.md's table of variables, so neither can drift from the code.
    pub(crate) fn documented(command: &[&str], vars: &[&str]) {
        use clap::CommandFactory;
        let mut cli = crate::cli::Cli::command();
        let mut sub = &mut cli;
        for name in command {
            sub = sub.find_subcommand_mut(name).unwrap_or_else(|| panic!("no command {name}"));
        }
        let help = sub.render_long_help().to_string();
        let docs =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md")).unwrap();
        let table =
            docs.split("## Environment variables").nth(1).expect("docs/configuration.md has the table");
        for var in vars {
            assert!(help.contains(var), "stepkit {} --help does not name {var}", command.join(" "));
            assert!(table.contains(&format!("`{var}`")), "docs/configuration.md's table does not name {var}");
        }
    }

    /// The variables `text` names that `wanted` covers: an entry ending in `_` is a prefix
    /// (`STEPKIT_DEPLOY_`), any other one variable. Prose like `STEPKIT_DEPLOY_*` is not a name.
    fn variables(text: &str, wanted: &[&str]) -> std::collections::BTreeSet<String> {
        let covered =
            |w: &str| wanted.iter().any(|p| if p.ends_with('_') { w.starts_with(p) } else { w == *p });
        text.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .filter(|w| !w.ends_with('_') && covered(w))
            .map(str::to_string)
            .collect()
    }

    /// The table under `## Settings from the environment` in docs/`page` names the same variables (of
    /// those `wanted` covers) as the long help of the `commands` (`["image", "push"]`), so neither can
    /// drift from the other. Returns them, for a check that the set is the expected one.
    pub(crate) fn env_table_matches_help(
        page: &str,
        commands: &[&[&str]],
        wanted: &[&str],
    ) -> std::collections::BTreeSet<String> {
        use clap::CommandFactory;
        let mut help = String::new();
        for command in commands {
            let mut cli = crate::cli::Cli::command();
            let mut sub = &mut cli;
            for name in *command {
                sub = sub.find_subcommand_mut(name).unwrap_or_else(|| panic!("no command {name}"));
            }
            help += &sub.render_long_help().to_string();
        }
        let path = format!("{}/docs/{page}", env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(&path).unwrap();
        let start =
            doc.find("## Settings from the environment").unwrap_or_else(|| panic!("{path} has no env table"));
        let end = doc[start + 1..].find("\n## ").map_or(doc.len(), |n| start + 1 + n);
        let (in_doc, in_help) = (variables(&doc[start..end], wanted), variables(&help, wanted));
        assert_eq!(in_doc, in_help, "docs/{page}'s env table and the --help of {commands:?}");
        in_help
    }

    #[test]
    fn result_files_are_the_given_ones_else_the_hook_jobs_earlier_steps() {
        let env = Env::from_pairs([(
            "STEPKIT_HOOK_RESULT_FILES",
            "/s/jobs/3/01-image-build.json:/s/jobs/3/02-deploy.json",
        )]);
        let given = [PathBuf::from("test.json")];
        assert_eq!(result_files(&given, &env, Path::new("/w")), [PathBuf::from("/w/test.json")]);
        assert_eq!(
            result_files(&[], &env, Path::new("/w")),
            [PathBuf::from("/s/jobs/3/01-image-build.json"), PathBuf::from("/s/jobs/3/02-deploy.json")]
        );
        assert!(result_files(&[], &Env::from_pairs::<&str, &str>([]), Path::new("/w")).is_empty());
    }
    use clap::Parser;

    fn global(args: &[&str]) -> GlobalArgs {
        let mut argv = vec!["stepkit"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["junit", "summary", "x.xml"]);
        crate::cli::Cli::parse_from(argv).global
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stepkit.toml"), "[output]\nformat = \"markdown\"\n").unwrap();
        let env = Env::from_pairs([("STEPKIT_FORMAT", "json")]);
        let none = Env::default();
        assert_eq!(
            resolve(&global(&["--format", "text"]), &env, dir.path()).unwrap().global.format,
            Format::Text
        );
        assert_eq!(resolve(&global(&[]), &env, dir.path()).unwrap().global.format, Format::Json);
        assert_eq!(resolve(&global(&[]), &none, dir.path()).unwrap().global.format, Format::Markdown);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(resolve(&global(&[]), &none, empty.path()).unwrap().global.format, Format::Text);
    }

    #[test]
    fn empty_env_var_counts_as_unset_and_bad_value_names_the_var() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("STEPKIT_FORMAT", "")]);
        assert_eq!(resolve(&global(&[]), &env, dir.path()).unwrap().global.format, Format::Text);
        let env = Env::from_pairs([("STEPKIT_FORMAT", "xml")]);
        let err = resolve(&global(&[]), &env, dir.path()).err().unwrap().to_string();
        assert!(err.contains("STEPKIT_FORMAT") && err.contains("xml") && err.contains("json"), "{err}");
    }

    #[test]
    fn no_color_turns_colour_off_unless_a_flag_says_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("NO_COLOR", "1")]);
        assert_eq!(resolve(&global(&[]), &env, dir.path()).unwrap().global.color, Color::Never);
        assert_eq!(
            resolve(&global(&["--color", "always"]), &env, dir.path()).unwrap().global.color,
            Color::Always
        );
    }
}
