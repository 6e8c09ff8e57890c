//! One resolver for a value a user can give three ways: a flag, a `STEPKIT_*` variable or a key of a
//! stepkit.toml table. The first that is set wins (flag > variable > file), and the value keeps where it
//! came from, so an error names what the user actually wrote, never a flag they did not give.

use super::ConfigError;
use crate::ci::Env;
use std::fmt;
use std::time::Duration;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--timeout`
    Flag(String),
    /// `STEPKIT_TEST_TIMEOUT`
    Env(String),
    /// The key (the flag's name without dashes) in `[table]` of stepkit.toml.
    File { key: String, table: String },
    /// The key in a table found at run time, as deploy's chained tables name it (`[env.stage.container]`
    /// before `[deploy.container]`): `` `memory` in [deploy.container] of stepkit.toml ``.
    Key { key: String, table: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::File { key, table } => write!(f, "{key} in the [{table}] table of stepkit.toml"),
            Origin::Key { key, table } => write!(f, "`{key}` in {table} of stepkit.toml"),
        }
    }
}

/// A value as the user gave it, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Given<'a> {
    pub text: &'a str,
    pub origin: Origin,
}

impl Given<'_> {
    /// The value parsed; a parse error is a usage error naming the origin.
    pub fn parse<T>(&self, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, ConfigError> {
        parse(self.text).map_err(|message| ConfigError::Flag { flag: self.origin.to_string(), message })
    }
}

/// The layers of one value, looked at in order; build with `layers(flag, value)`.
pub(crate) struct Layers<'a> {
    flag: String,
    found: Option<Given<'a>>,
}

/// Starts with the flag `flag` (`--timeout`) and its value, if given.
pub(crate) fn layers<'a>(flag: &str, value: Option<&'a str>) -> Layers<'a> {
    let found = value.map(|text| Given { text, origin: Origin::Flag(flag.to_string()) });
    Layers { flag: flag.to_string(), found }
}

impl<'a> Layers<'a> {
    /// Then the variable `var`.
    pub fn env(mut self, env: &'a Env, var: &str) -> Self {
        if self.found.is_none() {
            self.found = env.get(var).map(|text| Given { text, origin: Origin::Env(var.to_string()) });
        }
        self
    }

    /// Then the key of the same name in `[table]` of stepkit.toml.
    pub fn file(mut self, table: &str, value: Option<&'a str>) -> Self {
        if self.found.is_none() {
            let key = self.flag.trim_start_matches('-').to_string();
            self.found =
                value.map(|text| Given { text, origin: Origin::File { key, table: table.to_string() } });
        }
        self
    }

    /// Then `key` as found in one of several tables: its value and that table's name with its
    /// brackets (`[deploy.container]`).
    pub fn key(mut self, key: &str, found: Option<(&'a str, String)>) -> Self {
        if self.found.is_none() {
            let key = key.to_string();
            self.found = found.map(|(text, table)| Given { text, origin: Origin::Key { key, table } });
        }
        self
    }

    /// The first layer that is set.
    pub fn given(self) -> Option<Given<'a>> {
        self.found
    }

    /// A duration, or `default` when no layer is set.
    pub fn duration(self, default: Duration) -> Result<Duration, ConfigError> {
        Ok(self.optional_duration()?.unwrap_or(default))
    }

    /// A duration, if any layer is set.
    pub fn optional_duration(self) -> Result<Option<Duration>, ConfigError> {
        self.found.map(|given| given.parse(parse_duration)).transpose()
    }
}

/// The one duration syntax of stepkit: humantime's (`500ms`, `30s`, `1m30s`), and a bare `0`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    // `0` alone is a natural way to say "no delay"; humantime wants a unit.
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); e.g. 500ms, 30s, 1m30s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_layer_set_wins_and_errors_name_it() {
        let env = Env::from_pairs([("STEPKIT_X_TIMEOUT", "soon")]);
        let none = Env::from_pairs::<&str, &str>([]);
        let pick = |flag, env, file| layers("--timeout", flag).env(env, "STEPKIT_X_TIMEOUT").file("x", file);
        assert_eq!(
            pick(Some("2s"), &env, Some("5s")).duration(Duration::ZERO).unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(pick(None, &none, Some("5s")).duration(Duration::ZERO).unwrap(), Duration::from_secs(5));
        assert_eq!(pick(None, &none, None).duration(Duration::from_secs(9)).unwrap(), Duration::from_secs(9));
        assert_eq!(pick(None, &none, Some("0")).optional_duration().unwrap(), Some(Duration::ZERO));

        let err = pick(None, &env, Some("5s")).duration(Duration::ZERO).unwrap_err().to_string();
        assert!(err.starts_with("use environment variable STEPKIT_X_TIMEOUT: `soon`"), "{err}");
        assert!(!err.contains("--timeout"), "no flag was given: {err}");
        let err = pick(None, &none, Some("later")).duration(Duration::ZERO).unwrap_err().to_string();
        assert!(err.starts_with("use timeout in the [x] table of stepkit.toml: `later`"), "{err}");
        let err = layers("--memory", None)
            .env(&none, "STEPKIT_X_MEMORY")
            .key("memory", Some(("soon", "[env.stage.container]".into())))
            .duration(Duration::ZERO)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("use `memory` in [env.stage.container] of stepkit.toml: `soon`"), "{err}");
        let err = pick(Some("1 fortnight"), &env, None).duration(Duration::ZERO).unwrap_err().to_string();
        assert!(err.starts_with("use --timeout: `1 fortnight`"), "{err}");
    }
}
