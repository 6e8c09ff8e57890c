//! A deploy's environment variables: `--env K=V` (plain) and `--env K` (a secret taken from stepkit's
//! environment), and env files (docker's format, every value a secret). The app and its companions
//! read them the same way.

use super::{flag, ConfigError, Secret};
use crate::ci::Env;
use std::path::Path;

/// A variable name docker accepts; a `,` is refused too, since the names of secret variables are
/// recorded comma-separated in the `io.stepkit.deploy.secret-env` label.
pub(super) fn valid_key(key: &str) -> bool {
    !key.is_empty() && !key.contains(char::is_whitespace) && !key.contains(',')
}

/// Plain `K=V` entries, and secret ones by name.
pub(super) type EnvEntries = (Vec<String>, Vec<(String, Secret)>);

/// `--env K=V` is plain; `--env K` takes K from stepkit's environment, like docker's `-e K`, and is
/// then a secret (that is how people keep values out of argv). `what` names the flag or key in errors.
pub(super) fn env_flags(list: &[String], env: &Env, what: &str) -> Result<EnvEntries, ConfigError> {
    let (mut plain, mut secret) = (Vec::new(), Vec::new());
    for item in list {
        match item.split_once('=') {
            Some((key, _)) if valid_key(key) => plain.push(item.clone()),
            Some(_) => {
                return Err(flag(
                    what,
                    format!(
                        "`{}` has no valid variable name before `=`",
                        item.split('=').next().unwrap_or_default()
                    ),
                ))
            }
            None if valid_key(item) => match env.get(item) {
                Some(v) => secret.push((item.clone(), Secret::new(v))),
                None => {
                    return Err(flag(
                        what,
                        format!("`{item}` has no value and is not set in stepkit's environment"),
                    ))
                }
            },
            None => return Err(flag(what, format!("`{item}` is not K=V"))),
        }
    }
    Ok((plain, secret))
}

/// Docker's env-file format: `K=V` lines taken literally (no quotes, no expansion), `#` comments,
/// a bare `K` passes stepkit's own value through (skipped when unset). Every value is a secret, and
/// errors name the line, never its value.
pub(super) fn read_env_file(
    path: &Path,
    env: &Env,
    what: &str,
) -> Result<Vec<(String, Secret)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        what: what.into(),
        path: path.into(),
        source,
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key, Some(value.to_string())),
            None => (line.trim_end(), env.get(line.trim_end()).map(str::to_string)),
        };
        if !valid_key(key) {
            return Err(flag(
                what,
                format!("{} line {}: no valid variable name before `=`", path.display(), n + 1),
            ));
        }
        if let Some(value) = value {
            out.push((key.to_string(), Secret::new(value)));
        }
    }
    Ok(out)
}
