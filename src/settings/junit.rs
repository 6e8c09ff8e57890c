//! Settings for `stepkit junit merge|summary`.

use super::{env_parse, file::ConfigFile, ConfigError};
use crate::ci::Env;
use crate::cli::{MergeArgs, SummaryArgs};
use crate::steps::junit::{MergeSettings, SummarySettings};
use std::path::PathBuf;

/// Resolves `junit merge`.
pub fn merge_settings(args: &MergeArgs, env: &Env, file: &ConfigFile) -> Result<MergeSettings, ConfigError> {
    let junit = file.junit.clone().unwrap_or_default();
    let profile = match &args.profile {
        Some(p) => {
            Some(p.parse().map_err(|message| ConfigError::Flag { flag: "--profile".into(), message })?)
        }
        None => env_parse(env, "STEPKIT_JUNIT_PROFILE", "default, jenkins-xunit or gitlab")?,
    };
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
    let slowest = match args.slowest {
        Some(n) => Some(n),
        None => env_parse(env, "STEPKIT_JUNIT_SLOWEST", "a whole number")?,
    };
    Ok(SummarySettings {
        inputs: args.inputs.clone(),
        slowest: slowest.or(junit.slowest).unwrap_or(10),
        fail_on_failures: !args.no_fail,
        workspace,
        fold_across_files: fold_across_files(args.fold_across_files, env, junit.fold_across_files)?,
    })
}

/// `--fold-across-files` > `STEPKIT_JUNIT_FOLD_ACROSS_FILES` > `[junit] fold-across-files` > off.
fn fold_across_files(flag: bool, env: &Env, file: Option<bool>) -> Result<bool, ConfigError> {
    Ok(flag
        || env_parse::<bool>(env, "STEPKIT_JUNIT_FOLD_ACROSS_FILES", "true or false")?
            .or(file)
            .unwrap_or(false))
}
