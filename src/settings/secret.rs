//! Reading a `Secret` (crate::secret) where settings allow one: env, a mounted file, stdin.

use super::ConfigError;
use crate::ci::Env;
use crate::secret::Secret;
use std::io::Read;
use std::path::Path;

impl Secret {
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

#[cfg(test)]
mod tests {
    use super::*;

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
