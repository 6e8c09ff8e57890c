//! Settings for `stepkit junit merge|summary`: flag > `STEPKIT_JUNIT_*` > `[junit]` in stepkit.toml.

use super::layered::{layers, layers_shown};
use super::{file::ConfigFile, ConfigError};
use crate::ci::Env;
use crate::cli::{MergeArgs, SummaryArgs};
use crate::steps::junit::{MergeSettings, SummarySettings};
use std::path::PathBuf;

/// `stepkit junit`'s variables: the one place their names are spelled (the help text and
/// docs/configuration.md are checked against this list by a test). `stepkit test --profile` reads
/// `PROFILE` too.
pub(super) mod var {
    pub const PROFILE: &str = "STEPKIT_JUNIT_PROFILE";
    pub const SLOWEST: &str = "STEPKIT_JUNIT_SLOWEST";
    pub const FOLD_ACROSS_FILES: &str = "STEPKIT_JUNIT_FOLD_ACROSS_FILES";
}

/// Resolves `junit merge`.
pub fn merge_settings(args: &MergeArgs, env: &Env, file: &ConfigFile) -> Result<MergeSettings, ConfigError> {
    let junit = file.junit.clone().unwrap_or_default();
    let profile =
        layers("--profile", args.profile.as_deref()).env(env, var::PROFILE).parse(|t| t.trim().parse())?;
    Ok(MergeSettings {
        inputs: args.inputs.clone(),
        output: args.output.clone(),
        profile: profile.or(junit.profile).unwrap_or_default(),
        fold_across_files: fold_across_files(args.fold_across_files, env, junit.fold_across_files)?,
    })
}

/// Resolves `junit summary`; `workspace` makes annotation paths relative to the checkout.
pub fn summary_settings(
    args: &SummaryArgs,
    env: &Env,
    file: &ConfigFile,
    workspace: Option<PathBuf>,
) -> Result<SummarySettings, ConfigError> {
    let junit = file.junit.clone().unwrap_or_default();
    let slowest = layers_shown("--slowest", args.slowest)
        .env(env, var::SLOWEST)
        .parse(|t| t.trim().parse::<usize>().map_err(|_| format!("`{t}` is not a whole number")))?;
    Ok(SummarySettings {
        inputs: args.inputs.clone(),
        slowest: slowest.or(junit.slowest).unwrap_or(10),
        fail_on_failures: !args.no_fail,
        workspace,
        fold_across_files: fold_across_files(args.fold_across_files, env, junit.fold_across_files)?,
    })
}

/// `--fold-across-files` > `STEPKIT_JUNIT_FOLD_ACROSS_FILES` > `[junit] fold-across-files` > off. The
/// flag can only turn it on, so a set flag is `true` and an unset one leaves the other layers to decide.
fn fold_across_files(flag: bool, env: &Env, file: Option<bool>) -> Result<bool, ConfigError> {
    let fold = layers_shown("--fold-across-files", flag.then_some(true))
        .env(env, var::FOLD_ACROSS_FILES)
        .parse(|t| t.trim().parse::<bool>().map_err(|_| format!("`{t}` is not true or false")))?;
    Ok(fold.or(file).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::junit::Profile;
    use clap::Parser;

    fn merge(argv: &[&str], env: &[(&str, &str)], file: &str) -> Result<MergeSettings, ConfigError> {
        let mut full = vec!["stepkit", "junit", "merge", "a.xml", "-o", "out.xml"];
        full.extend_from_slice(argv);
        let crate::cli::Command::Junit(args) = crate::cli::Cli::parse_from(full).command else {
            unreachable!()
        };
        let crate::cli::JunitCommand::Merge(args) = args.command else { unreachable!() };
        let file = super::super::file::parse(file).unwrap();
        merge_settings(&args, &Env::from_pairs(env.iter().copied()), &file)
    }

    #[test]
    fn flag_beats_env_beats_file_and_errors_name_the_layer() {
        let file = "[junit]\nprofile = \"gitlab\"\nfold-across-files = true\n";
        let env = [("STEPKIT_JUNIT_PROFILE", "jenkins-xunit"), ("STEPKIT_JUNIT_FOLD_ACROSS_FILES", "false")];
        let s = merge(&["--profile", "default", "--fold-across-files"], &env, file).unwrap();
        assert_eq!((s.profile, s.fold_across_files), (Profile::Default, true));
        let s = merge(&[], &env, file).unwrap();
        assert_eq!((s.profile, s.fold_across_files), (Profile::JenkinsXunit, false));
        let s = merge(&[], &[], file).unwrap();
        assert_eq!((s.profile, s.fold_across_files), (Profile::Gitlab, true));
        let e = merge(&[], &[("STEPKIT_JUNIT_PROFILE", "xunit")], "").err().unwrap().to_string();
        assert!(
            e.starts_with("use environment variable STEPKIT_JUNIT_PROFILE: unknown JUnit profile `xunit`"),
            "{e}"
        );
        let e = merge(&[], &[("STEPKIT_JUNIT_FOLD_ACROSS_FILES", "yes")], "").err().unwrap().to_string();
        assert!(e.contains("STEPKIT_JUNIT_FOLD_ACROSS_FILES") && e.contains("`yes`"), "{e}");
    }

    #[test]
    fn every_variable_is_in_the_help_and_the_docs() {
        crate::settings::tests::documented(&["junit", "merge"], &[var::PROFILE, var::FOLD_ACROSS_FILES]);
        crate::settings::tests::documented(&["junit", "summary"], &[var::SLOWEST, var::FOLD_ACROSS_FILES]);
    }
}
