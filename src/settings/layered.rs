//! One resolver for a value a user can give three ways: a flag, a `STEPKIT_*` variable or a key of a
//! stepkit.toml table. The first that is set wins (flag > variable > file), and the value keeps where it
//! came from, so an error names what the user actually wrote, never a flag they did not give.

use super::ConfigError;
use crate::ci::Env;
use crate::secret::Secret;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
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

impl Origin {
    /// The flag or variable by its bare name (`--token-file`, `STEPKIT_SLACK_TOKEN`), for messages that
    /// say "the token in ..."; a file key as `Display` names it.
    pub fn name(&self) -> String {
        match self {
            Origin::Flag(name) | Origin::Env(name) => name.clone(),
            Origin::File { .. } | Origin::Key { .. } => self.to_string(),
        }
    }

    /// A usage error about the value from here.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::Flag { flag: self.to_string(), message: message.into() }
    }
}

/// A value as the user gave it, and where. Flags and keys that clap or serde already typed (a number, a
/// list) come as their text, so every layer is checked by the same parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Given<'a> {
    pub text: Cow<'a, str>,
    pub origin: Origin,
}

impl Given<'_> {
    /// The value parsed; a parse error is a usage error naming the origin.
    pub fn parse<T>(&self, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, ConfigError> {
        parse(&self.text).map_err(|message| self.origin.error(message))
    }
}

/// The layers of one value, looked at in order; build with `layers(flag, value)`.
pub(crate) struct Layers<'a> {
    flag: String,
    found: Option<Given<'a>>,
}

/// Starts with the flag `flag` (`--timeout`) and its value, if given.
pub(crate) fn layers<'a>(flag: &str, value: Option<&'a str>) -> Layers<'a> {
    let found = value.map(|text| Given { text: text.into(), origin: Origin::Flag(flag.to_string()) });
    Layers { flag: flag.to_string(), found }
}

/// Starts with a flag clap already typed (a number): its value as text, if given.
pub(crate) fn layers_shown<'a>(flag: &str, value: Option<impl fmt::Display>) -> Layers<'a> {
    let found = value.map(|v| Given { text: v.to_string().into(), origin: Origin::Flag(flag.to_string()) });
    Layers { flag: flag.to_string(), found }
}

impl<'a> Layers<'a> {
    /// Then the variable `var`.
    pub fn env(mut self, env: &'a Env, var: &str) -> Self {
        if self.found.is_none() {
            self.found =
                env.get(var).map(|text| Given { text: text.into(), origin: Origin::Env(var.to_string()) });
        }
        self
    }

    /// Then the key of the same name in `[table]` of stepkit.toml.
    pub fn file(self, table: &str, value: Option<&'a str>) -> Self {
        let key = self.flag.trim_start_matches('-').to_string();
        self.file_key(table, &key, value)
    }

    /// Then `key` in `[table]` of stepkit.toml, for a key not named like its flag (`--history` is `store`).
    pub fn file_key(mut self, table: &str, key: &str, value: Option<&'a str>) -> Self {
        if self.found.is_none() {
            let origin = Origin::File { key: key.to_string(), table: table.to_string() };
            self.found = value.map(|text| Given { text: text.into(), origin });
        }
        self
    }

    /// Then the key of the same name in `[table]`, which serde already typed (a number).
    pub fn file_shown(mut self, table: &str, value: Option<impl fmt::Display>) -> Self {
        if self.found.is_none() {
            let key = self.flag.trim_start_matches('-').to_string();
            let origin = Origin::File { key, table: table.to_string() };
            self.found = value.map(|v| Given { text: v.to_string().into(), origin });
        }
        self
    }

    /// Then `key` as found in one of several tables: its value and that table's name with its
    /// brackets (`[deploy.container]`).
    pub fn key(mut self, key: &str, found: Option<(&'a str, String)>) -> Self {
        if self.found.is_none() {
            let key = key.to_string();
            self.found =
                found.map(|(text, table)| Given { text: text.into(), origin: Origin::Key { key, table } });
        }
        self
    }

    /// The first layer that is set.
    pub fn given(self) -> Option<Given<'a>> {
        self.found
    }

