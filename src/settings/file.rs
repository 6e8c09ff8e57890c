//! stepkit.toml: its schema (unknown keys are errors) and where it is found.

use super::{Color, ConfigError, Format};
use crate::ci::Env;
use crate::junit::Profile;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub output: Option<OutputConfig>,
    pub junit: Option<JunitConfig>,
    pub test: Option<super::TestConfig>,
    pub gate: Option<super::GateConfig>,
    /// `[notify]`: Slack defaults for `stepkit notify`.
    pub notify: Option<super::NotifyConfig>,
    /// `[[check]]`: the plugins `stepkit check` runs when no --plugin is given.
    #[serde(default)]
    pub check: Vec<super::CheckConfig>,
    /// `[hook]`: the webhook server, its targets and `[[hook.rule]]`s.
    pub hook: Option<super::HookConfig>,
    /// `[deploy]`: the app's container spec, hooks and companions.
    pub deploy: Option<super::DeployConfig>,
    /// `[env.NAME]`: per-environment deploy settings, chosen with `--environment NAME`.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, super::EnvConfig>,
    /// `[history]`: the history store, retention and the environment runs are recorded under.
    pub history: Option<super::HistoryConfig>,
}

/// `[output]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputConfig {
    pub format: Option<Format>,
    pub color: Option<Color>,
    pub result_file: Option<PathBuf>,
}

/// `[junit]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JunitConfig {
    pub profile: Option<Profile>,
    pub slowest: Option<usize>,
    pub fold_across_files: Option<bool>,
}

/// The name looked for in the working directory.
pub const DEFAULT_CONFIG: &str = "stepkit.toml";

/// Loads `--config` / `STEPKIT_CONFIG` (which must exist) or `./stepkit.toml` (when present).
pub fn load(
    flag: Option<&Path>,
    env: &Env,
    cwd: &Path,
) -> Result<(ConfigFile, Option<PathBuf>), ConfigError> {
    let explicit = flag.map(Path::to_path_buf).or_else(|| env.get("STEPKIT_CONFIG").map(PathBuf::from));
    let path = match explicit {
        Some(path) => path,
        None => {
            let default = cwd.join(DEFAULT_CONFIG);
            if !default.is_file() {
                return Ok((ConfigFile::default(), None));
            }
            default
        }
    };
    let text =
        std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    let file = parse(&text).map_err(|message| ConfigError::Parse { path: path.clone(), message })?;
    Ok((file, Some(path)))
}

/// Parses config text; the error message carries the line, column and key (from the toml crate).
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let err = parse("[junit]\nprofile = \"gitlab\"\nslowset = 3\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("slowset"), "{err}");
    }

    #[test]
    fn bad_value_is_an_error_with_its_line() {
        let err = parse("[output]\nformat = \"xml\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("xml"), "{err}");
    }

    #[test]
    fn explicit_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let err = load(Some(&missing), &Env::default(), dir.path()).unwrap_err().to_string();
        assert!(err.contains("nope.toml"), "{err}");
    }
}
