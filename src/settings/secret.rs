//! `Secret`: a value that must never reach output. Debug and Display print `***`.

use super::ConfigError;
use crate::ci::Env;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// A password, token or webhook URL. Read it only from env, a file or stdin, never from argv.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that sends it (an auth header, a registry login).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret in env var `name`, if set and non-empty.
    pub fn from_env(env: &Env, name: &str) -> Option<Secret> {
        env.get(name).map(Secret::new)
    }

    /// The contents of a file (a mounted secret), without the trailing newline editors add.
    pub fn from_file(what: &str, path: &Path) -> Result<Secret, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
            what: what.into(),
            path: path.into(),
            source,
        })?;
        Ok(Secret::new(text.trim_end_matches(['\r', '\n'])))
    }

    /// Reads a secret from stdin (`--password-stdin`).
    pub fn from_reader(what: &str, mut input: impl Read) -> Result<Secret, ConfigError> {
        let mut text = String::new();
        input.read_to_string(&mut text).map_err(|source| ConfigError::SecretFile {
            what: what.into(),
            path: "standard input".into(),
            source,
        })?;
        Ok(Secret::new(text.trim_end_matches(['\r', '\n'])))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(***))");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn file_and_reader_trim_the_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(Secret::from_file("token", &path).unwrap().expose(), "abc");
        assert_eq!(Secret::from_reader("password", &b"pw\r\n"[..]).unwrap().expose(), "pw");
        assert!(Secret::from_env(&Env::from_pairs([("T", "")]), "T").is_none());
    }
}