    /// The first layer that is set, parsed, with where it came from (for checks after parsing).
    pub fn parse_from<T>(
        self,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<(T, Origin)>, ConfigError> {
        match self.found {
            Some(given) => Ok(Some((given.parse(parse)?, given.origin))),
            None => Ok(None),
        }
    }

    /// The first layer that is set, parsed.
    pub fn parse<T>(self, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, ConfigError> {
        Ok(self.parse_from(parse)?.map(|(value, _)| value))
    }

    /// The first layer that is set, as text.
    pub fn text(self) -> Option<String> {
        self.found.map(|given| given.text.into_owned())
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

/// A list: the repeated flag's values, else the variable `var` split at commas, else the file's list;
/// each item trimmed, empty ones dropped.
pub(crate) fn list(flag: &[String], env: &Env, var: &str, file: &[String]) -> Vec<String> {
    let items = first_list(flag, Some((env, var)), file).map_or_else(Vec::new, |(items, _)| items);
    items.into_iter().map(str::trim).filter(|i| !i.is_empty()).map(str::to_string).collect()
}

/// A list and where it came from, for a value whose items are checked later (globs, report paths):
/// the repeated flag `flag`'s values, else the variable (when the value has one) split at commas, each
/// item trimmed and empty ones dropped, else the key of the flag's name in `[table]`. Flag and key
/// items come as given, so the checker sees (and refuses) an empty one. `None` when no layer is set.
pub(crate) fn list_from(
    flag: &str,
    given: &[String],
    var: Option<(&Env, &str)>,
    table: &str,
    file: &[String],
) -> Option<(Vec<String>, Origin)> {
    let (items, layer) = first_list(given, var, file)?;
    let (items, origin): (Vec<&str>, _) = match layer {
        ListLayer::Flag => (items, Origin::Flag(flag.to_string())),
        // A comma list's empty item is a separator typed twice, not a value.
        ListLayer::Env(var) => {
            (items.into_iter().map(str::trim).filter(|i| !i.is_empty()).collect(), Origin::Env(var))
        }
        ListLayer::File => {
            let key = flag.trim_start_matches('-').to_string();
            (items, Origin::File { key, table: table.to_string() })
        }
    };
    Some((items.into_iter().map(str::to_string).collect(), origin))
}

/// Which layer of a list is set; the variable by its name.
enum ListLayer {
    Flag,
    Env(String),
    File,
}

/// The first layer of a list that is set, its items untouched.
fn first_list<'a>(
    flag: &'a [String],
    var: Option<(&'a Env, &str)>,
    file: &'a [String],
) -> Option<(Vec<&'a str>, ListLayer)> {
    if !flag.is_empty() {
        return Some((flag.iter().map(String::as_str).collect(), ListLayer::Flag));
    }
    if let Some((text, var)) = var.and_then(|(env, var)| env.get(var).map(|text| (text, var))) {
        return Some((text.split(',').collect(), ListLayer::Env(var.to_string())));
    }
    (!file.is_empty()).then(|| (file.iter().map(String::as_str).collect(), ListLayer::File))
}

/// A path: the flag's as given (a path from argv need not be UTF-8), else the variable `var`'s, else
/// the key of the flag's name in `[table]`.
pub(crate) fn path(
    flag: &str,
    value: Option<&Path>,
    env: &Env,
    var: &str,
    table: &str,
    file: Option<&Path>,
) -> Option<(PathBuf, Origin)> {
    if let Some(path) = value {
        return Some((path.to_path_buf(), Origin::Flag(flag.to_string())));
    }
    // A key's path is UTF-8 (TOML strings are), so `to_str` drops nothing.
    let given = layers(flag, None).env(env, var).file(table, file.and_then(Path::to_str)).given()?;
    Some((PathBuf::from(given.text.as_ref()), given.origin))
}

/// A secret from the file a flag names (`--token-file`), else the variable `var` itself; never argv.
/// `what` names it in a read error ("the Slack token").
pub(crate) fn secret(
    file_flag: &str,
    file: Option<&Path>,
    env: &Env,
    var: &str,
    what: &str,
) -> Result<Option<(Secret, Origin)>, ConfigError> {
    match file {
        Some(path) => Ok(Some((Secret::from_file(what, path)?, Origin::Flag(file_flag.to_string())))),
        None => Ok(Secret::from_env(env, var).map(|s| (s, Origin::Env(var.to_string())))),
    }
}

/// An http(s) URL with a host, checked before anything is sent. The message does not repeat the URL
/// (it may be a secret, like a Slack webhook); the caller's origin names where it came from.
pub(crate) fn check_http_url(text: &str) -> Result<(), String> {
    match reqwest::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => Ok(()),
        _ => Err("is not an http(s) URL".into()),
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

    #[test]
    fn typed_values_keep_their_origin_and_keys_can_differ_from_flags() {
        let none = Env::default();
        let n = |text: &str| text.parse::<u64>().map_err(|e| e.to_string());
        let (value, origin) = layers_shown("--keep-runs", None::<u64>)
            .file_shown("history", Some(0))
            .parse_from(n)
            .unwrap()
            .unwrap();
        assert_eq!(value, 0);
        assert_eq!(
            origin.error("must be at least 1").to_string(),
            "use keep-runs in the [history] table of stepkit.toml: must be at least 1"
        );
        let given = layers("--history", None).env(&none, "STEPKIT_HISTORY").file_key(
            "history",
            "store",
            Some("h.db"),
        );
        assert_eq!(given.given().unwrap().origin.to_string(), "store in the [history] table of stepkit.toml");
        assert_eq!(layers_shown("--last", Some(3)).parse(n).unwrap(), Some(3));
    }

    #[test]
    fn lists_and_secrets_take_the_first_layer_set() {
        let env = Env::from_pairs([("L", " a, ,b "), ("T", "tok-secret-1")]);
        let file = ["f".to_string()];
        assert_eq!(list(&[], &env, "L", &file), ["a", "b"]);
        assert_eq!(list(&[" x ".to_string()], &env, "L", &file), ["x"]);
        assert_eq!(list(&[], &Env::default(), "L", &file), ["f"]);
        let (items, origin) = list_from("--files", &[], Some((&env, "L")), "x", &file).unwrap();
        assert_eq!(
            (items, origin.to_string()),
            (vec!["a".to_string(), "b".into()], "environment variable L".into())
        );
        let (items, origin) = list_from("--files", &[], None, "x", &file).unwrap();
        assert_eq!(
            (items, origin.to_string()),
            (vec!["f".to_string()], "files in the [x] table of stepkit.toml".into())
        );
        let flagged = [" ".to_string()];
        assert_eq!(
            list_from("--files", &flagged, None, "x", &file),
            Some((vec![" ".into()], Origin::Flag("--files".into())))
        );
        assert_eq!(list_from("--files", &[], Some((&Env::default(), "L")), "x", &[]), None);
        let (p, origin) = path("--junit", None, &env, "T", "x", Some(Path::new("k.xml"))).unwrap();
        assert_eq!((p, origin), (PathBuf::from("tok-secret-1"), Origin::Env("T".into())));
        let (p, origin) = path("--junit", None, &Env::default(), "T", "x", Some(Path::new("k.xml"))).unwrap();
        assert_eq!(
            (p, origin.to_string()),
            (PathBuf::from("k.xml"), "junit in the [x] table of stepkit.toml".into())
        );
        let (_, origin) = path("--junit", Some(Path::new("f.xml")), &env, "T", "x", None).unwrap();
        assert_eq!(origin, Origin::Flag("--junit".into()));
        let (token, origin) = secret("--token-file", None, &env, "T", "the token").unwrap().unwrap();
        assert_eq!((token.expose(), origin.name()), ("tok-secret-1", "T".to_string()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "file-secret\n").unwrap();
        let (token, origin) = secret("--token-file", Some(&path), &env, "T", "the token").unwrap().unwrap();
        assert_eq!((token.expose(), origin), ("file-secret", Origin::Flag("--token-file".into())));
        assert!(secret("--token-file", None, &Env::default(), "T", "the token").unwrap().is_none());
        assert!(check_http_url("https://hooks.slack.com/x").is_ok());
        assert!(check_http_url("hooks.slack.com/x-secret").unwrap_err().contains("not an http(s) URL"));
    }
}
